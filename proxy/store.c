/*
 * store.c - the key-value store: LMDB (embedded) and Redis (hiredis).
 */
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <hiredis/adapters/libevent.h>
#include <lmdb.h>

#include "config.h"
#include "log.h"
#include "ratewin.h"
#include "stats.h"
#include "store.h"
#include "util.h"

#define PURGE_INTERVAL_MS	10000
#define PURGE_SLICE		2000		/* entries examined per tick */
#define HDR			8		/* LMDB: expiry in front */
#define REDIS_BACKOFF_MIN_MS	100
#define REDIS_BACKOFF_MAX_MS	5000
#define REDIS_TICK_MS		50
#define SCAN_COUNT		"1000"

enum rop_kind { ROP_GET = 0, ROP_DONE, ROP_COUNT, ROP_NUM };

/* One Redis operation: one or more pipelined commands, one callback. */
struct rop {
	struct rop	*next, *prev;
	struct store	*st;
	enum rop_kind	 kind;
	union {
		store_get_fn	get;
		store_done_fn	done;
		store_count_fn	count;
		store_num_fn	num;
	} cb;
	void		*arg;
	uint64_t	 deadline;	/* monotonic ms */
	int		 replies;	/* still due */
	int		 seen;		/* replies received */
	int		 failed;
	uint64_t	 cur, prevc;	/* ROP_COUNT; ROP_NUM: cur = deleted */
	char		*val;		/* ROP_GET: copied value */
	size_t		 vlen;
	int		 found;
	char		*pattern;	/* ROP_NUM: SCAN MATCH pattern */
};

struct store {
	enum store_kind	 kind;
	struct event_base *base;
	char		 name[300];
	uint64_t	 timeout_ms;
	/* LMDB */
	MDB_env		*env;
	MDB_dbi		 dbi;
	MDB_txn		*rtxn;		/* reused read transaction */
	struct event	*purge_ev;
	char		 purge_at[STORE_KEY_MAX + 1];
	size_t		 purge_at_len;
	uint64_t	 full_warned;
	/* Redis */
	char		*host;
	int		 port, db;
	char		*prefix;
	redisAsyncContext *ac;
	int		 connected;	/* 1 once the connect callback said so */
	int		 closing;
	uint64_t	 connect_deadline;
	uint64_t	 backoff_ms;
	struct event	*retry_ev;
	struct event	*tick_ev;
	struct rop	*ops_head, *ops_tail;
	size_t		 nops;
	int		 was_up;	/* log transitions only */
};

static struct store *global_store;
static uint64_t (*wall_clock)(void);	/* tests move time */

static void	 purge_tick(evutil_socket_t fd, short what, void *arg);
static void	 redis_connect(struct store *st);
static void	 redis_drop(struct store *st, const char *why);
static void	 redis_schedule(struct store *st);

/* ---- configuration ------------------------------------------------------ */

void
store_global_set(struct store *st)
{
	global_store = st;
}

struct store *
store_global(void)
{
	return global_store;
}

void
store_set_clock(uint64_t (*fn)(void))
{
	wall_clock = fn;
}

uint64_t
store_wall_ms(void)
{
	struct timespec ts;

	if (wall_clock != NULL)
		return wall_clock();

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int
key_ok(const char *key)
{
	size_t n = strlen(key);

	return n > 0 && n <= STORE_KEY_MAX;
}

static void
window_keys(const char *key, uint64_t window_ms, char *cur, char *prev,
    size_t len)
{
	uint64_t idx = rate_window_index(store_wall_ms(), window_ms);

	str_fmt(cur, len, "%s:%" PRIu64, key, idx);
	str_fmt(prev, len, "%s:%" PRIu64, key, idx - 1);
}

/* ---- LMDB ----------------------------------------------------------------- */

static void
put_u64(unsigned char *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		p[i] = (unsigned char)(v & 0xff);
		v >>= 8;
	}
}

