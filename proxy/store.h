/*
 * store.h - shared state: the callout cache, rate counters, deferral
 * memory and the primary's health, behind one asynchronous key-value API
 * used on the loop thread.
 *
 * Backends (the top-level "store" key):
 *   lmdb:/dir        embedded (the default): a memory-mapped B-tree in
 *                    /dir/data.mdb that survives restarts. Operations run
 *                    on the loop thread: with MDB_NOSYNC a put is a copy
 *                    into the map plus a page write (about 2-5 us measured,
 *                    tests/bench/rcpt.sh), far below a network round trip.
 *                    No fsync: after a crash of the machine the newest
 *                    entries may be lost, which a cache can afford. The
 *                    map size (store_lmdb_size) bounds the disk and memory
 *                    it takes; when full, expired entries are purged and
 *                    if that is not enough the put fails.
 *   redis://host:port/db   Redis through hiredis's libevent adapter, for
 *                    several mxguard instances behind one MX name. One
 *                    connection, commands pipelined; reconnects with
 *                    back-off; each operation has store_timeout; at most
 *                    STORE_PENDING_MAX operations wait for replies.
 * TTLs: Redis keeps them itself (PX); LMDB stores the expiry (wall clock)
 * in front of each value, ignores expired entries and purges them a slice
 * at a time from a timer.
 *
 * Failure policy: any failure (not connected, timeout, full, bad reply) is
 * STORE_ERR, never STORE_MISS: the caller applies its error policy (by
 * default 4xx), so "store down" can never read as "unknown recipient" or
 * "valid recipient".
 *
 * Callbacks: every operation calls its callback exactly once, on the loop
 * thread. With LMDB (and with Redis when it is not connected) that happens
 * before the call returns; callers must allow for both. Arguments are
 * copied; val in a get callback is valid only during the call.
 * Ownership: store_open() returns a new store; store_close(&st) fails
 * what is pending (STORE_ERR) and frees it.
 */
#ifndef MXG_STORE_H
#define MXG_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "stateconf.h"
#include "util.h"

struct event_base;
struct store;

#define STORE_KEY_MAX		480	/* LMDB's default key limit is 511 */
#define STORE_VALUE_MAX		1024
#define STORE_PENDING_MAX	10000	/* Redis operations in flight */

enum store_rc { STORE_OK = 0, STORE_MISS, STORE_ERR };

typedef void (*store_get_fn)(void *arg, enum store_rc rc, const char *val,
    size_t len);
typedef void (*store_done_fn)(void *arg, enum store_rc rc);
/* cur: the current window's count (after adding n); prev: the window before */
typedef void (*store_count_fn)(void *arg, enum store_rc rc, uint64_t cur,
    uint64_t prev);
typedef void (*store_num_fn)(void *arg, enum store_rc rc, uint64_t n);

/* base may be NULL for LMDB (tools, unit tests): no purge timer then. */
struct store *store_open(struct event_base *base, const struct store_conf *c,
	    struct err *err);
void	 store_close(struct store **stp);
enum store_kind store_kind(const struct store *st);
/* "lmdb:/dir" or "redis://host:port/db", for logs. */
const char *store_name(const struct store *st);
/* Redis: connected now; LMDB: always 1. */
int	 store_is_up(const struct store *st);

void	 store_get(struct store *st, const char *key, store_get_fn cb,
	    void *arg);
/* ttl_ms 0: no expiry. cb may be NULL. */
void	 store_put(struct store *st, const char *key, const void *val,
	    size_t len, uint64_t ttl_ms, store_done_fn cb, void *arg);
void	 store_del(struct store *st, const char *key, store_done_fn cb,
	    void *arg);
/*
 * Adds n (0: only reads) to the counter of key for the window the wall
 * clock is in (keys "key:<index>", kept two windows) and reports it with
 * the previous window's count, for rate_estimate().
 */
void	 store_incr(struct store *st, const char *key, uint64_t window_ms,
	    uint64_t n, store_count_fn cb, void *arg);
/* Deletes every key starting with prefix; reports how many. */
void	 store_del_prefix(struct store *st, const char *prefix,
	    store_num_fn cb, void *arg);
/* LMDB: one purge pass over the whole map now; returns entries removed. */
uint64_t store_purge(struct store *st);

/* Wall clock in milliseconds (expiry and windows are shared between
 * processes and restarts, so not the monotonic clock). */
uint64_t store_wall_ms(void);
/* Unit tests: a clock of their own (NULL: the real one). */
void	 store_set_clock(uint64_t (*fn)(void));

/* The process's store, opened by main when a filter needs it; NULL when
 * there is none (checks then take their error path). */
void	 store_global_set(struct store *st);
struct store *store_global(void);

#endif
