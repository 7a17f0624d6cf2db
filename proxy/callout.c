/*
 * callout.c - the SMTP client that verifies recipients with the primary.
 *
 * Not backend.c: that object belongs to a session, carries XCLIENT, TLS
 * and message streaming, and reports the backup's health; a callout
 * connection belongs to a global pool, speaks three commands and reports
 * the primary's. Both read replies with smtp_reply.c and EHLO with ehlo.c.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "callout.h"
#include "ehlo.h"
#include "log.h"
#include "primary.h"
#include "rcptmap.h"
#include "smtp_reply.h"
#include "stats.h"
#include "util.h"

#define QUIT_WAIT_MS	1000

enum cstate {
	C_CONNECTING = 0, C_GREETING, C_EHLO, C_HELO, C_IDLE, C_BUSY, C_QUIT
};
enum cphase { P_MAIL = 0, P_RCPT, P_RSET };

struct waiter {
	struct waiter	*next;
	callout_fn	 cb;
	void		*arg;
};

struct creq {
	struct creq	*next;		/* in the queue */
	char		 addr[RCPT_ADDR_MAX];
	char		 key[RCPT_ADDR_MAX];	/* lower case */
	struct waiter	*waiters;
	unsigned	 flags;
	int		 retried;
	uint64_t	 start_ms;
};

struct cconn {
	struct cconn	*next, *prev;
	struct bufferevent *bev;
	struct event	*timer;
	struct event	*free_ev;
	enum cstate	 state;
	unsigned	 gen;		/* pool generation it was opened for */
	int		 pipelining;
	int		 established;	/* greeting seen */
	int		 counted;	/* in pool.nconns (the cap) */
	int		 dead;
	unsigned	 uses, rejects;
	struct creq	*req;		/* running, until answered */
	enum cphase	 phase;
	int		 mail_code;
	int		 ping;
	callout_ping_fn	 ping_cb;
	const char	*where;
};

static struct {
	struct event_base *base;
	int		 configured;
	unsigned	 gen;
	struct sockaddr_storage addr;
	socklen_t	 addrlen;
	char		 name[300];
	char		 helo[256];
	uint64_t	 connect_timeout, timeout, idle_timeout;
	size_t		 max_conns, max_queue;
	unsigned	 max_uses, max_rejects;
	struct cconn	*conns;		/* the pool (and pings) */
	size_t		 nconns;	/* pool connections, not pings */
	struct creq	*qhead, *qtail;
	size_t		 nqueued;
} pool;

static void	 c_read(struct bufferevent *bev, void *arg);
static void	 c_write(struct bufferevent *bev, void *arg);
static void	 c_event(struct bufferevent *bev, short what, void *arg);
static void	 c_timer(evutil_socket_t fd, short what, void *arg);
static void	 c_free_cb(evutil_socket_t fd, short what, void *arg);
static void	 c_fail(struct cconn *c, int down, const char *why);
static void	 c_close(struct cconn *c);
static void	 c_idle(struct cconn *c);
static void	 pool_kick(void);
static void	 answer(struct creq *r, const struct callout_answer *a);
static void	 fail_queue(enum callout_result res, const char *why);

const char *
callout_result_name(enum callout_result r)
{
	static const char *const names[] = { "valid", "invalid", "tempfail",
	    "down", "busy", "error" };

	return (unsigned)r < ARRAY_LEN(names) ? names[r] : "?";
}

static void
arm(struct cconn *c, uint64_t ms)
{
	struct timeval tv = { (time_t)(ms / 1000),
	    (suseconds_t)(ms % 1000) * 1000 };

	evtimer_add(c->timer, &tv);
}

/* ---- connections ------------------------------------------------------------ */

