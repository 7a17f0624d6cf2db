/*
 * dns.c - the one resolver context and its loop integration.
 *
 * libunbound in thread mode (ub_ctx_async(ctx, 1)): one background thread
 * resolves, answers come back through a pipe whose read end (ub_fd) the
 * loop watches; ub_process() runs the callbacks on the loop thread. Worker
 * threads submit with ub_resolve_async() too and wait on a condition
 * variable, so the loop and the workers share one cache (fork mode would
 * not, LIBRARIES.md §1) and a worker's wait honours our deadline, which a
 * blocking ub_resolve() would not.
 *
 * Cancelling, from unbound's source (libunbound.c, thread mode): ub_cancel()
 * marks the query under the context lock; the answer path reads that mark
 * under the same lock before it calls back, and removes the query before
 * calling back. So UB_NOERROR from ub_cancel() means the callback will
 * never run, and UB_NOID means it has run or is about to. Both paths below
 * rely on exactly that.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <unbound.h>

#include "config.h"
#include "dns.h"
#include "log.h"
#include "stats.h"
#include "util.h"

#define FINGERPRINT_MAX		4096
#define DEFAULT_TIMEOUT_MS	5000

struct dns_resolver {
	struct ub_ctx	*ctx;
	struct event	*ev;		/* ub_fd() readable */
	char		*fingerprint;	/* the settings it was built from */
	uint64_t	 timeout_ms;
	int		 refs;		/* current + queries in flight; g.mu */
};

struct dns_query {
	struct dns_resolver *r;
	int		 id;		/* unbound's async id */
	int		 ub_pending;	/* unbound will call back */
	int		 orphan;	/* cancelled; unbound's callback frees */
	int		 type;
	char		*name;		/* for the log */
	uint64_t	 start_ms;
	uint64_t	 timeout_ms;
	struct event	*timer;
	dns_cb		 cb;
	void		*arg;
	struct dns_result early;	/* an error known before asking */
	int		 has_early;
};

/* A worker's query: shared by the waiting thread and unbound's callback. */
struct dns_wait {
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	int		 refs;
	int		 done;
	int		 abandoned;
	int		 err;
	struct ub_result *res;
};

static struct {
	pthread_mutex_t	 mu;		/* current and every refs */
	struct dns_resolver *current;
	struct event_base *base;
	pthread_t	 loop_thread;
	int		 attached;
} g = { .mu = PTHREAD_MUTEX_INITIALIZER };

/*
 * Answers we already have, in front of libunbound. Its own cache answers
 * too, but each answer crosses threads (to its background thread and back
 * through a pipe, then to a waiting worker): a "cached" lookup still costs
 * a round trip of context switches. Here a hit is a lock and a copy. Only
 * definite answers (records, NODATA, NXDOMAIN) are kept, for their TTL
 * (at most CACHE_TTL_MAX); failures are never kept. Cleared when the
 * resolver's settings change.
 */
#define CACHE_BUCKETS		4096
#define CACHE_MAX		20000
#define CACHE_TTL_MAX		3600

struct centry {
	struct centry	*next;
	uint64_t	 expires;	/* now_ms() */
	int		 type;
	char		*name;		/* lower case, no final dot */
	struct dns_result res;
};

static struct {
	pthread_mutex_t	 mu;
	struct centry	*b[CACHE_BUCKETS];
	size_t		 n;
	size_t		 evict;		/* next bucket to make room in */
} cache = { .mu = PTHREAD_MUTEX_INITIALIZER };

static void	 resolver_unref(struct dns_resolver *r);
static void	 cache_clear(void);
static void	 on_ub_fd(evutil_socket_t fd, short what, void *arg);
static void	 result_from_ub(int err, struct ub_result *u, int type,
		    struct dns_result *out);

/* ---- settings --------------------------------------------------------- */

static void
fp_add(char *fp, size_t size, const char *k, const char *v)
{
	size_t n = strlen(fp);

	str_fmt(fp + n, size - n, "%s=%s\n", k, v ? v : "");
}

static void
settings_from_config(const struct config *c, struct dns_settings *st)
{
	memset(st, 0, sizeof(*st));
	st->servers = &c->dns_servers;
	st->timeout_ms = c->dns_timeout;
	st->dnssec = c->dns_dnssec;
	st->trust_anchor_file = c->dns_trust_anchor_file;
	st->unblock = &c->dns_unblock_zones;
	st->unbound_conf = c->dns_unbound_conf;
}

