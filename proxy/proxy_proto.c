/*
 * proxy_proto.c - PROXY protocol v1 and v2.
 */
#include <sys/types.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy_proto.h"

static const uint8_t v2sig[12] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a
};

int
proxy_looks_like(const uint8_t *buf, size_t len)
{
	size_t n;

	n = len < 6 ? len : 6;
	if (memcmp(buf, "PROXY ", n) == 0)
		return 1;
	n = len < sizeof(v2sig) ? len : sizeof(v2sig);
	return memcmp(buf, v2sig, n) == 0;
}

/* Parses a decimal port 0..65535 without leading zeros or signs. */
static int
parse_port(const char *s, uint16_t *out)
{
	unsigned long v = 0;
	size_t n = strlen(s);

	if (n == 0 || n > 5 || (n > 1 && s[0] == '0'))
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > 65535)
		return -1;
	*out = (uint16_t)v;
	return 0;
}

static int
fill(struct sockaddr_storage *ss, int family, const char *addr, uint16_t port)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		if (inet_pton(AF_INET, addr, &sin->sin_addr) != 1)
			return -1;
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		if (inet_pton(AF_INET6, addr, &sin6->sin6_addr) != 1)
			return -1;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
	}
	return 0;
}

static enum proxy_result
parse_v1(const uint8_t *buf, size_t len, struct proxy_info *out, size_t *used)
{
	char line[PROXY_V1_MAX + 1], *f[6], *p;
	const uint8_t *lf;
	size_t n, nf = 0;
	uint16_t sport, dport;
	int family;

	lf = memchr(buf, '\n', len < PROXY_V1_MAX ? len : PROXY_V1_MAX);
	if (lf == NULL) {
		if (len >= PROXY_V1_MAX) {
			out->why = "v1 header too long";
			return PROXY_BAD;
		}
		return PROXY_INCOMPLETE;
	}
	n = (size_t)(lf - buf);
	if (n == 0 || buf[n - 1] != '\r') {
		out->why = "v1 header not ended by CRLF";
		return PROXY_BAD;
	}
	memcpy(line, buf, n - 1);
	line[n - 1] = '\0';
	*used = n + 1;
	out->version = 1;
	for (p = line; nf < 6; ) {
		f[nf++] = p;
		p = strchr(p, ' ');
		if (p == NULL)
			break;
		*p++ = '\0';
	}
	if (p != NULL && nf == 6) {
		out->why = "v1 header has too many fields";
		return PROXY_BAD;
	}
	if (nf >= 2 && strcmp(f[1], "UNKNOWN") == 0) {
		out->src.ss_family = out->dst.ss_family = AF_UNSPEC;
		return PROXY_OK;
	}
	if (nf != 6) {
		out->why = "v1 header needs 6 fields";
		return PROXY_BAD;
	}
	if (strcmp(f[1], "TCP4") == 0)
		family = AF_INET;
	else if (strcmp(f[1], "TCP6") == 0)
		family = AF_INET6;
	else {
		out->why = "v1 protocol is not TCP4, TCP6 or UNKNOWN";
		return PROXY_BAD;
	}
	if (parse_port(f[4], &sport) < 0 || parse_port(f[5], &dport) < 0 ||
	    fill(&out->src, family, f[2], sport) < 0 ||
	    fill(&out->dst, family, f[3], dport) < 0) {
		out->why = "v1 bad address or port";
		return PROXY_BAD;
	}
	return PROXY_OK;
}

