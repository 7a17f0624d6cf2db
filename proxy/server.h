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

#endif
