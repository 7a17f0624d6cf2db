/*
 * ratelimit.c - flood control: connections, messages and recipients per
 * time window, by client address, client network, sender domain and
 * recipient domain, and a cap on what the backup queues per recipient
 * domain while the primary is down.
 *
 * Counters live in the store (store_incr: two fixed windows per subject,
 * a sliding estimate, ratewin.h), so instances sharing Redis share them.
 * Every attempt counts, refused ones included: a client over a limit stays
 * over it while it keeps trying. Excess gets 451 4.7.1 with the reason (at
 * connect the session makes it 421), never a silent drop.
 *
 * Messages per recipient domain are counted at the first recipient of
 * each domain in a transaction. The outage cap (outage_msg_per_domain)
 * applies only while the primary is down and counts only what passes, so
 * the queue that later floods the primary stays bounded; it counts at
 * RCPT time, i.e. it may count a message the backend then refuses (the
 * cap errs on the safe side).
 * A store failure takes on_error (tempfail by default).
 */
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

enum subject { SUBJ_IP = 0, SUBJ_NET, SUBJ_SENDER_DOMAIN, SUBJ_RCPT_DOMAIN };

enum rl {
	RL_CONN_IP = 0, RL_CONN_NET, RL_MSG_IP, RL_MSG_NET,
	RL_MSG_SENDER_DOMAIN, RL_RCPT_IP, RL_RCPT_NET, RL_RCPT_SENDER_DOMAIN,
	RL_RCPT_DOMAIN, RL_MSG_DOMAIN, RL_OUTAGE, RL_COUNT
};

static const struct {
	const char	*name;		/* key and counter suffix */
	enum filter_stage stage;
	enum subject	 subj;
	enum stat_id	 stat;
	const char	*text;		/* "Too many %s from/for %s" */
	int		 once_per_domain;
} rls[RL_COUNT] = {
	{ "conn_per_ip",   STAGE_CONNECT, SUBJ_IP,  STAT_rate_conn_ip,  "connections from", 0 },
	{ "conn_per_net",  STAGE_CONNECT, SUBJ_NET, STAT_rate_conn_net, "connections from", 0 },
	{ "msg_per_ip",    STAGE_MAIL, SUBJ_IP,  STAT_rate_msg_ip,  "messages from", 0 },
	{ "msg_per_net",   STAGE_MAIL, SUBJ_NET, STAT_rate_msg_net, "messages from", 0 },
	{ "msg_per_sender_domain", STAGE_MAIL, SUBJ_SENDER_DOMAIN, STAT_rate_msg_sender_domain, "messages from", 0 },
	{ "rcpt_per_ip",   STAGE_RCPT, SUBJ_IP,  STAT_rate_rcpt_ip,  "recipients from", 0 },
	{ "rcpt_per_net",  STAGE_RCPT, SUBJ_NET, STAT_rate_rcpt_net, "recipients from", 0 },
	{ "rcpt_per_sender_domain", STAGE_RCPT, SUBJ_SENDER_DOMAIN, STAT_rate_rcpt_sender_domain, "recipients from", 0 },
	{ "rcpt_per_domain", STAGE_RCPT, SUBJ_RCPT_DOMAIN, STAT_rate_rcpt_domain, "recipients for", 0 },
	{ "msg_per_domain", STAGE_RCPT, SUBJ_RCPT_DOMAIN, STAT_rate_msg_rcpt_domain, "messages for", 1 },
	{ "outage_msg_per_domain", STAGE_RCPT, SUBJ_RCPT_DOMAIN, STAT_rate_outage_cap, "messages queued for", 1 },
};

#define SEEN_MAX	8		/* recipient domains remembered per txn */
#define DOMAIN_LEN	256

struct rl_conf {
	char		*rates[RL_COUNT];
	struct cfg_list	 allow;
	uint64_t	 v4bits, v6bits;
};

struct rl_priv {
	struct rate	 rate[RL_COUNT];
	struct netlist	*allow;
};

struct rl_state {
	char		 seen[SEEN_MAX][DOMAIN_LEN];	/* this transaction */
	size_t		 nseen;
};

