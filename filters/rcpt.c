/*
 * rcpt.c - recipient validation at RCPT time: no backscatter.
 *
 * A backup MX that accepts mail for recipients that do not exist bounces
 * it later to forged senders. This filter refuses them during the SMTP
 * dialogue, whether the primary is up or not:
 *
 * 1. Static maps (maps = hash:/path, list:/path, ...; rcptmap.h): a
 *    recipient listed there is valid. In the domains the maps are
 *    authoritative for (map_domains; by default every relay domain not in
 *    callout_domains, as Postfix's relay_recipient_maps) anyone else gets
 *    550 5.1.1. The files are checked for changes every
 *    reload_check_interval (a stat from the loop's tick) and reloaded on
 *    SIGHUP; a new
 *    version replaces the old one only once it loaded completely, and a
 *    file that became empty or unreadable is refused and logged.
 * 2. Callouts (callout_domains): the primary is asked (callout.h) and the
 *    answer cached in the store: valid for positive_ttl, refreshed in the
 *    background once older than positive_refresh; invalid for
 *    negative_ttl. Once per domain and catchall_ttl a random local part is
 *    asked too: a domain that accepts it is catch-all, and its recipients
 *    need no callout (and are valid even while the primary is down).
 * 3. While the primary is down, answers come from the cache; a recipient
 *    without one gets unverified_action: tempfail (450 4.1.1: the sender
 *    keeps the mail, nothing is lost) or accept.
 * 4. Directory harvest: each unknown recipient counts for the session and
 *    for the client address (harvest_ip_limit, in the store). Past
 *    harvest_tarpit_after in a session the 550 is delayed by
 *    harvest_tarpit_delay; at harvest_disconnect_after the session is
 *    closed after the reply; a client over harvest_ip_limit gets 451 4.7.1
 *    and is disconnected before any lookup or callout.
 * Doubt is 4xx: a store failure takes on_error (tempfail by default) once
 * the primary cannot answer instead; a busy, failing or 4xx callout gives
 * 451 4.3.0. Nothing here ever turns a failure into "valid".
 *
 * The maps hang off the filter's configuration and are swapped in place
 * when their files change: the one deliberate exception to an immutable
 * config, as the issue asks for reload on change without SIGHUP. Swaps
 * happen on the loop thread between lookups, which are synchronous.
 */
#include <sys/stat.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "../proxy/callout.h"
#include "../proxy/config.h"
#include "../proxy/filter.h"
#include "../proxy/log.h"
#include "../proxy/primary.h"
#include "../proxy/ratewin.h"
#include "../proxy/rcptcache.h"
#include "../proxy/rcptmap.h"
#include "../proxy/relay.h"
#include "../proxy/stats.h"
#include "../proxy/store.h"
#include "../proxy/util.h"
#include "filters.h"

#define MAPS_MAX		32
#define PROBES_MAX		64	/* catch-all probes in flight */
#define DAY_MS			86400000ull

enum { UNVERIFIED_TEMPFAIL = 0, UNVERIFIED_ACCEPT };

struct rcpt_conf {
	struct cfg_list	 maps;
	struct cfg_list	 map_domains;
	struct cfg_list	 callout_domains;
	char		*delimiter;
	uint64_t	 reload_interval;
	uint64_t	 positive_ttl;
	uint64_t	 positive_refresh;
	uint64_t	 negative_ttl;
	int		 catchall_detect;
	uint64_t	 catchall_ttl;
	int		 unverified_action;
	uint64_t	 tarpit_after;
	uint64_t	 tarpit_delay;
	uint64_t	 disconnect_after;
	char		*harvest_ip_limit;
};

/* One map file and what we last saw of it. */
struct map_slot {
	char		*spec;
	char		*path;
	struct rcptmap	*map;		/* NULL only if it never loaded */
	struct stat	 seen;		/* the version last tried */
};

struct rcpt_priv {
	struct map_slot	 slots[MAPS_MAX];
	size_t		 nslots;
	struct relay_domains *map_domains;	/* NULL: the default */
	struct relay_domains *callout_domains;
	struct rate	 ip_rate;
	uint64_t	 last_check;	/* monotonic ms */
};

/* Per session. */
struct rcpt_state {
	unsigned	 invalid;	/* unknown recipients this session */
};

/*
 * One check (one RCPT). Its own object, not the session's state: a check
 * whose deadline passed may still get its answer while the next RCPT is
 * being checked. It holds the filter call (which pins st and fc) until
 * finish() frees it.
 */
