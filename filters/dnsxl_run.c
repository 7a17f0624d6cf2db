/*
 * dnsxl_run.c - list configuration shared by dnsbl and rhsbl, and the
 * parallel lookup of one key in every zone.
 */
#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../proxy/config.h"
#include "../proxy/dns.h"
#include "../proxy/filter.h"
#include "../proxy/log.h"
#include "../proxy/stats.h"
#include "../proxy/table.h"
#include "../proxy/util.h"
#include "dnsxl.h"
#include "dnsxl_run.h"

#define ZONE_ADDRS_MAX		32
#define SITES_FILE_MAX		(1u << 20)

struct zone_run {
	struct dnsxl_run *r;		/* back pointer: the query's argument */
	size_t		 idx;
	struct dns_query *q;
	enum dnsxl_zone_state state;
	struct in_addr	 a[ZONE_ADDRS_MAX];
	size_t		 n;
	char		 why[48];	/* "timeout", "127.255.255.254" */
};

struct dnsxl_run {
	const struct dnsxl_list *l;
	struct zone_run	*z;		/* [l->sites.nzones] */
	size_t		 nzones;
	int		 finished;
	dnsxl_done_fn	 done;
	void		*arg;
};

/* ---- configuration ---------------------------------------------------- */

static int
parse_allow(const char *v, int *out)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(v, &end, 10);
	if (*v == '\0' || *end != '\0' || errno != 0 || n > 0 ||
	    n < -DNSXL_WEIGHT_MAX)
		return -1;
	*out = (int)n;
	return 0;
}

/* The sites of a file: a main.cf value, else one site per line. */
static void
sites_from_file(struct dnsxl_list *l, const char *path, const char *param,
    struct cfg_errors *e)
{
	FILE *fp = fopen(path, "r");
	char *buf, *val, err[DNSXL_ERR_MAX];
	size_t n;

	if (fp == NULL) {
		cfg_error(e, path, 0, "%s", strerror(errno));
		return;
	}
	cfg_watch_fd(e, path, fileno(fp));
	buf = xmalloc(SITES_FILE_MAX + 1);
	n = fread(buf, 1, SITES_FILE_MAX + 1, fp);
	fclose(fp);
	if (n > SITES_FILE_MAX) {
		cfg_error(e, path, 0, "larger than %u bytes", SITES_FILE_MAX);
		free(buf);
		return;
	}
	buf[n] = '\0';
	if ((val = dnsxl_maincf_value(buf, n, param)) != NULL) {
		/* main.cf: one logical line, white space or commas between */
		char *save = NULL;

		for (char *t = strtok_r(val, " \t,", &save); t != NULL;
		    t = strtok_r(NULL, " \t,", &save))
			if (dnsxl_sites_add(&l->sites, t, err, sizeof(err)) < 0)
				cfg_error(e, path, 0, "%s: %s", param, err);
		free(val);
		free(buf);
		return;
	}
	{
		char *save = NULL;
		int line = 0;

		for (char *ln = buf, *next; ln != NULL; ln = next) {
			char *t;

			next = strchr(ln, '\n');
			if (next != NULL)
				*next++ = '\0';
			line++;
			if ((t = strchr(ln, '#')) != NULL)
				*t = '\0';
			for (t = strtok_r(ln, " \t\r,", &save); t != NULL;
			    t = strtok_r(NULL, " \t\r,", &save))
				if (dnsxl_sites_add(&l->sites, t, err,
				    sizeof(err)) < 0)
					cfg_error(e, path, line, "%s", err);
		}
	}
	free(buf);
}

int
dnsxl_list_configure(struct dnsxl_list *l, const struct dnsxl_conf *c,
    const char *what, const char *param, const struct cfg_block *b,
    struct cfg_errors *e)
{
	static const char *const test_vars[] = {
		"rbl_class", "x", "rbl_what", "x", "rbl_domain", "x",
		"client_address", "x", "score", "1", NULL
	};
	char err[DNSXL_ERR_MAX], out[VERDICT_TEXT_MAX];
	int before = e->count;

