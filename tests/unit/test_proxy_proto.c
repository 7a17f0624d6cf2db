/*
 * test_proxy_proto.c - the PROXY protocol v1/v2 parser and builders
 * (proxy/proxy_proto.h).
 *
 * Each parse case is exactly the bytes up to the point where the answer
 * is known (the end of the header, or the byte that makes it bad or not
 * a PROXY header at all). Fed whole, one byte at a time and in random
 * pieces, with proxy_parse() called after every piece as mxguard does on
 * each read, every shorter prefix must be PROXY_INCOMPLETE and the whole
 * case must give its answer; an OK header followed by an SMTP command
 * gives the same header and uses only its own bytes. The builders' output
 * is checked byte for byte and parsed back.
 */
#include "unit.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include "proxy_proto.h"

struct proxy_case {
	const char	*in;
	size_t		 len;
	enum proxy_result want;
	int		 version;	/* OK: 1 or 2 */
	const char	*src;		/* OK: "addr port", or "-" (AF_UNSPEC) */
	const char	*dst;
};

#define OK(in, v, src, dst)	{ S(in), PROXY_OK, v, src, dst }
#define BAD(in)			{ S(in), PROXY_BAD, 0, NULL, NULL }
#define NONE(in)		{ S(in), PROXY_NONE, 0, NULL, NULL }

/* the v2 signature, then version/command, family, length (big endian) */
#define SIG	"\r\n\r\n\0\r\nQUIT\n"
#define A4	"\xc6\x33\x64\x09" "\x7f\x00\x00\x01" "\x12\x34" "\x00\x19"
#define A6	"\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01" \
		"\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x25" "\xff\xff" "\x00\x00"
#define X10	"xxxxxxxxxx"
#define X100	X10 X10 X10 X10 X10 X10 X10 X10 X10 X10