struct rcpt_check {
	struct filter_conf *fc;
	struct rcpt_state *st;
	struct filter_call *call;
	struct event	*tarpit;
	struct verdict	 held;		/* the verdict the tarpit delays */
	char		 sid[40];
	char		 client[ADDR_STR_MAX];
	char		 addr[RCPT_ADDR_MAX];
	char		 domain[RCPT_ADDR_MAX];
	char		 key[RCPTCACHE_KEY_MAX];
	int		 store_failed;
};

/* Background work (refresh, catch-all probe): outlives sessions. */
struct bg {
	char		 key[RCPTCACHE_KEY_MAX];
	char		 domain[RCPT_ADDR_MAX];
	int		 probe;
	uint64_t	 pos_ttl, neg_ttl, ca_ttl;
};

#define RC_AT(f)	offsetof(struct rcpt_conf, f)
static const struct cfg_key rcpt_keys[] = {
	{ "maps",               CFG_LIST,   "",      0, 0,            RC_AT(maps),              1, NULL, "static recipient maps shared with the primary: hash:/path (the source of a Postfix relay_recipient_maps: \"user@domain anything\", \"@domain anything\") or list:/path (one address per line)" },
	{ "map_domains",        CFG_LIST,   "",      0, 0,            RC_AT(map_domains),       1, NULL, "domains the maps are authoritative for (example.org, .example.org, /path); empty: every relay domain not in callout_domains" },
	{ "callout_domains",    CFG_LIST,   "",      0, 0,            RC_AT(callout_domains),   1, NULL, "domains whose recipients are verified by a callout to the primary (needs primary = ...)" },
	{ "recipient_delimiter", CFG_STRING, "+",    0, 0,            RC_AT(delimiter),         1, NULL, "address extension delimiters, as Postfix's recipient_delimiter (user+tag@ is looked up as user@ too); empty: none" },
	{ "reload_check_interval", CFG_MS,  "10s",   0, 3600000,      RC_AT(reload_interval),   1, NULL, "how often the map files are checked for changes; 0: only on SIGHUP" },
	{ "positive_ttl",       CFG_MS,     "31d",   60000, 365 * DAY_MS, RC_AT(positive_ttl),  1, NULL, "how long the primary's \"valid\" is cached" },
	{ "positive_refresh",   CFG_MS,     "7d",    1000, 365 * DAY_MS, RC_AT(positive_refresh), 1, NULL, "a cached \"valid\" older than this is verified again in the background" },
	{ "negative_ttl",       CFG_MS,     "3h",    1000, 30 * DAY_MS, RC_AT(negative_ttl),    1, NULL, "how long the primary's \"unknown\" is cached" },
	{ "catchall_detect",    CFG_BOOL,   "yes",   0, 0,            RC_AT(catchall_detect),   1, NULL, "ask the primary about a random local part once per domain and catchall_ttl; a domain that accepts it is catch-all (no callouts needed, valid while the primary is down)" },
	{ "catchall_ttl",       CFG_MS,     "1d",    60000, 365 * DAY_MS, RC_AT(catchall_ttl),  1, NULL, "how long a domain's catch-all verdict is cached" },
	{ "unverified_action",  CFG_ENUM,   "tempfail", 0, 0,         RC_AT(unverified_action), 1, "tempfail|accept", "the primary is down and the recipient has no cached answer: tempfail (450 4.1.1, the sender keeps the mail) or accept" },
	{ "harvest_tarpit_after", CFG_UINT, "3",     0, 100000,       RC_AT(tarpit_after),      1, NULL, "unknown recipients in a session after which each further rejection is delayed; 0: never" },
	{ "harvest_tarpit_delay", CFG_MS,   "3s",    0, 60000,        RC_AT(tarpit_delay),      1, NULL, "the delay (keep below the filter's timeout)" },
	{ "harvest_disconnect_after", CFG_UINT, "10", 0, 100000,      RC_AT(disconnect_after),  1, NULL, "unknown recipients in a session after which it is closed; 0: never" },
	{ "harvest_ip_limit",   CFG_STRING, "50/1h", 0, 0,            RC_AT(harvest_ip_limit),  1, NULL, "unknown recipients per client address over time (N/duration); beyond it every RCPT gets 451 4.7.1 and the session is closed, before any lookup; 0: none" },
};

/* The last good size of each map file, across reloads (SIGHUP). */
static struct {
	char	*path;
	size_t	 size;
} known[MAPS_MAX * 4];
static size_t nknown;