static struct cconn *
c_open(int ping)
{
	struct cconn *c = xcalloc(1, sizeof(*c));

	c->gen = pool.gen;
	c->ping = ping;
	c->timer = evtimer_new(pool.base, c_timer, c);
	c->free_ev = event_new(pool.base, -1, 0, c_free_cb, c);
	c->state = C_CONNECTING;
	c->where = "connecting";
	c->next = pool.conns;
	if (pool.conns)
		pool.conns->prev = c;
	pool.conns = c;
	if (!ping) {
		c->counted = 1;
		pool.nconns++;
		stats_inc(STAT_callout_conn_open);
	}
	c->bev = bufferevent_socket_new(pool.base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL) {
		c_fail(c, 0, "cannot create a socket");
		return NULL;
	}
	bufferevent_setcb(c->bev, c_read, c_write, c_event, c);
	arm(c, pool.connect_timeout);
	if (bufferevent_socket_connect(c->bev, (struct sockaddr *)&pool.addr,
	    (int)pool.addrlen) < 0) {
		/* reported from the timer, never inside the caller */
		struct timeval now = { 0, 0 };

		c->where = "connecting (refused at once)";
		evtimer_add(c->timer, &now);
		return c;
	}
	bufferevent_enable(c->bev, EV_READ);
	return c;
}

static void
c_uncount(struct cconn *c)
{
	if (c->counted) {
		c->counted = 0;
		pool.nconns--;
	}
}

static void
c_unlink(struct cconn *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else if (pool.conns == c)
		pool.conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->next = c->prev = NULL;
	c_uncount(c);
}

/* Frees from the loop's top level: never inside its own callbacks. */
static void
c_schedule_free(struct cconn *c)
{
	if (c->dead)
		return;
	c->dead = 1;
	c_unlink(c);
	evtimer_del(c->timer);
	if (c->bev != NULL)
		bufferevent_disable(c->bev, EV_READ | EV_WRITE);
	event_active(c->free_ev, 0, 0);
}

static void
c_free_cb(evutil_socket_t fd, short what, void *arg)
{
	struct cconn *c = arg;

	if (c->bev != NULL)
		bufferevent_free(c->bev);
	event_free(c->timer);
	event_free(c->free_ev);
	free(c);
}

/* Says goodbye politely, then goes. */
static void
c_close(struct cconn *c)
{
	if (c->dead)
		return;
	if (c->bev == NULL || !c->established || c->state == C_QUIT) {
		c_schedule_free(c);
		return;
	}
	c->state = C_QUIT;
	c->where = "quitting";
	c_uncount(c);		/* the cap counts usable connections */
	bufferevent_write(c->bev, "QUIT\r\n", 6);
	bufferevent_disable(c->bev, EV_READ);
	arm(c, QUIT_WAIT_MS);
}

