/*
 * test_smtp_cmd.c - the command line parser (proxy/smtp_cmd.h).
 *
 * Each case is a whole input line as a client sends it. It is read the way
 * the session reads: cmd_line_end() over a growing buffer (whole, one byte
 * at a time, random pieces: INCOMPLETE until the line end, then the same
 * answer), then cmd_parse() on the line without its end. The parsed
 * command is rendered as one string ("MAIL <a@b> SIZE=10") so a table row
 * states everything that matters.
 */
#include "unit.h"

#include "smtp_cmd.h"

#define LINE_MAX_TEST	2048

struct cmd_case {
	const char	*in;
	size_t		 len;
	enum cmd_result	 want;
	const char	*desc;		/* CMD_OK: the rendered command */
	const char	*syntax;	/* CMD_SYNTAX: the reason given */
};

#define OK(in, desc)		{ S(in), CMD_OK, desc, NULL }
#define SYN(in, why)		{ S(in), CMD_SYNTAX, NULL, why }
#define RES(in, res)		{ S(in), res, NULL, NULL }

static const struct cmd_case cases[] = {
	/* verbs, any case */
	OK("HELO mx.example.test\r\n", "HELO arg=[mx.example.test]"),
	OK("helo mx.example.test\r\n", "HELO arg=[mx.example.test]"),
	OK("EHLO [192.0.2.1]\r\n", "EHLO arg=[[192.0.2.1]]"),
	OK("eHlO x\r\n", "EHLO arg=[x]"),
	OK("EHLO  x  \r\n", "EHLO arg=[x]"),
	OK("EHLO a b\r\n", "EHLO arg=[a b]"),
	SYN("EHLO\r\n", "hostname required"),
	SYN("HELO   \r\n", "hostname required"),
	SYN("EHLO a\x01" "b\r\n", "control character in hostname"),
	SYN("EHLO a\tb\r\n", "control character in hostname"),
	SYN("EHLO a\x7f\r\n", "control character in hostname"),
	OK("NOOP\r\n", "NOOP"),
	OK("noop anything at all\r\n", "NOOP arg=[anything at all]"),
	OK("HELP\r\n", "HELP"),
	OK("help mail\r\n", "HELP arg=[mail]"),
	OK("VRFY postmaster\r\n", "VRFY arg=[postmaster]"),
	OK("expn list\r\n", "EXPN arg=[list]"),
	OK("ETRN example.test\r\n", "ETRN arg=[example.test]"),
	SYN("VRFY\r\n", "argument required"),
	SYN("EXPN \r\n", "argument required"),
	SYN("ETRN\r\n", "argument required"),
	OK("AUTH PLAIN AGZvbwBiYXI=\r\n", "AUTH arg=[PLAIN AGZvbwBiYXI=]"),
	OK("XYZZY plugh\r\n", "UNKNOWN arg=[plugh]"),
	OK("MAILFROM:<a@b.test>\r\n", "UNKNOWN"),
	OK("DATAX\r\n", "UNKNOWN"),
	OK("STARTTLSX\r\n", "UNKNOWN"),
	/* no arguments allowed */
	OK("DATA\r\n", "DATA"),
	OK("data\r\n", "DATA"),
	OK("DATA   \r\n", "DATA"),
	OK("  DATA\r\n", "DATA"),
	OK("RSET\r\n", "RSET"),
	OK("QUIT\r\n", "QUIT"),
	OK("quit\r\n", "QUIT"),
	OK("STARTTLS\r\n", "STARTTLS"),
	OK("StartTLS\r\n", "STARTTLS"),
	SYN("DATA x\r\n", "no parameters allowed"),
	SYN("DATA BODY=8BITMIME\r\n", "no parameters allowed"),
	SYN("RSET now\r\n", "no parameters allowed"),
	SYN("QUIT please\r\n", "no parameters allowed"),
	SYN("STARTTLS x\r\n", "no parameters allowed"),
	/* empty lines and NUL */
	RES("\r\n", CMD_EMPTY),
	RES("   \r\n", CMD_EMPTY),
	RES(" \t \r\n", CMD_EMPTY),
	RES("MAIL FROM:<a\0b@example.test>\r\n", CMD_NUL),
	RES("\0\r\n", CMD_NUL),
	RES("DATA\0\r\n", CMD_NUL),
	RES("NOOP \0\r\n", CMD_NUL),

	/* MAIL */
	OK("MAIL FROM:<a@example.test>\r\n", "MAIL <a@example.test>"),
	OK("mail from:<a@example.test>\r\n", "MAIL <a@example.test>"),
	OK("MaIl FrOm:<A@Example.Test>\r\n", "MAIL <A@Example.Test>"),
	OK("MAIL FROM: <a@example.test>\r\n", "MAIL <a@example.test>"),
	OK("MAIL FROM:a@example.test\r\n", "MAIL <a@example.test>"),
	OK("MAIL FROM:a@example.test SIZE=5\r\n", "MAIL <a@example.test> SIZE=5"),
	OK("MAIL FROM:<>\r\n", "MAIL <>"),
	OK("MAIL FROM:<> SIZE=0\r\n", "MAIL <> SIZE=0"),
	OK("MAIL FROM:<a@example.test> SIZE=10\r\n",
	    "MAIL <a@example.test> SIZE=10"),
	OK("MAIL FROM:<a@example.test> SIZE=10 BODY=8BITMIME SMTPUTF8\r\n",
	    "MAIL <a@example.test> SIZE=10 BODY=8BITMIME SMTPUTF8"),
	OK("MAIL FROM:<a@example.test>   SIZE=10\t BODY=7BIT   \r\n",
	    "MAIL <a@example.test> SIZE=10 BODY=7BIT"),
	OK("MAIL FROM:<a@example.test> RET=HDRS ENVID=QQ314159+2B1\r\n",
	    "MAIL <a@example.test> RET=HDRS ENVID=QQ314159+2B1"),
	OK("MAIL FROM:<a@example.test> X-FOO-1=v\r\n",
	    "MAIL <a@example.test> X-FOO-1=v"),
	OK("MAIL FROM:<a@example.test> 8BITMIME\r\n",
	    "MAIL <a@example.test> 8BITMIME"),
	/* quoted local parts: '>' and spaces inside quotes are content */
	OK("MAIL FROM:<\"a>b c\"@example.test>\r\n",
	    "MAIL <\"a>b c\"@example.test>"),
	OK("MAIL FROM:<\"a\\\"b\"@example.test>\r\n",
	    "MAIL <\"a\\\"b\"@example.test>"),
	OK("MAIL FROM:<\"a@b\"@example.test>\r\n",
	    "MAIL <\"a@b\"@example.test>"),
	OK("MAIL FROM:<first.\"middle x\".last@example.test>\r\n",
	    "MAIL <first.\"middle x\".last@example.test>"),
	OK("MAIL FROM:<\"\"@example.test>\r\n", "MAIL <\"\"@example.test>"),
	OK("MAIL FROM:<\"a>\"@example.test> SIZE=1\r\n",
	    "MAIL <\"a>\"@example.test> SIZE=1"),
	SYN("MAIL FROM:<\"a@example.test>\r\n", "missing > after the address"),
	SYN("MAIL FROM:<a\"b\"@example.test>\r\n", "bad character in address"),
	/* an odd quote swallows the closing bracket */
	SYN("MAIL FROM:<a\"b@example.test>\r\n", "missing > after the address"),
	/* source routes are accepted and dropped (RFC 5321 appendix C) */
	OK("RCPT TO:<@a.test,@b.test:user@c.test>\r\n", "RCPT <user@c.test>"),
	OK("MAIL FROM:<@a.test:user@c.test>\r\n", "MAIL <user@c.test>"),
	SYN("RCPT TO:<@a.test>\r\n", "bad source route"),
	SYN("RCPT TO:<@a.test,@b.test>\r\n", "bad source route"),
	/* address literals */
	OK("RCPT TO:<u@[192.0.2.1]>\r\n", "RCPT <u@[192.0.2.1]>"),
	OK("RCPT TO:<u@[IPv6:2001:db8::1]>\r\n", "RCPT <u@[IPv6:2001:db8::1]>"),
	/* 8-bit addresses are flagged (SMTPUTF8 decides elsewhere) */
	OK("RCPT TO:<d\xc3\xb6rte@example.test>\r\n",
	    "RCPT <d\xc3\xb6rte@example.test> 8bit"),
	OK("RCPT TO:<u@b\xc3\xbc" "cher.example>\r\n",
	    "RCPT <u@b\xc3\xbc" "cher.example> 8bit"),
	OK("MAIL FROM:<\"\xc3\xa9\"@example.test>\r\n",
	    "MAIL <\"\xc3\xa9\"@example.test> 8bit"),
	/* an escaped byte in a quoted local part is checked too (fuzz find) */
	OK("MAIL FROM:<\"a\\\xc5\"@example.test>\r\n",
	    "MAIL <\"a\\\xc5\"@example.test> 8bit"),
	SYN("MAIL FROM:<\"a\\\x01\"@example.test>\r\n",
	    "control character in address"),
	/*
	 * Several '@' outside quotes: the last one splits. The parser lets it
	 * through; relay_rcpt_ok() refuses it as routing (test_relay.c).
	 */
	OK("RCPT TO:<a@b@example.test>\r\n", "RCPT <a@b@example.test>"),
	/* MAIL and RCPT syntax errors */
	SYN("MAIL\r\n", "MAIL FROM:<address>"),
	SYN("MAIL TO:<a@example.test>\r\n", "MAIL FROM:<address>"),
	SYN("MAIL FROM <a@example.test>\r\n", "MAIL FROM:<address>"),
	SYN("RCPT FROM:<a@example.test>\r\n", "RCPT TO:<address>"),
	SYN("RCPT\r\n", "RCPT TO:<address>"),
	SYN("MAIL FROM:\r\n", "address required"),
	SYN("RCPT TO:\r\n", "address required"),
	SYN("RCPT TO:<>\r\n", "address required"),
	SYN("MAIL FROM:<a@example.test\r\n", "missing > after the address"),
	SYN("MAIL FROM:<a@example.test>x\r\n", "junk after the address"),
	SYN("MAIL FROM:<a@example.test>SIZE=1\r\n", "junk after the address"),
	SYN("MAIL FROM:<a b@example.test>\r\n", "bad character in address"),
	SYN("MAIL FROM:<a,b@example.test>\r\n", "bad character in address"),
	SYN("MAIL FROM:<a@exa mple.test>\r\n", "bad character in domain"),
	SYN("MAIL FROM:<a@exa!mple.test>\r\n", "bad character in domain"),
	SYN("MAIL FROM:<a@example.test\x01>\r\n", "control character in address"),
	SYN("MAIL FROM:<a\x7f@example.test>\r\n", "control character in address"),
	SYN("MAIL FROM:<a@>\r\n", "empty local part or domain"),
	SYN("MAIL FROM:<@>\r\n", "bad source route"),
	SYN("RCPT TO:<user>\r\n", "domain required"),
	SYN("MAIL FROM:<postmaster>\r\n", "domain required"),
	/* <postmaster> without a domain: RCPT only (RFC 5321 4.5.1) */
	OK("RCPT TO:<postmaster>\r\n", "RCPT <postmaster>"),
	OK("RCPT TO:<PostMaster>\r\n", "RCPT <PostMaster>"),
	OK("RCPT TO:<postmaster> NOTIFY=NEVER\r\n",
	    "RCPT <postmaster> NOTIFY=NEVER"),
	SYN("RCPT TO:<postmaste>\r\n", "domain required"),
	SYN("RCPT TO:<postmasters>\r\n", "domain required"),
	/* RCPT */
	OK("RCPT TO:<u@example.test>\r\n", "RCPT <u@example.test>"),
	OK("rcpt to:<u@example.test>\r\n", "RCPT <u@example.test>"),
	OK("RCPT TO:<u@example.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;u@example.test\r\n",
	    "RCPT <u@example.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;u@example.test"),
	OK("RCPT TO:<u+tag@example.test>\r\n", "RCPT <u+tag@example.test>"),
	OK("RCPT TO:<u%v@example.test>\r\n", "RCPT <u%v@example.test>"),
	OK("RCPT TO:<u!v@example.test>\r\n", "RCPT <u!v@example.test>"),
	/* parameters */
	SYN("MAIL FROM:<a@example.test> SIZE=1 size=2\r\n",
	    "parameter given twice"),
	SYN("MAIL FROM:<a@example.test> SMTPUTF8 SMTPUTF8\r\n",
	    "parameter given twice"),
	SYN("MAIL FROM:<a@example.test> BODY=7BIT body\r\n",
	    "parameter given twice"),
	SYN("MAIL FROM:<a@example.test> -SIZE=1\r\n", "bad parameter"),
	SYN("MAIL FROM:<a@example.test> =1\r\n", "bad parameter"),
	SYN("MAIL FROM:<a@example.test> SI_ZE=1\r\n", "bad parameter keyword"),
	SYN("MAIL FROM:<a@example.test> SIZE.=1\r\n", "bad parameter keyword"),
	SYN("MAIL FROM:<a@example.test> SIZE=\r\n", "empty parameter value"),
	SYN("MAIL FROM:<a@example.test> SIZE=1=2\r\n", "bad parameter value"),
	SYN("MAIL FROM:<a@example.test> SIZE=1\x01\r\n", "bad parameter value"),
	SYN("MAIL FROM:<a@example.test> SIZE=1\x7f\r\n", "bad parameter value"),
	OK("MAIL FROM:<a@example.test> A=1 B=2 C=3 D=4 E=5 F=6 G=7 H=8 I=9 "
	    "J=10 K=11 L=12 M=13 N=14 O=15 P=16\r\n",
	    "MAIL <a@example.test> A=1 B=2 C=3 D=4 E=5 F=6 G=7 H=8 I=9 "
	    "J=10 K=11 L=12 M=13 N=14 O=15 P=16"),
	SYN("MAIL FROM:<a@example.test> A=1 B=2 C=3 D=4 E=5 F=6 G=7 H=8 I=9 "
	    "J=10 K=11 L=12 M=13 N=14 O=15 P=16 Q=17\r\n", "too many parameters"),

	/* BDAT (RFC 3030) */
	OK("BDAT 0\r\n", "BDAT 0"),
	OK("BDAT 1000\r\n", "BDAT 1000"),
	OK("BDAT 1000 LAST\r\n", "BDAT 1000 LAST"),
	OK("bdat 5 last\r\n", "BDAT 5 LAST"),
	OK("BDAT 0 LAST\r\n", "BDAT 0 LAST"),
	OK("BDAT 007\r\n", "BDAT 7"),
	OK("BDAT 18446744073709551609\r\n", "BDAT 18446744073709551609"),
	SYN("BDAT 99999999999999999999\r\n", "chunk size too large"),
	SYN("BDAT\r\n", "BDAT chunk-size [LAST]"),
	SYN("BDAT x\r\n", "BDAT chunk-size [LAST]"),
	SYN("BDAT -1\r\n", "BDAT chunk-size [LAST]"),
	SYN("BDAT +1\r\n", "BDAT chunk-size [LAST]"),
	SYN("BDAT 1 2\r\n", "BDAT chunk-size [LAST]"),
	SYN("BDAT 1 LAST x\r\n", "BDAT chunk-size [LAST]"),
	SYN("BDAT 1 LASTX\r\n", "BDAT chunk-size [LAST]"),
	SYN("BDAT 1x\r\n", "BDAT chunk-size [LAST]"),
	/* RFC 3030 2: "BDAT" SP chunk-size [ SP end-marker ] */
	SYN("BDAT 10LAST\r\n", "BDAT chunk-size [LAST]"),

	/* line ends: a bare LF is reported, the line still parses */
	RES("DATA\n", CMD_BARE_LF),
	RES("MAIL FROM:<a@example.test>\n", CMD_BARE_LF),
	RES("\n", CMD_BARE_LF),
};

