/*
 * config.c - configuration file reader, key tables, struct config.
 */
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "dns.h"
#include "filter.h"
#include "../filters/filters.h"
#include "log.h"
#include "relay.h"
#include "stateconf.h"
#include "table.h"
#include "tls.h"
#include "util.h"

#define CFG_FILE_MAX		(4u << 20)	/* a config is small */
#define CFG_LINE_MAX		(64u << 10)	/* one logical line */
#define CFG_AT(f)		offsetof(struct config, f)

static const struct cfg_key core_keys[] = {
	/* key                    type        default           min  max        field                          reload choices help */
	{ "hostname",             CFG_STRING, "",               0, 0,          CFG_AT(hostname),               1, NULL, "name in the greeting, Received: header and EHLO; empty: the system host name" },
	{ "listen",               CFG_LIST,   "0.0.0.0:25",     0, 0,          CFG_AT(listen),                 0, NULL, "addresses to accept SMTP on, host:port, [v6]:port (restart to change)" },
	{ "listen_backlog",       CFG_UINT,   "1024",           1, 65535,      CFG_AT(listen_backlog),         0, NULL, "listen(2) backlog; small values drop SYNs under bursts" },
	{ "proxy_protocol_networks", CFG_LIST, "",              0, 0,          CFG_AT(proxy_networks_list),    1, NULL, "load balancers trusted to send a PROXY v1/v2 header (CIDR list); the address in it is the client for every check. A PROXY header from anyone else is refused" },
	{ "proxy_protocol_timeout", CFG_MS,   "5s",             100, 600000,   CFG_AT(proxy_timeout),          1, NULL, "time a trusted load balancer has to send its PROXY header" },
	{ "greeting",             CFG_STRING, "ESMTP",          0, 0,          CFG_AT(greeting),               1, NULL, "text after \"220 <hostname> \" in the greeting" },
	{ "greet_delay",          CFG_MS,     "0s",             0, 60000,      CFG_AT(greet_delay_ms),         1, NULL, "send \"220-\" at once and the final \"220 \" after this delay; a client that talks before it is an early talker (postscreen's pregreet test); 0: no delay" },
	{ "early_talker",         CFG_ENUM,   "reject",         0, 0,          CFG_AT(early_talker),           1, "reject|ignore", "a client that sends before the greeting ends: reject (554 5.5.0, then close) or ignore" },
	{ "pipelining_violation", CFG_ENUM,   "reject",         0, 0,          CFG_AT(pipelining_violation),   1, "reject|ignore", "a client that pipelines commands when PIPELINING was not offered (or sends data before the reply to DATA): reject (554 5.5.0, then close) or ignore" },
	{ "relay_domains",        CFG_LIST,   CFG_REQUIRED,     0, 0,          CFG_AT(relay_domains_list),     1, NULL, "domains mail is accepted for: example.org (exact), .example.org (subdomains), /path (one per line); nothing else is relayed" },
	{ "backend",              CFG_STRING, CFG_REQUIRED,     0, 0,          CFG_AT(backend),                1, NULL, "the backup MX mxguard relays to, host:port" },
	{ "backend_helo",         CFG_STRING, "",               0, 0,          CFG_AT(backend_helo),           1, NULL, "name mxguard sends in EHLO to the backend; empty: hostname" },
	{ "backend_connect_timeout", CFG_MS,  "10s",            100, 600000,   CFG_AT(backend_connect_timeout), 1, NULL, "connect and greeting deadline" },
	{ "backend_timeout",      CFG_MS,     "120s",           100, 3600000,  CFG_AT(backend_timeout),        1, NULL, "deadline for each backend reply before end of data" },
	{ "backend_data_timeout", CFG_MS,     "600s",           100, 3600000,  CFG_AT(backend_data_timeout),   1, NULL, "deadline for the backend's reply to the end of data (RFC 5321: 10 minutes)" },
	{ "backend_probe_interval", CFG_MS,   "30s",            1000, 3600000, CFG_AT(backend_probe_interval), 1, NULL, "how often the backend's EHLO capabilities and health are probed" },
	{ "backend_idle_timeout", CFG_MS,     "60s",            100, 3600000,  CFG_AT(backend_idle_timeout),   1, NULL, "close a session's idle backend connection after this (keep below the backend's smtpd_timeout)" },
	{ "primary",              CFG_STRING, "",               0, 0,          CFG_AT(primary.primary),        1, NULL, "the primary MX this host is the backup of, host:port: recipient callouts, its health probe and defer (in the rcpt and defer filters) need it; empty: none" },
	{ "primary_helo",         CFG_STRING, "",               0, 0,          CFG_AT(primary.helo),           1, NULL, "name mxguard sends in EHLO to the primary; empty: hostname" },
	{ "primary_connect_timeout", CFG_MS,  "5s",             100, 120000,   CFG_AT(primary.connect_timeout), 1, NULL, "connect and greeting deadline; past it the primary counts as down" },
	{ "primary_timeout",      CFG_MS,     "10s",            100, 600000,   CFG_AT(primary.timeout),        1, NULL, "deadline for each reply of the primary during a callout; past it the primary counts as down" },
	{ "primary_probe_interval", CFG_MS,   "30s",            1000, 3600000, CFG_AT(primary.probe_interval), 1, NULL, "how often the primary's health is probed (connect, greeting, EHLO, QUIT); while it is down, every 5s at most" },
	{ "callout_max_connections", CFG_UINT, "4",             1, 1000,       CFG_AT(primary.max_conns),      1, NULL, "concurrent callout connections to the primary (the cap that keeps a dictionary attack from flooding it)" },
	{ "callout_max_queue",    CFG_UINT,   "100",            0, 100000,     CFG_AT(primary.max_queue),      1, NULL, "callouts waiting for a connection beyond the cap; more are tempfailed at once" },
	{ "callout_idle_timeout", CFG_MS,     "30s",            100, 3600000,  CFG_AT(primary.idle_timeout),   1, NULL, "close an idle callout connection after this (keep below the primary's smtpd_timeout)" },
	{ "callout_max_per_connection", CFG_UINT, "100",        1, 100000,     CFG_AT(primary.max_uses),       1, NULL, "callouts on one connection before it is renewed" },
	{ "callout_max_rejects_per_connection", CFG_UINT, "8",  1, 1000,       CFG_AT(primary.max_rejects),    1, NULL, "5xx answers on one connection before it is renewed (Postfix slows down after smtpd_soft_error_limit = 10 errors)" },
	{ "store",                CFG_STRING, "lmdb:/var/lib/mxguard", 0, 0,   CFG_AT(store.spec),             0, NULL, "where shared state lives (callout cache, rate counters, deferral memory, primary health): lmdb:/dir (embedded, survives restarts) or redis://host:port/db (several mxguard instances behind one MX name); used only by the rcpt, defer and ratelimit filters" },
	{ "store_timeout",        CFG_MS,     "1s",             10, 60000,     CFG_AT(store.timeout_ms),       0, NULL, "deadline for each store operation (redis) and for connecting; a failure takes the check's error path (on_error), never reads as an answer" },
	{ "store_lmdb_size",      CFG_SIZE,   "256m",           1048576, (uint64_t)1 << 40, CFG_AT(store.lmdb_size), 0, NULL, "LMDB map size: the most the state takes on disk and in memory; when full, expired entries are purged, then writes fail" },
	{ "store_redis_prefix",   CFG_STRING, "mxg:",           0, 0,          CFG_AT(store.redis_prefix),     0, NULL, "prefix of every redis key mxguard writes" },
	{ "backend_tls",          CFG_ENUM,   "no",             0, 0,          CFG_AT(backend_tls),            1, "no|may|encrypt", "STARTTLS to the backend: no, may (if offered), encrypt (required)" },
	{ "backend_tls_ca_file",  CFG_PATH,   "",               0, 0,          CFG_AT(backend_tls_ca_file),    1, NULL, "CA bundle to verify the backend's certificate" },
	{ "backend_tls_verify",   CFG_BOOL,   "no",             0, 0,          CFG_AT(backend_tls_verify),     1, NULL, "require a valid backend certificate (needs backend_tls_ca_file)" },
	{ "backend_client_info",  CFG_ENUM,   "none",           0, 0,          CFG_AT(backend_client_info),    1, "none|xclient|proxy_v1|proxy_v2", "how the backend learns the real client: Postfix XCLIENT (add mxguard to the backend's smtpd_authorized_xclient_hosts; if it does not offer XCLIENT, mail is refused with 451), or a PROXY header (smtpd_upstream_proxy_protocol = haproxy)" },
	{ "max_backend_connections", CFG_UINT, "200",           1, 100000,     CFG_AT(max_backend_connections), 1, NULL, "backend connections open at once; a transaction beyond it waits up to backend_wait, then gets 451 4.3.2" },
	{ "backend_pool_max",     CFG_UINT,   "32",             0, 100000,     CFG_AT(backend_pool_max),       1, NULL, "idle backend connections kept for later sessions (backend_client_info = none only; 0: none)" },
	{ "backend_wait",         CFG_MS,     "5s",             0, 600000,     CFG_AT(backend_wait),           1, NULL, "how long a transaction waits for a backend connection when max_backend_connections are busy" },
	{ "tls_cert_file",        CFG_PATH,   "",               0, 0,          CFG_AT(tls_cert_file),          1, NULL, "PEM certificate chain for STARTTLS; empty: no STARTTLS" },
	{ "tls_key_file",         CFG_PATH,   "",               0, 0,          CFG_AT(tls_key_file),           1, NULL, "PEM private key for STARTTLS" },
	{ "tls_ciphers",          CFG_STRING, "",               0, 0,          CFG_AT(tls_ciphers),            1, NULL, "OpenSSL cipher list for TLS <= 1.2; empty: OpenSSL's default" },
	{ "max_message_size",     CFG_SIZE,   "50m",            1024, (uint64_t)1 << 40, CFG_AT(max_message_size), 1, NULL, "largest message accepted (SIZE offers the lower of this and the backend's)" },
	{ "spool_memory_max",     CFG_SIZE,   "1m",             0, (uint64_t)1 << 32, CFG_AT(spool_memory_max), 1, NULL, "a message is held in memory up to this size, then in an unlinked temporary file" },
	{ "spool_memory_total",   CFG_SIZE,   "256m",           0, (uint64_t)1 << 40, CFG_AT(spool_memory_total), 1, NULL, "memory all spools together may use; beyond it messages go to files" },
	{ "spool_dir",            CFG_STRING, "/tmp",           0, 0,          CFG_AT(spool_dir),              1, NULL, "directory for temporary spool files (unlinked at once)" },
	{ "bare_newline",         CFG_ENUM,   "reject",         0, 0,          CFG_AT(bare_newline),           1, "reject|normalize", "bare CR or LF in DATA (SMTP smuggling): reject with 550 5.6.0, or normalize to CRLF" },
	{ "stream_unfiltered",    CFG_BOOL,   "yes",            0, 0,          CFG_AT(stream_unfiltered),      1, NULL, "when no filter needs the message (headers, body, end of message), pass it to the backend as it arrives instead of spooling it first; the final dot still waits for the end-of-data checks" },
	{ "received_header",      CFG_BOOL,   "yes",            0, 0,          CFG_AT(received_header),        1, NULL, "prepend mxguard's own Received: header" },
	{ "smtputf8",             CFG_BOOL,   "yes",            0, 0,          CFG_AT(smtputf8),               1, NULL, "offer SMTPUTF8 when the backend does" },
	{ "chunking",             CFG_BOOL,   "yes",            0, 0,          CFG_AT(chunking),               1, NULL, "offer CHUNKING (BDAT, RFC 3030); chunks go to the backend as DATA. BINARYMIME is never offered" },
	{ "dsn",                  CFG_BOOL,   "yes",            0, 0,          CFG_AT(dsn),                    1, NULL, "offer DSN when the backend does" },
	{ "max_sessions",         CFG_UINT,   "1000",           1, 1000000,    CFG_AT(max_sessions),           1, NULL, "concurrent client sessions; more are answered 421" },
	{ "max_sessions_per_ip",  CFG_UINT,   "20",             1, 1000000,    CFG_AT(max_sessions_per_ip),    1, NULL, "concurrent sessions from one client address; more are answered 421" },
	{ "max_sessions_per_net", CFG_UINT,   "50",             1, 1000000,    CFG_AT(max_sessions_per_net),   1, NULL, "concurrent sessions from one /24 (IPv4) or /64 (IPv6); more are answered 421" },
	{ "max_rcpts",            CFG_UINT,   "1000",           1, 100000,     CFG_AT(max_rcpts),              1, NULL, "recipients per message; more get 452 4.5.3" },
	{ "max_line_length",      CFG_UINT,   "2048",           512, 65536,    CFG_AT(max_line_length),        1, NULL, "longest command line accepted (RFC 5321: at least 512)" },
	{ "max_errors",           CFG_UINT,   "20",             1, 10000,      CFG_AT(max_errors),             1, NULL, "protocol errors per session before it is closed" },
	{ "soft_error_limit",     CFG_UINT,   "3",              0, 10000,      CFG_AT(soft_error_limit),       1, NULL, "errors after which each error reply is delayed (error_delay, growing with every further error)" },
	{ "error_delay",          CFG_MS,     "1s",             0, 60000,      CFG_AT(error_delay),            1, NULL, "the delay step for error replies past soft_error_limit (at most 10 steps)" },
	{ "max_commands",         CFG_UINT,   "10000",          10, 10000000,  CFG_AT(max_commands),           1, NULL, "commands per session before it is closed" },
	{ "max_pipeline",         CFG_UINT,   "100",            1, 10000,      CFG_AT(max_pipeline),           1, NULL, "pipelined commands held per session before reading pauses" },
	{ "timeout_greeting",     CFG_MS,     "300s",           100, 3600000,  CFG_AT(timeout_greeting),       1, NULL, "time a client has for HELO/EHLO after the greeting" },
	{ "timeout_command",      CFG_MS,     "300s",           100, 3600000,  CFG_AT(timeout_command),        1, NULL, "time between commands (RFC 5321 4.5.3.2.7: 5 minutes)" },
	{ "timeout_data",         CFG_MS,     "300s",           100, 3600000,  CFG_AT(timeout_data),           1, NULL, "time between reads during DATA" },
	{ "drain_timeout",        CFG_MS,     "30s",            0, 3600000,    CFG_AT(drain_timeout),          1, NULL, "on SIGTERM, time sessions get to finish before they are cut" },
	{ "rules_check_interval", CFG_MS,     "10s",            0, 3600000,    CFG_AT(rules_check_interval),   1, NULL, "how often the data files the configuration names (tables, relay_domains and DNSBL site files; not this file, not recipient maps, which the rcpt filter watches) are checked for changes; a change that stays for one interval reloads the configuration (this file included) as SIGHUP does, and a file that does not load keeps the running one; 0: only on SIGHUP" },
	{ "dns_servers",          CFG_LIST,   "",               0, 0,          CFG_AT(dns_servers),            1, NULL, "resolvers every check asks (SPF, DNSBL, RHSBL, HELO): IP[@port] list; empty: the nameservers of /etc/resolv.conf; \"recursive\": resolve from the root servers (what DNSBLs that refuse public resolvers need)" },
	{ "dns_timeout",          CFG_MS,     "5s",             100, 60000,    CFG_AT(dns_timeout),            1, NULL, "deadline of one DNS query; past it the answer counts as a temporary error, never as \"not listed\"" },
	{ "dns_dnssec",           CFG_BOOL,   "no",             0, 0,          CFG_AT(dns_dnssec),             1, NULL, "validate DNSSEC; a bogus answer is a temporary error" },
	{ "dns_trust_anchor_file", CFG_PATH,  "",               0, 0,          CFG_AT(dns_trust_anchor_file),  1, NULL, "DNSSEC trust anchor (unbound format); empty: /usr/share/dns/root.key" },
	{ "dns_unblock_zones",    CFG_LIST,   "",               0, 0,          CFG_AT(dns_unblock_zones),      1, NULL, "zones the resolver would answer itself (RFC 6761 test., invalid., private reverse zones) to look up normally instead; for test setups" },
	{ "dns_unbound_conf",     CFG_PATH,   "",               0, 0,          CFG_AT(dns_unbound_conf),       1, NULL, "extra unbound.conf(5) settings for the resolver, e.g. forward-zone: to a local DNSBL mirror" },
	{ "workers",              CFG_UINT,   "4",              1, 256,        CFG_AT(workers),                0, NULL, "threads for blocking checks (restart to change)" },
	{ "worker_queue",         CFG_UINT,   "1024",           1, 1000000,    CFG_AT(worker_queue),           0, NULL, "jobs that may wait for a worker; beyond it a check tempfails" },
	{ "log",                  CFG_ENUM,   "stderr",         0, 0,          CFG_AT(log_sink),               1, "stderr|syslog", "where log lines go" },
	{ "log_level",            CFG_ENUM,   "info",           0, 0,          CFG_AT(log_level),              1, "error|warning|info|debug", "least important level logged" },
	{ "syslog_facility",      CFG_STRING, "mail",           0, 0,          CFG_AT(syslog_facility),        1, NULL, "facility when log = syslog" },
	{ "filters",              CFG_LIST,   "",               0, 0,          CFG_AT(filters),                1, NULL, "checks to run, in order; each may have a [name] section; empty: a plain relay" },
};

