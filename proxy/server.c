/*
 * server.c - listeners and accept.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "config.h"
#include "log.h"
#include "server.h"
#include "session.h"
#include "smtp_reply.h"
#include "stats.h"
#include "util.h"

#define ACCEPT_PAUSE_MS		100	/* after EMFILE and friends */

static struct {
	struct event_base	*base;
	struct config		*cfg;
	struct worker_pool	*pool;
	struct evconnlistener	*l[CONFIG_LISTEN_MAX];
	size_t			 nl;
	struct event		*resume;
	int			 stopped;
} srv;

/* A short reply written straight to a socket we will not keep. */
static void
refuse(evutil_socket_t fd, int code, const char *enh, const char *text)
{
	char buf[256];
	size_t n = reply_format(buf, sizeof(buf), code, enh, text);

	if (n > 0 && write(fd, buf, n) > 0)
		stats_inc(code / 100 == 4 ? STAT_reply_4xx : STAT_reply_5xx);
	evutil_closesocket(fd);
}

static void
on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	char text[300];

	if (srv.stopped) {
		stats_inc(STAT_conn_refused_draining);
		str_fmt(text, sizeof(text), "%s Service shutting down",
		    srv.cfg->hostname);
		refuse(fd, 421, "4.3.2", text);
		return;
	}
	if (session_count() >= srv.cfg->max_sessions) {
		stats_inc(STAT_conn_refused_max_sessions);
		str_fmt(text, sizeof(text), "%s Error: too many connections, "
		    "try again later", srv.cfg->hostname);
		refuse(fd, 421, "4.7.0", text);
		return;
	}
	session_new(srv.base, srv.cfg, srv.pool, fd, sa, (socklen_t)salen);
}

static void
on_resume(evutil_socket_t fd, short what, void *arg)
{
	if (srv.stopped)
		return;
	for (size_t i = 0; i < srv.nl; i++)
		evconnlistener_enable(srv.l[i]);
}

static void
on_accept_error(struct evconnlistener *l, void *arg)
{
	int e = EVUTIL_SOCKET_ERROR();
	struct timeval tv = { 0, ACCEPT_PAUSE_MS * 1000 };

	stats_inc(STAT_conn_accept_error);
	/* Out of descriptors: slow down instead of spinning or dying. */
	log_warn("accept: %s; pausing accept for %d ms",
	    evutil_socket_error_to_string(e), ACCEPT_PAUSE_MS);
	for (size_t i = 0; i < srv.nl; i++)
		evconnlistener_disable(srv.l[i]);
	evtimer_add(srv.resume, &tv);
}

int
server_listen(struct event_base *base, struct config *c,
    struct worker_pool *pool, struct err *err)
{
	srv.base = base;
	srv.pool = pool;
	server_set_config(c);
	srv.resume = evtimer_new(base, on_resume, NULL);
	for (size_t i = 0; i < c->nlisten; i++) {
		struct evconnlistener *l;
		char a[ADDR_STR_MAX + 16];

		sockaddr_fmt((struct sockaddr *)&c->listen_addr[i], a, sizeof(a));
		l = evconnlistener_new_bind(base, on_accept, NULL,
		    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE |
		    LEV_OPT_CLOSE_ON_EXEC | LEV_OPT_DISABLED,
		    (int)c->listen_backlog,
		    (struct sockaddr *)&c->listen_addr[i], (int)c->listen_len[i]);
		if (l == NULL) {
			err_set(err, "cannot listen on %s: %s", a,
			    strerror(errno));
			return -1;
		}
		evconnlistener_set_error_cb(l, on_accept_error);
		srv.l[srv.nl++] = l;
		log_info("listening on %s", a);
	}
	return 0;
}

void
server_enable(void)
{
	for (size_t i = 0; i < srv.nl; i++)
		evconnlistener_enable(srv.l[i]);
}

void
server_stop(void)
{
	srv.stopped = 1;
	for (size_t i = 0; i < srv.nl; i++)
		evconnlistener_free(srv.l[i]);
	srv.nl = 0;
}

void
server_set_config(struct config *c)
{
	struct config *old = srv.cfg;

	srv.cfg = config_ref(c);
	config_unref(&old);
}

void
server_free(void)
{
	server_stop();
	if (srv.resume != NULL)
		event_free(srv.resume);
	srv.resume = NULL;
	config_unref(&srv.cfg);
}