/* ---- helpers ------------------------------------------------------------ */

/* The command as one line: what a row of the table expects. */
static void
describe(const struct cmd *c, struct ubuf *b)
{
	ubuf_reset(b);
	ubuf_adds(b, cmd_verb_name(c->verb));
	if (c->verb == VERB_MAIL || c->verb == VERB_RCPT) {
		assert_non_null(c->path);
		assert_int_equal(strlen(c->path), c->pathlen);
		ubuf_adds(b, " <");
		ubuf_add(b, c->path, c->pathlen);
		ubuf_adds(b, ">");
		if (c->has_8bit)
			ubuf_adds(b, " 8bit");
		for (size_t i = 0; i < c->nparams; i++) {
			ubuf_adds(b, " ");
			ubuf_adds(b, c->params[i].key);
			if (c->params[i].value != NULL) {
				ubuf_adds(b, "=");
				ubuf_adds(b, c->params[i].value);
			}
		}
	} else if (c->verb == VERB_BDAT) {
		ubuf_addf(b, " %llu", (unsigned long long)c->bdat_size);
		if (c->bdat_last)
			ubuf_adds(b, " LAST");
	} else if (c->arg[0] != '\0')
		ubuf_addf(b, " arg=[%s]", c->arg);
}

/* A session-like reader: bytes arrive in pieces, lines are cut out. */
struct reader {
	struct ubuf	 in;
	size_t		 max;
	int		 done;
	enum cmd_result	 end;		/* cmd_line_end's answer */
	size_t		 linelen;
	size_t		 calls_incomplete;
};