static uint64_t
get_u64(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

/* Is this stored value expired (or malformed)? */
static int
lm_expired(const MDB_val *v, uint64_t now)
{
	uint64_t exp;

	if (v->mv_size < HDR)
		return 1;
	exp = get_u64(v->mv_data);
	return exp != 0 && exp <= now;
}

static int
lm_open(struct store *st, const struct store_conf *c, struct err *err)
{
	MDB_txn *txn;
	int rc, dead = 0;

	if ((rc = mdb_env_create(&st->env)) != 0 ||
	    (rc = mdb_env_set_mapsize(st->env, (size_t)c->lmdb_size)) != 0 ||
	    (rc = mdb_env_open(st->env, c->path, MDB_NOSYNC | MDB_NOMETASYNC |
	    MDB_NOTLS, 0600)) != 0) {
		err_set(err, "store %s: %s", st->name, mdb_strerror(rc));
		return -1;
	}
	/* slots left by a process that died mid-read */
	mdb_reader_check(st->env, &dead);
	if ((rc = mdb_txn_begin(st->env, NULL, 0, &txn)) != 0 ||
	    (rc = mdb_dbi_open(txn, NULL, 0, &st->dbi)) != 0 ||
	    (rc = mdb_txn_commit(txn)) != 0) {
		err_set(err, "store %s: %s", st->name, mdb_strerror(rc));
		return -1;
	}
	if (st->base != NULL) {
		struct timeval tv = { PURGE_INTERVAL_MS / 1000, 0 };

		st->purge_ev = event_new(st->base, -1, EV_PERSIST, purge_tick,
		    st);
		event_add(st->purge_ev, &tv);
	}
	return 0;
}

static MDB_txn *
lm_read_begin(struct store *st)
{
	int rc;

	if (st->rtxn == NULL)
		rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &st->rtxn);
	else
		rc = mdb_txn_renew(st->rtxn);
	if (rc != 0) {
		log_warn("store %s: read: %s", st->name, mdb_strerror(rc));
		if (st->rtxn != NULL) {
			mdb_txn_abort(st->rtxn);
			st->rtxn = NULL;
		}
		return NULL;
	}
	return st->rtxn;
}

static void
lm_read_end(struct store *st)
{
	mdb_txn_reset(st->rtxn);
}

static void
lm_fail(struct store *st, const char *what, int rc)
{
	stats_inc(STAT_store_error);
	if (rc == MDB_MAP_FULL) {
		/* once a minute at most: a flood would repeat it per RCPT */
		if (now_ms() - st->full_warned > 60000 || st->full_warned == 0) {
			log_warn("store %s: full (store_lmdb_size) even after "
			    "purging expired entries; %s refused", st->name, what);
			st->full_warned = now_ms();
		}
		return;
	}
	log_warn("store %s: %s: %s", st->name, what, mdb_strerror(rc));
}

static void
lm_get(struct store *st, const char *key, store_get_fn cb, void *arg)
{
	MDB_val k = { strlen(key), (void *)key }, v;
	char buf[STORE_VALUE_MAX];
	size_t n = 0;
	int rc, found = 0;
	MDB_txn *txn = lm_read_begin(st);

	if (txn == NULL) {
		stats_inc(STAT_store_error);
		cb(arg, STORE_ERR, NULL, 0);
		return;
	}
	rc = mdb_get(txn, st->dbi, &k, &v);
	if (rc == 0 && !lm_expired(&v, store_wall_ms())) {
		n = MIN(v.mv_size - HDR, sizeof(buf));
		memcpy(buf, (char *)v.mv_data + HDR, n);
		found = 1;
	}
	lm_read_end(st);
	/* the transaction is over before the callback may start another */
	if (rc != 0 && rc != MDB_NOTFOUND) {
		lm_fail(st, "get", rc);
		cb(arg, STORE_ERR, NULL, 0);
	} else if (found)
		cb(arg, STORE_OK, buf, n);
	else
		cb(arg, STORE_MISS, NULL, 0);
}

/* One write transaction: put (val != NULL) or delete. */
static int
lm_write(struct store *st, const char *key, const void *val, size_t len,
    uint64_t ttl_ms)
{
	MDB_val k = { strlen(key), (void *)key }, v;
	unsigned char buf[HDR + STORE_VALUE_MAX];
	MDB_txn *txn;
	int rc, tries = 0;

again:
	if ((rc = mdb_txn_begin(st->env, NULL, 0, &txn)) != 0)
		return rc;
	if (val != NULL) {
		put_u64(buf, ttl_ms ? store_wall_ms() + ttl_ms : 0);
		memcpy(buf + HDR, val, len);
		v.mv_size = HDR + len;
		v.mv_data = buf;
		rc = mdb_put(txn, st->dbi, &k, &v, 0);
	} else {
		rc = mdb_del(txn, st->dbi, &k, NULL);
		if (rc == MDB_NOTFOUND)
			rc = 0;
	}
	if (rc == 0)
		rc = mdb_txn_commit(txn);
	else
		mdb_txn_abort(txn);
	if (rc == MDB_MAP_FULL && tries++ == 0 && store_purge(st) > 0)
		goto again;
	return rc;
}

