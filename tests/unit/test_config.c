/*
 * test_config.c - the generic configuration parser of proxy/config.c:
 * cfg_file_parse(), cfg_apply(), cfg_check_unused(), cfg_parse_value().
 *
 * Every message is checked as the operator sees it ("FILE:LINE: message"
 * on stderr, captured). A file is text: it is read whole, so "fed byte by
 * byte" becomes: every prefix of a case is a file cut short, and only
 * prefixes that end in a newline may load (a half-written file is
 * refused, with the line it stops in).
 *
 * Last, the sample configuration ($SRCDIR/mxguard.conf.sample) must show
 * every key of every table, with its default, in the right section.
 */
#include <stddef.h>

#include "unit.h"

#include "config.h"
#include "../filters/filters.h"

/* ---- cfg_file_parse ----------------------------------------------------- */

/* The parsed file as one line: "a=[1]@1 [sec@3] b=[2]@4". */
static void
dump(const struct cfg_file *f, struct ubuf *b)
{
	ubuf_reset(b);
	ubuf_add(b, "", 0);
	for (size_t i = 0; i < f->nblocks; i++) {
		const struct cfg_block *bl = &f->blocks[i];

		if (i == 0)
			assert_null(bl->name);
		else
			ubuf_addf(b, "%s[%s@%d]", b->len ? " " : "", bl->name,
			    bl->line);
		assert_ptr_equal(bl->file, f->path);
		for (size_t j = 0; j < bl->n; j++)
			ubuf_addf(b, "%s%s=[%s]@%d", b->len ? " " : "",
			    bl->e[j].key, bl->e[j].value, bl->e[j].line);
	}
}

struct file_case {
	const char	*text;
	size_t		 len;
	const char	*msgs;		/* stderr, exactly */
	const char	*dump;
};

#define F(text, msgs, dump)	{ S(text), msgs, dump }

static const struct file_case file_cases[] = {
	F("a = 1\n", "", "a=[1]@1"),
	F("a=1\n", "", "a=[1]@1"),
	F("a\t=\t1\n", "", "a=[1]@1"),
	F("a =\n", "", "a=[]@1"),
	F("a =   x  y  \n", "", "a=[x  y]@1"),
	F("a = x = y\n", "", "a=[x = y]@1"),
	F("key_2 = v\n", "", "key_2=[v]@1"),
	/* '#' only starts a comment at the start of a line */
	F("a = 1 # not a comment\n", "", "a=[1 # not a comment]@1"),
	/* continuation lines: joined with one space, at the first line */
	F("a = 1\n  2\n\tthree\nb = x\n", "", "a=[1 2 three]@1 b=[x]@4"),
	F("a =\n  1\n", "", "a=[1]@1"),
	F("a = 1\n  2  \n", "", "a=[1 2]@1"),
	/* comments and blank lines, also between a line and its continuation */
	F("# c\na = 1\n  # indented comment\nb = 2\n", "", "a=[1]@2 b=[2]@4"),
	F("a = 1\n# c\n  2\n", "", "a=[1 2]@1"),
	F("a = 1\n\n  2\n", "", "a=[1 2]@1"),
	F("a = 1\n   \n  2\n", "", "a=[1 2]@1"),
	/* CRLF files */
	F("a = 1\r\nb = 2\r\n", "", "a=[1]@1 b=[2]@2"),
	F("a = 1\r\n  2\r\n", "", "a=[1 2]@1"),
	/* sections */
	F("a = 1\n[access]\nb = 2\n[x-y_1]\n", "",
	    "a=[1]@1 [access@2] b=[2]@3 [x-y_1@4]"),
	F("[x]   \na = 1\n", "", "[x@1] a=[1]@2"),
	F("a = 1\n[x]\na = 2\n", "", "a=[1]@1 [x@2] a=[2]@3"),
	F("[aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa]\n",
	    "", "[aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@1]"),

	/* duplicates */
	F("a = 1\na = 2\n", "t.conf:2: a: set twice (first at line 1)\n",
	    "a=[1]@1"),
	F("a = 1\nb = 1\n\n  more\na = 2\n",
	    "t.conf:5: a: set twice (first at line 1)\n", "a=[1]@1 b=[1 more]@2"),
	F("[x]\na = 1\n[y]\n[x]\nb = 2\n",
	    "t.conf:4: section [x] repeated (first at line 1)\n",
	    "[x@1] a=[1]@2 b=[2]@5 [y@3]"),
	F("[x]\na = 1\n[x]\na = 2\n",
	    "t.conf:3: section [x] repeated (first at line 1)\n"
	    "t.conf:4: a: set twice (first at line 2)\n", "[x@1] a=[1]@2"),
	/* bad keys */
	F("A = 1\n", "t.conf:1: expected \"key = value\" (keys are a-z, 0-9 "
	    "and _)\n", ""),
	F("= 1\n", "t.conf:1: expected \"key = value\" (keys are a-z, 0-9 "
	    "and _)\n", ""),
	F("-a = 1\n", "t.conf:1: expected \"key = value\" (keys are a-z, 0-9 "
	    "and _)\n", ""),
	F("a-b = 1\n", "t.conf:1: expected \"=\" after the key\n", ""),
	F("aB = 1\n", "t.conf:1: expected \"=\" after the key\n", ""),
	F("a\n", "t.conf:1: expected \"=\" after the key\n", ""),
	F("a b = 1\n", "t.conf:1: expected \"=\" after the key\n", ""),
	F("a : 1\n", "t.conf:1: expected \"=\" after the key\n", ""),
	/* bad sections */
	F("[x\n", "t.conf:1: missing ] in section header\n", ""),
	F("[x] y\n", "t.conf:1: junk after section header\n", ""),
	F("[x]\n  y\n", "t.conf:1: junk after section header\n", ""),
	F("[]\n", "t.conf:1: bad section name\n", ""),
	F("[aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa]\n",
	    "t.conf:1: bad section name\n", ""),
	F("[X]\n", "t.conf:1: bad character in section name\n", ""),
	F("[a b]\n", "t.conf:1: bad character in section name\n", ""),
	F("[a.b]\n", "t.conf:1: bad character in section name\n", ""),
	/* after a bad section header, keys stay where they were */
	F("a = 1\n[X]\nb = 2\n", "t.conf:2: bad character in section name\n",
	    "a=[1]@1 b=[2]@3"),
	/* cut short: refused, whatever came before */
	F("a = 1", "t.conf:1: last line has no newline: the file looks "
	    "half-written; not loaded\n", ""),
	F("a = 1\nb = 2", "t.conf:2: last line has no newline: the file looks "
	    "half-written; not loaded\n", "a=[1]@1"),
	F("a = 1\n  2", "t.conf:2: last line has no newline: the file looks "
	    "half-written; not loaded\n", "a=[1]@1"),
	F("a = 1\n#", "t.conf:2: last line has no newline: the file looks "
	    "half-written; not loaded\n", "a=[1]@1"),
	F("a = 1\r\nb = 2\r", "t.conf:2: last line has no newline: the file "
	    "looks half-written; not loaded\n", "a=[1]@1"),
	/* empty */
	F("", "t.conf: empty configuration file: not loaded\n", ""),
	F("\n", "t.conf: empty configuration file: not loaded\n", ""),
	F("# only a comment\n\n   \n", "t.conf: empty configuration file: not "
	    "loaded\n", ""),
	/* a section alone is a setting: not empty */
	F("[x]\n", "", "[x@1]"),
	/* NUL anywhere: not a text file */
	F("a = 1\0\n", "t.conf: contains a NUL byte: not a text file\n", ""),
	F("\0", "t.conf: contains a NUL byte: not a text file\n", ""),
	F("a = 1\n# \0\n", "t.conf: contains a NUL byte: not a text file\n",
	    ""),
	/* continuation without a line */
	F("  a = 1\n", "t.conf:1: continuation line (starts with white space) "
	    "without a line before it\n", ""),
	F("# c\n\ta = 1\nb = 2\n", "t.conf:2: continuation line (starts with "
	    "white space) without a line before it\n", "b=[2]@3"),
	/* several errors: each reported at its own line, parsing goes on */
	F("# header\n"
	  "good = 1\n"
	  "Bad = 2\n"
	  "dup = 1\n"
	  "dup = 2\n"
	  "[sec]\n"
	  "long = a\n"
	  "   b\n"
	  "x\n"
	  "[sec]\n"
	  "y = 3\n",
	  "t.conf:3: expected \"key = value\" (keys are a-z, 0-9 and _)\n"
	  "t.conf:5: dup: set twice (first at line 4)\n"
	  "t.conf:9: expected \"=\" after the key\n"
	  "t.conf:10: section [sec] repeated (first at line 6)\n",
	  "good=[1]@2 dup=[1]@4 [sec@6] long=[a b]@7 y=[3]@11"),
};