/* Domains with a catch-all probe in flight. */
static char probing[PROBES_MAX][RCPT_ADDR_MAX];


/* ---- configuration ------------------------------------------------------- */

static size_t
known_size(const char *path, int *found)
{
	for (size_t i = 0; i < nknown; i++)
		if (strcmp(known[i].path, path) == 0) {
			*found = 1;
			return known[i].size;
		}
	*found = 0;
	return 0;
}

static void
known_set(const char *path, size_t size)
{
	for (size_t i = 0; i < nknown; i++)
		if (strcmp(known[i].path, path) == 0) {
			known[i].size = size;
			return;
		}
	if (nknown < ARRAY_LEN(known)) {
		known[nknown].path = xstrdup(path);
		known[nknown++].size = size;
	}
}

static int
flt_rcpt_configure(struct filter_conf *fc, const struct cfg_block *b,
    struct cfg_errors *e)
{
	struct rcpt_conf *rc = fc->conf;
	struct rcpt_priv *p = xcalloc(1, sizeof(*p));
	struct err err;

	fc->priv = p;
	if (rc->maps.n > MAPS_MAX) {
		cfg_error(e, b->file, cfg_line_of(b, "maps"), "maps: more than "
		    "%d", MAPS_MAX);
		return -1;
	}
	for (size_t i = 0; i < rc->maps.n; i++) {
		struct map_slot *s = &p->slots[p->nslots];
		enum rcptmap_format fmt;
		const char *path;
		size_t had;
		int found;

		if (rcptmap_spec(rc->maps.v[i], &fmt, &path) < 0) {
			cfg_error(e, b->file, cfg_line_of(b, "maps"), "maps: "
			    "\"%s\": unknown type (hash, texthash, btree, lmdb, "
			    "list)", rc->maps.v[i]);
			continue;
		}
		s->spec = xstrdup(rc->maps.v[i]);
		s->path = xstrdup(path);
		if (stat(path, &s->seen) < 0)
			memset(&s->seen, 0, sizeof(s->seen));
		s->map = rcptmap_open(rc->maps.v[i], e);
		p->nslots++;
		if (s->map == NULL)
			continue;
		had = known_size(s->path, &found);
		if (rcptmap_size(s->map) == 0 && found && had > 0)
			/* a truncated file on reload: refuse the whole reload */
			cfg_error(e, s->path, 0, "empty, but it had %zu entries: "
			    "refused (the running configuration stays)", had);
		else if (rcptmap_size(s->map) == 0)
			cfg_warning(e, s->path, 0, "recipient map is empty");
	}
	if (rc->map_domains.n > 0)
		p->map_domains = relay_domains_build(&rc->map_domains, b->file,
		    cfg_line_of(b, "map_domains"), e);
	/* an empty list stays NULL: relay_domain_ok(NULL, ...) is 0 */
	if (rc->callout_domains.n > 0)
		p->callout_domains = relay_domains_build(&rc->callout_domains,
		    b->file, cfg_line_of(b, "callout_domains"), e);
	if (relay_domains_count(p->callout_domains) > 0 &&
	    fc->cfg->primary.primary[0] == '\0')
		cfg_error(e, b->file, cfg_line_of(b, "callout_domains"),
		    "callout_domains needs primary = host:port at the top level");
	if (strlen(rc->delimiter) > 8)
		cfg_error(e, b->file, cfg_line_of(b, "recipient_delimiter"),
		    "recipient_delimiter: at most 8 characters");
	if (rate_parse(rc->harvest_ip_limit, &p->ip_rate, &err) < 0)
		cfg_error(e, b->file, cfg_line_of(b, "harvest_ip_limit"),
		    "harvest_ip_limit: %s", err.msg);
	if (rc->tarpit_after > 0 && rc->tarpit_delay >= fc->timeout_ms)
		cfg_error(e, b->file, cfg_line_of(b, "harvest_tarpit_delay"),
		    "harvest_tarpit_delay must be below the filter's timeout");
	if (rc->positive_refresh > rc->positive_ttl)
		cfg_warning(e, b->file, cfg_line_of(b, "positive_refresh"),
		    "positive_refresh above positive_ttl: entries expire before "
		    "they are refreshed");
	if (rc->maps.n == 0 && rc->callout_domains.n == 0)
		cfg_warning(e, b->file, b->line, "[rcpt] has neither maps nor "
		    "callout_domains: it checks nothing");
	return 0;
}