static void
fingerprint(const struct dns_settings *st, char *fp, size_t size)
{
	char num[32];

	fp[0] = '\0';
	for (size_t i = 0; st->servers && i < st->servers->n; i++)
		fp_add(fp, size, "server", st->servers->v[i]);
	/* the timeout is ours, not unbound's: not part of the context */
	str_fmt(num, sizeof(num), "%d", st->dnssec);
	fp_add(fp, size, "dnssec", num);
	fp_add(fp, size, "ta", st->trust_anchor_file);
	for (size_t i = 0; st->unblock && i < st->unblock->n; i++)
		fp_add(fp, size, "unblock", st->unblock->v[i]);
	fp_add(fp, size, "conf", st->unbound_conf);
}

static int
is_recursive(const struct dns_settings *st)
{
	return st->servers != NULL && st->servers->n == 1 &&
	    strcmp(st->servers->v[0], "recursive") == 0;
}

/*
 * Applies the settings to a fresh context. On error: -1, *bad names the
 * key at fault and err says why.
 */
static int
ctx_apply(struct ub_ctx *ctx, const struct dns_settings *st, const char **bad,
    struct err *err)
{
	int rc;

	*bad = "dns_servers";
	if (st->servers == NULL || st->servers->n == 0) {
		/* no resolv.conf means 127.0.0.1, as resolv.conf(5) says */
		if (access("/etc/resolv.conf", R_OK) != 0)
			rc = ub_ctx_set_fwd(ctx, "127.0.0.1");
		else
			rc = ub_ctx_resolvconf(ctx, NULL);
		if (rc != 0) {
			err_set(err, "/etc/resolv.conf: %s", ub_strerror(rc));
			return -1;
		}
	} else if (!is_recursive(st)) {
		for (size_t i = 0; i < st->servers->n; i++) {
			const char *s = st->servers->v[i];

			if (strcmp(s, "recursive") == 0) {
				err_set(err, "\"recursive\" cannot be mixed "
				    "with server addresses");
				return -1;
			}
			if ((rc = ub_ctx_set_fwd(ctx, s)) != 0) {
				err_set(err, "\"%s\": %s (want an IP address, "
				    "optionally @port)", s, ub_strerror(rc));
				return -1;
			}
		}
	}
	*bad = "dns_unblock_zones";
	for (size_t i = 0; st->unblock && i < st->unblock->n; i++) {
		char zone[300];

		/*
		 * unbound answers RFC 6761 names (test., invalid., ...) and
		 * private reverse zones itself; "nodefault" has no effect in
		 * 1.17 but "transparent" does (LIBRARIES.md §1).
		 */
		if (str_fmt(zone, sizeof(zone), "%s%s transparent",
		    st->unblock->v[i], st->unblock->v[i][0] != '\0' &&
		    st->unblock->v[i][strlen(st->unblock->v[i]) - 1] == '.' ?
		    "" : ".") < 0 ||
		    (rc = ub_ctx_set_option(ctx, "local-zone:", zone)) != 0) {
			err_set(err, "\"%s\": not a zone name",
			    st->unblock->v[i]);
			return -1;
		}
	}
	*bad = "dns_unbound_conf";
	if (st->unbound_conf != NULL && st->unbound_conf[0] != '\0' &&
	    (rc = ub_ctx_config(ctx, st->unbound_conf)) != 0) {
		err_set(err, "%s: %s", st->unbound_conf, rc == UB_SYNTAX ?
		    "syntax error (see unbound.conf(5))" : ub_strerror(rc));
		return -1;
	}
	*bad = "dns_trust_anchor_file";
	if (st->dnssec) {
		const char *ta = st->trust_anchor_file && st->trust_anchor_file[0]
		    ? st->trust_anchor_file : "/usr/share/dns/root.key";

		if ((rc = ub_ctx_add_ta_file(ctx, ta)) != 0) {
			err_set(err, "%s: %s", ta, ub_strerror(rc));
			return -1;
		}
	}
	*bad = "dns_servers";
	/* threads, never fork: one cache for loop and workers (§1) */
	if ((rc = ub_ctx_async(ctx, 1)) != 0) {
		err_set(err, "ub_ctx_async: %s", ub_strerror(rc));
		return -1;
	}
	return 0;
}