static int
count_lines(const char *msgs)
{
	int n = 0;

	for (; *msgs; msgs++)
		n += *msgs == '\n';
	return n;
}

/* Parses text as file "t.conf"; returns the rc, stderr in *msgs. */
static int
parse_text(const char *text, size_t len, struct cfg_file *f, int *errors,
    char **msgs)
{
	struct cfg_errors e = { 0, 0, NULL };
	int rc;

	unit_capture_begin();
	rc = cfg_file_parse("t.conf", text, len, f, &e);
	*msgs = unit_capture_end();
	*errors = e.count;
	return rc;
}

static void
test_cfg_file_parse(void **state)
{
	struct ubuf d = { 0 };

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(file_cases); i++) {
		const struct file_case *tc = &file_cases[i];
		struct cfg_file f;
		int errors, rc;
		char *msgs;

		rc = parse_text(tc->text, tc->len, &f, &errors, &msgs);
		dump(&f, &d);
		if (strcmp(msgs, tc->msgs) != 0 || strcmp(d.p, tc->dump) != 0) {
			print_error("case %zu \"%s\":\n   got %s  [%s]\n  want "
			    "%s  [%s]\n", i, unit_esc(tc->text, tc->len), msgs,
			    d.p, tc->msgs, tc->dump);
			fail();
		}
		/* one counted error per message; rc says whether any */
		assert_int_equal(errors, count_lines(tc->msgs));
		assert_int_equal(rc, errors ? -1 : 0);
		free(msgs);
		cfg_file_free(&f);
		assert_int_equal(f.nblocks, 0);
		assert_null(f.path);
	}
	ubuf_free(&d);
}

/*
 * Every prefix of every case is a file cut short: unless it ends with a
 * newline (or is empty) it is refused at the line it stops in.
 */
static void
test_cfg_file_prefixes(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(file_cases); i++) {
		const struct file_case *tc = &file_cases[i];

		for (size_t k = 0; k <= tc->len; k++) {
			struct cfg_file f;
			int errors, line = 1;
			char *msgs, want[200];

			if (memchr(tc->text, '\0', k) != NULL)
				continue;	/* NUL: another error */
			for (size_t j = 0; j + 1 < k; j++)
				line += tc->text[j] == '\n';
			snprintf(want, sizeof(want), "t.conf:%d: last line has "
			    "no newline: the file looks half-written; not "
			    "loaded\n", line);
			parse_text(tc->text, k, &f, &errors, &msgs);
			if (k > 0 && tc->text[k - 1] != '\n') {
				if (strstr(msgs, want) == NULL) {
					print_error("\"%s\" cut at %zu: no \"%s\" "
					    "in \"%s\"\n", unit_esc(tc->text,
					    tc->len), k, want, msgs);
					fail();
				}
				assert_true(errors >= 1);
			} else
				assert_null(strstr(msgs, "half-written"));
			free(msgs);
			cfg_file_free(&f);
		}
	}
}

