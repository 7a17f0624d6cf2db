/*
 * session.h - one client conversation: states, commands, replies in
 * order, filter stages, and the lockstep relay to the backend.
 *
 * A session owns its bufferevent, transaction, backend connection and
 * filter run; it holds a reference to the config it started with. It is
 * never freed inside a callback chain: session_close() marks it and the
 * release runs from the loop's top level.
 */
#ifndef MXG_SESSION_H
#define MXG_SESSION_H

#include <stddef.h>
#include <sys/socket.h>

#include <event2/util.h>

struct config;
struct event_base;
struct worker_pool;
struct session;

/* session_new() flags */
#define SESSION_ADMITTED	0x1	/* counted by server_admit() */
#define SESSION_EXPECT_PROXY	0x2	/* a trusted load balancer: read the
					   PROXY header, then admit */

/* Takes ownership of fd; the session greets (or refuses) on its own. */
struct session *session_new(struct event_base *base, struct config *c,
	    struct worker_pool *pool, evutil_socket_t fd,
	    const struct sockaddr *peer, socklen_t peerlen, unsigned flags);
/* SIGTERM: idle sessions get 421 now, busy ones after their transaction. */
void	 session_drain_all(void);
/* The drain deadline passed: close everything now. */
void	 session_kill_all(void);
size_t	 session_count(void);
/* A filter verified the client's name (FCrDNS): filters and the Received
 * header see it from now on. */
void	 session_set_client_name(struct session *s, const char *name);
/* Called (if set) after a session is released; for limits and drain. */
extern void (*session_released_hook)(const struct sockaddr *peer);

#endif
