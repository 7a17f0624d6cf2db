/*
 * main.c - options, config load, signals, the loop, drain on SIGTERM.
 *
 * mxguard [-d] [-c FILE]   run in the foreground (containers, supervisors)
 * mxguard -t [-c FILE]     check FILE and every file it references
 * mxguard -k               print every configuration key with its default
 * mxguard -F ADDR|@DOMAIN|'*' [-c FILE]
 *                          flush the callout cache (in the configured
 *                          store, LMDB or Redis) for one address, one
 *                          domain (its catch-all verdict too) or all
 */
#include "autoconf.h"

#include <sys/resource.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "backend.h"
#include "callout.h"
#include "config.h"
#include "dns.h"
#include "filter.h"
#include "log.h"
#include "primary.h"
#include "rcptcache.h"
#include "server.h"
#include "session.h"
#include "spool.h"
#include "stats.h"
#include "store.h"
#include "tls.h"
#include "util.h"
#include "worker.h"

#define DEFAULT_CONFIG		"/etc/mxguard/mxguard.conf"
#define DRAIN_POLL_MS		50
#define FIRST_PROBE_WAIT_MS	3000

static struct {
	struct event_base	*base;
	struct config		*cfg;
	struct worker_pool	*pool;
	const char		*path;
	int			 debug;
	int			 draining;
	uint64_t		 drain_deadline;
	struct event		*drain_ev;
	struct event		*start_ev;
	int			 started;
	struct store		*store;
	struct event		*tick_ev;
} g;

static void
usage(void)
{
	fprintf(stderr, "usage: mxguard [-d] [-c config]\n"
	    "       mxguard -t [-c config]   check the configuration\n"
	    "       mxguard -k               list every key and its default\n"
	    "       mxguard -F ADDR|@DOMAIN|'*' [-c config]\n"
	    "                                flush the callout cache\n"
	    "       mxguard -V               version\n");
	exit(2);
}

static void
apply_logging(const struct config *c)
{
	log_configure(c->log_sink == 1 ? LOG_SINK_SYSLOG : LOG_SINK_STDERR,
	    g.debug ? LOG_LVL_DEBUG : (enum log_level)c->log_level,
	    c->syslog_facility);
}

static void
raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rlim_t old = rl.rlim_cur;

		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == 0)
			log_info("descriptor limit raised from %llu to %llu",
			    (unsigned long long)old,
			    (unsigned long long)rl.rlim_cur);
		else
			log_warn("cannot raise the descriptor limit from %llu: "
			    "%s", (unsigned long long)old, strerror(errno));
	} else
		log_info("descriptor limit %llu", (unsigned long long)rl.rlim_cur);
}

static void
gauges(struct stats_gauges *gg)
{
	gg->sessions = session_count();
	gg->backend_conns = backend_open_count();
	gg->spool_memory = spool_memory_in_use();
	gg->backend_up = backend_health() == HEALTH_UP;
	gg->primary_up = !primary_configured() ||
	    primary_health() == PRIMARY_UNKNOWN ? -1 :
	    primary_health() == PRIMARY_UP;
	gg->primary_since = primary_since() / 1000;
	gg->callout_conns = callout_conn_count();
	gg->callout_queued = callout_queue_length();
	gg->store_up = g.store == NULL ? -1 : store_is_up(g.store);
}

/* Opens the store when the config needs one and none is open. */
static int
open_store(const struct config *c)
{
	struct err err;

	if (g.store != NULL || !store_needed(c))
		return 0;
	g.store = store_open(g.base, &c->store, &err);
	if (g.store == NULL) {
		log_err("%s", err.msg);
		return -1;
	}
	store_global_set(g.store);
	log_info("store %s opened", store_name(g.store));
	return 0;
}

static void
start_accepting(void)
{
	if (g.started || g.draining)
		return;
	g.started = 1;
	server_enable();
	log_info("mxguard ready");
}

static void
on_start_timeout(evutil_socket_t fd, short what, void *arg)
{
	start_accepting();
}