static struct dns_resolver *
resolver_new(const struct dns_settings *st, const char *fp, struct err *err)
{
	struct dns_resolver *r;
	struct ub_ctx *ctx = ub_ctx_create();
	const char *bad;

	if (ctx == NULL) {
		err_set(err, "cannot create the resolver context");
		return NULL;
	}
	if (ctx_apply(ctx, st, &bad, err) < 0) {
		ub_ctx_delete(ctx);
		return NULL;
	}
	r = xcalloc(1, sizeof(*r));
	r->ctx = ctx;
	r->fingerprint = xstrdup(fp);
	r->timeout_ms = st->timeout_ms ? st->timeout_ms : DEFAULT_TIMEOUT_MS;
	r->refs = 1;
	return r;
}

/* g.mu held or single-threaded; the loop thread attaches the event. */
static void
resolver_attach(struct dns_resolver *r)
{
	if (r->ev != NULL || g.base == NULL)
		return;
	r->ev = event_new(g.base, ub_fd(r->ctx), EV_READ | EV_PERSIST,
	    on_ub_fd, r);
	event_add(r->ev, NULL);
}

static void
resolver_unref(struct dns_resolver *r)
{
	int last;

	pthread_mutex_lock(&g.mu);
	ASSERT(r->refs > 0);
	last = --r->refs == 0;
	pthread_mutex_unlock(&g.mu);
	if (!last)
		return;
	if (r->ev != NULL)
		event_free(r->ev);
	ub_ctx_delete(r->ctx);
	free(r->fingerprint);
	free(r);
}

/* The current resolver with a reference, or NULL. Any thread. */
static struct dns_resolver *
resolver_get(void)
{
	struct dns_resolver *r;

	pthread_mutex_lock(&g.mu);
	r = g.current;
	if (r != NULL)
		r->refs++;
	pthread_mutex_unlock(&g.mu);
	return r;
}

int
dns_configure_settings(const struct dns_settings *st, struct err *err)
{
	char fp[FINGERPRINT_MAX];
	struct dns_resolver *r, *old;

	fingerprint(st, fp, sizeof(fp));
	pthread_mutex_lock(&g.mu);
	if (g.current != NULL && strcmp(g.current->fingerprint, fp) == 0) {
		/* same context: keep its cache; the timeout is ours */
		g.current->timeout_ms = st->timeout_ms ? st->timeout_ms :
		    DEFAULT_TIMEOUT_MS;
		pthread_mutex_unlock(&g.mu);
		return 0;
	}
	pthread_mutex_unlock(&g.mu);
	if ((r = resolver_new(st, fp, err)) == NULL)
		return -1;
	pthread_mutex_lock(&g.mu);
	old = g.current;
	g.current = r;
	if (g.attached)
		resolver_attach(r);
	pthread_mutex_unlock(&g.mu);
	if (old != NULL) {
		log_info("dns: resolver settings changed; new queries use the "
		    "new context");
		cache_clear();
		resolver_unref(old);
	}
	return 0;
}

int
dns_configure(const struct config *c, struct err *err)
{
	struct dns_settings st;

	settings_from_config(c, &st);
	return dns_configure_settings(&st, err);
}

void
dns_config_check(const struct config *c, const struct cfg_block *top,
    struct cfg_errors *e)
{
	struct dns_settings st;
	struct ub_ctx *ctx;
	const char *bad;
	struct err err;

	settings_from_config(c, &st);
	for (size_t i = 0; st.unblock && i < st.unblock->n; i++)
		if (!dns_name_valid(st.unblock->v[i]))
			cfg_error(e, top->file, cfg_line_of(top,
			    "dns_unblock_zones"), "dns_unblock_zones: \"%s\" is "
			    "not a zone name", st.unblock->v[i]);
	if (st.dnssec && (st.trust_anchor_file == NULL ||
	    st.trust_anchor_file[0] == '\0') &&
	    access("/usr/share/dns/root.key", R_OK) != 0)
		cfg_error(e, top->file, cfg_line_of(top, "dns_dnssec"),
		    "dns_dnssec: no dns_trust_anchor_file and "
		    "/usr/share/dns/root.key is missing (package dns-root-data)");
	/* The real parser is unbound's: apply to a context never used. */
	if ((ctx = ub_ctx_create()) == NULL) {
		cfg_error(e, top->file, 0, "cannot create a resolver context");
		return;
	}
	if (ctx_apply(ctx, &st, &bad, &err) < 0)
		cfg_error(e, top->file, cfg_line_of(top, bad), "%s: %s", bad,
		    err.msg);
	ub_ctx_delete(ctx);
}