static int
flt_rcpt_start(struct filter_conf *fc, struct err *err)
{
	struct rcpt_priv *p = fc->priv;

	/* the configuration is good: these are the sizes to defend */
	for (size_t i = 0; i < p->nslots; i++)
		if (p->slots[i].map != NULL && rcptmap_size(p->slots[i].map) > 0)
			known_set(p->slots[i].path, rcptmap_size(p->slots[i].map));
	p->last_check = now_ms();
	return 0;
}

static void
flt_rcpt_stop(struct filter_conf *fc)
{
	struct rcpt_priv *p = fc->priv;

	if (p == NULL)
		return;
	for (size_t i = 0; i < p->nslots; i++) {
		rcptmap_free(&p->slots[i].map);
		free(p->slots[i].spec);
		free(p->slots[i].path);
	}
	relay_domains_free(&p->map_domains);
	relay_domains_free(&p->callout_domains);
	free(p);
	fc->priv = NULL;
}

/* ---- reload on change ------------------------------------------------------ */

static int
changed(const struct stat *a, const struct stat *b)
{
	return a->st_ino != b->st_ino || a->st_dev != b->st_dev ||
	    a->st_size != b->st_size || a->st_mtim.tv_sec != b->st_mtim.tv_sec ||
	    a->st_mtim.tv_nsec != b->st_mtim.tv_nsec ||
	    a->st_ctim.tv_sec != b->st_ctim.tv_sec ||
	    a->st_ctim.tv_nsec != b->st_ctim.tv_nsec;
}

static void
maps_check(struct filter_conf *fc)
{
	const struct rcpt_conf *rc = fc->conf;
	struct rcpt_priv *p = fc->priv;
	uint64_t now = now_ms();

	if (rc->reload_interval == 0 || now - p->last_check < rc->reload_interval)
		return;
	p->last_check = now;
	for (size_t i = 0; i < p->nslots; i++) {
		struct map_slot *s = &p->slots[i];
		struct cfg_errors e = { 0, 1, NULL };
		struct rcptmap *m;
		struct stat sb;
		size_t old = s->map ? rcptmap_size(s->map) : 0;

		if (stat(s->path, &sb) < 0) {
			if (s->seen.st_ino != 0) {
				stats_inc(STAT_rcpt_map_reload_refused);
				log_err("rcpt: %s: %s; the loaded version (%zu "
				    "entries) stays", s->path, strerror(errno),
				    old);
				memset(&s->seen, 0, sizeof(s->seen));
			}
			continue;
		}
		if (!changed(&sb, &s->seen))
			continue;
		s->seen = sb;
		m = rcptmap_open(s->spec, &e);
		if (m == NULL) {
			stats_inc(STAT_rcpt_map_reload_refused);
			log_err("rcpt: %s changed but does not load (%d error%s); "
			    "the loaded version (%zu entries) stays", s->path,
			    e.count, e.count == 1 ? "" : "s", old);
			continue;
		}
		if (rcptmap_size(m) == 0 && old > 0) {
			stats_inc(STAT_rcpt_map_reload_refused);
			log_err("rcpt: %s is now empty, it had %zu entries: "
			    "refused, the loaded version stays", s->path, old);
			rcptmap_free(&m);
			continue;
		}
		rcptmap_free(&s->map);
		s->map = m;
		known_set(s->path, rcptmap_size(m));
		stats_inc(STAT_rcpt_map_reload_ok);
		log_info("rcpt: %s reloaded: %zu entries (was %zu)", s->path,
		    rcptmap_size(m), old);
	}
}

/* ---- per session ------------------------------------------------------------ */

static void *
flt_rcpt_txn_new(struct filter_conf *fc)
{
	return xcalloc(1, sizeof(struct rcpt_state));
}

static void
flt_rcpt_txn_free(void *state)
{
	free(state);
}

/* ---- the check ----------------------------------------------------------------- */

/* Ends a check: resumes the chain if it still waits, frees the check. */
static void
finish(struct rcpt_check *ck, int rc, struct verdict *v)
{
	if (filter_call_is_live(ck->call))
		filter_resume(ck->call, rc, v);
	filter_call_release(ck->call);
	if (ck->tarpit != NULL)
		event_free(ck->tarpit);
	verdict_clear(&ck->held);
	free(ck);
}

static void
finish_continue(struct rcpt_check *ck)
{
	struct verdict v;

	memset(&v, 0, sizeof(v));
	finish(ck, 1, &v);
}

