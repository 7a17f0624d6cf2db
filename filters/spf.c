/*
 * spf.c - SPF (RFC 7208) for the HELO name and the envelope sender, with
 * the policy the common policy daemons apply by default:
 *
 *   fail -> 550 5.7.23 with the domain's explanation (exp=, expanded by
 *   us) or ours; temperror -> 451 4.7.24; softfail, neutral, none,
 *   permerror -> accept, and record the result.
 *
 * Each result's action is a key (on_fail = reject|tempfail|accept ...).
 * The result is recorded in a Received-SPF header (RFC 7208 9.1) on the
 * message and in the log; the HELO identity is checked too (2.3), and the
 * null sender is checked as postmaster@HELO (2.4).
 *
 * The check runs on a worker (libspf2 blocks): filter_offload() with
 * copies of the client, HELO and sender; one libspf2 server per worker
 * thread (spf_glue.h). The whole check gets the filter's timeout less a
 * margin, so running out of time is an SPF temperror with its own reply
 * rather than the chain's generic 4.7.0.
 */
#include <sys/socket.h>

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../proxy/config.h"
#include "../proxy/dns.h"
#include "../proxy/filter.h"
#include "../proxy/log.h"
#include "../proxy/stats.h"
#include "../proxy/util.h"
#include "filters.h"
#include "spf_glue.h"

enum spf_action { ACT_REJECT = 0, ACT_TEMPFAIL, ACT_ACCEPT };

struct spf_conf {
	char		*receiver;
	int		 helo;
	int		 header;
	int		 act[SPFR_COUNT];
	uint64_t	 max_queries;
};

struct spf_state {
	struct filter_conf *fc;
	/* copies for the worker */
	struct sockaddr_storage client;
	char		 helo[256];
	char		 sender[512];
	char		 receiver[256];
	uint64_t	 budget_ms;
};

#define AT(f)	offsetof(struct spf_conf, f)
static const struct cfg_key spf_keys[] = {
	{ "receiver",      CFG_STRING, "",       0, 0, AT(receiver),             1, NULL, "our name in Received-SPF and for %{r}; empty: the system host name (set it to mxguard's hostname)" },
	{ "helo",          CFG_BOOL, "yes",      0, 0, AT(helo),                 1, NULL, "also check the HELO name as an identity (RFC 7208 2.3); the null sender is always checked as postmaster@HELO" },
	{ "header",        CFG_BOOL, "yes",      0, 0, AT(header),               1, NULL, "record the result in a Received-SPF header" },
	{ "on_fail",       CFG_ENUM, "reject",   0, 0, AT(act[SPFR_FAIL]),       1, "reject|tempfail|accept", "result fail: reject (550 5.7.23 with the domain's explanation), tempfail, or accept and record" },
	{ "on_softfail",   CFG_ENUM, "accept",   0, 0, AT(act[SPFR_SOFTFAIL]),   1, "reject|tempfail|accept", "result softfail" },
	{ "on_neutral",    CFG_ENUM, "accept",   0, 0, AT(act[SPFR_NEUTRAL]),    1, "reject|tempfail|accept", "result neutral" },
	{ "on_none",       CFG_ENUM, "accept",   0, 0, AT(act[SPFR_NONE]),       1, "reject|tempfail|accept", "result none (no SPF record)" },
	{ "on_temperror",  CFG_ENUM, "tempfail", 0, 0, AT(act[SPFR_TEMPERROR]),  1, "reject|tempfail|accept", "result temperror (a DNS failure or timeout): tempfail is 451 4.7.24" },
	{ "on_permerror",  CFG_ENUM, "accept",   0, 0, AT(act[SPFR_PERMERROR]),  1, "reject|tempfail|accept", "result permerror (a broken record, a limit of RFC 7208 4.6.4 passed)" },
	{ "max_dns_queries", CFG_UINT, "150",    30, 1000, AT(max_queries),      1, NULL, "DNS queries one check may make, a safety net above what RFC 7208's limits allow (about 120); more: permerror" },
};

static pthread_key_t glue_key;
static pthread_once_t glue_once = PTHREAD_ONCE_INIT;

static void
glue_destroy(void *p)
{
	struct spf_glue *g = p;

	spf_glue_free(&g);
}

