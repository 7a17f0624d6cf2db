/*
 * test_ratewin.c - rate parsing, the sliding-window estimate and client
 * networks (proxy/ratewin.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <cmocka.h>

#include "ratewin.h"

static const struct {
	const char	*in;
	int		 ok;
	uint64_t	 count, window_ms;
} parse_cases[] = {
	{ "100/1h",	1, 100, 3600000 },
	{ "100/h",	1, 100, 3600000 },
	{ "30/m",	1, 30, 60000 },
	{ "5/10s",	1, 5, 10000 },
	{ "5/10",	1, 5, 10000 },		/* seconds by default */
	{ "7/1d",	1, 7, 86400000 },
	{ "2/1500ms",	1, 2, 1500 },
	{ " 3/1M ",	1, 3, 60000 },		/* units any case, blanks */
	{ "",		1, 0, 0 },		/* no limit */
	{ "0",		1, 0, 0 },
	{ "none",	1, 0, 0 },
	{ "0/1h",	0, 0, 0 },		/* a zero count is a typo */
	{ "100",	0, 0, 0 },
	{ "/1h",	0, 0, 0 },
	{ "1x/1h",	0, 0, 0 },
	{ "1/1y",	0, 0, 0 },
	{ "1/500ms",	0, 0, 0 },		/* below 1s */
	{ "1/8d",	0, 0, 0 },		/* above 7d */
	{ "999999999999/1h", 0, 0, 0 },
	{ "1/99999999999999999999h", 0, 0, 0 },
};

static void
test_rate_parse(void **state)
{
	for (size_t i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]);
	    i++) {
		struct rate r;
		struct err err;
		int rc = rate_parse(parse_cases[i].in, &r, &err);

		if ((rc == 0) != parse_cases[i].ok)
			fail_msg("\"%s\": rc %d (%s)", parse_cases[i].in, rc,
			    rc ? err.msg : "");
		if (rc == 0) {
			assert_int_equal(r.count, parse_cases[i].count);
			assert_int_equal(r.window_ms, parse_cases[i].window_ms);
		}
	}
}

static void
test_rate_estimate(void **state)
{
	struct rate r = { 10, 60000 };
	uint64_t base = 1000ull * 60000;	/* a window boundary */

	/* at the start of a window the previous one counts in full */
	assert_int_equal(rate_estimate(0, 10, base, 60000), 10);
	/* half-way through, half of it */
	assert_int_equal(rate_estimate(3, 10, base + 30000, 60000), 8);
	/* at the end, nearly nothing */
	assert_int_equal(rate_estimate(3, 10, base + 59999, 60000), 3);
	assert_int_equal(rate_window_index(base + 59999, 60000), 1000);
	assert_int_equal(rate_window_index(base + 60000, 60000), 1001);
	/* N events per window pass, the next does not */
	assert_false(rate_exceeded(&r, 10, 0, base));
	assert_true(rate_exceeded(&r, 11, 0, base));
	/* a burst at the end of the previous window still counts */
	assert_true(rate_exceeded(&r, 2, 10, base + 1000));
	assert_false(rate_exceeded(&r, 2, 10, base + 55000));
	/* no limit */
	r.count = 0;
	assert_false(rate_exceeded(&r, 1000000, 1000000, base));
	/* huge counters do not overflow */
	assert_true(rate_estimate(0, UINT64_MAX, base, 86400000ull * 7) > 0);
}

static void
net_of(const char *addr, unsigned v4, unsigned v6, const char *want)
{
	struct sockaddr_storage ss;
	char out[RATE_NET_MAX];

	memset(&ss, 0, sizeof(ss));
	if (strchr(addr, ':') != NULL) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		assert_int_equal(inet_pton(AF_INET6, addr, &s6->sin6_addr), 1);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		assert_int_equal(inet_pton(AF_INET, addr, &s4->sin_addr), 1);
	}
	assert_int_equal(rate_client_net((struct sockaddr *)&ss, v4, v6, out,
	    sizeof(out)), 0);
	assert_string_equal(out, want);
}

static void
test_client_net(void **state)
{
	net_of("192.0.2.77", 24, 64, "192.0.2.0/24");
	net_of("192.0.2.77", 32, 64, "192.0.2.77");
	net_of("192.0.2.77", 20, 64, "192.0.0.0/20");
	net_of("192.0.2.77", 0, 64, "0.0.0.0/0");
	net_of("2001:db8:1:2:3:4:5:6", 24, 64, "2001:db8:1:2::/64");
	net_of("2001:db8:1:2:3:4:5:6", 24, 48, "2001:db8:1::/48");
	net_of("2001:db8:1:2:3:4:5:6", 24, 128, "2001:db8:1:2:3:4:5:6");
	net_of("::ffff:198.51.100.9", 24, 64, "198.51.100.0/24");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rate_parse),
		cmocka_unit_test(test_rate_estimate),
		cmocka_unit_test(test_client_net),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