/* A late answer for a check the chain gave up on. */
static int
gone(struct rcpt_check *ck)
{
	if (filter_call_is_live(ck->call))
		return 0;
	finish_continue(ck);
	return 1;
}

static void
noop_count(void *arg, enum store_rc rc, uint64_t cur, uint64_t prev)
{
}

static void
tarpit_done(evutil_socket_t fd, short what, void *arg)
{
	struct rcpt_check *ck = arg;
	struct verdict v = ck->held;

	memset(&ck->held, 0, sizeof(ck->held));
	finish(ck, 1, &v);
	verdict_clear(&v);
}

/* An unknown recipient: count it, maybe delay, maybe disconnect. */
static void
invalid(struct rcpt_check *ck, struct verdict *v)
{
	const struct rcpt_conf *rc = ck->fc->conf;
	const struct rcpt_priv *p = ck->fc->priv;
	struct store *store = store_global();
	char key[STORE_KEY_MAX];
	struct event_base *base = filter_base(ck->call);

	ck->st->invalid++;
	if (p->ip_rate.count > 0 && store != NULL) {
		str_fmt(key, sizeof(key), "hv:%s", ck->client);
		store_incr(store, key, p->ip_rate.window_ms, 1, noop_count, NULL);
	}
	if (rc->disconnect_after > 0 && ck->st->invalid >= rc->disconnect_after) {
		char why[VERDICT_TEXT_MAX];

		stats_inc(STAT_harvest_disconnect);
		v->disconnect = 1;
		str_copy(why, sizeof(why), v->why);
		verdict_why(v, "%s; %u unknown recipients in this session: "
		    "disconnecting", why, ck->st->invalid);
	}
	if (rc->tarpit_after > 0 && ck->st->invalid > rc->tarpit_after &&
	    rc->tarpit_delay > 0 && base != NULL) {
		struct timeval tv = { (time_t)(rc->tarpit_delay / 1000),
		    (suseconds_t)(rc->tarpit_delay % 1000) * 1000 };

		stats_inc(STAT_harvest_tarpit);
		ck->tarpit = evtimer_new(base, tarpit_done, ck);
		ck->held = *v;
		v->header = NULL;
		evtimer_add(ck->tarpit, &tv);
		return;
	}
	finish(ck, 1, v);
}

static void
unknown_verdict(struct rcpt_check *ck, struct verdict *v, const char *text)
{
	verdict_reject(v, 550, "5.1.1", "<%s>: Recipient address rejected: %s",
	    ck->addr, text);
}

static void
bg_done(void *arg, const struct callout_answer *a)
{
	struct bg *b = arg;
	struct store *store = store_global();
	struct rcptcache_entry e;
	char val[STORE_VALUE_MAX];
	size_t n;

	if (b->probe)
		for (size_t i = 0; i < PROBES_MAX; i++)
			if (strcmp(probing[i], b->domain) == 0)
				probing[i][0] = '\0';
	if (a->result != CALLOUT_VALID && a->result != CALLOUT_INVALID) {
		free(b);
		return;
	}
	memset(&e, 0, sizeof(e));
	e.checked = store_wall_ms();
	if (b->probe) {
		e.kind = a->result == CALLOUT_VALID ? RCACHE_CATCHALL :
		    RCACHE_NOT_CATCHALL;
		if (e.kind == RCACHE_CATCHALL)
			log_info("rcpt: %s is catch-all at the primary (a random "
			    "local part got %d)", b->domain, a->code);
	} else {
		e.kind = a->result == CALLOUT_VALID ? RCACHE_VALID :
		    RCACHE_INVALID;
		e.code = a->code;
		str_copy(e.enh, sizeof(e.enh), a->enh);
		str_copy(e.text, sizeof(e.text), a->text);
	}
	if ((n = rcptcache_encode(&e, val, sizeof(val))) > 0 && store != NULL)
		store_put(store, b->key, val, n, b->probe ? b->ca_ttl :
		    e.kind == RCACHE_VALID ? b->pos_ttl : b->neg_ttl, NULL,
		    NULL);
	free(b);
}

static struct bg *
bg_new(const struct rcpt_check *ck)
{
	const struct rcpt_conf *rc = ck->fc->conf;
	struct bg *b = xcalloc(1, sizeof(*b));

	b->pos_ttl = rc->positive_ttl;
	b->neg_ttl = rc->negative_ttl;
	b->ca_ttl = rc->catchall_ttl;
	str_copy(b->domain, sizeof(b->domain), ck->domain);
	return b;
}

