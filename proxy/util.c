/*
 * util.c - allocation, strings, errors, time and address helpers.
 */
#include <sys/types.h>
#include <sys/random.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "util.h"

static void
oom(size_t n)
{
	log_err("out of memory allocating %zu bytes", n);
	log_flush();
	abort();
}

void *
xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		oom(n);
	return p;
}

void *
xcalloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);

	if (p == NULL)
		oom(nmemb * size);
	return p;
}

void *
xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (q == NULL)
		oom(n);
	return q;
}

char *
xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *
xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

void
util_assert_fail(const char *cond, const char *file, int line)
{
	log_err("%s:%d: assertion failed: %s", file, line, cond);
	log_flush();
	abort();
}

int
str_copy(char *dst, size_t size, const char *src)
{
	return str_ncopy(dst, size, src, strlen(src));
}

int
str_ncopy(char *dst, size_t size, const char *src, size_t n)
{
	size_t k;

	if (size == 0)
		return -1;
	k = n < size - 1 ? n : size - 1;
	memcpy(dst, src, k);
	dst[k] = '\0';
	return k == n ? 0 : -1;
}

int
str_fmt(char *dst, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (size == 0)
		return -1;
	va_start(ap, fmt);
	n = vsnprintf(dst, size, fmt, ap);
	va_end(ap);
	if (n < 0) {
		dst[0] = '\0';
		return -1;
	}
	return (size_t)n < size ? 0 : -1;
}

void
str_lower(char *s)
{
	for (; *s; s++)
		*s = (char)tolower((unsigned char)*s);
}

int
str_ncaseeq(const char *a, size_t alen, const char *b)
{
	size_t blen = strlen(b);

	return alen == blen && strncasecmp(a, b, alen) == 0;
}

void
err_vset(struct err *e, const char *fmt, va_list ap)
{
	if (e == NULL)
		return;
	if (vsnprintf(e->msg, sizeof(e->msg), fmt, ap) < 0)
		e->msg[0] = '\0';
}

void
err_set(struct err *e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	err_vset(e, fmt, ap);
	va_end(ap);
}

uint64_t
now_ms(void)
{
	return now_us() / 1000;
}

uint64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

void
addr_fmt(const struct sockaddr *sa, char *out, size_t outlen)
{
	const void *a;

	if (sa->sa_family == AF_INET)
		a = &((const struct sockaddr_in *)sa)->sin_addr;
	else if (sa->sa_family == AF_INET6)
		a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
	else {
		str_copy(out, outlen, "unknown");
		return;
	}
	if (inet_ntop(sa->sa_family, a, out, (socklen_t)outlen) == NULL)
		str_copy(out, outlen, "unknown");
}

uint16_t
sockaddr_port(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)sa)->sin_port);
	if (sa->sa_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
	return 0;
}

void
sockaddr_fmt(const struct sockaddr *sa, char *out, size_t outlen)
{
	char a[ADDR_STR_MAX];

	addr_fmt(sa, a, sizeof(a));
	str_fmt(out, outlen, "[%s]:%u", a, sockaddr_port(sa));
}

int
addr_parse(const char *s, int port_default, int allow_names,
    struct sockaddr_storage *out, socklen_t *outlen, struct err *err)
{
	char host[256], port[16];
	const char *p, *colon;
	struct addrinfo hints, *res = NULL;
	int rc;

	if (s[0] == '[') {
		p = strchr(s, ']');
		if (p == NULL) {
			err_set(err, "missing ] in address \"%s\"", s);
			return -1;
		}
		if (str_ncopy(host, sizeof(host), s + 1, (size_t)(p - s - 1)) < 0)
			goto toolong;
		p++;
		if (*p == ':')
			colon = p;
		else if (*p == '\0')
			colon = NULL;
		else {
			err_set(err, "junk after ] in address \"%s\"", s);
			return -1;
		}
	} else {
		colon = strrchr(s, ':');
		if (colon != NULL && strchr(s, ':') != colon) {
			/* bare IPv6 without brackets, no port */
			colon = NULL;
			if (str_copy(host, sizeof(host), s) < 0)
				goto toolong;
		} else if (colon != NULL) {
			if (str_ncopy(host, sizeof(host), s,
			    (size_t)(colon - s)) < 0)
				goto toolong;
		} else if (str_copy(host, sizeof(host), s) < 0)
			goto toolong;
	}
	if (colon != NULL) {
		char *end;
		long v;

		errno = 0;
		v = strtol(colon + 1, &end, 10);
		if (colon[1] == '\0' || *end != '\0' || v < 1 || v > 65535) {
			err_set(err, "bad port in address \"%s\"", s);
			return -1;
		}
		str_fmt(port, sizeof(port), "%ld", v);
	} else {
		if (port_default <= 0) {
			err_set(err, "address \"%s\" needs a port", s);
			return -1;
		}
		str_fmt(port, sizeof(port), "%d", port_default);
	}
	if (host[0] == '\0' || strcmp(host, "*") == 0)
		str_copy(host, sizeof(host), "0.0.0.0");
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV | (allow_names ? 0 : AI_NUMERICHOST);
	rc = getaddrinfo(host, port, &hints, &res);
	if (rc != 0 || res == NULL) {
		err_set(err, "bad address \"%s\": %s", s, gai_strerror(rc));
		return -1;
	}
	memset(out, 0, sizeof(*out));
	memcpy(out, res->ai_addr, res->ai_addrlen);
	*outlen = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
toolong:
	err_set(err, "address too long");
	return -1;
}

/*
 * Session ids and the like need to be unique and unguessable enough, not
 * cryptographic: xoshiro256** per thread, seeded once from getrandom()
 * (a system call per connection showed up in profiles).
 */
static _Thread_local uint64_t rs[4];
static _Thread_local int rs_seeded;

static uint64_t
rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t
util_random_u64(void)
{
	uint64_t r, t;

	if (!rs_seeded) {
		if (getrandom(rs, sizeof(rs), 0) != (ssize_t)sizeof(rs)) {
			uint64_t x = now_us() ^ (uint64_t)(uintptr_t)&r;

			for (int i = 0; i < 4; i++) {
				x += 0x9e3779b97f4a7c15u;
				rs[i] = x ^ (x >> 31);
			}
		}
		rs[0] |= 1;
		rs_seeded = 1;
	}
	r = rotl(rs[1] * 5, 7) * 9;
	t = rs[1] << 17;
	rs[2] ^= rs[0];
	rs[3] ^= rs[1];
	rs[1] ^= rs[2];
	rs[0] ^= rs[3];
	rs[2] ^= t;
	rs[3] = rotl(rs[3], 45);
	return r;
}

void
util_random_hex(char *out, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	uint64_t v = 0;

	for (size_t i = 0; i < len; i++) {
		if (i % 16 == 0)
			v = util_random_u64();
		out[i] = hex[v & 15];
		v >>= 4;
	}
	out[len] = '\0';
}