static const struct proxy_case cases[] = {
	/* v1 */
	OK("PROXY TCP4 198.51.100.9 192.0.2.1 4321 25\r\n", 1,
	    "198.51.100.9 4321", "192.0.2.1 25"),
	OK("PROXY TCP4 0.0.0.0 255.255.255.255 0 65535\r\n", 1,
	    "0.0.0.0 0", "255.255.255.255 65535"),
	OK("PROXY TCP6 2001:db8::1 2001:db8::25 65535 25\r\n", 1,
	    "2001:db8::1 65535", "2001:db8::25 25"),
	OK("PROXY TCP6 ::ffff:192.0.2.7 ::1 1 2\r\n", 1,
	    "::ffff:192.0.2.7 1", "::1 2"),
	OK("PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n", 1,
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535",
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535"),
	OK("PROXY UNKNOWN\r\n", 1, "-", "-"),
	OK("PROXY UNKNOWN ffff:f...f:ffff ffff:f...f:ffff 65535 65535\r\n", 1,
	    "-", "-"),
	/* 107 bytes, CRLF included: the longest v1 header */
	OK("PROXY UNKNOWN " X10 X10 X10 X10 X10 X10 X10 X10 X10 "x\r\n", 1,
	    "-", "-"),
	BAD("PROXY TCP4 198.51.100.9 192.0.2.1 4321 25\n"),	/* bare LF */
	BAD("PROXY TCP4 198.51.100.9 192.0.2.1 4321 25\r\r\n"),
	BAD("PROXY " X100 "x"),				/* 107, no LF */
	BAD("PROXY \r\n"),
	BAD("PROXY TCP4\r\n"),
	BAD("PROXY TCP4 198.51.100.9 192.0.2.1 4321\r\n"),
	BAD("PROXY TCP4 198.51.100.9 192.0.2.1 4321 25 \r\n"),
	BAD("PROXY TCP4 198.51.100.9 192.0.2.1 4321 25 x\r\n"),
	BAD("PROXY TCP4  198.51.100.9 192.0.2.1 4321 25\r\n"),
	BAD("PROXY tcp4 198.51.100.9 192.0.2.1 4321 25\r\n"),
	BAD("PROXY UDP4 198.51.100.9 192.0.2.1 4321 25\r\n"),
	BAD("PROXY TCP4 2001:db8::1 192.0.2.1 4321 25\r\n"),
	BAD("PROXY TCP6 198.51.100.9 2001:db8::25 4321 25\r\n"),
	BAD("PROXY TCP4 198.51.100.256 192.0.2.1 4321 25\r\n"),
	BAD("PROXY TCP4 198.51.100.9 192.0.2.1 04321 25\r\n"),
	BAD("PROXY TCP4 198.51.100.9 192.0.2.1 4321 65536\r\n"),
	BAD("PROXY TCP4 198.51.100.9 192.0.2.1 -1 25\r\n"),
	BAD("PROXY TCP4 198.51.100.9 192.0.2.1 +1 25\r\n"),
	BAD("PROXY TCP4 198.51.100.9 192.0.2.1 4321 \r\n"),
	BAD("PROXY TCP4 198.51.100.9 192.0.2.1 4321 999999\r\n"),
	BAD("PROXY TCP4 198.51.100.9\0 192.0.2.1 4321 25\r\n"),
	/* v2 */
	OK(SIG "\x21\x11\x00\x0c" A4, 2, "198.51.100.9 4660", "127.0.0.1 25"),
	OK(SIG "\x21\x21\x00\x24" A6, 2, "2001:db8::1 65535",
	    "2001:db8::25 0"),
	/* TLVs after the addresses are skipped */
	OK(SIG "\x21\x11\x00\x19" A4 "\x01\x00\x02h2" "\x20\x00\x05\x01\0\0\0\0",
	    2, "198.51.100.9 4660", "127.0.0.1 25"),
	OK(SIG "\x20\x00\x00\x00", 2, "-", "-"),		/* LOCAL */
	OK(SIG "\x20\x11\x00\x0c" A4, 2, "-", "-"),	/* LOCAL, addresses */
	OK(SIG "\x21\x00\x00\x00", 2, "-", "-"),		/* UNSPEC */
	BAD(SIG "\x11\x11\x00\x0c"),			/* version 1 */
	BAD(SIG "\x31\x11\x00\x0c"),
	BAD(SIG "\x21\x11\x04\x01"),			/* 1025 > PROXY_V2_MAX */
	BAD(SIG "\x22\x11\x00\x0c" A4),			/* command 2 */
	BAD(SIG "\x2f\x11\x00\x0c" A4),
	BAD(SIG "\x21\x12\x00\x0c" A4),			/* UDP */
	BAD(SIG "\x21\x31\x00\x00"),			/* AF_UNIX */
	BAD(SIG "\x21\x11\x00\x08" "\xc6\x33\x64\x09\x7f\x00\x00\x01"),
	BAD(SIG "\x21\x21\x00\x0c" A4),			/* v6 in 12 bytes */
	/* not PROXY at all: known at the first byte that differs */
	NONE("E"),
	NONE("PROXZ"),
	NONE("PROXYX"),
	NONE("p"),
	NONE("\r\n\r\n\0\r\nQUIX"),
	NONE("\r\nE"),
};

/* ---- helpers ------------------------------------------------------------ */

/* the built bytes are exactly the string literal lit (which may hold NUL) */
#define ASSERT_BYTES_LIT(got, n, lit) \
	assert_bytes_equal((got), (n), (lit), sizeof(lit) - 1)

static void
fmt_addr(const struct sockaddr_storage *ss, char *out, size_t outlen)
{
	char a[INET6_ADDRSTRLEN];

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s = (const void *)ss;

		inet_ntop(AF_INET, &s->sin_addr, a, sizeof(a));
		snprintf(out, outlen, "%s %u", a, ntohs(s->sin_port));
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s = (const void *)ss;

		inet_ntop(AF_INET6, &s->sin6_addr, a, sizeof(a));
		snprintf(out, outlen, "%s %u", a, ntohs(s->sin6_port));
	} else if (ss->ss_family == AF_UNSPEC)
		snprintf(out, outlen, "-");
	else
		snprintf(out, outlen, "family %d", ss->ss_family);
}

static void
check_info(const struct proxy_case *tc, const struct proxy_info *pi,
    const char *how)
{
	char s[128], d[128];

	fmt_addr(&pi->src, s, sizeof(s));
	fmt_addr(&pi->dst, d, sizeof(d));
	if (pi->version != tc->version || strcmp(s, tc->src) != 0 ||
	    strcmp(d, tc->dst) != 0) {
		print_error("case \"%s\" (%s):\n   got v%d %s -> %s\n  want "
		    "v%d %s -> %s\n", unit_esc(tc->in, tc->len), how,
		    pi->version, s, d, tc->version, tc->src, tc->dst);
		fail();
	}
}

