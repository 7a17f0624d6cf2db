/*
 * backend.c - connections to the backup MX, and the capability probe.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/ssl.h>

#include "backend.h"
#include "config.h"
#include "data.h"
#include "log.h"
#include "proxy_proto.h"
#include "smtp_reply.h"
#include "spool.h"
#include "stats.h"
#include "tls.h"
#include "util.h"
#include "wire.h"

#define MSG_CHUNK		(256u << 10)	/* spool bytes per refill */
#define MSG_LOWAT		(64u << 10)	/* refill below this */
#define QUIT_WAIT_MS		1000
#define STREAM_LOW_MARK		(64u << 10)	/* streaming: progress reports */
#define PROBE_DOWN_MS		5000		/* probe faster while down */

enum bstate {
	B_CONNECTING = 0, B_GREETING, B_EHLO, B_HELO, B_STARTTLS, B_TLS,
	B_EHLO_TLS, B_XCLIENT, B_EHLO_X, B_READY, B_QUITTING, B_FAILED
};

#define XCLIENT_LINE_MAX	512	/* XCLIENT_README: the SMTP limit */

enum timer_kind { T_NONE = 0, T_CONNECT, T_REPLY, T_IDLE, T_QUIT };

struct bcmd {
	struct bcmd		*next;
	char			*line;		/* NULL: end of message */
	size_t			 len;
	backend_reply_fn	 cb;
	void			*arg;
};

struct backend {
	struct event_base	*base;
	struct config		*cfg;		/* reference held */
	char			 sid[40];
	struct backend_owner	 own;
	struct bufferevent	*bev;
	enum bstate		 state;
	int			 was_ready;
	int			 tls;
	int			 dead;		/* owner gone: no callbacks */
	int			 failing;
	struct ehlo_caps	 caps;
	struct bcmd		*out_head, *out_tail;	/* not sent yet */
	struct bcmd		*wait_head, *wait_tail;	/* sent, awaiting reply */
	/* the message being sent */
	const struct spool	*msg;
	uint64_t		 msg_off;
	struct data_stuff	 stuff;
	struct bcmd		*msg_cmd;
	/* one timer for every deadline, one event for the deferred free */
	struct event		*timer;
	enum timer_kind		 tkind;
	struct event		*free_ev;
	unsigned		 uses;
	const char		*where;
	int			 connect_failed;
	int			 streaming;	/* between stream_begin and _end */
	/* the real client, for XCLIENT or a PROXY header */
	int			 have_client;
	struct sockaddr_storage	 caddr, clocal;
	char			*cname, *chelo;
	int			 cesmtp;
	struct backend		*pool_next;	/* in the pool of idle ones */
	int			 pooled;
	int			 xclient_left;	/* 220s still owed */
	char			*xclient_next;	/* sent after the next 220 */
};

static uint64_t open_count;
static struct backend *pool_head;
static size_t pool_count;
void (*backend_released_hook)(void);

static void	 b_read(struct bufferevent *bev, void *arg);
static void	 b_write(struct bufferevent *bev, void *arg);
static void	 b_event(struct bufferevent *bev, short what, void *arg);
static void	 b_timer(evutil_socket_t fd, short what, void *arg);
static void	 b_free_cb(evutil_socket_t fd, short what, void *arg);
static void	 b_fail(struct backend *b, enum backend_fail f, const char *why);
static void	 b_pump(struct backend *b);
static void	 b_arm(struct backend *b);
static void	 b_send_ehlo(struct backend *b, const char *verb);
static void	 b_send_proxy(struct backend *b);
static int	 b_send_xclient(struct backend *b);
static void	 b_connected(struct backend *b);
static void	 b_ready(struct backend *b);
static int	 b_after_ehlo(struct backend *b);
static void	 b_refill(struct backend *b);
static void	 b_schedule_free(struct backend *b);
static void	 known_caps_update(const struct ehlo_caps *c);
static void	 health_set(enum backend_health h, const char *why);

/* ---- lifecycle -------------------------------------------------------- */

struct backend *
backend_open(struct event_base *base, const struct config *c,
    const char *session_id, const struct backend_owner *owner,
    const struct backend_client *client)
{
	struct backend *b = xcalloc(1, sizeof(*b));

	b->base = base;
	b->cfg = config_ref((struct config *)c);
	str_copy(b->sid, sizeof(b->sid), session_id);
	b->own = *owner;
	b->timer = evtimer_new(base, b_timer, b);
	b->free_ev = event_new(base, -1, 0, b_free_cb, b);
	b->state = B_CONNECTING;
	b->where = "connecting";
	if (client != NULL && client->addr != NULL) {
		b->have_client = 1;
		memcpy(&b->caddr, client->addr, client->addr->sa_family ==
		    AF_INET6 ? sizeof(struct sockaddr_in6) :
		    sizeof(struct sockaddr_in));
		if (client->local != NULL && client->local->sa_family ==
		    client->addr->sa_family)
			memcpy(&b->clocal, client->local,
			    client->local->sa_family == AF_INET6 ?
			    sizeof(struct sockaddr_in6) :
			    sizeof(struct sockaddr_in));
		b->cname = client->name ? xstrdup(client->name) : NULL;
		b->chelo = client->helo ? xstrdup(client->helo) : NULL;
		b->cesmtp = client->esmtp;
	}
	open_count++;
	b->bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (b->bev == NULL) {
		b_fail(b, BACKEND_UNAVAILABLE, "cannot create socket");
		return b;
	}
	bufferevent_setcb(b->bev, b_read, b_write, b_event, b);
	b->tkind = T_CONNECT;
	{
		struct timeval tv = {
			(time_t)(c->backend_connect_timeout / 1000),
			(suseconds_t)(c->backend_connect_timeout % 1000) * 1000
		};
		evtimer_add(b->timer, &tv);
	}
	if (bufferevent_socket_connect(b->bev,
	    (struct sockaddr *)&c->backend_addr, (int)c->backend_addrlen) < 0) {
		/* Reported from the loop, never inside backend_open(). */
		struct timeval now = { 0, 0 };

		b->connect_failed = 1;
		evtimer_add(b->timer, &now);
		return b;
	}
	bufferevent_enable(b->bev, EV_READ);
	return b;
}