	memset(l, 0, sizeof(*l));
	l->what = what;
	l->threshold = (int)c->threshold;
	l->reply_text = c->reply_text;
	l->reject_code = (int)c->reject_code;
	l->dns_error = c->dns_error;
	for (size_t i = 0; i < c->sites.n; i++)
		if (dnsxl_sites_add(&l->sites, c->sites.v[i], err,
		    sizeof(err)) < 0)
			cfg_error(e, b->file, cfg_line_of(b, "sites"),
			    "sites: %s", err);
	if (c->sites_file[0] != '\0')
		sites_from_file(l, c->sites_file, param, e);
	if (l->sites.n == 0 && e->count == before)
		cfg_warning(e, b->file, b->line, "[%s]: no sites: the filter "
		    "does nothing", what);
	if (parse_allow(c->allowlist_threshold, &l->allow) < 0)
		cfg_error(e, b->file, cfg_line_of(b, "allowlist_threshold"),
		    "allowlist_threshold: \"%s\" is not 0 or a negative "
		    "number", c->allowlist_threshold);
	l->errors = xcalloc(c->error_replies.n + 1, sizeof(*l->errors));
	for (size_t i = 0; i < c->error_replies.n; i++) {
		if (dnsxl_pattern_parse(c->error_replies.v[i],
		    &l->errors[l->nerrors], err, sizeof(err)) < 0)
			cfg_error(e, b->file, cfg_line_of(b, "error_replies"),
			    "error_replies: %s", err);
		else
			l->nerrors++;
	}
	if (c->reply_map[0] != '\0')
		l->reply_map = table_open(c->reply_map, e);
	if (dnsxl_expand(c->reply_text, test_vars, out, sizeof(out), err,
	    sizeof(err)) < 0)
		cfg_error(e, b->file, cfg_line_of(b, "reply_text"),
		    "reply_text: %s", err);
	/* A zone whose first label looks like a key gives itself away. */
	for (size_t z = 0; z < l->sites.nzones; z++) {
		const char *zn = l->sites.zones[z];
		size_t k = strcspn(zn, "."), digits = 0;

		for (size_t i = 0; i < k; i++)
			digits += isdigit((unsigned char)zn[i]) != 0;
		if (k >= 16 && digits > 0 && digits < k &&
		    dnsxl_list_display(l, (long)z) == zn)
			cfg_warning(e, b->file, cfg_line_of(b, "sites"),
			    "zone %s looks like it holds an access key; map it "
			    "in reply_map so clients never see it", zn);
	}
	return e->count == before ? 0 : -1;
}

void
dnsxl_list_free(struct dnsxl_list *l)
{
	dnsxl_sites_free(&l->sites);
	free(l->errors);
	table_free(&l->reply_map);
	memset(l, 0, sizeof(*l));
}

const char *
dnsxl_list_display(const struct dnsxl_list *l, long zone)
{
	const char *v;

	if (zone < 0 || (size_t)zone >= l->sites.nzones)
		return "-";
	if (l->reply_map != NULL &&
	    (v = table_get(l->reply_map, l->sites.zones[zone])) != NULL)
		return v;
	return l->sites.zones[zone];
}

void
dnsxl_reply(const struct dnsxl_list *l, const struct dnsxl_score *sc,
    const char *class, const char *what, const char *client, char *out,
    size_t outlen)
{
	char score[16], err[DNSXL_ERR_MAX];
	const char *vars[] = {
		"rbl_class", class, "rbl_what", what,
		"rbl_domain", dnsxl_list_display(l, sc->best_zone),
		"client_address", client, "score", score, NULL
	};

	str_fmt(score, sizeof(score), "%d", sc->score);
	if (dnsxl_expand(l->reply_text, vars, out, outlen, err,
	    sizeof(err)) < 0)
		str_fmt(out, outlen, "Service unavailable; %s [%s] blocked "
		    "using %s", class, what, vars[5]);
}

/* ---- runs ------------------------------------------------------------- */

static void
finish(struct dnsxl_run *r)
{
	r->finished = 1;
	for (size_t z = 0; z < r->nzones; z++)
		dns_cancel(&r->z[z].q);
	r->done(r->arg);		/* may free r */
}

