/*
 * test_rcptmap.c - recipient maps (proxy/rcptmap.h): the Postfix table
 * source and the plain list, lookups with extensions and case as Postfix's
 * mail_addr_find() and split_addr() do them.
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
#include "rcptmap.h"

#define LEN(lit)	(lit), (sizeof(lit) - 1)

static const char table_src[] =
    "# relay_recipient_maps source, as on the primary\n"
    "alice@example.test\tOK\n"
    "Bob@Example.Test      x\n"
    "carol+special@example.test OK\n"
    "@catchall.test\t\tanything at all\n"
    "owner-list@example.test OK\n"
    "list-request@example.test OK\n"
    "dave@example.test\n"
    "  continued value\n";

static const char list_src[] =
    "# one address per line\r\n"
    "alice@example.test\r\n"
    "\n"
    "   ALICE@example.test   \n"
    "Bob@Example.Test\n"
    "carol+special@example.test\n"
    "@catchall.test\n"
    "owner-list@example.test\n"
    "list-request@example.test\n"
    "dave@example.test";		/* no final newline: fine for a list */

static const struct {
	const char	*addr;
	const char	*delims;
	enum rcptmap_match want;
} lookups[] = {
	{ "alice@example.test",		"+",  RCPTMAP_ADDR },
	{ "ALICE@EXAMPLE.TEST",		"+",  RCPTMAP_ADDR },
	{ "alice+tag@example.test",	"+",  RCPTMAP_NOEXT },
	{ "Alice+Tag+More@Example.test", "+", RCPTMAP_NOEXT },
	{ "alice+tag@example.test",	"",   RCPTMAP_NONE },
	{ "alice-tag@example.test",	"+",  RCPTMAP_NONE },
	{ "alice-tag@example.test",	"+-", RCPTMAP_NOEXT },
	{ "bob@example.test",		"+",  RCPTMAP_ADDR },
	{ "carol+special@example.test",	"+",  RCPTMAP_ADDR },
	{ "carol@example.test",		"+",  RCPTMAP_NONE },
	{ "carol+other@example.test",	"+",  RCPTMAP_NONE },
	{ "dave@example.test",		"+",  RCPTMAP_ADDR },
	{ "eve@example.test",		"+",  RCPTMAP_NONE },
	{ "+alice@example.test",	"+",  RCPTMAP_NONE },	/* empty user */
	{ "anyone@catchall.test",	"+",  RCPTMAP_DOMAIN },
	{ "ANYONE+x@CATCHALL.TEST",	"+",  RCPTMAP_DOMAIN },
	{ "x@sub.catchall.test",	"+",  RCPTMAP_NONE },	/* no parents */
	{ "alice@example.test.evil",	"+",  RCPTMAP_NONE },
	{ "owner-list@example.test",	"+-", RCPTMAP_ADDR },
	{ "owner-list-x@example.test",	"+-", RCPTMAP_NONE },	/* not split */
	{ "list-request@example.test",	"+-", RCPTMAP_ADDR },
	{ "alice",			"+",  RCPTMAP_NONE },	/* no domain */
	{ "alice@",			"+",  RCPTMAP_NONE },
};

static void
check_lookups(const struct rcptmap *m, const char *what)
{
	for (size_t i = 0; i < sizeof(lookups) / sizeof(lookups[0]); i++) {
		enum rcptmap_match got = rcptmap_lookup(m, lookups[i].addr,
		    lookups[i].delims);

		if (got != lookups[i].want)
			fail_msg("%s: %s (delimiters \"%s\"): got %s, want %s",
			    what, lookups[i].addr, lookups[i].delims,
			    rcptmap_match_name(got),
			    rcptmap_match_name(lookups[i].want));
	}
}

static void
test_table_format(void **state)
{
	struct cfg_errors e = { 0, 0, NULL };
	struct rcptmap *m = rcptmap_parse(RCPTMAP_TABLE, "relay_recipients",
	    LEN(table_src), &e);

	assert_non_null(m);
	assert_int_equal(e.count, 0);
	assert_int_equal(rcptmap_size(m), 7);
	check_lookups(m, "table");
	rcptmap_free(&m);
	assert_null(m);
}

static void
test_list_format(void **state)
{
	struct cfg_errors e = { 0, 0, NULL };
	struct rcptmap *m = rcptmap_parse(RCPTMAP_LIST, "list", LEN(list_src),
	    &e);

	assert_non_null(m);
	assert_int_equal(e.count, 0);
	assert_int_equal(rcptmap_size(m), 7);	/* alice once */
	check_lookups(m, "list");
	rcptmap_free(&m);
}

