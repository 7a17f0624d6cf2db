/*
 * fuzz_rcptcache.c - libFuzzer target for rcptcache_decode(), the parser
 * of callout cache values: with Redis they come from a store other
 * instances (or whoever can write to it) share, so they are input.
 * Checks: no crash, a decoded entry re-encodes and decodes to the same
 * kind, and its text holds no control character.
 *
 * Built and run by tests/fuzz/run.sh; seeds in tests/fuzz/corpus/fuzz_rcptcache.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rcptcache.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rcptcache_entry e, again;
	enum rcptcache_kind k;
	char buf[1024];
	size_t n;

	k = rcptcache_decode((const char *)data, size, &e);
	if (k == RCACHE_BAD)
		return 0;
	for (const char *p = e.text; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			abort();
	n = rcptcache_encode(&e, buf, sizeof(buf));
	if (n == 0 || rcptcache_decode(buf, n, &again) != k)
		abort();
	return 0;
}