static void
refresh(struct rcpt_check *ck)
{
	struct callout_answer now;
	struct bg *b = bg_new(ck);

	str_copy(b->key, sizeof(b->key), ck->key);
	if (callout_verify(ck->addr, CALLOUT_BACKGROUND, bg_done, b, &now) == 1)
		free(b);
	else
		stats_inc(STAT_callout_refresh);
}

static void
probe_catchall(struct rcpt_check *ck)
{
	char addr[RCPT_ADDR_MAX], hex[17];
	struct callout_answer now;
	struct bg *b;
	size_t slot = PROBES_MAX;

	for (size_t i = 0; i < PROBES_MAX; i++) {
		if (strcmp(probing[i], ck->domain) == 0)
			return;			/* one at a time */
		if (probing[i][0] == '\0' && slot == PROBES_MAX)
			slot = i;
	}
	if (slot == PROBES_MAX)
		return;				/* a later RCPT will */
	util_random_hex(hex, 16);
	if (str_fmt(addr, sizeof(addr), "mxguard-probe-%s@%s", hex,
	    ck->domain) < 0)
		return;
	b = bg_new(ck);
	b->probe = 1;
	rcptcache_catchall_key(ck->domain, b->key, sizeof(b->key));
	if (callout_verify(addr, CALLOUT_BACKGROUND, bg_done, b, &now) == 1) {
		free(b);
		return;
	}
	str_copy(probing[slot], sizeof(probing[slot]), ck->domain);
	stats_inc(STAT_callout_catchall_probe);
}

static void
callout_done(void *arg, const struct callout_answer *a)
{
	struct rcpt_check *ck = arg;
	const struct rcpt_conf *rc = ck->fc->conf;
	struct store *store = store_global();
	struct rcptcache_entry e;
	struct verdict v;
	char val[STORE_VALUE_MAX];
	size_t n;

	/* the answer is worth keeping even if the client is gone */
	if ((a->result == CALLOUT_VALID || a->result == CALLOUT_INVALID) &&
	    store != NULL && ck->key[0] != '\0') {
		memset(&e, 0, sizeof(e));
		e.kind = a->result == CALLOUT_VALID ? RCACHE_VALID :
		    RCACHE_INVALID;
		e.checked = store_wall_ms();
		e.code = a->code;
		str_copy(e.enh, sizeof(e.enh), a->enh);
		str_copy(e.text, sizeof(e.text), a->text);
		if ((n = rcptcache_encode(&e, val, sizeof(val))) > 0)
			store_put(store, ck->key, val, n, e.kind == RCACHE_VALID ?
			    rc->positive_ttl : rc->negative_ttl, NULL, NULL);
	}
	if (gone(ck))
		return;
	memset(&v, 0, sizeof(v));
	switch (a->result) {
	case CALLOUT_VALID:
		log_debug("%s rcpt: <%s> valid: callout %d (%lu ms)", ck->sid,
		    ck->addr, a->code, a->ms);
		finish(ck, 1, &v);
		return;
	case CALLOUT_INVALID:
		unknown_verdict(ck, &v, "User unknown");
		verdict_why(&v, "callout: %d %s %s (%lu ms)", a->code,
		    a->enh[0] ? a->enh : "-", a->text, a->ms);
		invalid(ck, &v);
		return;
	case CALLOUT_DOWN:
		if (ck->store_failed) {
			/* neither the cache nor the primary: on_error */
			verdict_why(&v, "store failed and primary down: %s",
			    a->text);
			finish(ck, -1, &v);
			return;
		}
		if (rc->unverified_action == UNVERIFIED_ACCEPT) {
			stats_inc(STAT_rcpt_unverified_accept);
			log_info("%s rcpt: <%s> accepted unverified: primary down, "
			    "no cached answer", ck->sid, ck->addr);
			finish(ck, 1, &v);
			return;
		}
		stats_inc(STAT_rcpt_unverified_tempfail);
		verdict_tempfail(&v, 450, "4.1.1", "<%s>: Recipient address "
		    "rejected: unverified address: primary MX unreachable, try "
		    "again later", ck->addr);
		verdict_why(&v, "primary down, no cached answer: %s", a->text);
		finish(ck, 1, &v);
		return;
	default:
		stats_inc(STAT_rcpt_callout_tempfail);
		verdict_tempfail(&v, 451, "4.3.0", "<%s>: Recipient address "
		    "verification temporarily unavailable, try again later",
		    ck->addr);
		if (a->code)
			verdict_why(&v, "callout %s: %d %s %s",
			    callout_result_name(a->result), a->code,
			    a->enh[0] ? a->enh : "-", a->text);
		else
			verdict_why(&v, "callout %s: %s",
			    callout_result_name(a->result), a->text);
		finish(ck, 1, &v);
		return;
	}
}