static int	 parse_number(const char *v, uint64_t *out, const char *units,
		    const uint64_t *mult, size_t nunits, size_t defunit);
static void	 list_split(const char *v, struct cfg_list *out);
static int	 config_build(struct config *c, const struct cfg_file *f,
		    struct cfg_errors *e);
static void	 config_free(struct config *c);
static void	 report(struct cfg_errors *e, int warning, const char *file,
		    int line, const char *fmt, va_list ap)
		    __attribute__((format(printf, 5, 0)));

/* ---- generic ---------------------------------------------------------- */

static void
report(struct cfg_errors *e, int warning, const char *file, int line,
    const char *fmt, va_list ap)
{
	char msg[1024];

	if (vsnprintf(msg, sizeof(msg), fmt, ap) < 0)
		msg[0] = '\0';
	if (e->to_log) {
		if (line > 0)
			(warning ? log_warn : log_err)("%s:%d: %s", file, line, msg);
		else
			(warning ? log_warn : log_err)("%s: %s", file, msg);
	} else if (line > 0)
		fprintf(stderr, "%s:%d: %s%s\n", file, line,
		    warning ? "warning: " : "", msg);
	else
		fprintf(stderr, "%s: %s%s\n", file, warning ? "warning: " : "",
		    msg);
}

void
cfg_error(struct cfg_errors *e, const char *file, int line,
    const char *fmt, ...)
{
	va_list ap;

	e->count++;
	va_start(ap, fmt);
	report(e, 0, file, line, fmt, ap);
	va_end(ap);
}

