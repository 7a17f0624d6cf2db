/*
 * ratewin.c - rate parsing, window arithmetic, client networks.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "ratewin.h"
#include "util.h"

static const struct {
	const char	*unit;
	uint64_t	 ms;
} units[] = {
	{ "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 },
	{ "d", 86400000 },
};

int
rate_parse(const char *s, struct rate *r, struct err *err)
{
	const char *p = s, *slash;
	uint64_t n = 0, mult = 0, k = 0;
	size_t ulen;

	memset(r, 0, sizeof(*r));
	while (isspace((unsigned char)*p))
		p++;
	if (*p == '\0' || strcmp(p, "0") == 0 || strcasecmp(p, "none") == 0)
		return 0;
	slash = strchr(p, '/');
	if (slash == NULL || !isdigit((unsigned char)*p)) {
		err_set(err, "\"%.40s\" is not a rate (N/duration, e.g. "
		    "100/1h)", s);
		return -1;
	}
	for (; p < slash; p++) {
		if (!isdigit((unsigned char)*p) || n > RATE_COUNT_MAX) {
			err_set(err, "\"%.40s\": bad count", s);
			return -1;
		}
		n = n * 10 + (uint64_t)(*p - '0');
	}
	if (n == 0 || n > RATE_COUNT_MAX) {
		err_set(err, "\"%.40s\": count must be 1..%u (or the whole "
		    "rate 0 for none)", s, RATE_COUNT_MAX);
		return -1;
	}
	p = slash + 1;
	if (!isdigit((unsigned char)*p))
		k = 1;			/* "100/h" */
	for (; isdigit((unsigned char)*p); p++) {
		if (k > 100000000u) {
			err_set(err, "\"%.40s\": bad duration", s);
			return -1;
		}
		k = k * 10 + (uint64_t)(*p - '0');
	}
	ulen = strlen(p);
	while (ulen > 0 && isspace((unsigned char)p[ulen - 1]))
		ulen--;
	if (ulen == 0)
		mult = 1000;		/* seconds, as CFG_MS */
	for (size_t i = 0; i < ARRAY_LEN(units) && mult == 0; i++)
		if (strlen(units[i].unit) == ulen &&
		    strncasecmp(units[i].unit, p, ulen) == 0)
			mult = units[i].ms;
	if (mult == 0) {
		err_set(err, "\"%.40s\": unknown unit (ms, s, m, h, d)", s);
		return -1;
	}
	if (k * mult < RATE_WINDOW_MIN_MS || k * mult > RATE_WINDOW_MAX_MS) {
		err_set(err, "\"%.40s\": the window must be 1s..7d", s);
		return -1;
	}
	r->count = n;
	r->window_ms = k * mult;
	return 0;
}

void
rate_fmt(const struct rate *r, char *out, size_t outlen)
{
	if (r->count == 0)
		str_copy(out, outlen, "none");
	else
		str_fmt(out, outlen, "%llu/%llus", (unsigned long long)r->count,
		    (unsigned long long)(r->window_ms / 1000));
}

uint64_t
rate_window_index(uint64_t wall_ms, uint64_t window_ms)
{
	return window_ms ? wall_ms / window_ms : 0;
}

uint64_t
rate_estimate(uint64_t cur, uint64_t prev, uint64_t wall_ms,
    uint64_t window_ms)
{
	uint64_t elapsed, weight;

	if (window_ms == 0)
		return cur;
	/* bounded inputs: the product stays far below 2^64 */
	if (prev > RATE_COUNT_MAX * 100ull)
		prev = RATE_COUNT_MAX * 100ull;
	elapsed = wall_ms % window_ms;
	weight = window_ms - elapsed;
	return cur + (prev * weight) / window_ms;
}

int
rate_exceeded(const struct rate *r, uint64_t cur, uint64_t prev,
    uint64_t wall_ms)
{
	if (r->count == 0)
		return 0;
	return rate_estimate(cur, prev, wall_ms, r->window_ms) > r->count;
}

int
rate_client_net(const struct sockaddr *sa, unsigned v4bits, unsigned v6bits,
    char *out, size_t outlen)
{
	unsigned char a[16];
	char text[INET6_ADDRSTRLEN];
	int family;
	unsigned bits, nbytes;

	if (sa->sa_family == AF_INET) {
		memcpy(a, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		family = AF_INET;
	} else if (sa->sa_family == AF_INET6) {
		const struct in6_addr *in6 =
		    &((const struct sockaddr_in6 *)sa)->sin6_addr;

		if (IN6_IS_ADDR_V4MAPPED(in6)) {
			memcpy(a, in6->s6_addr + 12, 4);
			family = AF_INET;
		} else {
			memcpy(a, in6->s6_addr, 16);
			family = AF_INET6;
		}
	} else
		return -1;
	nbytes = family == AF_INET ? 4 : 16;
	bits = family == AF_INET ? v4bits : v6bits;
	if (bits > nbytes * 8)
		bits = nbytes * 8;
	for (unsigned i = 0; i < nbytes; i++) {
		unsigned have = i * 8 >= bits ? 0 : bits - i * 8;

		if (have < 8)
			a[i] &= (unsigned char)(0xffu << (8 - have));
	}
	inet_ntop(family, a, text, sizeof(text));
	if (bits == nbytes * 8)
		return str_copy(out, outlen, text);
	return str_fmt(out, outlen, "%s/%u", text, bits);
}