static int
reader_push(void *arg, const char *p, size_t n)
{
	struct reader *r = arg;

	ubuf_add(&r->in, p, n);
	r->end = cmd_line_end(r->in.p, r->in.len, r->max, &r->linelen);
	if (r->end == CMD_INCOMPLETE) {
		r->calls_incomplete++;
		return 0;
	}
	r->done = 1;
	return 1;
}

/*
 * Reads one case fed in mode: returns the parse result, fills *c (whose
 * pointers go into *linebuf, which the caller frees).
 */
static enum cmd_result
read_case(const struct cmd_case *tc, unsigned mode, struct cmd *c,
    char **linebuf)
{
	struct reader r = { .max = LINE_MAX_TEST };
	enum cmd_result res;
	size_t n;

	unit_feed(tc->in, tc->len, mode, reader_push, &r);
	if (!r.done) {
		print_error("case \"%s\" (%s): no line end found\n",
		    unit_esc(tc->in, tc->len), unit_feed_name(mode));
		fail();
	}
	/* The line end is the last byte of every case: all of it is used. */
	assert_int_equal(r.linelen, tc->len);
	assert_int_equal(r.in.len, tc->len);
	n = r.linelen - 1;
	if (r.end == CMD_OK)
		n--;			/* the CR */
	/* exactly the line plus its terminator: overruns show in ASan */
	*linebuf = malloc(n + 1);
	assert_non_null(*linebuf);
	memcpy(*linebuf, r.in.p, n);
	res = cmd_parse(*linebuf, n, c);
	ubuf_free(&r.in);
	/* the line end's verdict wins over the parse, as in the session */
	if (r.end == CMD_BARE_LF)
		return CMD_BARE_LF;
	return res;
}

