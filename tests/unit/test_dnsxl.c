/*
 * test_dnsxl.c - postscreen_dnsbl_sites syntax, reply filters, scoring.
 *
 * Oracles: Postfix's own ip_match test table (byte for byte, errors
 * included), the 14 scoring vectors of postscreen_dnsbl_test.c, RFC 5782
 * test points, and two real site lists that must parse as they stand.
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

#include "../../filters/dnsxl.h"
#include "../../proxy/dns.h"

#define LEN(a)	(sizeof(a) / sizeof((a)[0]))

static char *
slurp(const char *rel, size_t *lenp)
{
	char path[4096];
	const char *d = getenv("TESTDATA"), *src = getenv("SRCDIR");
	FILE *fp;
	char *buf;
	long n;

	if (d != NULL && *d)
		snprintf(path, sizeof(path), "%s/%s", d, rel);
	else
		snprintf(path, sizeof(path), "%s/tests/data/%s",
		    src && *src ? src : ".", rel);
	fp = fopen(path, "rb");
	if (fp == NULL) {
		print_error("cannot open %s\n", path);
		fail();
	}
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	rewind(fp);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
	buf[n] = '\0';
	fclose(fp);
	if (lenp)
		*lenp = (size_t)n;
	return buf;
}

static void
addr(const char *s, struct in_addr *a)
{
	assert_int_equal(inet_pton(AF_INET, s, a), 1);
}

/* Replays ip_match.in and compares with ip_match.ref exactly. */
static void
test_ip_match_ref(void **state)
{
	char *in = slurp("dnsxl/ip_match.in", NULL);
	char *ref = slurp("dnsxl/ip_match.ref", NULL);
	char *out = calloc(1, 65536);
	size_t o = 0;
	char *save = NULL;

	(void)state;
	assert_non_null(out);
	for (char *line = strtok_r(in, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		struct dnsxl_pattern p;
		char err[200], *s2 = NULL, *tok;
		char copy[1024];
		int ok;

		o += (size_t)snprintf(out + o, 65536 - o, "> %s\n", line);
		snprintf(copy, sizeof(copy), "%s", line);
		tok = strtok_r(copy, " \t", &s2);
		if (tok == NULL)
			continue;
		ok = dnsxl_pattern_parse(tok, &p, err, sizeof(err)) == 0;
		if (ok)
			o += (size_t)snprintf(out + o, 65536 - o, "Code: %s\n",
			    p.code);
		else
			o += (size_t)snprintf(out + o, 65536 - o, "Error: %s\n",
			    err);
		while ((tok = strtok_r(NULL, " \t", &s2)) != NULL) {
			struct in_addr a;

			addr(tok, &a);
			o += (size_t)snprintf(out + o, 65536 - o,
			    "Match %s: %s\n", tok, ok &&
			    dnsxl_pattern_match(&p, &a) ? "yes" : "no");
		}
	}
	assert_string_equal(out, ref);
	free(in);
	free(ref);
	free(out);
}

static const struct {
	const char *pattern, *addr;
	int match;
} matches[] = {
	{ "127.0.0.[2..11]", "127.0.0.2", 1 },
	{ "127.0.0.[2..11]", "127.0.0.11", 1 },
	{ "127.0.0.[2..11]", "127.0.0.12", 0 },
	{ "127.0.0.[2..11]", "127.0.0.1", 0 },
	{ "127.0.0.[18;19;20]", "127.0.0.19", 1 },
	{ "127.0.0.[18;19;20]", "127.0.0.21", 0 },
	{ "127.0.[0..255].[1..3]", "127.0.5.2", 1 },
	{ "127.0.[0..255].[1..3]", "127.0.5.4", 0 },
	{ "127.255.255.[252..255]", "127.255.255.254", 1 },
	{ "127.255.255.[252..255]", "127.255.255.251", 0 },
	{ "[127.0.0.2]", "127.0.0.2", 1 },
	{ "127.0.0.[0..255]", "127.0.1.0", 0 },
};

static void
test_pattern_match(void **state)
{
	(void)state;
	for (size_t i = 0; i < LEN(matches); i++) {
		struct dnsxl_pattern p;
		struct in_addr a;
		char err[200];

		assert_int_equal(dnsxl_pattern_parse(matches[i].pattern, &p,
		    err, sizeof(err)), 0);
		addr(matches[i].addr, &a);
		if (dnsxl_pattern_match(&p, &a) != matches[i].match) {
			print_error("%s vs %s\n", matches[i].pattern,
			    matches[i].addr);
			fail();
		}
	}
}

static const struct {
	const char *site;
	int ok;
	const char *err;	/* start of the message, if !ok */
	const char *zone;
	int weight, filter;
} sites[] = {
	{ "zen.spamhaus.org", 1, NULL, "zen.spamhaus.org", 1, 0 },
	{ "ZEN.Spamhaus.org.", 1, NULL, "zen.spamhaus.org", 1, 0 },
	{ "zen.spamhaus.org=127.0.0.[2..11]*3", 1, NULL, "zen.spamhaus.org", 3, 1 },
	{ "list.dnswl.org=127.0.[0..255].[1..3]*-2", 1, NULL, "list.dnswl.org", -2, 1 },
	{ "bl.spamcop.net*2", 1, NULL, "bl.spamcop.net", 2, 0 },
	{ "b.barracudacentral.org=127.0.0.2", 1, NULL, "b.barracudacentral.org", 1, 1 },
	{ "DQSKEY.zen.dq.spamhaus.net=127.0.0.[4..7]*6", 1, NULL, "dqskey.zen.dq.spamhaus.net", 6, 1 },
	{ "zen.spamhaus.org*x", 0, "bad DNSBL weight factor \"x\"", NULL, 0, 0 },
	{ "zen.spamhaus.org*", 0, "bad DNSBL weight factor", NULL, 0, 0 },
	{ "zen.spamhaus.org*3x", 0, "bad DNSBL weight factor", NULL, 0, 0 },
	{ "zen.spamhaus.org*99999999999999999999", 0, "bad DNSBL weight", NULL, 0, 0 },
	{ "zen.spamhaus.org=127.0.0", 0, "bad DNSBL filter syntax: need \".\"", NULL, 0, 0 },
	{ "zen.spamhaus.org=", 0, "bad DNSBL filter syntax: empty address pattern", NULL, 0, 0 },
	{ "=127.0.0.2", 0, "bad DNSBL domain name \"\"", NULL, 0, 0 },
	{ "bad..zone", 0, "bad DNSBL domain name", NULL, 0, 0 },
	{ "-bad.zone", 0, "bad DNSBL domain name", NULL, 0, 0 },
	{ "bad zone", 0, "bad DNSBL domain name", NULL, 0, 0 },
};

static void
test_sites_syntax(void **state)
{
	(void)state;
	for (size_t i = 0; i < LEN(sites); i++) {
		struct dnsxl_sites s = { 0 };
		char err[200] = "";
		int rc = dnsxl_sites_add(&s, sites[i].site, err, sizeof(err));

		if ((rc == 0) != sites[i].ok) {
			print_error("%s: rc %d %s\n", sites[i].site, rc, err);
			fail();
		}
		if (sites[i].ok) {
			assert_int_equal(s.n, 1);
			assert_string_equal(s.zones[s.e[0].zone], sites[i].zone);
			assert_int_equal(s.e[0].weight, sites[i].weight);
			assert_int_equal(s.e[0].has_filter, sites[i].filter);
		} else if (strncmp(err, sites[i].err, strlen(sites[i].err))) {
			print_error("%s: got \"%s\" want \"%s...\"\n",
			    sites[i].site, err, sites[i].err);
			fail();
		}
		dnsxl_sites_free(&s);
	}
}

/* "zen=[127.0.0.2 127.0.0.4]/ttl60; foo=[]/ttl62" into answers. */
static void
parse_answers(const struct dnsxl_sites *s, char *text,
    struct dnsxl_answer *an, struct in_addr store[][8])
{
	char *save = NULL;

	for (char *item = strtok_r(text, ";", &save); item != NULL;
	    item = strtok_r(NULL, ";", &save)) {
		char *eq, *open, *close, *s2 = NULL;
		size_t z;

		while (*item == ' ')
			item++;
		eq = strchr(item, '=');
		assert_non_null(eq);
		*eq = '\0';
		for (z = 0; z < s->nzones; z++)
			if (strcmp(s->zones[z], item) == 0)
				break;
		assert_true(z < s->nzones);
		open = strchr(eq + 1, '[');
		close = strchr(eq + 1, ']');
		assert_non_null(open);
		assert_non_null(close);
		*close = '\0';
		an[z].state = DNSXL_ZONE_ANSWERED;
		an[z].n = 0;
		an[z].a = store[z];
		for (char *t = strtok_r(open + 1, " ", &s2); t != NULL;
		    t = strtok_r(NULL, " ", &s2))
			addr(t, &store[z][an[z].n++]);
	}
}

static void
test_postscreen_vectors(void **state)
{
	char *tsv = slurp("dnsxl/postscreen_dnsbl_vectors.tsv", NULL);
	char *save = NULL;
	int cases = 0;

	(void)state;
	for (char *line = strtok_r(tsv, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		char *col[8] = { 0 }, *p = line, *s2 = NULL;
		struct dnsxl_sites s = { 0 };
		struct dnsxl_answer an[8];
		struct in_addr store[8][8];
		struct dnsxl_score sc;
		size_t k = 0;
		char err[200];

		if (line[0] == '#')
			continue;
		while (k < 8) {
			col[k++] = p;
			if ((p = strchr(p, '\t')) == NULL)
				break;
			*p++ = '\0';
		}
		assert_true(k >= 7);
		for (char *t = strtok_r(col[2], ", ", &s2); t != NULL;
		    t = strtok_r(NULL, ", ", &s2))
			assert_int_equal(dnsxl_sites_add(&s, t, err,
			    sizeof(err)), 0);
		memset(an, 0, sizeof(an));
		parse_answers(&s, col[4], an, store);
		dnsxl_score(&s, an, &sc);
		if (sc.score != atoi(col[6])) {
			print_error("%s: score %d, want %s\n", col[1], sc.score,
			    col[6]);
			fail();
		}
		/* everything answered: bounds are the score itself */
		assert_int_equal(sc.min, sc.score);
		assert_int_equal(sc.max, sc.score);
		dnsxl_sites_free(&s);
		cases++;
	}
	assert_int_equal(cases, 14);
	free(tsv);
}

/* Pending and failed zones make bounds; the decision waits for them
 * only while they could change it. */
static void
test_decide(void **state)
{
	static const struct {
		const char *sites;
		const char *answers;	/* per zone: "-" nothing, "E" error,
					   "P" pending, else an address */
		int threshold, allow;
		enum dnsxl_decision want;
	} c[] = {
		{ "bl.test*3 slow.test", "127.0.0.2 P", 3, 0, DNSXL_LISTED },
		{ "bl.test*3 slow.test", "- P", 3, 0, DNSXL_CLEAN },
		{ "bl.test*2 slow.test", "127.0.0.2 P", 3, 0, DNSXL_UNDECIDED },
		{ "bl.test*2 slow.test", "127.0.0.2 E", 3, 0, DNSXL_UNDECIDED },
		{ "bl.test*2 slow.test", "127.0.0.2 -", 3, 0, DNSXL_CLEAN },
		{ "bl.test wl.test*-5", "127.0.0.2 P", 1, -2, DNSXL_UNDECIDED },
		{ "bl.test wl.test*-5", "- 127.0.0.2", 1, -2, DNSXL_ALLOWED },
		{ "bl.test wl.test*-5", "E 127.0.0.2", 1, -2, DNSXL_ALLOWED },
		{ "bl.test*4 wl.test*-5", "E 127.0.0.2", 1, -2, DNSXL_UNDECIDED },
		{ "bl.test wl.test*-5", "- E", 1, -2, DNSXL_UNDECIDED },
		{ "bl.test wl.test*-5", "- E", 1, 0, DNSXL_CLEAN },
		{ "bl.test=127.0.0.[2..11] wl.test*-1", "127.0.0.12 -", 1, 0, DNSXL_CLEAN },
		{ "bl.test=127.0.0.[2..11]*2 wl.test*-1", "127.0.0.3 127.0.0.2", 1, 0, DNSXL_LISTED },
	};

	(void)state;
	for (size_t i = 0; i < LEN(c); i++) {
		struct dnsxl_sites s = { 0 };
		struct dnsxl_answer an[4];
		struct in_addr store[4];
		struct dnsxl_score sc;
		char buf[200], ans[200], err[200], *save = NULL, *s2 = NULL;
		size_t z = 0;

		memset(an, 0, sizeof(an));
		snprintf(buf, sizeof(buf), "%s", c[i].sites);
		for (char *t = strtok_r(buf, " ", &save); t; t = strtok_r(NULL,
		    " ", &save))
			assert_int_equal(dnsxl_sites_add(&s, t, err,
			    sizeof(err)), 0);
		snprintf(ans, sizeof(ans), "%s", c[i].answers);
		for (char *t = strtok_r(ans, " ", &s2); t; t = strtok_r(NULL,
		    " ", &s2), z++) {
			an[z].a = &store[z];
			if (!strcmp(t, "P"))
				an[z].state = DNSXL_ZONE_PENDING;
			else if (!strcmp(t, "E"))
				an[z].state = DNSXL_ZONE_ERROR;
			else {
				an[z].state = DNSXL_ZONE_ANSWERED;
				if (strcmp(t, "-") != 0) {
					addr(t, &store[z]);
					an[z].n = 1;
				}
			}
		}
		dnsxl_score(&s, an, &sc);
		if (dnsxl_decide(&sc, c[i].threshold, c[i].allow) != c[i].want) {
			print_error("case %zu (%s / %s): got %d want %d\n", i,
			    c[i].sites, c[i].answers, dnsxl_decide(&sc,
			    c[i].threshold, c[i].allow), c[i].want);
			fail();
		}
		dnsxl_sites_free(&s);
	}
}

/* Error codes are errors, not listings; answers outside 127/8 go. */
static void
test_classify(void **state)
{
	struct dnsxl_pattern err[2];
	struct in_addr a[3], out[3];
	size_t n, invalid;
	char e[200];

	(void)state;
	assert_int_equal(dnsxl_pattern_parse("127.255.255.[252..255]", &err[0],
	    e, sizeof(e)), 0);
	assert_int_equal(dnsxl_pattern_parse("127.0.1.255", &err[1], e,
	    sizeof(e)), 0);
	addr("127.0.0.2", &a[0]);
	addr("127.255.255.254", &a[1]);
	assert_int_equal(dnsxl_classify(a, 2, err, 2, out, &n, &invalid),
	    DNSXL_ZONE_ERROR);
	addr("127.255.255.255", &a[0]);
	assert_int_equal(dnsxl_classify(a, 1, err, 2, out, &n, &invalid),
	    DNSXL_ZONE_ERROR);
	addr("127.0.1.255", &a[0]);
	assert_int_equal(dnsxl_classify(a, 1, err, 2, out, &n, &invalid),
	    DNSXL_ZONE_ERROR);
	addr("127.0.0.2", &a[0]);
	addr("192.0.2.1", &a[1]);
	addr("127.0.0.4", &a[2]);
	assert_int_equal(dnsxl_classify(a, 3, err, 2, out, &n, &invalid),
	    DNSXL_ZONE_ANSWERED);
	assert_int_equal(n, 2);
	assert_int_equal(invalid, 1);
	addr("10.0.0.1", &a[0]);
	assert_int_equal(dnsxl_classify(a, 1, err, 2, out, &n, &invalid),
	    DNSXL_ZONE_ANSWERED);
	assert_int_equal(n, 0);
}

/* RFC 5782 5: the names asked for the test points. */
static void
test_query_names(void **state)
{
	struct sockaddr_in s4 = { .sin_family = AF_INET };
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6 };
	char key[80], name[300];

	(void)state;
	inet_pton(AF_INET, "127.0.0.2", &s4.sin_addr);
	assert_int_equal(dns_reverse_name((struct sockaddr *)&s4, key,
	    sizeof(key)), 0);
	assert_int_equal(dnsxl_query_name(key, "dnsbl.test", name,
	    sizeof(name)), 0);
	assert_string_equal(name, "2.0.0.127.dnsbl.test");
	/* an IPv4 client seen on a dual-stack socket is asked as IPv4 */
	inet_pton(AF_INET6, "::ffff:127.0.0.2", &s6.sin6_addr);
	assert_int_equal(dns_reverse_name((struct sockaddr *)&s6, key,
	    sizeof(key)), 0);
	assert_string_equal(key, "2.0.0.127");
	inet_pton(AF_INET6, "2001:db8::7f00:2", &s6.sin6_addr);
	assert_int_equal(dns_reverse_name((struct sockaddr *)&s6, key,
	    sizeof(key)), 0);
	assert_string_equal(key, "2.0.0.0.0.0.f.7.0.0.0.0.0.0.0.0.0.0.0.0."
	    "0.0.0.0.8.b.d.0.1.0.0.2");
	inet_pton(AF_INET6, "::1", &s6.sin6_addr);
	assert_int_equal(dns_reverse_name((struct sockaddr *)&s6, key,
	    sizeof(key)), 0);
	assert_string_equal(key, "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0."
	    "0.0.0.0.0.0.0.0.0.0.0.0");
	assert_int_equal(dnsxl_query_name("test", "dbl.test", name,
	    sizeof(name)), 0);
	assert_string_equal(name, "test.dbl.test");
	/* too long to exist: refused, never truncated */
	{
		char big[300];

		memset(big, 'a', 250);
		big[250] = '\0';
		assert_int_equal(dnsxl_query_name(big, "zone.test", name,
		    sizeof(name)), -1);
	}
}

/* The primary's files are read as they stand. */
static void
test_real_site_lists(void **state)
{
	static const struct { const char *file; size_t entries, zones; } f[] = {
		{ "dnsxl/mailcow_dns_blocklists.cf", 17, 10 },
		{ "dnsxl/iredmail_main.cf.postscreen", 2, 2 },
	};

	(void)state;
	for (size_t i = 0; i < LEN(f); i++) {
		size_t len;
		char *text = slurp(f[i].file, &len), *save = NULL, err[200];
		char *v = dnsxl_maincf_value(text, len, "postscreen_dnsbl_sites");
		struct dnsxl_sites s = { 0 };

		assert_non_null(v);
		for (char *t = strtok_r(v, " \t,", &save); t; t = strtok_r(NULL,
		    " \t,", &save))
			if (dnsxl_sites_add(&s, t, err, sizeof(err)) < 0) {
				print_error("%s: %s\n", f[i].file, err);
				fail();
			}
		assert_int_equal(s.n, f[i].entries);
		assert_int_equal(s.nzones, f[i].zones);
		dnsxl_sites_free(&s);
		free(v);
		free(text);
	}
	/* the last setting wins, comments and blank lines are skipped */
	{
		const char *t = "a = 1\npostscreen_dnsbl_sites = x.test\n"
		    "# c\n\n  y.test\npostscreen_dnsbl_sites=z.test\n  w.test\n";
		char *v = dnsxl_maincf_value(t, strlen(t),
		    "postscreen_dnsbl_sites");

		assert_string_equal(v, "z.test w.test");
		free(v);
		assert_null(dnsxl_maincf_value(t, strlen(t), "postscreen"));
	}
}

static void
test_expand(void **state)
{
	const char *vars[] = { "rbl_domain", "zen.test", "rbl_what",
	    "192.0.2.1", NULL };
	char out[200], err[200];

	(void)state;
	assert_int_equal(dnsxl_expand("blocked [$rbl_what] using ${rbl_domain}"
	    " $$5", vars, out, sizeof(out), err, sizeof(err)), 0);
	assert_string_equal(out, "blocked [192.0.2.1] using zen.test $5");
	assert_int_equal(dnsxl_expand("x $nope", vars, out, sizeof(out), err,
	    sizeof(err)), -1);
	assert_string_equal(err, "unknown variable \"$nope\"");
	assert_int_equal(dnsxl_expand("x ${rbl_domain", vars, out, sizeof(out),
	    err, sizeof(err)), -1);
	assert_int_equal(dnsxl_expand("$rbl_domain", vars, out, 5, err,
	    sizeof(err)), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ip_match_ref),
		cmocka_unit_test(test_pattern_match),
		cmocka_unit_test(test_sites_syntax),
		cmocka_unit_test(test_postscreen_vectors),
		cmocka_unit_test(test_decide),
		cmocka_unit_test(test_classify),
		cmocka_unit_test(test_query_names),
		cmocka_unit_test(test_real_site_lists),
		cmocka_unit_test(test_expand),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
