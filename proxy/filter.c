/*
 * filter.c - the chain: stage dispatch, verdict merge, deadlines,
 * offloading to workers, fail-closed error handling.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "../filters/filters.h"
#include "config.h"
#include "filter.h"
#include "log.h"
#include "session.h"
#include "stats.h"
#include "util.h"
#include "worker.h"

#define FILTER_MAX		STATS_FILTERS_MAX
#define TAGS_MAX		32

/*
 * A filter's per-session state. Every filter_call pins it, so it outlives
 * the session while a worker job or a DNS query still uses it.
 */
struct fstate {
	void			*state;
	const struct filter_ops	*ops;
	struct config		*cfg;	/* held while state exists */
	int			 calls;	/* filter_calls alive */
	int			 orphan;	/* the run is gone */
};

struct filter_call {
	struct filter_run	*fr;	/* NULL once the run is gone */
	unsigned		 idx;
	int			 refs;
	int			 live;	/* the chain still waits for it */
	int			 in_check;
	int			 sync_done;
	int			 sync_rc;
	struct verdict		 sync_v;
	struct fstate		*fs;
	filter_work_fn		 work;
	struct verdict		 v;	/* the worker's result */
};

struct filter_run {
	struct session		*s;
	struct config		*c;
	struct event_base	*base;
	struct worker_pool	*pool;
	struct fstate		*fs[FILTER_MAX];
	/* ACCEPT: 1 + the index of the filter that gave it, or 0 */
	int			 accept_session;
	int			 accept_txn;
	/* the stage in progress */
	int			 running;
	enum filter_stage	 stage;
	size_t			 next;
	struct txn_view		 tv;
	filter_done_fn		 done;
	struct filter_call	*cur;
	struct event		*deadline;
	struct verdict		 result;
	const struct filter_conf *by;
	/* TAG headers: [0, nsession) for the session, then the transaction */
	char			*tags[TAGS_MAX];
	size_t			 ntags, nsession;
};

static const struct cfg_key common_keys[] = {
	{ "timeout",  CFG_MS,   "30s",      10, 3600000, offsetof(struct filter_conf, timeout_ms), 1, NULL, "deadline for this filter's answer at each stage" },
	{ "on_error", CFG_ENUM, "tempfail", 0, 0,        offsetof(struct filter_conf, on_error),   1, "tempfail|accept", "on an error or a passed deadline: tempfail (451 4.7.0) or accept (fail open)" },
};

static const char *const stage_names[STAGE_COUNT] = {
	"connect", "helo", "mail", "rcpt", "headers", "body", "eom"
};

static int	 run_from(struct filter_run *fr);
static int	 apply(struct filter_run *fr, size_t i, int rc,
		    struct verdict *v);
static void	 finish(struct filter_run *fr);
static void	 on_deadline(evutil_socket_t fd, short what, void *arg);
static void	 fstate_release(struct fstate *fs);
static void	 verdict_set(struct verdict *v, enum verdict_kind kind,
		    int code, const char *enh, const char *fmt, va_list ap)
		    __attribute__((format(printf, 5, 0)));

const char *
filter_stage_name(enum filter_stage s)
{
	return s < STAGE_COUNT ? stage_names[s] : "?";
}

/* ---- verdict helpers -------------------------------------------------- */

void
verdict_clear(struct verdict *v)
{
	free(v->header);
	memset(v, 0, sizeof(*v));
}

