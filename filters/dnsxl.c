/*
 * dnsxl.c - postscreen_dnsbl_sites syntax, reply filters and scoring.
 *
 * The reply-filter grammar and its error messages follow Postfix's
 * ip_match(3) (src/util/ip_match.c), so Postfix's own test table
 * (ip_match.in/.ref) checks us byte for byte; the code is ours: each field
 * compiles to a 256-bit set of allowed octets.
 */
#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../proxy/util.h"
#include "dnsxl.h"

#define PATTERN_TEXT_MAX	150
#define TOK_NUM			256	/* a number 0..255 */
#define TOK_ERR			257	/* a number above 255 */

/* ---- ip_match patterns ------------------------------------------------ */

/* One token: a number, or one character (0 at the end). */
static int
next_token(const char **cp, const char **saved, int *oval)
{
	const char *p = *cp;
	int v, type;

	*saved = p;
	if (isdigit((unsigned char)*p)) {
		v = 0;
		type = TOK_NUM;
		for (; isdigit((unsigned char)*p); p++) {
			if (v <= 255)
				v = v * 10 + (*p - '0');
			if (v > 255)
				type = TOK_ERR;
		}
		*oval = v;
		*cp = p;
		return type;
	}
	*cp = *p ? p + 1 : p;
	return (unsigned char)*p;
}

/* "msg at "start>here<next"", as ip_match prints it. */
static void
parse_error(char *err, size_t errlen, const char *start, const char *here,
    const char *next, const char *msg)
{
	if (start == NULL)
		str_copy(err, errlen, msg);
	else
		str_fmt(err, errlen, "%s at \"%.*s>%.*s<%s\"", msg,
		    (int)(here - start), start, (int)(next - here), here, next);
}

/* Appends to the canonical text: a number, a range, or a literal. */
static void
code_add(struct dnsxl_pattern *p, const char *lit, int a, int b)
{
	size_t n = strlen(p->code);

	if (lit != NULL)
		snprintf(p->code + n, sizeof(p->code) - n, "%s", lit);
	else if (b < 0)
		snprintf(p->code + n, sizeof(p->code) - n, "%d", a);
	else
		snprintf(p->code + n, sizeof(p->code) - n, "%d..%d", a, b);
}

static void
set_range(unsigned char *bits, int lo, int hi)
{
	for (int v = lo; v <= hi; v++)
		bits[v >> 3] |= (unsigned char)(1u << (v & 7));
}

