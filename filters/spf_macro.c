/*
 * spf_macro.c - RFC 7208 macro expansion and the record rewrite that keeps
 * libspf2's macro code out of reach (see spf_macro.h).
 */
#include <arpa/inet.h>
#include <sys/socket.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../proxy/util.h"
#include "spf_macro.h"

#define PARTS_MAX	128	/* a 253-byte value has at most 127 dots */
#define DIGITS_CAP	PARTS_MAX

struct obuf {
	char	*p;
	size_t	 len, size;
	int	 full;
};

static void
out_byte(struct obuf *o, char c)
{
	if (o->len + 1 >= o->size) {
		o->full = 1;
		return;
	}
	o->p[o->len++] = c;
}

static void
out_bytes(struct obuf *o, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		out_byte(o, s[i]);
}

/* RFC 3986 unreserved: ALPHA DIGIT - . _ ~ (7.3: uppercase macros). */
static int
unreserved(unsigned char c)
{
	return isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

static const char *
letter_value(const struct spf_macro_ctx *ctx, int letter)
{
	const char *v = NULL;

	switch (letter) {
	case 's': v = ctx->sender; break;
	case 'l': v = ctx->local; break;
	case 'o': v = ctx->sender_domain; break;
	case 'd': v = ctx->domain; break;
	case 'i': v = ctx->ip; break;
	case 'v': v = ctx->ip_version; break;
	case 'h': v = ctx->helo; break;
	case 'c': v = ctx->ip_readable; break;
	case 'r': v = ctx->receiver; break;
	case 't': v = ctx->timestamp; break;
	case 'p':
		v = ctx->validated ? ctx->validated(ctx->arg, ctx->domain) :
		    NULL;
		if (v == NULL)
			v = "unknown";
		break;
	}
	return v ? v : "";
}

/*
 * One %{...}: split the value at the delimiters, reverse if asked, keep
 * the rightmost 'digits' parts, join with dots (7.3).
 */
static void
expand_one(struct obuf *o, const char *value, const char *delims,
    int reverse, unsigned digits, int escape)
{
	const char *part[PARTS_MAX];
	size_t plen[PARTS_MAX], n = 0, first;
	const char *p = value, *start = value;

	for (;; p++) {
		if (*p == '\0' || strchr(delims, *p) != NULL) {
			if (n < PARTS_MAX) {
				part[n] = start;
				plen[n] = (size_t)(p - start);
				n++;
			}
			if (*p == '\0')
				break;
			start = p + 1;
		}
	}
	if (reverse)
		for (size_t i = 0; i < n / 2; i++) {
			const char *t = part[i];
			size_t tl = plen[i];

			part[i] = part[n - 1 - i];
			plen[i] = plen[n - 1 - i];
			part[n - 1 - i] = t;
			plen[n - 1 - i] = tl;
		}
	first = digits > 0 && digits < n ? n - digits : 0;
	for (size_t i = first; i < n; i++) {
		if (i > first)
			out_byte(o, '.');
		for (size_t k = 0; k < plen[i]; k++) {
			unsigned char c = (unsigned char)part[i][k];

			if (escape && !unreserved(c)) {
				char hex[4];

				snprintf(hex, sizeof(hex), "%%%02X", c);
				out_bytes(o, hex, 3);
			} else
				out_byte(o, (char)c);
		}
	}
}

enum spf_macro_rc
spf_macro_expand(const char *in, size_t len, enum spf_macro_mode mode,
    const struct spf_macro_ctx *ctx, char *out, size_t outsize,
    size_t *outlen_out)
{
	struct obuf o = { out, 0, outsize, 0 };
	size_t i = 0;

	if (outsize == 0)
		return SPF_MACRO_TOO_LONG;
	while (i < len) {
		unsigned char c = (unsigned char)in[i];

		if (c != '%') {
			/* macro-literal = %x21-24 / %x26-7E; SP in explain */
			if (!(c >= 0x21 && c <= 0x7e) && !(c == ' ' &&
			    mode == SPF_MACRO_EXPLAIN))
				return SPF_MACRO_SYNTAX;
			out_byte(&o, (char)c);
			i++;
			continue;
		}
		if (i + 1 >= len)
			return SPF_MACRO_SYNTAX;
		switch (in[i + 1]) {
		case '%':
			out_byte(&o, '%');
			i += 2;
			continue;
		case '_':
			out_byte(&o, ' ');
			i += 2;
			continue;
		case '-':
			out_bytes(&o, "%20", 3);
			i += 2;
			continue;
		case '{':
			break;
		default:
			return SPF_MACRO_SYNTAX;
		}
		i += 2;
		{
			int letter, upper, reverse = 0;
			unsigned digits = 0;
			char delims[8];
			size_t nd = 0;
			int have_digits = 0;

			if (i >= len)
				return SPF_MACRO_SYNTAX;
			letter = tolower((unsigned char)in[i]);
			upper = isupper((unsigned char)in[i]);
			if (strchr("slodiphv", letter) == NULL &&
			    !(mode == SPF_MACRO_EXPLAIN &&
			    strchr("crt", letter) != NULL))
				return SPF_MACRO_SYNTAX;
			if (!isalpha((unsigned char)in[i]))
				return SPF_MACRO_SYNTAX;
			i++;
			while (i < len && isdigit((unsigned char)in[i])) {
				have_digits = 1;
				if (digits < DIGITS_CAP)
					digits = digits * 10 +
					    (unsigned)(in[i] - '0');
				i++;
			}
			if (have_digits && digits == 0)
				return SPF_MACRO_SYNTAX;	/* 7.1 */
			if (i < len && (in[i] == 'r' || in[i] == 'R')) {
				reverse = 1;
				i++;
			}
			while (i < len && strchr(".-+,/_=", in[i]) != NULL &&
			    in[i] != '\0') {
				if (nd < sizeof(delims) - 1 &&
				    memchr(delims, in[i], nd) == NULL)
					delims[nd++] = in[i];
				i++;
			}
			if (i >= len || in[i] != '}')
				return SPF_MACRO_SYNTAX;
			i++;
			if (nd == 0)
				delims[nd++] = '.';
			delims[nd] = '\0';
			expand_one(&o, letter_value(ctx, letter), delims,
			    reverse, digits, upper);
		}
	}
	if (o.full) {
		out[o.len] = '\0';
		return SPF_MACRO_TOO_LONG;
	}
	out[o.len] = '\0';
	*outlen_out = o.len;
	return SPF_MACRO_OK;
}

/* toplabel = ( *alphanum ALPHA *alphanum ) /
 *            ( 1*alphanum "-" *( alphanum / "-" ) alphanum ) */
static int
toplabel(const char *s, size_t n)
{
	int alpha = 0, dash = 0;

	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (isalpha((unsigned char)s[i]))
			alpha = 1;
		else if (s[i] == '-')
			dash = 1;
		else if (!isdigit((unsigned char)s[i]))
			return 0;
	}
	if (!dash)
		return alpha;
	return isalnum((unsigned char)s[0]) && isalnum((unsigned char)s[n - 1]);
}

