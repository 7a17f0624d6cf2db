/*
 * test_smtp_reply.c - reply parsing and formatting (proxy/smtp_reply.h).
 *
 * Each parse case is one backend reply and nothing after it. Fed whole,
 * one byte at a time and in random pieces, reply_parse() must say
 * INCOMPLETE for every shorter prefix and give the same answer at the
 * last byte; with more bytes behind the reply, the same answer again.
 */
#include "unit.h"

#include "smtp_reply.h"

struct reply_case {
	const char	*in;
	size_t		 len;
	enum reply_result want;
	int		 code;
	const char	*enh;
	const char	*lines;		/* the texts joined with '|' */
};

#define OK(in, code, enh, lines)	{ S(in), REPLY_OK, code, enh, lines }
#define BAD(in, res)			{ S(in), res, 0, NULL, NULL }

static const struct reply_case cases[] = {
	OK("250 OK\r\n", 250, "", "OK"),
	OK("250 OK\n", 250, "", "OK"),
	OK("250\r\n", 250, "", ""),
	OK("250\n", 250, "", ""),
	OK("250 \r\n", 250, "", ""),
	OK("220 mx.example.test ESMTP Postfix\r\n", 220, "",
	    "mx.example.test ESMTP Postfix"),
	OK("354 End data with <CR><LF>.<CR><LF>\r\n", 354, "",
	    "End data with <CR><LF>.<CR><LF>"),
	OK("599 x\r\n", 599, "", "x"),
	OK("200 x\r\n", 200, "", "x"),
	/* multi-line */
	OK("250-a\r\n250-b\r\n250 c\r\n", 250, "", "a|b|c"),
	OK("250-a\n250 b\r\n", 250, "", "a|b"),
	OK("250-\r\n250\r\n", 250, "", "|"),
	OK("250-mx.example.test\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n"
	    "250-STARTTLS\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n"
	    "250-DSN\r\n250 SMTPUTF8\r\n", 250, "",
	    "mx.example.test|PIPELINING|SIZE 10240000|STARTTLS|"
	    "ENHANCEDSTATUSCODES|8BITMIME|DSN|SMTPUTF8"),
	OK("550-5.1.1 The email account that you tried to reach does not exist.\r\n"
	    "550 5.1.1 Please try again.\r\n", 550, "5.1.1",
	    "5.1.1 The email account that you tried to reach does not exist.|"
	    "5.1.1 Please try again."),
	/* enhanced status codes (RFC 3463): class must match the code */
	OK("250 2.1.0 Ok\r\n", 250, "2.1.0", "2.1.0 Ok"),
	OK("550 5.7.1 <x@example.test>: Relay access denied\r\n", 550,
	    "5.7.1", "5.7.1 <x@example.test>: Relay access denied"),
	OK("451 4.3.0 Error: queue file write error\r\n", 451, "4.3.0",
	    "4.3.0 Error: queue file write error"),
	OK("250 2.0.0\r\n", 250, "2.0.0", "2.0.0"),
	OK("250 2.123.456 x\r\n", 250, "2.123.456", "2.123.456 x"),
	OK("550 2.7.1 wrong class\r\n", 550, "", "2.7.1 wrong class"),
	OK("250 2.1 x\r\n", 250, "", "2.1 x"),
	OK("250 2.1.1000 x\r\n", 250, "", "2.1.1000 x"),
	OK("250 2.1000.1 x\r\n", 250, "", "2.1000.1 x"),
	OK("250 2..1 x\r\n", 250, "", "2..1 x"),
	OK("250 2.1.0x y\r\n", 250, "", "2.1.0x y"),
	OK("250 20.1.0 x\r\n", 250, "", "20.1.0 x"),
	OK("250 Ok 2.1.0\r\n", 250, "", "Ok 2.1.0"),
	OK("250-2.1.0 a\r\n250 2.1.5 b\r\n", 250, "2.1.0", "2.1.0 a|2.1.5 b"),
	OK("250-a\r\n250 2.1.0 b\r\n", 250, "", "a|2.1.0 b"),
	/* control characters become '?', 8-bit text stays */
	OK("250 a\x01" "b\x7f" "c\r\n", 250, "", "a?b?c"),
	OK("250 a\rb\r\n", 250, "", "a?b"),
	OK("250 a\tb\r\n", 250, "", "a?b"),
	OK("250 a\0b\r\n", 250, "", "a?b"),
	OK("250 a\r\r\n", 250, "", "a?"),
	OK("250 caf\xc3\xa9\r\n", 250, "", "caf\xc3\xa9"),
	OK("250-\x1b[31mred\r\n250 ok\r\n", 250, "", "?[31mred|ok"),
	/* syntax */
	BAD("\r\n", REPLY_SYNTAX),
	BAD("\n", REPLY_SYNTAX),
	BAD("25\r\n", REPLY_SYNTAX),
	BAD("25 x\r\n", REPLY_SYNTAX),
	BAD("2x0 x\r\n", REPLY_SYNTAX),
	BAD("150 x\r\n", REPLY_SYNTAX),
	BAD("099 x\r\n", REPLY_SYNTAX),
	BAD("600 x\r\n", REPLY_SYNTAX),
	BAD("999 x\r\n", REPLY_SYNTAX),
	BAD("250x\r\n", REPLY_SYNTAX),
	BAD("250_x\r\n", REPLY_SYNTAX),
	BAD(" 250 x\r\n", REPLY_SYNTAX),
	BAD("abc\r\n", REPLY_SYNTAX),
	BAD("+OK POP3 ready\r\n", REPLY_SYNTAX),
	/* every line carries the same code */
	BAD("250-a\r\n251 b\r\n", REPLY_SYNTAX),
	BAD("250-a\r\n550 b\r\n", REPLY_SYNTAX),
	BAD("250-a\r\n250-b\r\n25O c\r\n", REPLY_SYNTAX),
	BAD("250-a\r\nxyz\r\n", REPLY_SYNTAX),
};