void
dns_attach(struct event_base *base)
{
	pthread_mutex_lock(&g.mu);
	g.base = base;
	g.loop_thread = pthread_self();
	g.attached = 1;
	if (g.current != NULL)
		resolver_attach(g.current);
	pthread_mutex_unlock(&g.mu);
}

void
dns_shutdown(void)
{
	struct dns_resolver *r;

	pthread_mutex_lock(&g.mu);
	r = g.current;
	g.current = NULL;
	pthread_mutex_unlock(&g.mu);
	if (r != NULL)
		resolver_unref(r);
	cache_clear();
}

uint64_t
dns_timeout_ms(void)
{
	uint64_t t = DEFAULT_TIMEOUT_MS;

	pthread_mutex_lock(&g.mu);
	if (g.current != NULL)
		t = g.current->timeout_ms;
	pthread_mutex_unlock(&g.mu);
	return t;
}

static void
on_ub_fd(evutil_socket_t fd, short what, void *arg)
{
	struct dns_resolver *r = arg;
	int rc;

	/* the callbacks may drop the last reference: hold one */
	pthread_mutex_lock(&g.mu);
	r->refs++;
	pthread_mutex_unlock(&g.mu);
	if ((rc = ub_process(r->ctx)) != 0)
		log_warn("dns: ub_process: %s", ub_strerror(rc));
	resolver_unref(r);
}

/* ---- the answer cache -------------------------------------------------- */

static void
result_copy(struct dns_result *dst, const struct dns_result *src)
{
	*dst = *src;
	dst->rr = NULL;
	if (src->n == 0)
		return;
	dst->rr = xcalloc(src->n, sizeof(*dst->rr));
	for (size_t i = 0; i < src->n; i++) {
		dst->rr[i] = src->rr[i];
		if (src->rr[i].text != NULL) {
			dst->rr[i].text = xmalloc(src->rr[i].len + 1);
			memcpy(dst->rr[i].text, src->rr[i].text,
			    src->rr[i].len + 1);
		}
	}
}

static size_t
cache_key(const char *name, int type, char *key, size_t keylen)
{
	size_t n = 0, h = (size_t)type * 2654435761u;

	for (; *name && n + 1 < keylen; name++)
		key[n++] = (char)tolower((unsigned char)*name);
	if (n > 0 && key[n - 1] == '.')
		n--;
	key[n] = '\0';
	for (size_t i = 0; i < n; i++)
		h = h * 31 + (unsigned char)key[i];
	return h % CACHE_BUCKETS;
}

static void
centry_free(struct centry *e)
{
	free(e->name);
	dns_result_free(&e->res);
	free(e);
}

/* 1 and *out filled (a copy) on a hit. Any thread. */
static int
cache_get(const char *name, int type, struct dns_result *out)
{
	char key[DNS_NAME_MAX];
	size_t b = cache_key(name, type, key, sizeof(key));
	uint64_t now = now_ms();
	struct centry **ep, *e;
	int hit = 0;

	pthread_mutex_lock(&cache.mu);
	for (ep = &cache.b[b]; (e = *ep) != NULL; ep = &e->next) {
		if (e->type != type || strcmp(e->name, key) != 0)
			continue;
		if (e->expires <= now) {
			*ep = e->next;
			cache.n--;
			centry_free(e);
			break;
		}
		result_copy(out, &e->res);
		out->ttl = (uint32_t)((e->expires - now) / 1000);
		hit = 1;
		break;
	}
	pthread_mutex_unlock(&cache.mu);
	if (hit)
		stats_inc(STAT_dns_cache_hit);
	return hit;
}

static void
cache_put(const char *name, int type, const struct dns_result *r)
{
	char key[DNS_NAME_MAX];
	size_t b;
	struct centry *e, **ep;
	uint32_t ttl = MIN(r->ttl, CACHE_TTL_MAX);

	if (ttl == 0 || (r->status != DNS_OK && r->status != DNS_NODATA &&
	    r->status != DNS_NXDOMAIN))
		return;
	b = cache_key(name, type, key, sizeof(key));
	e = xcalloc(1, sizeof(*e));
	e->name = xstrdup(key);
	e->type = type;
	e->expires = now_ms() + (uint64_t)ttl * 1000;
	result_copy(&e->res, r);
	pthread_mutex_lock(&cache.mu);
	/* the same name again: the new answer replaces it */
	for (ep = &cache.b[b]; *ep != NULL; ep = &(*ep)->next)
		if ((*ep)->type == type && strcmp((*ep)->name, key) == 0) {
			struct centry *old = *ep;

			*ep = old->next;
			cache.n--;
			centry_free(old);
			break;
		}
	/* full: empty one bucket (round robin), a cheap approximation of
	 * dropping the oldest */
	while (cache.n >= CACHE_MAX) {
		struct centry *x;

		while ((x = cache.b[cache.evict]) != NULL) {
			cache.b[cache.evict] = x->next;
			cache.n--;
			centry_free(x);
		}
		cache.evict = (cache.evict + 1) % CACHE_BUCKETS;
	}
	e->next = cache.b[b];
	cache.b[b] = e;
	cache.n++;
	pthread_mutex_unlock(&cache.mu);
}

