/*
 * rcptcache.c - callout cache keys and values.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "rcptcache.h"
#include "util.h"

static int
lower_into(char *out, size_t outlen, const char *fmt, const char *a,
    size_t alen, const char *b)
{
	if (str_fmt(out, outlen, "%s%.*s%s", fmt, (int)alen, a, b) < 0)
		return -1;
	str_lower(out);
	return 0;
}

int
rcptcache_addr_key(const char *addr, char *out, size_t outlen)
{
	const char *at = strrchr(addr, '@');
	char key[RCPTCACHE_KEY_MAX];

	if (at == NULL || at[1] == '\0' || at == addr)
		return -1;
	if (str_fmt(key, sizeof(key), "co:%s/%.*s", at + 1, (int)(at - addr),
	    addr) < 0)
		return -1;
	str_lower(key);
	return str_copy(out, outlen, key);
}

int
rcptcache_domain_prefix(const char *domain, char *out, size_t outlen)
{
	if (*domain == '\0' || strchr(domain, '/') != NULL)
		return -1;
	return lower_into(out, outlen, "co:", domain, strlen(domain), "/");
}

int
rcptcache_catchall_key(const char *domain, char *out, size_t outlen)
{
	if (*domain == '\0')
		return -1;
	return lower_into(out, outlen, "ca:", domain, strlen(domain), "");
}

size_t
rcptcache_encode(const struct rcptcache_entry *e, char *out, size_t outlen)
{
	char text[RCPTCACHE_TEXT_MAX];
	int k;

	switch (e->kind) {
	case RCACHE_VALID:
		k = snprintf(out, outlen, "V %" PRIu64, e->checked);
		break;
	case RCACHE_CATCHALL:
		k = snprintf(out, outlen, "C %" PRIu64, e->checked);
		break;
	case RCACHE_NOT_CATCHALL:
		k = snprintf(out, outlen, "N %" PRIu64, e->checked);
		break;
	case RCACHE_INVALID:
		/* one printable line */
		str_copy(text, sizeof(text), e->text);
		for (char *p = text; *p; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				*p = ' ';
		k = snprintf(out, outlen, "I %" PRIu64 " %d %s %s", e->checked,
		    e->code >= 500 && e->code <= 599 ? e->code : 550,
		    e->enh[0] ? e->enh : "-", text);
		break;
	default:
		return 0;
	}
	return k < 0 || (size_t)k >= outlen ? 0 : (size_t)k;
}

/* A decimal number of at most 20 digits at *p; advances *p. */
static int
number(const char **p, const char *end, uint64_t *out)
{
	uint64_t v = 0;
	int n = 0;

	while (*p < end && isdigit((unsigned char)**p)) {
		if (++n > 19)
			return -1;
		v = v * 10 + (uint64_t)(**p - '0');
		(*p)++;
	}
	if (n == 0)
		return -1;
	*out = v;
	return 0;
}

enum rcptcache_kind
rcptcache_decode(const char *val, size_t len, struct rcptcache_entry *e)
{
	const char *p = val, *end = val + len;
	uint64_t code;

	memset(e, 0, sizeof(*e));
	if (len < 3 || val[1] != ' ')
		return RCACHE_BAD;
	switch (val[0]) {
	case 'V': e->kind = RCACHE_VALID; break;
	case 'I': e->kind = RCACHE_INVALID; break;
	case 'C': e->kind = RCACHE_CATCHALL; break;
	case 'N': e->kind = RCACHE_NOT_CATCHALL; break;
	default: return RCACHE_BAD;
	}
	p += 2;
	if (number(&p, end, &e->checked) < 0)
		goto bad;
	if (e->kind != RCACHE_INVALID)
		return p == end ? e->kind : (e->kind = RCACHE_BAD);
	if (p == end || *p++ != ' ' || number(&p, end, &code) < 0 ||
	    code < 500 || code > 599 || p == end || *p++ != ' ')
		goto bad;
	e->code = (int)code;
	{
		const char *s = p;

		while (p < end && *p != ' ')
			p++;
		if (p == s || (size_t)(p - s) >= sizeof(e->enh))
			goto bad;
		if (!(p - s == 1 && *s == '-'))
			str_ncopy(e->enh, sizeof(e->enh), s, (size_t)(p - s));
		for (const char *q = s; q < p; q++)
			if (!isdigit((unsigned char)*q) && *q != '.' && *q != '-')
				goto bad;
	}
	if (p < end && *p == ' ')
		p++;
	str_ncopy(e->text, sizeof(e->text), p, (size_t)(end - p));
	for (char *q = e->text; *q; q++)
		if ((unsigned char)*q < 0x20 || *q == 0x7f)
			*q = ' ';
	return e->kind;
bad:
	memset(e, 0, sizeof(*e));
	return RCACHE_BAD;
}
