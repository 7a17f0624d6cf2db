/*
 * dns.h - the one resolver every check shares: a libunbound context in
 * thread mode (one cache for the loop and the workers, LIBRARIES.md §1),
 * its loop integration, and answers parsed into values.
 *
 * Two ways to ask, both with a deadline of our own on top of unbound's
 * retries (a dead server costs unbound 17 s before it says SERVFAIL):
 *  - dns_query(), loop thread only: the callback runs later on the loop,
 *    never inside dns_query() itself; after dns_cancel() it never runs.
 *  - dns_resolve(), any other thread (workers, library glue): blocks until
 *    the answer or the deadline. The loop thread reads unbound's answers
 *    (ub_process), so the loop must be running; never call it on the loop.
 *
 * A DNS failure is never "no such record": SERVFAIL, REFUSED, a bogus
 * DNSSEC answer, a passed deadline or a local error all report a status
 * for which dns_status_temporary() is true, and each check applies its
 * own policy to it (default: tempfail).
 *
 * The resolver is process-wide. dns_configure() builds it from the
 * configuration's dns_* keys and swaps it in only when they changed, so a
 * reload keeps the cache; queries in flight finish on the context they
 * started on, which is freed after its last one.
 *
 * Ownership: a dns_result is filled by these functions and freed with
 * dns_result_free(); the callback's result is borrowed for the call.
 */
#ifndef MXG_DNS_H
#define MXG_DNS_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "util.h"

struct event_base;
struct cfg_block;

/* RR types we ask for (arpa/nameser.h values, without its namespace). */
#define DNS_T_A		1
#define DNS_T_NS	2
#define DNS_T_CNAME	5
#define DNS_T_PTR	12
#define DNS_T_MX	15
#define DNS_T_TXT	16
#define DNS_T_AAAA	28

/* Records kept from one answer; more are dropped (and logged). */
#define DNS_RR_MAX	256
/* A domain name in text form, RFC 1035 \DDD escapes included. */
#define DNS_NAME_MAX	1024

enum dns_status {
	DNS_OK = 0,	/* NOERROR with records of the type asked */
	DNS_NODATA,	/* NOERROR, the name exists, no record of the type */
	DNS_NXDOMAIN,	/* the name does not exist */
	DNS_SERVFAIL,	/* SERVFAIL, REFUSED, any other rcode, DNSSEC bogus */
	DNS_TIMEOUT,	/* our deadline passed first */
	DNS_ERROR	/* local: bad name, resolver failure, no resolver */
};

struct dns_rr {
	union {
		struct in_addr	a;	/* A */
		struct in6_addr	aaaa;	/* AAAA */
	} addr;
	uint16_t	 pref;		/* MX preference */
	/*
	 * TXT: the character-strings joined (RFC 7208 3.3), may hold NUL
	 * bytes, always terminated. PTR, MX, CNAME, NS: the name in text
	 * form, no final dot, bytes outside [A-Za-z0-9-_] other than the
	 * label dots escaped as \DDD. Owned by the result.
	 */
	char		*text;
	size_t		 len;
};

struct dns_result {
	enum dns_status	 status;
	int		 type;
	int		 rcode;		/* the DNS rcode when there was one */
	int		 secure;	/* DNSSEC-validated */
	uint32_t	 ttl;
	size_t		 n;
	struct dns_rr	*rr;		/* [n], owned */
	size_t		 malformed;	/* records dropped as malformed */
	char		 why[160];	/* what went wrong, for the log */
};

typedef void (*dns_cb)(void *arg, const struct dns_result *r);
struct dns_query;

/* The configuration's keys: applied by dns_configure(). */
int	 dns_configure(const struct config *c, struct err *err);
/* During config load: checks the dns_* keys (FILE:LINE errors). */
void	 dns_config_check(const struct config *c, const struct cfg_block *top,
	    struct cfg_errors *e);
/* Tests and tools without a struct config. */
struct dns_settings {
	const struct cfg_list *servers;	/* ip[@port]; n == 0: resolv.conf;
					   "recursive": iterate from the root */
	uint64_t	 timeout_ms;
	int		 dnssec;
	const char	*trust_anchor_file;	/* "" or NULL: the default */
	const struct cfg_list *unblock;	/* local zones made transparent */
	const char	*unbound_conf;		/* "" or NULL: none */
};
int	 dns_configure_settings(const struct dns_settings *st, struct err *err);
/* The loop the answers are read on; once, before the first query. */
void	 dns_attach(struct event_base *base);
/* At exit: frees the resolver (no callbacks run after). */
void	 dns_shutdown(void);
uint64_t dns_timeout_ms(void);

/* Loop thread. Never NULL: an immediate error is delivered later too. */
struct dns_query *dns_query(const char *name, int type, uint64_t timeout_ms,
	    dns_cb cb, void *arg);
/* Loop thread; NULL-safe, sets *qp = NULL; the callback will not run. */
void	 dns_cancel(struct dns_query **qp);

/* Not the loop thread. Fills *out (free with dns_result_free). 0 if an
 * answer came (any status but TIMEOUT/ERROR), -1 otherwise. */
int	 dns_resolve(const char *name, int type, uint64_t timeout_ms,
	    struct dns_result *out);

void	 dns_result_free(struct dns_result *r);
/* SERVFAIL, TIMEOUT, ERROR: the answer is unknown, not negative. */
int	 dns_status_temporary(enum dns_status s);
const char *dns_status_name(enum dns_status s);
const char *dns_type_name(int type);

/* ---- pure helpers (unit tests, fuzzing, the checks) ------------------ */

/*
 * One record's rdata (as unbound hands it: uncompressed names) into rr.
 * 0, or -1 if the rdata is malformed for the type (rr untouched).
 */
int	 dns_rdata_parse(int type, const unsigned char *rd, size_t len,
	    struct dns_rr *rr);
/* Wire-format name at p[0..len) -> text (see dns_rr.text). Returns the
 * wire bytes used, or 0 if malformed or out is too small. */
size_t	 dns_name_to_text(const unsigned char *p, size_t len, char *out,
	    size_t outlen);
/* "1.2.3.4" -> "4.3.2.1"; IPv6 -> 32 nibbles reversed, dot-separated.
 * IPv4-mapped IPv6 is treated as IPv4. -1 if not an address. */
int	 dns_reverse_name(const struct sockaddr *sa, char *out, size_t outlen);
/* A host name we may query: labels of 1..63 bytes, at most 253 bytes
 * in all (a final dot is allowed), no empty label. */
int	 dns_name_valid(const char *name);

#endif
