/*
 * primary.c - the primary MX: its settings, its health, the probe.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "callout.h"
#include "config.h"
#include "log.h"
#include "primary.h"
#include "stats.h"
#include "store.h"
#include "util.h"

#define PROBE_DOWN_MS		5000	/* probe faster while down */
#define HEALTH_KEY		"ph"

static struct {
	struct event_base	*base;
	struct event		*timer;
	int			 configured;
	char			 name[300];
	uint64_t		 interval;
	enum primary_health	 health;
	uint64_t		 since;		/* wall ms */
	int			 probing;
	unsigned		 gen;
} ph;

static void	 probe_run(evutil_socket_t fd, short what, void *arg);

/* ---- configuration ------------------------------------------------------- */

/* ---- health --------------------------------------------------------------- */

static const char *
health_name(enum primary_health h)
{
	return h == PRIMARY_UP ? "up" : h == PRIMARY_DOWN ? "down" : "unknown";
}

static void
health_save(const char *why)
{
	struct store *st = store_global();
	char v[STORE_VALUE_MAX];

	if (st == NULL || ph.health == PRIMARY_UNKNOWN)
		return;
	str_fmt(v, sizeof(v), "%c %" PRIu64 " %s", ph.health == PRIMARY_UP ?
	    'U' : 'D', ph.since, why ? why : "");
	store_put(st, HEALTH_KEY, v, strlen(v), 3 * ph.interval + 60000,
	    NULL, NULL);
}

static void
schedule(uint64_t ms)
{
	struct timeval tv = { (time_t)(ms / 1000),
	    (suseconds_t)(ms % 1000) * 1000 };

	if (ph.timer != NULL)
		evtimer_add(ph.timer, &tv);
}

void
primary_report(int up, const char *why)
{
	enum primary_health h = up ? PRIMARY_UP : PRIMARY_DOWN;
	uint64_t now = store_wall_ms();

	if (!ph.configured)
		return;
	if (h == ph.health) {
		return;
	}
	if (h == PRIMARY_DOWN) {
		stats_inc(STAT_primary_went_down);
		log_warn("primary %s is down: %s", ph.name, why ? why :
		    "unknown");
		/* look again soon: it may be a blip */
		if (!ph.probing)
			schedule(MIN(ph.interval, PROBE_DOWN_MS));
	} else {
		stats_inc(STAT_primary_went_up);
		if (ph.health == PRIMARY_DOWN && ph.since > 0)
			log_info("primary %s is up (was down for %" PRIu64 "s)",
			    ph.name, (now - ph.since) / 1000);
		else
			log_info("primary %s is up", ph.name);
	}
	ph.health = h;
	ph.since = now;
	health_save(why);
}

static void
health_loaded(void *arg, enum store_rc rc, const char *val, size_t len)
{
	char buf[STORE_VALUE_MAX + 1];
	unsigned long long since;
	char st;
	unsigned gen = (unsigned)(uintptr_t)arg;

	if (rc != STORE_OK || gen != ph.gen || ph.health != PRIMARY_UNKNOWN)
		return;
	str_ncopy(buf, sizeof(buf), val, len);
	if (sscanf(buf, "%c %llu", &st, &since) != 2 || (st != 'U' && st != 'D'))
		return;
	ph.health = st == 'U' ? PRIMARY_UP : PRIMARY_DOWN;
	ph.since = since;
	log_info("primary %s: last known state %s (from the store), probing",
	    ph.name, health_name(ph.health));
}

static void
probe_done(int ok, const char *why)
{
	ph.probing = 0;
	stats_inc(ok ? STAT_primary_probe_ok : STAT_primary_probe_fail);
	if (!ph.configured)
		return;
	primary_report(ok, why);
	if (ok && ph.health == PRIMARY_UP)
		health_save(NULL);	/* keeps the entry fresh */
	schedule(ph.health == PRIMARY_DOWN ? MIN(ph.interval, PROBE_DOWN_MS) :
	    ph.interval);
}

static void
probe_run(evutil_socket_t fd, short what, void *arg)
{
	if (ph.probing || !ph.configured)
		return;
	ph.probing = 1;
	callout_ping(probe_done);
}

void
primary_start(struct event_base *base, const struct config *c)
{
	const struct primary_conf *pc = &c->primary;
	char name[300] = "";
	int was = ph.configured;

	if (pc->primary[0] != '\0')
		sockaddr_fmt((const struct sockaddr *)&pc->addr, name,
		    sizeof(name));
	ph.base = base;
	if (ph.timer == NULL)
		ph.timer = evtimer_new(base, probe_run, NULL);
	ph.configured = name[0] != '\0';
	ph.interval = pc->probe_interval;
	callout_configure(base, pc, c->hostname);
	if (!ph.configured) {
		evtimer_del(ph.timer);
		ph.health = PRIMARY_UNKNOWN;
		ph.name[0] = '\0';
		return;
	}
	if (!was || strcmp(name, ph.name) != 0) {
		/* a new primary: nothing is known about it yet */
		str_copy(ph.name, sizeof(ph.name), name);
		ph.health = PRIMARY_UNKNOWN;
		ph.since = 0;
		ph.gen++;
		log_info("primary %s: probing every %" PRIu64 " ms", ph.name,
		    ph.interval);
		if (store_global() != NULL)
			store_get(store_global(), HEALTH_KEY, health_loaded,
			    (void *)(uintptr_t)ph.gen);
	}
	evtimer_del(ph.timer);
	schedule(0);
}

void
primary_stop(void)
{
	if (ph.timer != NULL)
		event_free(ph.timer);
	ph.timer = NULL;
	ph.configured = 0;
	callout_shutdown();
}

int
primary_configured(void)
{
	return ph.configured;
}

enum primary_health
primary_health(void)
{
	return ph.configured ? ph.health : PRIMARY_UNKNOWN;
}

uint64_t
primary_since(void)
{
	return ph.since;
}

const char *
primary_name(void)
{
	return ph.name;
}