static void
c_write(struct bufferevent *bev, void *arg)
{
	struct cconn *c = arg;

	if (c->state == C_QUIT &&
	    evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		c_schedule_free(c);
}

/*
 * The connection failed. down: the primary is unreachable (refused,
 * timed out, no 220), which queued callouts learn too.
 */
static void
c_fail(struct cconn *c, int down, const char *why)
{
	struct creq *r = c->req;
	char buf[300];

	if (c->dead)
		return;
	str_fmt(buf, sizeof(buf), "%s while %s", why, c->where);
	log_debug("callout %s: %s", pool.name, buf);
	c->req = NULL;
	if (c->state == C_QUIT) {
		c_schedule_free(c);
		return;
	}
	c_schedule_free(c);
	if (c->ping) {
		if (c->ping_cb != NULL)
			c->ping_cb(0, buf);
		return;
	}
	if (down)
		primary_report(0, buf);
	if (r != NULL) {
		struct callout_answer a;

		memset(&a, 0, sizeof(a));
		if (down) {
			a.result = CALLOUT_DOWN;
			stats_inc(STAT_callout_down);
		} else if (!r->retried) {
			/* e.g. the primary closed a reused connection just
			 * as we wrote: once more, on a fresh one */
			r->retried = 1;
			r->next = pool.qhead;
			pool.qhead = r;
			if (pool.qtail == NULL)
				pool.qtail = r;
			pool.nqueued++;
			r = NULL;
		} else {
			a.result = CALLOUT_ERROR;
			stats_inc(STAT_callout_error);
		}
		if (r != NULL) {
			str_copy(a.text, sizeof(a.text), buf);
			answer(r, &a);
		}
	}
	if (down)
		fail_queue(CALLOUT_DOWN, buf);
	pool_kick();
}

static void
c_event(struct bufferevent *bev, short what, void *arg)
{
	struct cconn *c = arg;
	char why[160];

	if (what & BEV_EVENT_CONNECTED) {
		int one = 1;

		/* c_read may have seen the greeting first */
		if (c->state != C_CONNECTING)
			return;
		setsockopt(bufferevent_getfd(bev), IPPROTO_TCP, TCP_NODELAY,
		    &one, sizeof(one));
		c->state = C_GREETING;
		c->where = "waiting for the greeting";
		return;
	}
	if (what & BEV_EVENT_ERROR) {
		int e = EVUTIL_SOCKET_ERROR();

		str_copy(why, sizeof(why), e ? evutil_socket_error_to_string(e) :
		    "connection error");
	} else
		str_copy(why, sizeof(why), "connection closed by the primary");
	/* refused or reset before the greeting: the primary is down */
	c_fail(c, !c->established, why);
}

static void
c_timer(evutil_socket_t fd, short what, void *arg)
{
	struct cconn *c = arg;

	switch (c->state) {
	case C_CONNECTING:
	case C_GREETING:
	case C_EHLO:
	case C_HELO:
		c_fail(c, 1, strcmp(c->where, "connecting (refused at once)") ?
		    "timeout" : "cannot connect");
		break;
	case C_BUSY:
		/* a primary that stops answering is as good as down */
		c_fail(c, 1, "timeout");
		break;
	case C_IDLE:
		c_close(c);
		break;
	case C_QUIT:
		c_schedule_free(c);
		break;
	}
}

static void
send_line(struct cconn *c, const char *line)
{
	bufferevent_write(c->bev, line, strlen(line));
}

/* Starts a callout on an idle connection. */
static void
c_start(struct cconn *c, struct creq *r)
{
	c->req = r;
	c->state = C_BUSY;
	c->phase = P_MAIL;
	c->mail_code = 0;
	if (c->uses++ > 0)
		stats_inc(STAT_callout_conn_reused);
	stats_inc(STAT_callout_started);
	evtimer_del(c->timer);
	if (c->pipelining) {
		char line[RCPT_ADDR_MAX + 64];

		/* one write, one round trip (RFC 2920) */
		str_fmt(line, sizeof(line), "MAIL FROM:<>\r\nRCPT TO:<%s>\r\n"
		    "RSET\r\n", r->addr);
		bufferevent_write(c->bev, line, strlen(line));
	} else
		send_line(c, "MAIL FROM:<>\r\n");
	c->where = "waiting for the reply to MAIL";
	arm(c, pool.timeout);
}

static void
c_handshake(struct cconn *c, const struct reply *r)
{
	char why[300];

	switch (c->state) {
	case C_GREETING:
		if (r->code != 220) {
			str_fmt(why, sizeof(why), "greeting %d %s", r->code,
			    reply_text(r));
			c_fail(c, 1, why);
			return;
		}
		c->established = 1;
		if (!c->ping)
			primary_report(1, NULL);
		c->state = C_EHLO;
		c->where = "waiting for the reply to EHLO";
		str_fmt(why, sizeof(why), "EHLO %s\r\n", pool.helo);
		send_line(c, why);
		arm(c, pool.timeout);
		return;
	case C_EHLO:
		if (r->code / 100 == 5) {
			c->state = C_HELO;
			c->where = "waiting for the reply to HELO";
			str_fmt(why, sizeof(why), "HELO %s\r\n", pool.helo);
			send_line(c, why);
			arm(c, pool.timeout);
			return;
		}
		/* FALLTHROUGH */
	case C_HELO:
		if (r->code != 250) {
			str_fmt(why, sizeof(why), "%s: %d %s", c->state == C_EHLO ?
			    "EHLO" : "HELO", r->code, reply_text(r));
			c_fail(c, 0, why);
			return;
		}
		if (c->state == C_EHLO) {
			struct ehlo_caps caps;

			memset(&caps, 0, sizeof(caps));
			ehlo_parse(r, &caps);
			c->pipelining = (caps.ext & EXT_PIPELINING) != 0;
		}
		if (c->ping) {
			callout_ping_fn cb = c->ping_cb;

			c->ping_cb = NULL;
			c_close(c);
			if (cb != NULL)
				cb(1, NULL);
			return;
		}
		c_idle(c);
		return;
	default:
		return;
	}
}

/* One reply while a callout runs. */
static void
c_reply(struct cconn *c, const struct reply *r)
{
	struct creq *req = c->req;
	struct callout_answer a;

	switch (c->phase) {
	case P_MAIL:
		c->mail_code = r->code;
		if (r->code / 100 == 2) {
			c->phase = P_RCPT;
			c->where = "waiting for the reply to RCPT";
			if (!c->pipelining) {
				char line[RCPT_ADDR_MAX + 16];

				str_fmt(line, sizeof(line), "RCPT TO:<%s>\r\n",
				    req->addr);
				send_line(c, line);
			}
			break;
		}
		if (r->code / 100 == 5)
			log_warn("callout %s: the primary refuses the null "
			    "sender: %d %s", pool.name, r->code, reply_text(r));
		if (c->pipelining) {	/* its RCPT gets 503: ignore it */
			c->phase = P_RCPT;
			break;
		}
		/* not pipelined: the answer comes from the MAIL reply */
		/* FALLTHROUGH */
	case P_RCPT:
		memset(&a, 0, sizeof(a));
		if (c->mail_code / 100 != 2) {
			a.result = c->mail_code / 100 == 4 ? CALLOUT_TEMPFAIL :
			    CALLOUT_ERROR;
			stats_inc(a.result == CALLOUT_TEMPFAIL ?
			    STAT_callout_tempfail : STAT_callout_error);
		} else if (r->code == 421) {
			/* the primary is closing (too many errors?): the
			 * callout goes again on a fresh connection */
			c_fail(c, 0, "421 mid-dialogue");
			return;
		} else if (r->code / 100 == 2) {
			a.result = CALLOUT_VALID;
			stats_inc(STAT_callout_valid);
		} else if (r->code / 100 == 5) {
			a.result = CALLOUT_INVALID;
			c->rejects++;
			stats_inc(STAT_callout_invalid);
		} else {
			a.result = CALLOUT_TEMPFAIL;
			stats_inc(STAT_callout_tempfail);
		}
		a.code = c->mail_code / 100 != 2 ? c->mail_code : r->code;
		str_copy(a.enh, sizeof(a.enh), r->enh);
		str_copy(a.text, sizeof(a.text), reply_text(r));
		c->req = NULL;
		answer(req, &a);
		if (c->dead)
			return;
		c->phase = P_RSET;
		c->where = "waiting for the reply to RSET";
		if (!c->pipelining)
			send_line(c, "RSET\r\n");
		break;
	case P_RSET:
		if (r->code != 250) {
			c_close(c);
			pool_kick();
			return;
		}
		if (c->uses >= pool.max_uses || c->rejects >= pool.max_rejects ||
		    c->gen != pool.gen) {
			c_close(c);
			pool_kick();
			return;
		}
		c_idle(c);
		return;
	}
	arm(c, pool.timeout);
}

static void
c_read(struct bufferevent *bev, void *arg)
{
	struct cconn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);

	/* the greeting may be read before the connect is reported (both
	 * ready in one loop pass): data means connected */
	if (c->state == C_CONNECTING)
		c_event(bev, BEV_EVENT_CONNECTED, c);
	while (!c->dead && c->state != C_QUIT) {
		struct reply r;
		size_t len = evbuffer_get_length(in), used = 0;
		size_t lim = (size_t)REPLY_LINES_MAX * (REPLY_LINE_MAX + 2);
		enum reply_result rr;
		const char *p;

		if (len == 0)
			return;
		p = (const char *)evbuffer_pullup(in, (ev_ssize_t)MIN(len, lim));
		rr = reply_parse(p, MIN(len, lim), &r, &used);
		if (rr == REPLY_INCOMPLETE)
			return;
		if (rr != REPLY_OK) {
			c_fail(c, 0, rr == REPLY_TOO_LONG ? "reply too long" :
			    "reply syntax error");
			return;
		}
		evbuffer_drain(in, used);
		if (c->state == C_BUSY)
			c_reply(c, &r);
		else if (c->state == C_IDLE) {
			/* "421 timeout" on an idle connection: it is gone */
			reply_clear(&r);
			c_schedule_free(c);
			pool_kick();
			return;
		} else
			c_handshake(c, &r);
		reply_clear(&r);
	}
}