/* ---- tests -------------------------------------------------------------- */

static void
test_cmd_table(void **state)
{
	struct ubuf d = { 0 }, first = { 0 };

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		const struct cmd_case *tc = &cases[i];

		for (unsigned mode = 0; mode < FEED_MODES; mode++) {
			struct cmd c;
			char *line;
			enum cmd_result res = read_case(tc, mode, &c, &line);

			if (res != tc->want) {
				print_error("case %zu \"%s\" (%s): result %d, "
				    "want %d (syntax: %s)\n", i,
				    unit_esc(tc->in, tc->len),
				    unit_feed_name(mode), res, tc->want,
				    unit_escs(c.syntax));
				fail();
			}
			if (res == CMD_OK)
				describe(&c, &d);
			if (tc->want == CMD_OK &&
			    strcmp(d.p, tc->desc) != 0) {
				print_error("case %zu \"%s\" (%s):\n   got %s\n"
				    "  want %s\n", i, unit_esc(tc->in, tc->len),
				    unit_feed_name(mode), unit_escs(d.p),
				    unit_escs(tc->desc));
				fail();
			}
			if (tc->want == CMD_OK)
				assert_null(c.syntax);
			if (tc->want == CMD_SYNTAX &&
			    (c.syntax == NULL ||
			    strcmp(c.syntax, tc->syntax) != 0)) {
				print_error("case %zu \"%s\": syntax \"%s\", "
				    "want \"%s\"\n", i,
				    unit_esc(tc->in, tc->len),
				    unit_escs(c.syntax), tc->syntax);
				fail();
			}
			/* every way of feeding gives the same command */
			if (mode == FEED_WHOLE) {
				ubuf_reset(&first);
				ubuf_adds(&first, d.p != NULL ? d.p : "");
			} else if (res == CMD_OK)
				assert_string_equal(d.p, first.p);
			free(line);
			ubuf_reset(&d);
		}
	}
	ubuf_free(&d);
	ubuf_free(&first);
}

