/*
 * test_table.c - Postfix lookup tables from their text form (proxy/table.h).
 *
 * Postfix's own cidr test vectors (tests/data/postfix: dict_cidr.map with
 * the queries of dict_cidr.in and the answers and warnings of dict_cidr.ref;
 * miss_endif_cidr) are run as they are: every warning Postfix prints must be
 * one error of ours, same line, same text, and every lookup must give
 * Postfix's answer (a bad rule is skipped by both; we also refuse the file).
 * Two real allowlists (tests/data/real-rules) are loaded and spot-checked
 * against answers of Postfix 3.7's "postmap -q - cidr:FILE", precomputed
 * into the tables below. Then the hash (postmap source) format and the
 * access(5) lookup orders for addresses and clients.
 */
#include <arpa/inet.h>
#include <netinet/in.h>

#include "unit.h"

#include "config.h"
#include "table.h"

/* ---- helpers ------------------------------------------------------------ */

/* Parses text; the errors printed go to *msgs (malloc'd) when wanted. */
static struct table *
parse(enum table_type type, const char *name, const char *text, size_t len,
    int *errors, char **msgs)
{
	struct cfg_errors e = { 0, 0, NULL };
	struct table *t;
	char *m;

	unit_capture_begin();
	t = table_parse(type, name, text, len, &e);
	m = unit_capture_end();
	assert_non_null(t);
	*errors = e.count;
	if (msgs != NULL)
		*msgs = m;
	else
		free(m);
	return t;
}

static struct table *
parse_ok(enum table_type type, const char *text)
{
	int errors;
	char *msgs;
	struct table *t = parse(type, "t", text, strlen(text), &errors, &msgs);

	if (errors != 0) {
		print_error("unexpected errors:\n%s", msgs);
		fail();
	}
	free(msgs);
	return t;
}

static struct sockaddr_storage *
sa_of(const char *addr, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (strchr(addr, ':') != NULL) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		s6->sin6_family = AF_INET6;
		assert_int_equal(inet_pton(AF_INET6, addr, &s6->sin6_addr), 1);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		s4->sin_family = AF_INET;
		assert_int_equal(inet_pton(AF_INET, addr, &s4->sin_addr), 1);
	}
	return ss;
}

static const struct sockaddr *
sa(const char *addr)
{
	static struct sockaddr_storage ss[4];
	static unsigned k;

	return (const struct sockaddr *)sa_of(addr, &ss[k++ % 4]);
}

static void
assert_value(const char *got, const char *want, const char *what)
{
	if ((got == NULL) != (want == NULL) ||
	    (got != NULL && strcmp(got, want) != 0)) {
		print_error("%s: got %s%s%s, want %s%s%s\n", what,
		    got ? "\"" : "", got ? got : "not found", got ? "\"" : "",
		    want ? "\"" : "", want ? want : "not found",
		    want ? "\"" : "");
		fail();
	}
}

/* ---- Postfix's cidr test vectors ---------------------------------------- */

/*
 * Runs NAME.map against NAME.ref (queries from the "> get KEY" lines).
 * Postfix's "cidr map NAME.map, line N: MSG[: skipping this rule]" is our
 * "NAME.map:N: MSG".
 */
#define SKIPPING	": skipping this rule"

