/*
 * test_data.c - the DATA/BDAT stream (proxy/data.h). Security-critical:
 * this is where SMTP smuggling (CVE-2023-51764 class) is stopped.
 *
 * Every input is scanned whole, one byte at a time and in random pieces;
 * the output, the flags, where the end was found and how much input was
 * used must not depend on how the bytes arrived. Each call's output must
 * fit DATA_OUT_MAX(len) (the buffers are allocated exactly that big), and
 * the output never holds a bare CR or LF.
 *
 * The end-of-data sequences are those of the two public smuggling testers
 * (shared testdata smtp-smuggling/eod-sequences.tsv: smtpsmug by Hanno
 * Boeck, SMTP-Smuggling-Tools by SEC Consult), copied into the table
 * below so the test needs no files.
 */
#include "unit.h"

#include "data.h"

/* ---- the scanner, fed in pieces ----------------------------------------- */

struct scan {
	struct data_scan d;
	struct ubuf	 out;
	size_t		 used;		/* input consumed, all calls */
	int		 ended;
	size_t		 calls;
};

static void
assert_no_bare_line_end(const char *p, size_t n, const char *what)
{
	for (size_t i = 0; i < n; i++) {
		if ((p[i] == '\r' && (i + 1 >= n || p[i + 1] != '\n')) ||
		    (p[i] == '\n' && (i == 0 || p[i - 1] != '\r'))) {
			print_error("%s: bare %s at %zu of \"%s\"\n", what,
			    p[i] == '\r' ? "CR" : "LF", i, unit_esc(p, n));
			fail();
		}
	}
}

static int
scan_push(void *arg, const char *p, size_t n)
{
	struct scan *s = arg;
	size_t cap = DATA_OUT_MAX(n), outlen = (size_t)-1, used = (size_t)-1;
	char *out = malloc(cap);	/* exactly the documented bound */
	enum data_result r;

	assert_non_null(out);
	assert_false(s->ended);
	r = data_scan(&s->d, p, n, out, &outlen, &used);
	s->calls++;
	assert_true(outlen <= cap);
	assert_true(used <= n);
	if (r == DATA_MORE)
		assert_int_equal(used, n);
	else
		assert_int_equal(r, DATA_END);
	ubuf_add(&s->out, out, outlen);
	free(out);
	s->used += used;
	if (r == DATA_END) {
		s->ended = 1;
		return 1;
	}
	return 0;
}

/* Scans in[0..len) fed as mode says; s is initialised here. */
static void
scan_all(struct scan *s, int bdat, const char *in, size_t len, unsigned mode,
    int finish)
{
	memset(s, 0, sizeof(*s));
	data_scan_init(&s->d, bdat);
	ubuf_add(&s->out, "", 0);
	unit_feed(in, len, mode, scan_push, s);
	if (finish) {
		char tail[4];
		size_t n = data_scan_finish(&s->d, tail);

		assert_true(n <= sizeof(tail));
		ubuf_add(&s->out, tail, n);
	}
	assert_int_equal(s->d.out_bytes, s->out.len);
}

/*
 * The oracle: what RFC 5321 says the message is, written independently of
 * data.c's state machine. Lines end at CRLF, or at a bare CR or LF (which
 * the output turns into CRLF). A line that is "." alone, follows a CRLF
 * (or the start) and ends in CRLF ends the data; any other line that
 * starts with '.' and has more after it loses that '.' (4.5.2). BDAT has
 * no dots and no end. Returns the input used (len if no end).
 */
struct oracle {
	struct ubuf	 out;
	unsigned	 flags;
	int		 ended;
	size_t		 used;
};