/* ---- helpers ------------------------------------------------------------ */

static void
joined(const struct reply *r, struct ubuf *b)
{
	ubuf_reset(b);
	ubuf_adds(b, "");
	for (size_t i = 0; i < r->nlines; i++) {
		if (i > 0)
			ubuf_adds(b, "|");
		ubuf_adds(b, r->lines[i]);
	}
}

static void
check_reply(const struct reply_case *tc, const struct reply *r,
    const char *how)
{
	struct ubuf b = { 0 };

	joined(r, &b);
	if (r->code != tc->code || strcmp(r->enh, tc->enh) != 0 ||
	    strcmp(b.p, tc->lines) != 0) {
		print_error("case \"%s\" (%s):\n   got %d [%s] \"%s\"\n  want "
		    "%d [%s] \"%s\"\n", unit_esc(tc->in, tc->len), how,
		    r->code, r->enh, unit_escs(b.p), tc->code, tc->enh,
		    unit_escs(tc->lines));
		fail();
	}
	ubuf_free(&b);
}

/* A reader that parses after every piece, as the backend code does. */
struct reader {
	struct ubuf	 in;
	enum reply_result res;
	struct reply	 r;
	size_t		 used;
	int		 done;
};

static int
reader_push(void *arg, const char *p, size_t n)
{
	struct reader *rd = arg;

	ubuf_add(&rd->in, p, n);
	rd->res = reply_parse(rd->in.p, rd->in.len, &rd->r, &rd->used);
	if (rd->res == REPLY_INCOMPLETE)
		return 0;
	rd->done = 1;
	return 1;
}

static void
test_reply_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		const struct reply_case *tc = &cases[i];

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
			if (tc->want == REPLY_OK) {
				assert_int_equal(rd.used, tc->len);
				check_reply(tc, &rd.r, unit_feed_name(mode));
			} else {
				/* any other result leaves *r empty */
				assert_int_equal(rd.r.nlines, 0);
				assert_null(rd.r.buf);
			}
			reply_clear(&rd.r);
			ubuf_free(&rd.in);
		}
	}
}

/* With the next reply (or garbage) behind it, the same reply is found. */
static void
test_reply_followed(void **state)
{
	static const char *const tails[] = {
		"250 next\r\n", "x", "\r\n", "250-more\r\n",
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		for (size_t t = 0; t < ARRAY_LEN(tails); t++) {
			struct ubuf b = { 0 };
			struct reply r;
			size_t used = 0;
			enum reply_result res;

			ubuf_add(&b, cases[i].in, cases[i].len);
			ubuf_adds(&b, tails[t]);
			res = reply_parse(b.p, b.len, &r, &used);
			assert_int_equal(res, cases[i].want);
			if (res == REPLY_OK) {
				assert_int_equal(used, cases[i].len);
				check_reply(&cases[i], &r, "followed");
			}
			reply_clear(&r);
			ubuf_free(&b);
		}
	}
}

