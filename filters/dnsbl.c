/*
 * dnsbl.c - DNSBL and DNSWL scoring of the client address, as Postfix's
 * postscreen does it: the primary's postscreen_dnsbl_sites is pasted into
 * "sites" (or read from its main.cf with sites_file) as it stands.
 *
 * At connect, every zone is asked at once for the client's reversed
 * address (IPv4 octets or IPv6 nibbles; an IPv4-mapped IPv6 client is
 * asked as IPv4). Score >= threshold: 554 5.7.1 with reply_text, whose
 * $rbl_domain goes through reply_map so access keys in zone names are
 * never shown. Score <= allowlist_threshold (< 0): ACCEPT for the session,
 * which skips every later filter but those marked FLT_AFTER_ACCEPT (virus
 * scanning). A zone that failed, or answered an error code such as
 * 127.255.255.254, is unknown: when it could change the outcome the
 * client gets 421 4.7.1 (dns_error = tempfail), never "not listed".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../proxy/config.h"
#include "../proxy/dns.h"
#include "../proxy/filter.h"
#include "../proxy/log.h"
#include "../proxy/stats.h"
#include "../proxy/util.h"
#include "dnsxl.h"
#include "dnsxl_run.h"
#include "filters.h"

struct dnsbl_conf {
	struct dnsxl_conf x;
};

struct dnsbl_priv {
	struct dnsxl_list list;
};

struct dnsbl_state {
	struct filter_conf *fc;		/* pinned by the held call */
	struct filter_call *call;	/* held while a run is pending */
	struct dnsxl_run *run;
	char		 client[64];
};

static const struct cfg_key dnsbl_keys[] = {
	DNSXL_KEYS(struct dnsbl_conf, x, "postscreen_dnsbl_sites",
	    "127.255.255.[252..255]"),
};

static int
flt_dnsbl_configure(struct filter_conf *fc, const struct cfg_block *b,
    struct cfg_errors *e)
{
	struct dnsbl_conf *c = fc->conf;
	struct dnsbl_priv *p = xcalloc(1, sizeof(*p));

	fc->priv = p;
	return dnsxl_list_configure(&p->list, &c->x, "dnsbl",
	    "postscreen_dnsbl_sites", b, e);
}

static void
flt_dnsbl_stop(struct filter_conf *fc)
{
	struct dnsbl_priv *p = fc->priv;

	if (p == NULL)
		return;
	dnsxl_list_free(&p->list);
	free(p);
	fc->priv = NULL;
}

static void *
flt_dnsbl_txn_new(struct filter_conf *fc)
{
	struct dnsbl_state *st = xcalloc(1, sizeof(*st));

	st->fc = fc;
	return st;
}

static void
flt_dnsbl_txn_free(void *state)
{
	struct dnsbl_state *st = state;

	dnsxl_run_free(&st->run);
	free(st);
}

/* The verdict from a finished (or decided) run. */
static void
verdict_of(struct dnsbl_state *st, struct verdict *v)
{
	const struct dnsbl_priv *p = st->fc->priv;
	const struct dnsxl_list *l = &p->list;
	struct dnsxl_score sc;
	enum dnsxl_decision d;
	char desc[VERDICT_TEXT_MAX];

	d = dnsxl_run_result(st->run, &sc);
	dnsxl_run_describe(st->run, desc, sizeof(desc));
	stats_add(STAT_dnsbl_listed, sc.matched);
	if (d == DNSXL_UNDECIDED && l->dns_error == DNSXL_DNS_ERROR_IGNORE) {
		/* score as if the failed lists had said "not listed" */
		stats_inc(STAT_dnsbl_error_ignored);
		sc.min = sc.max = sc.score;
		d = dnsxl_decide(&sc, l->threshold, l->allow);
		log_info("dnsbl: client %s: lookup failure ignored "
		    "(dns_error = ignore): %s", st->client, desc);
	}
	switch (d) {
	case DNSXL_LISTED: {
		char text[VERDICT_TEXT_MAX];

		stats_inc(STAT_dnsbl_rejected);
		dnsxl_reply(l, &sc, "Client host", st->client, st->client, text,
		    sizeof(text));
		verdict_reject(v, l->reject_code, "5.7.1", "%s", text);
		verdict_why(v, "dnsbl score %d >= %d: %s", sc.score,
		    l->threshold, desc);
		return;
	}
	case DNSXL_ALLOWED:
		stats_inc(STAT_dnsbl_allowlisted);
		v->kind = VERDICT_ACCEPT;
		verdict_why(v, "dnswl score %d <= %d: %s", sc.score, l->allow,
		    desc);
		log_info("dnsbl: client %s allowlisted, score %d: %s",
		    st->client, sc.score, desc);
		return;
	case DNSXL_UNDECIDED:
		stats_inc(STAT_dnsbl_tempfailed);
		verdict_tempfail(v, 421, "4.7.1", "Client host [%s] list "
		    "lookup failed, try again later", st->client);
		verdict_why(v, "dnsbl lookup failed (score %d, could reach %d..%d"
		    "): %s", sc.score, sc.min, sc.max, desc);
		return;
	case DNSXL_CLEAN:
		v->kind = VERDICT_CONTINUE;
		if (sc.matched > 0)
			log_info("dnsbl: client %s score %d below threshold %d: "
			    "%s", st->client, sc.score, l->threshold, desc);
		return;
	}
}

static void
run_done(void *arg)
{
	struct dnsbl_state *st = arg;
	struct filter_call *call = st->call;
	struct verdict v;

	memset(&v, 0, sizeof(v));
	st->call = NULL;
	if (filter_call_is_live(call)) {
		verdict_of(st, &v);
		filter_resume(call, 1, &v);
		verdict_clear(&v);
	}
	dnsxl_run_free(&st->run);
	filter_call_release(call);	/* may free st: touch nothing after */
}

static int
flt_dnsbl_check(struct filter_call *call, enum filter_stage stage,
    const struct txn_view *tv, struct verdict *v)
{
	struct dnsbl_state *st = filter_state(call);
	const struct dnsbl_priv *p = st->fc->priv;
	char key[80];

	v->kind = VERDICT_CONTINUE;
	if (stage != STAGE_CONNECT || p->list.sites.nzones == 0)
		return 1;
	if (dns_reverse_name(tv->client, key, sizeof(key)) < 0)
		return 1;		/* not an IP client (a test socket) */
	str_copy(st->client, sizeof(st->client), tv->client_addr);
	dnsxl_run_free(&st->run);
	st->call = filter_call_hold(call);
	st->run = dnsxl_run_start(&p->list, key, run_done, st);
	return 0;
}

const struct filter_ops flt_dnsbl_ops = {
	.name = "dnsbl",
	.stages = STAGE_BIT(STAGE_CONNECT),
	.keys = dnsbl_keys,
	.nkeys = ARRAY_LEN(dnsbl_keys),
	.conf_size = sizeof(struct dnsbl_conf),
	.configure = flt_dnsbl_configure,
	.stop = flt_dnsbl_stop,
	.txn_new = flt_dnsbl_txn_new,
	.txn_free = flt_dnsbl_txn_free,
	.check = flt_dnsbl_check,
};
