/*
 * primary.h - knowing that we are a backup: the primary MX, its health,
 * and the settings of the callouts made to it.
 *
 * The top-level keys primary_* and callout_* (struct primary_conf in
 * config.h, rows in config.c's key table) name the primary and bound
 * what mxguard may ask of it. Health comes from a periodic probe (connect,
 * greeting, EHLO, QUIT every primary_probe_interval; every 5 s at most
 * while it is down) and from every callout connection: "down" means the
 * connection was refused or timed out, or the greeting was not 220. Each
 * change is logged ("primary 192.0.2.10:25 is down since ...: why") and
 * counted, the state is a gauge (mxguard_primary_up, ..._since_seconds),
 * and it is written to the store ("ph") so another instance, or this one
 * after a restart, starts from it.
 *
 * State: one process-wide primary, started by main (primary_start) with
 * the running config and again on each reload; the loop thread only.
 */
#ifndef MXG_PRIMARY_H
#define MXG_PRIMARY_H

#include <stdint.h>
#include <sys/socket.h>

#include "config.h"

struct event_base;

enum primary_health { PRIMARY_UNKNOWN = 0, PRIMARY_UP, PRIMARY_DOWN };

/* Starts (or, on reload, re-aims) the probe and the callout pool. */
void	 primary_start(struct event_base *base, const struct config *c);
void	 primary_stop(void);
/* Is a primary configured in the running config? */
int	 primary_configured(void);
enum primary_health primary_health(void);
/* Wall-clock ms of the last change (0: never). */
uint64_t primary_since(void);
const char *primary_name(void);
/* Reports an observation: up (greeting seen) or down (why). */
void	 primary_report(int up, const char *why);

#endif