static void
test_bad_input(void **state)
{
	static const struct {
		enum rcptmap_format fmt;
		const char	*text;
		size_t		 len;
		int		 errors;
	} bad[] = {
		{ RCPTMAP_LIST,  LEN("alice@example.test OK\n"), 1 },
		{ RCPTMAP_LIST,  LEN("justtext\n"), 1 },
		{ RCPTMAP_LIST,  LEN("user@\n"), 1 },
		{ RCPTMAP_LIST,  LEN("a\x01" "b@example.test\n"), 1 },
		{ RCPTMAP_LIST,  LEN("a@example.test\nb\0@example.test\n"), 1 },
		{ RCPTMAP_LIST,  LEN("x\ny\nz@example.test\n"), 2 },
		{ RCPTMAP_TABLE, LEN("alice@example.test\n"), 1 },
		{ RCPTMAP_TABLE, LEN("a@example.test OK\nA@EXAMPLE.TEST OK\n"), 1 },
	};
	char longaddr[RCPT_ADDR_MAX + 20];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct cfg_errors e = { 0, 0, NULL };
		struct rcptmap *m = rcptmap_parse(bad[i].fmt, "bad",
		    bad[i].text, bad[i].len, &e);

		assert_null(m);
		assert_int_equal(e.count, bad[i].errors);
	}
	memset(longaddr, 'a', sizeof(longaddr));
	memcpy(longaddr + sizeof(longaddr) - 15, "@example.test\n", 14);
	{
		struct cfg_errors e = { 0, 0, NULL };
		struct rcptmap *m = rcptmap_parse(RCPTMAP_LIST, "long",
		    longaddr, sizeof(longaddr) - 1, &e);

		assert_null(m);
		assert_int_equal(e.count, 1);
	}
	/* an empty file is a valid, empty map: the caller decides */
	{
		struct cfg_errors e = { 0, 0, NULL };
		struct rcptmap *m = rcptmap_parse(RCPTMAP_LIST, "empty", "", 0,
		    &e);

		assert_non_null(m);
		assert_int_equal(rcptmap_size(m), 0);
		assert_int_equal(rcptmap_lookup(m, "a@example.test", "+"),
		    RCPTMAP_NONE);
		rcptmap_free(&m);
	}
}

static void
test_ext_offset(void **state)
{
	static const struct {
		const char *lp;
		const char *delims;
		int	    want;
	} cases[] = {
		{ "user+tag", "+", 4 },
		{ "user+", "+", 4 },
		{ "+tag", "+", -1 },
		{ "user", "+", -1 },
		{ "user-tag+x", "+-", 4 },
		{ "user+tag-x", "-+", 4 },
		{ "postmaster", "+", -1 },
		{ "PostMaster", "e", -1 },
		{ "mailer-daemon", "-", -1 },
		{ "double-bounce", "-", -1 },
		{ "owner-foo", "-", -1 },
		{ "owner-foo", "+", -1 },
		{ "owner+foo", "+", 5 },
		{ "foo-request", "-", -1 },
		{ "foo-request", "+-", -1 },
		{ "-request", "-", -1 },
		{ "user+tag", "", -1 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int got = rcpt_ext_offset(cases[i].lp, strlen(cases[i].lp),
		    cases[i].delims);

		if (got != cases[i].want)
			fail_msg("%s with \"%s\": %d, want %d", cases[i].lp,
			    cases[i].delims, got, cases[i].want);
	}
}

static void
test_lookup_keys(void **state)
{
	char keys[3][RCPT_ADDR_MAX];

	assert_int_equal(rcpt_lookup_keys("Al+X@Ex.Test", "+", keys), 3);
	assert_string_equal(keys[0], "al+x@ex.test");
	assert_string_equal(keys[1], "al@ex.test");
	assert_string_equal(keys[2], "@ex.test");
	assert_int_equal(rcpt_lookup_keys("al@ex.test", "+", keys), 2);
	assert_string_equal(keys[1], "@ex.test");
	/* the last @ separates the domain (a quoted local part may hold one) */
	assert_int_equal(rcpt_lookup_keys("\"a@b\"@ex.test", "+", keys), 2);
	assert_string_equal(keys[1], "@ex.test");
	assert_int_equal(rcpt_lookup_keys("nodomain", "+", keys), 0);
}

static void
test_open_files(void **state)
{
	char path[] = "/tmp/mxguard-unit-rcptmap-XXXXXX", spec[64];
	struct cfg_errors e = { 0, 0, NULL };
	struct rcptmap *m;
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, list_src, sizeof(list_src) - 1),
	    (ssize_t)sizeof(list_src) - 1);
	close(fd);
	snprintf(spec, sizeof(spec), "list:%s", path);
	m = rcptmap_open(spec, &e);
	assert_non_null(m);
	assert_string_equal(rcptmap_path(m), path);
	check_lookups(m, "list file");
	rcptmap_free(&m);
	/* the same file as a table: every line lacks its value */
	snprintf(spec, sizeof(spec), "hash:%s", path);
	m = rcptmap_open(spec, &e);
	assert_null(m);
	assert_true(e.count > 0);
	e.count = 0;
	snprintf(spec, sizeof(spec), "regexp:%s", path);
	assert_null(rcptmap_open(spec, &e));
	assert_int_equal(e.count, 1);
	unlink(path);
	e.count = 0;
	assert_null(rcptmap_open(spec + 7, &e));	/* gone */
	assert_int_equal(e.count, 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_format),
		cmocka_unit_test(test_list_format),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_ext_offset),
		cmocka_unit_test(test_lookup_keys),
		cmocka_unit_test(test_open_files),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