/* Pipelined input: the line is cut out the same with more behind it. */
static void
test_cmd_pipelined(void **state)
{
	static const char tail[] = "RCPT TO:<b@example.test>\r\nDATA\r\n";

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct ubuf b = { 0 };
		size_t linelen;
		enum cmd_result end;

		ubuf_add(&b, cases[i].in, cases[i].len);
		ubuf_add(&b, tail, sizeof(tail) - 1);
		end = cmd_line_end(b.p, b.len, LINE_MAX_TEST, &linelen);
		assert_int_equal(linelen, cases[i].len);
		assert_int_equal(end, cases[i].want == CMD_BARE_LF ?
		    CMD_BARE_LF : CMD_OK);
		ubuf_free(&b);
	}
}

static const struct {
	const char	*in;
	size_t		 len;
	size_t		 max;
	enum cmd_result	 want;
	size_t		 linelen;
} line_end_cases[] = {
	{ S("DATA\r\n"), 512, CMD_OK, 6 },
	{ S("DATA\r\nQUIT\r\n"), 512, CMD_OK, 6 },
	{ S("\r\n"), 512, CMD_OK, 2 },
	{ S("DATA\n"), 512, CMD_BARE_LF, 5 },
	{ S("\n"), 512, CMD_BARE_LF, 1 },
	{ S("\nDATA\r\n"), 512, CMD_BARE_LF, 1 },
	{ S("DATA\n\r\n"), 512, CMD_BARE_LF, 5 },
	{ S("DA\rTA\r\n"), 512, CMD_OK, 7 },	/* a CR inside is the parser's */
	{ S("\r\r\n"), 512, CMD_OK, 3 },
	{ S("DATA"), 512, CMD_INCOMPLETE, 0 },
	{ S("DATA\r"), 512, CMD_INCOMPLETE, 0 },
	{ S(""), 512, CMD_INCOMPLETE, 0 },
	/* the limit counts the line end too */
	{ S("0123456789abcd\r\n"), 16, CMD_OK, 16 },
	{ S("0123456789abcde\n"), 16, CMD_BARE_LF, 16 },
	{ S("0123456789abcde\r\n"), 16, CMD_TOO_LONG, 16 },
	{ S("0123456789abcdef"), 16, CMD_TOO_LONG, 16 },
	{ S("0123456789abcdefghij\r\n"), 16, CMD_TOO_LONG, 16 },
	{ S("0123456789abcde"), 16, CMD_INCOMPLETE, 0 },
	{ S("0123456789abcde\r"), 16, CMD_TOO_LONG, 16 },
};

