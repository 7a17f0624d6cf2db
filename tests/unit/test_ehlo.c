/*
 * test_ehlo.c - backend capabilities and our EHLO reply (proxy/ehlo.h).
 *
 * The rules come from ehlo.h: PIPELINING, 8BITMIME, ENHANCEDSTATUSCODES,
 * SMTPUTF8 and DSN only when the backend has them and we want them; SIZE
 * is the lower of both limits (a backend SIZE of 0 or none: ours);
 * STARTTLS and CHUNKING are ours; nothing else is ever offered.
 */
#include "unit.h"

#include "ehlo.h"
#include "smtp_reply.h"

/* Postfix 3.7's answer to EHLO from a host in smtpd_authorized_xclient_hosts. */
static const char postfix_ehlo[] =
	"250-mx.example.test\r\n"
	"250-PIPELINING\r\n"
	"250-SIZE 10240000\r\n"
	"250-VRFY\r\n"
	"250-ETRN\r\n"
	"250-STARTTLS\r\n"
	"250-XCLIENT NAME ADDR PROTO HELO REVERSE_NAME PORT LOGIN DESTADDR DESTPORT\r\n"
	"250-XFORWARD NAME ADDR PROTO HELO SOURCE PORT IDENT\r\n"
	"250-ENHANCEDSTATUSCODES\r\n"
	"250-8BITMIME\r\n"
	"250-DSN\r\n"
	"250-SMTPUTF8\r\n"
	"250 CHUNKING\r\n";

#define EXT_ALL	(EXT_PIPELINING | EXT_SIZE | EXT_8BITMIME | \
	EXT_ENHANCEDSTATUSCODES | EXT_SMTPUTF8 | EXT_DSN | EXT_STARTTLS | \
	EXT_CHUNKING | EXT_BINARYMIME | EXT_XCLIENT | EXT_XFORWARD | EXT_AUTH)

static void
parse_text(const char *text, struct ehlo_caps *caps)
{
	struct reply r;
	size_t used;

	assert_int_equal(reply_parse(text, strlen(text), &r, &used), REPLY_OK);
	assert_int_equal(used, strlen(text));
	ehlo_parse(&r, caps);
	reply_clear(&r);
}

static void
test_ehlo_parse_postfix(void **state)
{
	struct ehlo_caps c;

	(void)state;
	parse_text(postfix_ehlo, &c);
	assert_int_equal(c.ext, EXT_PIPELINING | EXT_SIZE | EXT_STARTTLS |
	    EXT_XCLIENT | EXT_XFORWARD | EXT_ENHANCEDSTATUSCODES |
	    EXT_8BITMIME | EXT_DSN | EXT_SMTPUTF8 | EXT_CHUNKING);
	assert_int_equal(c.size, 10240000);
	assert_string_equal(c.xclient,
	    "NAME ADDR PROTO HELO REVERSE_NAME PORT LOGIN DESTADDR DESTPORT");
}