/* SIGHUP, or a data file changed: -1 keeps the running configuration. */
static int
reload(void)
{
	struct config *c;
	struct err err;
	int nerr = 0;

	log_info("reload: reading %s", g.path);
	c = config_load(g.path, 1, &nerr);
	if (c == NULL) {
		stats_inc(STAT_config_reload_fail);
		log_err("reload failed (%d error%s); the running configuration "
		    "stays", nerr, nerr == 1 ? "" : "s");
		return -1;
	}
	if (open_store(c) < 0) {
		stats_inc(STAT_config_reload_fail);
		log_err("reload failed: the store cannot be opened; the running "
		    "configuration stays");
		config_unref(&c);
		return -1;
	}
	config_reload_warnings(g.cfg, c);
	/* a new resolver only if its keys changed (the cache survives) */
	if (dns_configure(c, &err) < 0) {
		stats_inc(STAT_config_reload_fail);
		log_err("reload failed: dns: %s; the running configuration "
		    "stays", err.msg);
		config_unref(&c);
		return -1;
	}
	server_set_config(c);
	config_unref(&g.cfg);
	g.cfg = c;
	backend_pool_retire(c);
	apply_logging(c);
	backend_probe_start(g.base, c, NULL);
	primary_start(g.base, c);
	stats_inc(STAT_config_reload_ok);
	log_info("reload: configuration loaded; new sessions use it");
	return 0;
}

static void
on_reload(evutil_socket_t fd, short what, void *arg)
{
	(void)reload();
}

/*
 * Every rules_check_interval: a table or list file the configuration read
 * changed (replaced, rewritten, removed): reload, as Postfix daemons pick
 * up a changed lookup table. Only once the files stayed the same for a
 * whole interval, so a file caught half-written is not loaded. A change
 * that did not load is tried again when the files change again, or after
 * RULES_RETRY_MS (the store or DNS may have been the reason).
 */
#define RULES_RETRY_MS	60000

static void
rules_check(void)
{
	static uint64_t last, seen, failed, failed_at;
	const char *which;
	uint64_t now = now_ms(), sig;

	if (g.cfg->rules_check_interval == 0 || g.draining ||
	    now - last < g.cfg->rules_check_interval)
		return;
	last = now;
	sig = config_files_sig(g.cfg, &which);
	if (sig == g.cfg->watch.sig) {
		seen = 0;
		return;
	}
	if (sig != seen) {
		seen = sig;	/* changed: wait until it stays so */
		return;
	}
	if (sig == failed && now - failed_at < RULES_RETRY_MS)
		return;
	stats_inc(STAT_config_files_changed);
	log_info("reload: %s changed", which != NULL ? which : "a data file");
	if (reload() < 0) {
		failed = sig;
		failed_at = now;
	} else {
		failed = 0;
	}
}

static void
on_drain_poll(evutil_socket_t fd, short what, void *arg)
{
	struct timeval tv = { 0, DRAIN_POLL_MS * 1000 };

	if (session_count() == 0) {
		event_base_loopexit(g.base, NULL);
		return;
	}
	if (now_ms() >= g.drain_deadline) {
		log_warn("drain: %zu session(s) still open after %llu ms; "
		    "closing them", session_count(),
		    (unsigned long long)g.cfg->drain_timeout);
		session_kill_all();
		g.drain_deadline = UINT64_MAX;
	}
	evtimer_add(g.drain_ev, &tv);
}

static void
on_term(evutil_socket_t fd, short what, void *arg)
{
	if (g.draining) {
		log_info("second signal: closing every session now");
		session_kill_all();
		return;
	}
	g.draining = 1;
	log_info("shutting down: %zu session(s) to drain within %llu ms",
	    session_count(), (unsigned long long)g.cfg->drain_timeout);
	server_stop();
	backend_probe_stop();
	session_drain_all();
	g.drain_deadline = now_ms() + g.cfg->drain_timeout;
	g.drain_ev = evtimer_new(g.base, on_drain_poll, NULL);
	on_drain_poll(-1, 0, NULL);
}