int
spf_domain_end_valid(const char *spec, size_t len)
{
	size_t i = 0, last_macro_end = (size_t)-1, dot;

	/* find where the last macro-expand ends */
	while (i < len) {
		if (spec[i] != '%') {
			i++;
			continue;
		}
		if (i + 1 < len && (spec[i + 1] == '%' || spec[i + 1] == '_' ||
		    spec[i + 1] == '-')) {
			i += 2;
			last_macro_end = i;
			continue;
		}
		if (i + 1 < len && spec[i + 1] == '{') {
			const char *close = memchr(spec + i, '}', len - i);

			if (close == NULL)
				return 0;
			i = (size_t)(close - spec) + 1;
			last_macro_end = i;
			continue;
		}
		return 0;
	}
	if (last_macro_end == len)
		return 1;
	/* "." toplabel [ "." ] */
	if (len > 0 && spec[len - 1] == '.')
		len--;
	for (dot = len; dot > 0 && spec[dot - 1] != '.'; dot--)
		;
	if (dot == 0 || (last_macro_end != (size_t)-1 && dot <
	    last_macro_end))
		return 0;
	return toplabel(spec + dot, len - dot);
}

int
spf_domain_finish(const char *raw, size_t len, char *out, size_t outsize)
{
	size_t o = 0;

	if (len > 0 && raw[len - 1] == '.')
		len--;
	/* 7.3: remove whole labels from the left until it fits */
	while (len > SPF_DOMAIN_MAX) {
		const char *dot = memchr(raw, '.', len);

		if (dot == NULL) {
			len = 0;	/* one huge label: nothing is left */
			break;
		}
		len -= (size_t)(dot - raw) + 1;
		raw = dot + 1;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)raw[i];

		if (c <= 0x20 || c >= 0x7f || c == '%' || c == '\\') {
			if (o + 5 > outsize)
				return -1;
			snprintf(out + o, 5, "\\%03u", c);
			o += 4;
		} else {
			if (o + 2 > outsize)
				return -1;
			out[o++] = (char)c;
		}
	}
	if (o + 1 > outsize)
		return -1;
	out[o] = '\0';
	return 0;
}