static void
run_postfix_vectors(const char *name)
{
	char mapname[256], path[256], *map, *ref, *msgs, *line, *save;
	size_t maplen;
	struct ubuf want = { 0 };
	struct table *t;
	int errors, warnings = 0, queries = 0;
	char pending[256] = "";

	snprintf(path, sizeof(path), "postfix/%s.map", name);
	map = unit_read_file(unit_data_path(path), &maplen);
	snprintf(path, sizeof(path), "postfix/%s.ref", name);
	ref = unit_read_file(unit_data_path(path), NULL);
	snprintf(mapname, sizeof(mapname), "%s.map", name);
	t = parse(TABLE_CIDR, mapname, map, maplen, &errors, &msgs);

	ubuf_add(&want, "", 0);
	for (line = strtok_r(ref, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		const char *w = strstr(line, ": warning: cidr map ");
		char key[256];

		if (w != NULL) {
			const char *p = w + strlen(": warning: cidr map ");
			size_t n = strlen(mapname), mlen;
			int lineno;
			char *msg;

			assert_memory_equal(p, mapname, n);
			assert_int_equal(sscanf(p + n, ", line %d: ", &lineno),
			    1);
			msg = strchr(p + n, ':') + 2;
			mlen = strlen(msg);
			if (mlen > strlen(SKIPPING) && strcmp(msg + mlen -
			    strlen(SKIPPING), SKIPPING) == 0)
				mlen -= strlen(SKIPPING);
			ubuf_addf(&want, "%s:%d: %.*s\n", mapname, lineno,
			    (int)mlen, msg);
			warnings++;
		} else if (sscanf(line, "> get %255s", key) == 1) {
			snprintf(pending, sizeof(pending), "%s", key);
		} else if (pending[0] != '\0') {
			size_t kl = strlen(pending);
			const char *expect;

			assert_memory_equal(line, pending, kl);
			if (strcmp(line + kl, ": not found") == 0)
				expect = NULL;
			else {
				assert_int_equal(line[kl], '=');
				expect = line + kl + 1;
			}
			{
				char what[300];

				snprintf(what, sizeof(what), "%s: get %s",
				    name, pending);
				assert_value(table_get(t, pending), expect,
				    what);
			}
			pending[0] = '\0';
			queries++;
		}
	}
	/* one error per Postfix warning, in the same order, same words */
	assert_int_equal(errors, warnings);
	if (strcmp(msgs, want.p) != 0) {
		print_error("%s: messages differ\n--- ours:\n%s--- Postfix:\n"
		    "%s", name, msgs, want.p);
		fail();
	}
	assert_true(queries > 0);
	table_free(&t);
	assert_null(t);
	free(map);
	free(ref);
	free(msgs);
	ubuf_free(&want);
}

static void
test_table_postfix_dict_cidr(void **state)
{
	(void)state;
	run_postfix_vectors("dict_cidr");
}

static void
test_table_postfix_miss_endif(void **state)
{
	(void)state;
	run_postfix_vectors("miss_endif_cidr");
}

/* ---- real tables -------------------------------------------------------- */

/* postmap -q - cidr:real-rules/mailcow/postscreen_access.cidr (Postfix 3.7) */
static const struct {
	const char	*addr;
	const char	*value;
} mailcow_answers[] = {
	{ "2a00:1450:4000::", "permit" },
	{ "2a00:1450:4fff:ffff:ffff:ffff:ffff:ffff", "permit" },
	{ "2a00:1450:3fff:ffff:ffff:ffff:ffff:ffff", NULL },
	{ "2a00:1450:5000::", NULL },
	{ "18.208.124.128", "permit" },
	{ "18.208.124.255", "permit" },
	{ "18.208.124.127", NULL },
	{ "18.208.125.0", NULL },
	{ "39.156.163.64", "permit" },
	{ "39.156.163.71", "permit" },
	{ "39.156.163.63", NULL },
	{ "39.156.163.72", NULL },
	{ "52.28.63.81", "permit" },
	{ "52.28.63.80", NULL },
	{ "52.28.63.82", NULL },
	{ "64.207.219.75", "permit" },
	{ "64.207.219.74", "permit" },
	{ "64.207.219.76", "permit" },
	{ "67.195.87.84", "permit" },
	{ "67.195.87.85", "permit" },
	{ "67.195.87.83", "permit" },
	{ "67.195.87.86", "permit" },
	{ "72.30.239.64", "permit" },
	{ "72.30.239.63", NULL },
	{ "72.30.239.65", NULL },
	{ "85.215.255.41", "permit" },
	{ "85.215.255.40", "permit" },
	{ "85.215.255.42", NULL },
	{ "98.136.215.152", "permit" },
	{ "98.136.215.153", "permit" },
	{ "98.136.215.151", "permit" },
	{ "98.136.215.154", NULL },
	{ "98.138.85.252", "permit" },
	{ "98.138.85.253", "permit" },
	{ "98.138.85.251", "permit" },
	{ "98.138.85.254", NULL },
	{ "98.138.199.236", "permit" },
	{ "98.138.199.235", NULL },
	{ "98.138.199.237", NULL },
	{ "98.138.229.32", "permit" },
	{ "98.138.229.33", "permit" },
	{ "98.138.229.31", "permit" },
	{ "98.138.229.34", NULL },
	{ "98.139.220.198", "permit" },
	{ "98.139.220.197", NULL },
	{ "98.139.220.199", NULL },
	{ "106.10.148.68", "permit" },
	{ "106.10.148.71", "permit" },
	{ "106.10.148.67", NULL },
	{ "106.10.148.72", NULL },
	{ "108.174.0.0", "permit" },
	{ "108.174.0.255", "permit" },
	{ "108.173.255.255", NULL },
	{ "108.174.1.0", NULL },
	{ "130.248.172.0", "permit" },
	{ "130.248.172.255", "permit" },
	{ "130.248.171.255", NULL },
	{ "130.248.173.0", "permit" },
	{ "147.243.128.24", "permit" },
	{ "147.243.128.23", NULL },
	{ "147.243.128.25", NULL },
	{ "166.78.69.170", "permit" },
	{ "166.78.69.169", "permit" },
	{ "166.78.69.171", "permit" },
	{ "185.233.189.98", "permit" },
	{ "185.233.189.97", NULL },
	{ "185.233.189.99", NULL },
	{ "194.64.234.129", "permit" },
	{ "194.64.234.128", NULL },
	{ "194.64.234.130", NULL },
	{ "203.188.200.56", "permit" },
	{ "203.188.200.57", "permit" },
	{ "203.188.200.55", NULL },
	{ "203.188.200.58", "permit" },
	{ "208.76.62.0", "permit" },
	{ "208.76.62.255", "permit" },
	{ "208.76.61.255", NULL },
	{ "208.76.63.0", "permit" },
	{ "212.227.126.207", "permit" },
	{ "212.227.126.206", "permit" },
	{ "212.227.126.208", "permit" },
	{ "2001:748:400:3300::4", "permit" },
	{ "2001:748:400:3300::3", "permit" },
	{ "2001:748:400:3300::5", NULL },
	{ "2800:3f0:4864::", "permit" },
	{ "2800:3f0:4864:ff:ffff:ffff:ffff:ffff", "permit" },
	{ "2800:3f0:4863:ffff:ffff:ffff:ffff:ffff", "permit" },
	{ "2800:3f0:4864:100::", "permit" },
	{ "49.12.4.251", "permit # checks.mailcow.email" },
	{ "49.12.4.250", NULL },
	{ "49.12.4.252", NULL },
	{ "2a01:4f8:c17:7906::10", "permit # checks.mailcow.email" },
	{ "2a01:4f8:c17:7906::f", NULL },
	{ "2a01:4f8:c17:7906::11", NULL },
	{ "2a01:111:f400::", "permit" },
	{ "2a01:111:f400:ffff:ffff:ffff:ffff:ffff", "permit" },
	{ "2a01:111:f3ff:ffff:ffff:ffff:ffff:ffff", NULL },
	{ "2a01:111:f401::", NULL },
	{ "2a01:111:f403:8000::", "permit" },
	{ "2a01:111:f403:9fff:ffff:ffff:ffff:ffff", "permit" },
	{ "2a01:111:f403:7fff:ffff:ffff:ffff:ffff", "permit" },
	{ "2a01:111:f403:a000::", NULL },
	{ "159.118.124.69", NULL },
	{ "65.100.216.57", NULL },
	{ "189.229.192.153", NULL },
	{ "91.200.251.188", NULL },
	{ "203.145.206.55", NULL },
	{ "176.193.31.222", NULL },
	{ "241.68.107.234", NULL },
	{ "215.109.67.48", NULL },
	{ "189.105.254.41", NULL },
	{ "166.235.140.158", NULL },
	{ "236.29.125.160", NULL },
	{ "135.176.177.37", NULL },
	{ "127.0.0.1", NULL },
	{ "127.255.255.255", NULL },
	{ "128.0.0.0", NULL },
	{ "126.255.255.255", NULL },
	{ "::1", NULL },
	{ "2a00:1450:4000::1", "permit" },
	{ "2a00:1450:3fff:ffff::1", NULL },
	{ "0.0.0.0", NULL },
	{ "255.255.255.255", NULL },
};

static const struct {
	const char	*addr;
	const char	*value;
} iredmail_answers[] = {
	{ "127.0.0.1", "permit" },
	{ "127.255.255.255", "permit" },
	{ "126.255.255.255", NULL },
	{ "128.0.0.0", NULL },
	{ "1.2.3.4", NULL },		/* commented out */
	{ "2.3.4.5", NULL },
	{ "::1", NULL },
};

static void
test_table_real_mailcow(void **state)
{
	char *text;
	size_t len;
	struct table *t;
	int errors;

	(void)state;
	text = unit_read_file(unit_data_path(
	    "real-rules/mailcow/postscreen_access.cidr"), &len);
	t = parse(TABLE_CIDR, "postscreen_access.cidr", text, len, &errors,
	    NULL);
	assert_int_equal(errors, 0);
	/* "2256 total rules" says its header, plus two added by mailcow */
	assert_int_equal(table_size(t), 2258);
	assert_int_equal(table_type(t), TABLE_CIDR);
	assert_string_equal(table_name(t), "postscreen_access.cidr");
	for (size_t i = 0; i < ARRAY_LEN(mailcow_answers); i++) {
		assert_value(table_get(t, mailcow_answers[i].addr),
		    mailcow_answers[i].value, mailcow_answers[i].addr);
		/* the same through a socket address */
		assert_value(table_get_addr(t, sa(mailcow_answers[i].addr)),
		    mailcow_answers[i].value, mailcow_answers[i].addr);
		assert_value(table_get_client(t, sa(mailcow_answers[i].addr),
		    "ignored.example"), mailcow_answers[i].value,
		    mailcow_answers[i].addr);
	}
	table_free(&t);
	free(text);
}

static void
test_table_real_iredmail(void **state)
{
	char *text;
	size_t len;
	struct table *t;
	int errors;

	(void)state;
	text = unit_read_file(unit_data_path(
	    "real-rules/iredmail/postscreen_access.cidr"), &len);
	t = parse(TABLE_CIDR, "postscreen_access.cidr", text, len, &errors,
	    NULL);
	assert_int_equal(errors, 0);
	assert_int_equal(table_size(t), 1);
	for (size_t i = 0; i < ARRAY_LEN(iredmail_answers); i++)
		assert_value(table_get(t, iredmail_answers[i].addr),
		    iredmail_answers[i].value, iredmail_answers[i].addr);
	table_free(&t);
	free(text);
}

/* ---- cidr details ------------------------------------------------------- */

static void
test_table_cidr_forms(void **state)
{
	static const char text[] =
		"# comment\n"
		"[192.0.2.1]            bracketed v4\n"
		"[2001:db8::1]          bracketed v6\n"
		"[2001:db8:1::]/48      bracketed v6 net\n"
		"198.51.100.0/24\t\tREJECT  two  spaces   \n"
		"2001:db8:2::/48        v6 net\n"
		"10.0.0.0/8             continued\n"
		"  on the next line\n"
		"IF 100.64.0.0/10\n"
		"100.64.0.1             inside if\n"
		"Endif\n"
		"!203.0.113.0/24        not that net (v4 only)\n"
		"::/0                   any v6\n";
	static const struct {
		const char *addr, *value;
	} c[] = {
		{ "192.0.2.1", "bracketed v4" },
		{ "2001:db8::1", "bracketed v6" },
		{ "2001:db8:1:ffff::1", "bracketed v6 net" },
		{ "198.51.100.200", "REJECT  two  spaces" },
		{ "192.0.2.2", "not that net (v4 only)" },
		{ "203.0.113.9", NULL },
		{ "10.1.2.3", "continued  on the next line" },	/* as postmap */
		{ "100.64.0.1", "inside if" },
		{ "100.64.0.2", "not that net (v4 only)" },
		{ "2001:db8:2::5", "v6 net" },
		{ "2001:db8:3::5", "any v6" },
		/* the negation never matches the other family */
		{ "::1", "any v6" },
		{ "not an address", NULL },
		{ "", NULL },
		{ "192.0.2", NULL },
		{ "192.0.2.1/32", NULL },
	};
	struct table *t = parse_ok(TABLE_CIDR, text);

	(void)state;
	assert_int_equal(table_size(t), 11);
	for (size_t i = 0; i < ARRAY_LEN(c); i++)
		assert_value(table_get(t, c[i].addr), c[i].value, c[i].addr);
	/* IPv4-mapped IPv6 clients are looked up as IPv4 (as Postfix) */
	assert_value(table_get_addr(t, sa("::ffff:192.0.2.1")),
	    "bracketed v4", "::ffff:192.0.2.1");
	assert_value(table_get_client(t, sa("::ffff:203.0.113.9"), NULL),
	    NULL, "::ffff:203.0.113.9");
	/* a cidr table answers no name or address-text questions */
	assert_null(table_get_email(t, "u@example.test", '+', NULL));
	assert_null(table_get_domain(t, "example.test"));
	table_free(&t);
}

struct seen {
	struct ubuf	 b;
};

static void
collect(void *arg, const char *file, int line, const char *key,
    const char *value)
{
	struct seen *s = arg;

	ubuf_addf(&s->b, "%s:%d [%s] %s\n", file, line, key, value);
}

static void
test_table_foreach(void **state)
{
	struct table *t;
	struct seen s = { { 0 } };

	(void)state;
	t = parse_ok(TABLE_CIDR, "1.2.3.4 a\nif 1.0.0.0/8\n1.2.3.5 b\n"
	    "endif\n\n::1 c\n   more\n");
	ubuf_add(&s.b, "", 0);
	table_foreach(t, collect, &s);
	assert_string_equal(s.b.p, "t:1 [] a\nt:3 [] b\nt:6 [] c   more\n");
	table_free(&t);
	ubuf_reset(&s.b);
	t = parse_ok(TABLE_HASH, "b.test 2\nA.test 1\n# c\nc.test\n 3\n");
	table_foreach(t, collect, &s);
	assert_string_equal(s.b.p, "t:2 [a.test] 1\nt:1 [b.test] 2\n"
	    "t:4 [c.test] 3\n");
	table_free(&t);
	ubuf_free(&s.b);
}

static const struct {
	const char	*text;
	const char	*msgs;
} cidr_errors[] = {
	{ "1.2.3.4\n", "t:1: no lookup result\n" },
	{ "1.2.3.4/24 x\n", "t:1: non-null host address bits in "
	    "\"1.2.3.4/24\", perhaps you should use \"1.2.3.0/24\" instead\n" },
	{ "1.2.3.0/ x\n", "t:1: bad mask value in \"1.2.3.0/\"\n" },
	{ "1.2.3.0/-1 x\n", "t:1: bad mask value in \"1.2.3.0/-1\"\n" },
	{ "::/129 x\n", "t:1: bad mask length in \"::/129\"\n" },
	{ "0.0.0.0/0032 x\n", "t:1: bad mask length in \"0.0.0.0/0032\"\n" },
	{ "example.test x\n", "t:1: bad address pattern: \"example.test\"\n" },
	{ "[1.2.3.4 x\n", "t:1: missing ']' character after \"[1.2.3.4\"\n" },
	{ "if 1.2.3.4 x\n", "t:1: garbage after IF pattern\n"
	    "" },
	{ "endif\n", "t:1: ENDIF without IF\n" },
	{ "if 1.2.3.0/24\n1.2.3.4 a\n", "t:1: IF has no matching ENDIF\n" },
	{ "if\n", "t:1: no address pattern\n" },
	{ "  1.2.3.4 x\n", "t:1: continuation line without a line before "
	    "it\n" },
	{ "ok 1\n1.2.3.4 x\n", "t:1: bad address pattern: \"ok\"\n" },
	{ "1.2.3.4 a\n\0\n", "t: contains a NUL byte: not a text table\n" },
};

static void
test_table_cidr_errors(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cidr_errors); i++) {
		const char *text = cidr_errors[i].text;
		size_t len = strlen(text);
		int errors;
		char *msgs;
		struct table *t;

		if (strstr(cidr_errors[i].msgs, "NUL") != NULL)
			len += 2;		/* the NUL and its newline */
		t = parse(TABLE_CIDR, "t", text, len, &errors, &msgs);
		assert_int_equal(errors, 1);
		if (strcmp(msgs, cidr_errors[i].msgs) != 0) {
			print_error("\"%s\":\n   got %s  want %s",
			    unit_esc(text, len), msgs, cidr_errors[i].msgs);
			fail();
		}
		free(msgs);
		table_free(&t);
	}
}