static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
	filter_chain_tick(g.cfg);
	rules_check();
}

static struct event *log_ev;

static void
on_log_flush(evutil_socket_t fd, short what, void *arg)
{
	log_flush();
}

/* A loop pass's log lines go out together, after its callbacks ran. */
static void
log_schedule(void)
{
	event_active(log_ev, 0, 0);
}

static void
on_usr1(evutil_socket_t fd, short what, void *arg)
{
	struct stats_gauges gg;

	gauges(&gg);
	stats_log(&gg);
}

struct flush_state {
	int		 pending;
	int		 failed;
	uint64_t	 n;
};

static void
flush_num(void *arg, enum store_rc rc, uint64_t n)
{
	struct flush_state *fs = arg;

	fs->pending--;
	if (rc == STORE_ERR)
		fs->failed = 1;
	fs->n += n;
}

static void
flush_done(void *arg, enum store_rc rc)
{
	flush_num(arg, rc, rc == STORE_OK ? 1 : 0);
}

/*
 * -F: deletes callout cache entries straight in the store (LMDB: a
 * second process on the same environment; Redis: the same keys), so a
 * running mxguard sees the change at its next lookup.
 */
static int
flush_cache(const struct config *c, const char *target)
{
	struct flush_state fs = { 0, 0, 0 };
	struct event_base *base;
	struct store *st;
	struct err err;
	char key[RCPTCACHE_KEY_MAX];
	uint64_t deadline;

	base = event_base_new();
	if (base == NULL) {
		fprintf(stderr, "mxguard: cannot create an event loop\n");
		return 1;
	}
	if ((st = store_open(base, &c->store, &err)) == NULL) {
		fprintf(stderr, "mxguard: %s\n", err.msg);
		event_base_free(base);
		return 1;
	}
	/* Redis connects asynchronously: wait for it (bounded) */
	deadline = now_ms() + c->store.timeout_ms + 100;
	while (!store_is_up(st) && now_ms() < deadline)
		event_base_loop(base, EVLOOP_ONCE);
	if (strcmp(target, "*") == 0) {
		fs.pending += 2;
		store_del_prefix(st, "co:", flush_num, &fs);
		store_del_prefix(st, "ca:", flush_num, &fs);
	} else if (target[0] == '@' && target[1] != '\0' &&
	    rcptcache_domain_prefix(target + 1, key, sizeof(key)) == 0) {
		fs.pending++;
		store_del_prefix(st, key, flush_num, &fs);
		rcptcache_catchall_key(target + 1, key, sizeof(key));
		fs.pending++;
		store_del(st, key, flush_done, &fs);
	} else if (target[0] != '@' &&
	    rcptcache_addr_key(target, key, sizeof(key)) == 0) {
		fs.pending++;
		store_del(st, key, flush_done, &fs);
	} else {
		fprintf(stderr, "mxguard: -F wants user@domain, @domain or "
		    "'*', not \"%s\"\n", target);
		store_close(&st);
		event_base_free(base);
		return 2;
	}
	while (fs.pending > 0)
		event_base_loop(base, EVLOOP_ONCE);
	store_close(&st);
	event_base_free(base);
	if (fs.failed) {
		fprintf(stderr, "mxguard: flushing %s in %s failed\n", target,
		    c->store.spec);
		return 1;
	}
	printf("flushed %s: %llu entr%s removed from %s\n", target,
	    (unsigned long long)fs.n, fs.n == 1 ? "y" : "ies", c->store.spec);
	return 0;
}

