/*
 * test_spf_macro.c - RFC 7208 macros and the record rewrite that keeps
 * libspf2's macro code out of reach; the answer parsing of proxy/dns.c.
 *
 * Oracles: the examples of RFC 7208 7.4 (expansions), its ABNF (7.1,
 * 4.6.1, 5.6), and the libspf2 defect LIBRARIES.md 2 measured (%{l1r-}
 * of "user").
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../filters/spf_macro.h"
#include "../../proxy/dns.h"

#define LEN(a)	(sizeof(a) / sizeof((a)[0]))

static const char *
p_fn(void *arg, const char *domain)
{
	(void)arg;
	(void)domain;
	return "mx.example.com";
}

static void
ctx4(struct spf_macro_ctx *m, const char *local)
{
	static char sender[300];

	snprintf(sender, sizeof(sender), "%s@email.example.com", local);
	memset(m, 0, sizeof(*m));
	m->sender = sender;
	m->local = local;
	m->sender_domain = "email.example.com";
	m->domain = "email.example.com";
	m->ip = "192.0.2.3";
	m->ip_readable = "192.0.2.3";
	m->ip_version = "in-addr";
	m->helo = "mx.example.org";
	m->receiver = "mx.example.net";
	m->timestamp = "1700000000";
	m->validated = p_fn;
	m->family = AF_INET;
}

static const struct {
	const char *in, *out;
} rfc_examples[] = {
	/* RFC 7208 7.4, sender strong-bad@email.example.com, 192.0.2.3 */
	{ "%{s}", "strong-bad@email.example.com" },
	{ "%{o}", "email.example.com" },
	{ "%{d}", "email.example.com" },
	{ "%{d4}", "email.example.com" },
	{ "%{d3}", "email.example.com" },
	{ "%{d2}", "example.com" },
	{ "%{d1}", "com" },
	{ "%{dr}", "com.example.email" },
	{ "%{d2r}", "example.email" },
	{ "%{l}", "strong-bad" },
	{ "%{l-}", "strong.bad" },
	{ "%{lr}", "strong-bad" },
	{ "%{lr-}", "bad.strong" },
	{ "%{l1r-}", "strong" },
	{ "%{ir}.%{v}._spf.%{d2}", "3.2.0.192.in-addr._spf.example.com" },
	{ "%{lr-}.lp._spf.%{d2}", "bad.strong.lp._spf.example.com" },
	{ "%{lr-}.lp.%{ir}.%{v}._spf.%{d2}",
	    "bad.strong.lp.3.2.0.192.in-addr._spf.example.com" },
	{ "%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}",
	    "3.2.0.192.in-addr.strong.lp._spf.example.com" },
	{ "%{d2}.trusted-domains.example.net",
	    "example.com.trusted-domains.example.net" },
	/* the rest of 7.1 */
	{ "%{p}.ok", "mx.example.com.ok" },
	{ "%{h}", "mx.example.org" },
	{ "%{D2}", "example.com" },
	{ "a%%b%_c%-d", "a%b c%20d" },
	{ "%{d200}", "email.example.com" },
	{ "%{l+-}", "strong.bad" },
};

static void
test_rfc_examples(void **state)
{
	struct spf_macro_ctx m;

	(void)state;
	ctx4(&m, "strong-bad");
	for (size_t i = 0; i < LEN(rfc_examples); i++) {
		char out[600];
		size_t n;
		enum spf_macro_rc rc = spf_macro_expand(rfc_examples[i].in,
		    strlen(rfc_examples[i].in), SPF_MACRO_DOMAIN, &m, out,
		    sizeof(out), &n);

		if (rc != SPF_MACRO_OK || strcmp(out, rfc_examples[i].out)) {
			print_error("%s: rc %d \"%s\", want \"%s\"\n",
			    rfc_examples[i].in, rc, out, rfc_examples[i].out);
			fail();
		}
	}
}

