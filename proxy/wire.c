/*
 * wire.c - direct writes for plain sockets.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "wire.h"

void
wire_write(struct bufferevent *bev, const void *data, size_t len)
{
	const char *p = data;
	evutil_socket_t fd;

	if (len == 0)
		return;
	/* Only a socket bufferevent with nothing queued may be bypassed:
	 * a filter (TLS) has no fd of its own, and queued bytes go first. */
	if (bufferevent_get_underlying(bev) == NULL &&
	    evbuffer_get_length(bufferevent_get_output(bev)) == 0 &&
	    (fd = bufferevent_getfd(bev)) >= 0 &&
	    (bufferevent_get_enabled(bev) & EV_WRITE)) {
		ssize_t n;

		do
			n = send(fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		while (n < 0 && errno == EINTR);
		if (n > 0) {
			p += n;
			len -= (size_t)n;
		}
		/* EAGAIN or an error: libevent's write path takes the rest
		 * and reports the error through the event callback */
	}
	if (len > 0)
		bufferevent_write(bev, p, len);
}