int
dnsxl_pattern_parse(const char *text, struct dnsxl_pattern *p, char *err,
    size_t errlen)
{
	char buf[PATTERN_TEXT_MAX + 1];
	const char *cp, *saved, *pattern;
	int fields = 0, tok, oval = 0;

	memset(p, 0, sizeof(*p));
	if (strlen(text) > PATTERN_TEXT_MAX) {
		str_fmt(err, errlen, "address pattern longer than %d bytes",
		    PATTERN_TEXT_MAX);
		return -1;
	}
	str_copy(buf, sizeof(buf), text);
	pattern = buf;
	/* [ ] around the whole pattern are dropped */
	if (buf[0] == '[') {
		int level = 1;
		char *t;

		for (t = buf + 1; *t; t++) {
			if (*t == '[')
				level++;
			if (*t == ']' && --level == 0)
				break;
		}
		if (*t == '\0') {
			str_copy(err, errlen, "missing \"]\" character");
			return -1;
		}
		if (t[1] == '\0') {
			*t = '\0';
			pattern = buf + 1;
		}
	}
	if (*pattern == '\0') {
		str_copy(err, errlen, "empty address pattern");
		return -1;
	}
	cp = pattern;
	for (;;) {
		unsigned char *bits = p->bits[fields];

		tok = next_token(&cp, &saved, &oval);
		if (tok == TOK_NUM) {
			set_range(bits, oval, oval);
			code_add(p, NULL, oval, -1);
		} else if (tok == '[') {
			code_add(p, "[", 0, 0);
			for (int first = 1;; first = 0) {
				int lo, look;

				tok = next_token(&cp, &saved, &oval);
				if (tok != TOK_NUM) {
					parse_error(err, errlen, pattern, saved,
					    cp, "need decimal number 0..255");
					return -1;
				}
				lo = oval;
				look = next_token(&cp, &saved, &oval);
				if (!first)
					code_add(p, ";", 0, 0);
				if (look == '.') {
					if (next_token(&cp, &saved, &oval) != '.' ||
					    next_token(&cp, &saved, &oval) !=
					    TOK_NUM || lo > oval) {
						parse_error(err, errlen, pattern,
						    saved, cp, "numeric range error");
						return -1;
					}
					set_range(bits, lo, oval);
					code_add(p, NULL, lo, oval);
					look = next_token(&cp, &saved, &oval);
				} else {
					set_range(bits, lo, lo);
					code_add(p, NULL, lo, -1);
				}
				if (look == ';')
					continue;
				if (look == ']')
					break;
				parse_error(err, errlen, pattern, saved, cp,
				    "need \";\" or \"]\"");
				return -1;
			}
			code_add(p, "]", 0, 0);
		} else {
			parse_error(err, errlen, pattern, saved, cp,
			    "need decimal number 0..255 or \"[\"");
			return -1;
		}
		if (++fields == 4) {
			if (*cp != '\0') {
				(void)next_token(&cp, &saved, &oval);
				parse_error(err, errlen, pattern, saved, cp,
				    "garbage after pattern");
				return -1;
			}
			return 0;
		}
		if (next_token(&cp, &saved, &oval) != '.') {
			parse_error(err, errlen, pattern, saved, cp,
			    "need \".\"");
			return -1;
		}
		code_add(p, ".", 0, 0);
	}
}

int
dnsxl_pattern_match(const struct dnsxl_pattern *p, const struct in_addr *a)
{
	const unsigned char *b = (const unsigned char *)&a->s_addr;

	for (int i = 0; i < 4; i++)
		if (!(p->bits[i][b[i] >> 3] & (1u << (b[i] & 7))))
			return 0;
	return 1;
}

/* ---- site lists ------------------------------------------------------- */

/* A DNS zone name as Postfix's valid_hostname() takes it. */
static int
zone_valid(const char *z)
{
	size_t n = strlen(z), label = 0;

	if (n == 0 || n > 253)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = z[i];

		if (c == '.') {
			if (label == 0 || z[i - 1] == '-')
				return 0;
			label = 0;
			continue;
		}
		if (!isalnum((unsigned char)c) && c != '-' && c != '_')
			return 0;
		if (c == '-' && label == 0)
			return 0;
		if (++label > 63)
			return 0;
	}
	return z[n - 1] != '-';
}

int
dnsxl_sites_add(struct dnsxl_sites *s, const char *item, char *err,
    size_t errlen)
{
	char *copy, *star, *eq;
	struct dnsxl_entry e;
	size_t n;

	memset(&e, 0, sizeof(e));
	e.weight = 1;
	if (s->n >= DNSXL_ENTRIES_MAX) {
		str_fmt(err, errlen, "more than %d sites", DNSXL_ENTRIES_MAX);
		return -1;
	}
	if (strlen(item) > 512) {
		str_copy(err, errlen, "site longer than 512 bytes");
		return -1;
	}
	copy = xstrdup(item);
	if ((star = strchr(copy, '*')) != NULL) {
		char *end;
		long w;

		*star++ = '\0';
		errno = 0;
		w = strtol(star, &end, 10);
		if (star[0] == '\0' || isspace((unsigned char)star[0]) ||
		    *end != '\0' || errno != 0 || w > DNSXL_WEIGHT_MAX ||
		    w < -DNSXL_WEIGHT_MAX) {
			str_fmt(err, errlen, "bad DNSBL weight factor \"%s\" in "
			    "\"%s\"", star, item);
			free(copy);
			return -1;
		}
		e.weight = (int)w;
	}
	if ((eq = strchr(copy, '=')) != NULL) {
		char perr[DNSXL_ERR_MAX];

		*eq++ = '\0';
		if (dnsxl_pattern_parse(eq, &e.filter, perr, sizeof(perr)) < 0) {
			str_fmt(err, errlen, "bad DNSBL filter syntax: %s", perr);
			free(copy);
			return -1;
		}
		e.has_filter = 1;
	}
	n = strlen(copy);
	if (n > 0 && copy[n - 1] == '.')
		copy[--n] = '\0';
	if (!zone_valid(copy)) {
		str_fmt(err, errlen, "bad DNSBL domain name \"%s\" in \"%s\"",
		    copy, item);
		free(copy);
		return -1;
	}
	str_lower(copy);
	for (e.zone = 0; e.zone < s->nzones; e.zone++)
		if (strcmp(s->zones[e.zone], copy) == 0)
			break;
	if (e.zone == s->nzones) {
		s->zones = xrealloc(s->zones, (s->nzones + 1) * sizeof(char *));
		s->zones[s->nzones++] = copy;
	} else
		free(copy);
	e.text = xstrdup(item);
	s->e = xrealloc(s->e, (s->n + 1) * sizeof(*s->e));
	s->e[s->n++] = e;
	return 0;
}