void
cfg_warning(struct cfg_errors *e, const char *file, int line,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report(e, 1, file, line, fmt, ap);
	va_end(ap);
}

int
cfg_read_file(const char *path, uint64_t max, struct cfg_errors *watch,
    char **out, size_t *outlen, struct err *err)
{
	struct stat st;
	char *buf;
	size_t n = 0;
	ssize_t r;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err_set(err, "%s", strerror(errno));
		return CFG_READ_OPEN;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		err_set(err, "not a regular file");
		close(fd);
		return CFG_READ_NOT_FILE;
	}
	if (watch != NULL)
		cfg_watch_fd(watch, path, fd);
	if ((uint64_t)st.st_size > max) {
		err_set(err, "%lld bytes, at most %llu", (long long)st.st_size,
		    (unsigned long long)max);
		close(fd);
		return CFG_READ_TOO_LARGE;
	}
	buf = xmalloc((size_t)st.st_size + 1);
	while (n < (size_t)st.st_size) {
		r = read(fd, buf + n, (size_t)st.st_size - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			err_set(err, "read: %s", strerror(errno));
			free(buf);
			close(fd);
			return CFG_READ_OPEN;
		}
		if (r == 0)
			break;		/* it shrank meanwhile: what is there */
		n += (size_t)r;
	}
	close(fd);
	buf[n] = '\0';
	*out = buf;
	*outlen = n;
	return 0;
}