static void
cache_clear(void)
{
	pthread_mutex_lock(&cache.mu);
	for (size_t i = 0; i < CACHE_BUCKETS; i++) {
		struct centry *e, *n;

		for (e = cache.b[i]; e != NULL; e = n) {
			n = e->next;
			centry_free(e);
		}
		cache.b[i] = NULL;
	}
	cache.n = 0;
	pthread_mutex_unlock(&cache.mu);
}

/* ---- loop-thread queries ---------------------------------------------- */

static void
count_status(enum dns_status s)
{
	switch (s) {
	case DNS_OK:		stats_inc(STAT_dns_answer); break;
	case DNS_NODATA:	stats_inc(STAT_dns_nodata); break;
	case DNS_NXDOMAIN:	stats_inc(STAT_dns_nxdomain); break;
	case DNS_SERVFAIL:	stats_inc(STAT_dns_servfail); break;
	case DNS_TIMEOUT:	stats_inc(STAT_dns_timeout); break;
	case DNS_ERROR:		stats_inc(STAT_dns_error); break;
	}
}

static void
query_free(struct dns_query *q)
{
	if (q->timer != NULL)
		event_free(q->timer);
	dns_result_free(&q->early);
	free(q->name);
	if (q->r != NULL)
		resolver_unref(q->r);
	free(q);
}

static void
deliver(struct dns_query *q, struct dns_result *res)
{
	count_status(res->status);
	if (res->status == DNS_TIMEOUT || res->status == DNS_SERVFAIL ||
	    res->status == DNS_ERROR)
		log_debug("dns: %s/%s: %s: %s", q->name, dns_type_name(q->type),
		    dns_status_name(res->status), res->why);
	q->cb(q->arg, res);
}

static void
on_ub_answer(void *arg, int err, struct ub_result *u)
{
	struct dns_query *q = arg;
	struct dns_result res;

	q->ub_pending = 0;
	if (q->orphan) {
		ub_resolve_free(u);
		query_free(q);
		return;
	}
	result_from_ub(err, u, q->type, &res);
	ub_resolve_free(u);
	cache_put(q->name, q->type, &res);
	evtimer_del(q->timer);
	deliver(q, &res);
	dns_result_free(&res);
	query_free(q);
}

static void
on_query_timer(evutil_socket_t fd, short what, void *arg)
{
	struct dns_query *q = arg;
	struct dns_result res;

	if (q->has_early) {
		res = q->early;
		memset(&q->early, 0, sizeof(q->early));
		deliver(q, &res);
		dns_result_free(&res);
		query_free(q);
		return;
	}
	memset(&res, 0, sizeof(res));
	res.status = DNS_TIMEOUT;
	res.type = q->type;
	str_fmt(res.why, sizeof(res.why), "no answer within %llu ms",
	    (unsigned long long)q->timeout_ms);
	if (q->ub_pending && ub_cancel(q->r->ctx, q->id) != UB_NOERROR) {
		/* the answer is on its way: unbound's callback frees q */
		q->orphan = 1;
		deliver(q, &res);
		return;
	}
	q->ub_pending = 0;
	deliver(q, &res);
	query_free(q);
}

static void
query_fail_later(struct dns_query *q, enum dns_status st, const char *why)
{
	struct timeval now = { 0, 0 };

	q->has_early = 1;
	q->early.status = st;
	q->early.type = q->type;
	str_copy(q->early.why, sizeof(q->early.why), why);
	evtimer_add(q->timer, &now);
}