/* Reading a file is parsing its bytes: same blocks, same messages. */
static void
test_cfg_file_read(void **state)
{
	struct ubuf d1 = { 0 }, d2 = { 0 };

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(file_cases); i++) {
		const struct file_case *tc = &file_cases[i];
		struct cfg_file f1, f2;
		struct cfg_errors e1 = { 0, 0, NULL }, e2 = { 0, 0, NULL };
		char *path, *m1, *m2;
		int rc1, rc2;

		if (memchr(tc->text, '\0', tc->len) != NULL)
			continue;		/* unit_temp_file writes a string */
		path = unit_temp_file(tc->text);
		unit_capture_begin();
		rc1 = cfg_file_read(path, &f1, &e1);
		m1 = unit_capture_end();
		unit_capture_begin();
		rc2 = cfg_file_parse(path, tc->text, tc->len, &f2, &e2);
		m2 = unit_capture_end();
		assert_int_equal(rc1, rc2);
		assert_int_equal(e1.count, e2.count);
		assert_string_equal(m1, m2);
		dump(&f1, &d1);
		dump(&f2, &d2);
		assert_string_equal(d1.p, d2.p);
		cfg_file_free(&f1);
		cfg_file_free(&f2);
		free(m1);
		free(m2);
		unlink(path);
		free(path);
	}
	ubuf_free(&d1);
	ubuf_free(&d2);
}

static void
test_cfg_file_read_errors(void **state)
{
	struct cfg_file f;
	struct cfg_errors e = { 0, 0, NULL };
	char *m;

	(void)state;
	unit_capture_begin();
	assert_int_equal(cfg_file_read("/nonexistent/mxguard.conf", &f, &e),
	    -1);
	m = unit_capture_end();
	assert_string_equal(m, "/nonexistent/mxguard.conf: cannot open: No "
	    "such file or directory\n");
	assert_int_equal(e.count, 1);
	/* the file is still a valid (empty) one to free and look into */
	assert_int_equal(f.nblocks, 1);
	assert_null(cfg_file_section(&f, "x"));
	cfg_file_free(&f);
	free(m);
	unit_capture_begin();
	assert_int_equal(cfg_file_read("/", &f, &e), -1);
	m = unit_capture_end();
	assert_string_equal(m, "/: not a regular file\n");
	cfg_file_free(&f);
	free(m);
}

/* Logical lines: 64 KiB at most, whether one line or continued. */
static void
test_cfg_file_long_lines(void **state)
{
	struct ubuf b = { 0 };
	struct cfg_file f;
	int errors;
	char *msgs;

	(void)state;
	ubuf_adds(&b, "a = ");
	for (int i = 0; i < 65536 - 4; i++)
		ubuf_adds(&b, "x");
	ubuf_adds(&b, "\nb = 1\n");
	parse_text(b.p, b.len, &f, &errors, &msgs);
	assert_int_equal(errors, 0);
	assert_int_equal(strlen(f.blocks[0].e[0].value), 65536 - 4);
	cfg_file_free(&f);
	free(msgs);

	ubuf_reset(&b);
	ubuf_adds(&b, "a = ");
	for (int i = 0; i < 65536; i++)
		ubuf_adds(&b, "x");
	/* its continuation lines go with it: one error, not one per line */
	ubuf_adds(&b, "\n  more\n\n  and more\nb = 1\n");
	parse_text(b.p, b.len, &f, &errors, &msgs);
	assert_string_equal(msgs, "t.conf:1: line longer than 65536 bytes\n");
	assert_int_equal(errors, 1);
	assert_int_equal(f.blocks[0].n, 1);		/* b still read */
	assert_int_equal(f.blocks[0].e[0].line, 5);
	cfg_file_free(&f);
	free(msgs);

	ubuf_reset(&b);
	ubuf_adds(&b, "a = 1\n");
	for (int l = 0; l < 4; l++) {
		ubuf_adds(&b, " ");
		for (int i = 0; i < 30000; i++)
			ubuf_adds(&b, "y");
		ubuf_adds(&b, "\n");
	}
	ubuf_adds(&b, "b = 1\n  2\n");
	parse_text(b.p, b.len, &f, &errors, &msgs);
	assert_string_equal(msgs, "t.conf:4: logical line longer than 65536 "
	    "bytes\n");
	assert_int_equal(errors, 1);
	assert_int_equal(f.blocks[0].n, 1);
	assert_string_equal(f.blocks[0].e[0].value, "1 2");
	cfg_file_free(&f);
	free(msgs);
	ubuf_free(&b);
}

static void
test_cfg_file_section(void **state)
{
	struct cfg_file f;
	int errors;
	char *msgs;
	const struct cfg_block *b;
	static const char text[] = "a = 1\n[one]\nx = 1\n[two]\ny = 2\n"
	    "z = 3\n";

	(void)state;
	parse_text(text, sizeof(text) - 1, &f, &errors, &msgs);
	assert_int_equal(errors, 0);
	b = cfg_file_section(&f, "two");
	assert_non_null(b);
	assert_string_equal(b->name, "two");
	assert_int_equal(b->line, 4);
	assert_int_equal(b->n, 2);
	assert_int_equal(cfg_line_of(b, "z"), 6);
	assert_int_equal(cfg_line_of(b, "nothere"), 4);
	assert_int_equal(cfg_line_of(&f.blocks[0], "a"), 1);
	assert_int_equal(cfg_line_of(&f.blocks[0], "x"), 0);
	assert_non_null(cfg_file_section(&f, "one"));
	assert_null(cfg_file_section(&f, "three"));
	assert_null(cfg_file_section(&f, "ONE"));
	cfg_file_free(&f);
	free(msgs);
}

/* ---- values ------------------------------------------------------------- */

struct tconf {
	uint64_t	 num, size, time, days;
	int		 flag, mode;
	char		*name, *path;
	struct cfg_list	 list;
	char		*req;
};

#define T(f)	offsetof(struct tconf, f)

