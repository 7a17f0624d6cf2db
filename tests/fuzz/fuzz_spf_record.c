/*
 * fuzz_spf_record.c - libFuzzer target for filters/spf_macro.c: the
 * record rewrite that stands between DNS text and libspf2, and macro
 * expansion in both modes (domain-spec, explanation). Input: one record
 * or explanation as TXT would carry it (any bytes).
 */
#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../../filters/spf_macro.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *
validated(void *arg, const char *domain)
{
	(void)arg;
	return domain && domain[0] == 'x' ? NULL : "mail.example.com";
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char out[SPF_RECORD_MAX], raw[SPF_RECORD_MAX];
	char why[200];
	size_t n;
	struct spf_macro_ctx m = {
		.sender = "strong-bad@email.example.com", .local = "strong-bad",
		.sender_domain = "email.example.com",
		.domain = "email.example.com", .ip = "192.0.2.3",
		.ip_readable = "192.0.2.3", .ip_version = "in-addr",
		.helo = "mx.example.org", .receiver = "mx.example.net",
		.timestamp = "1700000000", .validated = validated,
		.family = AF_INET,
	};

	(void)spf_record_rewrite((const char *)data, size, &m, out,
	    sizeof(out), why, sizeof(why));
	m.family = AF_INET6;
	(void)spf_record_rewrite((const char *)data, size, &m, out,
	    sizeof(out), why, sizeof(why));
	if (spf_macro_expand((const char *)data, size, SPF_MACRO_DOMAIN, &m,
	    raw, sizeof(raw), &n) == SPF_MACRO_OK)
		(void)spf_domain_finish(raw, n, out, sizeof(out));
	(void)spf_macro_expand((const char *)data, size, SPF_MACRO_EXPLAIN, &m,
	    raw, sizeof(raw), &n);
	(void)spf_domain_end_valid((const char *)data, size);
	return 0;
}
