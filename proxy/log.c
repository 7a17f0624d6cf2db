/*
 * log.c - log sink and quoting.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static enum log_sink	 sink = LOG_SINK_STDERR;
static enum log_level	 level = LOG_LVL_INFO;
static const char	*ident = "mxguard";

static const struct {
	const char *name;
	int	    fac;
} facilities[] = {
	{ "mail", LOG_MAIL }, { "daemon", LOG_DAEMON }, { "user", LOG_USER },
	{ "local0", LOG_LOCAL0 }, { "local1", LOG_LOCAL1 },
	{ "local2", LOG_LOCAL2 }, { "local3", LOG_LOCAL3 },
	{ "local4", LOG_LOCAL4 }, { "local5", LOG_LOCAL5 },
	{ "local6", LOG_LOCAL6 }, { "local7", LOG_LOCAL7 },
};

/*
 * Batching: on the loop thread, lines collect in a buffer written once per
 * loop pass (three lines a message made three write(2)s). Errors, other
 * threads and a full buffer write at once.
 */
#define BATCH_MAX	(64u << 10)
static char		 batch[BATCH_MAX];
static size_t		 batch_len;
static int		 batch_on;
static pthread_t	 batch_thread;
static void		(*batch_schedule)(void);

static void
write_all(const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(STDERR_FILENO, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

void
log_batch(void (*schedule)(void))
{
	log_flush();
	batch_schedule = schedule;
	batch_thread = pthread_self();
	batch_on = schedule != NULL;
}

void
log_flush(void)
{
	if (batch_len > 0) {
		write_all(batch, batch_len);
		batch_len = 0;
	}
}

static void log_v(enum log_level lvl, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

void
log_init(const char *id)
{
	ident = id;
}

int
log_facility_parse(const char *name)
{
	for (size_t i = 0; i < sizeof(facilities) / sizeof(facilities[0]); i++)
		if (strcmp(facilities[i].name, name) == 0)
			return facilities[i].fac;
	return -1;
}

int
log_configure(enum log_sink s, enum log_level l, const char *facility)
{
	int fac = LOG_MAIL;

	if (facility != NULL && (fac = log_facility_parse(facility)) < 0)
		return -1;
	if (sink == LOG_SINK_SYSLOG && s != LOG_SINK_SYSLOG)
		closelog();
	if (s == LOG_SINK_SYSLOG)
		openlog(ident, LOG_PID | LOG_NDELAY, fac);
	sink = s;
	level = l;
	return 0;
}

int
log_enabled(enum log_level l)
{
	return l <= level;
}

#define LOG_FN(fn, lvl)						\
void								\
fn(const char *fmt, ...)					\
{								\
	va_list ap;						\
								\
	if (lvl > level)					\
		return;						\
	va_start(ap, fmt);					\
	log_v(lvl, fmt, ap);					\
	va_end(ap);						\
}
LOG_FN(log_err, LOG_LVL_ERR)
LOG_FN(log_warn, LOG_LVL_WARN)
LOG_FN(log_info, LOG_LVL_INFO)
LOG_FN(log_debug, LOG_LVL_DEBUG)

static void
log_v(enum log_level lvl, const char *fmt, va_list ap)
{
	static const char *const names[] = { "error", "warning", "info", "debug" };
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	char line[LOG_LINE_MAX];
	size_t n = 0;
	int k;

	if (sink == LOG_SINK_SYSLOG) {
		k = vsnprintf(line, sizeof(line), fmt, ap);
		if (k < 0)
			return;
		syslog(prio[lvl], "%s%s%s", lvl <= LOG_LVL_WARN ? names[lvl] : "",
		    lvl <= LOG_LVL_WARN ? ": " : "", line);
		return;
	}
	{
		struct timespec ts;
		struct tm tm;

		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
		k = snprintf(line + n, sizeof(line) - n, ".%03ldZ %s: ",
		    ts.tv_nsec / 1000000, ident);
		if (k > 0)
			n += (size_t)k;
	}
	if (lvl <= LOG_LVL_WARN || lvl == LOG_LVL_DEBUG) {
		k = snprintf(line + n, sizeof(line) - n, "%s: ", names[lvl]);
		if (k > 0)
			n += (size_t)k;
	}
	k = vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
	if (k < 0)
		return;
	n += (size_t)k;
	if (n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	if (batch_on && lvl > LOG_LVL_ERR &&
	    pthread_equal(pthread_self(), batch_thread)) {
		if (batch_len + n > sizeof(batch))
			log_flush();
		if (batch_len == 0)
			batch_schedule();
		memcpy(batch + batch_len, line, n);
		batch_len += n;
		return;
	}
	/* Errors go out at once, after what is batched (order kept); other
	 * threads write one line per write(2), never interleaved. */
	if (pthread_equal(pthread_self(), batch_thread))
		log_flush();
	write_all(line, n);
}

char *
log_quote(char *out, size_t outlen, const char *src, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0, i, lim = len > LOG_QUOTE_MAX ? LOG_QUOTE_MAX : len;

	if (outlen == 0)
		return out;
	for (i = 0; i < lim; i++) {
		unsigned char c = (unsigned char)src[i];

		if (o + 5 >= outlen)
			break;
		if (c == '"' || c == '\\') {
			out[o++] = '\\';
			out[o++] = (char)c;
		} else if (c >= 0x20 && c < 0x7f)
			out[o++] = (char)c;
		else {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	if (i < len && o + 4 < outlen) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
	return out;
}

char *
log_quote_str(char *out, size_t outlen, const char *src)
{
	if (src == NULL) {
		if (outlen > 1) {
			out[0] = '-';
			out[1] = '\0';
		}
		return out;
	}
	return log_quote(out, outlen, src, strlen(src));
}
