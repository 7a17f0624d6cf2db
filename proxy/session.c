/*
 * session.c - one client conversation.
 *
 * Commands are taken from the input buffer one at a time, in order. Each
 * gets a reply slot; slots are written strictly in order as they become
 * ready, so pipelined replies (RFC 2920) never overtake each other. A
 * command waiting on a filter holds the commands behind it. Commands
 * relayed to the backend do not: MAIL and RCPT go out as a group and their
 * slots are filled as the backend's replies come back. DATA, STARTTLS and
 * the end of a message are barriers.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/ssl.h>

#include "backend.h"
#include "config.h"
#include "data.h"
#include "ehlo.h"
#include "filter.h"
#include "log.h"
#include "proxy_proto.h"
#include "relay.h"
#include "server.h"
#include "session.h"
#include "smtp_cmd.h"
#include "smtp_reply.h"
#include "spool.h"
#include "stats.h"
#include "tls.h"
#include "util.h"
#include "wire.h"

#define SESSION_ID_LEN		12
#define OUTPUT_MAX		(64u << 10)	/* pause input beyond this */
#define DATA_SLICE		16384		/* scanner input per step */
#define HEADER_SCAN_MAX		(1u << 20)	/* end of headers searched here */
#define BODY_CHUNK		65536
#define HELO_MAX		255
#define REPLY_BUF		2048
#define PREFIX_MAX		16384		/* headers we add */
#define STREAM_PENDING_MAX	(256u << 10)	/* backend behind: pause */

enum sstate {
	ST_PROXY = 0,		/* waiting for a load balancer's PROXY header */
	ST_CONNECT,		/* connect filters, then the greeting */
	ST_GREETED,		/* waiting for HELO/EHLO */
	ST_READY,		/* HELO done, no transaction */
	ST_MAIL,		/* MAIL relayed */
	ST_RCPT			/* at least one RCPT relayed */
};

enum smode { MODE_CMD = 0, MODE_SKIP, MODE_DATA, MODE_BDAT };

enum block {
	BLOCK_NONE = 0,
	BLOCK_FILTER,		/* a filter is deciding the current command */
	BLOCK_DATA,		/* waiting for the backend's reply to DATA */
	BLOCK_EOM,		/* end of message: filters, then the backend */
	BLOCK_BARRIER,		/* waiting for every earlier reply */
	BLOCK_GREET,		/* greet_delay: between "220-" and "220 " */
	BLOCK_TARPIT,		/* an error reply is being held back */
	BLOCK_BACKEND,		/* waiting for a free backend connection */
	BLOCK_OUTPUT		/* the client does not read its replies */
};

enum slot_kind {
	SLOT_LOCAL = 0, SLOT_MAIL, SLOT_RCPT, SLOT_DATA, SLOT_BDAT, SLOT_EOM
};

struct slot {
	struct slot	*next;
	enum slot_kind	 kind;
	int		 ready;
	int		 close_after;
	uint64_t	 txn_gen;
	char		*rcpt;		/* SLOT_RCPT: the address, owned */
	char		*text;		/* the reply bytes, owned */
	size_t		 len;
};

struct txn {
	uint64_t	 gen;
	uint64_t	 start_ms;
	char		*from;		/* reverse-path, owned */
	char		**rcpts;	/* accepted by the backend, owned */
	size_t		 nrcpts;
	size_t		 nrcpt_cmds;	/* RCPT commands seen */
	size_t		 nrelayed;	/* RCPTs sent to the backend */
	size_t		 npending;	/* ... whose replies are due */
	int		 smtputf8;
	int		 data_started;	/* the backend said 354 */
	int		 stream;	/* bytes go to the backend as they come */
	uint64_t	 size;		/* message bytes kept (spooled/streamed) */
	int		 bdat;		/* the message comes in BDAT chunks */
	int		 backend_lost;
	char		 lost_why[120];
	enum backend_fail lost_fail;
	struct spool	*spool;
	struct data_scan ds;
	int		 too_big;
	int		 spool_failed;
	char		 spool_err[ERR_MAX];
	/* end of message */
	int		 eom_step;
	uint64_t	 hdr_len;
	uint64_t	 body_off;
	char		*chunk;		/* scratch for HEADERS/BODY from a file */
	struct slot	*eom_slot;
};

struct session {
	struct session	*next, *prev;
	char		 id[SESSION_ID_LEN + 1];
	struct config	*cfg;		/* reference held */
	struct event_base *base;
	struct worker_pool *pool;
	struct bufferevent *bev;
	struct sockaddr_storage peer;	/* the client (after PROXY) */
	socklen_t	 peerlen;
	struct sockaddr_storage local;	/* where it connected to */
	int		 have_local;
	evutil_socket_t	 fd;
	unsigned	 flags;		/* SESSION_* */
	int		 proxied;	/* 1/2: PROXY version used */
	char		 client_addr[ADDR_STR_MAX];
	char		*client_name;	/* verified by a filter (FCrDNS), owned */
	char		*helo;
	int		 esmtp;
	int		 tls;		/* 1 handshaking, 2 established */
	int		 quit;
	enum sstate	 state;
	enum smode	 mode;
	enum block	 blocked;
	int		 closing;
	int		 draining;
	int		 in_process;	/* session_process() is on the stack */
	int		 fatal;		/* a closing reply is queued: read no more */
	int		 stream_paused;	/* the backend is behind: reading waits */
	const char	*close_reason;
	struct slot	*head, *tail;
	struct txn	*txn;
	uint64_t	 txn_gen;
	struct backend	*be;
	struct filter_run *fr;
	unsigned	 offer;		/* EHLO extensions offered */
	uint64_t	 offer_size;
	unsigned long	 ncommands;
	unsigned long	 nerrors;
	uint64_t	 start_ms;
	const char	*where;
	struct event	*free_ev;
	struct event	*greet_ev;	/* greet_delay timer */
	struct event	*tarpit_ev;
	struct event	*linger_ev;
	uint64_t	 linger_until;
	int		 lingering;	/* writing shut down, draining input */
	int		 eof;		/* the client stopped sending */
	struct event	*record_ev;	/* per-record deadline */
	int		 record_armed;
	uint64_t	 bdat_since_reset;
	struct slot	*tarpit;	/* the reply held back */
	/* the command a filter is deciding */
	char		*line;
	struct cmd	 cmd;
	struct slot	*cur;
	void		(*barrier)(struct session *s);
	/* BDAT: the chunk being read; its bytes are consumed whatever the
	 * reply, so they are never taken for commands */
	uint64_t	 chunk_left;
	uint64_t	 chunk_size;
	int		 chunk_last;
	int		 chunk_discard;
	struct slot	*chunk_slot;
	/* waiting for a backend connection (max_backend_connections) */
	struct session	*bw_next;
	int		 bw_queued;
	struct event	*bw_ev;
};

/* Commands a backup MX answers the same way every time. */
static const struct {
	enum smtp_verb	 verb;
	int		 code;
	const char	*enh;
	const char	*text;
} fixed_replies[] = {
	{ VERB_VRFY, 502, "5.5.1", "VRFY command is disabled" },
	{ VERB_EXPN, 502, "5.5.1", "EXPN command is disabled" },
	{ VERB_HELP, 214, "2.0.0", "See RFC 5321" },
	{ VERB_ETRN, 502, "5.5.1", "Error: ETRN is not supported here" },
};

static struct session	*sessions;
static size_t		 nsessions;
static struct session	*bw_head, *bw_tail;	/* backend waiters, FIFO */
static struct event	*bw_wake;
void			(*session_released_hook)(const struct sockaddr *peer);

static void	 s_read(struct bufferevent *bev, void *arg);
static void	 s_write(struct bufferevent *bev, void *arg);
static void	 s_event(struct bufferevent *bev, short what, void *arg);
static void	 s_free_cb(evutil_socket_t fd, short what, void *arg);
static void	 session_process(struct session *s);
static void	 session_start(struct session *s);
static void	 session_timeout(struct session *s, int reading);
static void	 record_deadline(struct session *s, int arm);
static const struct sockaddr *session_local(struct session *s);
static void	 proxy_header(struct session *s);
static void	 session_close(struct session *s, const char *reason);
static void	 session_flush(struct session *s);
static void	 slot_vreply(struct session *s, struct slot *sl, int code,
		    const char *enh, const char *fmt, va_list ap)
		    __attribute__((format(printf, 5, 0)));