static const struct cfg_key tkeys[] = {
	{ "num", CFG_UINT, "5", 1, 100, T(num), 1, NULL, "a number" },
	{ "size", CFG_SIZE, "1m", 1024, (uint64_t)1 << 40, T(size), 1, NULL,
	    "a size" },
	{ "time", CFG_MS, "30s", 100, 3600000, T(time), 1, NULL, "a time" },
	{ "days", CFG_MS, "1d", 0, 0, T(days), 1, NULL, "no maximum" },
	{ "flag", CFG_BOOL, "no", 0, 0, T(flag), 1, NULL, "a bool" },
	{ "mode", CFG_ENUM, "reject", 0, 0, T(mode), 1,
	    "reject|normalize|ignore", "an enum" },
	{ "name", CFG_STRING, "dflt", 0, 0, T(name), 1, NULL, "a string" },
	{ "path", CFG_PATH, "", 0, 0, T(path), 1, NULL, "a path" },
	{ "list", CFG_LIST, "a, b", 0, 0, T(list), 1, NULL, "a list" },
	{ "req", CFG_STRING, CFG_REQUIRED, 0, 0, T(req), 1, NULL, "required" },
};

static const struct cfg_key *
tkey(const char *name)
{
	for (size_t i = 0; i < ARRAY_LEN(tkeys); i++)
		if (strcmp(tkeys[i].key, name) == 0)
			return &tkeys[i];
	fail_msg("no key %s", name);
	return NULL;
}

/* A field as text: numbers, ints, strings, lists "a|b". */
static void
render(const struct cfg_key *k, const struct tconf *c, struct ubuf *b)
{
	const void *p = (const char *)c + k->off;

	ubuf_reset(b);
	ubuf_add(b, "", 0);
	switch (k->type) {
	case CFG_UINT:
	case CFG_SIZE:
	case CFG_MS:
		ubuf_addf(b, "%llu", (unsigned long long)*(const uint64_t *)p);
		break;
	case CFG_BOOL:
	case CFG_ENUM:
		ubuf_addf(b, "%d", *(const int *)p);
		break;
	case CFG_STRING:
	case CFG_PATH:
		ubuf_adds(b, *(char *const *)p ? *(char *const *)p : "(null)");
		break;
	case CFG_LIST: {
		const struct cfg_list *l = p;

		for (size_t i = 0; i < l->n; i++)
			ubuf_addf(b, "%s%s", i ? "|" : "", l->v[i]);
		break;
	}
	}
}

static const struct {
	const char	*key, *value;
	const char	*want;		/* NULL: refused */
	const char	*err;		/* the message when refused */
} value_cases[] = {
	/* plain numbers */
	{ "num", "5", "5", NULL },
	{ "num", "1", "1", NULL },
	{ "num", "100", "100", NULL },
	{ "num", "007", "7", NULL },
	{ "num", "0", NULL, "0 is below the minimum 1" },
	{ "num", "101", NULL, "101 is above the maximum 100" },
	{ "num", "abc", NULL, "\"abc\" is not a number" },
	{ "num", "", NULL, "\"\" is not a number" },
	{ "num", "-1", NULL, "\"-1\" is not a number" },
	{ "num", "+1", NULL, "\"+1\" is not a number" },
	{ "num", "1k", NULL, "\"1k\" is not a number" },
	{ "num", "5 ", NULL, "\"5 \" is not a number" },
	{ "num", "0x10", NULL, "\"0x10\" is not a number" },
	{ "num", "99999999999999999999", NULL,
	    "\"99999999999999999999\" is not a number" },
	/* sizes: k, m, g are 1024-based; b, kb, mb, gb; any case */
	{ "size", "1024", "1024", NULL },
	{ "size", "1024b", "1024", NULL },
	{ "size", "10k", "10240", NULL },
	{ "size", "10K", "10240", NULL },
	{ "size", "10kb", "10240", NULL },
	{ "size", "10KB", "10240", NULL },
	{ "size", "1m", "1048576", NULL },
	{ "size", "1M", "1048576", NULL },
	{ "size", "50mb", "52428800", NULL },
	{ "size", "2g", "2147483648", NULL },
	{ "size", "1024g", "1099511627776", NULL },
	{ "size", "1023", NULL, "1023 is below the minimum 1024" },
	{ "size", "0k", NULL, "0k is below the minimum 1024" },
	{ "size", "1025g", NULL, "1025g is above the maximum 1099511627776" },
	{ "size", "1t", NULL, "\"1t\" is not a size (a number, optionally k, "
	    "m or g)" },
	{ "size", "1.5m", NULL, "\"1.5m\" is not a size (a number, optionally "
	    "k, m or g)" },
	{ "size", "m", NULL, "\"m\" is not a size (a number, optionally k, m "
	    "or g)" },
	{ "size", "10 k", NULL, "\"10 k\" is not a size (a number, optionally "
	    "k, m or g)" },
	{ "size", "10kk", NULL, "\"10kk\" is not a size (a number, optionally "
	    "k, m or g)" },
	/* 2^34 g = 2^64 bytes: overflow is an error, not a wrap */
	{ "size", "17179869184g", NULL, "\"17179869184g\" is not a size (a "
	    "number, optionally k, m or g)" },
	/* durations: ms, s (the default), m, h, d */
	{ "time", "30", "30000", NULL },
	{ "time", "30s", "30000", NULL },
	{ "time", "30S", "30000", NULL },
	{ "time", "500ms", "500", NULL },
	{ "time", "100MS", "100", NULL },
	{ "time", "5m", "300000", NULL },
	{ "time", "1h", "3600000", NULL },
	{ "time", "60m", "3600000", NULL },
	{ "time", "1d", NULL, "1d is above the maximum 3600000ms" },
	{ "time", "61m", NULL, "61m is above the maximum 3600000ms" },
	{ "time", "50ms", NULL, "50ms is below the minimum 100ms" },
	{ "time", "0", NULL, "0 is below the minimum 100ms" },
	{ "time", "1.5s", NULL, "\"1.5s\" is not a duration (a number, "
	    "optionally ms, s, m, h or d)" },
	{ "time", "1 s", NULL, "\"1 s\" is not a duration (a number, "
	    "optionally ms, s, m, h or d)" },
	{ "time", "1sec", NULL, "\"1sec\" is not a duration (a number, "
	    "optionally ms, s, m, h or d)" },
	{ "time", "1w", NULL, "\"1w\" is not a duration (a number, optionally "
	    "ms, s, m, h or d)" },
	{ "time", "s", NULL, "\"s\" is not a duration (a number, optionally "
	    "ms, s, m, h or d)" },
	{ "days", "1d", "86400000", NULL },
	{ "days", "365d", "31536000000", NULL },
	{ "days", "0", "0", NULL },
	{ "days", "0ms", "0", NULL },
	{ "days", "213503982335d", NULL, "\"213503982335d\" is not a "
	    "duration (a number, optionally ms, s, m, h or d)" },
	/* booleans */
	{ "flag", "yes", "1", NULL },
	{ "flag", "YES", "1", NULL },
	{ "flag", "true", "1", NULL },
	{ "flag", "on", "1", NULL },
	{ "flag", "1", "1", NULL },
	{ "flag", "no", "0", NULL },
	{ "flag", "False", "0", NULL },
	{ "flag", "OFF", "0", NULL },
	{ "flag", "0", "0", NULL },
	{ "flag", "y", NULL, "\"y\" is not yes or no" },
	{ "flag", "2", NULL, "\"2\" is not yes or no" },
	{ "flag", "", NULL, "\"\" is not yes or no" },
	{ "flag", "yes please", NULL, "\"yes please\" is not yes or no" },
	/* enums: the index of the choice, any case */
	{ "mode", "reject", "0", NULL },
	{ "mode", "normalize", "1", NULL },
	{ "mode", "IGNORE", "2", NULL },
	{ "mode", "norm", NULL, "\"norm\" is not one of "
	    "reject|normalize|ignore" },
	{ "mode", "rejectx", NULL, "\"rejectx\" is not one of "
	    "reject|normalize|ignore" },
	{ "mode", "", NULL, "\"\" is not one of reject|normalize|ignore" },
	{ "mode", "reject|normalize", NULL, "\"reject|normalize\" is not one "
	    "of reject|normalize|ignore" },
	/* strings, paths, lists */
	{ "name", "", "", NULL },
	{ "name", "x y", "x y", NULL },
	{ "path", "", "", NULL },
	{ "path", "/dev/null", "/dev/null", NULL },
	{ "path", "/nonexistent/file", NULL, "/nonexistent/file: No such file "
	    "or directory" },
	{ "list", "a, b  c,,d", "a|b|c|d", NULL },
	{ "list", "a\tb", "a|b", NULL },
	{ "list", "", "", NULL },
	{ "list", " , ,", "", NULL },
	{ "list", "[::1]:25, 127.0.0.1:2525", "[::1]:25|127.0.0.1:2525",
	    NULL },
};