static void
lm_incr(struct store *st, const char *key, uint64_t window_ms, uint64_t n,
    store_count_fn cb, void *arg)
{
	char ck[STORE_KEY_MAX + 32], pk[STORE_KEY_MAX + 32];
	MDB_val k, v;
	MDB_txn *txn;
	uint64_t cur = 0, prev = 0, now = store_wall_ms();
	unsigned char buf[HDR + 8];
	int rc, tries = 0;

	window_keys(key, window_ms, ck, pk, sizeof(ck));
again:
	if (n == 0) {
		if ((txn = lm_read_begin(st)) == NULL) {
			stats_inc(STAT_store_error);
			cb(arg, STORE_ERR, 0, 0);
			return;
		}
	} else if ((rc = mdb_txn_begin(st->env, NULL, 0, &txn)) != 0) {
		lm_fail(st, "incr", rc);
		cb(arg, STORE_ERR, 0, 0);
		return;
	}
	k.mv_size = strlen(ck);
	k.mv_data = ck;
	rc = mdb_get(txn, st->dbi, &k, &v);
	if (rc == 0 && !lm_expired(&v, now) && v.mv_size == HDR + 8)
		cur = get_u64((unsigned char *)v.mv_data + HDR);
	k.mv_size = strlen(pk);
	k.mv_data = pk;
	rc = mdb_get(txn, st->dbi, &k, &v);
	if (rc == 0 && !lm_expired(&v, now) && v.mv_size == HDR + 8)
		prev = get_u64((unsigned char *)v.mv_data + HDR);
	if (n == 0) {
		lm_read_end(st);
		cb(arg, STORE_OK, cur, prev);
		return;
	}
	cur += n;
	/* kept for two windows: it is the "previous" one in the next */
	put_u64(buf, now + 2 * window_ms);
	put_u64(buf + HDR, cur);
	k.mv_size = strlen(ck);
	k.mv_data = ck;
	v.mv_size = sizeof(buf);
	v.mv_data = buf;
	rc = mdb_put(txn, st->dbi, &k, &v, 0);
	if (rc == 0)
		rc = mdb_txn_commit(txn);
	else
		mdb_txn_abort(txn);
	if (rc == MDB_MAP_FULL && tries++ == 0 && store_purge(st) > 0) {
		cur = prev = 0;
		goto again;
	}
	if (rc != 0) {
		lm_fail(st, "incr", rc);
		cb(arg, STORE_ERR, 0, 0);
		return;
	}
	cb(arg, STORE_OK, cur, prev);
}

