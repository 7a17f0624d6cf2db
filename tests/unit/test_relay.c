/*
 * test_relay.c - relay domains and the recipient check (proxy/relay.h).
 *
 * No configuration may make mxguard an open relay: only listed domains
 * (".parent" entries cover subdomains, never the parent itself), and no
 * sender-specified routing (%, !, a second @, quoted or not, address
 * literals, source routes), as Postfix's reject_unauth_destination.
 */
#include "unit.h"

#include "config.h"
#include "relay.h"

static const char relay_file_text[] =
	"# relay domains, one per line (Postfix relay_domains file)\n"
	"\n"
	"file-domain.test\n"
	".file-parent.test\n"
	"   # an indented comment\n"
	"hashstyle.test OK\n"
	"crlf.test\r\n"
	"Upper.File.Test\n"
	"last.test";			/* no newline at the end: still read */

static char *relay_file;

static int
setup(void **state)
{
	(void)state;
	relay_file = unit_temp_file(relay_file_text);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	unlink(relay_file);
	free(relay_file);
	return 0;
}

/* Builds from a list of entries; stderr goes to *msgs (may be NULL). */
static struct relay_domains *
build(const char *const *ents, size_t n, int *errors, char **msgs)
{
	struct cfg_list l = { (char **)ents, n };
	struct cfg_errors e = { 0, 0, NULL };
	struct relay_domains *r;
	char *m;

	unit_capture_begin();
	r = relay_domains_build(&l, "mxguard.conf", 7, &e);
	m = unit_capture_end();
	if (msgs != NULL)
		*msgs = m;
	else
		free(m);
	*errors = e.count;
	return r;
}

static void
test_relay_domain_ok(void **state)
{
	const char *ents[] = {
		"example.org", ".example.net", "Mixed.Case.Test",
		"trailing.test.", ".Parent.Upper.TEST.", relay_file,
	};
	static const struct {
		const char	*domain;
		int		 ok;
	} c[] = {
		{ "example.org", 1 },
		{ "EXAMPLE.ORG", 1 },
		{ "Example.Org", 1 },
		{ "example.org.", 1 },
		/* exact entries do not cover subdomains */
		{ "sub.example.org", 0 },
		{ "a.b.example.org", 0 },
		/* ".parent" entries cover subdomains only */
		{ "example.net", 0 },
		{ "a.example.net", 1 },
		{ "a.b.c.example.net", 1 },
		{ "A.Example.NET.", 1 },
		{ "x.parent.upper.test", 1 },
		{ "parent.upper.test", 0 },
		/* lookalikes */
		{ "badexample.net", 0 },
		{ "aexample.org", 0 },
		{ "example.org.evil.test", 0 },
		{ "example.net.evil.test", 0 },
		{ "example.or", 0 },
		{ "xample.org", 0 },
		{ "org", 0 },
		{ "net", 0 },
		{ "mixed.case.test", 1 },
		{ "trailing.test", 1 },
		{ "trailing.test.", 1 },
		/* from the file */
		{ "file-domain.test", 1 },
		{ "x.file-parent.test", 1 },
		{ "file-parent.test", 0 },
		{ "hashstyle.test", 1 },
		{ "ok", 0 },
		{ "crlf.test", 1 },
		{ "upper.file.test", 1 },
		{ "last.test", 1 },
		/* not domains at all */
		{ "", 0 },
		{ ".", 0 },
		{ "..", 0 },
		{ "example.org..", 0 },
		{ "[192.0.2.1]", 0 },
		{ "[example.org]", 0 },
		{ "ex ample.org", 0 },
		/*
		 * An empty label is no subdomain of a listed parent: the
		 * domain of "u@.example.net" is not a domain (RFC 5321
		 * 4.1.2: sub-domain is at least one character).
		 */
		{ ".example.net", 0 },
		{ "a..example.net", 0 },
		{ "..example.net", 0 },
		{ "a.%.example.net", 0 },
	};
	struct relay_domains *r;
	int errors;

	(void)state;
	r = build(ents, ARRAY_LEN(ents), &errors, NULL);
	assert_int_equal(errors, 0);
	/* 5 listed + 6 from the file */
	assert_int_equal(relay_domains_count(r), 11);
	for (size_t i = 0; i < ARRAY_LEN(c); i++)
		if (relay_domain_ok(r, c[i].domain) != c[i].ok) {
			print_error("\"%s\": want %d\n", c[i].domain, c[i].ok);
			fail();
		}
	relay_domains_free(&r);
	assert_null(r);
	relay_domains_free(&r);		/* NULL-safe */
	assert_int_equal(relay_domain_ok(NULL, "example.org"), 0);
	assert_int_equal(relay_domains_count(NULL), 0);
}

