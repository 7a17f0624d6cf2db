/*
 * defer.c - defer-while-primary-up: a backup MX has no business taking
 * mail while the primary takes it.
 *
 * Legitimate MTAs try the primary first (lowest MX preference) and come to
 * the backup only when it fails; spam engines often go straight for the
 * backup, hoping for weaker checks. While the primary is up (primary.h),
 * a new transaction gets "451 4.3.0 Please deliver to the primary MX" at
 * MAIL, except:
 *   - from allow_networks (monitoring, partners that must use the backup);
 *   - a retry: the deferral is remembered in the store under the triplet
 *     a retry presents again, the client's network (/24, /64: large
 *     senders retry from another address of their pool) and the sender;
 *     the same pair coming back after retry_min passes and is remembered
 *     as passed for memory. An MTA that cannot reach the primary (a
 *     partition) so loses nothing but one retry interval.
 * While the primary is down or its state unknown nothing is deferred: a
 * retry that comes back after the primary went down is accepted.
 * A store failure takes on_error (tempfail by default; on_error = accept
 * lets mail through when the store is down).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../proxy/config.h"
#include "../proxy/filter.h"
#include "../proxy/log.h"
#include "../proxy/netlist.h"
#include "../proxy/primary.h"
#include "../proxy/ratewin.h"
#include "../proxy/stats.h"
#include "../proxy/store.h"
#include "../proxy/util.h"
#include "filters.h"

struct defer_conf {
	struct cfg_list	 allow;
	uint64_t	 retry_min;
	uint64_t	 memory;
	uint64_t	 v4bits, v6bits;
	char		*text;
};

struct defer_priv {
	struct netlist	*allow;
};

/* One check; holds the call until the store answers. */
struct defer_check {
	struct filter_call *call;
	uint64_t	 retry_min, memory;
	char		 key[STORE_KEY_MAX];
	char		 text[VERDICT_TEXT_MAX];
	char		 what[STORE_KEY_MAX];
};

#define DC_AT(f)	offsetof(struct defer_conf, f)
static const struct cfg_key defer_keys[] = {
	{ "allow_networks", CFG_LIST,   "",    0, 0,             DC_AT(allow),     1, NULL, "clients never deferred: networks (192.0.2.0/24, 2001:db8::/32) or cidr:/path tables" },
	{ "retry_min",      CFG_MS,     "60s", 0, 86400000,      DC_AT(retry_min), 1, NULL, "a deferred client and sender coming back after this pass (as a legitimate MTA's retry)" },
	{ "memory",         CFG_MS,     "1d",  60000, 30ull * 86400000, DC_AT(memory), 1, NULL, "how long a deferral, and a retry that passed, are remembered" },
	{ "network_v4",     CFG_UINT,   "24",  8, 32,            DC_AT(v4bits),    1, NULL, "IPv4 prefix length of the client network in the remembered triplet" },
	{ "network_v6",     CFG_UINT,   "64",  16, 128,          DC_AT(v6bits),    1, NULL, "IPv6 prefix length of the client network in the remembered triplet" },
	{ "text",           CFG_STRING, "Please deliver to the primary MX", 0, 0, DC_AT(text), 1, NULL, "the text of the 451 4.3.0 reply" },
};

static int
flt_defer_configure(struct filter_conf *fc, const struct cfg_block *b,
    struct cfg_errors *e)
{
	struct defer_conf *dc = fc->conf;
	struct defer_priv *p = xcalloc(1, sizeof(*p));

	fc->priv = p;
	p->allow = netlist_build(&dc->allow, b->file,
	    cfg_line_of(b, "allow_networks"), e);
	if (fc->cfg->primary.primary[0] == '\0')
		cfg_error(e, b->file, b->line, "[defer] needs primary = "
		    "host:port at the top level: it defers only while the "
		    "primary is up");
	for (const char *t = dc->text; *t; t++)
		if ((unsigned char)*t < 0x20 || *t == 0x7f) {
			cfg_error(e, b->file, cfg_line_of(b, "text"), "text: "
			    "control character");
			break;
		}
	if (dc->retry_min >= dc->memory)
		cfg_error(e, b->file, cfg_line_of(b, "retry_min"), "retry_min "
		    "must be below memory, or no retry could ever pass");
	return 0;
}

static void
flt_defer_stop(struct filter_conf *fc)
{
	struct defer_priv *p = fc->priv;

	if (p == NULL)
		return;
	netlist_free(&p->allow);
	free(p);
	fc->priv = NULL;
}

