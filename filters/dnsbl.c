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

struct dnsbl_state {
	struct dnsxl_fstate x;		/* first: the shared filter side */
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

	return dnsxl_filter_configure(fc, &c->x, "dnsbl",
	    "postscreen_dnsbl_sites", b, e);
}

/* The verdict from a finished (or decided) run. */
static void
verdict_of(struct dnsxl_fstate *x, struct verdict *v)
{
	struct dnsbl_state *st = (struct dnsbl_state *)x;
	const struct dnsxl_list *l = x->fc->priv;
	struct dnsxl_score sc;
	enum dnsxl_decision d;
	char desc[VERDICT_TEXT_MAX];
	int ignored;

	d = dnsxl_filter_result(x, &sc, desc, sizeof(desc), &ignored);
	stats_add(STAT_dnsbl_listed, sc.matched);
	if (ignored) {
		stats_inc(STAT_dnsbl_error_ignored);
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

static void *
flt_dnsbl_txn_new(struct filter_conf *fc)
{
	return dnsxl_filter_txn_new(fc, sizeof(struct dnsbl_state),
	    verdict_of);
}

static int
flt_dnsbl_check(struct filter_call *call, enum filter_stage stage,
    const struct txn_view *tv, struct verdict *v)
{
	struct dnsbl_state *st = filter_state(call);
	const struct dnsxl_list *l = st->x.fc->priv;
	char key[80];

	v->kind = VERDICT_CONTINUE;
	if (stage != STAGE_CONNECT || l->sites.nzones == 0)
		return 1;
	if (dns_reverse_name(tv->client, key, sizeof(key)) < 0)
		return 1;		/* not an IP client (a test socket) */
	str_copy(st->client, sizeof(st->client), tv->client_addr);
	return dnsxl_filter_start(&st->x, call, key, v);
}

const struct filter_ops flt_dnsbl_ops = {
	.name = "dnsbl",
	.stages = STAGE_BIT(STAGE_CONNECT),
	.keys = dnsbl_keys,
	.nkeys = ARRAY_LEN(dnsbl_keys),
	.conf_size = sizeof(struct dnsbl_conf),
	.configure = flt_dnsbl_configure,
	.stop = dnsxl_filter_stop,
	.txn_new = flt_dnsbl_txn_new,
	.txn_free = dnsxl_filter_txn_free,
	.check = flt_dnsbl_check,
};