static void
test_cfg_parse_value(void **state)
{
	struct ubuf b = { 0 };

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(value_cases); i++) {
		const struct cfg_key *k = tkey(value_cases[i].key);
		struct tconf c;
		struct err err;
		int rc;

		memset(&c, 0, sizeof(c));
		memset(&err, 0, sizeof(err));
		rc = cfg_parse_value(k, value_cases[i].value,
		    (char *)&c + k->off, &err);
		if (value_cases[i].want != NULL) {
			render(k, &c, &b);
			if (rc != 0 || strcmp(b.p, value_cases[i].want) != 0) {
				print_error("%s = \"%s\": rc %d \"%s\" (%s), "
				    "want \"%s\"\n", k->key,
				    value_cases[i].value, rc, b.p, err.msg,
				    value_cases[i].want);
				fail();
			}
		} else if (rc != -1 ||
		    strcmp(err.msg, value_cases[i].err) != 0) {
			print_error("%s = \"%s\": rc %d \"%s\", want -1 \"%s\"\n",
			    k->key, value_cases[i].value, rc, err.msg,
			    value_cases[i].err);
			fail();
		}
		cfg_free_fields(tkeys, ARRAY_LEN(tkeys), &c);
	}
	ubuf_free(&b);
}

/* ---- cfg_apply and cfg_check_unused ------------------------------------- */

struct applied {
	struct cfg_file	 f;
	struct tconf	 c;
	char		*msgs;
	int		 errors;
};

/* Parses text, applies tkeys to the named block (NULL: top), checks it. */
static void
apply(const char *text, const char *section, struct applied *a)
{
	struct cfg_errors e = { 0, 0, NULL };
	const struct cfg_block *b;

	memset(&a->c, 0, sizeof(a->c));
	unit_capture_begin();
	assert_int_equal(cfg_file_parse("t.conf", text, strlen(text), &a->f,
	    &e), 0);
	b = section ? cfg_file_section(&a->f, section) : &a->f.blocks[0];
	assert_non_null(b);
	cfg_apply(b, tkeys, ARRAY_LEN(tkeys), &a->c, &e);
	cfg_check_unused(b, &e);
	a->msgs = unit_capture_end();
	a->errors = e.count;
}

static void
applied_free(struct applied *a)
{
	cfg_free_fields(tkeys, ARRAY_LEN(tkeys), &a->c);
	assert_null(a->c.name);
	assert_null(a->c.path);
	assert_null(a->c.req);
	assert_int_equal(a->c.list.n, 0);
	assert_null(a->c.list.v);
	cfg_file_free(&a->f);
	free(a->msgs);
}

static void
assert_field(const struct tconf *c, const char *key, const char *want)
{
	struct ubuf b = { 0 };

	render(tkey(key), c, &b);
	if (strcmp(b.p, want) != 0) {
		print_error("%s: \"%s\", want \"%s\"\n", key, b.p, want);
		fail();
	}
	ubuf_free(&b);
}

static void
test_cfg_apply_defaults(void **state)
{
	struct applied a;

	(void)state;
	apply("req = r\n", NULL, &a);
	assert_string_equal(a.msgs, "");
	assert_int_equal(a.errors, 0);
	assert_field(&a.c, "num", "5");
	assert_field(&a.c, "size", "1048576");
	assert_field(&a.c, "time", "30000");
	assert_field(&a.c, "days", "86400000");
	assert_field(&a.c, "flag", "0");
	assert_field(&a.c, "mode", "0");
	assert_field(&a.c, "name", "dflt");
	assert_field(&a.c, "path", "");
	assert_field(&a.c, "list", "a|b");
	assert_field(&a.c, "req", "r");
	applied_free(&a);
}

