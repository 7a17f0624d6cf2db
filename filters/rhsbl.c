/*
 * rhsbl.c - domain lists (RHSBL, e.g. a DBL-style zone) for the HELO name
 * and the envelope sender's domain, in the same postscreen_dnsbl_sites
 * syntax and with the same scoring as dnsbl.c (see dnsxl_run.h).
 *
 * HELO stage: the HELO/EHLO name (not an address literal) is looked up;
 * MAIL stage: the sender's domain (not for the null sender). Each is
 * scored on its own: "domain.zone" in every zone at once. Listed: 554
 * 5.7.1 to that command; allowlisted: ACCEPT (for the session at HELO,
 * for the transaction at MAIL). Postfix's reject_rhsbl_helo and
 * reject_rhsbl_sender do the same with one list each.
 */
#include <ctype.h>
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

struct rhsbl_conf {
	struct dnsxl_conf x;
	int		 helo;
	int		 sender;
};

struct rhsbl_state {
	struct dnsxl_fstate x;		/* first: the shared filter side */
	enum filter_stage stage;
	char		 what[300];	/* the HELO name or the sender */
	char		 client[64];
};

static const struct cfg_key rhsbl_keys[] = {
	DNSXL_KEYS(struct rhsbl_conf, x, "rhsbl_sites",
	    "127.255.255.[252..255], 127.0.1.255"),
	{ "helo", CFG_BOOL, "yes", 0, 0, offsetof(struct rhsbl_conf, helo), 1, NULL, "look up the HELO/EHLO name (reject_rhsbl_helo)" },
	{ "sender", CFG_BOOL, "yes", 0, 0, offsetof(struct rhsbl_conf, sender), 1, NULL, "look up the envelope sender's domain (reject_rhsbl_sender)" },
};

static int
flt_rhsbl_configure(struct filter_conf *fc, const struct cfg_block *b,
    struct cfg_errors *e)
{
	struct rhsbl_conf *c = fc->conf;

	return dnsxl_filter_configure(fc, &c->x, "rhsbl", "rhsbl_sites", b,
	    e);
}

static void
verdict_of(struct dnsxl_fstate *x, struct verdict *v)
{
	struct rhsbl_state *st = (struct rhsbl_state *)x;
	const struct dnsxl_list *l = x->fc->priv;
	const char *class = st->stage == STAGE_HELO ? "Helo command" :
	    "Sender address";
	struct dnsxl_score sc;
	enum dnsxl_decision d;
	char desc[VERDICT_TEXT_MAX];
	int ignored;

	d = dnsxl_filter_result(x, &sc, desc, sizeof(desc), &ignored);
	stats_add(STAT_rhsbl_listed, sc.matched);
	if (ignored)
		log_info("rhsbl: %s <%s>: lookup failure ignored (dns_error = "
		    "ignore): %s", class, st->what, desc);
	switch (d) {
	case DNSXL_LISTED: {
		char text[VERDICT_TEXT_MAX];

		stats_inc(STAT_rhsbl_rejected);
		dnsxl_reply(l, &sc, class, st->what, st->client, text,
		    sizeof(text));
		verdict_reject(v, l->reject_code, "5.7.1", "%s", text);
		verdict_why(v, "rhsbl score %d >= %d: %s", sc.score,
		    l->threshold, desc);
		return;
	}
	case DNSXL_ALLOWED:
		stats_inc(STAT_rhsbl_allowlisted);
		v->kind = VERDICT_ACCEPT;
		verdict_why(v, "rhs allowlist score %d <= %d: %s", sc.score,
		    l->allow, desc);
		return;
	case DNSXL_UNDECIDED:
		stats_inc(STAT_rhsbl_tempfailed);
		verdict_tempfail(v, 451, "4.7.1", "<%s>: %s list lookup failed, "
		    "try again later", st->what, class);
		verdict_why(v, "rhsbl lookup failed (score %d, could reach "
		    "%d..%d): %s", sc.score, sc.min, sc.max, desc);
		return;
	case DNSXL_CLEAN:
		v->kind = VERDICT_CONTINUE;
		return;
	}
}

static void *
flt_rhsbl_txn_new(struct filter_conf *fc)
{
	return dnsxl_filter_txn_new(fc, sizeof(struct rhsbl_state),
	    verdict_of);
}

/* The domain to look up at this stage, or NULL. */
static const char *
subject(const struct rhsbl_conf *c, enum filter_stage stage,
    const struct txn_view *tv, const char **what)
{
	const char *d;

	if (stage == STAGE_HELO && c->helo && tv->helo != NULL &&
	    tv->helo[0] != '[') {
		*what = tv->helo;
		return tv->helo;
	}
	if (stage == STAGE_MAIL && c->sender && tv->sender != NULL &&
	    (d = strrchr(tv->sender, '@')) != NULL && d[1] != '\0' &&
	    d[1] != '[') {
		*what = tv->sender;
		return d + 1;
	}
	return NULL;
}

static int
flt_rhsbl_check(struct filter_call *call, enum filter_stage stage,
    const struct txn_view *tv, struct verdict *v)
{
	struct rhsbl_state *st = filter_state(call);
	const struct rhsbl_conf *c = st->x.fc->conf;
	const struct dnsxl_list *l = st->x.fc->priv;
	const char *domain, *what = NULL;
	char key[256];

	v->kind = VERDICT_CONTINUE;
	if (l->sites.nzones == 0 ||
	    (domain = subject(c, stage, tv, &what)) == NULL)
		return 1;
	/* a name we cannot look up cannot be listed */
	if (str_copy(key, sizeof(key), domain) < 0 || !dns_name_valid(key))
		return 1;
	str_lower(key);
	st->stage = stage;
	str_copy(st->what, sizeof(st->what), what);
	str_copy(st->client, sizeof(st->client), tv->client_addr);
	return dnsxl_filter_start(&st->x, call, key, v);
}

const struct filter_ops flt_rhsbl_ops = {
	.name = "rhsbl",
	.stages = STAGE_BIT(STAGE_HELO) | STAGE_BIT(STAGE_MAIL),
	.keys = rhsbl_keys,
	.nkeys = ARRAY_LEN(rhsbl_keys),
	.conf_size = sizeof(struct rhsbl_conf),
	.configure = flt_rhsbl_configure,
	.stop = dnsxl_filter_stop,
	.txn_new = flt_rhsbl_txn_new,
	.txn_free = dnsxl_filter_txn_free,
	.check = flt_rhsbl_check,
};