static void
test_cmd_line_end(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(line_end_cases); i++) {
		size_t linelen = 0;
		enum cmd_result r = cmd_line_end(line_end_cases[i].in,
		    line_end_cases[i].len, line_end_cases[i].max, &linelen);

		if (r != line_end_cases[i].want) {
			print_error("case \"%s\": %d, want %d\n",
			    unit_esc(line_end_cases[i].in,
			    line_end_cases[i].len), r, line_end_cases[i].want);
			fail();
		}
		if (r != CMD_INCOMPLETE)
			assert_int_equal(linelen, line_end_cases[i].linelen);
	}
}

/* Growing prefixes: INCOMPLETE until the first line end, then its answer. */
static void
test_cmd_line_end_prefixes(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(line_end_cases); i++) {
		const char *in = line_end_cases[i].in;
		size_t max = line_end_cases[i].max, full = line_end_cases[i].len;
		size_t linelen, first_lf;
		const char *lf = memchr(in, '\n', full);

		/* the answer is decided by the first LF or by max bytes */
		first_lf = lf ? (size_t)(lf - in) + 1 : full;
		if (first_lf > max)
			first_lf = max;
		for (size_t k = 0; k < first_lf && k <= full; k++) {
			enum cmd_result r = cmd_line_end(in, k, max, &linelen);

			if (r != CMD_INCOMPLETE && k < first_lf) {
				print_error("case \"%s\" prefix %zu: %d, want "
				    "INCOMPLETE\n", unit_esc(in, full), k, r);
				fail();
			}
		}
		for (size_t k = first_lf; k <= full; k++) {
			enum cmd_result r = cmd_line_end(in, k, max, &linelen);

			if (line_end_cases[i].want == CMD_INCOMPLETE)
				assert_int_equal(r, CMD_INCOMPLETE);
			else if (r != line_end_cases[i].want ||
			    linelen != line_end_cases[i].linelen) {
				print_error("case \"%s\" prefix %zu: %d/%zu, "
				    "want %d/%zu\n", unit_esc(in, full), k, r,
				    linelen, line_end_cases[i].want,
				    line_end_cases[i].linelen);
				fail();
			}
		}
	}
}