/* The running configuration, once a reload happened: connections of
 * older ones are not pooled (nobody could take them). */
static const struct config *pool_current;

static void
pool_unlink(struct backend *b)
{
	struct backend **pp;

	if (!b->pooled)
		return;
	for (pp = &pool_head; *pp != NULL; pp = &(*pp)->pool_next)
		if (*pp == b) {
			*pp = b->pool_next;
			break;
		}
	b->pool_next = NULL;
	b->pooled = 0;
	pool_count--;
}

static void
b_free(struct backend *b)
{
	struct bcmd *c, *n;

	pool_unlink(b);
	for (c = b->out_head; c; c = n) {
		n = c->next;
		free(c->line);
		free(c);
	}
	for (c = b->wait_head; c; c = n) {
		n = c->next;
		free(c->line);
		free(c);
	}
	if (b->bev != NULL)
		bufferevent_free(b->bev);
	free(b->cname);
	free(b->chelo);
	free(b->xclient_next);
	event_free(b->timer);
	event_free(b->free_ev);
	config_unref(&b->cfg);
	open_count--;
	free(b);
	if (backend_released_hook != NULL)
		backend_released_hook();
}

static void
b_free_cb(evutil_socket_t fd, short what, void *arg)
{
	b_free(arg);
}

static void
b_schedule_free(struct backend *b)
{
	b->dead = 1;
	evtimer_del(b->timer);
	b->tkind = T_NONE;
	if (b->bev != NULL)
		bufferevent_disable(b->bev, EV_READ | EV_WRITE);
	event_active(b->free_ev, 0, 0);
}

/* Idle and usable: say goodbye, close once it is written. */
static void
b_quit(struct backend *b)
{
	struct timeval tv = { QUIT_WAIT_MS / 1000, 0 };

	b->dead = 1;
	b->state = B_QUITTING;
	wire_write(b->bev, "QUIT\r\n", 6);
	if (evbuffer_get_length(bufferevent_get_output(b->bev)) == 0) {
		/* it went straight to the socket (wire_write): no write
		 * callback will come, and waiting QUIT_WAIT_MS for the timer
		 * left the connection (and its config) behind at exit */
		b_schedule_free(b);
		return;
	}
	bufferevent_setwatermark(b->bev, EV_WRITE, 0, 0);
	bufferevent_disable(b->bev, EV_READ);
	b->tkind = T_QUIT;
	evtimer_add(b->timer, &tv);
}

void
backend_close(struct backend **bp)
{
	struct backend *b = *bp;

	if (b == NULL)
		return;
	*bp = NULL;
	if (b->dead)
		return;
	if (b->state == B_READY && b->bev != NULL && b->wait_head == NULL &&
	    b->out_head == NULL && b->msg == NULL && !b->streaming) {
		b_quit(b);
		return;
	}
	b_schedule_free(b);
}

void
backend_release(struct backend **bp)
{
	struct backend *b = *bp;
	const struct config *c;

	if (b == NULL)
		return;
	*bp = NULL;
	c = b->cfg;
	if (b->dead || b->state != B_READY || b->wait_head != NULL ||
	    b->out_head != NULL || b->msg != NULL || b->streaming ||
	    c->backend_client_info != CLIENT_INFO_NONE ||
	    (pool_current != NULL && c != pool_current) ||
	    pool_count >= c->backend_pool_max) {
		backend_close(&b);
		return;
	}
	memset(&b->own, 0, sizeof(b->own));
	b->pooled = 1;
	b->pool_next = pool_head;
	pool_head = b;
	pool_count++;
	b->where = "idle in the pool";
	b_arm(b);			/* the idle timer: QUIT when it fires */
	if (backend_released_hook != NULL)
		backend_released_hook();
}

struct backend *
backend_take(const struct config *c, const struct backend_owner *owner)
{
	struct backend *b;

	if (c->backend_client_info != CLIENT_INFO_NONE)
		return NULL;
	for (b = pool_head; b != NULL; b = b->pool_next)
		if (b->cfg == c && !b->dead && b->state == B_READY)
			break;
	if (b == NULL)
		return NULL;
	pool_unlink(b);
	b->own = *owner;
	evtimer_del(b->timer);
	b->tkind = T_NONE;
	stats_inc(STAT_backend_pool_reused);
	return b;
}

void
backend_pool_flush(void)
{
	/* at exit: freed by the loop pass main runs last, config refs too */
	while (pool_head != NULL) {
		struct backend *b = pool_head;

		pool_unlink(b);
		b_schedule_free(b);
	}
}

void
backend_pool_retire(const struct config *current)
{
	struct backend *b = pool_head, *next;

	pool_current = current;
	for (; b != NULL; b = next) {
		next = b->pool_next;
		if (b->cfg == current || b->dead)
			continue;
		pool_unlink(b);
		b_quit(b);	/* no owner: nothing to tell */
	}
}

