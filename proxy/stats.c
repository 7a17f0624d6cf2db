/*
 * stats.c - counters.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "stats.h"
#include "util.h"

static const char *const names[STAT_COUNT] = {
#define STATS_NAME(name, help) #name,
	STATS_COUNTERS(STATS_NAME)
#undef STATS_NAME
};
static const char *const helps[STAT_COUNT] = {
#define STATS_HELP(name, help) help,
	STATS_COUNTERS(STATS_HELP)
#undef STATS_HELP
};
static const char *const filter_what[STATF_COUNT] = {
	"continue", "accept", "reject", "tempfail", "tag", "error", "timeout"
};

static _Atomic uint64_t counters[STAT_COUNT];
static _Atomic uint64_t fcounters[STATS_FILTERS_MAX][STATF_COUNT];
static const char *fnames[STATS_FILTERS_MAX];

void
stats_inc(enum stat_id id)
{
	atomic_fetch_add_explicit(&counters[id], 1, memory_order_relaxed);
}

void
stats_add(enum stat_id id, uint64_t n)
{
	atomic_fetch_add_explicit(&counters[id], n, memory_order_relaxed);
}

uint64_t
stats_get(enum stat_id id)
{
	return atomic_load_explicit(&counters[id], memory_order_relaxed);
}

void
stats_filter_inc(unsigned f, enum stat_filter what)
{
	ASSERT(f < STATS_FILTERS_MAX);
	atomic_fetch_add_explicit(&fcounters[f][what], 1, memory_order_relaxed);
}

uint64_t
stats_filter_get(unsigned f, enum stat_filter what)
{
	ASSERT(f < STATS_FILTERS_MAX);
	return atomic_load_explicit(&fcounters[f][what], memory_order_relaxed);
}

void
stats_filter_name(unsigned f, const char *name)
{
	ASSERT(f < STATS_FILTERS_MAX);
	fnames[f] = name;
}

const char *
stats_name(enum stat_id id)
{
	return names[id];
}

void
stats_write_prometheus(FILE *f, const struct stats_gauges *g)
{
	for (int i = 0; i < STAT_COUNT; i++)
		fprintf(f, "# HELP mxguard_%s_total %s\n# TYPE mxguard_%s_total "
		    "counter\nmxguard_%s_total %llu\n", names[i], helps[i],
		    names[i], names[i], (unsigned long long)stats_get(i));
	fprintf(f, "# HELP mxguard_filter_results_total filter outcomes\n"
	    "# TYPE mxguard_filter_results_total counter\n");
	for (int i = 0; i < STATS_FILTERS_MAX; i++) {
		if (fnames[i] == NULL)
			continue;
		for (int k = 0; k < STATF_COUNT; k++)
			fprintf(f, "mxguard_filter_results_total{filter=\"%s\","
			    "result=\"%s\"} %llu\n", fnames[i], filter_what[k],
			    (unsigned long long)stats_filter_get(i, k));
	}
	if (g != NULL)
		fprintf(f, "# TYPE mxguard_sessions gauge\nmxguard_sessions %llu\n"
		    "# TYPE mxguard_backend_connections gauge\n"
		    "mxguard_backend_connections %llu\n"
		    "# TYPE mxguard_spool_memory_bytes gauge\n"
		    "mxguard_spool_memory_bytes %llu\n"
		    "# TYPE mxguard_backend_up gauge\nmxguard_backend_up %d\n",
		    (unsigned long long)g->sessions,
		    (unsigned long long)g->backend_conns,
		    (unsigned long long)g->spool_memory, g->backend_up);
	if (g != NULL && g->primary_up >= -1)
		fprintf(f, "# HELP mxguard_primary_up the primary MX: 1 up, 0 "
		    "down, -1 unknown or none\n# TYPE mxguard_primary_up gauge\n"
		    "mxguard_primary_up %d\n"
		    "# HELP mxguard_primary_state_since_seconds when the primary "
		    "state last changed (Unix time)\n"
		    "# TYPE mxguard_primary_state_since_seconds gauge\n"
		    "mxguard_primary_state_since_seconds %llu\n"
		    "# TYPE mxguard_callout_connections gauge\n"
		    "mxguard_callout_connections %llu\n"
		    "# TYPE mxguard_callout_queued gauge\n"
		    "mxguard_callout_queued %llu\n"
		    "# TYPE mxguard_store_up gauge\nmxguard_store_up %d\n",
		    g->primary_up, (unsigned long long)g->primary_since,
		    (unsigned long long)g->callout_conns,
		    (unsigned long long)g->callout_queued, g->store_up);
}

void
stats_log(const struct stats_gauges *g)
{
	char line[LOG_LINE_MAX - 128];
	size_t n = 0;
	int k;

	k = snprintf(line, sizeof(line), "stats");
	n = k > 0 ? (size_t)k : 0;
	if (g != NULL) {
		k = snprintf(line + n, sizeof(line) - n, " sessions=%llu "
		    "backend_conns=%llu spool_memory=%llu backend_up=%d",
		    (unsigned long long)g->sessions,
		    (unsigned long long)g->backend_conns,
		    (unsigned long long)g->spool_memory, g->backend_up);
		if (k > 0 && (size_t)k < sizeof(line) - n)
			n += (size_t)k;
		k = snprintf(line + n, sizeof(line) - n, " primary_up=%d "
		    "primary_since=%llu callout_conns=%llu callout_queued=%llu "
		    "store_up=%d", g->primary_up,
		    (unsigned long long)g->primary_since,
		    (unsigned long long)g->callout_conns,
		    (unsigned long long)g->callout_queued, g->store_up);
		if (k > 0 && (size_t)k < sizeof(line) - n)
			n += (size_t)k;
	}
	for (int i = 0; i < STAT_COUNT && n < sizeof(line); i++) {
		uint64_t v = stats_get(i);

		if (v == 0)
			continue;
		k = snprintf(line + n, sizeof(line) - n, " %s=%llu", names[i],
		    (unsigned long long)v);
		if (k < 0 || (size_t)k >= sizeof(line) - n)
			break;
		n += (size_t)k;
	}
	for (int i = 0; i < STATS_FILTERS_MAX; i++) {
		if (fnames[i] == NULL)
			continue;
		for (int w = 0; w < STATF_COUNT && n < sizeof(line); w++) {
			uint64_t v = stats_filter_get(i, w);

			if (v == 0)
				continue;
			k = snprintf(line + n, sizeof(line) - n, " filter_%s_%s=%llu",
			    fnames[i], filter_what[w], (unsigned long long)v);
			if (k < 0 || (size_t)k >= sizeof(line) - n)
				break;
			n += (size_t)k;
		}
	}
	log_info("%s", line);
}