static void
verdict_set(struct verdict *v, enum verdict_kind kind, int code,
    const char *enh, const char *fmt, va_list ap)
{
	v->kind = kind;
	v->code = code;
	str_copy(v->enh, sizeof(v->enh), enh ? enh : "");
	if (vsnprintf(v->text, sizeof(v->text), fmt, ap) < 0)
		v->text[0] = '\0';
	/* one printable line: the client sees it */
	for (char *p = v->text; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
}

void
verdict_reject(struct verdict *v, int code, const char *enh,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verdict_set(v, VERDICT_REJECT, code, enh, fmt, ap);
	va_end(ap);
}

void
verdict_tempfail(struct verdict *v, int code, const char *enh,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verdict_set(v, VERDICT_TEMPFAIL, code, enh, fmt, ap);
	va_end(ap);
}

void
verdict_tag(struct verdict *v, const char *header)
{
	v->kind = VERDICT_TAG;
	free(v->header);
	v->header = xstrdup(header);
}

void
verdict_why(struct verdict *v, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (vsnprintf(v->why, sizeof(v->why), fmt, ap) < 0)
		v->why[0] = '\0';
	va_end(ap);
}

/* ---- for filters ------------------------------------------------------ */

void *
filter_state(struct filter_call *fc)
{
	return fc->fs ? fc->fs->state : NULL;
}

struct filter_conf *
filter_conf_of(struct filter_call *fc)
{
	return fc->fr ? fc->fr->c->finst[fc->idx] : NULL;
}

struct event_base *
filter_base(struct filter_call *fc)
{
	return fc->fr ? fc->fr->base : NULL;
}

struct filter_call *
filter_call_hold(struct filter_call *fc)
{
	fc->refs++;
	return fc;
}

void
filter_call_release(struct filter_call *fc)
{
	if (fc == NULL)
		return;
	ASSERT(fc->refs > 0);
	if (--fc->refs == 0) {
		struct fstate *fs = fc->fs;

		verdict_clear(&fc->v);
		verdict_clear(&fc->sync_v);
		free(fc);
		if (fs != NULL) {
			fs->calls--;
			fstate_release(fs);
		}
	}
}

int
filter_call_is_live(const struct filter_call *fc)
{
	return fc->live && fc->fr != NULL;
}

static void
offload_work(void *arg)
{
	struct filter_call *fc = arg;

	fc->work(fc->fs->state, &fc->v);
}

static void
offload_done(void *arg)
{
	struct filter_call *fc = arg;

	if (filter_call_is_live(fc)) {
		struct verdict v = fc->v;

		memset(&fc->v, 0, sizeof(fc->v));
		filter_resume(fc, 1, &v);
		verdict_clear(&v);
	}
	filter_call_release(fc);
}

int
filter_offload(struct filter_call *fc, filter_work_fn work)
{
	struct filter_run *fr = fc->fr;

	if (fr == NULL || fc->fs == NULL)
		return -1;
	fc->work = work;
	verdict_clear(&fc->v);
	filter_call_hold(fc);
	if (worker_submit(fr->pool, offload_work, offload_done, fc) < 0) {
		filter_call_release(fc);
		stats_inc(STAT_filter_offload_full);
		return -1;
	}
	return 0;
}

void
filter_resume(struct filter_call *fc, int rc, struct verdict *v)
{
	struct filter_run *fr = fc->fr;

	if (!filter_call_is_live(fc))
		return;
	if (fc->in_check) {
		/* Completed inside check() itself (a cached answer). */
		fc->sync_done = 1;
		fc->sync_rc = rc;
		fc->sync_v = *v;
		v->header = NULL;
		return;
	}
	fc->live = 0;
	ASSERT(fr->cur == fc);
	fr->cur = NULL;
	evtimer_del(fr->deadline);
	filter_call_release(fc);
	if (apply(fr, fr->next, rc, v) || (fr->next++, run_from(fr) == 1))
		finish(fr);
}

void
filter_set_client_name(struct filter_call *fc, const char *name)
{
	if (filter_call_is_live(fc))
		session_set_client_name(fc->fr->s, name);
}

/* ---- the run ---------------------------------------------------------- */

struct filter_run *
filter_run_new(struct session *s, const struct config *c,
    struct event_base *base, struct worker_pool *pool)
{
	struct filter_run *fr = xcalloc(1, sizeof(*fr));

	fr->s = s;
	fr->c = (struct config *)c;	/* the session holds the reference */
	fr->base = base;
	fr->pool = pool;
	fr->deadline = evtimer_new(base, on_deadline, fr);
	return fr;
}

static void
fstate_release(struct fstate *fs)
{
	if (!fs->orphan || fs->calls > 0)
		return;
	if (fs->state != NULL && fs->ops->txn_free != NULL)
		fs->ops->txn_free(fs->state);
	config_unref(&fs->cfg);
	free(fs);
}

static void
tags_clear(struct filter_run *fr, size_t from)
{
	for (size_t i = from; i < fr->ntags; i++)
		free(fr->tags[i]);
	fr->ntags = from;
	if (fr->nsession > from)
		fr->nsession = from;
}

void
filter_run_free(struct filter_run **frp)
{
	struct filter_run *fr = *frp;

	if (fr == NULL)
		return;
	if (fr->cur != NULL) {
		fr->cur->live = 0;
		fr->cur->fr = NULL;
		filter_call_release(fr->cur);
	}
	event_free(fr->deadline);
	for (size_t i = 0; i < FILTER_MAX; i++)
		if (fr->fs[i] != NULL) {
			fr->fs[i]->orphan = 1;
			fstate_release(fr->fs[i]);
		}
	tags_clear(fr, 0);
	free(fr);
	*frp = NULL;
}

void
filter_run_txn_reset(struct filter_run *fr)
{
	fr->accept_txn = 0;
	tags_clear(fr, fr->nsession);
}

void
filter_run_session_reset(struct filter_run *fr)
{
	fr->accept_txn = 0;
	fr->accept_session = 0;
	tags_clear(fr, 0);
}

size_t
filter_run_ntags(const struct filter_run *fr)
{
	return fr->ntags;
}

const char *
filter_run_tag(const struct filter_run *fr, size_t i)
{
	return i < fr->ntags ? fr->tags[i] : NULL;
}

int
filter_run_pending(const struct filter_run *fr)
{
	return fr->running;
}

int
filter_run_wants(const struct filter_run *fr, enum filter_stage stage)
{
	for (size_t i = 0; i < fr->c->nfilters; i++)
		if (fr->c->finst[i]->ops->stages & STAGE_BIT(stage))
			return 1;
	return 0;
}

int
filter_run_stage(struct filter_run *fr, enum filter_stage stage,
    const struct txn_view *tv, struct verdict *v,
    const struct filter_conf **by, filter_done_fn done)
{
	ASSERT(!fr->running);
	fr->stage = stage;
	fr->next = 0;
	fr->tv = *tv;
	fr->done = done;
	fr->by = NULL;
	verdict_clear(&fr->result);
	fr->running = 1;
	if (run_from(fr) == 0)
		return 0;
	fr->running = 0;
	*v = fr->result;
	memset(&fr->result, 0, sizeof(fr->result));
	*by = fr->by;
	return 1;
}

static void
finish(struct filter_run *fr)
{
	struct verdict v = fr->result;

	memset(&fr->result, 0, sizeof(fr->result));
	fr->running = 0;
	fr->done(fr->s, fr->stage, &v, fr->by);
	verdict_clear(&v);
}

/* 1: the stage is decided (fr->result set); 0: a filter is pending. */
static int
run_from(struct filter_run *fr)
{
	const struct config *c = fr->c;

	for (; fr->next < c->nfilters; fr->next++) {
		struct filter_conf *fc = c->finst[fr->next];
		const struct filter_ops *ops = fc->ops;
		struct filter_call *call;
		struct verdict v;
		int rc;

		if (!(ops->stages & STAGE_BIT(fr->stage)))
			continue;
		/* Another filter's ACCEPT skips this one; its own does not (as
		 * Postfix evaluates each restriction list on its own: an access
		 * OK for the client still leaves its recipient table). */
		if (((fr->accept_session && fr->accept_session != (int)fr->next + 1) ||
		    (fr->accept_txn && fr->accept_txn != (int)fr->next + 1)) &&
		    !(ops->flags & FLT_AFTER_ACCEPT))
			continue;
		if (fr->fs[fr->next] == NULL) {
			struct fstate *fs = xcalloc(1, sizeof(*fs));

			fs->ops = ops;
			fs->cfg = config_ref(fr->c);
			fs->state = ops->txn_new ? ops->txn_new(fc) : NULL;
			fr->fs[fr->next] = fs;
		}
		call = xcalloc(1, sizeof(*call));
		call->fr = fr;
		call->idx = (unsigned)fr->next;
		call->refs = 1;
		call->live = 1;
		call->fs = fr->fs[fr->next];
		call->fs->calls++;
		memset(&v, 0, sizeof(v));
		call->in_check = 1;
		fr->cur = call;
		rc = ops->check(call, fr->stage, &fr->tv, &v);
		call->in_check = 0;
		if (rc == 0 && call->sync_done) {
			rc = call->sync_rc;
			verdict_clear(&v);
			v = call->sync_v;
			memset(&call->sync_v, 0, sizeof(call->sync_v));
		}
		if (rc == 0) {
			struct timeval tv = {
				(time_t)(fc->timeout_ms / 1000),
				(suseconds_t)(fc->timeout_ms % 1000) * 1000
			};

			evtimer_add(fr->deadline, &tv);
			return 0;
		}
		fr->cur = NULL;
		call->live = 0;
		filter_call_release(call);
		if (apply(fr, fr->next, rc, &v)) {
			verdict_clear(&v);
			return 1;
		}
		verdict_clear(&v);
	}
	return 1;
}

/* Merges one filter's answer. 1: the stage is decided; 0: go on. */
static int
apply(struct filter_run *fr, size_t i, int rc, struct verdict *v)
{
	struct filter_conf *fc = fr->c->finst[i];

	if (rc < 0 || (v->kind != VERDICT_CONTINUE && v->kind != VERDICT_ACCEPT &&
	    v->kind != VERDICT_REJECT && v->kind != VERDICT_TEMPFAIL &&
	    v->kind != VERDICT_TAG)) {
		if (rc >= 0)
			stats_filter_inc(fc->index, STATF_ERROR);
		log_warn("%s filter %s: %s at %s%s%s", fr->tv.session_id,
		    fc->ops->name, rc == -2 ? "deadline passed" : "error",
		    stage_names[fr->stage], v->why[0] ? ": " : "", v->why);
		if (fc->on_error == ON_ERROR_ACCEPT)
			return 0;
		verdict_clear(&fr->result);
		verdict_tempfail(&fr->result, 451, "4.7.0",
		    "Temporary failure in message checks, try again later");
		verdict_why(&fr->result, "error: %s", rc == -2 ?
		    "deadline passed" : v->why[0] ? v->why : "filter error");
		fr->by = fc;
		return 1;
	}
	switch (v->kind) {
	case VERDICT_CONTINUE:
		stats_filter_inc(fc->index, STATF_CONTINUE);
		return 0;
	case VERDICT_TAG:
		stats_filter_inc(fc->index, STATF_TAG);
		if (v->header != NULL && fr->ntags < TAGS_MAX) {
			fr->tags[fr->ntags++] = v->header;
			v->header = NULL;
			if (fr->stage <= STAGE_HELO)
				fr->nsession = fr->ntags;
		}
		return 0;
	case VERDICT_ACCEPT:
		stats_filter_inc(fc->index, STATF_ACCEPT);
		if (fr->stage <= STAGE_HELO)
			fr->accept_session = (int)i + 1;
		else
			fr->accept_txn = (int)i + 1;
		/* the remaining filters are skipped by run_from's test */
		return 0;
	case VERDICT_REJECT:
	case VERDICT_TEMPFAIL:
		stats_filter_inc(fc->index, v->kind == VERDICT_REJECT ?
		    STATF_REJECT : STATF_TEMPFAIL);
		verdict_clear(&fr->result);
		fr->result = *v;
		v->header = NULL;
		if (fr->result.code == 0)
			fr->result.code = v->kind == VERDICT_REJECT ? 550 : 451;
		/* a filter cannot make a reject out of a 4xx or vice versa */
		if (v->kind == VERDICT_REJECT && fr->result.code / 100 != 5)
			fr->result.code = 550;
		if (v->kind == VERDICT_TEMPFAIL && fr->result.code / 100 != 4)
			fr->result.code = 451;
		if (fr->result.enh[0] == '\0' || fr->result.enh[0] !=
		    '0' + fr->result.code / 100)
			str_copy(fr->result.enh, sizeof(fr->result.enh),
			    v->kind == VERDICT_REJECT ? "5.7.1" : "4.7.1");
		if (fr->result.text[0] == '\0')
			str_copy(fr->result.text, sizeof(fr->result.text),
			    v->kind == VERDICT_REJECT ? "Rejected" :
			    "Try again later");
		fr->by = fc;
		return 1;
	}
	return 0;
}

static void
on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct filter_run *fr = arg;
	struct filter_call *call = fr->cur;
	struct verdict v;

	if (call == NULL)
		return;
	stats_filter_inc(fr->c->finst[fr->next]->index, STATF_TIMEOUT);
	/* The call is dropped; a late answer finds it dead. */
	call->live = 0;
	fr->cur = NULL;
	filter_call_release(call);
	memset(&v, 0, sizeof(v));
	if (apply(fr, fr->next, -2, &v) || (fr->next++, run_from(fr) == 1))
		finish(fr);
}

