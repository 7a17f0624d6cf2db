/*
 * ratewin.h - rate limits as values. Pure: no I/O, no clock of its own;
 * unit-tested.
 *
 * A rate is written "N/duration" ("100/1h", "30/m", "5/10s"; a bare unit
 * means one of it). Counting uses two fixed windows of the rate's length:
 * the store keeps one counter per window index (wall clock / window), and
 * the sliding estimate weighs the previous window by the part of it that
 * still lies inside a window ending now. This is the approximation
 * Cloudflare and nginx-style limiters use: two counters per subject, no
 * per-event log, so a flood costs O(1) memory per subject.
 *
 * Client networks: IPv4 as /v4bits, IPv6 as /v6bits (defaults 24 and 64),
 * IPv4-mapped IPv6 as IPv4; text form "192.0.2.0/24", "2001:db8::/64".
 */
#ifndef MXG_RATEWIN_H
#define MXG_RATEWIN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "util.h"

#define RATE_COUNT_MAX		100000000u	/* a limit above this is a typo */
#define RATE_WINDOW_MIN_MS	1000u
#define RATE_WINDOW_MAX_MS	(7u * 86400000u)
#define RATE_NET_MAX		64		/* "ffff:...::/128" fits */

struct rate {
	uint64_t	 count;		/* events allowed per window; 0: off */
	uint64_t	 window_ms;
};

/*
 * Parses "N/duration" into *r. "" and "0" (or "none") mean no limit
 * (count 0). -1 with err set on anything else.
 */
int	 rate_parse(const char *s, struct rate *r, struct err *err);
/* Formats r back ("100/3600s"), for logs. */
void	 rate_fmt(const struct rate *r, char *out, size_t outlen);
/* The window a wall-clock time falls in. */
uint64_t rate_window_index(uint64_t wall_ms, uint64_t window_ms);
/*
 * Events in the sliding window ending at wall_ms, estimated from the
 * current window's count and the previous one's.
 */
uint64_t rate_estimate(uint64_t cur, uint64_t prev, uint64_t wall_ms,
	    uint64_t window_ms);
/* 1 if the estimate (the event just counted included) is over r. */
int	 rate_exceeded(const struct rate *r, uint64_t cur, uint64_t prev,
	    uint64_t wall_ms);
/*
 * The client's network as text (the address itself if bits cover it).
 * -1 for a family other than IPv4/IPv6.
 */
int	 rate_client_net(const struct sockaddr *sa, unsigned v4bits,
	    unsigned v6bits, char *out, size_t outlen);

#endif
