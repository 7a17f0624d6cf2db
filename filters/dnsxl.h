/*
 * dnsxl.h - DNS lists (DNSBL, DNSWL, RHSBL) as Postfix's postscreen
 * writes them, so the primary's postscreen_dnsbl_sites is pasted as it is:
 *
 *   zone[=reply-filter][*weight]    e.g. zen.spamhaus.org=127.0.0.[2..11]*3
 *                                        list.dnswl.org=127.0.[0..255].[1..3]*-2
 *
 * A reply filter is Postfix's ip_match(3) pattern: four fields separated
 * by ".", each a number 0..255 or "[" n or n..m, separated by ";" "]"; the
 * whole pattern may be inside [ ]. No filter: any reply matches. The weight
 * defaults to 1; negative weights allowlist. Each entry counts once when
 * any reply address matches it (postscreen_dnsbl.c); entries of one zone
 * share one query.
 *
 * Pure: no I/O. Parse errors are Postfix's own words, so ip_match.ref is
 * our oracle. Ownership: dnsxl_sites_free() frees what parsing built.
 */
#ifndef MXG_DNSXL_H
#define MXG_DNSXL_H

#include <netinet/in.h>
#include <stddef.h>

#define DNSXL_ENTRIES_MAX	256
#define DNSXL_WEIGHT_MAX	100000
#define DNSXL_ERR_MAX		200

struct dnsxl_pattern {
	unsigned char	 bits[4][32];	/* per field: allowed octet values */
	char		 code[160];	/* canonical text, as ip_match_dump */
};

struct dnsxl_entry {
	size_t		 zone;		/* index into dnsxl_sites.zones */
	int		 has_filter;
	struct dnsxl_pattern filter;
	int		 weight;
	char		*text;		/* the entry as written, for the log */
};

struct dnsxl_sites {
	struct dnsxl_entry *e;
	size_t		 n;
	char		**zones;	/* distinct, lower case, no final dot */
	size_t		 nzones;
};

/* 0, or -1 with err set to Postfix's message ("need \".\" at ..."). */
int	 dnsxl_pattern_parse(const char *text, struct dnsxl_pattern *p,
	    char *err, size_t errlen);
int	 dnsxl_pattern_match(const struct dnsxl_pattern *p,
	    const struct in_addr *a);

/* Appends one list item; 0 or -1 with err set. */
int	 dnsxl_sites_add(struct dnsxl_sites *s, const char *item, char *err,
	    size_t errlen);
void	 dnsxl_sites_free(struct dnsxl_sites *s);

/* What one zone said. */
enum dnsxl_zone_state {
	DNSXL_ZONE_PENDING = 0,	/* no answer yet */
	DNSXL_ZONE_ANSWERED,	/* a[] (maybe none: not listed) */
	DNSXL_ZONE_ERROR	/* lookup failed, or an error reply */
};

struct dnsxl_answer {
	enum dnsxl_zone_state state;
	const struct in_addr *a;
	size_t		 n;
};

/*
 * Sorts one zone's A records: returns DNSXL_ZONE_ERROR if any matches an
 * error pattern ("refused", "over quota": 127.255.255.252-255); else keeps
 * in out[] (capacity n) the addresses inside 127.0.0.0/8 (RFC 5782 2.1)
 * and counts the others in *invalid. *nout is set.
 */
enum dnsxl_zone_state dnsxl_classify(const struct in_addr *a, size_t n,
	    const struct dnsxl_pattern *errors, size_t nerrors,
	    struct in_addr *out, size_t *nout, size_t *invalid);

struct dnsxl_score {
	int		 score;		/* entries of answered zones */
	int		 min, max;	/* bounds over pending/error zones */
	int		 best_weight;	/* largest contribution (reply text) */
	long		 best_zone;	/* its zone, -1 if none */
	size_t		 matched;	/* entries that matched */
	size_t		 pending, errors;	/* zones */
};

/* answers[nzones]. */
void	 dnsxl_score(const struct dnsxl_sites *s,
	    const struct dnsxl_answer *answers, struct dnsxl_score *out);

enum dnsxl_decision {
	DNSXL_UNDECIDED = 0,	/* unknown zones could still change it */
	DNSXL_CLEAN,		/* below threshold, above allowlist */
	DNSXL_LISTED,		/* score >= threshold whatever is unknown */
	DNSXL_ALLOWED		/* score <= allow_threshold (< 0) */
};

/*
 * The outcome if it no longer depends on pending or failed zones.
 * threshold >= 1; allow_threshold <= 0 (0: no allowlisting).
 */
enum dnsxl_decision dnsxl_decide(const struct dnsxl_score *sc, int threshold,
	    int allow_threshold);

/*
 * The value of parameter name in main.cf text (continuation lines, which
 * start with white space, joined; comment lines skipped). NULL if absent;
 * else a new string the caller frees. Lets sites_file take the primary's
 * main.cf or a fragment of it as it stands.
 */
char	*dnsxl_maincf_value(const char *text, size_t len, const char *name);

/*
 * Reply templates: $name or ${name} from vars[] ("name", value pairs,
 * NULL-terminated); "$$" is "$". 0, or -1 if a variable is unknown or the
 * output does not fit (err names it). Only printable ASCII is written.
 */
int	 dnsxl_expand(const char *tmpl, const char *const *vars, char *out,
	    size_t outlen, char *err, size_t errlen);

/* "4.3.2.1" / IPv6 nibbles + "." + zone; -1 if longer than 253. */
int	 dnsxl_query_name(const char *key, const char *zone, char *out,
	    size_t outlen);

#endif