/* A usable connection: the next queued callout, or wait. */
static void
c_idle(struct cconn *c)
{
	struct creq *r;

	if (c->gen != pool.gen) {
		c_close(c);
		pool_kick();
		return;
	}
	c->state = C_IDLE;
	c->where = "idle";
	evtimer_del(c->timer);
	if ((r = pool.qhead) != NULL) {
		pool.qhead = r->next;
		if (pool.qhead == NULL)
			pool.qtail = NULL;
		pool.nqueued--;
		r->next = NULL;
		c_start(c, r);
		return;
	}
	arm(c, pool.idle_timeout);
}

/* ---- requests --------------------------------------------------------------- */

static void
answer(struct creq *r, const struct callout_answer *a)
{
	struct callout_answer copy = *a;
	struct waiter *w, *n;

	copy.ms = (unsigned long)(now_ms() - r->start_ms);
	for (w = r->waiters; w != NULL; w = n) {
		n = w->next;
		w->cb(w->arg, &copy);
		free(w);
	}
	free(r);
}

static void
fail_queue(enum callout_result res, const char *why)
{
	struct callout_answer a;
	struct creq *r;

	memset(&a, 0, sizeof(a));
	a.result = res;
	str_copy(a.text, sizeof(a.text), why);
	while ((r = pool.qhead) != NULL) {
		pool.qhead = r->next;
		if (pool.qhead == NULL)
			pool.qtail = NULL;
		pool.nqueued--;
		stats_inc(res == CALLOUT_DOWN ? STAT_callout_down :
		    STAT_callout_error);
		answer(r, &a);
	}
}