/* Builds n lines of code 250 with texts of len bytes each. */
static void
make_reply(struct ubuf *b, size_t nlines, size_t linelen, const char *eol)
{
	ubuf_reset(b);
	ubuf_adds(b, "");
	for (size_t i = 0; i < nlines; i++) {
		ubuf_adds(b, i + 1 < nlines ? "250-" : "250 ");
		for (size_t k = 4; k < linelen; k++)
			ubuf_adds(b, "x");
		ubuf_adds(b, eol);
	}
}

/* Grows prefixes of b: INCOMPLETE before the last byte, want at it. */
static void
check_prefixes(const struct ubuf *b, enum reply_result want, size_t at)
{
	struct reply r;
	size_t used;

	for (size_t k = 0; k < at; k++) {
		enum reply_result res = reply_parse(b->p, k, &r, &used);

		if (res != REPLY_INCOMPLETE) {
			print_error("prefix %zu of %zu: %d, want INCOMPLETE\n",
			    k, b->len, res);
			fail();
		}
	}
	for (size_t k = at; k <= b->len; k++) {
		enum reply_result res = reply_parse(b->p, k, &r, &used);

		if (res != want) {
			print_error("prefix %zu of %zu (decided at %zu): %d, "
			    "want %d\n", k, b->len, at, res, want);
			fail();
		}
		reply_clear(&r);
	}
}

/*
 * Limits: REPLY_LINE_MAX bytes per line (code and text, without the line
 * end), REPLY_LINES_MAX lines.
 */
static void
test_reply_limits(void **state)
{
	struct ubuf b = { 0 };
	struct reply r;
	size_t used;

	(void)state;
	/* the longest line, with CRLF and with LF */
	make_reply(&b, 1, REPLY_LINE_MAX, "\r\n");
	assert_int_equal(reply_parse(b.p, b.len, &r, &used), REPLY_OK);
	assert_int_equal(strlen(r.lines[0]), REPLY_LINE_MAX - 4);
	reply_clear(&r);
	check_prefixes(&b, REPLY_OK, b.len);
	make_reply(&b, 1, REPLY_LINE_MAX, "\n");
	assert_int_equal(reply_parse(b.p, b.len, &r, &used), REPLY_OK);
	reply_clear(&r);
	check_prefixes(&b, REPLY_OK, b.len);
	/* one byte more: too long, whichever line end it has */
	make_reply(&b, 1, REPLY_LINE_MAX + 1, "\r\n");
	assert_int_equal(reply_parse(b.p, b.len, &r, &used), REPLY_TOO_LONG);
	check_prefixes(&b, REPLY_TOO_LONG, REPLY_LINE_MAX + 2);
	make_reply(&b, 1, REPLY_LINE_MAX + 1, "\n");
	assert_int_equal(reply_parse(b.p, b.len, &r, &used), REPLY_TOO_LONG);
	check_prefixes(&b, REPLY_TOO_LONG, b.len);
	/* no line end at all: too long once the line cannot fit */
	make_reply(&b, 1, 3 * REPLY_LINE_MAX, "");
	assert_int_equal(reply_parse(b.p, b.len, &r, &used), REPLY_TOO_LONG);
	check_prefixes(&b, REPLY_TOO_LONG, REPLY_LINE_MAX + 2);
	/* a long line in the middle of a multi-line reply */
	ubuf_reset(&b);
	ubuf_adds(&b, "250-a\r\n250-");
	for (size_t k = 4; k < REPLY_LINE_MAX + 1; k++)
		ubuf_adds(&b, "y");
	ubuf_adds(&b, "\n250 c\r\n");
	assert_int_equal(reply_parse(b.p, b.len, &r, &used), REPLY_TOO_LONG);

	/* line count */
	make_reply(&b, REPLY_LINES_MAX, 10, "\r\n");
	assert_int_equal(reply_parse(b.p, b.len, &r, &used), REPLY_OK);
	assert_int_equal(r.nlines, REPLY_LINES_MAX);
	assert_int_equal(used, b.len);
	reply_clear(&r);
	check_prefixes(&b, REPLY_OK, b.len);
	make_reply(&b, REPLY_LINES_MAX + 1, 10, "\r\n");
	assert_int_equal(reply_parse(b.p, b.len, &r, &used), REPLY_TOO_LONG);
	check_prefixes(&b, REPLY_TOO_LONG, (REPLY_LINES_MAX + 1) * 12);
	/* the biggest reply there is, on LF line ends */
	make_reply(&b, REPLY_LINES_MAX, REPLY_LINE_MAX, "\n");
	assert_int_equal(reply_parse(b.p, b.len, &r, &used), REPLY_OK);
	assert_int_equal(r.nlines, REPLY_LINES_MAX);
	reply_clear(&r);
	ubuf_free(&b);
}

