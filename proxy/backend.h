/*
 * backend.h - one connection to the backup MX: connect, greeting, EHLO,
 * STARTTLS, then commands relayed in order (pipelined when the backend
 * offers PIPELINING) and their replies handed back one by one; also the
 * periodic probe that learns the backend's capabilities and health.
 *
 * A backend is owned by one session (the probe owns its own). Every
 * command queued with backend_cmd() gets exactly one callback: the reply,
 * or a failure (r == NULL) if the connection could not be made (fail =
 * BACKEND_UNAVAILABLE) or was lost or timed out later (BACKEND_LOST,
 * BACKEND_TIMEOUT). After the failures, closed() tells the owner to drop
 * its pointer; the backend frees itself. backend_close() frees it without
 * any further callback.
 */
#ifndef MXG_BACKEND_H
#define MXG_BACKEND_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "ehlo.h"

struct config;
struct event_base;
struct reply;
struct spool;
struct backend;

enum backend_fail {
	BACKEND_OK = 0,
	BACKEND_UNAVAILABLE,	/* connect, greeting or EHLO failed */
	BACKEND_LOST,		/* connection closed or broken */
	BACKEND_TIMEOUT		/* no reply within the deadline */
};

typedef void (*backend_reply_fn)(void *owner, void *arg,
    const struct reply *r, enum backend_fail fail, const char *why);

struct backend_owner {
	void	*owner;
	/* A streamed message's bytes have all been written; may be NULL. */
	void	(*drained)(void *owner, struct backend *b);
	/* Handshake done; may be NULL. */
	void	(*ready)(void *owner, struct backend *b);
	/* Connection gone (after every pending callback); may be NULL. */
	void	(*closed)(void *owner, struct backend *b,
		    enum backend_fail fail, const char *why);
};

/* What the backend learns about the real client (backend_client_info:
 * XCLIENT or a PROXY header). Copied by backend_open(). */
struct backend_client {
	const struct sockaddr *addr;	/* the client */
	const struct sockaddr *local;	/* the address it connected to */
	const char	*name;		/* verified host name or NULL */
	const char	*helo;		/* NULL: none yet */
	int		 esmtp;
	int		 tls;
};

struct backend *backend_open(struct event_base *base, const struct config *c,
	    const char *session_id, const struct backend_owner *owner,
	    const struct backend_client *client);
/* NULL-safe; no more callbacks; sends QUIT first when idle. */
void	 backend_close(struct backend **bp);
/*
 * The pool of idle connections shared by sessions, used when the backend
 * is not told who the client is (backend_client_info = none: the backend
 * sees mxguard either way). backend_release() gives a connection back: an
 * idle, ready one waits in the pool up to backend_idle_timeout (at most
 * backend_pool_max of them), anything else is closed. backend_take()
 * returns a pooled connection for c with a new owner, or NULL.
 */
void	 backend_release(struct backend **bp);
struct backend *backend_take(const struct config *c,
	    const struct backend_owner *owner);
/* Closes every pooled connection (shutdown: nothing leaks, no config
 * stays referenced). */
void	 backend_pool_flush(void);
/* After a reload: pooled connections of older configurations say QUIT
 * (backend_take() would never hand them out again). */
void	 backend_pool_retire(const struct config *current);
/* May a new transaction get a connection now (pool or below the cap)? */
int	 backend_available(const struct config *c);

/* Mid-session: every command still owed a reply gets its failure callback
 * (BACKEND_LOST, why) now, then closed(), then the connection goes. */
void	 backend_abort(struct backend **bp, const char *why);
/*
 * Queues line (with CRLF) for sending; cb(owner, arg, ...) follows. Lines
 * wait while the connection is being made. 0, or -1 if the backend is
 * already failed (nothing queued, no callback).
 */
int	 backend_cmd(struct backend *b, const char *line, size_t len,
	    backend_reply_fn cb, void *arg);
/*
 * After 354: sends prefix (headers to add, CRLF lines) then the spool's
 * content dot-stuffed, then ".", and waits for the final reply under
 * backend_data_timeout. The spool must not change until cb runs.
 */
int	 backend_message(struct backend *b, const char *prefix,
	    size_t prefixlen, const struct spool *sp, backend_reply_fn cb,
	    void *arg);
/*
 * Streaming (no filter needs the whole message): after 354, the prefix and
 * the message's bytes go out as they come, dot-stuffed; the final dot only
 * with backend_stream_end(), whose reply cb gets (backend_data_timeout).
 * Until then no deadline runs here: the client sets the pace, and the
 * backend's own timeout ends a stalled stream. backend_stream_pending()
 * tells how much is queued (for backpressure); drained() says it is gone.
 */
int	 backend_stream_begin(struct backend *b, const char *prefix,
	    size_t prefixlen);
void	 backend_stream_data(struct backend *b, const char *data, size_t len);
int	 backend_stream_end(struct backend *b, backend_reply_fn cb, void *arg);
size_t	 backend_stream_pending(const struct backend *b);
int	 backend_is_ready(const struct backend *b);
/* No command in flight or queued. */
int	 backend_is_idle(const struct backend *b);
const struct ehlo_caps *backend_caps(const struct backend *b);
/* The transactions this connection has carried (for reuse counting). */
unsigned backend_uses(const struct backend *b);
void	 backend_count_use(struct backend *b);
/* Open backend connections (gauge), the probe's included. */
uint64_t backend_open_count(void);
/* Called (if set) each time a backend connection is freed. */
extern void (*backend_released_hook)(void);

/* ---- health and capabilities, learned by probing --------------------- */

enum backend_health { HEALTH_UNKNOWN = 0, HEALTH_UP, HEALTH_DOWN };

/* Starts (or restarts, on reload) probing with c; the first probe runs now.
 * first_done (may be NULL) is called once after the first probe. */
void	 backend_probe_start(struct event_base *base, struct config *c,
	    void (*first_done)(void));
void	 backend_probe_stop(void);
enum backend_health backend_health(void);
/* The last capabilities seen (probe or a real connection). */
const struct ehlo_caps *backend_known_caps(void);

#endif