static void
oracle_run(struct oracle *o, int bdat, const char *in, size_t len)
{
	size_t i = 0;
	int prev_crlf = 1;		/* start of data counts as a CRLF */

	memset(o, 0, sizeof(*o));
	ubuf_add(&o->out, "", 0);
	while (i < len) {
		size_t s = i, e, next;
		int crlf = 0, has_end = 0;

		while (i < len && in[i] != '\r' && in[i] != '\n')
			i++;
		e = i;
		if (i < len && in[i] == '\r' && i + 1 < len && in[i + 1] == '\n') {
			crlf = 1;
			next = i + 2;
		} else if (i < len && in[i] == '\r') {
			o->flags |= DATA_SAW_BARE_CR;
			next = i + 1;
		} else if (i < len) {
			o->flags |= DATA_SAW_BARE_LF;
			next = i + 1;
		} else
			next = i;	/* unterminated last line */
		has_end = next > e;
		if (!bdat && has_end && crlf && prev_crlf && e - s == 1 &&
		    in[s] == '.') {
			o->ended = 1;
			o->used = next;
			return;
		}
		if (memchr(in + s, '\0', e - s) != NULL)
			o->flags |= DATA_SAW_NUL;
		if (!bdat && e - s > 1 && in[s] == '.')
			s++;
		ubuf_add(&o->out, in + s, e - s);
		if (has_end)
			ubuf_add(&o->out, "\r\n", 2);
		prev_crlf = crlf;
		i = next;
	}
	o->used = len;
}

/* ---- smuggling ---------------------------------------------------------- */

static const struct {
	const char	*name;
	const char	*seq;
	size_t		 len;
	unsigned	 flags;		/* what data_scan must report */
} smuggling[] = {
	{ "lflf", S("\n.\n"), DATA_SAW_BARE_LF },
	{ "crcr", S("\r.\r"), DATA_SAW_BARE_CR },
	{ "crlf-rev", S("\r.\n"), DATA_SAW_BARE_CR | DATA_SAW_BARE_LF },
	{ "lfcr", S("\n.\r"), DATA_SAW_BARE_LF | DATA_SAW_BARE_CR },
	{ "lfcrlf", S("\n.\r\n"), DATA_SAW_BARE_LF },
	{ "crlflf", S("\r\n.\n"), DATA_SAW_BARE_LF },
	{ "crcrlf", S("\r.\r\n"), DATA_SAW_BARE_CR },
	{ "crlfcr", S("\r\n.\r"), DATA_SAW_BARE_CR },
	{ "crlf-dot-crcrlf", S("\r\n.\r\r\n"), DATA_SAW_BARE_CR },
	{ "crcrlf-dot-crcrlf", S("\r\r\n.\r\r\n"), DATA_SAW_BARE_CR },
	{ "nullbefore", S("\r\n\0.\r\n"), DATA_SAW_NUL },
	{ "nullafter", S("\r\n.\0\r\n"), DATA_SAW_NUL },
};

#define SMUG_HEAD	"From: <a@example.test>\r\nTo: <x@example.test>\r\n" \
			"Subject: smuggling test\r\n\r\nbody line\r\n"
#define SMUG_CMDS	"MAIL FROM:<smuggled@evil.test>\r\n" \
			"RCPT TO:<x@example.test>\r\nDATA\r\n"
#define SMUG_TAIL	SMUG_CMDS "...\r\n.\r\n"