int
backend_available(const struct config *c)
{
	if (open_count < c->max_backend_connections)
		return 1;
	for (struct backend *b = pool_head; b != NULL; b = b->pool_next)
		if (b->cfg == c && !b->dead && b->state == B_READY)
			return 1;
	return 0;
}

void
backend_abort(struct backend **bp, const char *why)
{
	struct backend *b = *bp;

	if (b == NULL)
		return;
	*bp = NULL;
	if (b->dead)
		return;
	if (b->failing)
		return;			/* already reporting its failures */
	b_fail(b, BACKEND_LOST, why);
}

/* ---- queues ----------------------------------------------------------- */

static struct bcmd *
pop(struct bcmd **head, struct bcmd **tail)
{
	struct bcmd *c = *head;

	if (c != NULL) {
		*head = c->next;
		if (*head == NULL)
			*tail = NULL;
		c->next = NULL;
	}
	return c;
}

static void
push(struct bcmd **head, struct bcmd **tail, struct bcmd *c)
{
	c->next = NULL;
	if (*tail)
		(*tail)->next = c;
	else
		*head = c;
	*tail = c;
}

int
backend_cmd(struct backend *b, const char *line, size_t len,
    backend_reply_fn cb, void *arg)
{
	struct bcmd *c;

	if (b->dead || b->state == B_FAILED || b->state == B_QUITTING)
		return -1;
	c = xcalloc(1, sizeof(*c));
	c->line = xstrndup(line, len);
	c->len = len;
	c->cb = cb;
	c->arg = arg;
	push(&b->out_head, &b->out_tail, c);
	if (b->state == B_READY)
		b_pump(b);
	return 0;
}

static void
b_pump(struct backend *b)
{
	int pipelining = (b->caps.ext & EXT_PIPELINING) != 0;
	int sent = 0;

	char buf[4096];
	size_t n = 0;

	/* a pipelined group goes out in one write */
	while (b->out_head != NULL && b->msg == NULL && !b->streaming &&
	    (pipelining || b->wait_head == NULL)) {
		struct bcmd *c = pop(&b->out_head, &b->out_tail);

		if (n + c->len > sizeof(buf)) {
			wire_write(b->bev, buf, n);
			n = 0;
		}
		if (c->len > sizeof(buf))
			wire_write(b->bev, c->line, c->len);
		else {
			memcpy(buf + n, c->line, c->len);
			n += c->len;
		}
		push(&b->wait_head, &b->wait_tail, c);
		sent = 1;
	}
	if (n > 0)
		wire_write(b->bev, buf, n);
	if (sent)
		b->where = "waiting for a reply";
	b_arm(b);
}

/* Sets the one timer for what the connection waits for now. */
static void
b_arm(struct backend *b)
{
	uint64_t ms;

	if (b->state != B_READY)
		return;
	if (b->streaming && b->wait_head == NULL) {
		/*
		 * The client sets the pace: no deadline while everything
		 * given is written; bytes still queued must be taken within
		 * backend_timeout, counted from when the queue last emptied.
		 */
		if (evbuffer_get_length(bufferevent_get_output(b->bev)) == 0) {
			evtimer_del(b->timer);
			b->tkind = T_NONE;
			return;
		}
		if (b->tkind == T_REPLY && evtimer_pending(b->timer, NULL))
			return;
		ms = b->cfg->backend_timeout;
		b->tkind = T_REPLY;
		goto add;
	}
	if (b->wait_head != NULL || b->msg != NULL) {
		ms = b->wait_head != NULL && b->wait_head->line == NULL ?
		    b->cfg->backend_data_timeout : b->cfg->backend_timeout;
		b->tkind = T_REPLY;
	} else {
		ms = b->cfg->backend_idle_timeout;
		b->tkind = T_IDLE;
	}
add:
	{
		struct timeval tv = { (time_t)(ms / 1000),
		    (suseconds_t)(ms % 1000) * 1000 };
		evtimer_add(b->timer, &tv);
	}
}

#define MSG_DIRECT_MAX	(64u << 10)	/* one write for messages up to this */

int
backend_message(struct backend *b, const char *prefix, size_t prefixlen,
    const struct spool *sp, backend_reply_fn cb, void *arg)
{
	struct bcmd *c;
	const char *mem = spool_mem(sp);
	uint64_t size = spool_size(sp);
	char *tmp;
	size_t n;

	if (b->dead || b->state != B_READY || b->msg != NULL || b->streaming)
		return -1;
	c = xcalloc(1, sizeof(*c));
	c->cb = cb;
	c->arg = arg;
	data_stuff_init(&b->stuff);
	b->where = "sending the message";
	if (mem != NULL && prefixlen + size <= MSG_DIRECT_MAX) {
		/* small: headers, stuffed body and the dot in one write */
		tmp = xmalloc(2 * (prefixlen + (size_t)size) + 5);
		n = data_stuff(&b->stuff, prefix, prefixlen, tmp);
		n += data_stuff(&b->stuff, mem, (size_t)size, tmp + n);
		n += data_stuff_end(&b->stuff, tmp + n);
		wire_write(b->bev, tmp, n);
		free(tmp);
		push(&b->wait_head, &b->wait_tail, c);
		b->where = "waiting for the reply to the message";
		b_arm(b);
		return 0;
	}
	b->msg_cmd = c;
	b->msg = sp;
	b->msg_off = 0;
	if (prefixlen > 0) {
		tmp = xmalloc(2 * prefixlen);
		n = data_stuff(&b->stuff, prefix, prefixlen, tmp);
		wire_write(b->bev, tmp, n);
		free(tmp);
	}
	bufferevent_setwatermark(b->bev, EV_WRITE, MSG_LOWAT, 0);
	b_refill(b);
	b_arm(b);
	return 0;
}

