/*
 * dnsxl_run.h - what the list filters (dnsbl.c: the client address,
 * rhsbl.c: the sender domain and the HELO name) share: their keys, the
 * configured list, and one lookup of a key in every zone at once.
 *
 * A run asks every zone in parallel (one A query each, started together,
 * so the per-query deadline dns_timeout is also the run's one overall
 * deadline) and ends as soon as the outcome no longer depends on the zones
 * still pending: a listing of weight 3 does not wait for a slow list of
 * weight 1 when the threshold is 3. A zone that fails (timeout, SERVFAIL,
 * an error reply such as 127.255.255.254) is unknown, never "not listed";
 * the run is UNDECIDED when such a zone could change the outcome, and the
 * filter applies dns_error.
 *
 * Loop thread only. Ownership: dnsxl_run_free() cancels what is pending;
 * done() is called at most once, never inside dnsxl_run_start().
 */
#ifndef MXG_DNSXL_RUN_H
#define MXG_DNSXL_RUN_H

#include <stddef.h>
#include <stdint.h>

#include "../proxy/config.h"
#include "dnsxl.h"

struct table;

enum { DNSXL_DNS_ERROR_TEMPFAIL = 0, DNSXL_DNS_ERROR_IGNORE };

/* The keys' fields; a list filter's config struct holds one. */
struct dnsxl_conf {
	struct cfg_list	 sites;
	char		*sites_file;
	uint64_t	 threshold;
	char		*allowlist_threshold;
	struct cfg_list	 error_replies;
	char		*reply_map;
	char		*reply_text;
	uint64_t	 reject_code;
	int		 dns_error;
};

/* The rows of the shared keys; T: the filter's config struct, F: the
 * member of type struct dnsxl_conf, P: the Postfix parameter named. */
#define DNSXL_KEYS(T, F, P, ERRORS) \
	{ "sites", CFG_LIST, "", 0, 0, offsetof(T, F.sites), 1, NULL, "lists in " P " syntax: zone[=reply-filter][*weight], e.g. zen.spamhaus.org=127.0.0.[2..11]*3, list.dnswl.org=127.0.[0..255].[1..3]*-2" }, \
	{ "sites_file", CFG_PATH, "", 0, 0, offsetof(T, F.sites_file), 1, NULL, "more sites from a file: the primary's main.cf (its " P " value is used) or one site per line" }, \
	{ "threshold", CFG_UINT, "1", 1, 100000, offsetof(T, F.threshold), 1, NULL, "reject when the score reaches this (postscreen_dnsbl_threshold)" }, \
	{ "allowlist_threshold", CFG_STRING, "0", 0, 0, offsetof(T, F.allowlist_threshold), 1, NULL, "a negative score at or below this skips the other checks except virus scanning (postscreen_dnsbl_allowlist_threshold); 0: off" }, \
	{ "error_replies", CFG_LIST, ERRORS, 0, 0, offsetof(T, F.error_replies), 1, NULL, "replies that mean the list refused the query or is over quota: a lookup error, never a listing (reply-filter syntax)" }, \
	{ "reply_map", CFG_STRING, "", 0, 0, offsetof(T, F.reply_map), 1, NULL, "table from a zone to the name clients see, hiding access keys (postscreen_dnsbl_reply_map), e.g. texthash:/etc/postfix/dnsbl_reply_map" }, \
	{ "reply_text", CFG_STRING, "Service unavailable; $rbl_class [$rbl_what] blocked using $rbl_domain", 0, 0, offsetof(T, F.reply_text), 1, NULL, "text of the rejection; $rbl_class, $rbl_what, $rbl_domain (after reply_map), $client_address, $score" }, \
	{ "reject_code", CFG_UINT, "554", 500, 599, offsetof(T, F.reject_code), 1, NULL, "SMTP code of the rejection (enhanced code 5.7.1)" }, \
	{ "dns_error", CFG_ENUM, "tempfail", 0, 0, offsetof(T, F.dns_error), 1, "tempfail|ignore", "when a failed lookup (timeout, SERVFAIL, error reply) could change the outcome: tempfail (4xx), or ignore (score without that list, logged and counted)" }