size_t
spf_domain_unescape(const char *in, char *out, size_t outsize)
{
	size_t o = 0;

	if (outsize == 0)
		return 0;
	for (size_t i = 0; in[i] != '\0' && o + 1 < outsize; i++) {
		if (in[i] == '\\' && isdigit((unsigned char)in[i + 1]) &&
		    isdigit((unsigned char)in[i + 2]) &&
		    isdigit((unsigned char)in[i + 3])) {
			int v = (in[i + 1] - '0') * 100 + (in[i + 2] - '0') * 10 +
			    (in[i + 3] - '0');

			out[o++] = (char)(v & 0xff);
			i += 3;
		} else if (in[i] == '\\' && in[i + 1] != '\0') {
			out[o++] = in[++i];
		} else
			out[o++] = in[i];
	}
	out[o] = '\0';
	return o;
}

/* ---- the record rewrite ----------------------------------------------- */

enum term_kind { TK_NONE = 0, TK_DOMAIN_OPT, TK_DOMAIN_REQ, TK_CIDR_DOMAIN,
	TK_PLAIN };

static const struct {
	const char	*name;
	enum term_kind	 kind;
} mechanisms[] = {
	{ "all",	TK_PLAIN },
	{ "include",	TK_DOMAIN_REQ },
	{ "a",		TK_CIDR_DOMAIN },
	{ "mx",		TK_CIDR_DOMAIN },
	{ "ptr",	TK_DOMAIN_OPT },
	{ "ip4",	TK_PLAIN },
	{ "ip6",	TK_PLAIN },
	{ "exists",	TK_DOMAIN_REQ },
};

/* Length of a trailing dual-cidr-length ("/24", "//64", "/24//64"). */
static size_t
cidr_suffix(const char *t, size_t n)
{
	size_t end = n, k;

	for (int part = 0; part < 2; part++) {
		k = end;
		while (k > 0 && isdigit((unsigned char)t[k - 1]))
			k--;
		if (k == end || k == 0 || t[k - 1] != '/')
			break;
		k--;			/* the '/' */
		if (k > 0 && t[k - 1] == '/') {
			/* "//N": the IPv6 length; an IPv4 one may precede */
			end = k - 1;
			continue;
		}
		end = k;
		break;
	}
	return n - end;
}

/* Expands and finishes one domain-spec; -1 + why on a syntax error. */
static int
domain_spec(const char *spec, size_t n, const struct spf_macro_ctx *ctx,
    struct obuf *o, char *why, size_t whylen)
{
	char raw[SPF_RECORD_MAX], fin[SPF_DOMAIN_MAX * 4 + 8];
	size_t rawlen;
	enum spf_macro_rc rc;