/* Adds the next stuffed chunk of the message, or its end. */
static void
b_refill(struct backend *b)
{
	struct evbuffer *out = bufferevent_get_output(b->bev);
	uint64_t size = spool_size(b->msg);

	while (b->msg != NULL && evbuffer_get_length(out) < MSG_LOWAT) {
		size_t n = size - b->msg_off > MSG_CHUNK ? MSG_CHUNK :
		    (size_t)(size - b->msg_off);
		struct evbuffer_iovec v;
		const char *mem = spool_mem(b->msg);

		if (n == 0) {
			char end[5];
			size_t k = data_stuff_end(&b->stuff, end);

			evbuffer_add(out, end, k);
			push(&b->wait_head, &b->wait_tail, b->msg_cmd);
			b->msg_cmd = NULL;
			b->msg = NULL;
			bufferevent_setwatermark(b->bev, EV_WRITE, 0, 0);
			b->where = "waiting for the reply to the message";
			b_arm(b);
			return;
		}
		if (evbuffer_reserve_space(out, (ev_ssize_t)(2 * n), &v, 1) < 1) {
			b_fail(b, BACKEND_LOST, "out of buffer space");
			return;
		}
		if (mem != NULL)
			v.iov_len = data_stuff(&b->stuff, mem + b->msg_off, n,
			    v.iov_base);
		else {
			char *tmp = xmalloc(n);
			ssize_t r = spool_read_at(b->msg, b->msg_off, tmp, n);

			if (r != (ssize_t)n) {
				free(tmp);
				v.iov_len = 0;
				evbuffer_commit_space(out, &v, 1);
				b_fail(b, BACKEND_LOST, "spool read failed");
				return;
			}
			v.iov_len = data_stuff(&b->stuff, tmp, n, v.iov_base);
			free(tmp);
		}
		evbuffer_commit_space(out, &v, 1);
		b->msg_off += n;
	}
}

/* ---- events ----------------------------------------------------------- */

static void
b_write(struct bufferevent *bev, void *arg)
{
	struct backend *b = arg;

	if (b->state == B_QUITTING) {
		b_schedule_free(b);
		return;
	}
	if (b->msg != NULL && !b->dead) {
		b_refill(b);
		if (b->state == B_READY)
			b_arm(b);	/* progress: the deadline starts anew */
	}
	if (b->streaming && !b->dead) {
		/* progress (the queue fell to the low mark): the deadline
		 * starts anew, or stops when all is taken */
		evtimer_del(b->timer);
		b->tkind = T_NONE;
		b_arm(b);
		if (b->own.drained != NULL)
			b->own.drained(b->own.owner, b);
	}
}

int
backend_stream_begin(struct backend *b, const char *prefix, size_t prefixlen)
{
	if (b->dead || b->state != B_READY || b->msg != NULL || b->streaming ||
	    b->wait_head != NULL || b->out_head != NULL)
		return -1;
	data_stuff_init(&b->stuff);
	b->streaming = 1;
	b->where = "streaming the message";
	/* b_write() reports progress each time the queue falls this low */
	bufferevent_setwatermark(b->bev, EV_WRITE, STREAM_LOW_MARK, 0);
	b_arm(b);
	backend_stream_data(b, prefix, prefixlen);
	return 0;
}

void
backend_stream_data(struct backend *b, const char *data, size_t len)
{
	char stack[8192], *tmp;
	size_t n;

	if (len == 0 || b->dead || !b->streaming)
		return;
	tmp = 2 * len <= sizeof(stack) ? stack : xmalloc(2 * len);
	n = data_stuff(&b->stuff, data, len, tmp);
	wire_write(b->bev, tmp, n);
	if (tmp != stack)
		free(tmp);
	b_arm(b);	/* bytes queued: their deadline starts if not running */
}

int
backend_stream_end(struct backend *b, backend_reply_fn cb, void *arg)
{
	struct bcmd *c;
	char end[5];
	size_t k;

	if (b->dead || !b->streaming)
		return -1;
	b->streaming = 0;
	bufferevent_setwatermark(b->bev, EV_WRITE, 0, 0);
	/* the reply's callback first: a write that fails at once (TLS)
	 * then reports to it */
	c = xcalloc(1, sizeof(*c));
	c->cb = cb;
	c->arg = arg;
	push(&b->wait_head, &b->wait_tail, c);
	b->where = "waiting for the reply to the message";
	k = data_stuff_end(&b->stuff, end);
	wire_write(b->bev, end, k);
	if (!b->dead)
		b_arm(b);
	return 0;
}

size_t
backend_stream_pending(const struct backend *b)
{
	return b->bev != NULL ?
	    evbuffer_get_length(bufferevent_get_output(b->bev)) : 0;
}

static void
b_event(struct bufferevent *bev, short what, void *arg)
{
	struct backend *b = arg;
	char why[160];

	if (b->state == B_QUITTING) {
		b_schedule_free(b);
		return;
	}
	if (what & BEV_EVENT_CONNECTED) {
		if (b->state == B_CONNECTING)
			b_connected(b);
		else if (b->state == B_TLS) {
			b->tls = 1;
			b->state = B_EHLO_TLS;
			b_send_ehlo(b, "EHLO");
		}
		return;
	}
	if (what & BEV_EVENT_ERROR) {
		int e = EVUTIL_SOCKET_ERROR();

		if (b->state == B_TLS) {
			tls_last_error(why, sizeof(why));
			stats_inc(STAT_backend_tls_fail);
		} else
			str_copy(why, sizeof(why), e ? evutil_socket_error_to_string(e) :
			    "connection error");
	} else
		str_copy(why, sizeof(why), "connection closed by the backend");
	if (b->state == B_CONNECTING)
		stats_inc(STAT_backend_connect_fail);
	b_fail(b, b->was_ready ? BACKEND_LOST : BACKEND_UNAVAILABLE, why);
}

