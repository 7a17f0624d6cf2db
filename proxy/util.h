/*
 * util.h - allocation that never returns NULL, bounded string copies,
 * fixed-size error buffers, time, and small helpers shared by every module.
 *
 * x*alloc() log and abort on exhaustion: an allocation failure in the
 * loop is not recoverable per session. Sizes that come from peers are
 * checked against limits before any allocation.
 */
#ifndef MXG_UTIL_H
#define MXG_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define ARRAY_LEN(a)	(sizeof(a) / sizeof((a)[0]))
#define MIN(a, b)	((a) < (b) ? (a) : (b))
#define MAX(a, b)	((a) > (b) ? (a) : (b))

/* A broken invariant is our bug: log file:line and abort. */
#define ASSERT(c)	do { if (!(c)) util_assert_fail(#c, __FILE__, __LINE__); } while (0)

#define ERR_MAX		256
struct err {
	char	msg[ERR_MAX];
};

void	*xmalloc(size_t n);
void	*xcalloc(size_t nmemb, size_t size);
void	*xrealloc(void *p, size_t n);
char	*xstrdup(const char *s);
char	*xstrndup(const char *s, size_t n);
void	 util_assert_fail(const char *cond, const char *file, int line)
	    __attribute__((noreturn));

/* Copies at most size-1 bytes and always terminates; -1 if truncated. */
int	 str_copy(char *dst, size_t size, const char *src);
/* Same for a counted source (need not be terminated). */
int	 str_ncopy(char *dst, size_t size, const char *src, size_t n);
/* snprintf that reports truncation as -1 and never leaves dst unterminated. */
int	 str_fmt(char *dst, size_t size, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
void	 str_lower(char *s);
/* ASCII case-insensitive compare of counted strings. */
int	 str_ncaseeq(const char *a, size_t alen, const char *b);

void	 err_set(struct err *e, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	 err_vset(struct err *e, const char *fmt, va_list ap)
	    __attribute__((format(printf, 2, 0)));

/* Monotonic milliseconds, for durations only. */
uint64_t now_ms(void);
uint64_t now_us(void);

/*
 * Addresses. sockaddr_fmt() gives "[192.0.2.1]:25" / "[2001:db8::1]:25";
 * addr_fmt() gives the bare address "192.0.2.1". Both always terminate.
 */
#define ADDR_STR_MAX	64
void	 sockaddr_fmt(const struct sockaddr *sa, char *out, size_t outlen);
void	 addr_fmt(const struct sockaddr *sa, char *out, size_t outlen);
uint16_t sockaddr_port(const struct sockaddr *sa);
/*
 * Parses "host:port", "[v6]:port", "v4", "[v6]" (port_default then).
 * Numeric addresses only unless allow_names; returns -1 with err set.
 */
int	 addr_parse(const char *s, int port_default, int allow_names,
	    struct sockaddr_storage *out, socklen_t *outlen, struct err *err);

/* Generates a random hex session id of 'len' chars (len < size). */
void	 util_random_hex(char *out, size_t len);
uint64_t util_random_u64(void);

#endif