static void
check_smuggling(const char *name, const char *in, size_t len, unsigned want)
{
	struct oracle o;
	struct scan first = { 0 };

	oracle_run(&o, 0, in, len);
	/* the table and the oracle agree on the flags */
	assert_int_equal(o.flags, want);
	assert_true(o.ended);
	assert_int_equal(o.used, len);
	for (unsigned mode = 0; mode < FEED_MODES; mode++) {
		struct scan s;
		const char *m = unit_feed_name(mode);

		scan_all(&s, 0, in, len, mode, 0);
		/* one message: the end is the genuine last CRLF.CRLF */
		if (!s.ended || s.used != len) {
			print_error("%s (%s): end %d after %zu of %zu bytes\n",
			    name, m, s.ended, s.used, len);
			fail();
		}
		if (s.d.flags != want) {
			print_error("%s (%s): flags %#x, want %#x\n", name, m,
			    s.d.flags, want);
			fail();
		}
		assert_no_bare_line_end(s.out.p, s.out.len, name);
		assert_bytes_equal(s.out.p, s.out.len, o.out.p, o.out.len);
		/* the would-be second message is inside the first */
		if (memmem(s.out.p, s.out.len, SMUG_CMDS,
		    sizeof(SMUG_CMDS) - 1) == NULL) {
			print_error("%s (%s): smuggled commands not in the "
			    "message body: \"%s\"\n", name, m,
			    unit_esc(s.out.p, s.out.len));
			fail();
		}
		if (mode == FEED_WHOLE)
			first = s;
		else {
			assert_bytes_equal(s.out.p, s.out.len, first.out.p,
			    first.out.len);
			ubuf_free(&s.out);
		}
	}

	/*
	 * What goes to the backend: the output dot-stuffed plus the end.
	 * Scanned again it is the same single message, ending only at
	 * the very last byte, with no bare line end left to flag.
	 */
	{
		struct data_stuff st;
		char *stuffed = malloc(2 * first.out.len + 5);
		size_t n;
		struct scan again;

		data_stuff_init(&st);
		n = data_stuff(&st, first.out.p, first.out.len, stuffed);
		n += data_stuff_end(&st, stuffed + n);
		for (unsigned mode = 0; mode < FEED_MODES; mode++) {
			scan_all(&again, 0, stuffed, n, mode, 0);
			assert_true(again.ended);
			assert_int_equal(again.used, n);
			assert_int_equal(again.d.flags, want & DATA_SAW_NUL);
			assert_bytes_equal(again.out.p, again.out.len,
			    first.out.p, first.out.len);
			ubuf_free(&again.out);
		}
		free(stuffed);
	}
	ubuf_free(&first.out);
	ubuf_free(&o.out);
}

static void
test_data_smuggling(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(smuggling); i++) {
		struct ubuf in = { 0 };

		/* as smtpsmug sends it: the sequence, then the commands */
		ubuf_adds(&in, SMUG_HEAD);
		ubuf_add(&in, smuggling[i].seq, smuggling[i].len);
		ubuf_adds(&in, SMUG_TAIL);
		check_smuggling(smuggling[i].name, in.p, in.len,
		    smuggling[i].flags);
		/* as SEC Consult's tool sends it: a CRLF after the sequence */
		ubuf_reset(&in);
		ubuf_adds(&in, SMUG_HEAD);
		ubuf_add(&in, smuggling[i].seq, smuggling[i].len);
		ubuf_adds(&in, "\r\n" SMUG_TAIL);
		{
			struct oracle o;

			/* a CRLF after the sequence adds no bare line end */
			oracle_run(&o, 0, in.p, in.len);
			assert_int_equal(o.flags, smuggling[i].flags);
			ubuf_free(&o.out);
		}
		check_smuggling(smuggling[i].name, in.p, in.len,
		    smuggling[i].flags);
		ubuf_free(&in);
	}
}

/* The sequence at the very start of the data, with nothing before it. */
static void
test_data_smuggling_at_start(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(smuggling); i++) {
		struct ubuf in = { 0 };
		struct oracle o;

		ubuf_add(&in, smuggling[i].seq, smuggling[i].len);
		ubuf_adds(&in, SMUG_TAIL);
		/* no sequence holds CRLF.CRLF: the end is the last one */
		oracle_run(&o, 0, in.p, in.len);
		assert_true(o.ended);
		assert_int_equal(o.used, in.len);
		check_smuggling(smuggling[i].name, in.p, in.len, o.flags);
		ubuf_free(&o.out);
		ubuf_free(&in);
	}
}

/* ---- the table of streams ----------------------------------------------- */

struct data_case {
	const char	*in;
	size_t		 len;
	int		 bdat;
	const char	*out;
	size_t		 outlen;
	unsigned	 flags;
	int		 end;		/* DATA: ended; used = len - trailing */
	size_t		 trailing;	/* bytes after the end, left alone */
};