void
dnsxl_sites_free(struct dnsxl_sites *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->e[i].text);
	for (size_t i = 0; i < s->nzones; i++)
		free(s->zones[i]);
	free(s->e);
	free(s->zones);
	memset(s, 0, sizeof(*s));
}

/* ---- answers and scores ----------------------------------------------- */

enum dnsxl_zone_state
dnsxl_classify(const struct in_addr *a, size_t n,
    const struct dnsxl_pattern *errors, size_t nerrors, struct in_addr *out,
    size_t *nout, size_t *invalid)
{
	*nout = 0;
	*invalid = 0;
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < nerrors; k++)
			if (dnsxl_pattern_match(&errors[k], &a[i]))
				return DNSXL_ZONE_ERROR;
	for (size_t i = 0; i < n; i++) {
		const unsigned char *b = (const unsigned char *)&a[i].s_addr;

		if (b[0] == 127)
			out[(*nout)++] = a[i];
		else
			(*invalid)++;
	}
	return DNSXL_ZONE_ANSWERED;
}

void
dnsxl_score(const struct dnsxl_sites *s, const struct dnsxl_answer *answers,
    struct dnsxl_score *out)
{
	int neg = 0, pos = 0;

	memset(out, 0, sizeof(*out));
	out->best_zone = -1;
	for (size_t z = 0; z < s->nzones; z++) {
		if (answers[z].state == DNSXL_ZONE_PENDING)
			out->pending++;
		else if (answers[z].state == DNSXL_ZONE_ERROR)
			out->errors++;
	}
	for (size_t i = 0; i < s->n; i++) {
		const struct dnsxl_entry *e = &s->e[i];
		const struct dnsxl_answer *an = &answers[e->zone];
		int hit = 0;

		if (an->state != DNSXL_ZONE_ANSWERED) {
			/* unknown: it could add its weight or not */
			if (e->weight > 0)
				pos += e->weight;
			else
				neg += e->weight;
			continue;
		}
		for (size_t k = 0; k < an->n && !hit; k++)
			hit = !e->has_filter ||
			    dnsxl_pattern_match(&e->filter, &an->a[k]);
		if (!hit)
			continue;
		out->score += e->weight;
		out->matched++;
		/* the name shown is the largest contribution (postscreen) */
		if (out->best_zone < 0 || e->weight > out->best_weight) {
			out->best_zone = (long)e->zone;
			out->best_weight = e->weight;
		}
	}
	out->min = out->score + neg;
	out->max = out->score + pos;
}

enum dnsxl_decision
dnsxl_decide(const struct dnsxl_score *sc, int threshold, int allow_threshold)
{
	if (sc->min >= threshold)
		return DNSXL_LISTED;
	if (allow_threshold < 0 && sc->max <= allow_threshold)
		return DNSXL_ALLOWED;
	if (sc->max < threshold && (allow_threshold >= 0 ||
	    sc->min > allow_threshold))
		return DNSXL_CLEAN;
	return DNSXL_UNDECIDED;
}