struct dns_query *
dns_query(const char *name, int type, uint64_t timeout_ms, dns_cb cb,
    void *arg)
{
	struct dns_query *q = xcalloc(1, sizeof(*q));
	struct timeval tv;
	int rc;

	ASSERT(g.base != NULL);
	q->type = type;
	q->name = xstrndup(name, strnlen(name, DNS_NAME_MAX));
	q->cb = cb;
	q->arg = arg;
	q->start_ms = now_ms();
	q->timer = evtimer_new(g.base, on_query_timer, q);
	stats_inc(STAT_dns_queries);
	if ((q->r = resolver_get()) == NULL) {
		query_fail_later(q, DNS_ERROR, "no resolver configured");
		return q;
	}
	if (timeout_ms == 0)
		timeout_ms = q->r->timeout_ms;
	q->timeout_ms = timeout_ms;
	if (!dns_name_valid(name)) {
		query_fail_later(q, DNS_ERROR, "not a valid domain name");
		return q;
	}
	if (cache_get(name, type, &q->early)) {
		struct timeval now = { 0, 0 };

		/* still later, never inside dns_query() */
		q->has_early = 1;
		evtimer_add(q->timer, &now);
		return q;
	}
	rc = ub_resolve_async(q->r->ctx, name, type, 1, q, on_ub_answer, &q->id);
	if (rc != 0) {
		char why[120];

		str_fmt(why, sizeof(why), "resolver: %s", ub_strerror(rc));
		query_fail_later(q, DNS_ERROR, why);
		return q;
	}
	q->ub_pending = 1;
	tv.tv_sec = (time_t)(timeout_ms / 1000);
	tv.tv_usec = (suseconds_t)(timeout_ms % 1000) * 1000;
	evtimer_add(q->timer, &tv);
	return q;
}

void
dns_cancel(struct dns_query **qp)
{
	struct dns_query *q = *qp;

	if (q == NULL)
		return;
	*qp = NULL;
	evtimer_del(q->timer);
	if (q->ub_pending && ub_cancel(q->r->ctx, q->id) != UB_NOERROR) {
		q->orphan = 1;		/* the callback frees it */
		return;
	}
	q->ub_pending = 0;
	query_free(q);
}

/* ---- worker-thread queries -------------------------------------------- */

static void
wait_unref(struct dns_wait *w)
{
	int last;

	pthread_mutex_lock(&w->mu);
	last = --w->refs == 0;
	pthread_mutex_unlock(&w->mu);
	if (!last)
		return;
	if (w->res != NULL)
		ub_resolve_free(w->res);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
	free(w);
}

static void
on_wait_answer(void *arg, int err, struct ub_result *u)
{
	struct dns_wait *w = arg;

	pthread_mutex_lock(&w->mu);
	if (w->abandoned)
		ub_resolve_free(u);
	else {
		w->res = u;
		w->err = err;
		w->done = 1;
		pthread_cond_signal(&w->cv);
	}
	pthread_mutex_unlock(&w->mu);
	wait_unref(w);
}

int
dns_resolve(const char *name, int type, uint64_t timeout_ms,
    struct dns_result *out)
{
	struct dns_resolver *r;
	struct dns_wait *w;
	pthread_condattr_t ca;
	struct timespec ts;
	int rc, id, done;

	memset(out, 0, sizeof(*out));
	out->type = type;
	stats_inc(STAT_dns_queries);
	if ((r = resolver_get()) == NULL) {
		out->status = DNS_ERROR;
		str_copy(out->why, sizeof(out->why), "no resolver configured");
		count_status(out->status);
		return -1;
	}
	ASSERT(!g.attached || !pthread_equal(pthread_self(), g.loop_thread));
	if (timeout_ms == 0)
		timeout_ms = r->timeout_ms;
	if (!dns_name_valid(name)) {
		out->status = DNS_ERROR;
		str_copy(out->why, sizeof(out->why), "not a valid domain name");
		count_status(out->status);
		resolver_unref(r);
		return -1;
	}
	if (cache_get(name, type, out)) {
		resolver_unref(r);
		count_status(out->status);
		return 0;
	}
	w = xcalloc(1, sizeof(*w));
	pthread_mutex_init(&w->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->cv, &ca);
	pthread_condattr_destroy(&ca);
	w->refs = 2;			/* this thread and unbound's callback */
	rc = ub_resolve_async(r->ctx, name, type, 1, w, on_wait_answer, &id);
	if (rc != 0) {
		w->refs = 1;
		wait_unref(w);
		out->status = DNS_ERROR;
		str_fmt(out->why, sizeof(out->why), "resolver: %s",
		    ub_strerror(rc));
		count_status(out->status);
		resolver_unref(r);
		return -1;
	}
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += (time_t)(timeout_ms / 1000);
	ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&w->mu);
	while (!w->done)
		if (pthread_cond_timedwait(&w->cv, &w->mu, &ts) == ETIMEDOUT)
			break;
	done = w->done;
	if (done) {
		result_from_ub(w->err, w->res, type, out);
		ub_resolve_free(w->res);
		w->res = NULL;
		cache_put(name, type, out);
	} else
		w->abandoned = 1;
	pthread_mutex_unlock(&w->mu);
	if (!done) {
		if (ub_cancel(r->ctx, id) == UB_NOERROR)
			wait_unref(w);	/* the callback's reference */
		out->status = DNS_TIMEOUT;
		str_fmt(out->why, sizeof(out->why), "no answer within %llu ms",
		    (unsigned long long)timeout_ms);
	}
	wait_unref(w);
	resolver_unref(r);
	count_status(out->status);
	return out->status == DNS_TIMEOUT || out->status == DNS_ERROR ? -1 : 0;
}