	if (n == 0) {
		str_copy(why, whylen, "empty domain-spec");
		return -1;
	}
	if (!spf_domain_end_valid(spec, n)) {
		str_fmt(why, whylen, "domain-spec \"%.*s\" must end in a macro "
		    "or a valid top label", (int)MIN(n, 60), spec);
		return -1;
	}
	rc = spf_macro_expand(spec, n, SPF_MACRO_DOMAIN, ctx, raw, sizeof(raw),
	    &rawlen);
	if (rc == SPF_MACRO_SYNTAX) {
		str_fmt(why, whylen, "bad macro in \"%.*s\"", (int)MIN(n, 60),
		    spec);
		return -1;
	}
	if (rc != SPF_MACRO_OK || spf_domain_finish(raw, rawlen, fin,
	    sizeof(fin)) < 0) {
		str_copy(why, whylen, "expanded domain too long");
		return -1;
	}
	if (fin[0] == '\0') {
		str_copy(why, whylen, "domain-spec expands to nothing");
		return -1;
	}
	out_bytes(o, fin, strlen(fin));
	return 0;
}

/* A CIDR length after its '/': no leading zero (5.6), at most max. */
static int
cidr_value(const char *s, size_t n, int max)
{
	int v = 0;

	if (n == 0 || n > 3 || (n > 1 && s[0] == '0'))
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v <= max ? v : -1;
}

/* dual-cidr-length = [ ip4-cidr-length ] [ "/" ip6-cidr-length ] */
static int
parse_dual(const char *c, size_t n, int *v4, int *v6)
{
	const char *dd;
	size_t k;

	*v4 = *v6 = -1;
	if (n == 0)
		return 0;
	dd = NULL;
	for (k = 0; k + 1 < n; k++)
		if (c[k] == '/' && c[k + 1] == '/') {
			dd = c + k;
			break;
		}
	if (dd != c) {
		size_t l = (dd ? (size_t)(dd - c) : n);

		if (c[0] != '/' || (*v4 = cidr_value(c + 1, l - 1, 32)) < 0)
			return -1;
	}
	if (dd != NULL && (*v6 = cidr_value(dd + 2, n - (size_t)(dd - c) - 2,
	    128)) < 0)
		return -1;
	return 0;
}

static void
out_len(struct obuf *o, const char *pfx, int v)
{
	char b[16];

	snprintf(b, sizeof(b), "%s%d", pfx, v);
	out_bytes(o, b, strlen(b));
}

/* a, mx: [":" domain-spec] [dual-cidr] */
static int
term_cidr_domain(const char *m, size_t nl, size_t mn,
    const struct spf_macro_ctx *ctx, struct obuf *o, char *why, size_t whylen)
{
	size_t c = cidr_suffix(m + nl, mn - nl);
	int v4, v6, rel;

	if (nl < mn && m[nl] != ':' && c != mn - nl) {
		str_fmt(why, whylen, "bad term \"%.*s\"", (int)MIN(mn, 40), m);
		return -1;
	}
	if (parse_dual(m + mn - c, c, &v4, &v6) < 0) {
		str_fmt(why, whylen, "bad CIDR length in \"%.*s\"",
		    (int)MIN(mn, 40), m);
		return -1;
	}
	rel = ctx->family == AF_INET6 ? v6 : v4;
	out_bytes(o, m, nl);
	if (nl < mn && m[nl] == ':') {
		out_byte(o, ':');
		if (domain_spec(m + nl + 1, mn - nl - 1 - c, ctx, o, why,
		    whylen) < 0)
			return -1;
	} else if (rel == 0) {
		char fin[SPF_DOMAIN_MAX * 4 + 8];

		/* the current domain, written out to carry the mark */
		if (spf_domain_finish(ctx->domain, strlen(ctx->domain), fin,
		    sizeof(fin)) < 0 || fin[0] == '\0') {
			str_copy(why, whylen, "no current domain");
			return -1;
		}
		out_byte(o, ':');
		out_bytes(o, fin, strlen(fin));
	}
	if (rel == 0) {
		out_byte(o, SPF_ZERO_MARK);
		if (ctx->family == AF_INET6)
			out_len(o, "//", 128);
		else
			out_len(o, "/", 32);
		return 0;
	}
	/* the other family's length does not matter; libspf2 refuses 0 */
	if (v4 >= 0)
		out_len(o, "/", v4 == 0 ? 32 : v4);
	if (v6 >= 0)
		out_len(o, "//", v6 == 0 ? 128 : v6);
	return 0;
}

