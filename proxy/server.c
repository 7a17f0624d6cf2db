/*
 * server.c - listeners and accept.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdlib.h>
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
#include "table.h"
#include "stats.h"
#include "util.h"

#define ACCEPT_PAUSE_MS		100	/* after EMFILE and friends */
#define COUNT_BUCKETS_MIN	1024

/*
 * Sessions per address and per network: open addressing, linear probing,
 * tombstone-free (deletion shifts the run back), grown when half full.
 */
struct count_entry {
	uint8_t		 key[17];	/* family byte + 16 address bytes */
	uint32_t	 n;		/* 0: empty */
};

struct count_map {
	struct count_entry *e;
	size_t		 cap, used;
};

static struct {
	struct event_base	*base;
	struct config		*cfg;
	struct worker_pool	*pool;
	struct evconnlistener	*l[CONFIG_LISTEN_MAX];
	size_t			 nl;
	struct event		*resume;
	int			 stopped;
	struct count_map	 per_ip, per_net;
} srv;

static uint64_t
key_hash(const uint8_t *k)
{
	uint64_t h = 1469598103934665603u;	/* FNV-1a */

	for (int i = 0; i < 17; i++)
		h = (h ^ k[i]) * 1099511628211u;
	return h;
}

static struct count_entry *
map_find(struct count_map *m, const uint8_t *k, int create)
{
	size_t i;

	if (m->cap == 0) {
		if (!create)
			return NULL;
		m->cap = COUNT_BUCKETS_MIN;
		m->e = xcalloc(m->cap, sizeof(*m->e));
	}
	if (create && (m->used + 1) * 2 > m->cap) {
		struct count_entry *old = m->e;
		size_t ocap = m->cap;

		m->cap *= 2;
		m->e = xcalloc(m->cap, sizeof(*m->e));
		for (size_t j = 0; j < ocap; j++) {
			if (old[j].n == 0)
				continue;
			i = key_hash(old[j].key) & (m->cap - 1);
			while (m->e[i].n != 0)
				i = (i + 1) & (m->cap - 1);
			m->e[i] = old[j];
		}
		free(old);
	}
	i = key_hash(k) & (m->cap - 1);
	for (;;) {
		if (m->e[i].n == 0) {
			if (!create)
				return NULL;
			memcpy(m->e[i].key, k, 17);
			m->used++;
			return &m->e[i];
		}
		if (memcmp(m->e[i].key, k, 17) == 0)
			return &m->e[i];
		i = (i + 1) & (m->cap - 1);
	}
}

/* Removes the emptied entry at e and closes the gap in its probe run. */
static void
map_remove(struct count_map *m, struct count_entry *e)
{
	size_t i = (size_t)(e - m->e), j = i;

	m->e[i].n = 0;
	m->used--;
	for (;;) {
		size_t home;

		j = (j + 1) & (m->cap - 1);
		if (m->e[j].n == 0)
			return;
		home = key_hash(m->e[j].key) & (m->cap - 1);
		/* move back unless its home lies cyclically in (i, j] */
		if (((j - home) & (m->cap - 1)) >= ((j - i) & (m->cap - 1))) {
			m->e[i] = m->e[j];
			m->e[j].n = 0;
			i = j;
		}
	}
}

/* Key of the address and of its /24 or /64; IPv4-mapped counts as v4. */
static int
client_keys(const struct sockaddr *sa, uint8_t ip[17], uint8_t net[17])
{
	memset(ip, 0, 17);
	if (sa->sa_family == AF_INET) {
		ip[0] = 4;
		memcpy(ip + 1, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6) {
		const uint8_t *a =
		    ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
		static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		    0xff, 0xff };

		if (memcmp(a, mapped, 12) == 0) {
			ip[0] = 4;
			memcpy(ip + 1, a + 12, 4);
		} else {
			ip[0] = 6;
			memcpy(ip + 1, a, 16);
		}
	} else
		return -1;
	memcpy(net, ip, 17);
	if (net[0] == 4)
		net[4] = 0;			/* /24 */
	else
		memset(net + 9, 0, 8);		/* /64 */
	return 0;
}

int
server_admit(const struct sockaddr *sa, const char **why)
{
	uint8_t ip[17], net[17];
	struct count_entry *a, *n;

	*why = NULL;
	if (client_keys(sa, ip, net) < 0)
		return 0;
	a = map_find(&srv.per_ip, ip, 0);
	n = map_find(&srv.per_net, net, 0);
	if (a != NULL && a->n >= srv.cfg->max_sessions_per_ip) {
		*why = "max_sessions_per_ip";
		return -1;
	}
	if (n != NULL && n->n >= srv.cfg->max_sessions_per_net) {
		*why = "max_sessions_per_net";
		return -1;
	}
	map_find(&srv.per_ip, ip, 1)->n++;
	map_find(&srv.per_net, net, 1)->n++;
	return 0;
}

void
server_release(const struct sockaddr *sa)
{
	uint8_t ip[17], net[17];
	struct count_entry *e;

	if (client_keys(sa, ip, net) < 0)
		return;
	if ((e = map_find(&srv.per_ip, ip, 0)) != NULL && --e->n == 0)
		map_remove(&srv.per_ip, e);
	if ((e = map_find(&srv.per_net, net, 0)) != NULL && --e->n == 0)
		map_remove(&srv.per_net, e);
}

int
server_trusts_proxy(const struct sockaddr *sa)
{
	return srv.cfg != NULL && srv.cfg->proxy_networks != NULL &&
	    table_get_addr(srv.cfg->proxy_networks, sa) != NULL;
}

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
	if (server_trusts_proxy(sa)) {
		/* the real client is known after the PROXY header */
		session_new(srv.base, srv.cfg, srv.pool, fd, sa,
		    (socklen_t)salen, SESSION_EXPECT_PROXY);
		return;
	}
	{
		const char *why;

		if (server_admit(sa, &why) < 0) {
			stats_inc(STAT_conn_refused_max_per_ip);
			str_fmt(text, sizeof(text), "%s Error: too many "
			    "connections from your address, try again later",
			    srv.cfg->hostname);
			refuse(fd, 421, "4.7.0", text);
			return;
		}
	}
	session_new(srv.base, srv.cfg, srv.pool, fd, sa, (socklen_t)salen,
	    SESSION_ADMITTED);
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
	free(srv.per_ip.e);
	free(srv.per_net.e);
	memset(&srv.per_ip, 0, sizeof(srv.per_ip));
	memset(&srv.per_net, 0, sizeof(srv.per_net));
}
