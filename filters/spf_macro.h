/*
 * spf_macro.h - RFC 7208 section 7 macros, done by us so libspf2's macro
 * code is never reached with text from DNS.
 *
 * Why (LIBRARIES.md 2): libspf2 1.2.10 expands %{l1r-} wrongly, breaks
 * explanations, does not cut expanded names to 253 bytes (a 1 GB name and
 * a crash with a hostile layer), and carries an unfixed integer underflow
 * in its macro parser (CVE-2023-42118). So the DNS glue rewrites every SPF
 * record before libspf2 compiles it: each domain-spec is syntax-checked,
 * expanded here, cut to 253 bytes (7.3), and handed over macro-free;
 * unknown modifiers (ignored by the RFC) are dropped; a syntax error makes
 * the record invalid (permerror) without libspf2 ever parsing it.
 *
 * Expanded bytes libspf2 must not take as syntax (space, '%', '\', control
 * and 8-bit bytes) are written as RFC 1035 \DDD escapes, which the
 * resolver turns back into the same bytes on the wire, so the DNS query is
 * exactly the one the RFC asks for.
 *
 * Pure: no I/O; %{p} (the validated client name, which needs DNS) comes
 * from a callback. Ownership: outputs go into caller buffers.
 */
#ifndef MXG_SPF_MACRO_H
#define MXG_SPF_MACRO_H

#include <stddef.h>

#define SPF_DOMAIN_MAX		253	/* RFC 7208 7.3: expanded names */
#define SPF_RECORD_MAX		4096	/* rewritten record text */
#define SPF_EXPLAIN_MAX		512

enum spf_macro_mode {
	SPF_MACRO_DOMAIN = 0,	/* domain-spec: no SP, no c r t */
	SPF_MACRO_EXPLAIN	/* explain-string: SP, c r t allowed */
};

struct spf_macro_ctx {
	const char	*sender;	/* s: <sender>, "postmaster@helo" for <> */
	const char	*local;		/* l */
	const char	*sender_domain;	/* o */
	const char	*domain;	/* d: the current domain */
	const char	*ip;		/* i: dotted quad / dotted nibbles */
	const char	*ip_readable;	/* c: 192.0.2.1 / 2001:db8::1 */
	const char	*ip_version;	/* v: "in-addr" or "ip6" */
	const char	*helo;		/* h */
	const char	*receiver;	/* r */
	const char	*timestamp;	/* t */
	int		 family;	/* the client's: AF_INET or AF_INET6 */
	/* p: the validated name of the client, or "unknown"; NULL: unknown */
	const char	*(*validated)(void *arg, const char *domain);
	void		*arg;
};

enum spf_macro_rc {
	SPF_MACRO_OK = 0,
	SPF_MACRO_SYNTAX,	/* permerror */
	SPF_MACRO_TOO_LONG	/* output buffer too small */
};

/*
 * Expands in[0..len) into out (raw bytes, terminated); *outlen_out is the
 * length. Syntax per 7.1 for the mode (a '%' not followed by '{', '%',
 * '_' or '-', a bad letter, a zero digit, a stray character).
 */
enum spf_macro_rc spf_macro_expand(const char *in, size_t len,
	    enum spf_macro_mode mode, const struct spf_macro_ctx *ctx,
	    char *out, size_t outsize, size_t *outlen_out);

/* domain-spec = macro-string domain-end: 1 if it ends in a macro-expand
 * or in "." toplabel ["."] (checked before expansion, 7.1). */
int	 spf_domain_end_valid(const char *spec, size_t len);

/*
 * Rewrites one SPF record (the whole "v=spf1 ..." text) for libspf2:
 * domain-specs expanded (with ctx->domain as %{d}), unknown modifiers
 * dropped, redirect= and exp= moved to the end (libspf2 would run a
 * redirect where it stands; 6.1 says after every mechanism), CIDR lengths
 * checked (no leading zeros, 5.6), every term checked for bytes outside
 * 0x21..0x7e and unknown mechanisms refused (5). 0 and out set, or -1
 * with why (the record is invalid: permerror).
 *
 * libspf2 refuses a CIDR length of 0. For the client's address family:
 * ip4:X/0 and ip6:X/0 match every address and become "all"; a and mx with
 * /0 ("any address at all") are written with the full length and the
 * domain followed by a final dot, SPF_ZERO_MARK: the DNS layer answers
 * such a lookup with the client's own address whenever there is any.
 * Lengths for the other family do not matter and are made valid.
 */
#define SPF_ZERO_MARK	'.'
int	 spf_record_rewrite(const char *rec, size_t len,
	    const struct spf_macro_ctx *ctx, char *out, size_t outsize,
	    char *why, size_t whylen);

/* A domain for a query: trailing dot dropped, left labels removed until
 * it fits 253 bytes (7.3), then escaped for libspf2 (see above). */
int	 spf_domain_finish(const char *raw, size_t len, char *out,
	    size_t outsize);
/* The inverse of the escaping: \DDD back to bytes. Returns the length. */
size_t	 spf_domain_unescape(const char *in, char *out, size_t outsize);

#endif
