/*
 * test_store.c - the LMDB store (proxy/store.h) in a temporary directory:
 * values and TTLs, rate windows, delete by prefix, purging, a full map,
 * restarts. Redis is exercised by the end-to-end tests against a real
 * redis-server (t_rcpt_redis_shared).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "store.h"

static uint64_t fake_now = 1700000000000ull;

static uint64_t
fake_clock(void)
{
	return fake_now;
}

struct res {
	int		 calls;
	enum store_rc	 rc;
	char		 val[STORE_VALUE_MAX + 1];
	size_t		 len;
	uint64_t	 cur, prev, n;
};

static void
on_get(void *arg, enum store_rc rc, const char *val, size_t len)
{
	struct res *r = arg;

	r->calls++;
	r->rc = rc;
	r->len = len;
	if (val != NULL)
		memcpy(r->val, val, len);
	r->val[len] = '\0';
}

static void
on_done(void *arg, enum store_rc rc)
{
	struct res *r = arg;

	r->calls++;
	r->rc = rc;
}

static void
on_count(void *arg, enum store_rc rc, uint64_t cur, uint64_t prev)
{
	struct res *r = arg;

	r->calls++;
	r->rc = rc;
	r->cur = cur;
	r->prev = prev;
}

static void
on_num(void *arg, enum store_rc rc, uint64_t n)
{
	struct res *r = arg;

	r->calls++;
	r->rc = rc;
	r->n = n;
}

struct fixture {
	char		 dir[64];
	struct store_conf sc;
	struct store	*st;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct err err;

	strcpy(f->dir, "/tmp/mxguard-unit-store-XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	f->sc.spec = f->dir;
	f->sc.kind = STORE_LMDB;
	f->sc.path = f->dir;
	f->sc.timeout_ms = 1000;
	f->sc.lmdb_size = 1u << 20;
	store_set_clock(fake_clock);
	f->st = store_open(NULL, &f->sc, &err);
	if (f->st == NULL) {
		fprintf(stderr, "%s\n", err.msg);
		return -1;
	}
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	char path[128];

	store_close(&f->st);
	snprintf(path, sizeof(path), "%s/data.mdb", f->dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/lock.mdb", f->dir);
	unlink(path);
	rmdir(f->dir);
	free(f);
	store_set_clock(NULL);
	return 0;
}

static struct res
get(struct store *st, const char *key)
{
	struct res r;

	memset(&r, 0, sizeof(r));
	store_get(st, key, on_get, &r);
	/* LMDB answers before the call returns */
	assert_int_equal(r.calls, 1);
	return r;
}

static void
put(struct store *st, const char *key, const char *val, uint64_t ttl)
{
	struct res r;

	memset(&r, 0, sizeof(r));
	store_put(st, key, val, strlen(val), ttl, on_done, &r);
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.rc, STORE_OK);
}

static void
test_values(void **state)
{
	struct fixture *f = *state;
	struct res r;

	r = get(f->st, "co:example.test/alice");
	assert_int_equal(r.rc, STORE_MISS);
	put(f->st, "co:example.test/alice", "V 1700000000", 0);
	r = get(f->st, "co:example.test/alice");
	assert_int_equal(r.rc, STORE_OK);
	assert_string_equal(r.val, "V 1700000000");
	put(f->st, "co:example.test/alice", "I", 0);	/* overwrite */
	r = get(f->st, "co:example.test/alice");
	assert_string_equal(r.val, "I");
	memset(&r, 0, sizeof(r));
	store_del(f->st, "co:example.test/alice", on_done, &r);
	assert_int_equal(r.rc, STORE_OK);
	assert_int_equal(get(f->st, "co:example.test/alice").rc, STORE_MISS);
	/* deleting what is not there is fine */
	memset(&r, 0, sizeof(r));
	store_del(f->st, "nothing", on_done, &r);
	assert_int_equal(r.rc, STORE_OK);
	/* a put without a callback */
	store_put(f->st, "k", "v", 1, 0, NULL, NULL);
	assert_string_equal(get(f->st, "k").val, "v");
	/* an empty value is a value */
	put(f->st, "empty", "", 0);
	r = get(f->st, "empty");
	assert_int_equal(r.rc, STORE_OK);
	assert_int_equal(r.len, 0);
}

static void
test_ttl(void **state)
{
	struct fixture *f = *state;

	put(f->st, "short", "x", 1000);
	put(f->st, "long", "y", 3600000);
	fake_now += 999;
	assert_int_equal(get(f->st, "short").rc, STORE_OK);
	fake_now += 1;
	assert_int_equal(get(f->st, "short").rc, STORE_MISS);
	assert_int_equal(get(f->st, "long").rc, STORE_OK);
	/* purging removes the expired one only */
	assert_int_equal(store_purge(f->st), 1);
	assert_int_equal(store_purge(f->st), 0);
	assert_int_equal(get(f->st, "long").rc, STORE_OK);
}