/* ---- results ---------------------------------------------------------- */

void
dns_result_free(struct dns_result *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->rr[i].text);
	free(r->rr);
	r->rr = NULL;
	r->n = 0;
}

int
dns_status_temporary(enum dns_status s)
{
	return s == DNS_SERVFAIL || s == DNS_TIMEOUT || s == DNS_ERROR;
}

const char *
dns_status_name(enum dns_status s)
{
	static const char *const names[] = {
		"ok", "nodata", "nxdomain", "servfail", "timeout", "error"
	};

	return (unsigned)s < ARRAY_LEN(names) ? names[s] : "?";
}

const char *
dns_type_name(int type)
{
	switch (type) {
	case DNS_T_A:		return "A";
	case DNS_T_NS:		return "NS";
	case DNS_T_CNAME:	return "CNAME";
	case DNS_T_PTR:		return "PTR";
	case DNS_T_MX:		return "MX";
	case DNS_T_TXT:		return "TXT";
	case DNS_T_AAAA:	return "AAAA";
	default:		return "other";
	}
}

static void
result_from_ub(int err, struct ub_result *u, int type, struct dns_result *out)
{
	memset(out, 0, sizeof(*out));
	out->type = type;
	if (err != 0 || u == NULL) {
		out->status = DNS_ERROR;
		str_fmt(out->why, sizeof(out->why), "resolver: %s",
		    ub_strerror(err));
		return;
	}
	out->rcode = u->rcode;
	out->secure = u->secure;
	out->ttl = u->ttl > 0 ? (uint32_t)u->ttl : 0;
	if (u->bogus) {
		/* a DNSSEC failure is a failure, never "not listed" */
		out->status = DNS_SERVFAIL;
		stats_inc(STAT_dns_bogus);
		str_fmt(out->why, sizeof(out->why), "DNSSEC bogus: %s",
		    u->why_bogus ? u->why_bogus : "validation failed");
		return;
	}
	if (u->rcode == 3) {
		out->status = DNS_NXDOMAIN;
		return;
	}
	if (u->rcode != 0) {
		out->status = DNS_SERVFAIL;
		str_fmt(out->why, sizeof(out->why), "rcode %d%s", u->rcode,
		    u->rcode == 2 ? " (SERVFAIL)" : u->rcode == 5 ?
		    " (REFUSED)" : "");
		return;
	}
	if (!u->havedata || u->data == NULL || u->data[0] == NULL) {
		out->status = DNS_NODATA;
		return;
	}
	for (size_t i = 0; u->data[i] != NULL; i++) {
		struct dns_rr rr;

		if (u->len[i] < 0 || dns_rdata_parse(type,
		    (const unsigned char *)u->data[i], (size_t)u->len[i],
		    &rr) < 0) {
			out->malformed++;
			continue;
		}
		if (out->n == DNS_RR_MAX) {
			free(rr.text);
			out->malformed++;
			continue;
		}
		if (out->rr == NULL)
			out->rr = xcalloc(DNS_RR_MAX, sizeof(*out->rr));
		out->rr[out->n++] = rr;
	}
	if (out->malformed > 0)
		stats_add(STAT_dns_malformed, out->malformed);
	/* records there but none usable: treat as no data of the type */
	out->status = out->n > 0 ? DNS_OK : DNS_NODATA;
}

/* ---- pure helpers ----------------------------------------------------- */