/* A domain longer than any DNS name is refused, not cut and matched. */
static void
test_relay_domain_long(void **state)
{
	const char *ents[] = { ".example.org" };
	struct relay_domains *r;
	struct ubuf d = { 0 };
	int errors;

	(void)state;
	r = build(ents, 1, &errors, NULL);
	for (int i = 0; i < 60; i++)
		ubuf_adds(&d, "abcd.");
	ubuf_adds(&d, "example.org");		/* 311 bytes */
	assert_int_equal(relay_domain_ok(r, d.p), 0);
	ubuf_reset(&d);
	for (int i = 0; i < 48; i++)
		ubuf_adds(&d, "abcd.");
	ubuf_adds(&d, "example.org");		/* 251 bytes */
	assert_int_equal(relay_domain_ok(r, d.p), 1);
	ubuf_free(&d);
	relay_domains_free(&r);
}

static void
test_relay_rcpt_ok(void **state)
{
	const char *ents[] = { "example.org", ".example.net" };
	static const struct {
		const char	*addr;
		const char	*why;		/* NULL: relayable */
	} c[] = {
		{ "u@example.org", NULL },
		{ "U@EXAMPLE.ORG", NULL },
		{ "u@example.org.", NULL },
		{ "u+tag@example.org", NULL },
		{ "first.last@example.org", NULL },
		{ "\"u x\"@example.org", NULL },
		{ "u@a.example.net", NULL },
		{ "u@example.net", "domain not in relay_domains" },
		{ "u@sub.example.org", "domain not in relay_domains" },
		{ "u@unknown.test", "domain not in relay_domains" },
		{ "u@", "domain not in relay_domains" },
		{ "u@.example.net", "domain not in relay_domains" },
		{ "u@example.org.evil.test", "domain not in relay_domains" },
		/* sender-specified routing, RFC 5321 3.6.1 and Postfix */
		{ "u%other.test@example.org", "sender-specified routing" },
		{ "u!other.test@example.org", "sender-specified routing" },
		{ "other.test!u@example.org", "sender-specified routing" },
		{ "u@other.test@example.org", "sender-specified routing" },
		{ "\"u@other.test\"@example.org", "sender-specified routing" },
		{ "\"u%other.test\"@example.org", "sender-specified routing" },
		{ "\"u!x\"@example.org", "sender-specified routing" },
		{ "%@example.org", "sender-specified routing" },
		{ "u@example.org@example.org", "sender-specified routing" },
		/* address literals: never ours */
		{ "u@[192.0.2.1]", "address literal" },
		{ "u@[IPv6:2001:db8::1]", "address literal" },
		{ "u@[example.org]", "address literal" },
		/* source routes */
		{ "@a.test:u@example.org", "source route" },
		{ "@a.test,@b.test:u@example.org", "source route" },
		{ "@example.org", "source route" },
		/* no domain */
		/* RFC 5321 4.5.1 says accept it; a backup would bounce it */
		{ "postmaster", "no domain" },
		{ "u", "no domain" },
		{ "", "no domain" },
	};
	struct relay_domains *r;
	int errors;

	(void)state;
	r = build(ents, ARRAY_LEN(ents), &errors, NULL);
	assert_int_equal(errors, 0);
	for (size_t i = 0; i < ARRAY_LEN(c); i++) {
		const char *why = "unset";
		int rc = relay_rcpt_ok(r, c[i].addr, &why);

		if ((c[i].why == NULL) != (rc == 0) ||
		    (c[i].why == NULL && why != NULL) ||
		    (c[i].why != NULL && (why == NULL ||
		    strcmp(why, c[i].why) != 0))) {
			print_error("\"%s\": %d \"%s\", want \"%s\"\n",
			    c[i].addr, rc, unit_escs(why), unit_escs(c[i].why));
			fail();
		}
	}
	relay_domains_free(&r);
}

