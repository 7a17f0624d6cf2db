/*
 * wire.h - writes that skip the event loop when the socket can take them.
 *
 * A bufferevent enables EV_WRITE for every write and disables it once the
 * buffer is empty: two epoll_ctl calls per SMTP reply, most of mxguard's
 * system calls per message. When nothing is queued, wire_write() sends at
 * once; only what the kernel does not take goes into the bufferevent, so
 * order is kept and the slow path is libevent's. TLS bufferevents (filters)
 * always go through libevent.
 */
#ifndef MXG_WIRE_H
#define MXG_WIRE_H

#include <stddef.h>

struct bufferevent;

void	wire_write(struct bufferevent *bev, const void *data, size_t len);

#endif