size_t
dns_name_to_text(const unsigned char *p, size_t len, char *out, size_t outlen)
{
	size_t i = 0, o = 0, total = 0;

	if (outlen == 0)
		return 0;
	for (;;) {
		size_t l;

		if (i >= len)
			return 0;
		l = p[i++];
		if (l == 0)
			break;
		if (l > 63 || l > len - i)	/* also: no compression */
			return 0;
		total += l + 1;
		if (total > 255)
			return 0;
		if (o > 0) {
			if (o + 1 >= outlen)
				return 0;
			out[o++] = '.';
		}
		for (size_t k = 0; k < l; k++) {
			unsigned char c = p[i + k];

			/* presentation format: only what unbound would read
			 * as syntax, or what is not printable, is escaped */
			if (c > 0x20 && c < 0x7f && c != '.' && c != '\\' &&
			    c != '%') {
				if (o + 1 >= outlen)
					return 0;
				out[o++] = (char)c;
			} else {
				if (o + 4 >= outlen)
					return 0;
				snprintf(out + o, 5, "\\%03u", c);
				o += 4;
			}
		}
		i += l;
	}
	out[o] = '\0';
	return i;
}

int
dns_rdata_parse(int type, const unsigned char *rd, size_t len,
    struct dns_rr *rr)
{
	char name[DNS_NAME_MAX];
	size_t used;

	memset(rr, 0, sizeof(*rr));
	switch (type) {
	case DNS_T_A:
		if (len != 4)
			return -1;
		memcpy(&rr->addr.a, rd, 4);
		return 0;
	case DNS_T_AAAA:
		if (len != 16)
			return -1;
		memcpy(&rr->addr.aaaa, rd, 16);
		return 0;
	case DNS_T_TXT: {
		size_t i = 0, o = 0;
		char *t;

		if (len == 0)
			return -1;
		t = xmalloc(len + 1);
		while (i < len) {
			size_t l = rd[i++];

			if (l > len - i) {
				free(t);
				return -1;
			}
			memcpy(t + o, rd + i, l);
			o += l;
			i += l;
		}
		t[o] = '\0';
		rr->text = t;
		rr->len = o;
		return 0;
	}
	case DNS_T_MX:
		if (len < 3)
			return -1;
		rr->pref = (uint16_t)(rd[0] << 8 | rd[1]);
		rd += 2;
		len -= 2;
		/* FALLTHROUGH */
	case DNS_T_PTR:
	case DNS_T_CNAME:
	case DNS_T_NS:
		used = dns_name_to_text(rd, len, name, sizeof(name));
		if (used == 0 || used != len)
			return -1;
		rr->text = xstrdup(name);
		rr->len = strlen(name);
		return 0;
	default:
		return -1;
	}
}

int
dns_reverse_name(const struct sockaddr *sa, char *out, size_t outlen)
{
	const unsigned char *b;

	if (sa->sa_family == AF_INET) {
		b = (const unsigned char *)
		    &((const struct sockaddr_in *)sa)->sin_addr;
		return str_fmt(out, outlen, "%u.%u.%u.%u", b[3], b[2], b[1],
		    b[0]) < 0 ? -1 : 0;
	}
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a =
		    &((const struct sockaddr_in6 *)sa)->sin6_addr;
		size_t o = 0;

		b = a->s6_addr;
		if (IN6_IS_ADDR_V4MAPPED(a))
			return str_fmt(out, outlen, "%u.%u.%u.%u", b[15], b[14],
			    b[13], b[12]) < 0 ? -1 : 0;
		if (outlen < 64)
			return -1;
		for (int i = 15; i >= 0; i--) {
			static const char hex[] = "0123456789abcdef";

			out[o++] = hex[b[i] & 0xf];
			out[o++] = '.';
			out[o++] = hex[b[i] >> 4];
			out[o++] = i > 0 ? '.' : '\0';
		}
		return 0;
	}
	return -1;
}

int
dns_name_valid(const char *name)
{
	size_t n = strlen(name), label = 0, total = 0;

	if (n > 0 && name[n - 1] == '.' && (n < 2 || name[n - 2] != '\\'))
		n--;
	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c == '.') {
			if (label == 0)
				return 0;
			label = 0;
			total++;
			continue;
		}
		if (c <= 0x20 || c == 0x7f)
			return 0;
		/* \DDD and \X are one byte of the name */
		if (c == '\\') {
			if (i + 3 < n + 1 && isdigit((unsigned char)name[i + 1]) &&
			    isdigit((unsigned char)name[i + 2]) &&
			    isdigit((unsigned char)name[i + 3]))
				i += 3;
			else if (i + 1 < n)
				i++;
			else
				return 0;
		}
		if (++label > 63 || ++total > 253)
			return 0;
	}
	return 1;
}