static void
test_table_cidr_nesting(void **state)
{
	struct ubuf b = { 0 };
	struct table *t;
	int errors;
	char *msgs;

	(void)state;
	/* 64 levels are fine */
	for (int i = 0; i < 64; i++)
		ubuf_adds(&b, "if 10.0.0.0/8\n");
	ubuf_adds(&b, "10.1.1.1 deep\n");
	for (int i = 0; i < 64; i++)
		ubuf_adds(&b, "endif\n");
	ubuf_adds(&b, "0.0.0.0/0 outside\n");
	t = parse(TABLE_CIDR, "t", b.p, b.len, &errors, NULL);
	assert_int_equal(errors, 0);
	assert_value(table_get(t, "10.1.1.1"), "deep", "deep");
	assert_value(table_get(t, "10.1.1.2"), "outside", "outside");
	assert_value(table_get(t, "11.1.1.1"), "outside", "outside");
	table_free(&t);
	/* 65: refused with a message, no overflow */
	ubuf_reset(&b);
	for (int i = 0; i < 65; i++)
		ubuf_adds(&b, "if 10.0.0.0/8\n");
	for (int i = 0; i < 65; i++)
		ubuf_adds(&b, "endif\n");
	t = parse(TABLE_CIDR, "t", b.p, b.len, &errors, &msgs);
	assert_true(errors >= 1);
	assert_non_null(strstr(msgs, "t:65: IF nested too deep\n"));
	free(msgs);
	table_free(&t);
	ubuf_free(&b);
}