/* What configure builds from a struct dnsxl_conf. */
struct dnsxl_list {
	struct dnsxl_sites sites;
	int		 threshold;
	int		 allow;		/* <= 0 */
	struct dnsxl_pattern *errors;
	size_t		 nerrors;
	struct table	*reply_map;
	const char	*reply_text;	/* borrowed from the conf */
	int		 reject_code;
	int		 dns_error;
	const char	*what;		/* "dnsbl", "rhsbl": counters, logs */
};

/* 0, or -1 with each error reported as FILE:LINE. */
int	 dnsxl_list_configure(struct dnsxl_list *l, const struct dnsxl_conf *c,
	    const char *what, const char *param, const struct cfg_block *b,
	    struct cfg_errors *e);
void	 dnsxl_list_free(struct dnsxl_list *l);
/* The zone's public name (reply_map), else the zone. */
const char *dnsxl_list_display(const struct dnsxl_list *l, long zone);
/* The rejection text; class "Client host", what "192.0.2.1". */
void	 dnsxl_reply(const struct dnsxl_list *l, const struct dnsxl_score *sc,
	    const char *class, const char *what, const char *client,
	    char *out, size_t outlen);

struct dnsxl_run;
typedef void (*dnsxl_done_fn)(void *arg);

struct dnsxl_run *dnsxl_run_start(const struct dnsxl_list *l, const char *key,
	    dnsxl_done_fn done, void *arg);
void	 dnsxl_run_free(struct dnsxl_run **rp);
/* The outcome so far (final once done ran). */
enum dnsxl_decision dnsxl_run_result(const struct dnsxl_run *r,
	    struct dnsxl_score *sc);
/* For the log: "zen.test=127.0.0.2,127.0.0.4 wl.test=- bl.test=timeout". */
void	 dnsxl_run_describe(const struct dnsxl_run *r, char *out,
	    size_t outlen);

/*
 * The filter side that dnsbl and rhsbl share: fc->priv is the list; each
 * transaction's state begins with a struct dnsxl_fstate. A run holds the
 * filter call until every zone answered, then verdict() decides and the
 * call resumes with it.
 */
struct filter_conf;
struct filter_call;
struct verdict;
struct cfg_block;
struct cfg_errors;

struct dnsxl_fstate {
	struct filter_conf *fc;		/* pinned by the held call */
	struct filter_call *call;	/* held while a run is pending */
	struct dnsxl_run *run;
	void		(*verdict)(struct dnsxl_fstate *st, struct verdict *v);
};

int	 dnsxl_filter_configure(struct filter_conf *fc,
	    const struct dnsxl_conf *c, const char *what, const char *param,
	    const struct cfg_block *b, struct cfg_errors *e);
void	 dnsxl_filter_stop(struct filter_conf *fc);
/* A zeroed state of size bytes (>= sizeof(struct dnsxl_fstate)). */
void	*dnsxl_filter_txn_new(struct filter_conf *fc, size_t size,
	    void (*verdict)(struct dnsxl_fstate *, struct verdict *));
void	 dnsxl_filter_txn_free(void *state);
/*
 * Looks key up in every zone: 0, the call is held and resumes when the
 * run is done; or 1 with *v set when the run was decided at once (no
 * zone could be asked: every name too long to exist).
 */
int	 dnsxl_filter_start(struct dnsxl_fstate *st, struct filter_call *call,
	    const char *key, struct verdict *v);
/*
 * The finished run's decision, *desc for the log. With dns_error = ignore
 * a failed lookup scores as "not listed" and *ignored says so.
 */
enum dnsxl_decision dnsxl_filter_result(const struct dnsxl_fstate *st,
	    struct dnsxl_score *sc, char *desc, size_t desclen, int *ignored);

#endif