static void
step_callout(struct rcpt_check *ck)
{
	struct callout_answer now;

	if (callout_verify(ck->addr, 0, callout_done, ck, &now) == 1)
		callout_done(ck, &now);
}

static void
catchall_done(void *arg, enum store_rc rc, const char *val, size_t len)
{
	struct rcpt_check *ck = arg;
	struct rcptcache_entry e;

	if (gone(ck))
		return;
	if (rc == STORE_OK) {
		enum rcptcache_kind k = rcptcache_decode(val, len, &e);

		if (k == RCACHE_CATCHALL) {
			stats_inc(STAT_rcpt_catchall);
			log_debug("%s rcpt: <%s> valid: %s is catch-all", ck->sid,
			    ck->addr, ck->domain);
			finish_continue(ck);
			return;
		}
		if (k == RCACHE_NOT_CATCHALL) {
			step_callout(ck);
			return;
		}
	}
	if (rc == STORE_ERR)
		ck->store_failed = 1;
	else if (primary_health() != PRIMARY_DOWN)
		probe_catchall(ck);
	step_callout(ck);
}

static void
step_catchall(struct rcpt_check *ck)
{
	const struct rcpt_conf *rc = ck->fc->conf;
	struct store *store = store_global();
	char key[RCPTCACHE_KEY_MAX];

	if (!rc->catchall_detect || store == NULL || ck->store_failed ||
	    rcptcache_catchall_key(ck->domain, key, sizeof(key)) < 0) {
		step_callout(ck);
		return;
	}
	store_get(store, key, catchall_done, ck);
}

static void
cache_done(void *arg, enum store_rc rc, const char *val, size_t len)
{
	struct rcpt_check *ck = arg;
	const struct rcpt_conf *rcf = ck->fc->conf;
	struct rcptcache_entry e;
	struct verdict v;

	if (gone(ck))
		return;
	if (rc == STORE_ERR) {
		ck->store_failed = 1;
		step_catchall(ck);
		return;
	}
	if (rc == STORE_OK) {
		switch (rcptcache_decode(val, len, &e)) {
		case RCACHE_VALID:
			stats_inc(STAT_rcpt_cache_valid);
			if (store_wall_ms() - e.checked > rcf->positive_refresh &&
			    primary_health() != PRIMARY_DOWN)
				refresh(ck);
			log_debug("%s rcpt: <%s> valid (cached)", ck->sid,
			    ck->addr);
			finish_continue(ck);
			return;
		case RCACHE_INVALID:
			stats_inc(STAT_rcpt_cache_invalid);
			memset(&v, 0, sizeof(v));
			unknown_verdict(ck, &v, "User unknown");
			verdict_why(&v, "cached callout answer: %d %s %s (%llus "
			    "ago)", e.code, e.enh[0] ? e.enh : "-", e.text,
			    (unsigned long long)((store_wall_ms() - e.checked) /
			    1000));
			invalid(ck, &v);
			return;
		default:
			break;		/* unreadable: a miss */
		}
	}
	stats_inc(STAT_rcpt_cache_miss);
	step_catchall(ck);
}

static void
step_cache(struct rcpt_check *ck)
{
	struct store *store = store_global();

	if (store == NULL || rcptcache_addr_key(ck->addr, ck->key,
	    sizeof(ck->key)) < 0) {
		ck->store_failed = store == NULL;
		ck->key[0] = '\0';
		step_catchall(ck);
		return;
	}
	store_get(store, ck->key, cache_done, ck);
}