static void
test_cfg_apply_values(void **state)
{
	struct applied a;

	(void)state;
	apply("num = 42\n"
	    "size = 10k\n"
	    "time = 2m\n"
	    "days =\n"
	    "  7d\n"
	    "flag = on\n"
	    "mode = ignore\n"
	    "name = the\n"
	    "  name\n"
	    "list = x,\n"
	    "  y z\n"
	    "req =\n", NULL, &a);
	assert_string_equal(a.msgs, "");
	assert_field(&a.c, "num", "42");
	assert_field(&a.c, "size", "10240");
	assert_field(&a.c, "time", "120000");
	assert_field(&a.c, "days", "604800000");
	assert_field(&a.c, "flag", "1");
	assert_field(&a.c, "mode", "2");
	assert_field(&a.c, "name", "the name");
	assert_field(&a.c, "list", "x|y|z");
	assert_field(&a.c, "req", "");
	applied_free(&a);
}

static const struct {
	const char	*text;
	const char	*section;
	const char	*msgs;
} apply_errors[] = {
	/* required keys: at the block's line (top level: the file) */
	{ "num = 1\n", NULL, "t.conf: req: required\n" },
	{ "a = 1\n\n[sec]\nnum = 1\n", "sec",
	    "t.conf:3: req: required in [sec]\n" },
	/* each bad value at its own line, continuation lines counted */
	{ "req = r\nnum = 0\n", NULL,
	    "t.conf:2: num: 0 is below the minimum 1\n" },
	{ "req = r\n# c\n\ntime = 1\n  d\n", NULL,
	    "t.conf:4: time: \"1 d\" is not a duration (a number, optionally "
	    "ms, s, m, h or d)\n" },
	{ "req = r\nflag = maybe\nmode = x\nsize = 1\n", NULL,
	    "t.conf:4: size: 1 is below the minimum 1024\n"
	    "t.conf:2: flag: \"maybe\" is not yes or no\n"
	    "t.conf:3: mode: \"x\" is not one of reject|normalize|ignore\n" },
	/* unknown keys, with their lines */
	{ "req = r\nbogus = 1\n\nnum = 2\nnumber = 3\n", NULL,
	    "t.conf:2: unknown key \"bogus\"\n"
	    "t.conf:5: unknown key \"number\"\n" },
	{ "req = r\n[sec]\nreq = r\nx = 1\n", "sec",
	    "t.conf:4: unknown key \"x\" in [sec]\n" },
	/* everything at once */
	{ "[sec]\nnum = 1000\nnum_ = 1\n\n  2\n", "sec",
	    "t.conf:2: num: 1000 is above the maximum 100\n"
	    "t.conf:1: req: required in [sec]\n"
	    "t.conf:3: unknown key \"num_\" in [sec]\n" },
};

static void
test_cfg_apply_errors(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(apply_errors); i++) {
		struct applied a;

		apply(apply_errors[i].text, apply_errors[i].section, &a);
		if (strcmp(a.msgs, apply_errors[i].msgs) != 0) {
			print_error("\"%s\":\n   got %s  want %s",
			    unit_escs(apply_errors[i].text), a.msgs,
			    apply_errors[i].msgs);
			fail();
		}
		assert_int_equal(a.errors, count_lines(apply_errors[i].msgs));
		applied_free(&a);
	}
}

/* Keys applied by one table are "used"; the rest stay unknown. */
static void
test_cfg_check_unused_two_tables(void **state)
{
	static const struct cfg_key other[] = {
		{ "other", CFG_UINT, "1", 0, 0, 0, 1, NULL, "elsewhere" },
	};
	struct cfg_file f;
	struct cfg_errors e = { 0, 0, NULL };
	struct tconf c;
	uint64_t o = 0;
	static const char text[] = "req = r\nother = 7\nstray = 1\n";
	char *m;

	(void)state;
	memset(&c, 0, sizeof(c));
	unit_capture_begin();
	cfg_file_parse("t.conf", text, sizeof(text) - 1, &f, &e);
	cfg_apply(&f.blocks[0], tkeys, ARRAY_LEN(tkeys), &c, &e);
	cfg_apply(&f.blocks[0], other, ARRAY_LEN(other), &o, &e);
	cfg_check_unused(&f.blocks[0], &e);
	m = unit_capture_end();
	assert_string_equal(m, "t.conf:3: unknown key \"stray\"\n");
	assert_int_equal(o, 7);
	free(m);
	cfg_free_fields(tkeys, ARRAY_LEN(tkeys), &c);
	cfg_file_free(&f);
}

/* cfg_error/cfg_warning: FILE:LINE, or FILE alone for line 0. */
static void
test_cfg_messages(void **state)
{
	struct cfg_errors e = { 0, 0, NULL };
	char *m;

	(void)state;
	unit_capture_begin();
	cfg_error(&e, "f.conf", 12, "max_sessions: %d is below the minimum %d",
	    0, 1);
	cfg_error(&e, "f.conf", 0, "empty");
	cfg_warning(&e, "f.conf", 3, "section [x]: not used");
	m = unit_capture_end();
	assert_string_equal(m, "f.conf:12: max_sessions: 0 is below the "
	    "minimum 1\nf.conf: empty\nf.conf:3: warning: section [x]: not "
	    "used\n");
	assert_int_equal(e.count, 2);		/* warnings do not count */
	free(m);
}

/* ---- the real tables ---------------------------------------------------- */

static size_t
count_required(const struct cfg_key *k, size_t n)
{
	size_t r = 0;

	for (size_t i = 0; i < n; i++)
		r += k[i].def == NULL;
	return r;
}

