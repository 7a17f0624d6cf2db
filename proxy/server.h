/*
 * server.h - listeners, accept, and the limits applied before a session
 * exists (max_sessions). New sessions get the current config.
 */
#ifndef MXG_SERVER_H
#define MXG_SERVER_H

#include "util.h"

struct config;
struct event_base;
struct worker_pool;

/* Binds every listen address of c; accepting starts with server_enable(). */
int	 server_listen(struct event_base *base, struct config *c,
	    struct worker_pool *pool, struct err *err);
void	 server_enable(void);
/* Stops accepting (SIGTERM); listeners are closed. */
void	 server_stop(void);
/* The config new sessions get (reload). Takes a reference. */
void	 server_set_config(struct config *c);
void	 server_free(void);
/*
 * Per-client limits (max_sessions_per_ip / _per_net). server_admit()
 * counts a session for the address unless a limit is reached (-1, *why
 * set); every admitted session is released once with server_release().
 */
int	 server_admit(const struct sockaddr *sa, const char **why);
void	 server_release(const struct sockaddr *sa);
/* Is the peer a load balancer allowed to send a PROXY header? */
int	 server_trusts_proxy(const struct sockaddr *sa);

#endif