/* Parses after every piece, as the session does on every read. */
struct reader {
	struct ubuf	 in;
	enum proxy_result res;
	struct proxy_info pi;
	size_t		 used;
	int		 done;
};

static int
reader_push(void *arg, const char *p, size_t n)
{
	struct reader *rd = arg;

	ubuf_add(&rd->in, p, n);
	rd->used = 999;
	rd->res = proxy_parse((const uint8_t *)rd->in.p, rd->in.len, &rd->pi,
	    &rd->used);
	assert_true(rd->used <= rd->in.len);
	if (rd->res == PROXY_INCOMPLETE) {
		assert_int_equal(rd->used, 0);
		return 0;
	}
	rd->done = 1;
	return 1;
}

/* ---- tests ---------------------------------------------------------------- */

static void
test_proxy_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		const struct proxy_case *tc = &cases[i];

		for (unsigned mode = 0; mode < FEED_MODES; mode++) {
			struct reader rd = { 0 };

			unit_feed(tc->in, tc->len, mode, reader_push, &rd);
			if (!rd.done || rd.res != tc->want ||
			    rd.in.len != tc->len) {
				print_error("case %zu \"%s\" (%s): result %d "
				    "after %zu of %zu bytes, want %d at the "
				    "end\n", i, unit_esc(tc->in, tc->len),
				    unit_feed_name(mode), rd.res, rd.in.len,
				    tc->len, tc->want);
				fail();
			}
			if (tc->want == PROXY_OK) {
				assert_int_equal(rd.used, tc->len);
				check_info(tc, &rd.pi, unit_feed_name(mode));
			} else if (tc->want == PROXY_BAD) {
				assert_non_null(rd.pi.why);
			} else
				assert_int_equal(rd.used, 0);
			ubuf_free(&rd.in);
		}
	}
}

/* Growing prefixes, plainly: INCOMPLETE up to the last byte. */
static void
test_proxy_prefixes(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		const struct proxy_case *tc = &cases[i];
		char *copy = malloc(tc->len ? tc->len : 1);

		assert_non_null(copy);
		memcpy(copy, tc->in, tc->len);
		for (size_t k = 0; k < tc->len; k++) {
			struct proxy_info pi;
			size_t used = 999;
			enum proxy_result r = proxy_parse((uint8_t *)copy, k,
			    &pi, &used);

			if (r != PROXY_INCOMPLETE || used != 0) {
				print_error("case %zu \"%s\": %zu-byte prefix "
				    "gives %d (used %zu), want INCOMPLETE\n", i,
				    unit_esc(tc->in, tc->len), k, r, used);
				fail();
			}
		}
		free(copy);
	}
}

/* An OK header with the client's first command behind it. */
static void
test_proxy_followed(void **state)
{
	static const char *const tails[] = {
		"EHLO client.example.net\r\n", "\r\n", "PROXY UNKNOWN\r\n",
		"\n", "\0",
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		if (cases[i].want != PROXY_OK)
			continue;
		for (size_t t = 0; t < ARRAY_LEN(tails); t++) {
			struct ubuf b = { 0 };
			struct proxy_info pi;
			size_t used = 0;

			ubuf_add(&b, cases[i].in, cases[i].len);
			ubuf_add(&b, tails[t], strlen(tails[t]) + (t == 4));
			assert_int_equal(proxy_parse((uint8_t *)b.p, b.len, &pi,
			    &used), PROXY_OK);
			assert_int_equal(used, cases[i].len);
			check_info(&cases[i], &pi, "followed");
			ubuf_free(&b);
		}
	}
}

static void
test_proxy_looks_like(void **state)
{
	static const struct { const char *in; size_t len; int want; } t[] = {
		{ S("P"), 1 }, { S("PROXY"), 1 }, { S("PROXY "), 1 },
		{ S("PROXY TCP4"), 1 }, { S("PROXYX"), 0 }, { S("Q"), 0 },
		{ S("\r"), 1 }, { S("\r\n\r\n\0"), 1 }, { S(SIG), 1 },
		{ S(SIG "\x21"), 1 }, { S("\r\n\r\n\0\r\nQUIX"), 0 },
		{ S("EHLO x\r\n"), 0 }, { S("\r\n"), 1 }, { S("\n"), 0 },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(t); i++) {
		if (proxy_looks_like((const uint8_t *)t[i].in, t[i].len) !=
		    t[i].want) {
			print_error("proxy_looks_like(\"%s\") != %d\n",
			    unit_esc(t[i].in, t[i].len), t[i].want);
			fail();
		}
	}
}

