/*
 * ehlo.c - EHLO capabilities (RFC 5321 4.1.1.1, RFC 1869).
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "ehlo.h"
#include "smtp_reply.h"
#include "util.h"

/* Extensions relayed faithfully only if the backend has them. */
#define EXT_FROM_BACKEND	(EXT_PIPELINING | EXT_8BITMIME | \
	EXT_ENHANCEDSTATUSCODES | EXT_SMTPUTF8 | EXT_DSN)
/* mxguard's own. */
#define EXT_OURS		(EXT_SIZE | EXT_STARTTLS | EXT_CHUNKING)

static const struct {
	const char	*name;
	unsigned	 bit;
} exts[] = {		/* the order of our EHLO reply */
	{ "PIPELINING", EXT_PIPELINING },
	{ "SIZE", EXT_SIZE },
	{ "STARTTLS", EXT_STARTTLS },
	{ "ENHANCEDSTATUSCODES", EXT_ENHANCEDSTATUSCODES },
	{ "8BITMIME", EXT_8BITMIME },
	{ "DSN", EXT_DSN },
	{ "SMTPUTF8", EXT_SMTPUTF8 },
	{ "CHUNKING", EXT_CHUNKING },
	{ "BINARYMIME", EXT_BINARYMIME },
	{ "XCLIENT", EXT_XCLIENT },
	{ "XFORWARD", EXT_XFORWARD },
	{ "AUTH", EXT_AUTH },
};

void
ehlo_parse(const struct reply *r, struct ehlo_caps *out)
{
	memset(out, 0, sizeof(*out));
	if (r->code != 250)
		return;
	for (size_t i = 1; i < r->nlines; i++) {
		const char *l = r->lines[i];
		size_t kw = strcspn(l, " =");

		for (size_t j = 0; j < ARRAY_LEN(exts); j++) {
			if (strlen(exts[j].name) != kw ||
			    strncasecmp(l, exts[j].name, kw) != 0)
				continue;
			out->ext |= exts[j].bit;
			if (exts[j].bit == EXT_SIZE && l[kw] == ' ') {
				unsigned long long v = 0;
				const char *p = l + kw + 1;

				for (; isdigit((unsigned char)*p); p++) {
					unsigned d = (unsigned)(*p - '0');

					/* too big: no limit, not a prefix of it */
					if (v > (~0ull - d) / 10) {
						v = ~0ull;
						break;
					}
					v = v * 10 + d;
				}
				out->size = v;
			} else if (exts[j].bit == EXT_XCLIENT && l[kw] == ' ')
				str_copy(out->xclient, sizeof(out->xclient),
				    l + kw + 1);
		}
	}
}

unsigned
ehlo_offer(const struct ehlo_caps *b, const struct ehlo_policy *p,
    uint64_t *size)
{
	unsigned offer = (b->ext & EXT_FROM_BACKEND & p->want) |
	    (p->want & EXT_OURS);

	*size = p->max_size;
	if ((b->ext & EXT_SIZE) && b->size != 0 && b->size < *size)
		*size = b->size;
	return offer;
}

size_t
ehlo_format(char *out, size_t outlen, const char *hostname, unsigned offer,
    uint64_t size)
{
	const char *names[ARRAY_LEN(exts)];
	size_t n = 0, o = 0;
	char sizebuf[40];
	int k;

	for (size_t j = 0; j < ARRAY_LEN(exts); j++)
		if (offer & exts[j].bit) {
			if (exts[j].bit == EXT_SIZE && size > 0) {
				snprintf(sizebuf, sizeof(sizebuf), "SIZE %llu",
				    (unsigned long long)size);
				names[n++] = sizebuf;
			} else
				names[n++] = exts[j].name;
		}
	k = snprintf(out, outlen, "250%c%s\r\n", n ? '-' : ' ', hostname);
	if (k < 0 || (size_t)k >= outlen)
		return 0;
	o = (size_t)k;
	for (size_t i = 0; i < n; i++) {
		k = snprintf(out + o, outlen - o, "250%c%s\r\n",
		    i + 1 < n ? '-' : ' ', names[i]);
		if (k < 0 || (size_t)k >= outlen - o)
			return 0;
		o += (size_t)k;
	}
	return o;
}

int
ehlo_xclient_has(const struct ehlo_caps *c, const char *attr)
{
	const char *p = c->xclient;
	size_t n = strlen(attr);

	if (!(c->ext & EXT_XCLIENT))
		return 0;
	while (*p) {
		size_t k = strcspn(p, " ");

		if (k == n && strncasecmp(p, attr, n) == 0)
			return 1;
		p += k;
		while (*p == ' ')
			p++;
	}
	return 0;
}