/* A line as long as the limit allows, and one byte more. */
static void
test_cmd_line_limit(void **state)
{
	char buf[SMTP_LINE_MIN + 8];
	size_t linelen;

	(void)state;
	memset(buf, 'x', sizeof(buf));
	memcpy(buf, "NOOP ", 5);
	buf[SMTP_LINE_MIN - 2] = '\r';
	buf[SMTP_LINE_MIN - 1] = '\n';
	assert_int_equal(cmd_line_end(buf, sizeof(buf), SMTP_LINE_MIN,
	    &linelen), CMD_OK);
	assert_int_equal(linelen, SMTP_LINE_MIN);
	buf[SMTP_LINE_MIN - 2] = 'x';
	buf[SMTP_LINE_MIN - 1] = '\r';
	buf[SMTP_LINE_MIN] = '\n';
	assert_int_equal(cmd_line_end(buf, sizeof(buf), SMTP_LINE_MIN,
	    &linelen), CMD_TOO_LONG);
	assert_int_equal(linelen, SMTP_LINE_MIN);
}

/* SMTP_PATH_MAX counts the angle brackets: 254 bytes inside fit. */
static void
test_cmd_path_length(void **state)
{
	static const struct {
		size_t	 local, domain;	/* lengths; path = local@domain */
		int	 bracket;
		enum cmd_result want;
		const char *syntax;
	} lens[] = {
		{ 64, 189, 1, CMD_OK, NULL },		/* 254 inside <> */
		{ 64, 190, 1, CMD_SYNTAX, "address too long" },
		{ 1, 252, 1, CMD_OK, NULL },
		{ 1, 253, 1, CMD_SYNTAX, "address too long" },
		{ 200, 53, 1, CMD_OK, NULL },
		{ 64, 189, 0, CMD_OK, NULL },		/* bare: same limit */
		{ 64, 190, 0, CMD_SYNTAX, "address too long" },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(lens); i++) {
		for (int verb = 0; verb < 2; verb++) {
			struct ubuf b = { 0 };
			struct cmd c;
			enum cmd_result r;
			char *line;

			ubuf_adds(&b, verb ? "RCPT TO:" : "MAIL FROM:");
			if (lens[i].bracket)
				ubuf_adds(&b, "<");
			for (size_t k = 0; k < lens[i].local; k++)
				ubuf_adds(&b, "l");
			ubuf_adds(&b, "@");
			for (size_t k = 0; k < lens[i].domain; k++)
				ubuf_adds(&b, k % 10 == 9 ? "." : "d");
			if (lens[i].bracket)
				ubuf_adds(&b, ">");
			ubuf_adds(&b, " SIZE=1");
			line = strdup(b.p);
			r = cmd_parse(line, b.len, &c);
			assert_int_equal(r, lens[i].want);
			if (r == CMD_OK) {
				assert_int_equal(c.pathlen, lens[i].local + 1 +
				    lens[i].domain);
				assert_int_equal(c.nparams, 1);
			} else
				assert_string_equal(c.syntax, lens[i].syntax);
			free(line);
			ubuf_free(&b);
		}
	}
}