static void
set4(struct sockaddr_storage *ss, const char *a, unsigned port)
{
	struct sockaddr_in *s = (void *)ss;

	memset(ss, 0, sizeof(*ss));
	s->sin_family = AF_INET;
	s->sin_port = htons((uint16_t)port);
	assert_int_equal(inet_pton(AF_INET, a, &s->sin_addr), 1);
}

static void
set6(struct sockaddr_storage *ss, const char *a, unsigned port)
{
	struct sockaddr_in6 *s = (void *)ss;

	memset(ss, 0, sizeof(*ss));
	s->sin6_family = AF_INET6;
	s->sin6_port = htons((uint16_t)port);
	assert_int_equal(inet_pton(AF_INET6, a, &s->sin6_addr), 1);
}

static void
test_proxy_build(void **state)
{
	struct sockaddr_storage s4, d4, s6, d6;
	char v1[128];
	uint8_t v2[128];
	struct proxy_info pi;
	size_t n, used;

	(void)state;
	set4(&s4, "198.51.100.9", 4660);
	set4(&d4, "127.0.0.1", 25);
	set6(&s6, "2001:db8::1", 65535);
	set6(&d6, "2001:db8::25", 0);

	n = proxy_build_v1(v1, sizeof(v1), (void *)&s4, (void *)&d4);
	ASSERT_BYTES_LIT(v1, n, ("PROXY TCP4 198.51.100.9 127.0.0.1 4660 "
	    "25\r\n"));
	assert_int_equal(proxy_parse((uint8_t *)v1, n, &pi, &used), PROXY_OK);
	assert_int_equal(used, n);
	assert_int_equal(proxy_build_v1(v1, n, (void *)&s4, (void *)&d4), 0);

	n = proxy_build_v1(v1, sizeof(v1), (void *)&s6, (void *)&d6);
	ASSERT_BYTES_LIT(v1, n, ("PROXY TCP6 2001:db8::1 2001:db8::25 65535 "
	    "0\r\n"));
	assert_int_equal(proxy_parse((uint8_t *)v1, n, &pi, &used), PROXY_OK);
	assert_int_equal(used, n);

	n = proxy_build_v2(v2, sizeof(v2), (void *)&s4, (void *)&d4);
	ASSERT_BYTES_LIT(v2, n, (SIG "\x21\x11\x00\x0c" A4));
	assert_int_equal(proxy_build_v2(v2, n - 1, (void *)&s4, (void *)&d4),
	    0);
	n = proxy_build_v2(v2, sizeof(v2), (void *)&s6, (void *)&d6);
	ASSERT_BYTES_LIT(v2, n, (SIG "\x21\x21\x00\x24" A6));
	assert_int_equal(proxy_parse(v2, n, &pi, &used), PROXY_OK);
	assert_int_equal(used, n);

	/* families differ, or none given */
	assert_int_equal(proxy_build_v1(v1, sizeof(v1), (void *)&s4,
	    (void *)&d6), 0);
	assert_int_equal(proxy_build_v2(v2, sizeof(v2), (void *)&s6,
	    (void *)&d4), 0);
	memset(&s4, 0, sizeof(s4));
	memset(&d4, 0, sizeof(d4));
	assert_int_equal(proxy_build_v1(v1, sizeof(v1), (void *)&s4,
	    (void *)&d4), 0);
	assert_int_equal(proxy_build_v2(v2, sizeof(v2), (void *)&s4,
	    (void *)&d4), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_proxy_table),
		cmocka_unit_test(test_proxy_prefixes),
		cmocka_unit_test(test_proxy_followed),
		cmocka_unit_test(test_proxy_looks_like),
		cmocka_unit_test(test_proxy_build),
	};

	return cmocka_run_group_tests_name("proxy_proto", tests, NULL, NULL);
}