/* ---- hash (postmap source) ---------------------------------------------- */

static void
test_table_hash_parse(void **state)
{
	static const char text[] =
		"# a postmap source file\n"
		"Example.COM            OK\n"
		"user@example.com       REJECT no mail for you   \n"
		"key\tvalue with  inner  spaces\n"
		"\n"
		"   # an indented comment is a comment\n"
		"continued              first part\n"
		"  second part\n"
		"\tthird part\n"
		"keyonly\n"
		"   value on the next line\n"
		"crlf.test              CRLF line\r\n"
		"[192.0.2.1]            bracketed\n"
		"192.0.2                prefix\n"
		"<>                     null sender\n"
		"last.test              no newline at the end";
	static const struct {
		const char *key, *value;
	} c[] = {
		{ "example.com", "OK" },
		{ "EXAMPLE.com", "OK" },
		{ "Example.COM", "OK" },
		{ "user@example.com", "REJECT no mail for you" },
		{ "USER@EXAMPLE.COM", "REJECT no mail for you" },
		{ "key", "value with  inner  spaces" },
		{ "continued", "first part  second part\tthird part" },	/* as postmap */
		{ "keyonly", "value on the next line" },
		{ "crlf.test", "CRLF line" },
		{ "[192.0.2.1]", "bracketed" },
		{ "192.0.2", "prefix" },
		{ "<>", "null sender" },
		{ "last.test", "no newline at the end" },
		{ "OK", NULL },
		{ "example", NULL },
		{ "com", NULL },
		{ "", NULL },
		{ "#", NULL },
		{ "second", NULL },
	};
	struct table *t = parse_ok(TABLE_HASH, text);

	(void)state;
	assert_int_equal(table_size(t), 10);
	assert_int_equal(table_type(t), TABLE_HASH);
	for (size_t i = 0; i < ARRAY_LEN(c); i++)
		assert_value(table_get(t, c[i].key), c[i].value, c[i].key);
	/* a hash table answers an address with its text form */
	assert_value(table_get_addr(t, sa("192.0.2.1")), NULL, "addr");
	table_free(&t);
	t = parse_ok(TABLE_HASH, "192.0.2.1 v4\n2001:db8::1 v6\n");
	assert_value(table_get_addr(t, sa("192.0.2.1")), "v4", "v4");
	assert_value(table_get_addr(t, sa("2001:db8:0::1")), "v6", "v6");
	assert_value(table_get_addr(t, sa("::ffff:192.0.2.1")), "v4",
	    "mapped");
	table_free(&t);
	/* an empty table is a table */
	t = parse_ok(TABLE_HASH, "");
	assert_int_equal(table_size(t), 0);
	assert_null(table_get(t, "x"));
	table_free(&t);
	t = parse_ok(TABLE_HASH, "# nothing but comments\n\n");
	assert_int_equal(table_size(t), 0);
	table_free(&t);
	table_free(&t);			/* NULL-safe */
}