#define D(in, out, flags, end)		{ S(in), 0, S(out), flags, end, 0 }
/* ended, with more input behind the end that is left alone */
#define DT(in, tail, out)	{ S(in tail), 0, S(out), 0, 1, sizeof(tail) - 1 }
#define B(in, out, flags)		{ S(in), 1, S(out), flags, 0, 0 }

#define LF	DATA_SAW_BARE_LF
#define CR	DATA_SAW_BARE_CR
#define NUL	DATA_SAW_NUL

static const struct data_case data_cases[] = {
	/* the end of data */
	D(".\r\n", "", 0, 1),
	D("\r\n.\r\n", "\r\n", 0, 1),
	D("a\r\n.\r\n", "a\r\n", 0, 1),
	D("a\r\nb\r\n.\r\n", "a\r\nb\r\n", 0, 1),
	DT("a\r\n.\r\n", "MAIL FROM:<x@y.test>\r\n", "a\r\n"),
	DT(".\r\n", ".\r\n", ""),
	DT("a\r\n.\r\n", "\n", "a\r\n"),
	DT("a\r\n.\r\n", "\r", "a\r\n"),
	D("a\r\n", "a\r\n", 0, 0),
	D("a", "a", 0, 0),
	D("", "", 0, 0),
	/* dot-unstuffing (RFC 5321 4.5.2) */
	D("..x\r\n.\r\n", ".x\r\n", 0, 1),
	D(".x\r\n.\r\n", "x\r\n", 0, 1),
	D("..\r\n.\r\n", ".\r\n", 0, 1),
	D("...\r\n.\r\n", "..\r\n", 0, 1),
	D("a\r\n..\r\n...\r\n....\r\n.\r\n", "a\r\n.\r\n..\r\n...\r\n", 0, 1),
	D("..hello\r\n..\r\n.\r\n", ".hello\r\n.\r\n", 0, 1),
	D("a.b\r\n.\r\n", "a.b\r\n", 0, 1),
	D("a\r\n a\r\n .\r\n.\r\n", "a\r\n a\r\n .\r\n", 0, 1),
	D(". \r\n.\r\n", " \r\n", 0, 1),
	D("\r\n\r\n.\r\n", "\r\n\r\n", 0, 1),
	D("..", ".", 0, 0),
	D(".", "", 0, 0),		/* the dot is held */
	D("a\r\n.", "a\r\n", 0, 0),
	D("a\r\n.\r", "a\r\n", 0, 0),	/* ".\r" is held */
	/* bare line ends: flagged, normalised, never an end */
	D("a\nb\r\n.\r\n", "a\r\nb\r\n", LF, 1),
	D("a\rb\r\n.\r\n", "a\r\nb\r\n", CR, 1),
	D("a\r\r\n.\r\n", "a\r\n\r\n", CR, 1),
	D("a\n\r\n.\r\n", "a\r\n\r\n", LF, 1),
	D("a\n\n.\r\n", "a\r\n\r\n.\r\n", LF, 0),
	D("a\r\n.\n", "a\r\n.\r\n", LF, 0),
	D("a\r\n.\r.\r\n", "a\r\n.\r\n.\r\n", CR, 0),
	D("\n.\r\n", "\r\n.\r\n", LF, 0),
	D(".\n", ".\r\n", LF, 0),
	D(".\r", "", 0, 0),		/* held: maybe the end */
	D(".\rx", ".\r\nx", CR, 0),
	D("\n.\n", "\r\n.\r\n", LF, 0),
	D("\r.\r\n", "\r\n.\r\n", CR, 0),
	D("\r.\r\n.\r\n", "\r\n.\r\n", CR, 1),
	D("\n.\r\n.\r\n", "\r\n.\r\n", LF, 1),
	D("\n..x\r\n.\r\n", "\r\n.x\r\n", LF, 1),
	D("\n.x\r\n.\r\n", "\r\nx\r\n", LF, 1),
	D("\r\r\r\n.\r\n", "\r\n\r\n\r\n", CR, 1),
	D("\n\n\n", "\r\n\r\n\r\n", LF, 0),
	D("a\r", "a", 0, 0),		/* the CR is held */
	D("a\rb", "a\r\nb", CR, 0),
	/* NUL */
	D("a\0b\r\n.\r\n", "a\0b\r\n", NUL, 1),
	D("\0\r\n.\r\n", "\0\r\n", NUL, 1),
	D(".\0\r\n.\r\n", "\0\r\n", NUL, 1),
	D("\r\n\0.\r\n", "\r\n\0.\r\n", NUL, 0),
	/* BDAT: bytes as they are, but for bare line ends */
	B(".\r\n", ".\r\n", 0),
	B("..x\r\n", "..x\r\n", 0),
	B("a\r\n.\r\nb", "a\r\n.\r\nb", 0),
	B("a\nb", "a\r\nb", LF),
	B("a\rb", "a\r\nb", CR),
	B("a\r\r\n", "a\r\n\r\n", CR),
	B("a\r", "a\r\n", CR),		/* released by data_scan_finish */
	B("a\r\n", "a\r\n", 0),
	B("\n.\n", "\r\n.\r\n", LF),
	B("a\0b", "a\0b", NUL),
	B("", "", 0),
};

