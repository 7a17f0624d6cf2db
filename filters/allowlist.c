/*
 * allowlist.c - clients and senders that skip the checks, from the files
 * the primary already has: a cidr: table of client networks (Postfix
 * cidr_table(5), e.g. postscreen_access.cidr or a Postwhite list) or the
 * text of a hash: table, and access-table text for sender addresses and
 * domains (check_sender_access format, hash:/path reads /path).
 *
 * A match whose value is OK, PERMIT (postscreen's "permit"), or a number
 * gives ACCEPT: for the session when the client matched (at connect),
 * for the transaction when the sender did (at MAIL). List it first in
 * 'filters' so the checks after it are skipped; filters marked to run
 * after an ACCEPT (virus scanning) still run, and relay and backend checks
 * always apply. DUNNO ends the lookup without a match. Any other value
 * (REJECT, postscreen's "reject" ...) is not an allowlist entry: it is
 * reported when the file is loaded and ignored here (the access filter
 * applies such tables).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../proxy/config.h"
#include "../proxy/filter.h"
#include "../proxy/log.h"
#include "../proxy/stats.h"
#include "../proxy/table.h"
#include "../proxy/util.h"
#include "filters.h"

enum { W_CLIENT = 0, W_SENDER, W_COUNT };

struct allowlist_conf {
	struct cfg_list	 lists[W_COUNT];
	char		*delimiter;
};

struct allowlist_priv {
	struct table_set ts[W_COUNT];
};

#define AT(f)	offsetof(struct allowlist_conf, f)
static const struct cfg_key allowlist_keys[] = {
	{ "clients", CFG_LIST, "", 0, 0, AT(lists[W_CLIENT]), 1, NULL, "tables of client addresses and networks that skip the checks: cidr:/path (e.g. postscreen_access.cidr), hash:/path" },
	{ "senders", CFG_LIST, "", 0, 0, AT(lists[W_SENDER]), 1, NULL, "tables of sender addresses and domains that skip the checks (check_sender_access format): hash:/path" },
	{ "recipient_delimiter", CFG_STRING, "+", 0, 0, AT(delimiter), 1, NULL, "address extension delimiter for sender lookups" },
};

enum allow_value { AV_ALLOW = 0, AV_DUNNO, AV_OTHER };

static enum allow_value
classify(const char *v)
{
	size_t n = strcspn(v, " \t");

	if (n > 0 && strspn(v, "0123456789") >= n)
		return AV_ALLOW;
	if ((n == 2 && strncasecmp(v, "OK", 2) == 0) ||
	    (n == 6 && strncasecmp(v, "PERMIT", 6) == 0))
		return AV_ALLOW;
	if (n == 5 && strncasecmp(v, "DUNNO", 5) == 0)
		return AV_DUNNO;
	return AV_OTHER;
}

static void
check_value(void *arg, const char *file, int line, const char *key,
    const char *v)
{
	struct cfg_errors *e = arg;

	if (classify(v) == AV_OTHER)
		cfg_warning(e, file, line, "\"%.40s\" is not an allowlist "
		    "action (OK, permit, DUNNO): this entry is ignored by the "
		    "allowlist filter", v);
}

static int
flt_allowlist_configure(struct filter_conf *fc, const struct cfg_block *b,
    struct cfg_errors *e)
{
	struct allowlist_conf *c = fc->conf;
	struct allowlist_priv *p = xcalloc(1, sizeof(*p));

	fc->priv = p;
	if (strlen(c->delimiter) > 1)
		cfg_error(e, b->file, cfg_line_of(b, "recipient_delimiter"),
		    "recipient_delimiter: one character or empty");
	for (int w = 0; w < W_COUNT; w++)
		table_set_open(&p->ts[w], &c->lists[w], b->file,
		    cfg_line_of(b, allowlist_keys[w].key), w == W_CLIENT,
		    check_value, e, e);
	return 0;
}

static void
flt_allowlist_stop(struct filter_conf *fc)
{
	struct allowlist_priv *p = fc->priv;

	if (p == NULL)
		return;
	for (int w = 0; w < W_COUNT; w++)
		table_set_free(&p->ts[w]);
	free(p);
	fc->priv = NULL;
}

static int
flt_allowlist_check(struct filter_call *call, enum filter_stage stage,
    const struct txn_view *tv, struct verdict *v)
{
	struct filter_conf *fc = filter_conf_of(call);
	const struct allowlist_conf *c = fc->conf;
	const struct allowlist_priv *p = fc->priv;
	int w = stage == STAGE_CONNECT ? W_CLIENT : W_SENDER;

	v->kind = VERDICT_CONTINUE;
	if ((stage != STAGE_CONNECT && stage != STAGE_MAIL) ||
	    (w == W_SENDER && (tv->sender == NULL || tv->sender[0] == '\0')))
		return 1;
	for (size_t i = 0; i < p->ts[w].n; i++) {
		const struct table *t = p->ts[w].t[i];
		const char *r;

		r = w == W_CLIENT ? table_get_client(t, tv->client,
		    tv->client_name) : table_get_email(t, tv->sender,
		    c->delimiter[0], NULL);
		if (r == NULL)
			continue;
		switch (classify(r)) {
		case AV_ALLOW:
			stats_inc(w == W_CLIENT ? STAT_allowlist_client :
			    STAT_allowlist_sender);
			v->kind = VERDICT_ACCEPT;
			verdict_why(v, "%s %s allowlisted in %s", w == W_CLIENT ?
			    "client" : "sender", w == W_CLIENT ? tv->client_addr :
			    tv->sender, table_name(t));
			log_info("%s allowlist: %s %s in %s", tv->session_id,
			    w == W_CLIENT ? "client" : "sender", w == W_CLIENT ?
			    tv->client_addr : tv->sender, table_name(t));
			return 1;
		case AV_DUNNO:
			return 1;
		case AV_OTHER:
			break;		/* not ours: the next table */
		}
	}
	return 1;
}

const struct filter_ops flt_allowlist_ops = {
	.name = "allowlist",
	.stages = STAGE_BIT(STAGE_CONNECT) | STAGE_BIT(STAGE_MAIL),
	.keys = allowlist_keys,
	.nkeys = ARRAY_LEN(allowlist_keys),
	.conf_size = sizeof(struct allowlist_conf),
	.configure = flt_allowlist_configure,
	.stop = flt_allowlist_stop,
	.check = flt_allowlist_check,
};