/* One check: several counters in flight, one verdict. */
struct rl_check {
	struct filter_call *call;
	struct rl_state	*st;		/* pinned by the held call */
	int		 pending;
	int		 failed;
	int		 over;		/* the first limit exceeded, or -1 */
	char		 over_subject[DOMAIN_LEN + 8];
	char		 subject[RL_COUNT][DOMAIN_LEN + 8];
	char		 key[RL_COUNT][STORE_KEY_MAX];
	int		 used[RL_COUNT];
	struct rate	 rate[RL_COUNT];
	char		 domain[DOMAIN_LEN];	/* RCPT: the recipient's */
	int		 outage;	/* count the outage cap if it passes */
};

/* one callback argument per counter */
struct rl_arg {
	struct rl_check	*ck;
	int		 which;
};

#define RL_AT(f)	offsetof(struct rl_conf, f)
static const struct cfg_key rl_keys[] = {
	{ "conn_per_ip",    CFG_STRING, "", 0, 0, RL_AT(rates[RL_CONN_IP]),    1, NULL, "connections per client address (N/duration, e.g. 60/1m; empty: no limit)" },
	{ "conn_per_net",   CFG_STRING, "", 0, 0, RL_AT(rates[RL_CONN_NET]),   1, NULL, "connections per client network (/24, /64)" },
	{ "msg_per_ip",     CFG_STRING, "", 0, 0, RL_AT(rates[RL_MSG_IP]),     1, NULL, "messages (MAIL commands) per client address" },
	{ "msg_per_net",    CFG_STRING, "", 0, 0, RL_AT(rates[RL_MSG_NET]),    1, NULL, "messages per client network" },
	{ "msg_per_sender_domain", CFG_STRING, "", 0, 0, RL_AT(rates[RL_MSG_SENDER_DOMAIN]), 1, NULL, "messages per sender domain" },
	{ "rcpt_per_ip",    CFG_STRING, "", 0, 0, RL_AT(rates[RL_RCPT_IP]),    1, NULL, "recipients per client address" },
	{ "rcpt_per_net",   CFG_STRING, "", 0, 0, RL_AT(rates[RL_RCPT_NET]),   1, NULL, "recipients per client network" },
	{ "rcpt_per_sender_domain", CFG_STRING, "", 0, 0, RL_AT(rates[RL_RCPT_SENDER_DOMAIN]), 1, NULL, "recipients per sender domain" },
	{ "rcpt_per_domain", CFG_STRING, "", 0, 0, RL_AT(rates[RL_RCPT_DOMAIN]), 1, NULL, "recipients per recipient domain" },
	{ "msg_per_domain", CFG_STRING, "", 0, 0, RL_AT(rates[RL_MSG_DOMAIN]), 1, NULL, "messages per recipient domain" },
	{ "outage_msg_per_domain", CFG_STRING, "", 0, 0, RL_AT(rates[RL_OUTAGE]), 1, NULL, "while the primary is down: messages accepted per recipient domain (e.g. 500/1h), so the queue that later floods the primary stays bounded" },
	{ "allow_networks", CFG_LIST,   "",   0, 0,   RL_AT(allow),  1, NULL, "clients no limit applies to: networks or cidr:/path tables" },
	{ "network_v4",     CFG_UINT,   "24", 8, 32,  RL_AT(v4bits), 1, NULL, "IPv4 prefix length of a client network" },
	{ "network_v6",     CFG_UINT,   "64", 16, 128, RL_AT(v6bits), 1, NULL, "IPv6 prefix length of a client network" },
};

static int
flt_rl_configure(struct filter_conf *fc, const struct cfg_block *b,
    struct cfg_errors *e)
{
	struct rl_conf *rc = fc->conf;
	struct rl_priv *p = xcalloc(1, sizeof(*p));
	struct err err;
	int any = 0;