/* ---- configuration ---------------------------------------------------- */

int
filter_chain_configure(struct config *c, const struct cfg_file *f,
    struct cfg_errors *e)
{
	const struct cfg_block *top = &f->blocks[0];
	int before = e->count;

	if (c->filters.n > FILTER_MAX) {
		cfg_error(e, f->path, cfg_line_of(top, "filters"),
		    "filters: more than %d", FILTER_MAX);
		return -1;
	}
	c->finst = xcalloc(c->filters.n, sizeof(*c->finst));
	for (size_t i = 0; i < c->filters.n; i++) {
		const struct filter_ops *ops = filter_find(c->filters.v[i]);
		const struct cfg_block *b;
		struct cfg_block empty;
		struct filter_conf *fc;

		if (ops == NULL) {
			cfg_error(e, f->path, cfg_line_of(top, "filters"),
			    "filters: no filter named \"%s\"", c->filters.v[i]);
			continue;
		}
		for (size_t j = 0; j < i; j++)
			if (strcmp(c->filters.v[j], c->filters.v[i]) == 0)
				cfg_error(e, f->path, cfg_line_of(top, "filters"),
				    "filters: \"%s\" listed twice",
				    c->filters.v[i]);
		b = cfg_file_section(f, ops->name);
		if (b == NULL) {
			memset(&empty, 0, sizeof(empty));
			empty.name = (char *)ops->name;
			empty.file = f->path;
			empty.line = cfg_line_of(top, "filters");
			b = &empty;
		}
		fc = xcalloc(1, sizeof(*fc));
		fc->ops = ops;
		fc->cfg = c;
		/* counters are per filter kind, stable across reloads */
		for (size_t t = 0; filter_table[t] != NULL; t++)
			if (filter_table[t] == ops)
				fc->index = (unsigned)t;
		fc->conf = xcalloc(1, ops->conf_size ? ops->conf_size : 1);
		c->finst[c->nfilters++] = fc;
		cfg_apply(b, common_keys, ARRAY_LEN(common_keys), fc, e);
		if (ops->nkeys > 0)
			cfg_apply(b, ops->keys, ops->nkeys, fc->conf, e);
		if (ops->configure != NULL)
			ops->configure(fc, b, e);
		cfg_check_unused(b, e);
	}
	return e->count == before ? 0 : -1;
}