/* What libspf2 1.2.10 gets wrong (LIBRARIES.md 2). */
static void
test_libspf2_defects(void **state)
{
	struct spf_macro_ctx m;
	char out[600];
	size_t n;

	(void)state;
	ctx4(&m, "user");
	assert_int_equal(spf_macro_expand("%{l1r-}", 7, SPF_MACRO_DOMAIN, &m,
	    out, sizeof(out), &n), SPF_MACRO_OK);
	assert_string_equal(out, "user");		/* libspf2: "ser" */
	ctx4(&m, "ab-cd");
	spf_macro_expand("%{l1r-}", 7, SPF_MACRO_DOMAIN, &m, out, sizeof(out),
	    &n);
	assert_string_equal(out, "ab");
	/* explanations: spaces stay spaces, every macro expands */
	ctx4(&m, "user");
	assert_int_equal(spf_macro_expand("%{i} is not allowed for %{d}", 28,
	    SPF_MACRO_EXPLAIN, &m, out, sizeof(out), &n), SPF_MACRO_OK);
	assert_string_equal(out, "192.0.2.3 is not allowed for "
	    "email.example.com");
	/* uppercase: URL escaping of everything not unreserved (7.3) */
	ctx4(&m, "~jack&jill=up-a_b3.c");
	spf_macro_expand("%{L}", 4, SPF_MACRO_EXPLAIN, &m, out, sizeof(out),
	    &n);
	assert_string_equal(out, "~jack%26jill%3Dup-a_b3.c");
	/* c, r, t in explanations only */
	ctx4(&m, "x");
	assert_int_equal(spf_macro_expand("%{c} %{r} %{t}", 14,
	    SPF_MACRO_EXPLAIN, &m, out, sizeof(out), &n), SPF_MACRO_OK);
	assert_string_equal(out, "192.0.2.3 mx.example.net 1700000000");
}

static const char *const syntax_errors[] = {
	"%", "%x", "%{x}", "%{d0}", "%{d", "%{}", "%{d2r+x}", "a b", "%{c}",
	"%{r}", "%{t}", "\x80", "%{1}", "%(ir)",
};

static void
test_macro_syntax(void **state)
{
	struct spf_macro_ctx m;

	(void)state;
	ctx4(&m, "x");
	for (size_t i = 0; i < LEN(syntax_errors); i++) {
		char out[600];
		size_t n;

		if (spf_macro_expand(syntax_errors[i], strlen(syntax_errors[i]),
		    SPF_MACRO_DOMAIN, &m, out, sizeof(out), &n) !=
		    SPF_MACRO_SYNTAX) {
			print_error("\"%s\" accepted\n", syntax_errors[i]);
			fail();
		}
	}
}

static const struct { const char *spec; int ok; } domain_ends[] = {
	{ "foo.example.com", 1 },
	{ "foo.example.com.", 1 },
	{ "%{d}", 1 },
	{ "foo.%{d}", 1 },
	{ "%{i}._spf.%{d2}", 1 },
	{ "a%%", 1 },			/* %% is a macro-expand too */
	{ "museum", 0 },		/* only a top label */
	{ "museum.", 0 },
	{ "foo.123", 0 },		/* all-numeric top label */
	{ "foo.-com", 0 },
	{ "foo.co-m", 1 },
	{ "foo.1com", 1 },
	{ "%{d}.", 0 },
	{ "foo.bar_", 0 },
};

static void
test_domain_end(void **state)
{
	(void)state;
	for (size_t i = 0; i < LEN(domain_ends); i++)
		if (spf_domain_end_valid(domain_ends[i].spec,
		    strlen(domain_ends[i].spec)) != domain_ends[i].ok) {
			print_error("%s: want %d\n", domain_ends[i].spec,
			    domain_ends[i].ok);
			fail();
		}
}

/* 7.3: cut left labels to 253; bytes libspf2 must not parse escaped */
static void
test_domain_finish(void **state)
{
	char raw[600], out[1200], back[600];
	size_t n = 0;

	(void)state;
	for (int i = 0; i < 10; i++)
		n += (size_t)snprintf(raw + n, sizeof(raw) - n, "%s%s",
		    i ? "." : "", "somewhat.long.exp.example.com");
	n += (size_t)snprintf(raw + n, sizeof(raw) - n, ".example.com");
	assert_true(n > 253);
	assert_int_equal(spf_domain_finish(raw, n, out, sizeof(out)), 0);
	assert_true(strlen(out) <= 253);
	assert_string_equal(out + strlen(out) - 12, ".example.com");
	assert_true(out[0] != '.');
	assert_int_equal(spf_domain_finish("a b%c\\.example.com.", 19, out,
	    sizeof(out)), 0);
	assert_string_equal(out, "a\\032b\\037c\\092.example.com");
	spf_domain_unescape(out, back, sizeof(back));
	assert_string_equal(back, "a b%c\\.example.com");
	/* one label longer than 253: nothing can be left */
	memset(raw, 'x', 300);
	assert_int_equal(spf_domain_finish(raw, 300, out, sizeof(out)), 0);
	assert_string_equal(out, "");
}