	fc->priv = p;
	for (int i = 0; i < RL_COUNT; i++) {
		if (rate_parse(rc->rates[i], &p->rate[i], &err) < 0)
			cfg_error(e, b->file, cfg_line_of(b, rls[i].name),
			    "%s: %s", rls[i].name, err.msg);
		any |= p->rate[i].count > 0;
	}
	if (p->rate[RL_OUTAGE].count > 0 && fc->cfg->primary.primary[0] == '\0')
		cfg_error(e, b->file, cfg_line_of(b, "outage_msg_per_domain"),
		    "outage_msg_per_domain needs primary = host:port (it "
		    "applies while the primary is down)");
	p->allow = netlist_build(&rc->allow, b->file,
	    cfg_line_of(b, "allow_networks"), e);
	if (!any)
		cfg_warning(e, b->file, b->line, "[ratelimit] sets no limit");
	return 0;
}

static void
flt_rl_stop(struct filter_conf *fc)
{
	struct rl_priv *p = fc->priv;

	if (p == NULL)
		return;
	netlist_free(&p->allow);
	free(p);
	fc->priv = NULL;
}

static void *
flt_rl_txn_new(struct filter_conf *fc)
{
	return xcalloc(1, sizeof(struct rl_state));
}

static void
flt_rl_txn_free(void *state)
{
	free(state);
}

static int
domain_seen(const struct rl_state *st, const char *d)
{
	for (size_t i = 0; i < st->nseen; i++)
		if (strcmp(st->seen[i], d) == 0)
			return 1;
	return 0;
}

static void
noop_count(void *arg, enum store_rc rc, uint64_t cur, uint64_t prev)
{
}

/* All counters are in: decide. */
static void
decide(struct rl_check *ck)
{
	struct verdict v;
	int i = ck->over;

	memset(&v, 0, sizeof(v));
	if (ck->failed) {
		verdict_why(&v, "store failed");
		if (filter_call_is_live(ck->call))
			filter_resume(ck->call, -1, &v);
	} else if (i >= 0) {
		char r[32];

		stats_inc(rls[i].stat);
		rate_fmt(&ck->rate[i], r, sizeof(r));
		if (i == RL_OUTAGE)
			verdict_tempfail(&v, 451, "4.7.1", "Too much mail queued "
			    "for %s while the primary MX is down, try again "
			    "later", ck->over_subject);
		else
			verdict_tempfail(&v, 451, "4.7.1", "Too many %s %s, try "
			    "again later", rls[i].text, ck->over_subject);
		verdict_why(&v, "limit %s %s exceeded by %s", rls[i].name, r,
		    ck->over_subject);
		if (filter_call_is_live(ck->call))
			filter_resume(ck->call, 1, &v);
	} else {
		struct store *st = store_global();

		/* it passes: count it against the outage cap, remember the
		 * domain as counted for this transaction */
		if (ck->outage && st != NULL)
			store_incr(st, ck->key[RL_OUTAGE],
			    ck->rate[RL_OUTAGE].window_ms, 1, noop_count, NULL);
		if (ck->domain[0] != '\0' && ck->st->nseen < SEEN_MAX &&
		    !domain_seen(ck->st, ck->domain))
			str_copy(ck->st->seen[ck->st->nseen++], DOMAIN_LEN,
			    ck->domain);
		if (filter_call_is_live(ck->call))
			filter_resume(ck->call, 1, &v);
	}
	filter_call_release(ck->call);
	free(ck);
}

static void
counted(void *arg, enum store_rc rc, uint64_t cur, uint64_t prev)
{
	struct rl_arg *a = arg;
	struct rl_check *ck = a->ck;
	int i = a->which;

	free(a);
	if (rc == STORE_ERR)
		ck->failed = 1;
	else {
		uint64_t est = rate_estimate(cur, prev, store_wall_ms(),
		    ck->rate[i].window_ms);
		/* the outage cap reads first: at the cap is over it */
		int over = i == RL_OUTAGE ? est >= ck->rate[i].count :
		    est > ck->rate[i].count;

		if (over && (ck->over < 0 || i < ck->over)) {
			ck->over = i;
			str_copy(ck->over_subject, sizeof(ck->over_subject),
			    ck->subject[i]);
		}
	}
	if (--ck->pending == 0)
		decide(ck);
}

