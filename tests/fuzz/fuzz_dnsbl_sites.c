/*
 * fuzz_dnsbl_sites.c - libFuzzer target for filters/dnsxl.c: the
 * postscreen_dnsbl_sites parser, reply filters, main.cf reading, reply
 * templates, and scoring over whatever sites parsed.
 *
 * Input: text; its first line is also taken as a main.cf and as a reply
 * template, every white-space or comma separated item as a site, and the
 * bytes after a NUL (if any) as A-record answers (4 bytes each, zone by
 * zone) to score.
 */
#include <arpa/inet.h>

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../filters/dnsxl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t tlen = strnlen((const char *)data, size);
	char *text = malloc(tlen + 1), *save = NULL, err[DNSXL_ERR_MAX];
	const uint8_t *ans = data + tlen + 1;
	size_t nans = tlen + 1 < size ? size - tlen - 1 : 0;
	struct dnsxl_sites s = { 0 };
	struct dnsxl_pattern p;
	static const char *const vars[] = { "rbl_domain", "z", "x", "y", NULL };
	char out[200], *v;

	memcpy(text, data, tlen);
	text[tlen] = '\0';
	(void)dnsxl_pattern_parse(text, &p, err, sizeof(err));
	(void)dnsxl_expand(text, vars, out, sizeof(out), err, sizeof(err));
	if ((v = dnsxl_maincf_value(text, tlen, "postscreen_dnsbl_sites")))
		free(v);
	for (char *t = strtok_r(text, " \t\r\n,", &save); t != NULL;
	    t = strtok_r(NULL, " \t\r\n,", &save))
		(void)dnsxl_sites_add(&s, t, err, sizeof(err));
	if (s.nzones > 0) {
		struct dnsxl_answer *an = calloc(s.nzones, sizeof(*an));
		struct in_addr *a = calloc(nans / 4 + 1, sizeof(*a));
		struct in_addr *kept = calloc(nans / 4 + 1, sizeof(*kept));
		struct dnsxl_pattern e;
		struct dnsxl_score sc;
		size_t na = nans / 4, per, k = 0, invalid, nk;

		for (size_t i = 0; i < na; i++)
			memcpy(&a[i], ans + 4 * i, 4);
		dnsxl_pattern_parse("127.255.255.[252..255]", &e, err,
		    sizeof(err));
		per = na / s.nzones;
		for (size_t z = 0; z < s.nzones; z++) {
			an[z].state = (enum dnsxl_zone_state)(z % 3);
			an[z].a = a + k;
			an[z].n = per;
			if (per > 0 && dnsxl_classify(a + k, per, &e, 1, kept,
			    &nk, &invalid) == DNSXL_ZONE_ERROR)
				an[z].state = DNSXL_ZONE_ERROR;
			k += per;
		}
		dnsxl_score(&s, an, &sc);
		(void)dnsxl_decide(&sc, 1 + (int)(nans % 5), -(int)(nans % 3));
		free(an);
		free(a);
		free(kept);
	}
	dnsxl_sites_free(&s);
	free(text);
	return 0;
}