/* ip4:, ip6: "/0" matches the whole family (5.6). */
static int
term_ip(const char *t, size_t n, const char *m, size_t nl, size_t mn,
    int fam, const struct spf_macro_ctx *ctx, struct obuf *o, char *why,
    size_t whylen)
{
	const char *slash;
	char addr[64];
	unsigned char tmp[16];
	int len = -1;

	if (nl >= mn || m[nl] != ':') {
		str_fmt(why, whylen, "bad term \"%.*s\"", (int)MIN(n, 40), t);
		return -1;
	}
	slash = memchr(m + nl, '/', mn - nl);
	if (slash != NULL && (len = cidr_value(slash + 1,
	    (size_t)(m + mn - slash - 1), fam == AF_INET ? 32 : 128)) < 0) {
		str_fmt(why, whylen, "bad CIDR length in \"%.*s\"",
		    (int)MIN(n, 40), t);
		return -1;
	}
	if (len != 0) {
		out_bytes(o, t, n);
		return 0;
	}
	if (str_ncopy(addr, sizeof(addr), m + nl + 1, (size_t)(slash - m) -
	    nl - 1) < 0 || inet_pton(fam, addr, tmp) != 1) {
		str_fmt(why, whylen, "bad address in \"%.*s\"", (int)MIN(n, 40),
		    t);
		return -1;
	}
	if (fam == ctx->family) {
		out_bytes(o, t, (size_t)(m - t));	/* the qualifier */
		out_bytes(o, "all", 3);
	} else
		out_bytes(o, t, (size_t)(slash - t));	/* never matches */
	return 0;
}