static void
finish(struct defer_check *dk, int rc, struct verdict *v)
{
	if (filter_call_is_live(dk->call))
		filter_resume(dk->call, rc, v);
	filter_call_release(dk->call);
	free(dk);
}

static void
remembered(void *arg, enum store_rc rc, const char *val, size_t len)
{
	struct defer_check *dk = arg;
	struct store *st = store_global();
	uint64_t now = store_wall_ms(), first = 0;
	struct verdict v;
	char buf[64], q[LOG_QUOTE_BUF];

	memset(&v, 0, sizeof(v));
	if (!filter_call_is_live(dk->call) || st == NULL) {
		finish(dk, 1, &v);
		return;
	}
	if (rc == STORE_ERR) {
		verdict_why(&v, "store failed");
		finish(dk, -1, &v);
		return;
	}
	if (rc == STORE_OK && len > 2 && val[0] == 'P') {
		/* passed before: keep it passing */
		str_fmt(buf, sizeof(buf), "P %" PRIu64, now);
		store_put(st, dk->key, buf, strlen(buf), dk->memory, NULL, NULL);
		stats_inc(STAT_defer_retry_passed);
		log_info("defer: %s passes (retried before)",
		    log_quote_str(q, sizeof(q), dk->what));
		finish(dk, 1, &v);
		return;
	}
	if (rc == STORE_OK && len > 2 && val[0] == 'D') {
		str_ncopy(buf, sizeof(buf), val + 2, len - 2);
		first = strtoull(buf, NULL, 10);
		if (first > 0 && now >= first + dk->retry_min) {
			str_fmt(buf, sizeof(buf), "P %" PRIu64, now);
			store_put(st, dk->key, buf, strlen(buf), dk->memory, NULL,
			    NULL);
			stats_inc(STAT_defer_retry_passed);
			log_info("defer: %s passes: a retry %" PRIu64 "s after "
			    "its deferral", log_quote_str(q, sizeof(q), dk->what),
			    (now - first) / 1000);
			finish(dk, 1, &v);
			return;
		}
	} else {
		/* first time: remember when */
		str_fmt(buf, sizeof(buf), "D %" PRIu64, now);
		store_put(st, dk->key, buf, strlen(buf), dk->memory, NULL, NULL);
		first = now;
	}
	stats_inc(STAT_defer_deferred);
	verdict_tempfail(&v, 451, "4.3.0", "%s", dk->text);
	verdict_why(&v, "primary %s is up; %s %s", primary_name(), dk->what,
	    now == first ? "deferred" : "retried too soon");
	finish(dk, 1, &v);
}

static int
flt_defer_check(struct filter_call *call, enum filter_stage stage,
    const struct txn_view *tv, struct verdict *v)
{
	struct filter_conf *fc = filter_conf_of(call);
	const struct defer_conf *dc = fc->conf;
	const struct defer_priv *p = fc->priv;
	struct store *st = store_global();
	struct defer_check *dk;
	char net[RATE_NET_MAX], sender[300];

	v->kind = VERDICT_CONTINUE;
	if (stage != STAGE_MAIL || primary_health() != PRIMARY_UP)
		return 1;
	if (netlist_match(p->allow, tv->client)) {
		stats_inc(STAT_defer_allowlisted);
		return 1;
	}
	if (st == NULL) {
		verdict_why(v, "no store");
		return -1;
	}
	if (rate_client_net(tv->client, (unsigned)dc->v4bits,
	    (unsigned)dc->v6bits, net, sizeof(net)) < 0)
		return 1;		/* not an IP client: nothing to key */
	str_copy(sender, sizeof(sender), tv->sender && tv->sender[0] ?
	    tv->sender : "<>");
	str_lower(sender);
	dk = xcalloc(1, sizeof(*dk));
	dk->retry_min = dc->retry_min;
	dk->memory = dc->memory;
	str_copy(dk->text, sizeof(dk->text), dc->text);
	str_fmt(dk->key, sizeof(dk->key), "df:%s|%s", net, sender);
	str_fmt(dk->what, sizeof(dk->what), "client network %s sender <%s>",
	    net, sender);
	dk->call = filter_call_hold(call);
	store_get(st, dk->key, remembered, dk);
	return 0;
}

const struct filter_ops flt_defer_ops = {
	.name = "defer",
	.stages = STAGE_BIT(STAGE_MAIL),
	.keys = defer_keys,
	.nkeys = ARRAY_LEN(defer_keys),
	.conf_size = sizeof(struct defer_conf),
	.configure = flt_defer_configure,
	.stop = flt_defer_stop,
	.check = flt_defer_check,
};