static const struct {
	const char	*ent;
	const char	*msg;		/* the expected stderr, FILE:LINE */
} bad_entries[] = {
	{ "ex!ample.org", "mxguard.conf:7: relay_domains: \"ex!ample.org\" "
	    "is not a domain\n" },
	{ ".", "mxguard.conf:7: relay_domains: \".\" is not a domain\n" },
	{ "..", "mxguard.conf:7: relay_domains: \"..\" is not a domain\n" },
	{ "a..b", "mxguard.conf:7: relay_domains: \"a..b\" is not a domain\n" },
	{ ".a..b", "mxguard.conf:7: relay_domains: \".a..b\" is not a "
	    "domain\n" },
	{ "[192.0.2.1]", "mxguard.conf:7: relay_domains: \"[192.0.2.1]\" is "
	    "not a domain\n" },
	{ "*.example.org", "mxguard.conf:7: relay_domains: \"*.example.org\" "
	    "is not a domain\n" },
	{ "a@example.org", "mxguard.conf:7: relay_domains: \"a@example.org\" "
	    "is not a domain\n" },
	{ "/nonexistent/relay_domains", "/nonexistent/relay_domains: cannot "
	    "open: No such file or directory\n" },
};

static void
test_relay_build_errors(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(bad_entries); i++) {
		const char *ents[] = { "good.test", bad_entries[i].ent };
		struct relay_domains *r;
		int errors;
		char *msgs;

		r = build(ents, 2, &errors, &msgs);
		assert_int_equal(errors, 1);
		assert_string_equal(msgs, bad_entries[i].msg);
		/* the good entry still counts, the bad one matches nothing */
		assert_int_equal(relay_domains_count(r), 1);
		assert_true(relay_domain_ok(r, "good.test"));
		free(msgs);
		relay_domains_free(&r);
	}
}

/* Labels of 63 bytes at most, 255 bytes in all (RFC 1035 2.3.4). */
static void
test_relay_build_lengths(void **state)
{
	struct ubuf d = { 0 };
	const char *ents[1];
	struct relay_domains *r;
	int errors;
	char *msgs;

	(void)state;
	for (int i = 0; i < 63; i++)
		ubuf_adds(&d, "a");
	ubuf_adds(&d, ".test");
	ents[0] = d.p;
	r = build(ents, 1, &errors, NULL);
	assert_int_equal(errors, 0);
	assert_true(relay_domain_ok(r, d.p));
	relay_domains_free(&r);

	ubuf_reset(&d);
	for (int i = 0; i < 64; i++)
		ubuf_adds(&d, "a");
	ubuf_adds(&d, ".test");
	ents[0] = d.p;
	r = build(ents, 1, &errors, &msgs);
	assert_int_equal(errors, 1);
	assert_non_null(strstr(msgs, "is not a domain"));
	free(msgs);
	relay_domains_free(&r);

	ubuf_reset(&d);
	for (int i = 0; i < 70; i++)
		ubuf_adds(&d, "abc.");
	ubuf_adds(&d, "test");			/* 284 bytes */
	ents[0] = d.p;
	r = build(ents, 1, &errors, &msgs);
	assert_int_equal(errors, 1);
	assert_non_null(strstr(msgs, "too long"));
	assert_int_equal(relay_domains_count(r), 0);
	free(msgs);
	relay_domains_free(&r);
	ubuf_free(&d);
}

/* File errors name the file and its line. */
static void
test_relay_file_errors(void **state)
{
	struct ubuf text = { 0 };
	char *path, *msgs, *want;
	const char *ents[1];
	struct relay_domains *r;
	int errors;

	(void)state;
	ubuf_adds(&text, "ok.test\n"
	    " indented.test\n"
	    "bad!domain.test\n"
	    "\n"
	    "# comment\n");
	for (int i = 0; i < 1100; i++)
		ubuf_adds(&text, "x");
	ubuf_adds(&text, "\nafter.test\n");
	path = unit_temp_file(text.p);
	ents[0] = path;
	r = build(ents, 1, &errors, &msgs);
	assert_int_equal(errors, 3);
	want = malloc(strlen(path) * 3 + 256);
	sprintf(want, "%s:2: continuation lines are not supported here\n"
	    "%s:3: relay_domains: \"bad!domain.test\" is not a domain\n"
	    "%s:6: line too long\n", path, path, path);
	assert_string_equal(msgs, want);
	assert_int_equal(relay_domains_count(r), 2);
	assert_true(relay_domain_ok(r, "ok.test"));
	assert_true(relay_domain_ok(r, "after.test"));
	assert_false(relay_domain_ok(r, "indented.test"));
	relay_domains_free(&r);
	unlink(path);
	free(path);
	free(msgs);
	free(want);
	ubuf_free(&text);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_relay_domain_ok),
		cmocka_unit_test(test_relay_domain_long),
		cmocka_unit_test(test_relay_rcpt_ok),
		cmocka_unit_test(test_relay_build_errors),
		cmocka_unit_test(test_relay_build_lengths),
		cmocka_unit_test(test_relay_file_errors),
	};

	return cmocka_run_group_tests_name("relay", tests, setup, teardown);
}