static const struct {
	const char	*text;
	unsigned	 ext;
	uint64_t	 size;
	const char	*xclient;
} parse_cases[] = {
	/* the first line is the greeting name, never an extension */
	{ "250 PIPELINING\r\n", 0, 0, "" },
	{ "250-mx\r\n250 pipelining\r\n", EXT_PIPELINING, 0, "" },
	{ "250-mx\r\n250 SIZE\r\n", EXT_SIZE, 0, "" },
	{ "250-mx\r\n250 SIZE 0\r\n", EXT_SIZE, 0, "" },
	{ "250-mx\r\n250 size 52428800\r\n", EXT_SIZE, 52428800, "" },
	{ "250-mx\r\n250 SIZE 18446744073709551615\r\n", EXT_SIZE,
	    18446744073709551615ull, "" },
	/* more than 64 bits: as good as no limit, never a smaller number */
	{ "250-mx\r\n250 SIZE 18446744073709551616\r\n", EXT_SIZE,
	    18446744073709551615ull, "" },
	{ "250-mx\r\n250 SIZE 99999999999999999999999\r\n", EXT_SIZE,
	    18446744073709551615ull, "" },
	{ "250-mx\r\n250 SIZE=100\r\n", EXT_SIZE, 0, "" },
	{ "250-mx\r\n250 SIZE x\r\n", EXT_SIZE, 0, "" },
	{ "250-mx\r\n250 SIZES 10\r\n", 0, 0, "" },
	{ "250-mx\r\n250 8BITMIMEX\r\n", 0, 0, "" },
	{ "250-mx\r\n250 X-PIPELINING\r\n", 0, 0, "" },
	{ "250-mx\r\n250-AUTH PLAIN LOGIN\r\n250 AUTH=PLAIN LOGIN\r\n",
	    EXT_AUTH, 0, "" },
	{ "250-mx\r\n250 BINARYMIME\r\n", EXT_BINARYMIME, 0, "" },
	{ "250-mx\r\n250 XCLIENT ADDR\r\n", EXT_XCLIENT, 0, "ADDR" },
	{ "250-mx\r\n250 XCLIENT\r\n", EXT_XCLIENT, 0, "" },
	{ "250-mx\r\n250-\r\n250- \r\n250 \x01\r\n", 0, 0, "" },
	{ "250 mx\r\n", 0, 0, "" },
	/* LF line ends from the backend are fine */
	{ "250-mx\n250-DSN\n250 SMTPUTF8\n", EXT_DSN | EXT_SMTPUTF8, 0, "" },
	/* not a 250: nothing */
	{ "550-mx\r\n550 PIPELINING\r\n", 0, 0, "" },
	{ "220-mx\r\n220 PIPELINING\r\n", 0, 0, "" },
	{ "251-mx\r\n251 PIPELINING\r\n", 0, 0, "" },
};

static void
test_ehlo_parse(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(parse_cases); i++) {
		struct ehlo_caps c;

		memset(&c, 0xa5, sizeof(c));	/* everything gets set */
		parse_text(parse_cases[i].text, &c);
		if (c.ext != parse_cases[i].ext ||
		    c.size != parse_cases[i].size ||
		    strcmp(c.xclient, parse_cases[i].xclient) != 0) {
			print_error("case \"%s\": ext %#x size %llu xclient "
			    "\"%s\"\n", unit_escs(parse_cases[i].text), c.ext,
			    (unsigned long long)c.size, c.xclient);
			fail();
		}
	}
}

/* An XCLIENT list longer than we keep: cut, terminated, no overrun. */
static void
test_ehlo_parse_long_xclient(void **state)
{
	struct ubuf b = { 0 };
	struct ehlo_caps c;

	(void)state;
	ubuf_adds(&b, "250-mx\r\n250 XCLIENT");
	for (int i = 0; i < 100; i++)
		ubuf_adds(&b, " ATTRIBUTE");
	ubuf_adds(&b, "\r\n");
	parse_text(b.p, &c);
	assert_int_equal(c.ext, EXT_XCLIENT);
	assert_int_equal(strlen(c.xclient), EHLO_XCLIENT_MAX - 1);
	assert_true(ehlo_xclient_has(&c, "ATTRIBUTE"));
	ubuf_free(&b);
}