static const struct {
	const char	*text;
	int		 errors;
	const char	*msgs;
} hash_errors[] = {
	{ "a 1\nb 2\na 3\n", 1, "t:3: duplicate entry \"a\"\n" },
	/* keys are folded before they are compared */
	{ "Key 1\nkEY 2\n", 1, "t:2: duplicate entry \"key\"\n" },
	{ "a\n", 1, "t:1: expected format: key whitespace value\n" },
	{ "ok 1\nbad\nok2 2\n", 1, "t:2: expected format: key whitespace "
	    "value\n" },
	{ "  a 1\n", 1, "t:1: continuation line without a line before it\n" },
	{ "# c\n  a 1\n", 1, "t:2: continuation line without a line before "
	    "it\n" },
	{ "a 1\n\0", 1, "t: contains a NUL byte: not a text table\n" },
};

static void
test_table_hash_errors(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(hash_errors); i++) {
		const char *text = hash_errors[i].text;
		size_t len = strlen(text);
		int errors;
		char *msgs;
		struct table *t;

		if (strstr(hash_errors[i].msgs, "NUL") != NULL)
			len++;
		t = parse(TABLE_HASH, "t", text, len, &errors, &msgs);
		assert_int_equal(errors, hash_errors[i].errors);
		if (strcmp(msgs, hash_errors[i].msgs) != 0) {
			print_error("\"%s\":\n   got %s  want %s",
			    unit_esc(text, len), msgs, hash_errors[i].msgs);
			fail();
		}
		free(msgs);
		table_free(&t);
	}
}