static void
on_answer(void *arg, const struct dns_result *res)
{
	struct zone_run *z = arg;
	struct dnsxl_run *r = z->r;
	const char *zone = r->l->sites.zones[z->idx];
	struct in_addr a[DNS_RR_MAX];
	struct dnsxl_score sc;
	size_t n = 0, invalid = 0;

	z->q = NULL;		/* dns.c frees it after we return */
	switch (res->status) {
	case DNS_OK:
		for (size_t i = 0; i < res->n && i < DNS_RR_MAX; i++)
			a[n++] = res->rr[i].addr.a;
		z->state = dnsxl_classify(a, n, r->l->errors, r->l->nerrors,
		    z->a, &z->n, &invalid);
		if (z->n > ZONE_ADDRS_MAX)
			z->n = ZONE_ADDRS_MAX;
		if (z->state == DNSXL_ZONE_ERROR) {
			inet_ntop(AF_INET, &a[0], z->why, sizeof(z->why));
			for (size_t i = 0; i < n; i++)
				for (size_t k = 0; k < r->l->nerrors; k++)
					if (dnsxl_pattern_match(&r->l->errors[k],
					    &a[i]))
						inet_ntop(AF_INET, &a[i], z->why,
						    sizeof(z->why));
			stats_inc(STAT_dnsbl_error_reply);
			log_warn("%s: %s answered %s: the list refuses us or is "
			    "over quota (an error, not a listing)", r->l->what,
			    zone, z->why);
		}
		if (invalid > 0) {
			stats_add(STAT_dnsbl_invalid_reply, invalid);
			log_warn("%s: %s answered %zu address(es) outside "
			    "127.0.0.0/8: ignored (RFC 5782 2.1)", r->l->what,
			    zone, invalid);
		}
		break;
	case DNS_NODATA:
	case DNS_NXDOMAIN:
		z->state = DNSXL_ZONE_ANSWERED;
		z->n = 0;
		break;
	default:
		z->state = DNSXL_ZONE_ERROR;
		str_copy(z->why, sizeof(z->why), dns_status_name(res->status));
		log_warn("%s: %s: lookup failed: %s%s%s", r->l->what, zone,
		    dns_status_name(res->status), res->why[0] ? ": " : "",
		    res->why);
		break;
	}
	if (z->state == DNSXL_ZONE_ERROR) {
		if (strcmp(r->l->what, "rhsbl") == 0)
			stats_inc(STAT_rhsbl_zone_error);
		else
			stats_inc(STAT_dnsbl_zone_error);
	}
	if (r->finished)
		return;
	if (dnsxl_run_result(r, &sc) != DNSXL_UNDECIDED || sc.pending == 0)
		finish(r);
}

struct dnsxl_run *
dnsxl_run_start(const struct dnsxl_list *l, const char *key,
    dnsxl_done_fn done, void *arg)
{
	struct dnsxl_run *r = xcalloc(1, sizeof(*r));
	char name[300];

	r->l = l;
	r->done = done;
	r->arg = arg;
	r->nzones = l->sites.nzones;
	r->z = xcalloc(r->nzones + 1, sizeof(*r->z));
	for (size_t z = 0; z < r->nzones; z++) {
		r->z[z].r = r;
		r->z[z].idx = z;
		if (dnsxl_query_name(key, l->sites.zones[z], name,
		    sizeof(name)) < 0) {
			/* no such name can exist: not listed */
			r->z[z].state = DNSXL_ZONE_ANSWERED;
			continue;
		}
		r->z[z].q = dns_query(name, DNS_T_A, 0, on_answer, &r->z[z]);
	}
	return r;
}

void
dnsxl_run_free(struct dnsxl_run **rp)
{
	struct dnsxl_run *r = *rp;

	if (r == NULL)
		return;
	*rp = NULL;
	for (size_t z = 0; z < r->nzones; z++)
		dns_cancel(&r->z[z].q);	/* the callback never runs */
	free(r->z);
	free(r);
}

enum dnsxl_decision
dnsxl_run_result(const struct dnsxl_run *r, struct dnsxl_score *sc)
{
	struct dnsxl_answer an[DNSXL_ENTRIES_MAX];

	for (size_t z = 0; z < r->nzones && z < DNSXL_ENTRIES_MAX; z++) {
		an[z].state = r->z[z].state;
		an[z].a = r->z[z].a;
		an[z].n = r->z[z].n;
	}
	dnsxl_score(&r->l->sites, an, sc);
	return dnsxl_decide(sc, r->l->threshold, r->l->allow);
}