static void
test_data_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(data_cases); i++) {
		const struct data_case *tc = &data_cases[i];
		struct oracle o;

		for (unsigned mode = 0; mode < FEED_MODES; mode++) {
			struct scan s;

			scan_all(&s, tc->bdat, tc->in, tc->len, mode, tc->bdat);
			if (s.ended != tc->end ||
			    s.used != tc->len - tc->trailing ||
			    s.d.flags != tc->flags ||
			    s.out.len != tc->outlen ||
			    memcmp(s.out.p, tc->out, tc->outlen) != 0) {
				print_error("case %zu \"%s\" (%s, %s):\n   got "
				    "end=%d used=%zu flags=%#x \"%s\"\n  want "
				    "end=%d used=%zu flags=%#x \"%s\"\n", i,
				    unit_esc(tc->in, tc->len),
				    tc->bdat ? "BDAT" : "DATA",
				    unit_feed_name(mode), s.ended, s.used,
				    s.d.flags, unit_esc(s.out.p, s.out.len),
				    tc->end, tc->len - tc->trailing, tc->flags,
				    unit_esc(tc->out, tc->outlen));
				fail();
			}
			if (tc->end || tc->bdat)
				assert_no_bare_line_end(s.out.p, s.out.len,
				    tc->in);
			ubuf_free(&s.out);
		}
		/* the oracle agrees with every complete case */
		if (tc->end || tc->bdat) {
			oracle_run(&o, tc->bdat, tc->in, tc->len);
			assert_int_equal(o.ended, tc->end);
			assert_int_equal(o.flags, tc->flags);
			assert_bytes_equal(o.out.p, o.out.len, tc->out,
			    tc->outlen);
			ubuf_free(&o.out);
		}
	}
}

/*
 * Random streams over the bytes that matter ("\r", "\n", ".", NUL, a
 * letter), ended by CRLF.CRLF, against the oracle, in every feeding.
 */
static void
test_data_random_vs_oracle(void **state)
{
	static const char alphabet[] = { '\r', '\n', '.', '.', 'a', '\0' };
	uint64_t seed = unit_seed(42);

	(void)state;
	for (int round = 0; round < 3000; round++) {
		struct ubuf in = { 0 };
		size_t n = unit_rand(&seed) % 24;
		struct oracle o;
		int bdat = round % 4 == 3;

		ubuf_add(&in, "", 0);
		for (size_t k = 0; k < n; k++)
			ubuf_add(&in, &alphabet[unit_rand(&seed) %
			    sizeof(alphabet)], 1);
		if (!bdat)
			ubuf_adds(&in, "\r\n.\r\n");
		oracle_run(&o, bdat, in.p, in.len);
		for (unsigned mode = 0; mode < 4; mode++) {
			struct scan s;

			scan_all(&s, bdat, in.p, in.len, mode, bdat);
			if (s.ended != o.ended || s.used != o.used ||
			    s.d.flags != o.flags || s.out.len != o.out.len ||
			    memcmp(s.out.p, o.out.p, o.out.len) != 0) {
				print_error("\"%s\" (%s, %s):\n   got end=%d "
				    "used=%zu flags=%#x \"%s\"\n  want end=%d "
				    "used=%zu flags=%#x \"%s\"\n",
				    unit_esc(in.p, in.len),
				    bdat ? "BDAT" : "DATA",
				    unit_feed_name(mode), s.ended, s.used,
				    s.d.flags, unit_esc(s.out.p, s.out.len),
				    o.ended, o.used, o.flags,
				    unit_esc(o.out.p, o.out.len));
				fail();
			}
			assert_no_bare_line_end(s.out.p, s.out.len, "random");
			ubuf_free(&s.out);
		}
		ubuf_free(&o.out);
		ubuf_free(&in);
	}
}