static const struct {
	const char	*name;
	unsigned	 backend;
	uint64_t	 bsize;
	unsigned	 want;
	uint64_t	 max_size;
	unsigned	 offer;
	uint64_t	 size;
} offer_cases[] = {
	{ "everything both ways: only what we relay faithfully",
	    EXT_ALL, 10240000, EXT_ALL, 52428800,
	    EXT_PIPELINING | EXT_SIZE | EXT_8BITMIME |
	    EXT_ENHANCEDSTATUSCODES | EXT_SMTPUTF8 | EXT_DSN |
	    EXT_STARTTLS | EXT_CHUNKING, 10240000 },
	{ "backend has nothing: only ours",
	    0, 0, EXT_ALL, 52428800,
	    EXT_SIZE | EXT_STARTTLS | EXT_CHUNKING, 52428800 },
	{ "we want nothing: nothing",
	    EXT_ALL, 10240000, 0, 52428800, 0, 10240000 },
	{ "backend lacks DSN: no DSN even if wanted",
	    EXT_ALL & ~EXT_DSN, 0, EXT_ALL, 1000,
	    EXT_PIPELINING | EXT_SIZE | EXT_8BITMIME |
	    EXT_ENHANCEDSTATUSCODES | EXT_SMTPUTF8 | EXT_STARTTLS |
	    EXT_CHUNKING, 1000 },
	{ "backend has DSN, not wanted: no DSN",
	    EXT_DSN | EXT_SMTPUTF8, 0, EXT_ALL & ~EXT_DSN, 1000,
	    EXT_SMTPUTF8 | EXT_SIZE | EXT_STARTTLS | EXT_CHUNKING, 1000 },
	{ "each faithful extension alone",
	    EXT_PIPELINING, 0, EXT_PIPELINING | EXT_8BITMIME, 1000,
	    EXT_PIPELINING, 1000 },
	{ "8BITMIME", EXT_8BITMIME, 0, EXT_8BITMIME, 1000, EXT_8BITMIME,
	    1000 },
	{ "ENHANCEDSTATUSCODES", EXT_ENHANCEDSTATUSCODES, 0,
	    EXT_ENHANCEDSTATUSCODES, 1000, EXT_ENHANCEDSTATUSCODES, 1000 },
	{ "SMTPUTF8 without 8BITMIME", EXT_SMTPUTF8, 0,
	    EXT_SMTPUTF8 | EXT_8BITMIME, 1000, EXT_SMTPUTF8, 1000 },
	{ "STARTTLS is ours: not offered when unwanted",
	    EXT_STARTTLS, 0, EXT_PIPELINING, 1000, 0, 1000 },
	{ "STARTTLS is ours: offered without the backend's",
	    0, 0, EXT_STARTTLS, 1000, EXT_STARTTLS, 1000 },
	{ "CHUNKING is ours", 0, 0, EXT_CHUNKING, 1000, EXT_CHUNKING, 1000 },
	{ "CHUNKING unwanted even if the backend has it",
	    EXT_CHUNKING, 0, EXT_SIZE, 1000, EXT_SIZE, 1000 },
	{ "never relayed: BINARYMIME XCLIENT XFORWARD AUTH",
	    EXT_BINARYMIME | EXT_XCLIENT | EXT_XFORWARD | EXT_AUTH, 0,
	    EXT_BINARYMIME | EXT_XCLIENT | EXT_XFORWARD | EXT_AUTH, 1000,
	    0, 1000 },
	/* SIZE: the lower of both; 0 or no SIZE from the backend: ours */
	{ "backend limit lower", EXT_SIZE, 10, EXT_SIZE, 1000, EXT_SIZE, 10 },
	{ "our limit lower", EXT_SIZE, 5000, EXT_SIZE, 1000, EXT_SIZE, 1000 },
	{ "equal", EXT_SIZE, 1000, EXT_SIZE, 1000, EXT_SIZE, 1000 },
	{ "backend SIZE 0: no limit there",
	    EXT_SIZE, 0, EXT_SIZE, 1000, EXT_SIZE, 1000 },
	{ "backend without SIZE: its number does not count",
	    0, 10, EXT_SIZE, 1000, EXT_SIZE, 1000 },
	{ "SIZE unwanted: the number is still the limit",
	    EXT_SIZE, 10, 0, 1000, 0, 10 },
};