static void
lm_del_prefix(struct store *st, const char *prefix, store_num_fn cb, void *arg)
{
	size_t plen = strlen(prefix);
	MDB_val k = { plen, (void *)prefix }, v;
	MDB_cursor *cur;
	MDB_txn *txn = NULL;
	uint64_t n = 0;
	int rc;

	if ((rc = mdb_txn_begin(st->env, NULL, 0, &txn)) != 0 ||
	    (rc = mdb_cursor_open(txn, st->dbi, &cur)) != 0) {
		if (rc != 0 && txn != NULL)
			mdb_txn_abort(txn);
		lm_fail(st, "delete", rc);
		cb(arg, STORE_ERR, 0);
		return;
	}
	/* after mdb_cursor_del() the cursor already rests on the next
	 * entry and MDB_NEXT returns that one (LMDB's C_DEL) */
	rc = mdb_cursor_get(cur, &k, &v, plen ? MDB_SET_RANGE : MDB_FIRST);
	while (rc == 0 && k.mv_size >= plen &&
	    memcmp(k.mv_data, prefix, plen) == 0) {
		if ((rc = mdb_cursor_del(cur, 0)) != 0)
			break;
		n++;
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	if (rc != 0 && rc != MDB_NOTFOUND) {
		mdb_txn_abort(txn);
		lm_fail(st, "delete", rc);
		cb(arg, STORE_ERR, 0);
		return;
	}
	if ((rc = mdb_txn_commit(txn)) != 0) {
		lm_fail(st, "delete", rc);
		cb(arg, STORE_ERR, 0);
		return;
	}
	cb(arg, STORE_OK, n);
}

/*
 * Removes expired entries: limit entries examined from the saved position
 * (0: the whole map). Returns how many went.
 */
static uint64_t
lm_purge(struct store *st, size_t limit)
{
	MDB_val k, v;
	MDB_cursor *cur;
	MDB_txn *txn;
	uint64_t now = store_wall_ms(), removed = 0;
	size_t seen = 0;
	int rc;

	if (mdb_txn_begin(st->env, NULL, 0, &txn) != 0)
		return 0;
	if (mdb_cursor_open(txn, st->dbi, &cur) != 0) {
		mdb_txn_abort(txn);
		return 0;
	}
	if (limit > 0 && st->purge_at_len > 0) {
		k.mv_size = st->purge_at_len;
		k.mv_data = st->purge_at;
		rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	} else
		rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
	while (rc == 0 && (limit == 0 || seen < limit)) {
		seen++;
		if (lm_expired(&v, now)) {
			if (mdb_cursor_del(cur, 0) != 0)
				break;
			removed++;
		}
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	if (rc == 0 && k.mv_size <= STORE_KEY_MAX) {
		memcpy(st->purge_at, k.mv_data, k.mv_size);
		st->purge_at_len = k.mv_size;
	} else
		st->purge_at_len = 0;		/* wrapped: start over */
	mdb_cursor_close(cur);
	if (mdb_txn_commit(txn) != 0)
		return 0;
	return removed;
}

static void
purge_tick(evutil_socket_t fd, short what, void *arg)
{
	struct store *st = arg;
	uint64_t n = lm_purge(st, PURGE_SLICE);

	if (n > 0) {
		stats_add(STAT_store_purged, n);
		log_debug("store %s: purged %llu expired entries", st->name,
		    (unsigned long long)n);
	}
}

uint64_t
store_purge(struct store *st)
{
	uint64_t n;

	if (st->kind != STORE_LMDB)
		return 0;
	n = lm_purge(st, 0);
	stats_add(STAT_store_purged, n);
	return n;
}

/* ---- Redis ----------------------------------------------------------------- */

static void
rop_unlink(struct store *st, struct rop *op)
{
	if (op->prev)
		op->prev->next = op->next;
	else
		st->ops_head = op->next;
	if (op->next)
		op->next->prev = op->prev;
	else
		st->ops_tail = op->prev;
	op->next = op->prev = NULL;
	st->nops--;
}

static void
rop_deliver(struct rop *op)
{
	enum store_rc rc = op->failed ? STORE_ERR : STORE_OK;

	if (op->failed)
		stats_inc(STAT_store_error);
	switch (op->kind) {
	case ROP_GET:
		if (rc == STORE_OK && !op->found)
			rc = STORE_MISS;
		op->cb.get(op->arg, rc, rc == STORE_OK ? op->val : NULL,
		    rc == STORE_OK ? op->vlen : 0);
		break;
	case ROP_DONE:
		if (op->cb.done != NULL)
			op->cb.done(op->arg, rc);
		break;
	case ROP_COUNT:
		op->cb.count(op->arg, rc, op->cur, op->prevc);
		break;
	case ROP_NUM:
		op->cb.num(op->arg, rc, op->cur);
		break;
	}
	free(op->val);
	free(op->pattern);
	free(op);
}

/* An operation that cannot start: fails now (before the call returns). */
static void
rop_fail_now(struct store *st, enum rop_kind kind, void *cb, void *arg)
{
	struct rop op;

	memset(&op, 0, sizeof(op));
	op.kind = kind;
	op.failed = 1;
	op.arg = arg;
	switch (kind) {
	case ROP_GET: op.cb.get = (store_get_fn)cb; break;
	case ROP_DONE: op.cb.done = (store_done_fn)cb; break;
	case ROP_COUNT: op.cb.count = (store_count_fn)cb; break;
	case ROP_NUM: op.cb.num = (store_num_fn)cb; break;
	}
	{
		struct rop *p = xmalloc(sizeof(*p));

		*p = op;
		rop_deliver(p);
	}
}

static struct rop *
rop_new(struct store *st, enum rop_kind kind, void *cb, void *arg, int replies)
{
	struct rop *op;

	if (!st->connected || st->closing) {
		rop_fail_now(st, kind, cb, arg);
		return NULL;
	}
	if (st->nops >= STORE_PENDING_MAX) {
		stats_inc(STAT_store_busy);
		rop_fail_now(st, kind, cb, arg);
		return NULL;
	}
	op = xcalloc(1, sizeof(*op));
	op->st = st;
	op->kind = kind;
	op->arg = arg;
	op->replies = replies;
	op->deadline = now_ms() + st->timeout_ms;
	switch (kind) {
	case ROP_GET: op->cb.get = (store_get_fn)cb; break;
	case ROP_DONE: op->cb.done = (store_done_fn)cb; break;
	case ROP_COUNT: op->cb.count = (store_count_fn)cb; break;
	case ROP_NUM: op->cb.num = (store_num_fn)cb; break;
	}
	op->prev = st->ops_tail;
	if (st->ops_tail)
		st->ops_tail->next = op;
	else
		st->ops_head = op;
	st->ops_tail = op;
	st->nops++;
	if (!evtimer_pending(st->tick_ev, NULL)) {
		struct timeval tv = { 0, REDIS_TICK_MS * 1000 };

		evtimer_add(st->tick_ev, &tv);
	}
	return op;
}

static uint64_t
reply_u64(const redisReply *r, int *ok)
{
	char *end;
	uint64_t v;

	*ok = 1;
	if (r == NULL || r->type == REDIS_REPLY_NIL)
		return 0;
	if (r->type == REDIS_REPLY_INTEGER)
		return r->integer < 0 ? 0 : (uint64_t)r->integer;
	if (r->type == REDIS_REPLY_STRING && r->len > 0 && r->len < 21) {
		errno = 0;
		v = strtoull(r->str, &end, 10);
		if (errno == 0 && end == r->str + r->len)
			return v;
	}
	*ok = 0;
	return 0;
}

static void
scan_next(struct rop *op, const char *cursor);

/* Every reply of an operation's commands comes here, in order. */
static void
r_reply(redisAsyncContext *ac, void *reply, void *privdata)
{
	struct rop *op = privdata;
	redisReply *r = reply;
	int ok = 1;

	if (r == NULL || r->type == REDIS_REPLY_ERROR) {
		if (r != NULL && !op->failed)
			log_warn("store %s: %.200s", op->st->name, r->str);
		op->failed = 1;
	} else if (!op->failed) {
		switch (op->kind) {
		case ROP_GET:
			if (r->type == REDIS_REPLY_STRING) {
				op->vlen = MIN(r->len, STORE_VALUE_MAX);
				op->val = xmalloc(op->vlen + 1);
				memcpy(op->val, r->str, op->vlen);
				op->val[op->vlen] = '\0';
				op->found = 1;
			} else if (r->type != REDIS_REPLY_NIL)
				op->failed = 1;
			break;
		case ROP_COUNT:
			/* INCRBY (or GET when only reading), [PEXPIRE], GET */
			if (op->seen == 0)
				op->cur = reply_u64(r, &ok);
			else if (op->replies == 1)
				op->prevc = reply_u64(r, &ok);
			if (!ok)
				op->failed = 1;
			break;
		case ROP_NUM:
			if (op->pattern != NULL && r->type == REDIS_REPLY_ARRAY &&
			    r->elements == 2 &&
			    r->element[0]->type == REDIS_REPLY_STRING &&
			    r->element[1]->type == REDIS_REPLY_ARRAY) {
				redisReply *keys = r->element[1];

				if (keys->elements > 0) {
					const char **argv = xcalloc(
					    keys->elements + 1, sizeof(char *));
					size_t *lens = xcalloc(keys->elements + 1,
					    sizeof(size_t));

					argv[0] = "DEL";
					lens[0] = 3;
					for (size_t i = 0; i < keys->elements; i++) {
						argv[i + 1] = keys->element[i]->str;
						lens[i + 1] = keys->element[i]->len;
					}
					op->replies++;
					redisAsyncCommandArgv(ac, r_reply, op,
					    (int)keys->elements + 1, argv, lens);
					free(argv);
					free(lens);
				}
				if (strcmp(r->element[0]->str, "0") != 0)
					scan_next(op, r->element[0]->str);
			} else if (r->type == REDIS_REPLY_INTEGER)
				op->cur += (uint64_t)(r->integer > 0 ?
				    r->integer : 0);
			break;
		case ROP_DONE:
			break;
		}
	}
	op->seen++;
	if (--op->replies > 0)
		return;
	rop_unlink(op->st, op);
	rop_deliver(op);
}

static void
scan_next(struct rop *op, const char *cursor)
{
	const char *argv[6] = { "SCAN", cursor, "MATCH", op->pattern, "COUNT",
	    SCAN_COUNT };

	op->replies++;
	op->deadline = now_ms() + op->st->timeout_ms;
	redisAsyncCommandArgv(op->st->ac, r_reply, op, 6, argv, NULL);
}

static void
r_key(struct store *st, const char *key, char *out, size_t len)
{
	str_fmt(out, len, "%s%s", st->prefix, key);
}

static void
r_get(struct store *st, const char *key, store_get_fn cb, void *arg)
{
	char k[STORE_KEY_MAX + 80];
	struct rop *op = rop_new(st, ROP_GET, (void *)cb, arg, 1);

	if (op == NULL)
		return;
	r_key(st, key, k, sizeof(k));
	redisAsyncCommand(st->ac, r_reply, op, "GET %s", k);
}

static void
r_put(struct store *st, const char *key, const void *val, size_t len,
    uint64_t ttl_ms, store_done_fn cb, void *arg)
{
	char k[STORE_KEY_MAX + 80];
	struct rop *op = rop_new(st, ROP_DONE, (void *)cb, arg, 1);

	if (op == NULL)
		return;
	r_key(st, key, k, sizeof(k));
	if (ttl_ms > 0)
		redisAsyncCommand(st->ac, r_reply, op, "SET %s %b PX %llu", k,
		    val, len, (unsigned long long)ttl_ms);
	else
		redisAsyncCommand(st->ac, r_reply, op, "SET %s %b", k, val, len);
}

static void
r_del(struct store *st, const char *key, store_done_fn cb, void *arg)
{
	char k[STORE_KEY_MAX + 80];
	struct rop *op = rop_new(st, ROP_DONE, (void *)cb, arg, 1);

	if (op == NULL)
		return;
	r_key(st, key, k, sizeof(k));
	redisAsyncCommand(st->ac, r_reply, op, "DEL %s", k);
}

static void
r_incr(struct store *st, const char *key, uint64_t window_ms, uint64_t n,
    store_count_fn cb, void *arg)
{
	char ck[STORE_KEY_MAX + 32], pk[STORE_KEY_MAX + 32];
	char rck[STORE_KEY_MAX + 120], rpk[STORE_KEY_MAX + 120];
	struct rop *op;

	window_keys(key, window_ms, ck, pk, sizeof(ck));
	r_key(st, ck, rck, sizeof(rck));
	r_key(st, pk, rpk, sizeof(rpk));
	if (n == 0) {
		/* read only: GET, GET (nothing is created) */
		op = rop_new(st, ROP_COUNT, (void *)cb, arg, 2);
		if (op == NULL)
			return;
		redisAsyncCommand(st->ac, r_reply, op, "GET %s", rck);
		redisAsyncCommand(st->ac, r_reply, op, "GET %s", rpk);
		return;
	}
	op = rop_new(st, ROP_COUNT, (void *)cb, arg, 3);
	if (op == NULL)
		return;
	redisAsyncCommand(st->ac, r_reply, op, "INCRBY %s %llu", rck,
	    (unsigned long long)n);
	redisAsyncCommand(st->ac, r_reply, op, "PEXPIRE %s %llu", rck,
	    (unsigned long long)(2 * window_ms));
	redisAsyncCommand(st->ac, r_reply, op, "GET %s", rpk);
}

static void
r_del_prefix(struct store *st, const char *prefix, store_num_fn cb, void *arg)
{
	char k[STORE_KEY_MAX + 80], pat[2 * (STORE_KEY_MAX + 80) + 2];
	struct rop *op = rop_new(st, ROP_NUM, (void *)cb, arg, 0);
	size_t o = 0;

	if (op == NULL)
		return;
	r_key(st, prefix, k, sizeof(k));
	/* SCAN's MATCH is a glob: escape what it would interpret */
	for (const char *p = k; *p && o + 3 < sizeof(pat); p++) {
		if (strchr("*?[]\\", *p) != NULL)
			pat[o++] = '\\';
		pat[o++] = *p;
	}
	pat[o++] = '*';
	pat[o] = '\0';
	op->pattern = xstrdup(pat);
	scan_next(op, "0");
}

static void
r_connected(const redisAsyncContext *ac, int status)
{
	struct store *st = ac->data;

	if (st == NULL)
		return;
	if (status != REDIS_OK) {
		/* hiredis frees the context after this callback */
		st->ac = NULL;
		st->connected = 0;
		if (!st->closing) {
			if (st->was_up || st->backoff_ms == REDIS_BACKOFF_MIN_MS)
				log_warn("store %s: cannot connect: %s", st->name,
				    ac->errstr);
			st->was_up = 0;
			redis_schedule(st);
		}
		return;
	}
	st->connected = 1;
	st->backoff_ms = REDIS_BACKOFF_MIN_MS;
	if (!st->was_up)
		log_info("store %s: connected", st->name);
	st->was_up = 1;
}

static void
r_disconnected(const redisAsyncContext *ac, int status)
{
	struct store *st = ac->data;

	if (st == NULL)
		return;
	st->ac = NULL;
	st->connected = 0;
	if (st->closing)
		return;
	if (st->was_up)
		log_warn("store %s: connection lost%s%s", st->name,
		    ac->errstr[0] ? ": " : "", ac->errstr);
	st->was_up = 0;
	stats_inc(STAT_store_reconnect);
	redis_schedule(st);
}

static void
redis_retry(evutil_socket_t fd, short what, void *arg)
{
	redis_connect(arg);
}

static void
redis_schedule(struct store *st)
{
	struct timeval tv;

	if (st->closing)
		return;
	tv.tv_sec = (time_t)(st->backoff_ms / 1000);
	tv.tv_usec = (suseconds_t)(st->backoff_ms % 1000) * 1000;
	evtimer_add(st->retry_ev, &tv);
	st->backoff_ms = MIN(st->backoff_ms * 2, REDIS_BACKOFF_MAX_MS);
}

static void
redis_connect(struct store *st)
{
	redisAsyncContext *ac;

	if (st->ac != NULL || st->closing)
		return;
	ac = redisAsyncConnect(st->host, st->port);
	if (ac == NULL || ac->err) {
		if (st->was_up || st->backoff_ms == REDIS_BACKOFF_MIN_MS)
			log_warn("store %s: cannot connect: %s", st->name,
			    ac ? ac->errstr : "out of memory");
		if (ac != NULL)
			redisAsyncFree(ac);
		redis_schedule(st);
		return;
	}
	ac->data = st;
	if (redisLibeventAttach(ac, st->base) != REDIS_OK) {
		redisAsyncFree(ac);
		redis_schedule(st);
		return;
	}
	redisAsyncSetConnectCallback(ac, r_connected);
	redisAsyncSetDisconnectCallback(ac, r_disconnected);
	st->ac = ac;
	st->connect_deadline = now_ms() + st->timeout_ms;
	/* SELECT goes first; replies come in order, so nothing else needs
	 * to wait for it */
	if (st->db != 0)
		redisAsyncCommand(ac, NULL, NULL, "SELECT %d", st->db);
	{
		struct timeval tv = { 0, REDIS_TICK_MS * 1000 };

		evtimer_add(st->tick_ev, &tv);
	}
}

/* Drops the connection: every pending operation fails (STORE_ERR). */
static void
redis_drop(struct store *st, const char *why)
{
	redisAsyncContext *ac = st->ac;

	if (ac == NULL)
		return;
	if (why != NULL)
		log_warn("store %s: %s; reconnecting", st->name, why);
	st->ac = NULL;
	st->connected = 0;
	st->was_up = 0;
	ac->data = NULL;		/* no connect/disconnect callbacks */
	redisAsyncFree(ac);		/* pending callbacks get NULL */
	if (!st->closing)
		redis_schedule(st);
}

static void
redis_tick(evutil_socket_t fd, short what, void *arg)
{
	struct store *st = arg;
	uint64_t now = now_ms();

	if (st->ac != NULL && !st->connected && now >= st->connect_deadline) {
		redis_drop(st, "timeout while connecting");
		return;
	}
	if (st->ops_head != NULL && now >= st->ops_head->deadline) {
		stats_inc(STAT_store_timeout);
		redis_drop(st, "timeout waiting for a reply");
		return;
	}
	if (st->ops_head != NULL || (st->ac != NULL && !st->connected)) {
		struct timeval tv = { 0, REDIS_TICK_MS * 1000 };

		evtimer_add(st->tick_ev, &tv);
	}
}

/* ---- the API ---------------------------------------------------------------- */

struct store *
store_open(struct event_base *base, const struct store_conf *c,
    struct err *err)
{
	struct store *st = xcalloc(1, sizeof(*st));

	st->kind = c->kind;
	st->base = base;
	st->timeout_ms = c->timeout_ms;
	str_copy(st->name, sizeof(st->name), c->spec);
	if (c->kind == STORE_LMDB) {
		if (lm_open(st, c, err) < 0) {
			store_close(&st);
			return NULL;
		}
		return st;
	}
	if (base == NULL) {
		err_set(err, "store %s: needs an event loop", st->name);
		store_close(&st);
		return NULL;
	}
	st->host = xstrdup(c->host);
	st->port = c->port;
	st->db = c->db;
	st->prefix = xstrdup(c->redis_prefix);
	st->backoff_ms = REDIS_BACKOFF_MIN_MS;
	st->retry_ev = evtimer_new(base, redis_retry, st);
	st->tick_ev = evtimer_new(base, redis_tick, st);
	redis_connect(st);
	return st;
}

void
store_close(struct store **stp)
{
	struct store *st = *stp;

	if (st == NULL)
		return;
	*stp = NULL;
	if (global_store == st)
		global_store = NULL;
	st->closing = 1;
	if (st->kind == STORE_LMDB) {
		if (st->purge_ev)
			event_free(st->purge_ev);
		if (st->rtxn)
			mdb_txn_abort(st->rtxn);
		if (st->env)
			mdb_env_close(st->env);
	} else {
		redis_drop(st, NULL);
		if (st->retry_ev)
			event_free(st->retry_ev);
		if (st->tick_ev)
			event_free(st->tick_ev);
		free(st->host);
		free(st->prefix);
	}
	free(st);
}

enum store_kind
store_kind(const struct store *st)
{
	return st->kind;
}

const char *
store_name(const struct store *st)
{
	return st->name;
}

int
store_is_up(const struct store *st)
{
	return st->kind == STORE_LMDB || st->connected;
}

void
store_get(struct store *st, const char *key, store_get_fn cb, void *arg)
{
	if (!key_ok(key)) {
		stats_inc(STAT_store_error);
		cb(arg, STORE_ERR, NULL, 0);
	} else if (st->kind == STORE_LMDB)
		lm_get(st, key, cb, arg);
	else
		r_get(st, key, cb, arg);
}

void
store_put(struct store *st, const char *key, const void *val, size_t len,
    uint64_t ttl_ms, store_done_fn cb, void *arg)
{
	if (!key_ok(key) || len > STORE_VALUE_MAX) {
		stats_inc(STAT_store_error);
		if (cb != NULL)
			cb(arg, STORE_ERR);
	} else if (st->kind == STORE_LMDB) {
		int rc = lm_write(st, key, val, len, ttl_ms);

		if (rc != 0)
			lm_fail(st, "put", rc);
		if (cb != NULL)
			cb(arg, rc == 0 ? STORE_OK : STORE_ERR);
	} else
		r_put(st, key, val, len, ttl_ms, cb, arg);
}

void
store_del(struct store *st, const char *key, store_done_fn cb, void *arg)
{
	if (!key_ok(key)) {
		stats_inc(STAT_store_error);
		if (cb != NULL)
			cb(arg, STORE_ERR);
	} else if (st->kind == STORE_LMDB) {
		int rc = lm_write(st, key, NULL, 0, 0);

		if (rc != 0)
			lm_fail(st, "delete", rc);
		if (cb != NULL)
			cb(arg, rc == 0 ? STORE_OK : STORE_ERR);
	} else
		r_del(st, key, cb, arg);
}

void
store_incr(struct store *st, const char *key, uint64_t window_ms, uint64_t n,
    store_count_fn cb, void *arg)
{
	if (!key_ok(key) || window_ms == 0) {
		stats_inc(STAT_store_error);
		cb(arg, STORE_ERR, 0, 0);
	} else if (st->kind == STORE_LMDB)
		lm_incr(st, key, window_ms, n, cb, arg);
	else
		r_incr(st, key, window_ms, n, cb, arg);
}

void
store_del_prefix(struct store *st, const char *prefix, store_num_fn cb,
    void *arg)
{
	if (strlen(prefix) > STORE_KEY_MAX) {
		stats_inc(STAT_store_error);
		cb(arg, STORE_ERR, 0);
	} else if (st->kind == STORE_LMDB)
		lm_del_prefix(st, prefix, cb, arg);
	else
		r_del_prefix(st, prefix, cb, arg);
}