/* Every default in every table parses; only required keys complain. */
static void
test_cfg_table_defaults(void **state)
{
	size_t n;
	const struct cfg_key *core = config_core_keys(&n);
	struct cfg_block empty = { NULL, "t.conf", 0, NULL, 0 };
	struct cfg_errors e = { 0, 0, NULL };
	struct config *c = calloc(1, sizeof(*c));
	struct ubuf want = { 0 };
	char *m;

	(void)state;
	assert_true(n > 0);
	ubuf_add(&want, "", 0);
	for (size_t i = 0; i < n; i++)
		if (core[i].def == NULL)
			ubuf_addf(&want, "t.conf: %s: required\n", core[i].key);
	unit_capture_begin();
	cfg_apply(&empty, core, n, c, &e);
	m = unit_capture_end();
	assert_string_equal(m, want.p);
	assert_int_equal(e.count, (int)count_required(core, n));
	free(m);
	cfg_free_fields(core, n, c);
	free(c);

	for (size_t i = 0; filter_table[i] != NULL; i++) {
		const struct filter_ops *ops = filter_table[i];
		void *conf = calloc(1, ops->conf_size ? ops->conf_size : 1);
		struct cfg_block sec = { (char *)ops->name, "t.conf", 9, NULL,
		    0 };

		e.count = 0;
		unit_capture_begin();
		cfg_apply(&sec, ops->keys, ops->nkeys, conf, &e);
		m = unit_capture_end();
		assert_null(strstr(m, "internal"));
		assert_int_equal(e.count, (int)count_required(ops->keys,
		    ops->nkeys));
		free(m);
		cfg_free_fields(ops->keys, ops->nkeys, conf);
		free(conf);
	}
	ubuf_free(&want);
}

/* Key names: as the parser accepts them, unique per table. */
static void
test_cfg_table_names(void **state)
{
	size_t n;
	const struct cfg_key *core = config_core_keys(&n);

	(void)state;
	for (size_t i = 0; i < n; i++) {
		assert_true(strspn(core[i].key, "abcdefghijklmnopqrstuvwxyz"
		    "0123456789_") == strlen(core[i].key));
		assert_non_null(core[i].help);
		for (size_t j = i + 1; j < n; j++)
			assert_string_not_equal(core[i].key, core[j].key);
	}
	for (size_t f = 0; filter_table[f] != NULL; f++) {
		const struct filter_ops *ops = filter_table[f];

		assert_ptr_equal(filter_find(ops->name), ops);
		for (size_t i = 0; i < ops->nkeys; i++) {
			assert_true(strspn(ops->keys[i].key,
			    "abcdefghijklmnopqrstuvwxyz0123456789_") ==
			    strlen(ops->keys[i].key));
			assert_string_not_equal(ops->keys[i].key, "timeout");
			assert_string_not_equal(ops->keys[i].key, "on_error");
			for (size_t j = i + 1; j < ops->nkeys; j++)
				assert_string_not_equal(ops->keys[i].key,
				    ops->keys[j].key);
		}
	}
	assert_null(filter_find("no-such-filter"));
}

/* ---- the sample configuration file -------------------------------------- */

/* One key the sample must show: section "" is the top level. */
struct want_key {
	char	 section[80];
	char	 key[80];
	char	 def[512];
	int	 required;
	int	 found;
};

struct want_keys {
	struct want_key	*v;
	size_t		 n;
};

static void
want_add(struct want_keys *w, const char *section, const char *key,
    const char *def)
{
	struct want_key *k;

	for (size_t i = 0; i < w->n; i++)
		if (strcmp(w->v[i].section, section) == 0 &&
		    strcmp(w->v[i].key, key) == 0) {
			if (def != NULL && w->v[i].def[0] == '\0')
				snprintf(w->v[i].def, sizeof(w->v[i].def),
				    "%s", def);
			return;
		}
	w->v = realloc(w->v, (w->n + 1) * sizeof(*w->v));
	assert_non_null(w->v);
	k = &w->v[w->n++];
	memset(k, 0, sizeof(*k));
	snprintf(k->section, sizeof(k->section), "%s", section);
	snprintf(k->key, sizeof(k->key), "%s", key);
	if (def == NULL)
		k->required = 1;
	else
		snprintf(k->def, sizeof(k->def), "%s", def);
}

static struct want_key *
want_find(struct want_keys *w, const char *section, const char *key)
{
	for (size_t i = 0; i < w->n; i++)
		if (strcmp(w->v[i].section, section) == 0 &&
		    strcmp(w->v[i].key, key) == 0)
			return &w->v[i];
	return NULL;
}

/*
 * The defaults of the keys every filter has ("timeout", "on_error") live
 * in filter.c's own table; config_print_keys() (mxguard -k) prints them.
 */