static void
test_cmd_param(void **state)
{
	char line[] = "MAIL FROM:<a@example.test> SIZE=10 smtputf8 "
	    "Body=8BITMIME";
	struct cmd c;

	(void)state;
	assert_int_equal(cmd_parse(line, strlen(line), &c), CMD_OK);
	assert_int_equal(c.nparams, 3);
	assert_string_equal(cmd_param(&c, "SIZE"), "10");
	assert_string_equal(cmd_param(&c, "size"), "10");
	assert_string_equal(cmd_param(&c, "SMTPUTF8"), "");
	assert_string_equal(cmd_param(&c, "BODY"), "8BITMIME");
	assert_null(cmd_param(&c, "RET"));
	assert_null(cmd_param(&c, "SIZ"));
	assert_null(cmd_param(&c, "SIZE10"));
}

/* The parser writes only inside line[0..len]: line[len] is the caller's. */
static void
test_cmd_parse_bounds(void **state)
{
	char buf[64];
	const char *text = "MAIL FROM:<a@example.test> SIZE=1";
	size_t n = strlen(text);
	struct cmd c;

	(void)state;
	memset(buf, '#', sizeof(buf));
	memcpy(buf, text, n);
	assert_int_equal(cmd_parse(buf, n, &c), CMD_OK);
	for (size_t i = n + 1; i < sizeof(buf); i++)
		assert_int_equal(buf[i], '#');
	assert_string_equal(c.path, "a@example.test");
	/* a parse of the first bytes only: the rest is not looked at */
	memset(buf, '#', sizeof(buf));
	memcpy(buf, "QUIT", 4);
	assert_int_equal(cmd_parse(buf, 4, &c), CMD_OK);
	assert_int_equal(c.verb, VERB_QUIT);
}

static void
test_cmd_verb_name(void **state)
{
	(void)state;
	assert_string_equal(cmd_verb_name(VERB_MAIL), "MAIL");
	assert_string_equal(cmd_verb_name(VERB_STARTTLS), "STARTTLS");
	assert_string_equal(cmd_verb_name(VERB_ETRN), "ETRN");
	assert_string_equal(cmd_verb_name(VERB_UNKNOWN), "UNKNOWN");
	assert_string_equal(cmd_verb_name(VERB_COUNT), "UNKNOWN");
	for (int v = VERB_HELO; v < VERB_COUNT; v++)
		assert_string_not_equal(cmd_verb_name((enum smtp_verb)v),
		    "UNKNOWN");
}

static const struct {
	const char	*in;
	int		 ok;
} xtext_cases[] = {
	{ "", 1 },
	{ "abc", 1 },
	{ "QQ314159", 1 },
	{ "a+2Bb", 1 },
	{ "+2B+3D", 1 },
	{ "!~", 1 },
	{ "rfc822;a+40example.test", 1 },
	/*
	 * RFC 3461 4 writes hexchar with upper-case HEXDIG; lower case is
	 * accepted (as Postfix's xtext decoder does). Documented, not a bug.
	 */
	{ "+2b", 1 },
	{ "a+", 0 },
	{ "a+2", 0 },
	{ "a+2G", 0 },
	{ "a+ 2", 0 },
	{ "a=b", 0 },
	{ "a b", 0 },
	{ "a\tb", 0 },
	{ "\x7f", 0 },
	{ "\x01", 0 },
	{ "caf\xc3\xa9", 0 },
};

static void
test_cmd_xtext(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(xtext_cases); i++)
		if (cmd_xtext_ok(xtext_cases[i].in) != xtext_cases[i].ok) {
			print_error("xtext \"%s\": want %d\n",
			    unit_escs(xtext_cases[i].in), xtext_cases[i].ok);
			fail();
		}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cmd_table),
		cmocka_unit_test(test_cmd_pipelined),
		cmocka_unit_test(test_cmd_line_end),
		cmocka_unit_test(test_cmd_line_end_prefixes),
		cmocka_unit_test(test_cmd_line_limit),
		cmocka_unit_test(test_cmd_path_length),
		cmocka_unit_test(test_cmd_param),
		cmocka_unit_test(test_cmd_parse_bounds),
		cmocka_unit_test(test_cmd_verb_name),
		cmocka_unit_test(test_cmd_xtext),
	};

	return cmocka_run_group_tests_name("smtp_cmd", tests, NULL, NULL);
}