/* A CR or a dot held at the end of one read, resolved by the next. */
static void
test_data_chunk_boundaries(void **state)
{
	static const struct {
		const char	*a;
		size_t		 alen;
		const char	*b;
		size_t		 blen;
		const char	*out;		/* both calls together */
		unsigned	 flags;
		int		 end;
	} c[] = {
		{ S("a\r"), S("\n.\r\n"), "a\r\n", 0, 1 },
		{ S("a\r\n"), S(".\r\n"), "a\r\n", 0, 1 },
		{ S("a\r\n."), S("\r\n"), "a\r\n", 0, 1 },
		{ S("a\r\n.\r"), S("\n"), "a\r\n", 0, 1 },
		{ S("a\r\n.\r"), S("x\r\n.\r\n"), "a\r\n.\r\nx\r\n", CR, 1 },
		{ S("a\r\n.\r"), S("\r\n.\r\n"), "a\r\n.\r\n\r\n", CR, 1 },
		{ S("a\r\n."), S(".\r\n.\r\n"), "a\r\n.\r\n", 0, 1 },
		{ S("a\r\n."), S("\n.\r\n"), "a\r\n.\r\n.\r\n", LF, 0 },
		{ S("a\r"), S("\r\n.\r\n"), "a\r\n\r\n", CR, 1 },
		{ S("a\n"), S(".\r\n"), "a\r\n.\r\n", LF, 0 },
		{ S("a\r"), S(".\r\n"), "a\r\n.\r\n", CR, 0 },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(c); i++) {
		struct scan s;

		memset(&s, 0, sizeof(s));
		data_scan_init(&s.d, 0);
		ubuf_add(&s.out, "", 0);
		assert_int_equal(scan_push(&s, c[i].a, c[i].alen), 0);
		scan_push(&s, c[i].b, c[i].blen);
		assert_int_equal(s.ended, c[i].end);
		assert_int_equal(s.d.flags, c[i].flags);
		assert_bytes_equal(s.out.p, s.out.len, c[i].out,
		    strlen(c[i].out));
		ubuf_free(&s.out);
	}
}

/* Each call's output fits DATA_OUT_MAX(len), even when held bytes go. */
static void
test_data_out_bound(void **state)
{
	static const struct {
		const char *a;
		size_t alen;
		const char *b;
		size_t blen;
		int bdat;
	} c[] = {
		{ S("x\r\n.\r"), S("\r"), 0 },	/* ".\r" + CR: 3 out for 1 in */
		{ S("x\r\n."), S("\n"), 0 },
		{ S("x\n."), S("\r"), 0 },
		{ S("x\n.\r"), S("\r"), 0 },
		{ S("\r"), S("\r"), 1 },
		{ S("\r"), S(""), 0 },
		{ S("x\r\n.\r"), S(""), 0 },
		{ S("\n\n\n\n"), S("\r\r\r\r"), 0 },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(c); i++) {
		struct scan s;

		memset(&s, 0, sizeof(s));
		data_scan_init(&s.d, c[i].bdat);
		ubuf_add(&s.out, "", 0);
		scan_push(&s, c[i].a, c[i].alen);	/* asserts the bound */
		if (!s.ended)
			scan_push(&s, c[i].b, c[i].blen);
		ubuf_free(&s.out);
	}
}