static void
b_timer(evutil_socket_t fd, short what, void *arg)
{
	struct backend *b = arg;
	enum timer_kind k = b->tkind;

	b->tkind = T_NONE;
	switch (k) {
	case T_CONNECT:
		if (b->connect_failed) {
			stats_inc(STAT_backend_connect_fail);
			b_fail(b, BACKEND_UNAVAILABLE, "cannot connect");
			break;
		}
		stats_inc(STAT_backend_timeout);
		b_fail(b, BACKEND_UNAVAILABLE, "timeout while connecting");
		break;
	case T_REPLY: {
		char why[96];

		stats_inc(STAT_backend_timeout);
		str_fmt(why, sizeof(why), "timeout while %s", b->where);
		b_fail(b, BACKEND_TIMEOUT, why);
		break;
	}
	case T_IDLE:
		/* the owner drops its pointer; then close politely */
		if (b->own.closed != NULL && !b->dead)
			b->own.closed(b->own.owner, b, BACKEND_OK, "idle");
		if (b->dead)
			break;
		b_quit(b);
		break;
	case T_QUIT:
		b_schedule_free(b);
		break;
	default:
		break;
	}
}

/*
 * backend_client_info = proxy_v1/proxy_v2: the header goes first. A
 * connection without a client (the probe) says LOCAL/UNKNOWN, so the
 * backend uses the connection's own addresses.
 */
static void
b_send_proxy(struct backend *b)
{
	int ci = b->cfg->backend_client_info;
	uint8_t buf[256];
	size_t n = 0;

	struct sockaddr_storage src, dst;
	socklen_t len;

	if (ci != CLIENT_INFO_PROXY_V1 && ci != CLIENT_INFO_PROXY_V2)
		return;
	memset(&src, 0, sizeof(src));
	memset(&dst, 0, sizeof(dst));
	if (b->have_client) {
		memcpy(&src, &b->caddr, sizeof(src));
		if (b->clocal.ss_family == b->caddr.ss_family)
			memcpy(&dst, &b->clocal, sizeof(dst));
		else {
			/* the client came over another family (PROXY in, or a
			 * mapped address): say "any address" of its family */
			dst.ss_family = b->caddr.ss_family;
		}
	} else if (ci == CLIENT_INFO_PROXY_V1) {
		/* Postfix 3.7 refuses "PROXY UNKNOWN": the probe gives the
		 * connection's own addresses instead */
		len = sizeof(src);
		if (getsockname(bufferevent_getfd(b->bev),
		    (struct sockaddr *)&src, &len) < 0)
			src.ss_family = AF_UNSPEC;
		len = sizeof(dst);
		if (getpeername(bufferevent_getfd(b->bev),
		    (struct sockaddr *)&dst, &len) < 0)
			dst.ss_family = AF_UNSPEC;
	}
	if (src.ss_family != AF_UNSPEC && src.ss_family == dst.ss_family) {
		if (ci == CLIENT_INFO_PROXY_V1)
			n = proxy_build_v1((char *)buf, sizeof(buf),
			    (struct sockaddr *)&src, (struct sockaddr *)&dst);
		else
			n = proxy_build_v2(buf, sizeof(buf),
			    (struct sockaddr *)&src, (struct sockaddr *)&dst);
	}
	if (n == 0 && ci == CLIENT_INFO_PROXY_V1) {
		memcpy(buf, "PROXY UNKNOWN\r\n", 15);
		n = 15;
	} else if (n == 0) {
		static const uint8_t local[16] = { 0x0d, 0x0a, 0x0d, 0x0a, 0x00,
		    0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a, 0x20, 0x00, 0, 0 };

		memcpy(buf, local, sizeof(local));
		n = sizeof(local);
	}
	wire_write(b->bev, buf, n);
}

/* xtext (RFC 3461): printable ASCII but '+' and '=', the rest as +XX. */
static void
xtext(char *out, size_t outlen, const char *in, size_t max)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	for (size_t i = 0; in[i] && i < max && o + 4 < outlen; i++) {
		unsigned char c = (unsigned char)in[i];

		if (c > 0x20 && c < 0x7f && c != '+' && c != '=')
			out[o++] = (char)c;
		else {
			out[o++] = '+';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o] = '\0';
}

/*
 * XCLIENT with the attributes the backend offered. One command when it
 * fits in 512 bytes (XCLIENT_README's limit); else two, HELO/PROTO first:
 * Postfix checks smtpd_authorized_xclient_hosts against the address the
 * previous XCLIENT set, so the ADDR command must come last. XCLIENT ends
 * a pipelining group (it resets the session): the second waits for the
 * first's 220. Then EHLO again. Returns how many commands.
 */