static const struct {
	int		 code;
	const char	*enh;
	const char	*text;
	const char	*want;		/* NULL: refused (0) */
} format_cases[] = {
	{ 250, NULL, "OK", "250 OK\r\n" },
	{ 250, "", "OK", "250 OK\r\n" },
	{ 250, "2.0.0", "OK", "250 2.0.0 OK\r\n" },
	{ 250, NULL, "", "250 \r\n" },
	{ 250, NULL, "a\nb", "250-a\r\n250 b\r\n" },
	{ 250, NULL, "a\nb\nc", "250-a\r\n250-b\r\n250 c\r\n" },
	{ 550, "5.7.1", "a\nb", "550-5.7.1 a\r\n550 5.7.1 b\r\n" },
	{ 250, NULL, "a\n", "250-a\r\n250 \r\n" },
	{ 451, "4.7.0", "Try again later", "451 4.7.0 Try again later\r\n" },
	/* control characters never reach the wire */
	{ 250, NULL, "a\rb\x01", "250 a?b?\r\n" },
	{ 250, NULL, "a\r\nb", "250-a?\r\n250 b\r\n" },
	{ 250, NULL, "\x7f\x1b", "250 ??\r\n" },
	{ 250, NULL, "caf\xc3\xa9", "250 caf\xc3\xa9\r\n" },
	{ 200, NULL, "x", "200 x\r\n" },
	{ 599, NULL, "x", "599 x\r\n" },
	{ 199, NULL, "x", NULL },
	{ 600, NULL, "x", NULL },
	{ 0, NULL, "x", NULL },
	{ -250, NULL, "x", NULL },
};

static void
test_reply_format(void **state)
{
	char out[256];

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(format_cases); i++) {
		size_t n = reply_format(out, sizeof(out), format_cases[i].code,
		    format_cases[i].enh, format_cases[i].text);

		if (format_cases[i].want == NULL) {
			assert_int_equal(n, 0);
			continue;
		}
		assert_bytes_equal(out, n, format_cases[i].want,
		    strlen(format_cases[i].want));
		/* too small by any amount: 0, and nothing beyond outlen */
		for (size_t k = 0; k < n; k++) {
			char small[256];

			memset(small, '#', sizeof(small));
			assert_int_equal(reply_format(small, k,
			    format_cases[i].code, format_cases[i].enh,
			    format_cases[i].text), 0);
			for (size_t j = k; j < sizeof(small); j++)
				assert_int_equal(small[j], '#');
		}
		/* exactly enough: no terminator needed */
		assert_int_equal(reply_format(out, n, format_cases[i].code,
		    format_cases[i].enh, format_cases[i].text), n);
		/* and what we write parses back */
		{
			struct reply r;
			size_t used;

			assert_int_equal(reply_parse(out, n, &r, &used),
			    REPLY_OK);
			assert_int_equal(used, n);
			assert_int_equal(r.code, format_cases[i].code);
			if (format_cases[i].enh != NULL &&
			    format_cases[i].enh[0] != '\0')
				assert_string_equal(r.enh, format_cases[i].enh);
			reply_clear(&r);
		}
	}
}

/*
 * reply_format_parsed(): what we relay is CRLF-terminated, sanitised, and
 * parses back to the same reply; formatting that again gives the same
 * bytes.
 */
static void
test_reply_round_trip(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct reply r1, r2;
		size_t used, n1, n2;
		char *out1, *out2;
		size_t cap = cases[i].len * 2 + 16;

		if (cases[i].want != REPLY_OK)
			continue;
		assert_int_equal(reply_parse(cases[i].in, cases[i].len, &r1,
		    &used), REPLY_OK);
		out1 = malloc(cap);
		out2 = malloc(cap);
		n1 = reply_format_parsed(out1, cap, &r1);
		assert_true(n1 > 0);
		/* CRLF only, no control characters but the line ends */
		for (size_t k = 0; k < n1; k++) {
			unsigned char ch = (unsigned char)out1[k];

			if (ch == '\r')
				assert_true(k + 1 < n1 && out1[k + 1] == '\n');
			else if (ch == '\n')
				assert_true(k > 0 && out1[k - 1] == '\r');
			else
				assert_false(ch < 0x20 || ch == 0x7f);
		}
		assert_int_equal(reply_parse(out1, n1, &r2, &used), REPLY_OK);
		assert_int_equal(used, n1);
		check_reply(&cases[i], &r2, "round trip");
		n2 = reply_format_parsed(out2, cap, &r2);
		assert_bytes_equal(out2, n2, out1, n1);
		/* too small: 0 */
		for (size_t k = 0; k < n1; k++)
			assert_int_equal(reply_format_parsed(out2, k, &r1), 0);
		reply_clear(&r1);
		reply_clear(&r2);
		free(out1);
		free(out2);
	}
}

