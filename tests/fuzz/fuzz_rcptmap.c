/*
 * fuzz_rcptmap.c - libFuzzer target for the recipient list parser
 * (rcptmap_parse(RCPTMAP_LIST)) and the lookup (extensions, case): the
 * first input byte picks the format (list or Postfix table source) and
 * the delimiters; the rest is the file. Every address that parsed must be
 * found again by rcptmap_lookup().
 *
 * Built and run by tests/fuzz/run.sh (the map reader reports through
 * config.c); seeds in tests/fuzz/corpus/fuzz_rcptmap.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "rcptmap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const delims[] = { "", "+", "+-", "-" };
	struct cfg_errors e = { 0, 1, NULL };	/* to the log, which is quiet */
	enum rcptmap_format fmt;
	struct rcptmap *m;
	const char *text = (const char *)data + 1;
	size_t len;

	if (size < 1)
		return 0;
	fmt = (data[0] & 1) ? RCPTMAP_TABLE : RCPTMAP_LIST;
	len = size - 1;
	m = rcptmap_parse(fmt, "fuzz", text, len, &e);
	if (m == NULL)
		return 0;
	/* each line that is a plain address must be found */
	if (fmt == RCPTMAP_LIST) {
		const char *p = text, *end = text + len;

		while (p < end) {
			const char *nl = memchr(p, '\n', (size_t)(end - p));
			size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
			char addr[RCPT_ADDR_MAX];

			if (n > 0 && n < sizeof(addr) && p[0] != '#' &&
			    p[0] != '@' && memchr(p, ' ', n) == NULL &&
			    memchr(p, '\t', n) == NULL &&
			    memchr(p, '\r', n) == NULL &&
			    memchr(p, '\v', n) == NULL &&
			    memchr(p, '\f', n) == NULL) {
				memcpy(addr, p, n);
				addr[n] = '\0';
				if (rcptmap_lookup(m, addr, "") == RCPTMAP_NONE)
					abort();
			}
			p += n + 1;
		}
	}
	(void)rcptmap_lookup(m, "User+Ext@Example.Test",
	    delims[(data[0] >> 1) & 3]);
	rcptmap_free(&m);
	return 0;
}