static void
test_ehlo_offer(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(offer_cases); i++) {
		struct ehlo_caps b;
		struct ehlo_policy p;
		uint64_t size = 12345;
		unsigned offer;

		memset(&b, 0, sizeof(b));
		b.ext = offer_cases[i].backend;
		b.size = offer_cases[i].bsize;
		p.want = offer_cases[i].want;
		p.max_size = offer_cases[i].max_size;
		offer = ehlo_offer(&b, &p, &size);
		if (offer != offer_cases[i].offer ||
		    size != offer_cases[i].size) {
			print_error("%s: offer %#x size %llu, want %#x %llu\n",
			    offer_cases[i].name, offer,
			    (unsigned long long)size, offer_cases[i].offer,
			    (unsigned long long)offer_cases[i].size);
			fail();
		}
	}
}

/* The Postfix reply above, through parse and offer, with all wanted. */
static void
test_ehlo_offer_postfix(void **state)
{
	struct ehlo_caps c;
	struct ehlo_policy p = { EXT_ALL, 52428800 };
	uint64_t size = 0;
	unsigned offer;
	char out[512];
	size_t n;
	static const char want[] =
		"250-mxguard.example.test\r\n"
		"250-PIPELINING\r\n"
		"250-SIZE 10240000\r\n"
		"250-STARTTLS\r\n"
		"250-ENHANCEDSTATUSCODES\r\n"
		"250-8BITMIME\r\n"
		"250-DSN\r\n"
		"250-SMTPUTF8\r\n"
		"250 CHUNKING\r\n";

	(void)state;
	parse_text(postfix_ehlo, &c);
	offer = ehlo_offer(&c, &p, &size);
	n = ehlo_format(out, sizeof(out), "mxguard.example.test", offer, size);
	assert_bytes_equal(out, n, want, sizeof(want) - 1);
}

static const struct {
	const char	*host;
	unsigned	 offer;
	uint64_t	 size;
	const char	*want;
} format_cases[] = {
	{ "mx.example.test", 0, 0, "250 mx.example.test\r\n" },
	{ "mx.example.test", 0, 1000, "250 mx.example.test\r\n" },
	{ "mx", EXT_SIZE, 0, "250-mx\r\n250 SIZE\r\n" },
	{ "mx", EXT_SIZE, 52428800, "250-mx\r\n250 SIZE 52428800\r\n" },
	{ "mx", EXT_SIZE, 18446744073709551615ull,
	    "250-mx\r\n250 SIZE 18446744073709551615\r\n" },
	{ "mx", EXT_PIPELINING, 99, "250-mx\r\n250 PIPELINING\r\n" },
	{ "mx", EXT_ALL, 1024,
	    "250-mx\r\n250-PIPELINING\r\n250-SIZE 1024\r\n250-STARTTLS\r\n"
	    "250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250-DSN\r\n"
	    "250-SMTPUTF8\r\n250-CHUNKING\r\n250-BINARYMIME\r\n"
	    "250-XCLIENT\r\n250-XFORWARD\r\n250 AUTH\r\n" },
	/* a fixed order, whatever the bits */
	{ "mx", EXT_CHUNKING | EXT_PIPELINING | EXT_DSN,
	    0, "250-mx\r\n250-PIPELINING\r\n250-DSN\r\n250 CHUNKING\r\n" },
	{ "mx", EXT_STARTTLS | EXT_8BITMIME, 0,
	    "250-mx\r\n250-STARTTLS\r\n250 8BITMIME\r\n" },
	/* bits that name no extension are ignored */
	{ "mx", 1u << 20, 0, "250 mx\r\n" },
};