static void
defaults_from_print_keys(struct want_keys *w)
{
	char *out, *line, *save, section[80] = "";

	unit_capture_stdout_begin();
	config_print_keys();
	out = unit_capture_stdout_end();
	for (line = strtok_r(out, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		char key[80];
		const char *eq;

		if (sscanf(line, "[%79[^]]]", section) == 1)
			continue;
		if (line[0] != '#' || (eq = strstr(line, " = ")) == NULL ||
		    eq - line - 1 >= (int)sizeof(key) ||
		    strspn(line + 1, "abcdefghijklmnopqrstuvwxyz0123456789_") !=
		    (size_t)(eq - line - 1))
			continue;
		snprintf(key, sizeof(key), "%.*s", (int)(eq - line - 1),
		    line + 1);
		if (want_find(w, section, key) != NULL)
			want_add(w, section, key, eq + 3);
	}
	free(out);
}

static const char *
sample_path(void)
{
	static char path[4096];
	const char *src = getenv("SRCDIR");

	snprintf(path, sizeof(path), "%s/mxguard.conf.sample",
	    src != NULL && *src != '\0' ? src : ".");
	return path;
}

/* Trailing blanks do not count: "#hostname = " shows an empty default. */
static int
same_trimmed(const char *a, size_t alen, const char *b)
{
	size_t blen = strlen(b);

	while (alen > 0 && (a[alen - 1] == ' ' || a[alen - 1] == '\t' ||
	    a[alen - 1] == '\r'))
		alen--;
	while (blen > 0 && b[blen - 1] == ' ')
		blen--;
	return alen == blen && memcmp(a, b, alen) == 0;
}

/*
 * The sample file must show every key of config_core_keys() at the top
 * level and every key of each filter (its own plus timeout and on_error)
 * in its [section]: "#key = <default>" (commented, the default exactly as
 * the table has it) or "key = value" (set). Required keys must be set.
 * A "#key = " line or a setting for a key no table has is stale.
 */
static void
test_cfg_sample_lists_every_key(void **state)
{
	struct want_keys w = { NULL, 0 };
	struct ubuf missing = { 0 }, stale = { 0 };
	size_t n, len;
	const struct cfg_key *core = config_core_keys(&n);
	const char *path = sample_path();
	char *text, *p, section[80] = "";
	int lineno = 0;
	FILE *fp;

	(void)state;
	for (size_t i = 0; i < n; i++)
		want_add(&w, "", core[i].key, core[i].def);
	for (size_t f = 0; filter_table[f] != NULL; f++) {
		const struct filter_ops *ops = filter_table[f];

		want_add(&w, ops->name, "timeout", "");
		want_add(&w, ops->name, "on_error", "");
		for (size_t i = 0; i < ops->nkeys; i++)
			want_add(&w, ops->name, ops->keys[i].key,
			    ops->keys[i].def);
	}
	defaults_from_print_keys(&w);

	if ((fp = fopen(path, "r")) == NULL) {
		print_error("cannot open the sample %s (set SRCDIR to the "
		    "source tree)\n", path);
		fail();
	}
	fclose(fp);
	text = unit_read_file(path, &len);
	if (len == 0) {
		print_error("%s is empty: it must list all %zu keys\n", path,
		    w.n);
		fail();
	}

	/* the sample itself loads: no syntax errors */
	{
		struct cfg_file f;
		struct cfg_errors e = { 0, 0, NULL };
		char *m;

		unit_capture_begin();
		cfg_file_parse(path, text, len, &f, &e);
		m = unit_capture_end();
		if (e.count != 0) {
			print_error("%s does not parse:\n%s", path, m);
			fail();
		}
		free(m);
		cfg_file_free(&f);
	}

	ubuf_add(&missing, "", 0);
	ubuf_add(&stale, "", 0);
	for (p = text; *p != '\0'; ) {
		char *nl = strchr(p, '\n'), *line = p, key[80];
		size_t ll = nl ? (size_t)(nl - p) : strlen(p), kl;
		int commented = line[0] == '#';
		const char *k = line + commented, *rest;
		struct want_key *wk;

		p = nl ? nl + 1 : p + ll;
		lineno++;
		if (line[0] == '[') {
			snprintf(section, sizeof(section), "%.*s",
			    (int)(strcspn(line + 1, "]\n")), line + 1);
			continue;
		}
		kl = strspn(k, "abcdefghijklmnopqrstuvwxyz0123456789_");
		if (kl == 0 || kl >= sizeof(key))
			continue;		/* prose, blank, continuation */
		rest = k + kl;
		while (*rest == ' ' || *rest == '\t')
			rest++;
		if (*rest != '=')
			continue;
		rest++;
		if (*rest == ' ')
			rest++;
		snprintf(key, sizeof(key), "%.*s", (int)kl, k);
		if ((wk = want_find(&w, section, key)) == NULL) {
			ubuf_addf(&stale, "  %s:%d: %s%s%s%s is no key of mxguard"
			    "\n", path, lineno, section[0] ? "[" : "", section,
			    section[0] ? "] " : "", key);
			continue;
		}
		if (!commented)
			wk->found = 1;
		else if (!wk->required && same_trimmed(rest, ll - (size_t)(rest -
		    line), wk->def))
			wk->found = 1;
		else if (!wk->required)
			ubuf_addf(&stale, "  %s:%d: #%s = %.*s, but the default "
			    "is \"%s\"\n", path, lineno, key,
			    (int)(ll - (size_t)(rest - line)), rest, wk->def);
	}
	for (size_t i = 0; i < w.n; i++)
		if (!w.v[i].found) {
			if (w.v[i].required)
				ubuf_addf(&missing, "  %s%s%s%s = (required: "
				    "must be set)\n", w.v[i].section[0] ? "[" : "",
				    w.v[i].section, w.v[i].section[0] ? "] " : "",
				    w.v[i].key);
			else
				ubuf_addf(&missing, "  %s%s%s#%s = %s\n",
				    w.v[i].section[0] ? "[" : "", w.v[i].section,
				    w.v[i].section[0] ? "] " : "", w.v[i].key,
				    w.v[i].def);
		}
	if (missing.len > 0 || stale.len > 0)
		print_error("%s does not match the key tables.\n%s%s%s%s", path,
		    missing.len ? "Missing (add these lines):\n" : "",
		    missing.p, stale.len ? "Stale or wrong:\n" : "", stale.p);
	n = missing.len + stale.len;
	free(text);
	free(w.v);
	ubuf_free(&missing);
	ubuf_free(&stale);
	if (n > 0)
		fail();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cfg_file_parse),
		cmocka_unit_test(test_cfg_file_prefixes),
		cmocka_unit_test(test_cfg_file_read),
		cmocka_unit_test(test_cfg_file_read_errors),
		cmocka_unit_test(test_cfg_file_long_lines),
		cmocka_unit_test(test_cfg_file_section),
		cmocka_unit_test(test_cfg_parse_value),
		cmocka_unit_test(test_cfg_apply_defaults),
		cmocka_unit_test(test_cfg_apply_values),
		cmocka_unit_test(test_cfg_apply_errors),
		cmocka_unit_test(test_cfg_check_unused_two_tables),
		cmocka_unit_test(test_cfg_messages),
		cmocka_unit_test(test_cfg_table_defaults),
		cmocka_unit_test(test_cfg_table_names),
		cmocka_unit_test(test_cfg_sample_lists_every_key),
	};

	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