static void	 session_fatal(struct session *s, int code, const char *enh,
		    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void	 pipelining_after_data(struct session *s, struct slot *sl);
static void	 bdat_command(struct session *s, const struct cmd *c);
static void	 set_read_timeout(struct session *s);
static struct slot *slot_new(struct session *s, enum slot_kind kind);
static void	 slot_reply(struct session *s, struct slot *sl, int code,
		    const char *enh, const char *fmt, ...)
		    __attribute__((format(printf, 5, 6)));
static void	 slot_relay(struct session *s, struct slot *sl,
		    const struct reply *r);
static void	 reply_now(struct session *s, int code, const char *enh,
		    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void	 reply_error(struct session *s, int code, const char *enh,
		    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void	 decision(struct session *s, const char *verdict,
		    const char *by, enum filter_stage stage, int code,
		    const char *enh, const char *reason, const char *rcpt);
static void	 handle_line(struct session *s, char *line, size_t len,
		    int bare_lf);
static void	 txn_free(struct txn **tp);
static void	 txn_abort(struct session *s);
static void	 txn_end(struct session *s);
static void	 view_fill(struct session *s, struct txn_view *tv);
static void	 after_filter(struct session *s, enum filter_stage stage,
		    const struct verdict *v, const struct filter_conf *by);
static void	 greet(struct session *s);
static void	 do_helo_reply(struct session *s);
static void	 do_mail_relay(struct session *s);
static void	 do_rcpt_relay(struct session *s);
static void	 data_feed(struct session *s);
static void	 eom_start(struct session *s, struct slot *sl);
static void	 bdat_feed(struct session *s);
static void	 bw_dequeue(struct session *s);
static void	 bw_enqueue(struct session *s);
static void	 eom_continue(struct session *s);
static void	 eom_send(struct session *s);
static size_t	 build_prefix(struct session *s, char *prefix, size_t size);
static void	 txn_store(struct session *s, const char *out, size_t outlen);
static void	 stream_start(struct session *s);
static void	 be_drained(void *owner, struct backend *b);
static void	 stream_resume(struct session *s);
static void	 starttls_switch(struct session *s);
static void	 be_closed(void *owner, struct backend *b,
		    enum backend_fail fail, const char *why);
static void	 session_be_reply(void *owner, void *arg,
		    const struct reply *r, enum backend_fail fail,
		    const char *why);

/* ---- life cycle --------------------------------------------------------- */

struct session *
session_new(struct event_base *base, struct config *c, struct worker_pool *pool,
    evutil_socket_t fd, const struct sockaddr *peer, socklen_t peerlen,
    unsigned flags)
{
	struct session *s = xcalloc(1, sizeof(*s));
	socklen_t llen = sizeof(s->local);
	int one = 1;

	util_random_hex(s->id, SESSION_ID_LEN);
	s->cfg = config_ref(c);
	s->base = base;
	s->pool = pool;
	s->flags = flags;
	memcpy(&s->peer, peer, peerlen);
	s->peerlen = peerlen;
	/* the local address is only needed for a PROXY header to the
	 * backend: asked then (session_local()) */
	s->fd = fd;
	(void)llen;
	addr_fmt(peer, s->client_addr, sizeof(s->client_addr));
	s->start_ms = now_ms();
	s->free_ev = event_new(base, -1, 0, s_free_cb, s);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	s->bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setcb(s->bev, s_read, s_write, s_event, s);
	/* Input beyond this waits in the kernel: the pipeline is capped. */
	bufferevent_setwatermark(s->bev, EV_READ, 0,
	    MAX(c->max_pipeline * SMTP_LINE_MIN, c->max_line_length + 2) +
	    DATA_SLICE);
	s->fr = filter_run_new(s, c, base, pool);
	s->next = sessions;
	if (sessions)
		sessions->prev = s;
	sessions = s;
	nsessions++;
	stats_inc(STAT_conn_accepted);
	bufferevent_enable(s->bev, EV_READ);
	if (flags & SESSION_EXPECT_PROXY) {
		struct timeval tv = { (time_t)(c->proxy_timeout / 1000),
		    (suseconds_t)(c->proxy_timeout % 1000) * 1000 };

		s->state = ST_PROXY;
		s->where = "waiting for the PROXY header";
		bufferevent_set_timeouts(s->bev, &tv, &tv);
		return s;
	}
	session_start(s);
	return s;
}

static const struct sockaddr *
session_local(struct session *s)
{
	socklen_t len = sizeof(s->local);

	if (!s->have_local) {
		if (getsockname(s->fd, (struct sockaddr *)&s->local, &len) < 0)
			s->local.ss_family = AF_UNSPEC;
		s->have_local = 1;
	}
	return (struct sockaddr *)&s->local;
}

/* The client is known: log it, check the backend, run connect filters. */
static void
session_start(struct session *s)
{
	const struct config *c = s->cfg;
	struct txn_view tv;
	struct verdict v;
	const struct filter_conf *by;
	char a[ADDR_STR_MAX + 16], l[ADDR_STR_MAX + 16];

	s->state = ST_CONNECT;
	s->where = "greeting";
	sockaddr_fmt((struct sockaddr *)&s->peer, a, sizeof(a));
	if (s->proxied) {
		sockaddr_fmt(session_local(s), l, sizeof(l));
		log_info("%s connect client=%s proxy=v%d to=%s", s->id, a,
		    s->proxied, l);
	} else
		log_info("%s connect client=%s", s->id, a);
	set_read_timeout(s);

	if (backend_health() == HEALTH_DOWN) {
		stats_inc(STAT_conn_refused_backend_down);
		decision(s, "tempfail", "backend", STAGE_CONNECT, 421, "4.3.2",
		    "backend down", NULL);
		session_fatal(s, 421, "4.3.2", "%s Service not available, try "
		    "again later", c->hostname);
		return;
	}
	view_fill(s, &tv);
	s->blocked = BLOCK_FILTER;
	if (filter_run_stage(s->fr, STAGE_CONNECT, &tv, &v, &by,
	    after_filter) == 1) {
		after_filter(s, STAGE_CONNECT, &v, by);
		verdict_clear(&v);
	}
}

/*
 * A trusted load balancer's header. What it says is the client for every
 * check and limit; a bad or missing header ends the connection without a
 * word (the peer is a proxy, not an SMTP client).
 */
static void
proxy_header(struct session *s)
{
	struct evbuffer *in = bufferevent_get_input(s->bev);
	size_t len = evbuffer_get_length(in), used = 0;
	struct proxy_info pi;
	enum proxy_result r;
	const char *why;
	const uint8_t *p;

	len = MIN(len, (size_t)(16 + PROXY_V2_MAX));
	p = evbuffer_pullup(in, (ev_ssize_t)len);
	r = proxy_parse(p, len, &pi, &used);
	if (r == PROXY_INCOMPLETE)
		return;
	if (r != PROXY_OK) {
		stats_inc(STAT_conn_refused_proxy);
		log_warn("%s bad PROXY header from load balancer [%s]: %s", s->id,
		    s->client_addr, r == PROXY_NONE ? "no PROXY header" : pi.why);
		session_close(s, "bad PROXY header");
		return;
	}
	evbuffer_drain(in, used);
	s->proxied = pi.version;
	if (pi.src.ss_family != AF_UNSPEC) {
		memcpy(&s->peer, &pi.src, sizeof(pi.src));
		s->peerlen = pi.src.ss_family == AF_INET ?
		    sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
		memcpy(&s->local, &pi.dst, sizeof(pi.dst));
		s->have_local = 1;
		addr_fmt((struct sockaddr *)&s->peer, s->client_addr,
		    sizeof(s->client_addr));
	}
	if (server_admit((struct sockaddr *)&s->peer, &why) < 0) {
		stats_inc(STAT_conn_refused_max_per_ip);
		decision(s, "tempfail", why, STAGE_CONNECT, 421, "4.7.0",
		    "too many connections from the client", NULL);
		session_fatal(s, 421, "4.7.0", "%s Error: too many connections "
		    "from your address, try again later", s->cfg->hostname);
		return;
	}
	s->flags |= SESSION_ADMITTED;
	session_start(s);
}

/* Bytes not yet on the wire: ours, and under TLS the socket layer's. */
static int
output_pending(struct session *s)
{
	struct bufferevent *u = bufferevent_get_underlying(s->bev);

	return evbuffer_get_length(bufferevent_get_output(s->bev)) > 0 ||
	    (u != NULL && evbuffer_get_length(bufferevent_get_output(u)) > 0);
}

/*
 * Under TLS the filter reports its output drained once it has handed the
 * encrypted bytes to the socket layer, not once they are sent: poll that
 * briefly before letting go, so a last 221 or 421 is not lost.
 */
static void
linger_check(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;
	struct timeval tv = { 0, 20000 };

	if (!output_pending(s) || now_ms() >= s->linger_until) {
		/*
		 * Closing a socket with unread input makes the kernel send
		 * RST, which can destroy replies the client has not read yet
		 * (a pipelining client cut off by a 421). Shut down writing,
		 * drop what still comes for a moment, then close. Not after
		 * the client's own QUIT: nothing may follow it.
		 */
		if (!s->lingering && !output_pending(s) && !s->quit &&
		    bufferevent_get_underlying(s->bev) == NULL && !s->eof &&
		    now_ms() < s->linger_until) {
			struct timeval lt = { 2, 0 };

			s->lingering = 1;
			shutdown(s->fd, SHUT_WR);
			bufferevent_set_timeouts(s->bev, &lt, NULL);
			bufferevent_enable(s->bev, EV_READ);
			return;
		}
		event_active(s->free_ev, 0, 0);
		return;
	}
	if (s->linger_ev == NULL)
		s->linger_ev = evtimer_new(s->base, linger_check, s);
	evtimer_add(s->linger_ev, &tv);
}

static void
session_close(struct session *s, const char *reason)
{
	if (s->closing)
		return;
	s->closing = 1;
	s->close_reason = reason;
	s->linger_until = now_ms() + 5000;
	bufferevent_disable(s->bev, EV_READ);
	/* Let what is written reach the client; s_write releases us. */
	if (evbuffer_get_length(bufferevent_get_output(s->bev)) > 0) {
		struct timeval tv = { 5, 0 };

		bufferevent_setwatermark(s->bev, EV_WRITE, 0, 0);
		bufferevent_set_timeouts(s->bev, NULL, &tv);
		bufferevent_enable(s->bev, EV_WRITE);
		return;
	}
	linger_check(-1, 0, s);
}

static void
s_free_cb(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;
	struct slot *sl, *n;

	log_info("%s disconnect reason=%s commands=%lu errors=%lu ms=%llu",
	    s->id, s->close_reason ? s->close_reason : "unknown", s->ncommands,
	    s->nerrors, (unsigned long long)(now_ms() - s->start_ms));
	stats_inc(STAT_conn_closed);
	if (s->prev)
		s->prev->next = s->next;
	else
		sessions = s->next;
	if (s->next)
		s->next->prev = s->prev;
	nsessions--;
	/* A transaction still open at the backend (MAIL relayed, the client
	 * gone without RSET or QUIT): that connection must not go back to
	 * the pool, the next session's MAIL would get "503 nested MAIL". */
	if (s->txn != NULL)
		backend_close(&s->be);
	else
		backend_release(&s->be);
	filter_run_free(&s->fr);
	txn_free(&s->txn);
	for (sl = s->head; sl; sl = n) {
		n = sl->next;
		free(sl->rcpt);
		free(sl->text);
		free(sl);
	}
	free(s->line);
	free(s->helo);
	free(s->client_name);
	bufferevent_free(s->bev);
	event_free(s->free_ev);
	if (s->greet_ev != NULL)
		event_free(s->greet_ev);
	if (s->tarpit_ev != NULL)
		event_free(s->tarpit_ev);
	if (s->linger_ev != NULL)
		event_free(s->linger_ev);
	if (s->record_ev != NULL)
		event_free(s->record_ev);
	bw_dequeue(s);
	if (s->bw_ev != NULL)
		event_free(s->bw_ev);
	if (s->flags & SESSION_ADMITTED)
		server_release((struct sockaddr *)&s->peer);
	if (session_released_hook != NULL)
		session_released_hook((struct sockaddr *)&s->peer);
	config_unref(&s->cfg);
	free(s);
}

void
session_set_client_name(struct session *s, const char *name)
{
	size_t n = strlen(name);

	/* a DNS name: keep only what may appear in a header comment */
	if (n == 0 || n > 255 || strspn(name, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_") != n)
		return;
	free(s->client_name);
	s->client_name = xstrdup(name);
}

size_t
session_count(void)
{
	return nsessions;
}

static int
session_idle(const struct session *s)
{
	return s->txn == NULL && s->blocked == BLOCK_NONE &&
	    s->mode == MODE_CMD && s->head == NULL;
}

void
session_drain_all(void)
{
	struct session *s, *n;

	for (s = sessions; s; s = n) {
		n = s->next;
		s->draining = 1;
		if (!s->closing && session_idle(s) && s->state != ST_CONNECT) {
			reply_now(s, 421, "4.3.2", "%s Service shutting down",
			    s->cfg->hostname);
			session_close(s, "shutdown");
		}
	}
}

void
session_kill_all(void)
{
	struct session *s, *n;

	for (s = sessions; s; s = n) {
		n = s->next;
		if (!s->closing) {
			s->closing = 1;
			s->close_reason = "shutdown deadline";
			event_active(s->free_ev, 0, 0);
		} else
			event_active(s->free_ev, 0, 0);
	}
}

/* ---- I/O events ----------------------------------------------------------- */

static void
set_read_timeout(struct session *s)
{
	uint64_t ms = s->mode == MODE_DATA ? s->cfg->timeout_data :
	    s->state <= ST_GREETED ? s->cfg->timeout_greeting :
	    s->cfg->timeout_command;
	struct timeval r = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };
	struct timeval w = { (time_t)(s->cfg->timeout_command / 1000), 0 };

	bufferevent_set_timeouts(s->bev, &r, &w);
}

static void
s_read(struct bufferevent *bev, void *arg)
{
	struct session *s = arg;

	if (s->closing) {
		/* lingering close: what the client still sends is dropped */
		struct evbuffer *in = bufferevent_get_input(bev);

		evbuffer_drain(in, evbuffer_get_length(in));
		return;
	}
	session_process(s);
}

static void
s_write(struct bufferevent *bev, void *arg)
{
	struct session *s = arg;

	if (s->closing) {
		if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
			linger_check(-1, 0, s);
		return;
	}
	if (s->blocked == BLOCK_OUTPUT) {
		s->blocked = BLOCK_NONE;
		bufferevent_setwatermark(bev, EV_WRITE, 0, 0);
		bufferevent_enable(bev, EV_READ);
		session_process(s);
	}
}

/*
 * The client took too long: after each read (bufferevent timeouts) or for
 * a whole record (a command line, a message line: record_deadline()), as
 * Postfix's smtpd_timeout with smtpd_per_record_deadline.
 */
static void
session_timeout(struct session *s, int reading)
{
	stats_inc(STAT_conn_timeout);
	log_info("%s timeout while %s", s->id, s->where);
	if (s->txn != NULL)
		decision(s, "tempfail", "limit:timeout", STAGE_MAIL, 421,
		    "4.4.2", "client timeout", NULL);
	if (reading) {
		/* best effort: the client may be gone; no reply is owed
		 * before this one, or we would not be reading */
		char buf[256];
		char text[300];
		size_t n;

		str_fmt(text, sizeof(text), "%s Error: timeout exceeded",
		    s->cfg->hostname);
		n = reply_format(buf, sizeof(buf), 421, "4.4.2", text);

		bufferevent_disable(s->bev, EV_READ);
		wire_write(s->bev, buf, n);
		stats_inc(STAT_reply_4xx);
	}
	if (s->txn != NULL && s->txn->data_started)
		backend_close(&s->be);
	session_close(s, "timeout");
}

static void
record_fired(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;

	s->record_armed = 0;
	if (!s->closing)
		session_timeout(s, 1);
}

/*
 * Per-record deadline: a command line or a message line must be complete
 * within the timeout, however the bytes trickle in (slow-loris). arm:
 * 1 a record is incomplete (the deadline starts if it has not), 2 a new
 * record started (the deadline starts again), 0 nothing is pending.
 */
static void
record_deadline(struct session *s, int arm)
{
	uint64_t ms;
	struct timeval tv;

	if (arm == 0 || s->closing) {
		if (s->record_armed)
			evtimer_del(s->record_ev);
		s->record_armed = 0;
		return;
	}
	if (arm == 1 && s->record_armed)
		return;
	ms = s->mode != MODE_CMD ? s->cfg->timeout_data :
	    s->state <= ST_GREETED ? s->cfg->timeout_greeting :
	    s->cfg->timeout_command;
	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	if (s->record_ev == NULL)
		s->record_ev = evtimer_new(s->base, record_fired, s);
	evtimer_add(s->record_ev, &tv);
	s->record_armed = 1;
}

static void
s_event(struct bufferevent *bev, short what, void *arg)
{
	struct session *s = arg;

	if (s->closing) {
		event_active(s->free_ev, 0, 0);
		return;
	}
	if (what & BEV_EVENT_CONNECTED) {	/* TLS handshake done */
		char d[96];

		s->tls = 2;
		tls_describe(bufferevent_openssl_get_ssl(bev), d, sizeof(d));
		stats_inc(STAT_tls_handshake_ok);
		log_info("%s tls %s", s->id, d);
		return;
	}
	if (what & BEV_EVENT_TIMEOUT) {
		session_timeout(s, (what & BEV_EVENT_READING) != 0);
		return;
	}
	if ((what & BEV_EVENT_EOF) && !(what & BEV_EVENT_ERROR) &&
	    s->mode == MODE_CMD && s->state != ST_PROXY &&
	    (s->head != NULL || s->blocked != BLOCK_NONE || evbuffer_get_length(
	    bufferevent_get_input(s->bev)) > 0)) {
		/* Half-closed: answer what was sent before the EOF, then go. */
		s->eof = 1;
		s->where = "answering after the client's EOF";
		session_process(s);
		return;
	}
	if (what & BEV_EVENT_ERROR) {
		char e[200];

		if (s->tls) {
			tls_last_error(e, sizeof(e));
			if (s->tls == 1)
				stats_inc(STAT_tls_handshake_fail);
		} else
			str_copy(e, sizeof(e), evutil_socket_error_to_string(
			    EVUTIL_SOCKET_ERROR()));
		log_info("%s connection error while %s: %s", s->id, s->where, e);
	}
	if (!s->quit) {
		stats_inc(STAT_conn_lost);
		if (s->txn != NULL)
			decision(s, "tempfail", "client", STAGE_MAIL, 0, "",
			    "lost connection", NULL);
	}
	session_close(s, s->quit ? "quit" : "lost");
}

/* ---- replies ---------------------------------------------------------------- */

static struct slot *
slot_new(struct session *s, enum slot_kind kind)
{
	struct slot *sl = xcalloc(1, sizeof(*sl));

	sl->kind = kind;
	sl->txn_gen = s->txn ? s->txn->gen : 0;
	if (s->tail)
		s->tail->next = sl;
	else
		s->head = sl;
	s->tail = sl;
	return sl;
}

static void
count_reply(int code)
{
	switch (code / 100) {
	case 2: stats_inc(STAT_reply_2xx); break;
	case 3: stats_inc(STAT_reply_3xx); break;
	case 4: stats_inc(STAT_reply_4xx); break;
	default: stats_inc(STAT_reply_5xx); break;
	}
}

static void
slot_set(struct slot *sl, const char *buf, size_t len, int code)
{
	sl->text = xmalloc(len);
	memcpy(sl->text, buf, len);
	sl->len = len;
	sl->ready = 1;
	count_reply(code);
}

static void
slot_vreply(struct session *s, struct slot *sl, int code, const char *enh,
    const char *fmt, va_list ap)
{
	char text[REPLY_BUF], buf[REPLY_BUF + 64];
	size_t n;

	if (vsnprintf(text, sizeof(text), fmt, ap) < 0)
		text[0] = '\0';
	/* enhanced codes only where they were offered, or before EHLO */
	n = reply_format(buf, sizeof(buf), code, enh, text);
	if (n == 0)
		n = reply_format(buf, sizeof(buf), code, NULL, "Error");
	slot_set(sl, buf, n, code);
}

static void
slot_reply(struct session *s, struct slot *sl, int code, const char *enh,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	slot_vreply(s, sl, code, enh, fmt, ap);
	va_end(ap);
	if (code == 421)
		sl->close_after = 1;
}

/* A backend reply, passed on unchanged (sanitised by the parser). */
static void
slot_relay(struct session *s, struct slot *sl, const struct reply *r)
{
	char buf[REPLY_LINES_MAX * (REPLY_LINE_MAX + 8)];
	size_t n = reply_format_parsed(buf, sizeof(buf), r);

	if (n == 0) {
		slot_reply(s, sl, r->code, NULL, "%s", reply_text(r));
		return;
	}
	slot_set(sl, buf, n, r->code);
	if (r->code == 421)
		sl->close_after = 1;
}

static void
reply_now(struct session *s, int code, const char *enh, const char *fmt, ...)
{
	struct slot *sl = slot_new(s, SLOT_LOCAL);
	va_list ap;

	va_start(ap, fmt);
	slot_vreply(s, sl, code, enh, fmt, ap);
	va_end(ap);
	if (code == 421)
		sl->close_after = 1;
	session_flush(s);
}

/*
 * Writes every ready slot at the head, in order, gathered into one write
 * (RFC 2920: pipelined replies may go out together).
 */
static void
session_flush(struct session *s)
{
	char buf[8192];
	size_t n = 0;

	while (s->head != NULL && s->head->ready) {
		struct slot *sl = s->head;
		int close_after = sl->close_after;

		s->head = sl->next;
		if (s->head == NULL)
			s->tail = NULL;
		if (n + sl->len > sizeof(buf)) {
			wire_write(s->bev, buf, n);
			n = 0;
		}
		if (sl->len > sizeof(buf))
			wire_write(s->bev, sl->text, sl->len);
		else {
			memcpy(buf + n, sl->text, sl->len);
			n += sl->len;
		}
		free(sl->text);
		free(sl->rcpt);
		free(sl);
		if (close_after) {
			wire_write(s->bev, buf, n);
			session_close(s, s->quit ? "quit" : "closed by us");
			return;
		}
	}
	wire_write(s->bev, buf, n);
	if (s->head == NULL && s->blocked == BLOCK_BARRIER && s->barrier) {
		void (*fn)(struct session *) = s->barrier;

		s->barrier = NULL;
		s->blocked = BLOCK_NONE;
		fn(s);
	}
}

static void
tarpit_done(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;

	if (s->tarpit != NULL) {
		s->tarpit->ready = 1;
		s->tarpit = NULL;
	}
	if (s->blocked == BLOCK_TARPIT)
		s->blocked = BLOCK_NONE;
	if (!s->closing)
		session_process(s);
}

/*
 * A reply to a client's mistake. Past soft_error_limit it is held back a
 * growing delay (and the session with it); at max_errors the session ends.
 */
static void
reply_error(struct session *s, int code, const char *enh, const char *fmt, ...)
{
	struct slot *sl = slot_new(s, SLOT_LOCAL);
	const struct config *c = s->cfg;
	va_list ap;

	va_start(ap, fmt);
	slot_vreply(s, sl, code, enh, fmt, ap);
	va_end(ap);
	s->nerrors++;
	if (s->nerrors >= c->max_errors) {
		stats_inc(STAT_limit_max_errors);
		decision(s, "reject", "limit:max_errors", STAGE_MAIL, 421,
		    "4.7.0", "too many errors", NULL);
		session_fatal(s, 421, "4.7.0", "%s Error: too many errors",
		    c->hostname);
		return;
	}
	if (s->nerrors > c->soft_error_limit && c->error_delay > 0) {
		uint64_t steps = MIN(s->nerrors - c->soft_error_limit, 10u);
		uint64_t ms = c->error_delay * steps;
		struct timeval tv = { (time_t)(ms / 1000),
		    (suseconds_t)(ms % 1000) * 1000 };

		stats_inc(STAT_limit_error_delay);
		sl->ready = 0;
		s->tarpit = sl;
		s->blocked = BLOCK_TARPIT;
		if (s->tarpit_ev == NULL)
			s->tarpit_ev = evtimer_new(s->base, tarpit_done, s);
		evtimer_add(s->tarpit_ev, &tv);
		return;
	}
	session_flush(s);
}

/* ---- logging ------------------------------------------------------------- */

static void
decision(struct session *s, const char *verdict, const char *by,
    enum filter_stage stage, int code, const char *enh, const char *reason,
    const char *rcpt)
{
	char qreason[LOG_QUOTE_BUF], qhelo[LOG_QUOTE_BUF], qfrom[LOG_QUOTE_BUF];
	char to[1024], q[LOG_QUOTE_BUF];
	struct txn *t = s->txn;
	size_t o = 0;

	to[0] = '\0';
	if (rcpt != NULL) {
		log_quote_str(q, sizeof(q), rcpt);
		str_fmt(to, sizeof(to), "<%s>", q);
	} else if (t != NULL && t->nrcpts > 0) {
		for (size_t i = 0; i < t->nrcpts && o < sizeof(to) - 8; i++) {
			int k;

			log_quote_str(q, sizeof(q), t->rcpts[i]);
			k = snprintf(to + o, sizeof(to) - o, "%s<%s>",
			    i ? "," : "", q);
			if (k < 0 || (size_t)k >= sizeof(to) - o) {
				str_copy(to + o, sizeof(to) - o, ",...");
				break;
			}
			o += (size_t)k;
		}
	} else
		str_copy(to, sizeof(to), "-");
	log_quote_str(qreason, sizeof(qreason), reason ? reason : "");
	log_quote_str(qhelo, sizeof(qhelo), s->helo);
	if (t != NULL)
		log_quote_str(qfrom, sizeof(qfrom), t->from);
	log_info("%s decision verdict=%s by=%s stage=%s code=%d enh=%s "
	    "reason=\"%s\" client=[%s] helo=<%s> from=%s%s%s to=%s size=%llu "
	    "ms=%llu", s->id, verdict, by, filter_stage_name(stage), code,
	    enh && enh[0] ? enh : "-", qreason, s->client_addr,
	    s->helo ? qhelo : "", t ? "<" : "-", t ? qfrom : "", t ? ">" : "",
	    to, (unsigned long long)(t ? t->size : 0),
	    (unsigned long long)(now_ms() - (t ? t->start_ms : s->start_ms)));
}

static void
verdict_decision(struct session *s, enum filter_stage stage,
    const struct verdict *v, const struct filter_conf *by, const char *rcpt)
{
	char byname[64];

	str_fmt(byname, sizeof(byname), "%s", by ? by->ops->name : "filter");
	decision(s, v->kind == VERDICT_REJECT ? "reject" : "tempfail", byname,
	    stage, v->code, v->enh, v->why[0] ? v->why : v->text, rcpt);
}

/* ---- the view filters get ---------------------------------------------------- */

static void
view_fill(struct session *s, struct txn_view *tv)
{
	memset(tv, 0, sizeof(*tv));
	tv->session_id = s->id;
	tv->client = (struct sockaddr *)&s->peer;
	tv->client_addr = s->client_addr;
	tv->client_name = s->client_name;
	tv->helo = s->helo;
	tv->esmtp = s->esmtp;
	tv->tls = s->tls != 0;
	if (s->txn != NULL) {
		tv->sender = s->txn->from;
		tv->nrcpts = s->txn->nrcpts;
		tv->rcpts = (const char *const *)s->txn->rcpts;
		tv->spool = s->txn->spool;
		tv->size = s->txn->size;
	}
}

/* ---- command input --------------------------------------------------------- */

static void
session_process(struct session *s)
{
	struct evbuffer *in = bufferevent_get_input(s->bev);

	/*
	 * A command decided synchronously calls back into here; the loop on
	 * the stack goes on by itself, so recursion (one level per pipelined
	 * command) is never needed.
	 */
	if (s->in_process)
		return;
	s->in_process = 1;
	if (s->state == ST_PROXY) {
		proxy_header(s);
		s->in_process = 0;
		if (s->state == ST_PROXY || s->closing)
			return;
		s->in_process = 1;
	}
	while (!s->closing && !s->fatal && s->blocked == BLOCK_NONE) {
		struct evbuffer_ptr eol;
		size_t len = evbuffer_get_length(in), linelen, eol_len = 0;
		char *line;
		int bare;

		if (s->mode == MODE_DATA) {
			data_feed(s);
			if (s->mode == MODE_DATA)
				break;
			continue;
		}
		if (s->mode == MODE_BDAT) {
			bdat_feed(s);
			if (s->mode == MODE_BDAT)
				break;
			continue;
		}
		if (len == 0)
			break;
		if (evbuffer_get_length(bufferevent_get_output(s->bev)) >
		    OUTPUT_MAX) {
			/* The client does not read: wait until it does. */
			s->blocked = BLOCK_OUTPUT;
			bufferevent_disable(s->bev, EV_READ);
			bufferevent_setwatermark(s->bev, EV_WRITE,
			    OUTPUT_MAX / 2, 0);
			break;
		}
		if (s->ncommands == 0 && !s->proxied && proxy_looks_like(
		    evbuffer_pullup(in, (ev_ssize_t)MIN(len, (size_t)12)),
		    MIN(len, (size_t)12)) && len >= 6) {
			/* Only configured load balancers may say who the
			 * client is. */
			stats_inc(STAT_conn_refused_proxy);
			decision(s, "reject", "limit:proxy", STAGE_CONNECT, 554,
			    "5.7.0", "PROXY header from an untrusted address",
			    NULL);
			session_fatal(s, 554, "5.7.0", "%s Error: PROXY protocol "
			    "not accepted from your address", s->cfg->hostname);
			break;
		}
		eol = evbuffer_search_eol(in, NULL, &eol_len, EVBUFFER_EOL_LF);
		if (s->mode == MODE_SKIP) {
			/* the rest of an over-long line */
			if (eol.pos < 0) {
				evbuffer_drain(in, len);
				break;
			}
			evbuffer_drain(in, (size_t)eol.pos + 1);
			s->mode = MODE_CMD;
			continue;
		}
		if (eol.pos < 0 && len <= s->cfg->max_line_length + 1)
			break;			/* incomplete line */
		if (eol.pos < 0 || (size_t)eol.pos > s->cfg->max_line_length + 1) {
			stats_inc(STAT_cmd_too_long);
			s->ncommands++;
			reply_error(s, 500, "5.5.2", "Error: line too long");
			if (eol.pos < 0) {
				evbuffer_drain(in, len);
				s->mode = MODE_SKIP;
			} else
				evbuffer_drain(in, (size_t)eol.pos + 1);
			continue;
		}
		linelen = (size_t)eol.pos + 1;
		line = xmalloc(linelen + 1);
		evbuffer_remove(in, line, linelen);
		/*
		 * More input behind a command we have not answered yet, when
		 * PIPELINING was not offered: the client did not wait (RFC
		 * 5321 4.3.1 lockstep; postscreen's pipelining test).
		 */
		if (!(s->offer & EXT_PIPELINING) && evbuffer_get_length(in) > 0 &&
		    s->cfg->pipelining_violation == PROTO_REJECT &&
		    !(linelen > 5 && strncasecmp(line, "BDAT ", 5) == 0)) {
			free(line);
			stats_inc(STAT_cmd_pipelining_violation);
			decision(s, "reject", "limit:pipelining", STAGE_HELO, 554,
			    "5.5.0", "pipelining without PIPELINING", NULL);
			session_fatal(s, 554, "5.5.0", "%s Error: SMTP protocol "
			    "violation (pipelining was not offered)",
			    s->cfg->hostname);
			break;
		}
		bare = linelen < 2 || line[linelen - 2] != '\r';
		linelen -= bare ? 1 : 2;
		line[linelen] = '\0';
		free(s->line);
		s->line = line;
		handle_line(s, line, linelen, bare);
	}
	s->in_process = 0;
	if (s->closing)
		return;
	/* paused for a stream that is no more: never stay deaf */
	if (s->stream_paused && (s->txn == NULL || !s->txn->stream ||
	    s->be == NULL))
		stream_resume(s);
	session_flush(s);
	if (s->closing)
		return;
	if (s->mode == MODE_CMD) {
		/* a partial line waits: its record deadline runs */
		record_deadline(s, s->blocked == BLOCK_NONE && evbuffer_get_length(
		    bufferevent_get_input(s->bev)) > 0 ? 1 : 0);
	}
	if (s->eof && s->blocked == BLOCK_NONE && s->head == NULL &&
	    s->mode == MODE_CMD) {
		/* everything sent before the EOF is answered */
		if (s->txn != NULL) {
			stats_inc(STAT_conn_lost);
			decision(s, "tempfail", "client", STAGE_MAIL, 0, "",
			    "client closed its side mid-transaction", NULL);
		}
		session_close(s, "eof");
	}
}

/*
 * A reply after which the session ends: queued in order like any other,
 * and nothing more is read or processed.
 */
static void
session_fatal(struct session *s, int code, const char *enh, const char *fmt,
    ...)
{
	struct evbuffer *in = bufferevent_get_input(s->bev);
	struct slot *sl = slot_new(s, SLOT_LOCAL);
	va_list ap;

	va_start(ap, fmt);
	slot_vreply(s, sl, code, enh, fmt, ap);
	va_end(ap);
	sl->close_after = 1;
	s->fatal = 1;
	evbuffer_drain(in, evbuffer_get_length(in));
	bufferevent_disable(s->bev, EV_READ);
	session_flush(s);
}

static int
need_helo(struct session *s)
{
	if (s->state >= ST_READY)
		return 0;
	stats_inc(STAT_cmd_bad_sequence);
	reply_error(s, 503, "5.5.1", "Error: send HELO/EHLO first");
	return 1;
}

static int
check_params_mail(struct session *s, const struct cmd *c)
{
	for (size_t i = 0; i < c->nparams; i++) {
		const char *k = c->params[i].key, *v = c->params[i].value;

		if (!strcasecmp(k, "SIZE") && (s->offer & EXT_SIZE) && v) {
			char *end;
			unsigned long long n;

			errno = 0;
			n = strtoull(v, &end, 10);
			if (*end != '\0' || errno != 0) {
				reply_error(s, 501, "5.5.4", "Bad SIZE syntax");
				return -1;
			}
			if (n > s->offer_size) {
				stats_inc(STAT_limit_message_size);
				reply_error(s, 552, "5.3.4", "Message size exceeds "
				    "fixed limit");
				return -1;
			}
		} else if (!strcasecmp(k, "BODY") && v &&
		    (!strcasecmp(v, "7BIT") || ((s->offer & EXT_8BITMIME) &&
		    !strcasecmp(v, "8BITMIME")))) {
			;
		} else if (!strcasecmp(k, "SMTPUTF8") && v == NULL &&
		    (s->offer & EXT_SMTPUTF8)) {
			;
		} else if ((s->offer & EXT_DSN) && !strcasecmp(k, "RET") && v &&
		    (!strcasecmp(v, "FULL") || !strcasecmp(v, "HDRS"))) {
			;
		} else if ((s->offer & EXT_DSN) && !strcasecmp(k, "ENVID") && v &&
		    cmd_xtext_ok(v) && strlen(v) <= 100) {
			;
		} else {
			reply_error(s, 555, "5.5.4", "Unsupported option: %s", k);
			return -1;
		}
	}
	return 0;
}

static int
check_params_rcpt(struct session *s, const struct cmd *c)
{
	for (size_t i = 0; i < c->nparams; i++) {
		const char *k = c->params[i].key, *v = c->params[i].value;

		if ((s->offer & EXT_DSN) && !strcasecmp(k, "NOTIFY") && v) {
			;
		} else if ((s->offer & EXT_DSN) && !strcasecmp(k, "ORCPT") &&
		    v && strchr(v, ';') != NULL && strlen(v) <= 500) {
			;
		} else {
			reply_error(s, 555, "5.5.4", "Unsupported option: %s", k);
			return -1;
		}
	}
	return 0;
}

/* The command as we relay it: canonical, never the client's raw bytes. */
static size_t
build_relay_line(const struct cmd *c, char *out, size_t outlen)
{
	size_t o;
	int k;

	k = snprintf(out, outlen, "%s:<%s>", c->verb == VERB_MAIL ?
	    "MAIL FROM" : "RCPT TO", c->path);
	if (k < 0 || (size_t)k >= outlen)
		return 0;
	o = (size_t)k;
	for (size_t i = 0; i < c->nparams; i++) {
		k = snprintf(out + o, outlen - o, " %s%s%s", c->params[i].key,
		    c->params[i].value ? "=" : "",
		    c->params[i].value ? c->params[i].value : "");
		if (k < 0 || (size_t)k >= outlen - o)
			return 0;
		o += (size_t)k;
	}
	if (o + 2 >= outlen)
		return 0;
	out[o++] = '\r';
	out[o++] = '\n';
	return o;
}

static void
run_stage(struct session *s, enum filter_stage stage)
{
	struct txn_view tv;
	struct verdict v;
	const struct filter_conf *by;

	view_fill(s, &tv);
	if (stage == STAGE_RCPT)
		tv.rcpt = s->cmd.path;
	s->blocked = BLOCK_FILTER;
	if (filter_run_stage(s->fr, stage, &tv, &v, &by, after_filter) == 1) {
		after_filter(s, stage, &v, by);
		verdict_clear(&v);
	}
}

/*
 * The client sent more before our reply to DATA (RFC 2920 3.1: DATA ends a
 * group). Legitimate MTAs wait for 354; what follows could be taken for
 * commands by a server that guesses wrong (smuggling). Refuse and close,
 * as Postfix does with smtpd_forbid_unauth_pipelining. sl: the DATA slot
 * if the backend already answered it, else a new one.
 */
static void
pipelining_after_data(struct session *s, struct slot *sl)
{
	stats_inc(STAT_cmd_pipelining_violation);
	decision(s, "reject", "limit:pipelining", STAGE_MAIL, 554, "5.5.0",
	    "data sent before the reply to DATA", NULL);
	if (sl == NULL)
		sl = slot_new(s, SLOT_LOCAL);
	slot_reply(s, sl, 554, "5.5.0", "Error: SMTP protocol synchronization");
	/* After the backend's 354 it is inside DATA and must not get a dot;
	 * before it, replies to MAIL/RCPT may still be due: keep it. */
	if (s->txn != NULL && s->txn->data_started)
		backend_close(&s->be);
	txn_abort(s);
	session_fatal(s, 421, "4.7.0", "%s Closing connection",
	    s->cfg->hostname);
}

static int
forbidden_command(const char *line)
{
	static const char *const verbs[] = {
		"CONNECT", "GET", "POST", "HEAD", "PUT", "OPTIONS"
	};
	size_t n = strcspn(line, " \t");

	if (n == 0 || !((line[0] >= 'A' && line[0] <= 'Z') ||
	    (line[0] >= 'a' && line[0] <= 'z')))
		return 1;
	if (memchr(line, ':', n) != NULL)	/* "Subject:" and friends */
		return 1;
	for (size_t i = 0; i < ARRAY_LEN(verbs); i++)
		if (n == strlen(verbs[i]) && strncasecmp(line, verbs[i], n) == 0)
			return 1;
	return 0;
}

/*
 * Sets up the reading of a BDAT chunk. Whatever the reply, the chunk's
 * bytes are read and never taken for commands; only a chunk too large to
 * ever be accepted ends the session instead.
 */
static void
bdat_command(struct session *s, const struct cmd *c)
{
	struct txn *t = s->txn;
	struct slot *sl;

	if (c->bdat_size > s->cfg->max_message_size) {
		stats_inc(STAT_limit_message_size);
		decision(s, "reject", "limit:max_message_size", STAGE_EOM, 552,
		    "5.3.4", "BDAT chunk larger than the size limit", NULL);
		if (t != NULL && t->data_started)
			backend_close(&s->be);
		txn_abort(s);
		session_fatal(s, 552, "5.3.4", "Error: message too big");
		return;
	}
	s->chunk_left = s->chunk_size = c->bdat_size;
	s->chunk_last = c->bdat_last;
	s->chunk_discard = 1;
	s->mode = MODE_BDAT;
	s->where = "reading a BDAT chunk";
	set_read_timeout(s);
	sl = s->chunk_slot = slot_new(s, SLOT_BDAT);
	/* refusals: the reply waits until the chunk has been read */
	if (!(s->offer & EXT_CHUNKING)) {
		slot_reply(s, sl, 502, "5.5.1", "Error: BDAT without CHUNKING");
		goto held;
	}
	if (s->state < ST_READY) {
		slot_reply(s, sl, 503, "5.5.1", "Error: send HELO/EHLO first");
		goto held;
	}
	if (t == NULL) {
		slot_reply(s, sl, 503, "5.5.1", "Error: need MAIL command");
		goto held;
	}
	if (t->bdat) {
		if (!t->data_started) {
			/* the backend refused DATA: the rest is refused too */
			slot_reply(s, sl, 503, "5.5.1", "Error: no transaction");
			goto held;
		}
		s->chunk_discard = 0;
		return;
	}
	if (t->nrcpt_cmds == 0) {
		slot_reply(s, sl, 503, "5.5.1", "Error: need RCPT command");
		goto held;
	}
	if (t->nrelayed == 0 || (t->npending == 0 && t->nrcpts == 0)) {
		slot_reply(s, sl, 554, "5.5.1", "Error: no valid recipients");
		goto held;
	}
	if (s->be == NULL) {
		slot_reply(s, sl, 451, "4.4.2", "Error: backend connection lost");
		decision(s, "tempfail", "backend", STAGE_MAIL, 451, "4.4.2",
		    "backend lost before BDAT", NULL);
		txn_abort(s);
		goto held;
	}
	/* The first chunk: DATA goes to the backend; its chunk is read once
	 * the backend said 354 (or discarded if it did not). */
	t->bdat = 1;
	s->mode = MODE_CMD;
	s->blocked = BLOCK_DATA;
	s->where = "waiting for the backend's reply to DATA";
	if (backend_cmd(s->be, "DATA\r\n", 6, session_be_reply, sl) < 0) {
		s->blocked = BLOCK_NONE;
		s->mode = MODE_BDAT;
		slot_reply(s, sl, 451, "4.4.2", "Error: backend connection lost");
		txn_abort(s);
		goto held;
	}
	return;
held:
	sl->ready = 0;
}

static void
handle_line(struct session *s, char *line, size_t len, int bare_lf)
{
	struct cmd *c = &s->cmd;
	enum cmd_result rc;

	s->ncommands++;
	stats_inc(STAT_cmd_total);
	if (s->ncommands > s->cfg->max_commands) {
		stats_inc(STAT_limit_max_commands);
		decision(s, "tempfail", "limit:max_commands", STAGE_MAIL, 421,
		    "4.7.0", "too many commands", NULL);
		session_fatal(s, 421, "4.7.0", "%s Error: too many commands",
		    s->cfg->hostname);
		return;
	}
	if (bare_lf) {
		stats_inc(STAT_cmd_bare_lf);
		if (s->cfg->bare_newline == BARE_NL_REJECT) {
			reply_error(s, 500, "5.5.2", "Error: bare <LF> received");
			return;
		}
	}
	rc = cmd_parse(line, len, c);
	if (rc == CMD_NUL) {
		stats_inc(STAT_cmd_nul);
		reply_error(s, 500, "5.5.2", "Error: NUL character in command");
		return;
	}
	if (rc == CMD_EMPTY) {
		stats_inc(STAT_cmd_syntax);
		reply_error(s, 500, "5.5.2", "Error: bad syntax");
		return;
	}
	if (rc == CMD_SYNTAX) {
		stats_inc(STAT_cmd_syntax);
		reply_error(s, 501, "5.5.4", "Syntax: %s", c->syntax ? c->syntax :
		    "bad arguments");
		return;
	}
	s->where = cmd_verb_name(c->verb);
	if (s->state == ST_CONNECT) {
		/* cannot happen: input is only read after the greeting */
		reply_now(s, 503, "5.5.1", "Error: wait for the greeting");
		return;
	}
	if (s->draining && s->txn == NULL && c->verb != VERB_QUIT) {
		session_fatal(s, 421, "4.3.2", "%s Service shutting down",
		    s->cfg->hostname);
		return;
	}
	switch (c->verb) {
	case VERB_HELO:
	case VERB_EHLO: {
		char h[HELO_MAX + 1];

		txn_abort(s);
		str_ncopy(h, sizeof(h), c->arg, strcspn(c->arg, " \t"));
		free(s->helo);
		s->helo = xstrdup(h);
		s->esmtp = c->verb == VERB_EHLO;
		s->cur = slot_new(s, SLOT_LOCAL);
		run_stage(s, STAGE_HELO);
		return;
	}
	case VERB_MAIL:
		if (need_helo(s))
			return;
		if (s->txn != NULL) {
			stats_inc(STAT_cmd_bad_sequence);
			reply_error(s, 503, "5.5.1", "Error: nested MAIL command");
			return;
		}
		if (check_params_mail(s, c) < 0)
			return;
		if (c->has_8bit && cmd_param(c, "SMTPUTF8") == NULL) {
			reply_error(s, 553, "5.6.7", "Error: address needs SMTPUTF8");
			return;
		}
		s->txn = xcalloc(1, sizeof(*s->txn));
		s->txn->gen = ++s->txn_gen;
		s->txn->start_ms = now_ms();
		s->txn->from = xstrndup(c->path, c->pathlen);
		s->txn->smtputf8 = cmd_param(c, "SMTPUTF8") != NULL;
		filter_run_txn_reset(s->fr);
		s->cur = slot_new(s, SLOT_MAIL);
		run_stage(s, STAGE_MAIL);
		return;
	case VERB_RCPT: {
		const char *why;

		if (need_helo(s))
			return;
		if (s->txn == NULL) {
			stats_inc(STAT_cmd_bad_sequence);
			reply_error(s, 503, "5.5.1", "Error: need MAIL command");
			return;
		}
		if (check_params_rcpt(s, c) < 0)
			return;
		if (c->has_8bit && !s->txn->smtputf8) {
			reply_error(s, 553, "5.6.7", "Error: address needs SMTPUTF8");
			return;
		}
		s->txn->nrcpt_cmds++;
		if (s->txn->nrelayed >= s->cfg->max_rcpts) {
			stats_inc(STAT_limit_max_rcpts);
			reply_now(s, 452, "4.5.3", "Error: too many recipients");
			decision(s, "tempfail", "limit:max_rcpts", STAGE_RCPT, 452,
			    "4.5.3", "too many recipients", c->path);
			return;
		}
		if (relay_rcpt_ok(s->cfg->relay, c->path, &why) < 0) {
			stats_inc(STAT_rcpt_rejected);
			decision(s, "reject", "relay", STAGE_RCPT, 554, "5.7.1",
			    why, c->path);
			reply_error(s, 554, "5.7.1", "<%s>: Relay access denied",
			    c->path);
			return;
		}
		s->cur = slot_new(s, SLOT_RCPT);
		s->cur->rcpt = xstrndup(c->path, c->pathlen);
		run_stage(s, STAGE_RCPT);
		return;
	}
	case VERB_DATA:
		if (need_helo(s))
			return;
		if (s->txn == NULL) {
			stats_inc(STAT_cmd_bad_sequence);
			reply_error(s, 503, "5.5.1", "Error: need MAIL command");
			return;
		}
		if (s->txn->nrcpt_cmds == 0) {
			stats_inc(STAT_cmd_bad_sequence);
			reply_error(s, 503, "5.5.1", "Error: need RCPT command");
			return;
		}
		if (s->txn->bdat) {
			stats_inc(STAT_cmd_bad_sequence);
			reply_error(s, 503, "5.5.1", "Error: DATA after BDAT");
			return;
		}
		if (s->txn->nrelayed == 0 || (s->txn->npending == 0 &&
		    s->txn->nrcpts == 0)) {
			reply_now(s, 554, "5.5.1", "Error: no valid recipients");
			return;
		}
		if (evbuffer_get_length(bufferevent_get_input(s->bev)) > 0 &&
		    s->cfg->pipelining_violation == PROTO_REJECT) {
			pipelining_after_data(s, NULL);
			return;
		}
		if (s->be == NULL) {
			reply_now(s, 451, "4.4.2", "Error: backend connection lost");
			decision(s, "tempfail", "backend", STAGE_MAIL, 451, "4.4.2",
			    "backend lost before DATA", NULL);
			txn_abort(s);
			return;
		}
		s->cur = slot_new(s, SLOT_DATA);
		s->blocked = BLOCK_DATA;
		s->where = "waiting for the backend's reply to DATA";
		if (backend_cmd(s->be, "DATA\r\n", 6, session_be_reply,
		    s->cur) < 0) {
			s->blocked = BLOCK_NONE;
			slot_reply(s, s->cur, 451, "4.4.2",
			    "Error: backend connection lost");
			txn_abort(s);
		}
		s->cur = NULL;
		return;
	case VERB_RSET:
		txn_abort(s);
		reply_now(s, 250, "2.0.0", "Ok");
		if (s->draining) {
			reply_now(s, 421, "4.3.2", "%s Service shutting down",
			    s->cfg->hostname);
		}
		return;
	case VERB_NOOP:
		reply_now(s, 250, "2.0.0", "Ok");
		return;
	case VERB_QUIT:
		s->quit = 1;
		txn_abort(s);
		{
			struct slot *sl = slot_new(s, SLOT_LOCAL);

			slot_reply(s, sl, 221, "2.0.0", "Bye");
			sl->close_after = 1;
		}
		session_flush(s);
		return;
	case VERB_VRFY:
	case VERB_EXPN:
	case VERB_HELP:
	case VERB_ETRN:
		for (size_t i = 0; i < ARRAY_LEN(fixed_replies); i++)
			if (fixed_replies[i].verb == c->verb)
				reply_now(s, fixed_replies[i].code,
				    fixed_replies[i].enh, "%s",
				    fixed_replies[i].text);
		return;
	case VERB_AUTH:
		stats_inc(STAT_cmd_bad_sequence);
		reply_error(s, 503, "5.5.1", "Error: authentication not enabled");
		return;
	case VERB_STARTTLS:
		if (s->tls) {
			reply_error(s, 554, "5.5.1", "Error: TLS already active");
			return;
		}
		if (!(s->offer & EXT_STARTTLS) || s->cfg->tls_ctx == NULL) {
			reply_error(s, 502, "5.5.1", "Error: command not implemented");
			return;
		}
		if (s->txn != NULL) {
			reply_error(s, 503, "5.5.1", "Error: STARTTLS not allowed "
			    "in a mail transaction");
			return;
		}
		/* Clear text pipelined after STARTTLS must not run inside
		 * TLS (CVE-2011-0411): drop it now, before the handshake. */
		{
			struct evbuffer *in = bufferevent_get_input(s->bev);
			size_t n = evbuffer_get_length(in);

			if (n > 0) {
				stats_inc(STAT_tls_plaintext_discarded);
				log_warn("%s STARTTLS followed by %zu bytes of "
				    "pipelined clear text: discarded", s->id, n);
				evbuffer_drain(in, n);
			}
		}
		reply_now(s, 220, "2.0.0", "Ready to start TLS");
		s->blocked = BLOCK_BARRIER;
		s->barrier = starttls_switch;
		session_flush(s);
		return;
	case VERB_BDAT:
		bdat_command(s, c);
		return;
	default:
		if (forbidden_command(line)) {
			/* Not an SMTP client at all: a web proxy probe, a mail
			 * header sent as a command, TLS without STARTTLS. As
			 * Postfix's smtpd_forbidden_commands. */
			stats_inc(STAT_cmd_forbidden);
			decision(s, "reject", "limit:forbidden_command",
			    STAGE_HELO, 221, "2.7.0", "non-SMTP command", NULL);
			session_fatal(s, 221, "2.7.0", "Error: I can break rules, "
			    "too. Goodbye.");
			return;
		}
		stats_inc(STAT_cmd_unknown);
		reply_error(s, 502, "5.5.2", "Error: command not recognized");
		return;
	}
}

/* ---- filter outcomes -------------------------------------------------------- */

static void
after_filter(struct session *s, enum filter_stage stage, const struct verdict *v,
    const struct filter_conf *by)
{
	int refused = v->kind == VERDICT_REJECT || v->kind == VERDICT_TEMPFAIL;

	s->blocked = BLOCK_NONE;
	if (s->closing)
		return;
	switch (stage) {
	case STAGE_CONNECT:
		if (refused) {
			/* Refused at connect: say so in the greeting, then go. */
			reply_now(s, v->kind == VERDICT_REJECT ? 554 : 421,
			    v->kind == VERDICT_REJECT || v->enh[0] == '4' ?
			    v->enh : "4.7.0", "%s %s", s->cfg->hostname, v->text);
			verdict_decision(s, stage, v, by, NULL);
			session_close(s, "refused at connect");
			return;
		}
		greet(s);
		break;
	case STAGE_HELO:
		if (refused) {
			free(s->helo);
			s->helo = NULL;
			slot_reply(s, s->cur, v->code, v->enh, "%s", v->text);
			verdict_decision(s, stage, v, by, NULL);
			if (v->disconnect)
				s->cur->close_after = 1;
		} else
			do_helo_reply(s);
		s->cur = NULL;
		break;
	case STAGE_MAIL:
		if (refused) {
			slot_reply(s, s->cur, v->code, v->enh, "%s", v->text);
			verdict_decision(s, stage, v, by, NULL);
			if (v->disconnect)
				s->cur->close_after = 1;
			s->cur = NULL;
			txn_free(&s->txn);
			filter_run_txn_reset(s->fr);
			break;
		}
		if (s->be == NULL && !backend_available(s->cfg)) {
			bw_enqueue(s);
			return;
		}
		do_mail_relay(s);
		break;
	case STAGE_RCPT:
		if (refused) {
			stats_inc(v->kind == VERDICT_REJECT ? STAT_rcpt_rejected :
			    STAT_rcpt_tempfailed);
			slot_reply(s, s->cur, v->code, v->enh, "%s", v->text);
			verdict_decision(s, stage, v, by, s->cur->rcpt);
			if (v->disconnect)
				s->cur->close_after = 1;
			s->cur = NULL;
			break;
		}
		do_rcpt_relay(s);
		break;
	case STAGE_HEADERS:
	case STAGE_BODY:
	case STAGE_EOM:
		s->blocked = BLOCK_EOM;
		if (refused) {
			struct txn *t = s->txn;

			if (t->eom_slot != NULL) {
				slot_reply(s, t->eom_slot, v->code, v->enh, "%s",
				    v->text);
				t->eom_slot = NULL;
			}
			stats_inc(v->kind == VERDICT_REJECT ? STAT_txn_rejected :
			    STAT_txn_tempfailed);
			verdict_decision(s, stage, v, by, NULL);
			/* the backend is inside DATA: it must not get a dot */
			backend_close(&s->be);
			txn_end(s);
			session_process(s);
			return;
		}
		s->txn->eom_step++;
		eom_continue(s);
		return;
	default:
		break;
	}
	session_process(s);
}

/*
 * Input before the greeting ended: bots talk first, MTAs never do (RFC
 * 5321 3.1). As postscreen's pregreet test.
 */
static int
early_talker(struct session *s)
{
	if (evbuffer_get_length(bufferevent_get_input(s->bev)) == 0 ||
	    s->cfg->early_talker == PROTO_IGNORE)
		return 0;
	stats_inc(STAT_conn_early_talker);
	decision(s, "reject", "limit:early_talker", STAGE_CONNECT, 554, "5.5.0",
	    "client talked before the greeting", NULL);
	session_fatal(s, 554, "5.5.0", "%s Error: SMTP protocol violation "
	    "(you talked before the greeting)", s->cfg->hostname);
	return 1;
}

static void
greet_final(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;

	if (s->closing)
		return;
	s->blocked = BLOCK_NONE;
	if (early_talker(s))
		return;
	s->state = ST_GREETED;
	s->where = "waiting for HELO";
	set_read_timeout(s);
	reply_now(s, 220, NULL, "%s %s", s->cfg->hostname, s->cfg->greeting);
	session_process(s);
}

static void
greet(struct session *s)
{
	uint64_t ms = s->cfg->greet_delay_ms;
	struct timeval tv = { (time_t)(ms / 1000),
	    (suseconds_t)(ms % 1000) * 1000 };
	char buf[512];
	int n;

	if (ms == 0) {
		greet_final(-1, 0, s);
		return;
	}
	/* "220-" now, "220 " later: talking in between is early. */
	n = snprintf(buf, sizeof(buf), "220-%s %s\r\n", s->cfg->hostname,
	    s->cfg->greeting);
	if (n > 0 && (size_t)n < sizeof(buf))
		wire_write(s->bev, buf, (size_t)n);
	s->blocked = BLOCK_GREET;
	s->where = "greet delay";
	s->greet_ev = evtimer_new(s->base, greet_final, s);
	evtimer_add(s->greet_ev, &tv);
}

static void
do_helo_reply(struct session *s)
{
	const struct config *c = s->cfg;

	s->state = ST_READY;
	set_read_timeout(s);
	if (s->esmtp) {
		struct ehlo_policy p;
		char buf[1024];
		size_t n;

		p.want = EXT_PIPELINING | EXT_SIZE | EXT_8BITMIME |
		    EXT_ENHANCEDSTATUSCODES;
		if (c->smtputf8)
			p.want |= EXT_SMTPUTF8;
		if (c->dsn)
			p.want |= EXT_DSN;
		if (c->tls_ctx != NULL && !s->tls)
			p.want |= EXT_STARTTLS;
		if (c->chunking)
			p.want |= EXT_CHUNKING;
		p.max_size = c->max_message_size;
		s->offer = ehlo_offer(backend_known_caps(), &p, &s->offer_size);
		n = ehlo_format(buf, sizeof(buf), c->hostname, s->offer,
		    s->offer_size);
		slot_set(s->cur, buf, n, 250);
	} else {
		s->offer = 0;
		s->offer_size = c->max_message_size;
		slot_reply(s, s->cur, 250, NULL, "%s", c->hostname);
	}
}

/* ---- relaying --------------------------------------------------------------- */

static void
be_ready(void *owner, struct backend *b)
{
	(void)owner;
	(void)b;
}

static const struct backend_owner *
be_owner(struct session *s)
{
	static struct backend_owner o;

	o.owner = s;
	o.drained = be_drained;
	o.ready = be_ready;
	o.closed = be_closed;
	return &o;
}

static void
be_closed(void *owner, struct backend *b, enum backend_fail fail,
    const char *why)
{
	struct session *s = owner;

	if (s->be != b)
		return;
	s->be = NULL;
	stream_resume(s);	/* nothing will drain now: read on (and discard) */
	if (s->txn != NULL && s->txn->data_started && !s->txn->backend_lost) {
		s->txn->backend_lost = 1;
		s->txn->lost_fail = fail;
		str_copy(s->txn->lost_why, sizeof(s->txn->lost_why), why);
		stats_inc(STAT_backend_lost);
	}
}

static void
do_mail_relay(struct session *s)
{
	char line[SMTP_PATH_MAX + 2048];
	size_t n = build_relay_line(&s->cmd, line, sizeof(line));
	struct slot *sl = s->cur;

	s->cur = NULL;
	s->state = ST_MAIL;
	stats_inc(STAT_txn_started);
	if (s->be == NULL && (s->be = backend_take(s->cfg, be_owner(s))) != NULL)
		stats_inc(STAT_backend_reused);
	else if (s->be == NULL) {
		struct backend_client bc;

		bc.addr = (struct sockaddr *)&s->peer;
		bc.local = session_local(s);
		bc.name = s->client_name;
		bc.helo = s->helo;
		bc.esmtp = s->esmtp;
		bc.tls = s->tls != 0;
		s->be = backend_open(s->base, s->cfg, s->id, be_owner(s), &bc);
	} else
		stats_inc(STAT_backend_reused);
	backend_count_use(s->be);
	if (n == 0 || backend_cmd(s->be, line, n, session_be_reply, sl) < 0) {
		slot_reply(s, sl, 451, "4.3.2", "Service unavailable, try again "
		    "later");
		decision(s, "tempfail", "backend", STAGE_MAIL, 451, "4.3.2",
		    "backend unavailable", NULL);
		txn_free(&s->txn);
		s->state = ST_READY;
	}
}

static void
do_rcpt_relay(struct session *s)
{
	char line[SMTP_PATH_MAX + 2048];
	size_t n = build_relay_line(&s->cmd, line, sizeof(line));
	struct slot *sl = s->cur;

	s->cur = NULL;
	if (s->be == NULL || n == 0 ||
	    backend_cmd(s->be, line, n, session_be_reply, sl) < 0) {
		slot_reply(s, sl, 451, "4.4.2", "Error: backend connection lost");
		decision(s, "tempfail", "backend", STAGE_RCPT, 451, "4.4.2",
		    "backend lost", sl->rcpt);
		return;
	}
	s->state = ST_RCPT;
	s->txn->nrelayed++;
	s->txn->npending++;
}

/*
 * max_backend_connections: a transaction waits (in order) for a backend
 * connection to close, at most backend_wait, then gets 451 4.3.2.
 */
static void
bw_dequeue(struct session *s)
{
	struct session **pp;

	if (!s->bw_queued)
		return;
	for (pp = &bw_head; *pp != NULL; pp = &(*pp)->bw_next)
		if (*pp == s) {
			*pp = s->bw_next;
			break;
		}
	bw_tail = NULL;
	for (struct session *q = bw_head; q != NULL; q = q->bw_next)
		bw_tail = q;
	s->bw_next = NULL;
	s->bw_queued = 0;
	if (s->bw_ev != NULL)
		evtimer_del(s->bw_ev);
}

static void
bw_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;

	bw_dequeue(s);
	stats_inc(STAT_limit_backend_conns);
	slot_reply(s, s->cur, 451, "4.3.2", "Error: too busy, try again later");
	s->cur = NULL;
	decision(s, "tempfail", "limit:max_backend_connections", STAGE_MAIL,
	    451, "4.3.2", "no backend connection free", NULL);
	txn_free(&s->txn);
	filter_run_txn_reset(s->fr);
	s->state = ST_READY;
	s->blocked = BLOCK_NONE;
	session_process(s);
}

static void
bw_wakeup(evutil_socket_t fd, short what, void *arg)
{
	while (bw_head != NULL && backend_available(bw_head->cfg)) {
		struct session *s = bw_head;

		bw_dequeue(s);
		s->blocked = BLOCK_NONE;
		do_mail_relay(s);
		session_process(s);
	}
}

/* From backend.c: a connection closed; wake a waiter from the loop. */
static void
bw_released(void)
{
	if (bw_head != NULL && bw_wake != NULL)
		event_active(bw_wake, 0, 0);
}

static void
bw_enqueue(struct session *s)
{
	uint64_t ms = s->cfg->backend_wait;
	struct timeval tv = { (time_t)(ms / 1000),
	    (suseconds_t)(ms % 1000) * 1000 };

	if (bw_wake == NULL) {
		bw_wake = event_new(s->base, -1, 0, bw_wakeup, NULL);
		backend_released_hook = bw_released;
	}
	if (s->bw_ev == NULL)
		s->bw_ev = evtimer_new(s->base, bw_timeout, s);
	s->bw_queued = 1;
	s->bw_next = NULL;
	if (bw_tail != NULL)
		bw_tail->bw_next = s;
	else
		bw_head = s;
	bw_tail = s;
	s->blocked = BLOCK_BACKEND;
	s->where = "waiting for a free backend connection";
	evtimer_add(s->bw_ev, &tv);
}

/* Turns a backend failure into the client's 451. */
static void
slot_backend_fail(struct session *s, struct slot *sl, enum backend_fail fail,
    const char *why, enum filter_stage stage)
{
	const char *enh = fail == BACKEND_UNAVAILABLE ? "4.3.2" : "4.4.2";

	if (fail == BACKEND_UNAVAILABLE)
		slot_reply(s, sl, 451, enh, "Service unavailable, try again later");
	else
		slot_reply(s, sl, 451, enh, "Error: backend %s",
		    fail == BACKEND_TIMEOUT ? "timeout" : "connection lost");
	if (fail != BACKEND_UNAVAILABLE)
		stats_inc(STAT_backend_lost);
	decision(s, "tempfail", "backend", stage, 451, enh, why, sl->rcpt);
}

static int
is_current(const struct session *s, const struct slot *sl)
{
	return s->txn != NULL && s->txn->gen == sl->txn_gen;
}

/*
 * A backend reply for one of our slots. Replies pass unchanged when the
 * class is what the command may get (4xx/5xx always); anything else is a
 * protocol surprise: 451, and the backend connection goes.
 */
static void
session_be_reply(void *owner, void *arg, const struct reply *r,
    enum backend_fail fail, const char *why)
{
	struct session *s = owner;
	struct slot *sl = arg;
	enum filter_stage stage = sl->kind == SLOT_MAIL ? STAGE_MAIL :
	    sl->kind == SLOT_RCPT ? STAGE_RCPT : sl->kind == SLOT_EOM ?
	    STAGE_EOM : STAGE_MAIL;
	int cls = r ? reply_class(r) : 4;
	int expected = 0;

	if (s->closing)
		return;
	if (r != NULL) {
		if (cls == 4)
			stats_inc(STAT_backend_reply_4xx);
		else if (cls == 5)
			stats_inc(STAT_backend_reply_5xx);
		switch (sl->kind) {
		case SLOT_MAIL:
		case SLOT_RCPT:
		case SLOT_EOM:
			expected = cls == 2 || cls == 4 || cls == 5;
			break;
		case SLOT_DATA:
		case SLOT_BDAT:
			expected = r->code == 354 || cls == 4 || cls == 5;
			break;
		default:
			break;
		}
		if (!expected) {
			char w[300];

			stats_inc(STAT_backend_unexpected);
			str_fmt(w, sizeof(w), "unexpected backend reply %d %s",
			    r->code, reply_text(r));
			log_warn("%s %s", s->id, w);
			slot_reply(s, sl, 451, "4.4.2", "Error: backend protocol "
			    "error");
			decision(s, "tempfail", "backend", stage, 451, "4.4.2", w,
			    sl->rcpt);
			/* every other reply still owed gets its 451 now */
			backend_abort(&s->be, "backend protocol error");
			if (sl->kind == SLOT_BDAT) {
				/* read the chunk, then give the 451 */
				s->blocked = BLOCK_NONE;
				sl->ready = 0;
				s->chunk_discard = 1;
				s->mode = MODE_BDAT;
				if (s->txn != NULL && is_current(s, sl))
					txn_free(&s->txn);
				s->state = ST_READY;
			} else if (sl->kind == SLOT_DATA || sl->kind == SLOT_EOM) {
				if (sl->kind == SLOT_EOM)
					stats_inc(STAT_txn_tempfailed);
				if (s->txn != NULL && is_current(s, sl))
					txn_end(s);
				s->blocked = BLOCK_NONE;
			}
			session_process(s);
			return;
		}
	}

	switch (sl->kind) {
	case SLOT_MAIL:
		if (r == NULL)
			slot_backend_fail(s, sl, fail, why, STAGE_MAIL);
		else {
			slot_relay(s, sl, r);
			if (cls != 2)
				decision(s, cls == 5 ? "reject" : "tempfail",
				    "backend", STAGE_MAIL, r->code, r->enh,
				    reply_text(r), NULL);
		}
		if ((r == NULL || cls != 2) && is_current(s, sl)) {
			/* no transaction at the backend: forget ours */
			txn_free(&s->txn);
			filter_run_txn_reset(s->fr);
			s->state = ST_READY;
		}
		break;
	case SLOT_RCPT:
		if (is_current(s, sl))
			s->txn->npending--;
		if (r == NULL) {
			stats_inc(STAT_rcpt_tempfailed);
			slot_backend_fail(s, sl, fail, why, STAGE_RCPT);
			break;
		}
		slot_relay(s, sl, r);
		if (cls == 2) {
			stats_inc(STAT_rcpt_accepted);
			if (is_current(s, sl)) {
				struct txn *t = s->txn;

				t->rcpts = xrealloc(t->rcpts, (t->nrcpts + 1) *
				    sizeof(char *));
				t->rcpts[t->nrcpts++] = sl->rcpt;
				sl->rcpt = NULL;
			}
		} else {
			stats_inc(cls == 5 ? STAT_rcpt_rejected :
			    STAT_rcpt_tempfailed);
			decision(s, cls == 5 ? "reject" : "tempfail", "backend",
			    STAGE_RCPT, r->code, r->enh, reply_text(r), sl->rcpt);
		}
		break;
	case SLOT_DATA:
		s->blocked = BLOCK_NONE;
		if (r == NULL) {
			slot_backend_fail(s, sl, fail, why, STAGE_MAIL);
			txn_abort(s);
			break;
		}
		if (r->code == 354 && is_current(s, sl) && evbuffer_get_length(
		    bufferevent_get_input(s->bev)) > 0 &&
		    s->cfg->pipelining_violation == PROTO_REJECT) {
			s->txn->data_started = 1;	/* the backend is in DATA */
			pipelining_after_data(s, sl);
			break;
		}
		slot_relay(s, sl, r);
		if (r->code != 354) {
			decision(s, cls == 5 ? "reject" : "tempfail", "backend",
			    STAGE_MAIL, r->code, r->enh, reply_text(r), NULL);
			txn_abort(s);
			break;
		}
		if (!is_current(s, sl)) {
			/* cannot be: DATA is a barrier. Be safe anyway. */
			backend_close(&s->be);
			break;
		}
		s->txn->data_started = 1;
		s->txn->spool = spool_new(s->cfg->spool_dir,
		    s->cfg->spool_memory_max, s->cfg->spool_memory_total);
		data_scan_init(&s->txn->ds, 0);
		stream_start(s);
		s->mode = MODE_DATA;
		s->where = "receiving the message";
		set_read_timeout(s);
		break;
	case SLOT_BDAT:
		/* the reply to the first chunk's DATA; the chunk comes next */
		s->blocked = BLOCK_NONE;
		s->mode = MODE_BDAT;
		if (r != NULL && r->code == 354 && is_current(s, sl)) {
			s->txn->data_started = 1;
			s->txn->spool = spool_new(s->cfg->spool_dir,
			    s->cfg->spool_memory_max, s->cfg->spool_memory_total);
			data_scan_init(&s->txn->ds, 1);
			stream_start(s);
			s->chunk_discard = 0;
			s->where = "reading a BDAT chunk";
			break;
		}
		/* refused or lost: the chunk is read and dropped, then this */
		s->chunk_discard = 1;
		if (r == NULL)
			slot_backend_fail(s, sl, fail, why, STAGE_MAIL);
		else {
			slot_relay(s, sl, r);
			decision(s, cls == 5 ? "reject" : "tempfail", "backend",
			    STAGE_MAIL, r->code, r->enh, reply_text(r), NULL);
		}
		sl->ready = 0;
		if (r != NULL && r->code == 354)
			backend_close(&s->be);	/* cannot be: be safe */
		txn_abort(s);
		break;
	case SLOT_EOM: {
		struct txn *t = s->txn;

		if (r == NULL) {
			stats_inc(STAT_txn_tempfailed);
			slot_backend_fail(s, sl, fail, why, STAGE_EOM);
		} else {
			slot_relay(s, sl, r);
			if (cls == 2) {
				stats_inc(STAT_txn_accepted);
				decision(s, "accept", "backend", STAGE_EOM, r->code,
				    r->enh, reply_text(r), NULL);
			} else {
				stats_inc(cls == 5 ? STAT_txn_rejected :
				    STAT_txn_tempfailed);
				decision(s, cls == 5 ? "reject" : "tempfail",
				    "backend", STAGE_EOM, r->code, r->enh,
				    reply_text(r), NULL);
			}
		}
		(void)t;
		txn_end(s);
		break;
	}
	default:
		break;
	}
	session_process(s);
}

/* The backend's reply to our own RSET: only success keeps it. */
static void
be_rset_reply(void *owner, void *arg, const struct reply *r,
    enum backend_fail fail, const char *why)
{
	struct session *s = owner;

	if (r != NULL && r->code != 250 && !s->closing)
		backend_close(&s->be);
}

/* ---- transactions ---------------------------------------------------------- */

static void
txn_free(struct txn **tp)
{
	struct txn *t = *tp;

	if (t == NULL)
		return;
	for (size_t i = 0; i < t->nrcpts; i++)
		free(t->rcpts[i]);
	free(t->rcpts);
	free(t->from);
	spool_free(&t->spool);
	free(t->chunk);
	free(t);
	*tp = NULL;
}

/* RSET, HELO, QUIT: drop the transaction, at the backend too. */
static void
txn_abort(struct session *s)
{
	if (s->txn == NULL)
		return;
	stream_resume(s);
	if (s->be != NULL) {
		if (s->txn->data_started)
			backend_close(&s->be);
		else if (backend_cmd(s->be, "RSET\r\n", 6, be_rset_reply,
		    NULL) < 0)
			backend_close(&s->be);
	}
	txn_free(&s->txn);
	filter_run_txn_reset(s->fr);
	if (s->state > ST_READY)
		s->state = ST_READY;
}

/* The message got its final reply. */
static void
txn_end(struct session *s)
{
	stream_resume(s);
	if (bw_head != NULL)
		backend_release(&s->be);	/* someone waits for one */
	txn_free(&s->txn);
	filter_run_txn_reset(s->fr);
	s->state = ST_READY;
	s->blocked = BLOCK_NONE;
	s->where = "waiting for a command";
	set_read_timeout(s);
	if (s->draining) {
		struct slot *sl = slot_new(s, SLOT_LOCAL);

		slot_reply(s, sl, 421, "4.3.2", "%s Service shutting down",
		    s->cfg->hostname);
	}
}

/* ---- DATA -------------------------------------------------------------------- */

/*
 * Message bytes, as meant: counted against max_message_size, then spooled
 * for the filters or, when none wants the message, streamed on at once.
 */
static void
txn_store(struct session *s, const char *out, size_t outlen)
{
	struct txn *t = s->txn;
	struct err err;

	if (outlen == 0 || t->too_big || t->spool_failed)
		return;
	if (t->size + outlen > s->cfg->max_message_size) {
		t->too_big = 1;
		return;
	}
	t->size += outlen;
	if (t->stream) {
		if (s->be == NULL || t->backend_lost)
			return;
		backend_stream_data(s->be, out, outlen);
		/* the backend is behind: let the client wait, not our memory
		 * (a failed write may have closed it already: s->be NULL) */
		if (s->be != NULL &&
		    backend_stream_pending(s->be) > STREAM_PENDING_MAX) {
			s->stream_paused = 1;
			bufferevent_disable(s->bev, EV_READ);
		}
		return;
	}
	if (spool_append(t->spool, out, outlen, &err) < 0) {
		t->spool_failed = 1;
		str_copy(t->spool_err, sizeof(t->spool_err), err.msg);
		log_warn("%s %s", s->id, err.msg);
	}
}

/* The backend took every streamed byte: read the client again. */
static void
be_drained(void *owner, struct backend *b)
{
	struct session *s = owner;

	if (s->be != b || !s->stream_paused || s->closing)
		return;
	stream_resume(s);
	session_process(s);
}

/* Reading paused for the backend resumes: it caught up, or the stream
 * ended or is gone. A closing, fatal or output-blocked session stays as
 * it is (its own code enables reading when due). */
static void
stream_resume(struct session *s)
{
	if (!s->stream_paused)
		return;
	s->stream_paused = 0;
	if (!s->closing && !s->fatal && s->blocked != BLOCK_OUTPUT)
		bufferevent_enable(s->bev, EV_READ);
}

/*
 * At 354: when no filter wants the headers, body or end of message, the
 * message streams to the backend as it arrives (the prefix first). The
 * final dot still waits for the end-of-data checks; if they fail, the
 * backend's connection is cut without it and the backup discards the
 * partial message.
 */
static void
stream_start(struct session *s)
{
	char prefix[PREFIX_MAX];
	size_t n;

	if (!s->cfg->stream_unfiltered || s->be == NULL ||
	    filter_run_wants(s->fr, STAGE_HEADERS) ||
	    filter_run_wants(s->fr, STAGE_BODY) ||
	    filter_run_wants(s->fr, STAGE_EOM))
		return;
	n = build_prefix(s, prefix, sizeof(prefix));
	if (backend_stream_begin(s->be, prefix, n) == 0) {
		s->txn->stream = 1;
		stats_inc(STAT_data_streamed);
	}
}

static void
data_feed(struct session *s)
{
	static char out[DATA_OUT_MAX(DATA_SLICE)];
	struct evbuffer *in = bufferevent_get_input(s->bev);
	struct txn *t = s->txn;
	int saw_nl = 0;

	while (evbuffer_get_length(in) > 0) {
		struct evbuffer_iovec v;
		size_t n, outlen, used;
		enum data_result dr;
		if (s->stream_paused)
			break;
		if (evbuffer_peek(in, DATA_SLICE, NULL, &v, 1) < 1)
			break;
		n = MIN(v.iov_len, (size_t)DATA_SLICE);
		dr = data_scan(&t->ds, v.iov_base, n, out, &outlen, &used);
		if (!saw_nl && memchr(v.iov_base, '\n', used) != NULL)
			saw_nl = 1;
		txn_store(s, out, outlen);
		evbuffer_drain(in, used);
		if (dr == DATA_END) {
			s->mode = MODE_CMD;
			s->blocked = BLOCK_EOM;
			set_read_timeout(s);
			stats_add(STAT_data_bytes, t->size);
			record_deadline(s, 0);
			eom_start(s, NULL);
			return;
		}
	}
	/* a message line must arrive whole within timeout_data */
	if (!data_scan_in_line(&t->ds))
		record_deadline(s, 0);
	else
		record_deadline(s, saw_nl ? 2 : 1);
}

static void
eom_fail(struct session *s, int code, const char *enh, const char *text,
    const char *by, const char *reason)
{
	struct txn *t = s->txn;

	slot_reply(s, t->eom_slot, code, enh, "%s", text);
	t->eom_slot = NULL;
	stats_inc(code / 100 == 5 ? STAT_txn_rejected : STAT_txn_tempfailed);
	decision(s, code / 100 == 5 ? "reject" : "tempfail", by, STAGE_EOM, code,
	    enh, reason, NULL);
	backend_close(&s->be);
	txn_end(s);
}

static void
bdat_feed(struct session *s)
{
	static char out[DATA_OUT_MAX(DATA_SLICE)];
	struct evbuffer *in = bufferevent_get_input(s->bev);
	struct txn *t = s->txn;
	struct slot *sl;

	while (s->chunk_left > 0 && evbuffer_get_length(in) > 0 &&
	    !s->stream_paused) {
		struct evbuffer_iovec v;
		size_t n, outlen, used;

		if (evbuffer_peek(in, DATA_SLICE, NULL, &v, 1) < 1)
			break;
		n = (size_t)MIN((uint64_t)MIN(v.iov_len, (size_t)DATA_SLICE),
		    s->chunk_left);
		if (!s->chunk_discard && t != NULL) {
			data_scan(&t->ds, v.iov_base, n, out, &outlen, &used);
			txn_store(s, out, outlen);
		}
		evbuffer_drain(in, n);
		s->chunk_left -= n;
		s->bdat_since_reset += n;
	}
	if (s->chunk_left > 0) {
		/* chunks have no lines: every 1000 bytes count as one */
		record_deadline(s, s->bdat_since_reset >= 1000 ? 2 : 1);
		if (s->bdat_since_reset >= 1000)
			s->bdat_since_reset = 0;
		return;
	}
	s->bdat_since_reset = 0;
	record_deadline(s, 0);
	/* the chunk is complete */
	sl = s->chunk_slot;
	s->chunk_slot = NULL;
	s->mode = MODE_CMD;
	set_read_timeout(s);
	if (s->chunk_discard || t == NULL) {
		sl->ready = 1;
		return;
	}
	if (!s->chunk_last) {
		slot_reply(s, sl, 250, "2.0.0", "Ok: %llu octets received",
		    (unsigned long long)s->chunk_size);
		return;
	}
	{
		char tail[8];
		size_t k = data_scan_finish(&t->ds, tail);

		txn_store(s, tail, k);
	}
	s->blocked = BLOCK_EOM;
	stats_add(STAT_data_bytes, t->size);
	sl->kind = SLOT_EOM;
	eom_start(s, sl);
}

static void
eom_start(struct session *s, struct slot *sl)
{
	struct txn *t = s->txn;

	t->eom_slot = sl != NULL ? sl : slot_new(s, SLOT_EOM);
	s->where = "checking the message";
	if (t->ds.flags & (DATA_SAW_BARE_LF | DATA_SAW_BARE_CR)) {
		if (s->cfg->bare_newline == BARE_NL_REJECT) {
			stats_inc(STAT_data_bare_newline_rejected);
			eom_fail(s, 550, "5.6.0", "Error: message contains bare "
			    "CR or LF characters", "limit:bare_newline",
			    t->ds.flags & DATA_SAW_BARE_LF ? "bare LF in data" :
			    "bare CR in data");
			goto out;
		}
		stats_inc(STAT_data_bare_newline_normalized);
	}
	if (t->too_big) {
		stats_inc(STAT_limit_message_size);
		eom_fail(s, 552, "5.3.4", "Error: message too big",
		    "limit:max_message_size", "message too big");
		goto out;
	}
	if (t->spool_failed) {
		stats_inc(STAT_limit_spool_memory);
		eom_fail(s, 451, "4.3.0", "Error: cannot store the message, try "
		    "again later", "spool", t->spool_err);
		goto out;
	}
	if (t->backend_lost || s->be == NULL) {
		eom_fail(s, 451, t->lost_fail == BACKEND_TIMEOUT ? "4.4.2" :
		    "4.4.2", "Error: backend connection lost", "backend",
		    t->lost_why[0] ? t->lost_why : "backend lost during DATA");
		goto out;
	}
	/* where the header ends: the first empty line */
	{
		uint64_t size = spool_size(t->spool), lim = MIN(size,
		    (uint64_t)HEADER_SCAN_MAX);
		const char *m = spool_mem(t->spool);
		char *tmp = NULL;

		if (m == NULL) {
			tmp = xmalloc((size_t)lim + 1);
			if (spool_read_at(t->spool, 0, tmp, (size_t)lim) !=
			    (ssize_t)lim)
				lim = 0;
			m = tmp;
		}
		t->hdr_len = lim;
		if (lim >= 2 && m[0] == '\r' && m[1] == '\n')
			t->hdr_len = 0;
		else
			for (uint64_t i = 0; i + 3 < lim; i++)
				if (m[i] == '\r' && m[i + 1] == '\n' &&
				    m[i + 2] == '\r' && m[i + 3] == '\n') {
					t->hdr_len = i + 2;
					break;
				}
		free(tmp);
	}
	t->eom_step = STAGE_HEADERS;
	t->body_off = t->hdr_len;
	eom_continue(s);
	return;
out:
	session_process(s);
}

/* Runs HEADERS, BODY (chunk by chunk) and EOM, then sends the message. */
static void
eom_continue(struct session *s)
{
	struct txn *t = s->txn;

	for (;;) {
		struct txn_view tv;
		struct verdict v;
		const struct filter_conf *by;
		enum filter_stage stage;

		if (t->eom_step == STAGE_BODY + 1 && t->body_off <
		    spool_size(t->spool) && filter_run_wants(s->fr, STAGE_BODY))
			t->eom_step = STAGE_BODY;	/* next chunk */
		if (t->eom_step > STAGE_EOM) {
			eom_send(s);
			return;
		}
		stage = (enum filter_stage)t->eom_step;
		if (!filter_run_wants(s->fr, stage) || (stage == STAGE_BODY &&
		    t->body_off >= spool_size(t->spool))) {
			t->eom_step++;
			continue;
		}
		view_fill(s, &tv);
		if (stage == STAGE_HEADERS || stage == STAGE_BODY) {
			uint64_t off = stage == STAGE_HEADERS ? 0 : t->body_off;
			uint64_t n = stage == STAGE_HEADERS ? t->hdr_len :
			    MIN((uint64_t)BODY_CHUNK, spool_size(t->spool) - off);
			const char *m = spool_mem(t->spool);

			if (m != NULL)
				tv.data = m + off;
			else {
				free(t->chunk);
				t->chunk = xmalloc((size_t)n + 1);
				if (spool_read_at(t->spool, off, t->chunk,
				    (size_t)n) != (ssize_t)n)
					n = 0;
				tv.data = t->chunk;
			}
			tv.len = (size_t)n;
			if (stage == STAGE_BODY)
				t->body_off += n;
		}
		if (filter_run_stage(s->fr, stage, &tv, &v, &by,
		    after_filter) == 0)
			return;			/* after_filter resumes */
		if (v.kind == VERDICT_REJECT || v.kind == VERDICT_TEMPFAIL) {
			after_filter(s, stage, &v, by);
			verdict_clear(&v);
			return;
		}
		verdict_clear(&v);
		t->eom_step++;
	}
}

static size_t
received_header(struct session *s, char *out, size_t outlen)
{
	char date[64], helo[HELO_MAX + 1], rcpt[SMTP_PATH_MAX + 16];
	const char *proto;
	struct tm tm;
	time_t now = time(NULL);
	size_t i, o;
	int k;

	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	/* the HELO name is the client's: keep only safe characters */
	for (i = 0, o = 0; s->helo && s->helo[i] && o < sizeof(helo) - 1; i++) {
		unsigned char ch = (unsigned char)s->helo[i];

		helo[o++] = (ch > 0x20 && ch < 0x7f && ch != '(' && ch != ')') ?
		    (char)ch : '?';
	}
	helo[o] = '\0';
	if (s->txn->smtputf8)
		proto = s->tls ? "UTF8SMTPS" : "UTF8SMTP";
	else if (s->esmtp)
		proto = s->tls ? "ESMTPS" : "ESMTP";
	else
		proto = s->tls ? "SMTPS" : "SMTP";
	rcpt[0] = '\0';
	if (s->txn->nrcpts == 1 && strchr(s->txn->rcpts[0], '\r') == NULL &&
	    strchr(s->txn->rcpts[0], '\n') == NULL)
		str_fmt(rcpt, sizeof(rcpt), "\r\n\tfor <%s>", s->txn->rcpts[0]);
	k = snprintf(out, outlen, "Received: from %s (%s [%s%s])\r\n"
	    "\tby %s (mxguard) with %s id %s%s;\r\n\t%s\r\n",
	    helo[0] ? helo : "unknown",
	    s->client_name ? s->client_name : "unknown", s->peer.ss_family == AF_INET6 ? "IPv6:" : "", s->client_addr,
	    s->cfg->hostname, proto, s->id, rcpt, date);
	return k > 0 && (size_t)k < outlen ? (size_t)k : 0;
}

/* Filter headers first (Received-SPF goes above Received, RFC 7208 9.1),
 * then ours. Each is one header field; we add CRLF. */
static size_t
build_prefix(struct session *s, char *prefix, size_t size)
{
	size_t o = 0;

	for (size_t i = 0; i < filter_run_ntags(s->fr); i++) {
		const char *h = filter_run_tag(s->fr, i);
		size_t n = strlen(h);

		if (o + n + 2 >= size)
			break;
		memcpy(prefix + o, h, n);
		o += n;
		prefix[o++] = '\r';
		prefix[o++] = '\n';
	}
	if (s->cfg->received_header)
		o += received_header(s, prefix + o, size - o);
	return o;
}

static void
eom_send(struct session *s)
{
	struct txn *t = s->txn;
	char prefix[PREFIX_MAX];
	size_t o;

	if (s->be == NULL || t->backend_lost) {
		eom_fail(s, 451, "4.4.2", "Error: backend connection lost",
		    "backend", t->lost_why[0] ? t->lost_why :
		    "backend lost during DATA");
		session_process(s);
		return;
	}
	if (t->stream) {
		/* everything went already; now the dot. The reply (or a
		 * failure, even at once) goes to session_be_reply(), which
		 * may end the transaction: t is not used after the call. */
		struct slot *sl = t->eom_slot;

		s->where = "waiting for the backend's reply to the message";
		if (!backend_is_ready(s->be)) {
			eom_fail(s, 451, "4.4.2", "Error: backend connection lost",
			    "backend", "backend not ready for the end of data");
			session_process(s);
			return;
		}
		t->eom_slot = NULL;
		if (backend_stream_end(s->be, session_be_reply, sl) < 0) {
			/* cannot happen after backend_is_ready(); fail safe */
			t->eom_slot = sl;
			eom_fail(s, 451, "4.4.2", "Error: backend connection lost",
			    "backend", "backend not streaming at the end of data");
			session_process(s);
		}
		return;
	}
	o = build_prefix(s, prefix, sizeof(prefix));
	s->where = "sending the message to the backend";
	if (backend_message(s->be, prefix, o, t->spool, session_be_reply,
	    t->eom_slot) < 0) {
		eom_fail(s, 451, "4.4.2", "Error: backend connection lost",
		    "backend", "backend not ready for the message");
		session_process(s);
		return;
	}
	t->eom_slot = NULL;
}

/* ---- STARTTLS ------------------------------------------------------------ */

static void
starttls_switch(struct session *s)
{
	struct bufferevent *nb;
	SSL *ssl = tls_ssl_new(s->cfg->tls_ctx);

	if (ssl == NULL) {
		stats_inc(STAT_tls_handshake_fail);
		session_close(s, "TLS setup failed");
		return;
	}
	/* Again: nothing read in clear may survive into TLS. */
	evbuffer_drain(bufferevent_get_input(s->bev),
	    evbuffer_get_length(bufferevent_get_input(s->bev)));
	nb = bufferevent_openssl_filter_new(s->base, s->bev, ssl,
	    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	if (nb == NULL) {
		SSL_free(ssl);
		stats_inc(STAT_tls_handshake_fail);
		session_close(s, "TLS setup failed");
		return;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(nb, 1);
	s->bev = nb;
	bufferevent_setcb(nb, s_read, s_write, s_event, s);
	bufferevent_setwatermark(nb, EV_READ, 0,
	    MAX(s->cfg->max_pipeline * SMTP_LINE_MIN,
	    s->cfg->max_line_length + 2) + DATA_SLICE);
	bufferevent_enable(nb, EV_READ);
	/* RFC 3207 4.2: forget everything learned before TLS. */
	s->tls = 1;
	s->state = ST_GREETED;
	free(s->helo);
	s->helo = NULL;
	s->esmtp = 0;
	s->offer = 0;
	backend_close(&s->be);
	filter_run_session_reset(s->fr);
	set_read_timeout(s);
	s->where = "in the TLS handshake";
}