/* data_scan_finish only ever releases a held CR. */
static void
test_data_finish(void **state)
{
	struct data_scan d;
	char out[DATA_OUT_MAX(8)], tail[4];
	size_t outlen, used;

	(void)state;
	data_scan_init(&d, 1);
	assert_int_equal(data_scan_finish(&d, tail), 0);
	assert_int_equal(d.flags, 0);

	data_scan_init(&d, 1);
	data_scan(&d, "ab\r", 3, out, &outlen, &used);
	assert_bytes_equal(out, outlen, "ab", 2);
	assert_int_equal(data_scan_finish(&d, tail), 2);
	assert_bytes_equal(tail, 2, "\r\n", 2);
	assert_int_equal(d.flags, DATA_SAW_BARE_CR);
	assert_int_equal(d.out_bytes, 4);
	/* a second finish has nothing left */
	assert_int_equal(data_scan_finish(&d, tail), 0);

	/* BDAT chunks: the state carries over between chunks */
	data_scan_init(&d, 1);
	data_scan(&d, "ab\r", 3, out, &outlen, &used);
	data_scan(&d, "\ncd", 3, out, &outlen, &used);
	assert_bytes_equal(out, outlen, "\r\ncd", 4);
	assert_int_equal(data_scan_finish(&d, tail), 0);
	assert_int_equal(d.flags, 0);
	assert_int_equal(d.out_bytes, 6);
}

/* ---- dot-stuffing for the backend --------------------------------------- */

static const struct {
	const char	*in;
	const char	*out;
} stuff_cases[] = {
	{ "", ".\r\n" },
	{ "a\r\n", "a\r\n.\r\n" },
	{ "a", "a\r\n.\r\n" },
	{ ".a\r\n", "..a\r\n.\r\n" },
	{ ".\r\n", "..\r\n.\r\n" },
	{ "a\r\n.\r\n", "a\r\n..\r\n.\r\n" },
	{ "a\r\n..\r\nb", "a\r\n...\r\nb\r\n.\r\n" },
	{ "a.b\r\n", "a.b\r\n.\r\n" },
	{ ".", "..\r\n.\r\n" },
	{ "\r\n", "\r\n.\r\n" },
};

static void
test_data_stuff_cases(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(stuff_cases); i++) {
		const char *in = stuff_cases[i].in;
		size_t len = strlen(in);

		/* whole, then one byte per call */
		for (int bytes = 0; bytes < 2; bytes++) {
			struct data_stuff st;
			char *out = malloc(2 * len + 5);
			size_t o = 0;

			data_stuff_init(&st);
			if (!bytes)
				o = data_stuff(&st, in, len, out);
			else
				for (size_t k = 0; k < len; k++)
					o += data_stuff(&st, in + k, 1, out + o);
			o += data_stuff_end(&st, out + o);
			assert_bytes_equal(out, o, stuff_cases[i].out,
			    strlen(stuff_cases[i].out));
			free(out);
		}
	}
}

static void
test_data_stuff_end(void **state)
{
	struct data_stuff st;
	char out[5];

	(void)state;
	data_stuff_init(&st);
	assert_int_equal(data_stuff_end(&st, out), 3);
	assert_bytes_equal(out, 3, ".\r\n", 3);

	data_stuff_init(&st);
	assert_int_equal(data_stuff(&st, "x\r\n", 3, (char[6]){ 0 }), 3);
	assert_int_equal(data_stuff_end(&st, out), 3);
	assert_bytes_equal(out, 3, ".\r\n", 3);

	data_stuff_init(&st);
	assert_int_equal(data_stuff(&st, "x", 1, (char[2]){ 0 }), 1);
	assert_int_equal(data_stuff_end(&st, out), 5);
	assert_bytes_equal(out, 5, "\r\n.\r\n", 5);
}