/* Three of a kind: two errors (their order follows the sort). */
static void
test_table_hash_triple(void **state)
{
	int errors;
	char *msgs;
	struct table *t;

	(void)state;
	t = parse(TABLE_HASH, "t", "a 1\na 1\nA 1\n", 12, &errors, &msgs);
	assert_int_equal(errors, 2);
	assert_int_equal(strlen(msgs), 2 * strlen("t:2: duplicate entry "
	    "\"a\"\n"));
	assert_non_null(strstr(msgs, "t:2: duplicate entry \"a\"\n"));
	assert_non_null(strstr(msgs, "t:3: duplicate entry \"a\"\n"));
	free(msgs);
	table_free(&t);
}

/* table_open: every prefix Postfix admins write, and the failures. */
static void
test_table_open_file(void **state)
{
	char *path = unit_temp_file("a.test 1\nb.test 2\n");
	char spec[4200];
	struct cfg_errors e = { 0, 0, NULL };
	struct table *t;
	static const char *const prefixes[] = {
		"", "hash:", "btree:", "lmdb:", "texthash:",
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(prefixes); i++) {
		snprintf(spec, sizeof(spec), "%s%s", prefixes[i], path);
		t = table_open(spec, &e);
		assert_non_null(t);
		assert_int_equal(e.count, 0);
		assert_int_equal(table_type(t), TABLE_HASH);
		assert_string_equal(table_name(t), path);
		assert_value(table_get(t, "b.test"), "2", spec);
		table_free(&t);
	}
	snprintf(spec, sizeof(spec), "cidr:%s", path);
	unit_capture_begin();
	t = table_open(spec, &e);
	free(unit_capture_end());
	assert_non_null(t);
	assert_int_equal(table_type(t), TABLE_CIDR);
	assert_int_equal(e.count, 2);		/* not addresses */
	table_free(&t);
	/* unknown type, missing file, a directory */
	e.count = 0;
	snprintf(spec, sizeof(spec), "pcre:%s", path);
	unit_capture_begin();
	assert_null(table_open(spec, &e));
	assert_null(table_open("hash:/nonexistent/table", &e));
	assert_null(table_open("/", &e));
	{
		char *m = unit_capture_end();
		char want[8400];

		snprintf(want, sizeof(want), "%s: unsupported table type "
		    "\"pcre\" (cidr, hash, btree, lmdb, texthash)\n"
		    "/nonexistent/table: cannot read table: No such file or "
		    "directory\n/: cannot read table: not a regular file\n",
		    spec);
		assert_string_equal(m, want);
		free(m);
	}
	assert_int_equal(e.count, 3);
	unlink(path);
	free(path);
}