static void
glue_key_init(void)
{
	pthread_key_create(&glue_key, glue_destroy);
}

/* This worker thread's libspf2 server (made on first use). */
static struct spf_glue *
thread_glue(void)
{
	struct spf_glue *g;

	pthread_once(&glue_once, glue_key_init);
	if ((g = pthread_getspecific(glue_key)) == NULL) {
		g = spf_glue_new();
		pthread_setspecific(glue_key, g);
	}
	return g;
}

static int
flt_spf_configure(struct filter_conf *fc, const struct cfg_block *b,
    struct cfg_errors *e)
{
	struct spf_conf *c = fc->conf;
	char host[256];

	if (c->receiver[0] != '\0')
		str_copy(host, sizeof(host), c->receiver);
	else if (gethostname(host, sizeof(host)) < 0 || host[0] == '\0')
		str_copy(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	for (const char *p = host; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '.' && *p != '-') {
			cfg_error(e, b->file, cfg_line_of(b, "receiver"),
			    "receiver: \"%s\" is not a host name", host);
			break;
		}
	fc->priv = xstrdup(host);
	return 0;
}

static void
flt_spf_stop(struct filter_conf *fc)
{
	free(fc->priv);
	fc->priv = NULL;
}

static void *
flt_spf_txn_new(struct filter_conf *fc)
{
	struct spf_state *st = xcalloc(1, sizeof(*st));

	st->fc = fc;
	return st;
}

static void
flt_spf_txn_free(void *state)
{
	free(state);
}

static void
count(enum spf_res r)
{
	static const enum stat_id ids[SPFR_COUNT] = {
		STAT_spf_none, STAT_spf_neutral, STAT_spf_pass, STAT_spf_fail,
		STAT_spf_softfail, STAT_spf_temperror, STAT_spf_permerror
	};

	if ((unsigned)r < SPFR_COUNT)
		stats_inc(ids[r]);
}

/* Applies the action for o's result; 1 if the verdict is final. */
static int
apply(const struct spf_conf *c, const struct spf_outcome *o, int helo_id,
    const char *ip, struct verdict *v)
{
	enum spf_action a = (enum spf_action)c->act[o->result];
	const char *what = helo_id ? "HELO " : "";
	char exp[220];

	if (a == ACT_ACCEPT || o->result == SPFR_PASS)
		return 0;
	if (o->explanation[0] != '\0')
		str_fmt(exp, sizeof(exp), "%s", o->explanation);
	else
		str_fmt(exp, sizeof(exp), "%s is not allowed to send mail for "
		    "%s", ip, o->domain);
	if (a == ACT_REJECT) {
		stats_inc(STAT_spf_rejected);
		switch (o->result) {
		case SPFR_FAIL:
		case SPFR_SOFTFAIL:
			verdict_reject(v, 550, "5.7.23", "SPF validation failed "
			    "for %s%s: %s", what, o->domain, exp);
			break;
		case SPFR_PERMERROR:
			verdict_reject(v, 550, "5.7.24", "SPF record of %s%s is "
			    "invalid", what, o->domain);
			break;
		case SPFR_TEMPERROR:
			verdict_reject(v, 550, "5.7.24", "SPF lookup for %s%s "
			    "failed", what, o->domain);
			break;
		default:
			verdict_reject(v, 550, "5.7.1", "SPF %s for %s%s: "
			    "rejected by policy", spf_res_name(o->result), what,
			    o->domain);
			break;
		}
	} else {
		stats_inc(STAT_spf_tempfailed);
		if (o->result == SPFR_TEMPERROR)
			verdict_tempfail(v, 451, "4.7.24", "SPF lookup for %s%s "
			    "failed temporarily, try again later", what,
			    o->domain);
		else
			verdict_tempfail(v, 451, o->result == SPFR_PERMERROR ?
			    "4.7.24" : "4.7.23", "SPF %s for %s%s, try again "
			    "later", spf_res_name(o->result), what, o->domain);
	}
	verdict_why(v, "spf %s identity=%s domain=%s%s%s", spf_res_name(
	    o->result), helo_id ? "helo" : "mailfrom", o->domain,
	    o->problem[0] ? " problem=" : "", o->problem);
	return 1;
}

/* Worker thread: only st (copies) and the immutable config. */
static void
flt_spf_work(void *state, struct verdict *v)
{
	struct spf_state *st = state;
	const struct spf_conf *c = st->fc->conf;
	struct spf_glue *g = thread_glue();
	struct spf_query q;
	struct spf_outcome helo_o, mail_o;
	const struct spf_outcome *rec = NULL;
	uint64_t start = now_ms(), used;
	char ip[64], hdr[1024];
	int helo_checked = 0, helo_id = 0;

	memset(&q, 0, sizeof(q));
	q.client = (struct sockaddr *)&st->client;
	q.helo = st->helo[0] ? st->helo : NULL;
	q.receiver = st->receiver;
	q.max_queries = (unsigned)c->max_queries;
	addr_fmt(q.client, ip, sizeof(ip));
	v->kind = VERDICT_CONTINUE;

	/* HELO identity (2.3): a name, not an address literal */
	if ((c->helo || st->sender[0] == '\0') && st->helo[0] != '\0' &&
	    st->helo[0] != '[') {
		q.sender = "";
		q.identity = SPF_ID_HELO;
		q.timeout_ms = st->budget_ms;
		spf_glue_check(g, &q, &helo_o);
		count(helo_o.result);
		helo_checked = 1;
		if (apply(c, &helo_o, 1, ip, v))
			return;
		rec = &helo_o;
		helo_id = 1;
	}
	/* MAIL FROM identity; for <> it is postmaster@HELO, done above */
	if (st->sender[0] != '\0') {
		used = now_ms() - start;
		q.sender = st->sender;
		q.identity = SPF_ID_MAILFROM;
		q.timeout_ms = used < st->budget_ms ? st->budget_ms - used : 1;
		spf_glue_check(g, &q, &mail_o);
		count(mail_o.result);
		if (apply(c, &mail_o, 0, ip, v))
			return;
		rec = &mail_o;
		helo_id = 0;
	} else if (!helo_checked) {
		/* <> and no usable HELO: nothing to check (RFC 7208 2.4) */
		return;
	}
	if (c->header && rec != NULL) {
		q.sender = helo_id ? "" : st->sender;
		q.identity = helo_id ? SPF_ID_HELO : SPF_ID_MAILFROM;
		spf_received_header(rec, &q, hdr, sizeof(hdr));
		verdict_tag(v, hdr);
	}
}

static int
flt_spf_check(struct filter_call *call, enum filter_stage stage,
    const struct txn_view *tv, struct verdict *v)
{
	struct spf_state *st = filter_state(call);
	struct filter_conf *fc = st->fc;
	socklen_t len;

	v->kind = VERDICT_CONTINUE;
	if (stage != STAGE_MAIL || tv->sender == NULL)
		return 1;
	if (tv->client->sa_family != AF_INET && tv->client->sa_family != AF_INET6)
		return 1;
	len = tv->client->sa_family == AF_INET ? sizeof(struct sockaddr_in) :
	    sizeof(struct sockaddr_in6);
	/* tv is valid only during this call: the worker gets copies */
	memset(&st->client, 0, sizeof(st->client));
	memcpy(&st->client, tv->client, len);
	str_copy(st->helo, sizeof(st->helo), tv->helo ? tv->helo : "");
	str_copy(st->sender, sizeof(st->sender), tv->sender);
	str_copy(st->receiver, sizeof(st->receiver), fc->priv);
	/* our own deadline comes first, so a slow DNS is an SPF temperror */
	st->budget_ms = fc->timeout_ms > 1000 ? fc->timeout_ms - MIN(
	    fc->timeout_ms / 10, 2000) : fc->timeout_ms * 9 / 10;
	if (filter_offload(call, flt_spf_work) < 0)
		return -1;
	return 0;
}

const struct filter_ops flt_spf_ops = {
	.name = "spf",
	.stages = STAGE_BIT(STAGE_MAIL),
	.keys = spf_keys,
	.nkeys = ARRAY_LEN(spf_keys),
	.conf_size = sizeof(struct spf_conf),
	.configure = flt_spf_configure,
	.stop = flt_spf_stop,
	.txn_new = flt_spf_txn_new,
	.txn_free = flt_spf_txn_free,
	.check = flt_spf_check,
};