/* Hands queued callouts to idle connections; opens more up to the cap. */
static void
pool_kick(void)
{
	static int busy;
	struct cconn *c;
	size_t opening = 0;

	/* c_open() may fail at once and kick again: no recursion */
	if (!pool.configured || busy)
		return;
	busy = 1;
	for (c = pool.conns; c != NULL && pool.qhead != NULL; c = c->next)
		if (!c->ping && !c->dead && c->state == C_IDLE)
			c_idle(c);
	if (pool.qhead != NULL) {
		for (c = pool.conns; c != NULL; c = c->next)
			if (!c->ping && !c->dead && c->state < C_IDLE)
				opening++;
		while (pool.nqueued > opening && pool.nconns < pool.max_conns &&
		    primary_health() != PRIMARY_DOWN) {
			if (c_open(0) == NULL)
				break;
			opening++;
		}
	}
	busy = 0;
}

static struct creq *
find_req(const char *key)
{
	struct creq *r;

	for (r = pool.qhead; r != NULL; r = r->next)
		if (strcmp(r->key, key) == 0)
			return r;
	for (struct cconn *c = pool.conns; c != NULL; c = c->next)
		if (c->req != NULL && strcmp(c->req->key, key) == 0)
			return c->req;
	return NULL;
}

static int
has_idle(void)
{
	for (struct cconn *c = pool.conns; c != NULL; c = c->next)
		if (!c->ping && !c->dead && c->state == C_IDLE)
			return 1;
	return 0;
}

int
callout_verify(const char *addr, unsigned flags, callout_fn cb, void *arg,
    struct callout_answer *now)
{
	char key[RCPT_ADDR_MAX];
	struct creq *r;
	struct waiter *w;
	size_t qmax = flags & CALLOUT_BACKGROUND ? pool.max_queue / 2 :
	    pool.max_queue;

