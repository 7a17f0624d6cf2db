/*
 * store_bench.c - how long one LMDB store operation takes on the loop
 * thread (MDB_NOSYNC | MDB_NOMETASYNC), the figure behind running LMDB
 * synchronously in the event loop (proxy/store.h). Built and run by
 * tests/bench/rcpt.sh:
 *   store_bench DIR [N]   N keys shaped like the callout cache's
 * Prints one line per operation: "lmdb put: N ops, X us/op".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "store.h"
#include "util.h"

static unsigned long hits, misses;

static void
on_get(void *arg, enum store_rc rc, const char *val, size_t len)
{
	if (rc == STORE_OK)
		hits++;
	else
		misses++;
}

static void
on_count(void *arg, enum store_rc rc, uint64_t cur, uint64_t prev)
{
	if (rc != STORE_OK)
		misses++;
}

static void
report(const char *what, unsigned long n, uint64_t us)
{
	printf("lmdb %-18s %8lu ops  %6.2f us/op  %9.0f ops/s\n", what, n,
	    (double)us / (double)n, n / ((double)us / 1e6));
}

int
main(int argc, char **argv)
{
	struct store_conf sc;
	struct store *st;
	struct err err;
	unsigned long n = argc > 2 ? strtoul(argv[2], NULL, 10) : 100000;
	char key[128], val[] = "I 1700000000000 550 5.1.1 <u@example.test>: "
	    "Recipient address rejected: User unknown in virtual mailbox table";
	uint64_t t;

	if (argc < 2) {
		fprintf(stderr, "usage: store_bench DIR [N]\n");
		return 2;
	}
	memset(&sc, 0, sizeof(sc));
	sc.spec = argv[1];
	sc.kind = STORE_LMDB;
	sc.path = argv[1];
	sc.lmdb_size = 1024u << 20;
	sc.timeout_ms = 1000;
	if ((st = store_open(NULL, &sc, &err)) == NULL) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	t = now_us();
	for (unsigned long i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "co:example.test/u%08lx", i * 2654435761u);
		store_put(st, key, val, sizeof(val) - 1, 3 * 3600000, NULL, NULL);
	}
	report("put (new keys)", n, now_us() - t);
	t = now_us();
	for (unsigned long i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "co:example.test/u%08lx", i * 2654435761u);
		store_get(st, key, on_get, NULL);
	}
	report("get (hit)", n, now_us() - t);
	t = now_us();
	for (unsigned long i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "co:example.test/x%08lx", i);
		store_get(st, key, on_get, NULL);
	}
	report("get (miss)", n, now_us() - t);
	t = now_us();
	for (unsigned long i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "rl:rcpt_ip:10.%lu.%lu.%lu",
		    (i >> 16) & 255, (i >> 8) & 255, i & 255);
		store_incr(st, key, 3600000, 1, on_count, NULL);
	}
	report("incr (window)", n, now_us() - t);
	printf("lmdb entries: hits=%lu misses=%lu (expect hits=%lu, misses=%lu)\n",
	    hits, misses, n, n);
	store_close(&st);
	return 0;
}