void
dnsxl_run_describe(const struct dnsxl_run *r, char *out, size_t outlen)
{
	size_t o = 0;

	out[0] = '\0';
	for (size_t z = 0; z < r->nzones && o + 1 < outlen; z++) {
		const struct zone_run *zr = &r->z[z];
		int k;

		k = snprintf(out + o, outlen - o, "%s%s=", o ? " " : "",
		    r->l->sites.zones[z]);
		if (k < 0 || (size_t)k >= outlen - o)
			break;
		o += (size_t)k;
		if (zr->state == DNSXL_ZONE_PENDING)
			k = snprintf(out + o, outlen - o, "pending");
		else if (zr->state == DNSXL_ZONE_ERROR)
			k = snprintf(out + o, outlen - o, "error(%s)", zr->why);
		else if (zr->n == 0)
			k = snprintf(out + o, outlen - o, "-");
		else {
			k = 0;
			for (size_t i = 0; i < zr->n; i++) {
				char a[INET_ADDRSTRLEN];
				int m;

				inet_ntop(AF_INET, &zr->a[i], a, sizeof(a));
				m = snprintf(out + o + k, outlen - o - k, "%s%s",
				    i ? "," : "", a);
				if (m < 0 || (size_t)m >= outlen - o - k)
					break;
				k += m;
			}
		}
		if (k < 0 || (size_t)k >= outlen - o)
			break;
		o += (size_t)k;
	}
}

/* ---- the filter side ---------------------------------------------------- */

int
dnsxl_filter_configure(struct filter_conf *fc, const struct dnsxl_conf *c,
    const char *what, const char *param, const struct cfg_block *b,
    struct cfg_errors *e)
{
	struct dnsxl_list *l = xcalloc(1, sizeof(*l));

	fc->priv = l;
	return dnsxl_list_configure(l, c, what, param, b, e);
}

void
dnsxl_filter_stop(struct filter_conf *fc)
{
	struct dnsxl_list *l = fc->priv;

	if (l == NULL)
		return;
	dnsxl_list_free(l);
	free(l);
	fc->priv = NULL;
}

void *
dnsxl_filter_txn_new(struct filter_conf *fc, size_t size,
    void (*verdict)(struct dnsxl_fstate *, struct verdict *))
{
	struct dnsxl_fstate *st = xcalloc(1, size);

	st->fc = fc;
	st->verdict = verdict;
	return st;
}

void
dnsxl_filter_txn_free(void *state)
{
	struct dnsxl_fstate *st = state;

	dnsxl_run_free(&st->run);
	free(st);
}

static void
filter_run_done(void *arg)
{
	struct dnsxl_fstate *st = arg;
	struct filter_call *call = st->call;
	struct verdict v;

	memset(&v, 0, sizeof(v));
	st->call = NULL;
	if (filter_call_is_live(call)) {
		st->verdict(st, &v);
		filter_resume(call, 1, &v);
		verdict_clear(&v);
	}
	dnsxl_run_free(&st->run);
	filter_call_release(call);	/* may free st: touch nothing after */
}

int
dnsxl_filter_start(struct dnsxl_fstate *st, struct filter_call *call,
    const char *key, struct verdict *v)
{
	struct dnsxl_score sc;

	dnsxl_run_free(&st->run);
	st->run = dnsxl_run_start(st->fc->priv, key, filter_run_done, st);
	/* answers come from the loop, never now: decided now means no
	 * query was needed, and none would ever call back */
	if (dnsxl_run_result(st->run, &sc) != DNSXL_UNDECIDED ||
	    sc.pending == 0) {
		st->verdict(st, v);
		dnsxl_run_free(&st->run);
		return 1;
	}
	st->call = filter_call_hold(call);
	return 0;
}

enum dnsxl_decision
dnsxl_filter_result(const struct dnsxl_fstate *st, struct dnsxl_score *sc,
    char *desc, size_t desclen, int *ignored)
{
	const struct dnsxl_list *l = st->fc->priv;
	enum dnsxl_decision d;

	d = dnsxl_run_result(st->run, sc);
	dnsxl_run_describe(st->run, desc, desclen);
	*ignored = 0;
	if (d == DNSXL_UNDECIDED && l->dns_error == DNSXL_DNS_ERROR_IGNORE) {
		/* score as if the failed lists had said "not listed" */
		*ignored = 1;
		sc->min = sc->max = sc->score;
		d = dnsxl_decide(sc, l->threshold, l->allow);
	}
	return d;
}