/* The static maps (synchronous), then the callout path or a verdict. */
static void
step_maps(struct rcpt_check *ck)
{
	const struct rcpt_conf *rc = ck->fc->conf;
	const struct rcpt_priv *p = ck->fc->priv;
	enum rcptmap_match m = RCPTMAP_NONE;
	const char *where = NULL;
	struct verdict v;

	for (size_t i = 0; i < p->nslots && m == RCPTMAP_NONE; i++)
		if (p->slots[i].map != NULL) {
			m = rcptmap_lookup(p->slots[i].map, ck->addr,
			    rc->delimiter);
			where = p->slots[i].spec;
		}
	if (m != RCPTMAP_NONE) {
		stats_inc(STAT_rcpt_map_valid);
		log_debug("%s rcpt: <%s> valid: %s in %s", ck->sid, ck->addr,
		    rcptmap_match_name(m), where);
		finish_continue(ck);
		return;
	}
	if (relay_domain_ok(p->callout_domains, ck->domain)) {
		step_cache(ck);
		return;
	}
	if (p->nslots > 0 && (p->map_domains == NULL ||
	    relay_domain_ok(p->map_domains, ck->domain))) {
		memset(&v, 0, sizeof(v));
		stats_inc(STAT_rcpt_map_unknown);
		unknown_verdict(ck, &v, "User unknown in relay recipient table");
		verdict_why(&v, "not in the recipient maps");
		invalid(ck, &v);
		return;
	}
	stats_inc(STAT_rcpt_unchecked);
	finish_continue(ck);
}

static void
harvest_ip_done(void *arg, enum store_rc rc, uint64_t cur, uint64_t prev)
{
	struct rcpt_check *ck = arg;
	const struct rcpt_priv *p = ck->fc->priv;
	struct verdict v;

	if (gone(ck))
		return;
	if (rc == STORE_ERR)
		/* the lookups that follow fail the same way if the store
		 * is really gone, and take the error path there */
		ck->store_failed = 1;
	else if (rc == STORE_OK && p->ip_rate.count > 0 &&
	    rate_estimate(cur, prev, store_wall_ms(), p->ip_rate.window_ms) >=
	    p->ip_rate.count) {
		memset(&v, 0, sizeof(v));
		stats_inc(STAT_harvest_ip_blocked);
		verdict_tempfail(&v, 451, "4.7.1", "<%s>: Too many unknown "
		    "recipients from [%s], try again later", ck->addr,
		    ck->client);
		verdict_why(&v, "harvest: %llu unknown recipients per %llus "
		    "from [%s] reached", (unsigned long long)p->ip_rate.count,
		    (unsigned long long)(p->ip_rate.window_ms / 1000),
		    ck->client);
		v.disconnect = 1;
		finish(ck, 1, &v);
		return;
	}
	step_maps(ck);
}

static int
flt_rcpt_check(struct filter_call *call, enum filter_stage stage,
    const struct txn_view *tv, struct verdict *v)
{
	struct filter_conf *fc = filter_conf_of(call);
	const struct rcpt_priv *p = fc->priv;
	struct rcpt_check *ck;
	const char *at;

	v->kind = VERDICT_CONTINUE;
	if (stage != STAGE_RCPT || tv->rcpt == NULL)
		return 1;
	ck = xcalloc(1, sizeof(*ck));
	/* tv is ours only during this call: copy what the steps need */
	if (str_copy(ck->addr, sizeof(ck->addr), tv->rcpt) < 0 ||
	    (at = strrchr(ck->addr, '@')) == NULL) {
		/* the core refuses these before any filter */
		free(ck);
		verdict_why(v, "recipient address too long or without domain");
		return -1;
	}
	ck->fc = fc;
	ck->st = filter_state(call);
	str_copy(ck->sid, sizeof(ck->sid), tv->session_id);
	str_copy(ck->client, sizeof(ck->client), tv->client_addr);
	str_copy(ck->domain, sizeof(ck->domain), at + 1);
	str_lower(ck->domain);
	ck->call = filter_call_hold(call);
	/*
	 * Each step may finish at once (LMDB answers synchronously; the
	 * chain accepts a resume inside check) or later (Redis, a callout).
	 */
	if (p->ip_rate.count > 0 && store_global() != NULL) {
		char key[STORE_KEY_MAX];

		str_fmt(key, sizeof(key), "hv:%s", ck->client);
		store_incr(store_global(), key, p->ip_rate.window_ms, 0,
		    harvest_ip_done, ck);
	} else
		step_maps(ck);
	return 0;
}

const struct filter_ops flt_rcpt_ops = {
	.name = "rcpt",
	.stages = STAGE_BIT(STAGE_RCPT),
	.keys = rcpt_keys,
	.nkeys = ARRAY_LEN(rcpt_keys),
	.conf_size = sizeof(struct rcpt_conf),
	.configure = flt_rcpt_configure,
	.start = flt_rcpt_start,
	.stop = flt_rcpt_stop,
	.txn_new = flt_rcpt_txn_new,
	.txn_free = flt_rcpt_txn_free,
	.check = flt_rcpt_check,
	.tick = maps_check,
};