static const struct {
	const char *in;
	int family;
	const char *out;	/* NULL: invalid (permerror) */
} rewrites[] = {
	{ "v=spf1 -all", AF_INET, "v=spf1 -all" },
	{ "V=SPF1 ip4:192.0.2.0/24 ~ALL", AF_INET,
	    "v=spf1 ip4:192.0.2.0/24 ~ALL" },
	{ "v=spf1 a mx -all", AF_INET, "v=spf1 a mx -all" },
	{ "v=spf1 include:_spf.%{d2} -all", AF_INET,
	    "v=spf1 include:_spf.example.com -all" },
	{ "v=spf1 exists:%{ir}.%{l1r-}.lp.%{d2} -all", AF_INET,
	    "v=spf1 exists:3.2.0.192.x.lp.example.com -all" },
	/* modifiers after the mechanisms; unknown ones dropped */
	{ "v=spf1 redirect=_spf.example.com exp=%{d2}.exp.example.com "
	    "moo=cow ip4:1.2.3.4", AF_INET,
	    "v=spf1 ip4:1.2.3.4 redirect=_spf.example.com "
	    "exp=example.com.exp.example.com" },
	{ "v=spf1 a:%{H} -all", AF_INET, "v=spf1 a:mx.example.org -all" },
	/* CIDR: checked, /0 emulated */
	{ "v=spf1 a/24 mx:mx.example.com/24//64 -all", AF_INET,
	    "v=spf1 a/24 mx:mx.example.com/24//64 -all" },
	{ "v=spf1 a/0 -all", AF_INET, "v=spf1 a:email.example.com./32 -all" },
	{ "v=spf1 a//0 -all", AF_INET, "v=spf1 a//128 -all" },
	{ "v=spf1 a//0 -all", AF_INET6,
	    "v=spf1 a:email.example.com.//128 -all" },
	{ "v=spf1 mx:m.example.com/0//64 -all", AF_INET,
	    "v=spf1 mx:m.example.com./32 -all" },
	{ "v=spf1 ip4:1.2.3.4/0 -all", AF_INET, "v=spf1 all -all" },
	{ "v=spf1 -ip4:1.2.3.4/0", AF_INET6, "v=spf1 -ip4:1.2.3.4" },
	{ "v=spf1 ip6:::1/0", AF_INET6, "v=spf1 all" },
	/* invalid */
	{ "v=spf1 ip4:1.2.3.4/032 -all", AF_INET, NULL },
	{ "v=spf1 ip4:1.2.3.4/33", AF_INET, NULL },
	{ "v=spf1 a/", AF_INET, NULL },
	{ "v=spf1 a:example.com/0x", AF_INET, NULL },
	{ "v=spf1 moo", AF_INET, NULL },
	{ "v=spf1 redirect:t2.example.com", AF_INET, NULL },
	{ "v=spf1 a:museum -all", AF_INET, NULL },
	{ "v=spf1 exists:%(ir).sbl.example.com", AF_INET, NULL },
	{ "v=spf1 -all exp=%{r}.example.com", AF_INET, NULL },
	{ "v=spf1 a:ctrl.example.com\rptr -all", AF_INET, NULL },
	{ "v=spf1 a:\xef\xbb\xbfgarbage.example.net -all", AF_INET, NULL },
	{ "v=spf1 redirect=a.example.com redirect=b.example.com", AF_INET,
	    NULL },
	{ "v=spf1 moo=%{", AF_INET, NULL },
	{ "v=spf1 ip4:1.2.3.4%{d}", AF_INET, NULL },
	{ "v=spf10", AF_INET, NULL },
	{ "v=spf1 include:", AF_INET, NULL },
};