static void
block_add(struct cfg_block *b, const char *key, size_t klen,
    const char *val, size_t vlen, int line)
{
	b->e = xrealloc(b->e, (b->n + 1) * sizeof(*b->e));
	b->e[b->n].key = xstrndup(key, klen);
	b->e[b->n].value = xstrndup(val, vlen);
	b->e[b->n].line = line;
	b->e[b->n].used = 0;
	b->n++;
}

static struct cfg_block *
file_add_block(struct cfg_file *f, const char *name, int line)
{
	struct cfg_block *b;

	f->blocks = xrealloc(f->blocks, (f->nblocks + 1) * sizeof(*f->blocks));
	b = &f->blocks[f->nblocks++];
	memset(b, 0, sizeof(*b));
	b->name = name ? xstrdup(name) : NULL;
	b->file = f->path;
	b->line = line;
	return b;
}

static int
is_key_char(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

/*
 * Parses one logical line (continuations joined). Returns 0 or -1 after
 * reporting.
 */
static void
parse_logical(struct cfg_file *f, struct cfg_block **cur, char *s, size_t len,
    int line, struct cfg_errors *e)
{
	size_t i = 0, k0, k1, v0, v1;

	if (s[0] == '[') {
		char *close = memchr(s, ']', len);
		size_t nlen;

		if (close == NULL) {
			cfg_error(e, f->path, line, "missing ] in section header");
			return;
		}
		for (char *p = close + 1; p < s + len; p++)
			if (!isspace((unsigned char)*p)) {
				cfg_error(e, f->path, line,
				    "junk after section header");
				return;
			}
		nlen = (size_t)(close - s - 1);
		if (nlen == 0 || nlen > 64) {
			cfg_error(e, f->path, line, "bad section name");
			return;
		}
		for (size_t j = 1; j <= nlen; j++)
			if (!is_key_char(s[j]) && s[j] != '-') {
				cfg_error(e, f->path, line,
				    "bad character in section name");
				return;
			}
		s[nlen + 1] = '\0';
		for (size_t j = 1; j < f->nblocks; j++)
			if (strcmp(f->blocks[j].name, s + 1) == 0) {
				cfg_error(e, f->path, line,
				    "section [%s] repeated (first at line %d)",
				    s + 1, f->blocks[j].line);
				*cur = &f->blocks[j];
				return;
			}
		*cur = file_add_block(f, s + 1, line);
		return;
	}
	k0 = i;
	while (i < len && is_key_char(s[i]))
		i++;
	k1 = i;
	while (i < len && (s[i] == ' ' || s[i] == '\t'))
		i++;
	if (k1 == k0 || i >= len || s[i] != '=') {
		cfg_error(e, f->path, line, k1 == k0 ?
		    "expected \"key = value\" (keys are a-z, 0-9 and _)" :
		    "expected \"=\" after the key");
		return;
	}
	i++;
	while (i < len && isspace((unsigned char)s[i]))
		i++;
	v0 = i;
	v1 = len;
	while (v1 > v0 && isspace((unsigned char)s[v1 - 1]))
		v1--;
	for (size_t j = 0; j < (*cur)->n; j++)
		if (strlen((*cur)->e[j].key) == k1 - k0 &&
		    memcmp((*cur)->e[j].key, s + k0, k1 - k0) == 0) {
			cfg_error(e, f->path, line,
			    "%.*s: set twice (first at line %d)",
			    (int)(k1 - k0), s + k0, (*cur)->e[j].line);
			return;
		}
	block_add(*cur, s + k0, k1 - k0, s + v0, v1 - v0, line);
}

int
cfg_file_read(const char *path, struct cfg_file *f, struct cfg_errors *e)
{
	struct err err;
	char *buf;
	size_t len;
	int rc;

	if ((rc = cfg_read_file(path, CFG_FILE_MAX, NULL, &buf, &len,
	    &err)) < 0) {
		memset(f, 0, sizeof(*f));
		f->path = xstrdup(path);
		file_add_block(f, NULL, 0);
		cfg_error(e, path, 0, rc == CFG_READ_OPEN ? "cannot open: %s" :
		    rc == CFG_READ_TOO_LARGE ? "file too large (%s)" : "%s",
		    err.msg);
		return -1;
	}
	rc = cfg_file_parse(path, buf, len, f, e);
	free(buf);
	return rc;
}

int
cfg_file_parse(const char *path, const char *buf, size_t len,
    struct cfg_file *f, struct cfg_errors *e)
{
	struct cfg_block *cur;
	char *logical = NULL;
	size_t llen = 0, pos = 0;
	int lineno = 0, lstart = 0, settings = 0, before = e->count;
	int skip = 0;		/* in a logical line refused as too long */

	memset(f, 0, sizeof(*f));
	f->path = xstrdup(path);
	cur = file_add_block(f, NULL, 0);
	if (memchr(buf, '\0', len) != NULL) {
		cfg_error(e, path, 0, "contains a NUL byte: not a text file");
		return -1;
	}
	logical = xmalloc(CFG_LINE_MAX + 1);
	while (pos < len) {
		const char *nl = memchr(buf + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (buf + pos)) : len - pos;
		const char *l = buf + pos;
		size_t j = 0;

		lineno++;
		if (nl == NULL) {
			cfg_error(e, path, lineno, "last line has no newline: "
			    "the file looks half-written; not loaded");
			break;
		}
		pos += n + 1;
		if (n > 0 && l[n - 1] == '\r')
			n--;
		while (j < n && isspace((unsigned char)l[j]))
			j++;
		if (j == n || l[j] == '#')
			continue;
		if (j > 0) {			/* continuation */
			if (skip)
				continue;	/* reported once, at its start */
			if (llen == 0) {
				cfg_error(e, path, lineno, "continuation line "
				    "(starts with white space) without a line "
				    "before it");
				continue;
			}
			if (llen + 1 + (n - j) > CFG_LINE_MAX) {
				cfg_error(e, path, lineno, "logical line longer "
				    "than %u bytes", CFG_LINE_MAX);
				llen = 0;
				skip = 1;
				continue;
			}
			logical[llen++] = ' ';
			memcpy(logical + llen, l + j, n - j);
			llen += n - j;
			continue;
		}
		skip = 0;
		if (llen > 0) {
			logical[llen] = '\0';
			parse_logical(f, &cur, logical, llen, lstart, e);
			settings++;
		}
		if (n > CFG_LINE_MAX) {
			cfg_error(e, path, lineno, "line longer than %u bytes",
			    CFG_LINE_MAX);
			llen = 0;
			skip = 1;
			continue;
		}
		memcpy(logical, l, n);
		llen = n;
		lstart = lineno;
	}
	if (llen > 0) {
		logical[llen] = '\0';
		parse_logical(f, &cur, logical, llen, lstart, e);
		settings++;
	}
	free(logical);
	if (settings == 0 && e->count == before)
		cfg_error(e, path, 0, "empty configuration file: not loaded");
	return e->count == before ? 0 : -1;
}

void
cfg_file_free(struct cfg_file *f)
{
	for (size_t i = 0; i < f->nblocks; i++) {
		for (size_t j = 0; j < f->blocks[i].n; j++) {
			free(f->blocks[i].e[j].key);
			free(f->blocks[i].e[j].value);
		}
		free(f->blocks[i].e);
		free(f->blocks[i].name);
	}
	free(f->blocks);
	free(f->path);
	memset(f, 0, sizeof(*f));
}

const struct cfg_block *
cfg_file_section(const struct cfg_file *f, const char *name)
{
	for (size_t i = 1; i < f->nblocks; i++)
		if (strcmp(f->blocks[i].name, name) == 0)
			return &f->blocks[i];
	return NULL;
}

int
cfg_line_of(const struct cfg_block *b, const char *key)
{
	for (size_t i = 0; i < b->n; i++)
		if (strcmp(b->e[i].key, key) == 0)
			return b->e[i].line;
	return b->line;
}

static int
parse_number(const char *v, uint64_t *out, const char *units,
    const uint64_t *mult, size_t nunits, size_t defunit)
{
	const char *p = v, *u;
	uint64_t n = 0;
	size_t ulen;

	if (!isdigit((unsigned char)*p))
		return -1;
	for (; isdigit((unsigned char)*p); p++) {
		if (n > (UINT64_MAX - 9) / 10)
			return -1;
		n = n * 10 + (uint64_t)(*p - '0');
	}
	ulen = strlen(p);
	if (ulen == 0) {
		if (mult == NULL)
			goto done;
		if (n > UINT64_MAX / mult[defunit])
			return -1;
		n *= mult[defunit];
		goto done;
	}
	if (units == NULL)
		return -1;
	/* units: "ms|s|m|h|d" matched exactly, case-insensitive */
	u = units;
	for (size_t i = 0; i < nunits; i++) {
		const char *bar = strchr(u, '|');
		size_t l = bar ? (size_t)(bar - u) : strlen(u);

		if (l == ulen && strncasecmp(u, p, l) == 0) {
			if (n > UINT64_MAX / mult[i])
				return -1;
			n *= mult[i];
			goto done;
		}
		u += l + 1;
	}
	return -1;
done:
	*out = n;
	return 0;
}

static void
list_split(const char *v, struct cfg_list *out)
{
	const char *p = v;

	memset(out, 0, sizeof(*out));
	while (*p) {
		const char *s;

		while (*p == ',' || isspace((unsigned char)*p))
			p++;
		if (*p == '\0')
			break;
		s = p;
		while (*p && *p != ',' && !isspace((unsigned char)*p))
			p++;
		out->v = xrealloc(out->v, (out->n + 1) * sizeof(char *));
		out->v[out->n++] = xstrndup(s, (size_t)(p - s));
	}
}

void
cfg_list_free(struct cfg_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

int
cfg_parse_value(const struct cfg_key *k, const char *value, void *dst,
    struct err *err)
{
	static const uint64_t ms_mult[] = { 1, 1000, 60000, 3600000, 86400000 };
	static const uint64_t sz_mult[] = { 1, 1024, 1024 * 1024,
	    1024 * 1024 * 1024, 1024, 1024 * 1024, 1024 * 1024 * 1024 };
	uint64_t n;

	switch (k->type) {
	case CFG_UINT:
	case CFG_SIZE:
	case CFG_MS:
		if (k->type == CFG_UINT ? parse_number(value, &n, NULL, NULL, 0, 0) :
		    k->type == CFG_SIZE ? parse_number(value, &n,
		    "b|k|m|g|kb|mb|gb", sz_mult, 7, 0) :
		    parse_number(value, &n, "ms|s|m|h|d", ms_mult, 5, 1)) {
			err_set(err, "\"%s\" is not a %s", value,
			    k->type == CFG_UINT ? "number" : k->type == CFG_SIZE ?
			    "size (a number, optionally k, m or g)" :
			    "duration (a number, optionally ms, s, m, h or d)");
			return -1;
		}
		if (n < k->min) {
			err_set(err, "%s is below the minimum %llu%s", value,
			    (unsigned long long)k->min, k->type == CFG_MS ? "ms" : "");
			return -1;
		}
		if (k->max && n > k->max) {
			err_set(err, "%s is above the maximum %llu%s", value,
			    (unsigned long long)k->max, k->type == CFG_MS ? "ms" : "");
			return -1;
		}
		*(uint64_t *)dst = n;
		return 0;
	case CFG_BOOL:
		if (!strcasecmp(value, "yes") || !strcasecmp(value, "true") ||
		    !strcasecmp(value, "on") || !strcmp(value, "1"))
			*(int *)dst = 1;
		else if (!strcasecmp(value, "no") || !strcasecmp(value, "false") ||
		    !strcasecmp(value, "off") || !strcmp(value, "0"))
			*(int *)dst = 0;
		else {
			err_set(err, "\"%s\" is not yes or no", value);
			return -1;
		}
		return 0;
	case CFG_ENUM: {
		const char *c = k->choices;
		int idx = 0;

		while (c && *c) {
			const char *bar = strchr(c, '|');
			size_t l = bar ? (size_t)(bar - c) : strlen(c);

			if (strlen(value) == l && strncasecmp(c, value, l) == 0) {
				*(int *)dst = idx;
				return 0;
			}
			idx++;
			c = bar ? bar + 1 : c + l;
		}
		err_set(err, "\"%s\" is not one of %s", value, k->choices);
		return -1;
	}
	case CFG_STRING:
	case CFG_PATH:
		free(*(char **)dst);
		*(char **)dst = xstrdup(value);
		if (k->type == CFG_PATH && value[0] != '\0' &&
		    access(value, R_OK) != 0) {
			err_set(err, "%s: %s", value, strerror(errno));
			return -1;
		}
		return 0;
	case CFG_LIST:
		cfg_list_free(dst);
		list_split(value, dst);
		return 0;
	}
	err_set(err, "internal: bad key type");
	return -1;
}

void
cfg_apply(const struct cfg_block *b, const struct cfg_key *keys, size_t nkeys,
    void *base, struct cfg_errors *e)
{
	struct err err;

	for (size_t i = 0; i < nkeys; i++) {
		const struct cfg_key *k = &keys[i];
		void *dst = (char *)base + k->off;
		const struct cfg_entry *ent = NULL;

		for (size_t j = 0; j < b->n; j++)
			if (strcmp(b->e[j].key, k->key) == 0) {
				ent = &b->e[j];
				b->e[j].used = 1;
			}
		if (ent == NULL && k->def == NULL) {
			cfg_error(e, b->file, b->line > 0 ? b->line : 0,
			    "%s: required%s%s%s", k->key, b->name ? " in [" : "",
			    b->name ? b->name : "", b->name ? "]" : "");
			/* leave a harmless value: "" for strings, the rest
			 * stays zero (the target was zeroed) */
			if (k->type == CFG_STRING || k->type == CFG_PATH) {
				free(*(char **)dst);
				*(char **)dst = xstrdup("");
			}
			continue;
		}
		if (cfg_parse_value(k, ent ? ent->value : k->def, dst, &err) < 0) {
			if (ent == NULL)
				cfg_error(e, b->file, 0, "internal: default of "
				    "%s: %s", k->key, err.msg);
			else
				cfg_error(e, b->file, ent->line, "%s: %s",
				    k->key, err.msg);
		}
	}
}

void
cfg_check_unused(const struct cfg_block *b, struct cfg_errors *e)
{
	for (size_t j = 0; j < b->n; j++)
		if (!b->e[j].used)
			cfg_error(e, b->file, b->e[j].line, "unknown key \"%s\"%s%s%s",
			    b->e[j].key, b->name ? " in [" : "",
			    b->name ? b->name : "", b->name ? "]" : "");
}

void
cfg_free_fields(const struct cfg_key *keys, size_t nkeys, void *base)
{
	for (size_t i = 0; i < nkeys; i++) {
		void *dst = (char *)base + keys[i].off;

		if (keys[i].type == CFG_STRING || keys[i].type == CFG_PATH) {
			free(*(char **)dst);
			*(char **)dst = NULL;
		} else if (keys[i].type == CFG_LIST)
			cfg_list_free(dst);
	}
}

void
cfg_print_keys(const char *section, const struct cfg_key *keys, size_t nkeys)
{
	if (section != NULL)
		printf("[%s]\n", section);
	for (size_t i = 0; i < nkeys; i++) {
		printf("# %s%s%s%s\n", keys[i].help ? keys[i].help : "",
		    keys[i].choices ? " (" : "", keys[i].choices ?
		    keys[i].choices : "", keys[i].choices ? ")" : "");
		if (!keys[i].reload)
			printf("# (a change needs a restart)\n");
		if (keys[i].def == NULL)
			printf("%s = (required)\n", keys[i].key);
		else
			printf("#%s = %s\n", keys[i].key, keys[i].def);
	}
}

/* ---- struct config ---------------------------------------------------- */

/* ---- watched data files ------------------------------------------------ */

#define SIG_BASIS	1469598103934665603ull	/* FNV-1a */

static uint64_t
sig_mix(uint64_t h, uint64_t v)
{
	for (int i = 0; i < 8; i++) {
		h ^= (v >> (8 * i)) & 0xff;
		h *= 1099511628211ull;
	}
	return h;
}

/* One file's state: what it is and when it last changed, or why not. */
static uint64_t
sig_file(const struct stat *st, int err)
{
	uint64_t h = SIG_BASIS;

	if (st == NULL)
		return sig_mix(h, (uint64_t)err | (1ull << 63));
	h = sig_mix(h, (uint64_t)st->st_dev);
	h = sig_mix(h, (uint64_t)st->st_ino);
	h = sig_mix(h, (uint64_t)st->st_size);
	h = sig_mix(h, (uint64_t)st->st_mtim.tv_sec);
	return sig_mix(h, (uint64_t)st->st_mtim.tv_nsec);
}

void
cfg_watch_fd(struct cfg_errors *e, const char *path, int fd)
{
	struct cfg_watch *w = e->watch;
	struct stat st;
	uint64_t fs;

	if (w == NULL)
		return;
	for (size_t i = 0; i < w->n; i++)
		if (strcmp(w->paths[i], path) == 0)
			return;		/* named twice: once is enough */
	if (fstat(fd, &st) == 0)
		fs = sig_file(&st, 0);
	else
		fs = sig_file(NULL, errno);
	if (w->n == w->cap) {
		w->cap = w->cap ? 2 * w->cap : 8;
		w->paths = xrealloc(w->paths, w->cap * sizeof(*w->paths));
		w->sigs = xrealloc(w->sigs, w->cap * sizeof(*w->sigs));
	}
	w->paths[w->n] = xstrdup(path);
	w->sigs[w->n++] = fs;
	w->sig = sig_mix(w->sig, fs);
}

uint64_t
config_files_sig(const struct config *c, const char **which)
{
	const struct cfg_watch *w = &c->watch;
	uint64_t h = SIG_BASIS;

	*which = NULL;
	for (size_t i = 0; i < w->n; i++) {
		struct stat st;
		uint64_t fs;

		fs = stat(w->paths[i], &st) == 0 ? sig_file(&st, 0) :
		    sig_file(NULL, errno);
		if (*which == NULL && fs != w->sigs[i])
			*which = w->paths[i];
		h = sig_mix(h, fs);
	}
	return h;
}

static void
watch_free(struct cfg_watch *w)
{
	for (size_t i = 0; i < w->n; i++)
		free(w->paths[i]);
	free(w->paths);
	free(w->sigs);
	memset(w, 0, sizeof(*w));
}

struct config *
config_load(const char *path, int to_log, int *nerrors)
{
	struct cfg_errors e = { 0, to_log, NULL };
	struct cfg_file f;
	struct config *c;

	c = xcalloc(1, sizeof(*c));
	c->refs = 1;
	c->path = xstrdup(path);
	c->watch.sig = SIG_BASIS;
	e.watch = &c->watch;
	if (cfg_file_read(path, &f, &e) == 0)
		config_build(c, &f, &e);
	cfg_file_free(&f);
	if (nerrors != NULL)
		*nerrors = e.count;
	if (e.count > 0) {
		if (to_log)
			log_err("%s: %d error%s; configuration not loaded", path,
			    e.count, e.count == 1 ? "" : "s");
		else
			fprintf(stderr, "mxguard: %d error%s; configuration not "
			    "loaded\n", e.count, e.count == 1 ? "" : "s");
		config_free(c);
		return NULL;
	}
	return c;
}

static int
config_build(struct config *c, const struct cfg_file *f, struct cfg_errors *e)
{
	const struct cfg_block *top = &f->blocks[0];
	struct err err;
	char host[256];
	int before = e->count;

	cfg_apply(top, core_keys, ARRAY_LEN(core_keys), c, e);

	if (c->hostname == NULL || c->hostname[0] == '\0') {
		if (gethostname(host, sizeof(host)) < 0 || host[0] == '\0')
			str_copy(host, sizeof(host), "localhost");
		host[sizeof(host) - 1] = '\0';
		free(c->hostname);
		c->hostname = xstrdup(host);
	}
	for (const char *p = c->hostname; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '.' && *p != '-') {
			cfg_error(e, f->path, cfg_line_of(top, "hostname"),
			    "hostname: \"%s\" is not a host name", c->hostname);
			break;
		}
	if (c->backend_helo == NULL || c->backend_helo[0] == '\0') {
		free(c->backend_helo);
		c->backend_helo = xstrdup(c->hostname);
	}
	for (const char *p = c->greeting; p && *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			cfg_error(e, f->path, cfg_line_of(top, "greeting"),
			    "greeting: control character");
			break;
		}

	if (c->listen.n == 0)
		cfg_error(e, f->path, cfg_line_of(top, "listen"),
		    "listen: no address");
	if (c->listen.n > CONFIG_LISTEN_MAX)
		cfg_error(e, f->path, cfg_line_of(top, "listen"),
		    "listen: more than %d addresses", CONFIG_LISTEN_MAX);
	for (size_t i = 0; i < c->listen.n && i < CONFIG_LISTEN_MAX; i++) {
		if (addr_parse(c->listen.v[i], 25, 0, &c->listen_addr[i],
		    &c->listen_len[i], &err) < 0)
			cfg_error(e, f->path, cfg_line_of(top, "listen"),
			    "listen: %s", err.msg);
		else
			c->nlisten++;
	}
	if (c->backend != NULL && c->backend[0] != '\0' &&
	    addr_parse(c->backend, 25, 1, &c->backend_addr, &c->backend_addrlen,
	    &err) < 0)
		cfg_error(e, f->path, cfg_line_of(top, "backend"), "backend: %s",
		    err.msg);
	else if (c->backend != NULL && c->backend[0] == '\0')
		cfg_error(e, f->path, cfg_line_of(top, "backend"),
		    "backend: empty");

	c->relay = relay_domains_build(&c->relay_domains_list, f->path,
	    cfg_line_of(top, "relay_domains"), e);
	if (c->proxy_networks_list.n > 0)
		c->proxy_networks = table_from_cidr_list(&c->proxy_networks_list,
		    f->path, cfg_line_of(top, "proxy_protocol_networks"), e);
	if (c->max_sessions_per_net < c->max_sessions_per_ip)
		cfg_error(e, f->path, cfg_line_of(top, "max_sessions_per_net"),
		    "max_sessions_per_net is below max_sessions_per_ip");
	if (c->soft_error_limit >= c->max_errors)
		cfg_warning(e, f->path, cfg_line_of(top, "soft_error_limit"),
		    "soft_error_limit >= max_errors: error replies are never "
		    "delayed");

	if (c->max_message_size < c->spool_memory_max)
		c->spool_memory_max = c->max_message_size;
	if (access(c->spool_dir, W_OK | X_OK) != 0)
		cfg_error(e, f->path, cfg_line_of(top, "spool_dir"),
		    "spool_dir: %s: %s", c->spool_dir, strerror(errno));
	if (log_facility_parse(c->syslog_facility) < 0)
		cfg_error(e, f->path, cfg_line_of(top, "syslog_facility"),
		    "syslog_facility: unknown facility \"%s\"", c->syslog_facility);

	if ((c->tls_cert_file[0] != '\0') != (c->tls_key_file[0] != '\0'))
		cfg_error(e, f->path, cfg_line_of(top, c->tls_cert_file[0] ?
		    "tls_cert_file" : "tls_key_file"),
		    "tls_cert_file and tls_key_file go together");
	else if (c->tls_cert_file[0] != '\0' && e->count == before) {
		c->tls_ctx = tls_server_ctx_new(c->tls_cert_file,
		    c->tls_key_file, c->tls_ciphers, &err);
		if (c->tls_ctx == NULL)
			cfg_error(e, f->path, cfg_line_of(top, "tls_cert_file"),
			    "%s", err.msg);
	}
	if (c->backend_tls_verify && c->backend_tls_ca_file[0] == '\0')
		cfg_error(e, f->path, cfg_line_of(top, "backend_tls_verify"),
		    "backend_tls_verify needs backend_tls_ca_file");
	if (c->backend_tls != BACKEND_TLS_NO && e->count == before) {
		c->backend_tls_ctx = tls_client_ctx_new(c->backend_tls_ca_file,
		    c->backend_tls_verify, &err);
		if (c->backend_tls_ctx == NULL)
			cfg_error(e, f->path, cfg_line_of(top, "backend_tls"),
			    "%s", err.msg);
	}

	if (e->count == before)
		dns_config_check(c, top, e);
	primary_conf_check(&c->primary, top, f->path, e);
	store_conf_check(&c->store, top, f->path, e);

	filter_chain_configure(c, f, e);
	if (store_needed(c))
		store_conf_check_dir(&c->store, top, f->path, e);
	cfg_check_unused(top, e);
	for (size_t i = 1; i < f->nblocks; i++) {
		int named = 0;

		for (size_t j = 0; j < c->filters.n; j++)
			if (strcmp(c->filters.v[j], f->blocks[i].name) == 0)
				named = 1;
		if (named)
			continue;
		if (filter_find(f->blocks[i].name) == NULL)
			cfg_error(e, f->path, f->blocks[i].line, "section [%s]: "
			    "there is no filter of that name",
			    f->blocks[i].name);
		else
			cfg_warning(e, f->path, f->blocks[i].line, "section [%s]: "
			    "not in 'filters', so its settings are not used",
			    f->blocks[i].name);
	}
	if (e->count == before && filter_chain_start(c, &err) < 0)
		cfg_error(e, f->path, 0, "%s", err.msg);
	return e->count == before ? 0 : -1;
}

struct config *
config_ref(struct config *c)
{
	c->refs++;
	return c;
}

void
config_unref(struct config **cp)
{
	struct config *c = *cp;

	if (c == NULL)
		return;
	*cp = NULL;
	ASSERT(c->refs > 0);
	if (--c->refs == 0)
		config_free(c);
}

static void
config_free(struct config *c)
{
	filter_chain_free(c);
	store_conf_clear(&c->store);
	relay_domains_free(&c->relay);
	table_free(&c->proxy_networks);
	tls_ctx_free(c->tls_ctx);
	tls_ctx_free(c->backend_tls_ctx);
	cfg_free_fields(core_keys, ARRAY_LEN(core_keys), c);
	watch_free(&c->watch);
	free(c->path);
	free(c);
}

void
config_reload_warnings(const struct config *o, const struct config *n)
{
	int same = o->nlisten == n->nlisten;

	for (size_t i = 0; same && i < o->nlisten; i++)
		same = o->listen_len[i] == n->listen_len[i] &&
		    memcmp(&o->listen_addr[i], &n->listen_addr[i],
		    o->listen_len[i]) == 0;
	if (!same)
		log_warn("reload: listen changed; restart mxguard to apply it");
	if (o->listen_backlog != n->listen_backlog)
		log_warn("reload: listen_backlog changed; restart to apply it");
	if (o->workers != n->workers || o->worker_queue != n->worker_queue)
		log_warn("reload: workers or worker_queue changed; restart to "
		    "apply it");
	if (!store_conf_same(&o->store, &n->store))
		log_warn("reload: store settings changed; restart to apply "
		    "them (the running store stays)");
}

const struct cfg_key *
config_core_keys(size_t *n)
{
	*n = ARRAY_LEN(core_keys);
	return core_keys;
}

void
config_print_keys(void)
{
	cfg_print_keys(NULL, core_keys, ARRAY_LEN(core_keys));
	filter_print_keys();
}