int
spf_record_rewrite(const char *rec, size_t len,
    const struct spf_macro_ctx *ctx, char *out, size_t outsize, char *why,
    size_t whylen)
{
	struct obuf o = { out, 0, outsize, 0 };
	char mods[2][SPF_DOMAIN_MAX * 4 + 16];
	struct obuf mo[2] = {
		{ mods[0], 0, sizeof(mods[0]), 0 },
		{ mods[1], 0, sizeof(mods[1]), 0 },
	};
	size_t i = 6;
	int have[2] = { 0, 0 };

	if (outsize == 0)
		return -1;
	if (len < 6 || strncasecmp(rec, "v=spf1", 6) != 0 ||
	    (len > 6 && rec[6] != ' ')) {
		str_copy(why, whylen, "not an SPF record");
		return -1;
	}
	out_bytes(&o, "v=spf1", 6);
	while (i < len) {
		const char *t;
		size_t n, k;

		while (i < len && rec[i] == ' ')
			i++;
		if (i >= len)
			break;
		t = rec + i;
		for (n = 0; i + n < len && rec[i + n] != ' '; n++)
			;
		i += n;
		/* terms are 7-bit visible characters (3.1, 4.6.1) */
		for (k = 0; k < n; k++)
			if ((unsigned char)t[k] < 0x21 ||
			    (unsigned char)t[k] > 0x7e) {
				str_fmt(why, whylen, "byte 0x%02x in a term",
				    (unsigned char)t[k]);
				return -1;
			}
		/* modifier: name "=" value, name = ALPHA *( ALPHA / DIGIT /
		 * "-" / "_" / "." ) */
		for (k = 0; k < n && (isalnum((unsigned char)t[k]) ||
		    t[k] == '-' || t[k] == '_' || t[k] == '.'); k++)
			;
		if (k > 0 && k < n && t[k] == '=' && isalpha((unsigned char)t[0])) {
			const char *v = t + k + 1;
			size_t vn = n - k - 1;
			int which;

			if (k == 8 && strncasecmp(t, "redirect", 8) == 0)
				which = 0;
			else if (k == 3 && strncasecmp(t, "exp", 3) == 0)
				which = 1;
			else {
				/* unknown: ignored (6), but its value must
				 * be a valid macro-string */
				char scratch[SPF_RECORD_MAX];
				size_t sl;

				if (spf_macro_expand(v, vn, SPF_MACRO_DOMAIN,
				    ctx, scratch, sizeof(scratch), &sl) ==
				    SPF_MACRO_SYNTAX) {
					str_fmt(why, whylen, "bad macro in "
					    "modifier %.*s", (int)MIN(k, 40), t);
					return -1;
				}
				continue;
			}
			if (have[which]++) {
				str_fmt(why, whylen, "two %s modifiers",
				    which ? "exp" : "redirect");
				return -1;
			}
			out_bytes(&mo[which], which ? " exp=" : " redirect=",
			    which ? 5 : 10);
			if (domain_spec(v, vn, ctx, &mo[which], why, whylen) < 0)
				return -1;
			continue;
		}
		/* mechanism: [qualifier] name [":" domain-spec] [cidr] */
		{
			const char *m = t;
			size_t mn = n, nl;
			enum term_kind kind = TK_NONE;
			size_t mi;

			if (*m == '+' || *m == '-' || *m == '~' || *m == '?') {
				m++;
				mn--;
			}
			for (nl = 0; nl < mn && m[nl] != ':' && m[nl] != '/';
			    nl++)
				;
			for (mi = 0; mi < sizeof(mechanisms) /
			    sizeof(mechanisms[0]); mi++)
				if (strlen(mechanisms[mi].name) == nl &&
				    strncasecmp(m, mechanisms[mi].name, nl) == 0) {
					kind = mechanisms[mi].kind;
					break;
				}
			if (kind == TK_NONE) {
				str_fmt(why, whylen, "unknown mechanism "
				    "\"%.*s\"", (int)MIN(n, 40), t);
				return -1;
			}
			out_byte(&o, ' ');
			if (kind == TK_PLAIN) {
				/* all, ip4, ip6: no macros, no domain */
				if (memchr(t, '%', n) != NULL) {
					str_fmt(why, whylen, "'%%' in \"%.*s\"",
					    (int)MIN(n, 40), t);
					return -1;
				}
				if (nl == 3 && strncasecmp(m, "all", 3) == 0) {
					if (nl != mn) {
						str_fmt(why, whylen, "bad term "
						    "\"%.*s\"", (int)MIN(n, 40), t);
						return -1;
					}
					out_bytes(&o, t, n);
				} else if (term_ip(t, n, m, nl, mn,
				    tolower((unsigned char)m[2]) == '4' ?
				    AF_INET : AF_INET6, ctx, &o, why,
				    whylen) < 0)
					return -1;
				continue;
			}
			out_bytes(&o, t, (size_t)(m - t));	/* qualifier */
			if (kind == TK_CIDR_DOMAIN) {
				if (term_cidr_domain(m, nl, mn, ctx, &o, why,
				    whylen) < 0)
					return -1;
				continue;
			}
			out_bytes(&o, m, nl);
			if (nl == mn)
				continue;	/* ptr, or include/exists
						   without a domain: libspf2
						   says so */
			if (m[nl] != ':') {
				str_fmt(why, whylen, "bad term \"%.*s\"",
				    (int)MIN(n, 40), t);
				return -1;
			}
			out_byte(&o, ':');
			if (domain_spec(m + nl + 1, mn - nl - 1, ctx, &o, why,
			    whylen) < 0)
				return -1;
		}
	}
	/* modifiers after every mechanism, where 6.1 says they act */
	out_bytes(&o, mods[0], mo[0].len);
	out_bytes(&o, mods[1], mo[1].len);
	if (o.full || mo[0].full || mo[1].full) {
		str_copy(why, whylen, "rewritten record too long");
		return -1;
	}
	out[o.len] = '\0';
	return 0;
}