int
main(int argc, char **argv)
{
	struct event *ev_hup, *ev_term, *ev_int, *ev_usr1;
	struct err err;
	int ch, check = 0, nerr = 0;
	const char *flush = NULL;

	g.path = DEFAULT_CONFIG;
	log_init("mxguard");
	while ((ch = getopt(argc, argv, "c:dF:ktV")) != -1) {
		switch (ch) {
		case 'c':
			g.path = optarg;
			break;
		case 'F':
			flush = optarg;
			break;
		case 'd':
			g.debug = 1;
			break;
		case 'k':
			config_print_keys();
			return 0;
		case 't':
			check = 1;
			break;
		case 'V':
			printf("mxguard %s\n", PACKAGE_VERSION);
			return 0;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	signal(SIGPIPE, SIG_IGN);	/* a peer closing mid-write is normal */
	evthread_use_pthreads();
	tls_init();
	filter_stats_init();

	g.cfg = config_load(g.path, 0, &nerr);
	if (g.cfg == NULL)
		return 1;
	if (check) {
		printf("%s: configuration OK\n", g.path);
		config_unref(&g.cfg);
		return 0;
	}
	if (flush != NULL) {
		int rc = flush_cache(g.cfg, flush);

		config_unref(&g.cfg);
		return rc;
	}
	apply_logging(g.cfg);
	raise_nofile();

	g.base = event_base_new();
	if (g.base == NULL) {
		log_err("cannot create the event loop");
		return 1;
	}
	if (dns_configure(g.cfg, &err) < 0) {
		log_err("dns: %s", err.msg);
		return 1;
	}
	dns_attach(g.base);
	log_ev = event_new(g.base, -1, 0, on_log_flush, NULL);
	log_batch(log_schedule);
	g.pool = worker_pool_new(g.base, (unsigned)g.cfg->workers,
	    g.cfg->worker_queue);
	if (server_listen(g.base, g.cfg, g.pool, &err) < 0) {
		log_err("%s", err.msg);
		return 1;
	}
	if (open_store(g.cfg) < 0)
		return 1;
	primary_start(g.base, g.cfg);
	ev_hup = evsignal_new(g.base, SIGHUP, on_reload, NULL);
	ev_term = evsignal_new(g.base, SIGTERM, on_term, NULL);
	ev_int = evsignal_new(g.base, SIGINT, on_term, NULL);
	ev_usr1 = evsignal_new(g.base, SIGUSR1, on_usr1, NULL);
	event_add(ev_hup, NULL);
	event_add(ev_term, NULL);
	event_add(ev_int, NULL);
	event_add(ev_usr1, NULL);
	{
		struct timeval one = { 1, 0 };

		g.tick_ev = event_new(g.base, -1, EV_PERSIST, on_tick, NULL);
		event_add(g.tick_ev, &one);
	}

	/* Greet only once the backend's capabilities are known (or after a
	 * short wait), so the first EHLO replies are right. */
	backend_probe_start(g.base, g.cfg, start_accepting);
	{
		struct timeval tv = { FIRST_PROBE_WAIT_MS / 1000, 0 };

		g.start_ev = evtimer_new(g.base, on_start_timeout, NULL);
		evtimer_add(g.start_ev, &tv);
	}
	log_info("mxguard %s starting: backend %s, %zu filter(s)",
	    PACKAGE_VERSION, g.cfg->backend, g.cfg->nfilters);

	event_base_dispatch(g.base);
	log_flush();

	log_info("mxguard stopped");
	{
		struct stats_gauges gg;

		gauges(&gg);
		stats_log(&gg);
	}
	backend_probe_stop();
	backend_pool_flush();
	primary_stop();
	server_free();
	worker_pool_free(&g.pool);
	dns_shutdown();
	if (g.drain_ev)
		event_free(g.drain_ev);
	event_free(g.start_ev);
	event_free(ev_hup);
	event_free(ev_term);
	event_free(ev_int);
	event_free(ev_usr1);
	event_free(g.tick_ev);
	/* one loop pass so deferred frees run */
	event_base_loop(g.base, EVLOOP_NONBLOCK);
	store_close(&g.store);
	config_unref(&g.cfg);
	log_batch(NULL);
	event_free(log_ev);
	event_base_free(g.base);
	return 0;
}