static void
test_incr(void **state)
{
	struct fixture *f = *state;
	const uint64_t w = 60000;
	struct res r;

	fake_now = (fake_now / w) * w;		/* a window's start */
	for (int i = 1; i <= 3; i++) {
		memset(&r, 0, sizeof(r));
		store_incr(f->st, "rl:rcpt_ip:192.0.2.1", w, 1, on_count, &r);
		assert_int_equal(r.calls, 1);
		assert_int_equal(r.rc, STORE_OK);
		assert_int_equal(r.cur, (uint64_t)i);
		assert_int_equal(r.prev, 0);
	}
	memset(&r, 0, sizeof(r));
	store_incr(f->st, "rl:rcpt_ip:192.0.2.1", w, 5, on_count, &r);
	assert_int_equal(r.cur, 8);
	/* the next window: the old count is the previous one */
	fake_now += w;
	memset(&r, 0, sizeof(r));
	store_incr(f->st, "rl:rcpt_ip:192.0.2.1", w, 1, on_count, &r);
	assert_int_equal(r.cur, 1);
	assert_int_equal(r.prev, 8);
	/* reading only */
	memset(&r, 0, sizeof(r));
	store_incr(f->st, "rl:rcpt_ip:192.0.2.1", w, 0, on_count, &r);
	assert_int_equal(r.rc, STORE_OK);
	assert_int_equal(r.cur, 1);
	assert_int_equal(r.prev, 8);
	/* reading a subject never seen creates nothing */
	memset(&r, 0, sizeof(r));
	store_incr(f->st, "rl:rcpt_ip:192.0.2.99", w, 0, on_count, &r);
	assert_int_equal(r.cur, 0);
	assert_int_equal(r.prev, 0);
	/* two windows later both are gone */
	fake_now += 2 * w;
	memset(&r, 0, sizeof(r));
	store_incr(f->st, "rl:rcpt_ip:192.0.2.1", w, 0, on_count, &r);
	assert_int_equal(r.cur, 0);
	assert_int_equal(r.prev, 0);
	/* other subjects are separate */
	memset(&r, 0, sizeof(r));
	store_incr(f->st, "rl:rcpt_ip:192.0.2.2", w, 1, on_count, &r);
	assert_int_equal(r.cur, 1);
}

static void
test_del_prefix(void **state)
{
	struct fixture *f = *state;
	static const char *const keys[] = {
		"co:a.test/x", "co:a.test/y", "co:a.test/z", "co:a.testb/x",
		"co:b.test/x", "ca:a.test", "co:a.tesT/q",
	};
	struct res r;

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		put(f->st, keys[i], "V", 0);
	memset(&r, 0, sizeof(r));
	store_del_prefix(f->st, "co:a.test/", on_num, &r);
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.rc, STORE_OK);
	assert_int_equal(r.n, 3);
	assert_int_equal(get(f->st, "co:a.test/x").rc, STORE_MISS);
	assert_int_equal(get(f->st, "co:a.test/z").rc, STORE_MISS);
	assert_int_equal(get(f->st, "co:a.testb/x").rc, STORE_OK);
	assert_int_equal(get(f->st, "co:b.test/x").rc, STORE_OK);
	assert_int_equal(get(f->st, "ca:a.test").rc, STORE_OK);
	assert_int_equal(get(f->st, "co:a.tesT/q").rc, STORE_OK);
	memset(&r, 0, sizeof(r));
	store_del_prefix(f->st, "zz:", on_num, &r);
	assert_int_equal(r.rc, STORE_OK);
	assert_int_equal(r.n, 0);
	/* everything */
	memset(&r, 0, sizeof(r));
	store_del_prefix(f->st, "", on_num, &r);
	assert_int_equal(r.n, 4);
}

static void
test_limits(void **state)
{
	struct fixture *f = *state;
	char big[STORE_VALUE_MAX + 2], key[STORE_KEY_MAX + 2];
	struct res r;
	int i, full = 0;

	memset(big, 'v', sizeof(big));
	memset(&r, 0, sizeof(r));
	store_put(f->st, "big", big, sizeof(big), 0, on_done, &r);
	assert_int_equal(r.rc, STORE_ERR);
	memset(key, 'k', sizeof(key) - 1);
	key[sizeof(key) - 1] = '\0';
	assert_int_equal(get(f->st, key).rc, STORE_ERR);
	assert_int_equal(get(f->st, "").rc, STORE_ERR);
	/* fill the 1 MB map with expiring entries: a put fails, never
	 * pretends; once they expire, the purge makes room again */
	for (i = 0; i < 100000 && !full; i++) {
		char k[32];

		snprintf(k, sizeof(k), "fill:%06d", i);
		memset(&r, 0, sizeof(r));
		store_put(f->st, k, big, 900, 1000, on_done, &r);
		assert_int_equal(r.calls, 1);
		if (r.rc == STORE_ERR)
			full = 1;
	}
	assert_true(full);
	fake_now += 1001;
	memset(&r, 0, sizeof(r));
	store_put(f->st, "after", big, 900, 0, on_done, &r);
	assert_int_equal(r.rc, STORE_OK);
	assert_int_equal(get(f->st, "after").len, 900);
}

static void
test_restart(void **state)
{
	struct fixture *f = *state;
	struct err err;
	struct res r;

	put(f->st, "co:example.test/bob", "V", 3600000);
	memset(&r, 0, sizeof(r));
	store_incr(f->st, "rl:x", 60000, 7, on_count, &r);
	store_close(&f->st);
	assert_null(f->st);
	f->st = store_open(NULL, &f->sc, &err);
	assert_non_null(f->st);
	r = get(f->st, "co:example.test/bob");
	assert_int_equal(r.rc, STORE_OK);
	assert_string_equal(r.val, "V");
	memset(&r, 0, sizeof(r));
	store_incr(f->st, "rl:x", 60000, 0, on_count, &r);
	assert_int_equal(r.cur, 7);
	/* an unusable directory is an error, not a crash */
	{
		struct store_conf bad = f->sc;

		bad.path = "/nonexistent/mxguard";
		assert_null(store_open(NULL, &bad, &err));
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_values, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ttl, setup, teardown),
		cmocka_unit_test_setup_teardown(test_incr, setup, teardown),
		cmocka_unit_test_setup_teardown(test_del_prefix, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_restart, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
