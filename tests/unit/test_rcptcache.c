/*
 * test_rcptcache.c - callout cache keys and values (proxy/rcptcache.h):
 * round trips, and values another instance (or an attacker with access
 * to a shared Redis) could have written.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "rcptcache.h"

#define LEN(lit)	(lit), (sizeof(lit) - 1)

static void
test_keys(void **state)
{
	char k[RCPTCACHE_KEY_MAX];
	char big[600];

	assert_int_equal(rcptcache_addr_key("Alice+X@Example.TEST", k,
	    sizeof(k)), 0);
	assert_string_equal(k, "co:example.test/alice+x");
	assert_int_equal(rcptcache_addr_key("\"a@b\"@example.test", k,
	    sizeof(k)), 0);
	assert_string_equal(k, "co:example.test/\"a@b\"");
	assert_int_equal(rcptcache_addr_key("nodomain", k, sizeof(k)), -1);
	assert_int_equal(rcptcache_addr_key("user@", k, sizeof(k)), -1);
	assert_int_equal(rcptcache_addr_key("@example.test", k, sizeof(k)), -1);
	memset(big, 'a', sizeof(big));
	memcpy(big + sizeof(big) - 14, "@example.test", 14);
	assert_int_equal(rcptcache_addr_key(big, k, sizeof(k)), -1);
	assert_int_equal(rcptcache_domain_prefix("Example.Test", k, sizeof(k)), 0);
	assert_string_equal(k, "co:example.test/");
	assert_int_equal(rcptcache_domain_prefix("", k, sizeof(k)), -1);
	assert_int_equal(rcptcache_domain_prefix("a/b", k, sizeof(k)), -1);
	assert_int_equal(rcptcache_catchall_key("Example.Test", k, sizeof(k)), 0);
	assert_string_equal(k, "ca:example.test");
	/* a domain's prefix covers exactly its recipients */
	rcptcache_addr_key("x@example.test", k, sizeof(k));
	assert_int_equal(strncmp(k, "co:example.test/", 16), 0);
	rcptcache_addr_key("x@example.testing", k, sizeof(k));
	assert_int_not_equal(strncmp(k, "co:example.test/", 16), 0);
}

static void
test_round_trip(void **state)
{
	struct rcptcache_entry e, d;
	char v[512];
	size_t n;

	memset(&e, 0, sizeof(e));
	e.kind = RCACHE_VALID;
	e.checked = 1700000000123ull;
	n = rcptcache_encode(&e, v, sizeof(v));
	assert_string_equal(v, "V 1700000000123");
	assert_int_equal(rcptcache_decode(v, n, &d), RCACHE_VALID);
	assert_true(d.checked == e.checked);

	e.kind = RCACHE_INVALID;
	e.code = 550;
	strcpy(e.enh, "5.1.1");
	strcpy(e.text, "<x@example.test>: User unknown\r\nin table");
	n = rcptcache_encode(&e, v, sizeof(v));
	assert_string_equal(v, "I 1700000000123 550 5.1.1 <x@example.test>: "
	    "User unknown  in table");
	assert_int_equal(rcptcache_decode(v, n, &d), RCACHE_INVALID);
	assert_int_equal(d.code, 550);
	assert_string_equal(d.enh, "5.1.1");
	assert_string_equal(d.text, "<x@example.test>: User unknown  in table");

	e.enh[0] = '\0';
	e.text[0] = '\0';
	n = rcptcache_encode(&e, v, sizeof(v));
	assert_string_equal(v, "I 1700000000123 550 - ");
	assert_int_equal(rcptcache_decode(v, n, &d), RCACHE_INVALID);
	assert_string_equal(d.enh, "");

	e.kind = RCACHE_CATCHALL;
	n = rcptcache_encode(&e, v, sizeof(v));
	assert_int_equal(rcptcache_decode(v, n, &d), RCACHE_CATCHALL);
	e.kind = RCACHE_NOT_CATCHALL;
	n = rcptcache_encode(&e, v, sizeof(v));
	assert_int_equal(rcptcache_decode(v, n, &d), RCACHE_NOT_CATCHALL);
	/* too small a buffer is refused, never cut */
	e.kind = RCACHE_VALID;
	assert_int_equal(rcptcache_encode(&e, v, 5), 0);
}

static void
test_bad_values(void **state)
{
	static const struct {
		const char *v;
		size_t	    len;
	} bad[] = {
		{ LEN("") }, { LEN("V") }, { LEN("V ") }, { LEN("X 1") },
		{ LEN("V1") }, { LEN("V 12x") }, { LEN("V 1 ") },
		{ LEN("V 99999999999999999999999") }, { LEN("I 1") },
		{ LEN("I 1 ") }, { LEN("I 1 450 4.1.1 temp") },
		{ LEN("I 1 600 5.1.1 x") }, { LEN("I 1 550") },
		{ LEN("I 1 550 ") }, { LEN("I 1 550 5.1.1.1.1.1.1.1.1.1 x") },
		{ LEN("I 1 550 a.b.c x") }, { LEN("C 1 extra") },
		{ LEN("V \x00" "1") }, { LEN("\xff 1") },
	};
	struct rcptcache_entry d;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (rcptcache_decode(bad[i].v, bad[i].len, &d) != RCACHE_BAD)
			fail_msg("accepted bad value #%zu", i);
	/* control characters in the text are neutralised */
	assert_int_equal(rcptcache_decode(LEN("I 1 550 5.1.1 a\x01" "b\x00" "c"),
	    &d), RCACHE_INVALID);
	assert_string_equal(d.text, "a b");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_bad_values),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
