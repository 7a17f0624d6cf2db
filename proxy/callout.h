/*
 * callout.h - recipient verification by an SMTP dialogue with the primary
 * MX, on the loop: null sender, RCPT TO, RSET (one write when the primary
 * offers PIPELINING), on connections that are kept and reused.
 *
 * Bounds, so a dictionary attack cannot turn mxguard into a flood against
 * the primary:
 *   - at most callout_max_connections connections (the concurrency cap);
 *   - callouts beyond them wait in a queue of at most callout_max_queue;
 *     more get CALLOUT_BUSY at once (the caller tempfails);
 *   - the same address asked again while a callout for it is queued or
 *     running shares its answer (coalescing);
 *   - a connection is renewed after callout_max_per_connection callouts
 *     or callout_max_rejects_per_connection 5xx answers: Postfix slows a
 *     client down after smtpd_soft_error_limit (10) errors and drops it at
 *     smtpd_hard_error_limit (20), and every unknown recipient is one.
 * Background callouts (cache refresh, catch-all probes) never queue past
 * half of the queue.
 *
 * Answers: 2xx VALID, 5xx INVALID, 4xx TEMPFAIL (nothing is cached);
 * refused, timed out or a greeting other than 220: DOWN (the primary's
 * health goes down); lost or garbled mid-dialogue: retried once on a new
 * connection, then ERROR. A 5xx to the null sender is ERROR (the primary
 * refuses bounces: a configuration problem, logged).
 *
 * Callbacks run on the loop, once per waiter, never inside
 * callout_verify(); arg must stay valid until then (callers hold their
 * filter call). Memory: the queue and the waiters are bounded as above.
 */
#ifndef MXG_CALLOUT_H
#define MXG_CALLOUT_H

#include <stddef.h>

struct event_base;
struct primary_conf;

enum callout_result {
	CALLOUT_VALID = 0, CALLOUT_INVALID, CALLOUT_TEMPFAIL, CALLOUT_DOWN,
	CALLOUT_BUSY, CALLOUT_ERROR
};

struct callout_answer {
	enum callout_result result;
	int		 code;		/* the primary's, 0 if none */
	char		 enh[16];
	char		 text[200];	/* its first line, sanitised */
	unsigned long	 ms;		/* from request to answer */
};

typedef void (*callout_fn)(void *arg, const struct callout_answer *a);

#define CALLOUT_BACKGROUND	0x1u	/* refresh/probe: never crowds out */

/*
 * Asks the primary about addr (as the client wrote it). 0: pending, cb
 * follows; 1: answered now in *now (DOWN while the primary is known to be
 * down, BUSY over the cap), no callback.
 */
int	 callout_verify(const char *addr, unsigned flags, callout_fn cb,
	    void *arg, struct callout_answer *now);
/* (Re)aims the pool at the configured primary; idle connections to an
 * old address are closed. hostname: the EHLO name when primary_helo is
 * empty. */
void	 callout_configure(struct event_base *base,
	    const struct primary_conf *pc, const char *hostname);
/* Fails every waiter (CALLOUT_ERROR) and closes everything. */
void	 callout_shutdown(void);
size_t	 callout_conn_count(void);
size_t	 callout_queue_length(void);
const char *callout_result_name(enum callout_result r);

/* The health probe: connect, greeting, EHLO, QUIT on a connection of its
 * own (outside the cap). cb(1, NULL) or cb(0, why) on the loop. */
typedef void (*callout_ping_fn)(int ok, const char *why);
void	 callout_ping(callout_ping_fn cb);

#endif