static void
test_rewrite(void **state)
{
	(void)state;
	for (size_t i = 0; i < LEN(rewrites); i++) {
		struct spf_macro_ctx m;
		char out[SPF_RECORD_MAX], why[200] = "";
		int rc;

		ctx4(&m, "x");
		m.family = rewrites[i].family;
		rc = spf_record_rewrite(rewrites[i].in, strlen(rewrites[i].in),
		    &m, out, sizeof(out), why, sizeof(why));
		if (rewrites[i].out == NULL ? rc != -1 : (rc != 0 ||
		    strcmp(out, rewrites[i].out) != 0)) {
			print_error("case %zu \"%s\": rc %d \"%s\" (%s), want "
			    "\"%s\"\n", i, rewrites[i].in, rc, rc == 0 ? out : "",
			    why, rewrites[i].out ? rewrites[i].out : "invalid");
			fail();
		}
	}
}

/* ---- proxy/dns.c: answers as unbound hands them ---------------------- */

static void
test_rdata(void **state)
{
	struct dns_rr rr;
	static const unsigned char txt[] = "\x06v=spf1\x05 -all";
	static const unsigned char bad_txt[] = "\x09v=spf1";
	static const unsigned char mx[] = "\x00\x0a\x04mail\x07" "example\x03"
	    "com\x00";
	static const unsigned char odd[] = "\x03" "a b\x04" "x.y\\\x00";
	static const unsigned char ptr_compressed[] = "\x04mail\xc0\x0c";
	static const unsigned char a[] = { 192, 0, 2, 1 };
	char name[DNS_NAME_MAX];

	(void)state;
	assert_int_equal(dns_rdata_parse(DNS_T_TXT, txt, sizeof(txt) - 1, &rr),
	    0);
	assert_string_equal(rr.text, "v=spf1 -all");	/* joined, 3.3 */
	free(rr.text);
	assert_int_equal(dns_rdata_parse(DNS_T_TXT, bad_txt,
	    sizeof(bad_txt) - 1, &rr), -1);
	assert_int_equal(dns_rdata_parse(DNS_T_MX, mx, sizeof(mx) - 1, &rr), 0);
	assert_int_equal(rr.pref, 10);
	assert_string_equal(rr.text, "mail.example.com");
	free(rr.text);
	assert_int_equal(dns_rdata_parse(DNS_T_PTR, odd, sizeof(odd) - 1, &rr),
	    0);
	assert_string_equal(rr.text, "a\\032b.x\\046y\\092");
	free(rr.text);
	assert_int_equal(dns_rdata_parse(DNS_T_PTR, ptr_compressed,
	    sizeof(ptr_compressed) - 1, &rr), -1);
	assert_int_equal(dns_rdata_parse(DNS_T_A, a, 4, &rr), 0);
	assert_int_equal(dns_rdata_parse(DNS_T_A, a, 3, &rr), -1);
	assert_int_equal(dns_rdata_parse(DNS_T_AAAA, a, 4, &rr), -1);
	/* trailing bytes after a name: malformed */
	assert_int_equal(dns_name_to_text(mx + 2, sizeof(mx) - 3, name,
	    sizeof(name)), sizeof(mx) - 3);
	assert_int_equal(dns_rdata_parse(DNS_T_PTR, mx, sizeof(mx) - 1, &rr),
	    -1);
}

static void
test_name_valid(void **state)
{
	char long_label[80], long_name[300];

	(void)state;
	assert_true(dns_name_valid("example.com"));
	assert_true(dns_name_valid("example.com."));
	assert_true(dns_name_valid("a\\032b.example.com"));
	assert_false(dns_name_valid(""));
	assert_false(dns_name_valid("a..b"));
	assert_false(dns_name_valid(".a"));
	assert_false(dns_name_valid("a b.com"));
	memset(long_label, 'a', 64);
	long_label[64] = '\0';
	assert_false(dns_name_valid(long_label));
	long_label[63] = '\0';
	assert_true(dns_name_valid(long_label));
	/* an escape is one byte of the label */
	snprintf(long_name, sizeof(long_name), "%.59s\\032x", long_label);
	assert_true(dns_name_valid(long_name));
	memset(long_name, 'a', 254);
	long_name[254] = '\0';
	for (int i = 50; i < 254; i += 50)
		long_name[i] = '.';
	assert_false(dns_name_valid(long_name));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc_examples),
		cmocka_unit_test(test_libspf2_defects),
		cmocka_unit_test(test_macro_syntax),
		cmocka_unit_test(test_domain_end),
		cmocka_unit_test(test_domain_finish),
		cmocka_unit_test(test_rewrite),
		cmocka_unit_test(test_rdata),
		cmocka_unit_test(test_name_valid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