static void
test_ehlo_format(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(format_cases); i++) {
		char out[1024];
		size_t n = ehlo_format(out, sizeof(out), format_cases[i].host,
		    format_cases[i].offer, format_cases[i].size);
		size_t wl = strlen(format_cases[i].want);

		assert_bytes_equal(out, n, format_cases[i].want, wl);
		/*
		 * Too small: 0. ehlo_format uses snprintf, so it needs room
		 * for a terminating NUL too: the smallest buffer is n + 1.
		 */
		for (size_t k = 0; k <= n; k++) {
			char small[1024];

			memset(small, '#', sizeof(small));
			assert_int_equal(ehlo_format(small, k,
			    format_cases[i].host, format_cases[i].offer,
			    format_cases[i].size), 0);
			for (size_t j = k; j < sizeof(small); j++)
				assert_int_equal(small[j], '#');
		}
		assert_int_equal(ehlo_format(out, n + 1, format_cases[i].host,
		    format_cases[i].offer, format_cases[i].size), n);
	}
}

/* What we send parses back to what we meant (our own reply as backend). */
static void
test_ehlo_format_round_trip(void **state)
{
	static const unsigned offers[] = {
		0, EXT_SIZE, EXT_PIPELINING | EXT_SIZE | EXT_8BITMIME |
		EXT_ENHANCEDSTATUSCODES | EXT_SMTPUTF8 | EXT_DSN |
		EXT_STARTTLS | EXT_CHUNKING, EXT_ALL,
	};
	static const uint64_t sizes[] = { 0, 1, 10240000, 1ull << 40 };

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(offers); i++)
		for (size_t j = 0; j < ARRAY_LEN(sizes); j++) {
			char out[1024];
			size_t n = ehlo_format(out, sizeof(out), "mx.test",
			    offers[i], sizes[j]);
			struct ehlo_caps c;

			assert_true(n > 0);
			out[n] = '\0';
			parse_text(out, &c);
			assert_int_equal(c.ext, offers[i]);
			assert_int_equal(c.size, offers[i] & EXT_SIZE ?
			    sizes[j] : 0);
		}
}

static void
test_ehlo_xclient_has(void **state)
{
	struct ehlo_caps c;
	static const struct {
		const char	*attr;
		int		 has;
	} attrs[] = {
		{ "NAME", 1 }, { "ADDR", 1 }, { "addr", 1 }, { "Addr", 1 },
		{ "DESTPORT", 1 }, { "REVERSE_NAME", 1 }, { "LOGIN", 1 },
		{ "NAM", 0 }, { "DEST", 0 }, { "DESTPORTS", 0 }, { "", 0 },
		{ "ADDR PROTO", 0 }, { "FOO", 0 },
	};

	(void)state;
	parse_text(postfix_ehlo, &c);
	for (size_t i = 0; i < ARRAY_LEN(attrs); i++)
		if (ehlo_xclient_has(&c, attrs[i].attr) != attrs[i].has) {
			print_error("\"%s\": want %d\n", attrs[i].attr,
			    attrs[i].has);
			fail();
		}
	/* the list means nothing when XCLIENT is not offered */
	c.ext &= ~(unsigned)EXT_XCLIENT;
	assert_false(ehlo_xclient_has(&c, "ADDR"));
	/* extra spaces between attributes */
	parse_text("250-mx\r\n250 XCLIENT  ADDR   NAME \r\n", &c);
	assert_true(ehlo_xclient_has(&c, "ADDR"));
	assert_true(ehlo_xclient_has(&c, "NAME"));
	/* no attributes */
	parse_text("250-mx\r\n250 XCLIENT\r\n", &c);
	assert_false(ehlo_xclient_has(&c, "ADDR"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ehlo_parse_postfix),
		cmocka_unit_test(test_ehlo_parse),
		cmocka_unit_test(test_ehlo_parse_long_xclient),
		cmocka_unit_test(test_ehlo_offer),
		cmocka_unit_test(test_ehlo_offer_postfix),
		cmocka_unit_test(test_ehlo_format),
		cmocka_unit_test(test_ehlo_format_round_trip),
		cmocka_unit_test(test_ehlo_xclient_has),
	};

	return cmocka_run_group_tests_name("ehlo", tests, NULL, NULL);
}