/* ---- access(5) lookup orders ------------------------------------------- */

/* Builds a hash table whose keys are keys[from..n), each key its own value. */
static struct table *
keys_table(const char *const *keys, size_t from, size_t n)
{
	struct ubuf b = { 0 };
	struct table *t;

	ubuf_add(&b, "", 0);
	for (size_t i = from; i < n; i++)
		ubuf_addf(&b, "%s %s\n", keys[i], keys[i]);
	t = parse_ok(TABLE_HASH, b.p);
	ubuf_free(&b);
	return t;
}

struct email_order {
	const char	*addr;
	char		 delim;
	const char	*keys[12];	/* in lookup order, NULL-terminated */
};

static const struct email_order email_orders[] = {
	{ "User+Ext@Sub.Example.ORG", '+', {
	    "user+ext@sub.example.org", "user@sub.example.org",
	    "sub.example.org", ".example.org", "example.org", ".org", "org",
	    "user+ext@", "user@", NULL } },
	{ "user@example.org", '+', {
	    "user@example.org", "example.org", ".org", "org", "user@",
	    NULL } },
	/* no delimiter configured: the extension is part of the name */
	{ "user+ext@example.org", '\0', {
	    "user+ext@example.org", "example.org", ".org", "org",
	    "user+ext@", NULL } },
	/* another delimiter; only the first one splits */
	{ "a-b-c@x.test", '-', {
	    "a-b-c@x.test", "a@x.test", "x.test", ".test", "test",
	    "a-b-c@", "a@", NULL } },
	/* a delimiter first is no extension */
	{ "+ext@x.test", '+', {
	    "+ext@x.test", "x.test", ".test", "test", "+ext@", NULL } },
	/* no domain */
	{ "user+ext", '+', { "user+ext", "user", NULL } },
	{ "postmaster", '+', { "postmaster", NULL } },
	/* the null sender */
	{ "", '+', { "<>", NULL } },
	/* quoted local part with an @: the last @ splits */
	{ "\"a@b\"@x.test", '+', {
	    "\"a@b\"@x.test", "x.test", ".test", "test", "\"a@b\"@", NULL } },
};

static void
test_table_email_order(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(email_orders); i++) {
		const struct email_order *o = &email_orders[i];
		size_t n = 0;

		while (o->keys[n] != NULL)
			n++;
		/* with keys[k..n) present, keys[k] is what answers */
		for (size_t k = 0; k < n; k++) {
			struct table *t = keys_table(o->keys, k, n);
			const char *matched = "unset";
			const char *v = table_get_email(t, o->addr, o->delim,
			    &matched);
			char what[200];

			snprintf(what, sizeof(what), "\"%s\" with keys from "
			    "\"%s\"", o->addr, o->keys[k]);
			assert_value(v, o->keys[k], what);
			/* the key that matched, as the header promises */
			assert_value(matched, o->keys[k], what);
			assert_value(table_get_email(t, o->addr, o->delim,
			    NULL), o->keys[k], what);
			table_free(&t);
		}
		/* none present: NULL, and matched says so */
		{
			struct table *t = parse_ok(TABLE_HASH,
			    "unrelated.test x\n");
			const char *matched = "unset";

			assert_null(table_get_email(t, o->addr, o->delim,
			    &matched));
			assert_null(matched);
			table_free(&t);
		}
	}
}