	memset(now, 0, sizeof(*now));
	if (!pool.configured || str_copy(key, sizeof(key), addr) < 0) {
		now->result = CALLOUT_ERROR;
		str_copy(now->text, sizeof(now->text), pool.configured ?
		    "address too long" : "no primary configured");
		return 1;
	}
	for (char *p = key; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			/* never put a control character into a command */
			now->result = CALLOUT_ERROR;
			str_copy(now->text, sizeof(now->text),
			    "control character in the address");
			return 1;
		}
	if (primary_health() == PRIMARY_DOWN) {
		now->result = CALLOUT_DOWN;
		str_fmt(now->text, sizeof(now->text), "primary %s is down",
		    pool.name);
		stats_inc(STAT_callout_down);
		return 1;
	}
	str_lower(key);
	if ((r = find_req(key)) != NULL) {
		if (flags & CALLOUT_BACKGROUND) {
			now->result = CALLOUT_BUSY;
			return 1;
		}
		stats_inc(STAT_callout_coalesced);
		r->flags &= ~CALLOUT_BACKGROUND;
		goto wait;
	}
	if (!has_idle() && pool.nconns >= pool.max_conns &&
	    pool.nqueued >= qmax) {
		now->result = CALLOUT_BUSY;
		str_copy(now->text, sizeof(now->text), "callout queue full");
		if (!(flags & CALLOUT_BACKGROUND))
			stats_inc(STAT_callout_busy);
		return 1;
	}
	r = xcalloc(1, sizeof(*r));
	str_copy(r->addr, sizeof(r->addr), addr);
	str_copy(r->key, sizeof(r->key), key);
	r->flags = flags;
	r->start_ms = now_ms();
	if (pool.qtail)
		pool.qtail->next = r;
	else
		pool.qhead = r;
	pool.qtail = r;
	pool.nqueued++;
wait:
	if (cb != NULL) {
		w = xcalloc(1, sizeof(*w));
		w->cb = cb;
		w->arg = arg;
		w->next = r->waiters;
		r->waiters = w;
	}
	/* Later, from the loop: the caller's callback never runs inside
	 * this call, even when an idle connection takes it at once. */
	pool_kick();
	return 0;
}

void
callout_configure(struct event_base *base, const struct primary_conf *pc,
    const char *hostname)
{
	char name[300];
	int same;

	sockaddr_fmt((const struct sockaddr *)&pc->addr, name, sizeof(name));
	same = pool.configured && pc->addrlen == pool.addrlen &&
	    memcmp(&pc->addr, &pool.addr, pc->addrlen) == 0;
	pool.base = base;
	if (!same) {
		/* a new primary: connections to the old one retire as they
		 * finish what they run */
		pool.gen++;
		for (struct cconn *c = pool.conns, *n; c != NULL; c = n) {
			n = c->next;
			if (!c->ping && c->state == C_IDLE)
				c_close(c);
		}
	}
	pool.configured = pc->primary != NULL && pc->primary[0] != '\0';
	pool.addr = pc->addr;
	pool.addrlen = pc->addrlen;
	str_copy(pool.name, sizeof(pool.name), name);
	str_copy(pool.helo, sizeof(pool.helo), pc->helo && pc->helo[0] ?
	    pc->helo : hostname);
	pool.connect_timeout = pc->connect_timeout;
	pool.timeout = pc->timeout;
	pool.idle_timeout = pc->idle_timeout;
	pool.max_conns = (size_t)pc->max_conns;
	pool.max_queue = (size_t)pc->max_queue;
	pool.max_uses = (unsigned)pc->max_uses;
	pool.max_rejects = (unsigned)pc->max_rejects;
	if (!pool.configured)
		fail_queue(CALLOUT_ERROR, "no primary configured");
	pool_kick();
}

void
callout_shutdown(void)
{
	struct cconn *c;

	fail_queue(CALLOUT_ERROR, "shutting down");
	while ((c = pool.conns) != NULL) {
		struct creq *r = c->req;

		/* a last loop pass frees them (main runs one) */

		c->req = NULL;
		c->ping_cb = NULL;
		c_schedule_free(c);
		if (r != NULL) {
			struct callout_answer a;

			memset(&a, 0, sizeof(a));
			a.result = CALLOUT_ERROR;
			str_copy(a.text, sizeof(a.text), "shutting down");
			answer(r, &a);
		}
	}
	pool.configured = 0;
}

size_t
callout_conn_count(void)
{
	return pool.nconns;
}

size_t
callout_queue_length(void)
{
	return pool.nqueued;
}

void
callout_ping(callout_ping_fn cb)
{
	struct cconn *c;

	if (!pool.configured) {
		cb(0, "no primary configured");
		return;
	}
	c = c_open(1);
	if (c != NULL)
		c->ping_cb = cb;
	else
		cb(0, "cannot create a socket");
}