static int
b_send_xclient(struct backend *b)
{
	char who[XCLIENT_LINE_MAX * 2], hp[XCLIENT_LINE_MAX * 2];
	char line[XCLIENT_LINE_MAX * 4], v[3 * 255 + 8], a[ADDR_STR_MAX];
	const struct ehlo_caps *c = &b->caps;
	size_t w = 0, h = 0;

	who[0] = hp[0] = '\0';
	if (ehlo_xclient_has(c, "NAME")) {
		/* only a verified name; Postfix maps [UNAVAILABLE] to
		 * "unknown", as its own smtpd would after a failed lookup */
		xtext(v, sizeof(v), b->cname ? b->cname : "[UNAVAILABLE]", 255);
		w += (size_t)snprintf(who + w, sizeof(who) - w, " NAME=%s", v);
	}
	if (ehlo_xclient_has(c, "ADDR")) {
		addr_fmt((struct sockaddr *)&b->caddr, a, sizeof(a));
		w += (size_t)snprintf(who + w, sizeof(who) - w, " ADDR=%s%s",
		    b->caddr.ss_family == AF_INET6 ? "IPV6:" : "", a);
	}
	if (ehlo_xclient_has(c, "PORT"))
		w += (size_t)snprintf(who + w, sizeof(who) - w, " PORT=%u",
		    sockaddr_port((struct sockaddr *)&b->caddr));
	if (ehlo_xclient_has(c, "HELO")) {
		xtext(v, sizeof(v), b->chelo ? b->chelo : "[UNAVAILABLE]", 255);
		h += (size_t)snprintf(hp + h, sizeof(hp) - h, " HELO=%s", v);
	}
	if (ehlo_xclient_has(c, "PROTO"))
		h += (size_t)snprintf(hp + h, sizeof(hp) - h, " PROTO=%s",
		    b->cesmtp ? "ESMTP" : "SMTP");
	if (w + h == 0)
		return 0;
	if (7 + w + h + 2 <= XCLIENT_LINE_MAX || w == 0 || h == 0) {
		int n = snprintf(line, sizeof(line), "XCLIENT%s%s\r\n", hp, who);

		bufferevent_write(b->bev, line, (size_t)n);
		return 1;
	}
	{
		int n = snprintf(line, sizeof(line), "XCLIENT%s\r\n", hp);

		bufferevent_write(b->bev, line, (size_t)n);
		str_fmt(line, sizeof(line), "XCLIENT%s\r\n", who);
		b->xclient_next = xstrdup(line);
	}
	return 2;
}