static void
test_reply_format_parsed_bytes(void **state)
{
	static const struct {
		const char *in, *want;
	} c[] = {
		{ "250 OK\n", "250 OK\r\n" },
		{ "250\n", "250 \r\n" },
		{ "250-a\n250 b\n", "250-a\r\n250 b\r\n" },
		{ "550-5.1.1 a\r\n550 5.1.1 b\r\n", "550-5.1.1 a\r\n550 5.1.1 b\r\n" },
		{ "250 a\rb\r\n", "250 a?b\r\n" },
	};
	char out[128];

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(c); i++) {
		struct reply r;
		size_t used, n;

		assert_int_equal(reply_parse(c[i].in, strlen(c[i].in), &r,
		    &used), REPLY_OK);
		n = reply_format_parsed(out, sizeof(out), &r);
		assert_bytes_equal(out, n, c[i].want, strlen(c[i].want));
		reply_clear(&r);
	}
}

static void
test_reply_text(void **state)
{
	static const struct {
		const char *in, *text;
		int cls;
	} c[] = {
		{ "250 2.1.0 Ok\r\n", "Ok", 2 },
		{ "250 Ok\r\n", "Ok", 2 },
		{ "250 2.1.0   Ok  \r\n", "Ok  ", 2 },
		{ "250 2.1.0\r\n", "", 2 },
		{ "250\r\n", "", 2 },
		{ "550-5.7.1 first\r\n550 5.7.1 second\r\n", "first", 5 },
		{ "550 2.7.1 x\r\n", "2.7.1 x", 5 },
		{ "451 4.7.0 a\x01" "b\r\n", "a?b", 4 },
		{ "354 go ahead\r\n", "go ahead", 3 },
	};
	struct reply empty;

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(c); i++) {
		struct reply r;
		size_t used;

		assert_int_equal(reply_parse(c[i].in, strlen(c[i].in), &r,
		    &used), REPLY_OK);
		assert_string_equal(reply_text(&r), c[i].text);
		assert_int_equal(reply_class(&r), c[i].cls);
		reply_clear(&r);
		assert_int_equal(r.nlines, 0);
		assert_null(r.buf);
	}
	memset(&empty, 0, sizeof(empty));
	assert_string_equal(reply_text(&empty), "");
	reply_clear(&empty);		/* an empty reply clears fine */
}

static void
test_reply_enh_valid(void **state)
{
	static const struct {
		const char	*s;
		int		 cls, ok;
	} c[] = {
		{ "2.0.0", 2, 1 }, { "5.7.1", 5, 1 }, { "4.4.2", 4, 1 },
		{ "2.999.999", 2, 1 }, { "5.1.10", 5, 1 },
		{ "2.0.0", 5, 0 }, { "2.0", 2, 0 }, { "2.0.", 2, 0 },
		{ "2..0", 2, 0 }, { ".0.0", 2, 0 }, { "2.0.0.", 2, 0 },
		{ "2.0.0 ", 2, 0 }, { "2.1000.0", 2, 0 }, { "2.0.1000", 2, 0 },
		{ "20.0.0", 2, 0 }, { "2,0,0", 2, 0 }, { "x.0.0", 2, 0 },
		{ "", 2, 0 }, { "2.a.0", 2, 0 }, { "3.0.0", 3, 1 },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(c); i++)
		if (reply_enh_valid(c[i].s, strlen(c[i].s), c[i].cls) !=
		    c[i].ok) {
			print_error("\"%s\" class %d: want %d\n", c[i].s,
			    c[i].cls, c[i].ok);
			fail();
		}
	/* counted: bytes after len are not looked at */
	assert_int_equal(reply_enh_valid("2.0.0 Ok", 5, 2), 1);
	assert_int_equal(reply_enh_valid("2.0.0x", 5, 2), 1);
	assert_int_equal(reply_enh_valid("2.0.0", 4, 2), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reply_table),
		cmocka_unit_test(test_reply_followed),
		cmocka_unit_test(test_reply_limits),
		cmocka_unit_test(test_reply_format),
		cmocka_unit_test(test_reply_round_trip),
		cmocka_unit_test(test_reply_format_parsed_bytes),
		cmocka_unit_test(test_reply_text),
		cmocka_unit_test(test_reply_enh_valid),
	};

	return cmocka_run_group_tests_name("smtp_reply", tests, NULL, NULL);
}