static int
flt_rl_check(struct filter_call *call, enum filter_stage stage,
    const struct txn_view *tv, struct verdict *v)
{
	struct filter_conf *fc = filter_conf_of(call);
	const struct rl_conf *rc = fc->conf;
	const struct rl_priv *p = fc->priv;
	struct rl_state *st = filter_state(call);
	struct store *store = store_global();
	struct rl_check *ck;
	char net[RATE_NET_MAX], sdom[DOMAIN_LEN] = "", rdom[DOMAIN_LEN] = "";
	const char *at;
	int n = 0;

	v->kind = VERDICT_CONTINUE;
	if (stage == STAGE_MAIL)
		st->nseen = 0;		/* a new transaction */
	if (netlist_match(p->allow, tv->client))
		return 1;
	if (rate_client_net(tv->client, (unsigned)rc->v4bits,
	    (unsigned)rc->v6bits, net, sizeof(net)) < 0)
		return 1;
	if (tv->sender != NULL && (at = strrchr(tv->sender, '@')) != NULL) {
		str_copy(sdom, sizeof(sdom), at + 1);
		str_lower(sdom);
	}
	if (stage == STAGE_RCPT && tv->rcpt != NULL &&
	    (at = strrchr(tv->rcpt, '@')) != NULL) {
		str_copy(rdom, sizeof(rdom), at + 1);
		str_lower(rdom);
	}
	ck = xcalloc(1, sizeof(*ck));
	ck->over = -1;
	ck->st = st;
	if (stage == STAGE_RCPT)
		str_copy(ck->domain, sizeof(ck->domain), rdom);
	for (int i = 0; i < RL_COUNT; i++) {
		const char *subj = NULL;

		if (rls[i].stage != stage || p->rate[i].count == 0)
			continue;
		switch (rls[i].subj) {
		case SUBJ_IP:
			subj = tv->client_addr;
			break;
		case SUBJ_NET:
			subj = net;
			break;
		case SUBJ_SENDER_DOMAIN:
			subj = sdom[0] ? sdom : NULL;
			break;
		case SUBJ_RCPT_DOMAIN:
			subj = rdom[0] ? rdom : NULL;
			break;
		}
		if (subj == NULL)
			continue;
		if (rls[i].once_per_domain && domain_seen(st, rdom))
			continue;
		if (i == RL_OUTAGE) {
			if (primary_health() != PRIMARY_DOWN)
				continue;
			ck->outage = 1;
		}
		ck->used[i] = 1;
		ck->rate[i] = p->rate[i];
		if (rls[i].subj == SUBJ_IP || rls[i].subj == SUBJ_NET)
			str_fmt(ck->subject[i], sizeof(ck->subject[i]), "[%s]",
			    subj);
		else
			str_copy(ck->subject[i], sizeof(ck->subject[i]), subj);
		str_fmt(ck->key[i], sizeof(ck->key[i]), "rl:%s:%s", rls[i].name,
		    subj);
		n++;
	}
	if (n == 0) {
		free(ck);
		return 1;
	}
	if (store == NULL) {
		free(ck);
		verdict_why(v, "no store");
		return -1;
	}
	ck->call = filter_call_hold(call);
	/* one extra so that answers arriving while we issue (LMDB answers
	 * at once) cannot decide before every counter went out */
	ck->pending = n + 1;
	for (int i = 0; i < RL_COUNT; i++) {
		struct rl_arg *a;

		if (!ck->used[i])
			continue;
		a = xmalloc(sizeof(*a));
		a->ck = ck;
		a->which = i;
		store_incr(store, ck->key[i], ck->rate[i].window_ms,
		    i == RL_OUTAGE ? 0 : 1, counted, a);
	}
	if (--ck->pending == 0)
		decide(ck);
	return 0;
}

const struct filter_ops flt_ratelimit_ops = {
	.name = "ratelimit",
	.stages = STAGE_BIT(STAGE_CONNECT) | STAGE_BIT(STAGE_MAIL) |
	    STAGE_BIT(STAGE_RCPT),
	.keys = rl_keys,
	.nkeys = ARRAY_LEN(rl_keys),
	.conf_size = sizeof(struct rl_conf),
	.configure = flt_rl_configure,
	.stop = flt_rl_stop,
	.txn_new = flt_rl_txn_new,
	.txn_free = flt_rl_txn_free,
	.check = flt_rl_check,
};