int
dnsxl_query_name(const char *key, const char *zone, char *out, size_t outlen)
{
	size_t k = strlen(key);

	if (k > 0 && key[k - 1] == '.')
		k--;
	if (k == 0 || k + 1 + strlen(zone) > 253)
		return -1;
	return str_fmt(out, outlen, "%.*s.%s", (int)k, key, zone) < 0 ? -1 : 0;
}

/* ---- main.cf and reply templates -------------------------------------- */

char *
dnsxl_maincf_value(const char *text, size_t len, const char *name)
{
	size_t pos = 0, nlen = strlen(name);
	char *val = NULL;
	size_t vlen = 0;
	int in = 0;

	while (pos < len) {
		const char *l = text + pos, *nl = memchr(l, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - l) : len - pos, j = 0;

		pos += n + (nl != NULL);
		if (n > 0 && l[n - 1] == '\r')
			n--;
		while (j < n && isspace((unsigned char)l[j]))
			j++;
		if (j == n || l[j] == '#')
			continue;		/* blank and comment lines */
		if (j > 0) {			/* continuation */
			if (in) {
				val = xrealloc(val, vlen + 1 + (n - j) + 1);
				val[vlen++] = ' ';
				memcpy(val + vlen, l + j, n - j);
				vlen += n - j;
				val[vlen] = '\0';
			}
			continue;
		}
		in = 0;
		if (n > nlen && strncmp(l, name, nlen) == 0) {
			size_t k = nlen;

			while (k < n && (l[k] == ' ' || l[k] == '\t'))
				k++;
			if (k < n && l[k] == '=') {
				k++;
				while (k < n && isspace((unsigned char)l[k]))
					k++;
				free(val);	/* the last setting wins */
				vlen = n - k;
				val = xmalloc(vlen + 1);
				memcpy(val, l + k, vlen);
				val[vlen] = '\0';
				in = 1;
			}
		}
	}
	return val;
}

int
dnsxl_expand(const char *tmpl, const char *const *vars, char *out,
    size_t outlen, char *err, size_t errlen)
{
	size_t o = 0;

	if (outlen == 0)
		return -1;
	for (const char *p = tmpl; *p; p++) {
		const char *v = NULL;

		if (*p == '$' && p[1] == '$') {
			v = "$";
			p++;
		} else if (*p == '$') {
			const char *nm = p + 1, *end;
			int brace = *nm == '{';
			size_t k;

			if (brace)
				nm++;
			for (end = nm; isalnum((unsigned char)*end) ||
			    *end == '_'; end++)
				;
			if (end == nm || (brace && *end != '}')) {
				str_fmt(err, errlen, "bad variable at \"%.20s\"",
				    p);
				return -1;
			}
			for (k = 0; vars[k] != NULL; k += 2)
				if (strlen(vars[k]) == (size_t)(end - nm) &&
				    strncmp(vars[k], nm, (size_t)(end - nm)) == 0)
					break;
			if (vars[k] == NULL) {
				str_fmt(err, errlen, "unknown variable \"$%.*s\"",
				    (int)(end - nm), nm);
				return -1;
			}
			v = vars[k + 1];
			p = brace ? end : end - 1;
		}
		if (v == NULL) {
			if (o + 1 >= outlen)
				goto toolong;
			out[o++] = (unsigned char)*p >= 0x20 &&
			    (unsigned char)*p < 0x7f ? *p : '?';
			continue;
		}
		for (; *v; v++) {
			if (o + 1 >= outlen)
				goto toolong;
			out[o++] = (unsigned char)*v >= 0x20 &&
			    (unsigned char)*v < 0x7f ? *v : '?';
		}
	}
	out[o] = '\0';
	return 0;
toolong:
	out[o] = '\0';
	str_copy(err, errlen, "text too long");
	return -1;
}
