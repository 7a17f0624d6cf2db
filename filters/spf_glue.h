/*
 * spf_glue.h - libspf2 made safe: its DNS goes through our resolver, with
 * every guard LIBRARIES.md 2 asks for, and the results it gets wrong are
 * put right. One struct spf_glue per thread (libspf2 keeps per-request
 * state in the DNS layer's hook); reusable for any number of checks.
 *
 * What the glue does that libspf2 1.2.10 does not:
 *  - records are fetched and selected by us (get_spf hook) and rewritten
 *    macro-free (spf_macro.h): libspf2's macro code, its broken %{l1r-}
 *    and explanations, its missing 253-byte cut and CVE-2023-42118 are
 *    out of reach; a syntax error is a permerror without libspf2 parsing;
 *  - RFC 7208 4.6.4 limits counted over the whole check (libspf2 counts
 *    per record, so include loops would only stop at its depth 20): 10
 *    DNS-querying terms, 2 void lookups; over them: permerror;
 *  - initial processing (4.3): a malformed or single-label domain, or an
 *    address literal, gives "none" without a query;
 *  - libspf2's free pass for loopback clients is not used;
 *  - a DNS failure is temperror (its INVALID result for a failed top-level
 *    lookup included), a passed deadline too; names over 253 bytes are
 *    never asked for; the layer never returns NULL (libspf2 would abort);
 *  - explanations (exp=) are expanded by us, sanitized, and kept for the
 *    reject text; libspf2's own explanation and header are not used.
 * A cap on all queries of one check (max_queries, above anything an RFC-
 * compliant evaluation can need) is a last safety net: permerror.
 *
 * Threads: a glue is used by one thread at a time. The lookup function is
 * called on that thread (dns_resolve() in production, a table in tests).
 */
#ifndef MXG_SPF_GLUE_H
#define MXG_SPF_GLUE_H

#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>

#include "../proxy/dns.h"

enum spf_res {
	SPFR_NONE = 0, SPFR_NEUTRAL, SPFR_PASS, SPFR_FAIL, SPFR_SOFTFAIL,
	SPFR_TEMPERROR, SPFR_PERMERROR, SPFR_COUNT
};

enum spf_identity { SPF_ID_MAILFROM = 0, SPF_ID_HELO };

/* 0 if an answer came (any status), -1 otherwise; as dns_resolve(). */
typedef int (*spf_lookup_fn)(void *arg, const char *name, int type,
    uint64_t timeout_ms, struct dns_result *out);

struct spf_query {
	const struct sockaddr *client;	/* AF_INET or AF_INET6 */
	const char	*helo;		/* may be NULL */
	const char	*sender;	/* MAIL FROM without <>; "" null */
	enum spf_identity identity;	/* HELO: check helo as postmaster@helo */
	const char	*receiver;	/* our host name (%{r}, the header) */
	uint64_t	 timeout_ms;	/* the whole check */
	uint64_t	 query_timeout_ms;	/* one query; 0: dns_timeout */
	unsigned	 max_queries;	/* 0: SPF_MAX_QUERIES_DEFAULT */
	spf_lookup_fn	 lookup;	/* NULL: dns_resolve */
	void		*lookup_arg;
};

#define SPF_MAX_QUERIES_DEFAULT	150
#define SPF_TERMS_MAX		10
#define SPF_VOIDS_MAX		2

struct spf_outcome {
	enum spf_res	 result;
	char		 domain[256];	/* the domain checked */
	char		 sender[300];	/* <sender> as checked */
	char		 explanation[256];	/* fail: the domain's exp=, or "" */
	char		 problem[160];	/* errors: why, for log and header */
	unsigned	 queries, terms, voids;
	int		 void_limit, term_limit, query_limit, deadline, long_name;
};

struct spf_glue;

struct spf_glue *spf_glue_new(void);
void	 spf_glue_free(struct spf_glue **gp);
/* Runs one check; always fills *out. */
void	 spf_glue_check(struct spf_glue *g, const struct spf_query *q,
	    struct spf_outcome *out);

const char *spf_res_name(enum spf_res r);
/* "Received-SPF: pass (mx.example.org: ...) client-ip=...; ..." */
void	 spf_received_header(const struct spf_outcome *o,
	    const struct spf_query *q, char *out, size_t outlen);

#endif