int
filter_chain_start(struct config *c, struct err *err)
{
	for (size_t i = 0; i < c->nfilters; i++) {
		struct filter_conf *fc = c->finst[i];

		if (fc->ops->start != NULL && fc->ops->start(fc, err) < 0)
			return -1;
	}
	return 0;
}

void
filter_chain_tick(struct config *c)
{
	for (size_t i = 0; i < c->nfilters; i++)
		if (c->finst[i]->ops->tick != NULL)
			c->finst[i]->ops->tick(c->finst[i]);
}

void
filter_chain_free(struct config *c)
{
	for (size_t i = 0; i < c->nfilters; i++) {
		struct filter_conf *fc = c->finst[i];

		if (fc->ops->stop != NULL)
			fc->ops->stop(fc);
		if (fc->ops->nkeys > 0)
			cfg_free_fields(fc->ops->keys, fc->ops->nkeys, fc->conf);
		free(fc->conf);
		free(fc);
	}
	free(c->finst);
	c->finst = NULL;
	c->nfilters = 0;
}

void
filter_stats_init(void)
{
	for (size_t i = 0; filter_table[i] != NULL && i < FILTER_MAX; i++)
		stats_filter_name((unsigned)i, filter_table[i]->name);
}

void
filter_print_keys(void)
{
	for (size_t i = 0; filter_table[i] != NULL; i++) {
		printf("\n");
		cfg_print_keys(filter_table[i]->name, common_keys,
		    ARRAY_LEN(common_keys));
		if (filter_table[i]->nkeys > 0)
			cfg_print_keys(NULL, filter_table[i]->keys,
			    filter_table[i]->nkeys);
	}
}