struct stuffer {
	struct data_stuff st;
	struct ubuf	 out;
};

static int
stuff_push(void *arg, const char *p, size_t n)
{
	struct stuffer *s = arg;
	char *out = malloc(2 * n + 1);
	size_t o = data_stuff(&s->st, p, n, out);

	assert_true(o <= 2 * n);
	ubuf_add(&s->out, out, o);
	free(out);
	return 0;
}

/*
 * Round trip: for CRLF texts T (lines of dots, letters, blanks and NULs,
 * the last line maybe unterminated), scan(stuff(T) + end) ends exactly at
 * the end and gives T back (with a CRLF added to an unterminated last
 * line), whatever the pieces on either side.
 */
static void
test_data_stuff_round_trip(void **state)
{
	static const char *const pieces[] = {
		"", ".", "..", "...", ".a", "a.", "a", " .", "\0", ". ",
		"From ", "MAIL FROM:<x@y.test>",
	};
	uint64_t seed = unit_seed(7);

	(void)state;
	for (int round = 0; round < 2000; round++) {
		struct ubuf text = { 0 }, want = { 0 };
		size_t nlines = unit_rand(&seed) % 8;
		int last_open = unit_rand(&seed) % 3 == 0;
		unsigned nul = 0;

		ubuf_add(&text, "", 0);
		for (size_t l = 0; l < nlines; l++) {
			size_t np = unit_rand(&seed) % 3;

			for (size_t k = 0; k < np; k++) {
				const char *pc = pieces[unit_rand(&seed) %
				    ARRAY_LEN(pieces)];
				size_t pl = pc[0] == '\0' ? 1 : strlen(pc);

				if (pc[0] == '\0')
					nul = DATA_SAW_NUL;
				ubuf_add(&text, pc, pl);
			}
			if (l + 1 < nlines || !last_open)
				ubuf_adds(&text, "\r\n");
		}
		ubuf_add(&want, text.p, text.len);
		if (text.len > 0 && text.p[text.len - 1] != '\n')
			ubuf_adds(&want, "\r\n");

		for (unsigned smode = 0; smode < 4; smode++) {
			struct stuffer s;
			char end[5];

			memset(&s, 0, sizeof(s));
			data_stuff_init(&s.st);
			ubuf_add(&s.out, "", 0);
			unit_feed(text.p, text.len, smode, stuff_push, &s);
			ubuf_add(&s.out, end, data_stuff_end(&s.st, end));
			for (unsigned mode = 0; mode < 4; mode++) {
				struct scan sc;

				scan_all(&sc, 0, s.out.p, s.out.len, mode, 0);
				if (!sc.ended || sc.used != s.out.len ||
				    sc.d.flags != nul ||
				    sc.out.len != want.len ||
				    memcmp(sc.out.p, want.p, want.len) != 0) {
					print_error("text \"%s\" stuffed \"%s\" "
					    "scanned (%s) end=%d used=%zu "
					    "flags=%#x \"%s\"\n",
					    unit_esc(text.p, text.len),
					    unit_esc(s.out.p, s.out.len),
					    unit_feed_name(mode), sc.ended,
					    sc.used, sc.d.flags,
					    unit_esc(sc.out.p, sc.out.len));
					fail();
				}
				ubuf_free(&sc.out);
			}
			ubuf_free(&s.out);
		}
		ubuf_free(&text);
		ubuf_free(&want);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_data_smuggling),
		cmocka_unit_test(test_data_smuggling_at_start),
		cmocka_unit_test(test_data_table),
		cmocka_unit_test(test_data_random_vs_oracle),
		cmocka_unit_test(test_data_chunk_boundaries),
		cmocka_unit_test(test_data_out_bound),
		cmocka_unit_test(test_data_finish),
		cmocka_unit_test(test_data_stuff_cases),
		cmocka_unit_test(test_data_stuff_end),
		cmocka_unit_test(test_data_stuff_round_trip),
	};

	return cmocka_run_group_tests_name("data", tests, NULL, NULL);
}