static enum proxy_result
parse_v2(const uint8_t *buf, size_t len, struct proxy_info *out, size_t *used)
{
	size_t alen;
	uint8_t ver_cmd, fam;

	if (len < 16)
		return PROXY_INCOMPLETE;
	ver_cmd = buf[12];
	fam = buf[13];
	alen = ((size_t)buf[14] << 8) | buf[15];
	out->version = 2;
	if ((ver_cmd >> 4) != 2) {
		out->why = "v2 bad version";
		return PROXY_BAD;
	}
	if (alen > PROXY_V2_MAX) {
		out->why = "v2 header too long";
		return PROXY_BAD;
	}
	if (len < 16 + alen)
		return PROXY_INCOMPLETE;
	*used = 16 + alen;
	switch (ver_cmd & 0x0f) {
	case 0x0:			/* LOCAL: health check, own addresses */
		out->src.ss_family = out->dst.ss_family = AF_UNSPEC;
		return PROXY_OK;
	case 0x1:			/* PROXY */
		break;
	default:
		out->why = "v2 bad command";
		return PROXY_BAD;
	}
	switch (fam) {
	case 0x11: {			/* TCP over IPv4 */
		struct sockaddr_in *s = (struct sockaddr_in *)&out->src;
		struct sockaddr_in *d = (struct sockaddr_in *)&out->dst;

		if (alen < 12) {
			out->why = "v2 IPv4 addresses truncated";
			return PROXY_BAD;
		}
		memset(&out->src, 0, sizeof(out->src));
		memset(&out->dst, 0, sizeof(out->dst));
		s->sin_family = d->sin_family = AF_INET;
		memcpy(&s->sin_addr, buf + 16, 4);
		memcpy(&d->sin_addr, buf + 20, 4);
		memcpy(&s->sin_port, buf + 24, 2);
		memcpy(&d->sin_port, buf + 26, 2);
		return PROXY_OK;
	}
	case 0x21: {			/* TCP over IPv6 */
		struct sockaddr_in6 *s = (struct sockaddr_in6 *)&out->src;
		struct sockaddr_in6 *d = (struct sockaddr_in6 *)&out->dst;

		if (alen < 36) {
			out->why = "v2 IPv6 addresses truncated";
			return PROXY_BAD;
		}
		memset(&out->src, 0, sizeof(out->src));
		memset(&out->dst, 0, sizeof(out->dst));
		s->sin6_family = d->sin6_family = AF_INET6;
		memcpy(&s->sin6_addr, buf + 16, 16);
		memcpy(&d->sin6_addr, buf + 32, 16);
		memcpy(&s->sin6_port, buf + 48, 2);
		memcpy(&d->sin6_port, buf + 50, 2);
		return PROXY_OK;
	}
	case 0x00:			/* UNSPEC */
		out->src.ss_family = out->dst.ss_family = AF_UNSPEC;
		return PROXY_OK;
	default:
		out->why = "v2 transport is not TCP";
		return PROXY_BAD;
	}
}

enum proxy_result
proxy_parse(const uint8_t *buf, size_t len, struct proxy_info *out,
    size_t *used)
{
	memset(out, 0, sizeof(*out));
	*used = 0;
	if (len == 0)
		return PROXY_INCOMPLETE;
	if (!proxy_looks_like(buf, len))
		return PROXY_NONE;
	if (buf[0] == 'P') {
		if (len < 6)
			return PROXY_INCOMPLETE;
		return parse_v1(buf, len, out, used);
	}
	if (len < sizeof(v2sig))
		return PROXY_INCOMPLETE;
	return parse_v2(buf, len, out, used);
}

size_t
proxy_build_v1(char *out, size_t outlen, const struct sockaddr *src,
    const struct sockaddr *dst)
{
	char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];
	unsigned sp, dp;
	int n;

	if (src->sa_family != dst->sa_family)
		return 0;
	if (src->sa_family == AF_INET) {
		const struct sockaddr_in *s = (const void *)src, *d = (const void *)dst;

		inet_ntop(AF_INET, &s->sin_addr, a, sizeof(a));
		inet_ntop(AF_INET, &d->sin_addr, b, sizeof(b));
		sp = ntohs(s->sin_port);
		dp = ntohs(d->sin_port);
	} else if (src->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s = (const void *)src, *d = (const void *)dst;

		inet_ntop(AF_INET6, &s->sin6_addr, a, sizeof(a));
		inet_ntop(AF_INET6, &d->sin6_addr, b, sizeof(b));
		sp = ntohs(s->sin6_port);
		dp = ntohs(d->sin6_port);
	} else
		return 0;
	n = snprintf(out, outlen, "PROXY %s %s %s %u %u\r\n",
	    src->sa_family == AF_INET ? "TCP4" : "TCP6", a, b, sp, dp);
	return n > 0 && (size_t)n < outlen ? (size_t)n : 0;
}

size_t
proxy_build_v2(uint8_t *out, size_t outlen, const struct sockaddr *src,
    const struct sockaddr *dst)
{
	size_t alen;

	if (src->sa_family != dst->sa_family)
		return 0;
	alen = src->sa_family == AF_INET ? 12 : src->sa_family == AF_INET6 ?
	    36 : 0;
	if (alen == 0 || outlen < 16 + alen)
		return 0;
	memcpy(out, v2sig, sizeof(v2sig));
	out[12] = 0x21;				/* version 2, PROXY */
	out[13] = src->sa_family == AF_INET ? 0x11 : 0x21;
	out[14] = 0;
	out[15] = (uint8_t)alen;
	if (src->sa_family == AF_INET) {
		const struct sockaddr_in *s = (const void *)src, *d = (const void *)dst;

		memcpy(out + 16, &s->sin_addr, 4);
		memcpy(out + 20, &d->sin_addr, 4);
		memcpy(out + 24, &s->sin_port, 2);
		memcpy(out + 26, &d->sin_port, 2);
	} else {
		const struct sockaddr_in6 *s = (const void *)src, *d = (const void *)dst;

		memcpy(out + 16, &s->sin6_addr, 16);
		memcpy(out + 32, &d->sin6_addr, 16);
		memcpy(out + 48, &s->sin6_port, 2);
		memcpy(out + 50, &d->sin6_port, 2);
	}
	return 16 + alen;
}