/* Addresses longer than any lookup key: not found, no overrun. */
static void
test_table_email_long(void **state)
{
	struct ubuf b = { 0 };
	struct table *t = parse_ok(TABLE_HASH, "example.org x\n");

	(void)state;
	for (int i = 0; i < 600; i++)
		ubuf_adds(&b, "a");
	ubuf_adds(&b, "@example.org");
	assert_null(table_get_email(t, b.p, '+', NULL));
	table_free(&t);
	ubuf_free(&b);
}

static void
test_table_domain(void **state)
{
	const char *keys[] = {
		"mail.sub.example.org", ".sub.example.org", "sub.example.org",
		".example.org", "example.org", ".org", "org",
	};

	(void)state;
	for (size_t k = 0; k < ARRAY_LEN(keys); k++) {
		struct table *t = keys_table(keys, k, ARRAY_LEN(keys));

		assert_value(table_get_domain(t, "Mail.Sub.Example.Org"),
		    keys[k], keys[k]);
		table_free(&t);
	}
}

struct client_order {
	const char	*addr;
	const char	*name;
	const char	*keys[12];
};

static const struct client_order client_orders[] = {
	{ "192.0.2.10", "mail.Example.ORG", {
	    "mail.example.org", ".example.org", "example.org", ".org", "org",
	    "192.0.2.10", "192.0.2", "192.0", "192", NULL } },
	{ "192.0.2.10", NULL, { "192.0.2.10", "192.0.2", "192.0", "192",
	    NULL } },
	{ "::ffff:192.0.2.10", NULL, { "192.0.2.10", "192.0.2", "192.0",
	    "192", NULL } },
	{ "2001:db8:1:2::5", NULL, { "2001:db8:1:2::5", "2001:db8:1:2",
	    "2001:db8:1", "2001:db8", "2001", NULL } },
	{ "2001:DB8:0:0:0:0:0:1", "x.test", { "x.test", ".test", "test",
	    "2001:db8::1", "2001:db8", "2001", NULL } },
	{ "::1", NULL, { "::1", NULL } },
};

static void
test_table_client_order(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(client_orders); i++) {
		const struct client_order *o = &client_orders[i];
		size_t n = 0;

		while (o->keys[n] != NULL)
			n++;
		for (size_t k = 0; k < n; k++) {
			struct table *t = keys_table(o->keys, k, n);
			char what[200];

			snprintf(what, sizeof(what), "%s/%s from \"%s\"",
			    o->addr, o->name ? o->name : "-", o->keys[k]);
			assert_value(table_get_client(t, sa(o->addr),
			    o->name), o->keys[k], what);
			table_free(&t);
		}
	}
}

/* A prefix is a whole label: "192.0.2" never matches 192.0.20.1. */
static void
test_table_client_prefix_bounds(void **state)
{
	struct table *t = parse_ok(TABLE_HASH, "192.0.2 a\n2001:db8:1 b\n"
	    "10 c\n");

	(void)state;
	assert_value(table_get_client(t, sa("192.0.2.1"), NULL), "a", "1");
	assert_value(table_get_client(t, sa("192.0.20.1"), NULL), NULL, "2");
	assert_value(table_get_client(t, sa("192.0.22.1"), NULL), NULL, "3");
	assert_value(table_get_client(t, sa("2001:db8:1::9"), NULL), "b", "4");
	assert_value(table_get_client(t, sa("2001:db8:10::9"), NULL), NULL,
	    "5");
	assert_value(table_get_client(t, sa("10.9.9.9"), NULL), "c", "6");
	assert_value(table_get_client(t, sa("100.9.9.9"), NULL), NULL, "7");
	table_free(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_postfix_dict_cidr),
		cmocka_unit_test(test_table_postfix_miss_endif),
		cmocka_unit_test(test_table_real_mailcow),
		cmocka_unit_test(test_table_real_iredmail),
		cmocka_unit_test(test_table_cidr_forms),
		cmocka_unit_test(test_table_foreach),
		cmocka_unit_test(test_table_cidr_errors),
		cmocka_unit_test(test_table_cidr_nesting),
		cmocka_unit_test(test_table_hash_parse),
		cmocka_unit_test(test_table_hash_errors),
		cmocka_unit_test(test_table_hash_triple),
		cmocka_unit_test(test_table_open_file),
		cmocka_unit_test(test_table_email_order),
		cmocka_unit_test(test_table_email_long),
		cmocka_unit_test(test_table_domain),
		cmocka_unit_test(test_table_client_order),
		cmocka_unit_test(test_table_client_prefix_bounds),
	};

	return cmocka_run_group_tests_name("table", tests, NULL, NULL);
}