static void
b_send_ehlo(struct backend *b, const char *verb)
{
	const char *name = b->cfg->backend_helo;
	char line[300];

	/* After XCLIENT, EHLO sets the HELO name the backend records
	 * (XCLIENT_README's example does the same). */
	if (b->state == B_EHLO_X && b->chelo != NULL &&
	    strspn(b->chelo, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789.-_[]:") == strlen(b->chelo) && b->chelo[0] != '\0')
		name = b->chelo;
	str_fmt(line, sizeof(line), "%s %s\r\n", verb, name);
	b->where = "waiting for the EHLO reply";
	wire_write(b->bev, line, strlen(line));
}

static int
b_start_tls(struct backend *b)
{
	struct bufferevent *nb;
	SSL *ssl;

	ssl = tls_ssl_new(b->cfg->backend_tls_ctx);
	if (ssl == NULL)
		return -1;
	/* Whatever came after "220" was sent in clear: drop it. */
	evbuffer_drain(bufferevent_get_input(b->bev),
	    evbuffer_get_length(bufferevent_get_input(b->bev)));
	nb = bufferevent_openssl_filter_new(b->base, b->bev, ssl,
	    BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE);
	if (nb == NULL) {
		SSL_free(ssl);
		return -1;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(nb, 1);
	b->bev = nb;
	bufferevent_setcb(nb, b_read, b_write, b_event, b);
	bufferevent_enable(nb, EV_READ);
	b->state = B_TLS;
	b->where = "in the TLS handshake";
	return 0;
}

static void
b_ready(struct backend *b)
{
	b->state = B_READY;
	b->was_ready = 1;
	evtimer_del(b->timer);
	b->tkind = T_NONE;
	known_caps_update(&b->caps);
	if (b->own.ready != NULL && !b->dead)
		b->own.ready(b->own.owner, b);
	if (b->state == B_READY && !b->dead)
		b_pump(b);
}

/*
 * EHLO done (and TLS, if any): tell the backend who the client is, or be
 * ready. XCLIENT configured but not offered to us is a configuration error
 * on the backend; mail must not go in under mxguard's address, so it
 * fails (451 to the client) and says why.
 */
static int
b_after_ehlo(struct backend *b)
{
	char why[200];
	int n;

	if (b->cfg->backend_client_info != CLIENT_INFO_XCLIENT ||
	    !b->have_client) {
		b_ready(b);
		return 0;
	}
	if (!(b->caps.ext & EXT_XCLIENT)) {
		stats_inc(STAT_backend_xclient_fail);
		str_fmt(why, sizeof(why), "backend_client_info = xclient, but "
		    "the backend does not offer XCLIENT to mxguard (add "
		    "mxguard's address to its smtpd_authorized_xclient_hosts)");
		log_err("%s %s", b->sid, why);
		b_fail(b, BACKEND_UNAVAILABLE, why);
		return -1;
	}
	n = b_send_xclient(b);
	if (n == 0) {
		b_ready(b);
		return 0;
	}
	b->xclient_left = n;
	b->state = B_XCLIENT;
	b->where = "waiting for the XCLIENT reply";
	return 0;
}

/* Handshake replies. 0 go on, -1 failed (b_fail done). */
static int
b_handshake(struct backend *b, const struct reply *r)
{
	char why[300];

	switch (b->state) {
	case B_GREETING:
		if (r->code != 220) {
			str_fmt(why, sizeof(why), "greeting: %d %s", r->code,
			    reply_text(r));
			b_fail(b, BACKEND_UNAVAILABLE, why);
			return -1;
		}
		b->state = B_EHLO;
		b_send_ehlo(b, "EHLO");
		return 0;
	case B_EHLO:
	case B_EHLO_TLS:
		if (r->code / 100 == 5 && b->state == B_EHLO) {
			b->state = B_HELO;
			b_send_ehlo(b, "HELO");
			return 0;
		}
		if (r->code != 250) {
			str_fmt(why, sizeof(why), "EHLO: %d %s", r->code,
			    reply_text(r));
			b_fail(b, BACKEND_UNAVAILABLE, why);
			return -1;
		}
		ehlo_parse(r, &b->caps);
		if (b->state == B_EHLO && b->cfg->backend_tls != BACKEND_TLS_NO &&
		    (b->caps.ext & EXT_STARTTLS)) {
			b->state = B_STARTTLS;
			b->where = "waiting for the STARTTLS reply";
			wire_write(b->bev, "STARTTLS\r\n", 10);
			return 0;
		}
		if (b->state == B_EHLO &&
		    b->cfg->backend_tls == BACKEND_TLS_ENCRYPT) {
			stats_inc(STAT_backend_tls_fail);
			b_fail(b, BACKEND_UNAVAILABLE,
			    "backend does not offer STARTTLS (backend_tls = encrypt)");
			return -1;
		}
		return b_after_ehlo(b);
	case B_XCLIENT:
		if (r->code != 220) {
			str_fmt(why, sizeof(why), "XCLIENT: %d %s", r->code,
			    reply_text(r));
			stats_inc(STAT_backend_xclient_fail);
			b_fail(b, BACKEND_UNAVAILABLE, why);
			return -1;
		}
		if (--b->xclient_left > 0) {
			if (b->xclient_next != NULL) {
				bufferevent_write(b->bev, b->xclient_next,
				    strlen(b->xclient_next));
				free(b->xclient_next);
				b->xclient_next = NULL;
			}
			return 0;
		}
		/* the backend is back at its greeting: EHLO again */
		b->state = B_EHLO_X;
		b_send_ehlo(b, "EHLO");
		return 0;
	case B_EHLO_X:
		if (r->code != 250) {
			str_fmt(why, sizeof(why), "EHLO after XCLIENT: %d %s",
			    r->code, reply_text(r));
			b_fail(b, BACKEND_UNAVAILABLE, why);
			return -1;
		}
		ehlo_parse(r, &b->caps);
		b_ready(b);
		return 0;
	case B_HELO:
		if (r->code != 250) {
			str_fmt(why, sizeof(why), "HELO: %d %s", r->code,
			    reply_text(r));
			b_fail(b, BACKEND_UNAVAILABLE, why);
			return -1;
		}
		memset(&b->caps, 0, sizeof(b->caps));
		return b_after_ehlo(b);
	case B_STARTTLS:
		if (r->code == 220 && b_start_tls(b) == 0)
			return 1;	/* the input buffer is gone */
		stats_inc(STAT_backend_tls_fail);
		if (b->cfg->backend_tls == BACKEND_TLS_ENCRYPT) {
			str_fmt(why, sizeof(why), "STARTTLS: %d %s", r->code,
			    reply_text(r));
			b_fail(b, BACKEND_UNAVAILABLE, why);
			return -1;
		}
		return b_after_ehlo(b);
	default:
		b_fail(b, BACKEND_LOST, "reply in an unexpected state");
		return -1;
	}
}

/* The TCP connection is up (reported by the event or by the greeting). */
static void
b_connected(struct backend *b)
{
	evutil_socket_t fd = bufferevent_getfd(b->bev);
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	b_send_proxy(b);
	b->state = B_GREETING;
	b->where = "waiting for the greeting";
	stats_inc(STAT_backend_connect_ok);
}

static void
b_read(struct bufferevent *bev, void *arg)
{
	struct backend *b = arg;
	struct evbuffer *in = bufferevent_get_input(bev);

	/* libevent may deliver the greeting before the connect event */
	if (b->state == B_CONNECTING)
		b_connected(b);

	while (!b->dead && b->state != B_FAILED) {
		struct reply r;
		size_t len = evbuffer_get_length(in), used = 0;
		enum reply_result rr;
		const char *p;

		if (len == 0)
			return;
		p = (const char *)evbuffer_pullup(in, (ev_ssize_t)MIN(len,
		    (size_t)REPLY_LINES_MAX * (REPLY_LINE_MAX + 2)));
		rr = reply_parse(p, MIN(len, (size_t)REPLY_LINES_MAX *
		    (REPLY_LINE_MAX + 2)), &r, &used);
		if (rr == REPLY_INCOMPLETE)
			return;
		if (rr != REPLY_OK) {
			b_fail(b, b->was_ready ? BACKEND_LOST :
			    BACKEND_UNAVAILABLE, rr == REPLY_TOO_LONG ?
			    "reply too long" : "reply syntax error");
			return;
		}
		evbuffer_drain(in, used);
		if (b->state != B_READY) {
			int rc = b_handshake(b, &r);

			reply_clear(&r);
			if (rc != 0)
				return;
			continue;
		}
		{
			struct bcmd *c = pop(&b->wait_head, &b->wait_tail);

			if (c == NULL) {
				char why[300];

				str_fmt(why, sizeof(why), "unexpected reply: %d %s",
				    r.code, reply_text(&r));
				reply_clear(&r);
				if (b->out_head == NULL && b->msg == NULL) {
					/* e.g. "421 timeout" on an idle
					 * connection: it is just gone */
					if (b->own.closed != NULL && !b->dead)
						b->own.closed(b->own.owner, b,
						    BACKEND_LOST, why);
					b_schedule_free(b);
					return;
				}
				b_fail(b, BACKEND_LOST, why);
				return;
			}
			c->cb(b->own.owner, c->arg, &r, BACKEND_OK, NULL);
			free(c->line);
			free(c);
			reply_clear(&r);
		}
		if (b->dead || b->state != B_READY)
			return;
		evtimer_del(b->timer);
		b_pump(b);
	}
}

static void
b_fail(struct backend *b, enum backend_fail f, const char *why)
{
	struct bcmd *c;

	if (b->failing)
		return;
	b->failing = 1;
	b->state = B_FAILED;
	evtimer_del(b->timer);
	b->tkind = T_NONE;
	if (b->bev != NULL)
		bufferevent_disable(b->bev, EV_READ | EV_WRITE);
	if (!b->was_ready)
		f = BACKEND_UNAVAILABLE;
	log_debug("%s backend failed (%s): %s", b->sid, b->where, why);
	b->streaming = 0;
	if (b->msg_cmd != NULL) {
		push(&b->wait_head, &b->wait_tail, b->msg_cmd);
		b->msg_cmd = NULL;
		b->msg = NULL;
	}
	/* replies owed first, in order, then the commands never sent */
	while ((c = pop(&b->wait_head, &b->wait_tail)) != NULL ||
	    (c = pop(&b->out_head, &b->out_tail)) != NULL) {
		if (!b->dead)
			c->cb(b->own.owner, c->arg, NULL, f, why);
		free(c->line);
		free(c);
	}
	if (!b->dead && b->own.closed != NULL)
		b->own.closed(b->own.owner, b, f, why);
	b_schedule_free(b);
}

int
backend_is_ready(const struct backend *b)
{
	return b != NULL && b->state == B_READY && !b->dead;
}

int
backend_is_idle(const struct backend *b)
{
	return b->wait_head == NULL && b->out_head == NULL && b->msg == NULL &&
	    !b->streaming;
}

const struct ehlo_caps *
backend_caps(const struct backend *b)
{
	return &b->caps;
}

unsigned
backend_uses(const struct backend *b)
{
	return b->uses;
}

void
backend_count_use(struct backend *b)
{
	b->uses++;
}

uint64_t
backend_open_count(void)
{
	return open_count;
}

/* ---- health and capabilities ------------------------------------------ */

static struct {
	struct event_base	*base;
	struct config		*cfg;
	struct event		*timer;
	struct backend		*conn;
	enum backend_health	 health;
	uint64_t		 since;
	struct ehlo_caps	 caps;
	int			 have_caps;
	void			(*first_done)(void);
} probe;

static void probe_run(evutil_socket_t fd, short what, void *arg);

static void
known_caps_update(const struct ehlo_caps *c)
{
	probe.caps = *c;
	probe.have_caps = 1;
	health_set(HEALTH_UP, NULL);
}

const struct ehlo_caps *
backend_known_caps(void)
{
	return &probe.caps;
}

enum backend_health
backend_health(void)
{
	return probe.health;
}

static void
health_set(enum backend_health h, const char *why)
{
	if (h == probe.health)
		return;
	if (h == HEALTH_UP)
		log_info("backend %s is up", probe.cfg ? probe.cfg->backend : "");
	else
		log_warn("backend %s is down: %s", probe.cfg ? probe.cfg->backend :
		    "", why ? why : "unknown");
	probe.health = h;
	probe.since = now_ms();
}

static void
probe_next(void)
{
	uint64_t ms = probe.cfg->backend_probe_interval;
	struct timeval tv;

	if (probe.health == HEALTH_DOWN && ms > PROBE_DOWN_MS)
		ms = PROBE_DOWN_MS;
	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	evtimer_add(probe.timer, &tv);
	if (probe.first_done != NULL) {
		void (*f)(void) = probe.first_done;

		probe.first_done = NULL;
		f();
	}
}

static void
probe_ready(void *owner, struct backend *b)
{
	stats_inc(STAT_backend_probe_ok);
	probe.conn = NULL;
	backend_close(&b);
	probe_next();
}

static void
probe_closed(void *owner, struct backend *b, enum backend_fail f,
    const char *why)
{
	probe.conn = NULL;
	stats_inc(STAT_backend_probe_fail);
	health_set(HEALTH_DOWN, why);
	probe_next();
}

static void
probe_run(evutil_socket_t fd, short what, void *arg)
{
	static const struct backend_owner own = {
		.owner = NULL, .ready = probe_ready, .closed = probe_closed
	};

	if (probe.conn != NULL)
		return;
	probe.conn = backend_open(probe.base, probe.cfg, "probe", &own, NULL);
}

void
backend_probe_start(struct event_base *base, struct config *c,
    void (*first_done)(void))
{
	if (probe.timer == NULL)
		probe.timer = evtimer_new(base, probe_run, NULL);
	probe.base = base;
	if (probe.cfg != NULL)
		config_unref(&probe.cfg);
	probe.cfg = config_ref(c);
	probe.first_done = first_done;
	evtimer_del(probe.timer);
	if (probe.conn != NULL)
		backend_close(&probe.conn);
	probe_run(-1, 0, NULL);
}

void
backend_probe_stop(void)
{
	if (probe.conn != NULL)
		backend_close(&probe.conn);
	if (probe.timer != NULL)
		event_free(probe.timer);
	probe.timer = NULL;
	config_unref(&probe.cfg);
}
