/*
 * filter.h - the filter chain: stages, verdicts, and the interface every
 * check in filters/ implements.
 *
 * How the chain behaves (STYLE.md §9):
 * 1. Filters run in the configured order, one at a time per stage; an
 *    asynchronous one ends with filter_resume().
 * 2. CONTINUE goes on. TAG goes on; its header is prepended when the
 *    message goes to the backend.
 * 3. ACCEPT skips the other filters: for the session if given at CONNECT
 *    or HELO, else for the transaction. The filter that gave it still runs
 *    at later stages. Limits, relay checks and the backend's own verdict
 *    still apply.
 * 4. REJECT or TEMPFAIL stop the stage: the client gets the verdict and
 *    the command is not relayed. At RCPT it concerns that recipient only;
 *    from HEADERS on, the whole message.
 * 5. -1, a passed deadline or a worker failure give 451 4.7.0 unless the
 *    filter's on_error = accept.
 *
 * Threads: check() runs on the loop thread and must not block. Work that
 * blocks goes through filter_offload(): the work function runs on a worker
 * with only the filter's own state (copies, never the session).
 */
#ifndef MXG_FILTER_H
#define MXG_FILTER_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "config.h"

struct event_base;
struct spool;
struct worker_pool;

enum filter_stage {
	STAGE_CONNECT = 0, STAGE_HELO, STAGE_MAIL, STAGE_RCPT,
	STAGE_HEADERS, STAGE_BODY, STAGE_EOM, STAGE_COUNT
};
#define STAGE_BIT(s)	(1u << (s))

enum verdict_kind {
	VERDICT_CONTINUE = 0, VERDICT_ACCEPT, VERDICT_REJECT,
	VERDICT_TEMPFAIL, VERDICT_TAG
};

#define VERDICT_TEXT_MAX	200
struct verdict {
	enum verdict_kind kind;
	int		 code;		/* 0: the kind's default, 550 or 451 */
	char		 enh[12];	/* "5.7.1"; empty: the default */
	char		 text[VERDICT_TEXT_MAX];	/* to the client */
	char		 why[VERDICT_TEXT_MAX];	/* to the log only */
	char		*header;	/* TAG: "Name: value", owned, no CRLF */
	int		 disconnect;	/* also end the session after replying */
};

/* What a filter may read at a stage; valid only during check(). */
struct txn_view {
	const char	*session_id;
	const struct sockaddr *client;	/* the real client (after PROXY) */
	const char	*client_addr;	/* its text form, "192.0.2.1" */
	const char	*client_name;	/* reverse name if known, else NULL */
	const char	*helo;		/* NULL before HELO/EHLO */
	int		 esmtp;
	int		 tls;
	const char	*sender;	/* reverse-path without <>; "" null */
	const char	*rcpt;		/* RCPT stage: this recipient */
	size_t		 nrcpts;	/* recipients accepted so far */
	const char *const *rcpts;	/* accepted recipients [nrcpts] */
	/* HEADERS: the header block; BODY: one dot-unstuffed chunk */
	const char	*data;
	size_t		 len;
	/* EOM: the whole message is in the spool */
	struct spool	*spool;
	uint64_t	 size;
};

struct filter_conf;
struct filter_call;

/* filter_ops.flags */
#define FLT_AFTER_ACCEPT	0x1u	/* runs even after another filter's
					   ACCEPT (virus scanning) */

struct filter_ops {
	const char	*name;		/* section, log and counter name */
	unsigned	 stages;	/* STAGE_BIT() of each stage wanted */
	unsigned	 flags;		/* FLT_* */
	const struct cfg_key *keys;	/* the section's own keys */
	size_t		 nkeys;
	size_t		 conf_size;	/* bytes of the filter's config struct */
	/* After cfg_apply(); checks values, loads rule files. 0 / -1. */
	int	(*configure)(struct filter_conf *, const struct cfg_block *,
		    struct cfg_errors *);
	/* Once the whole config is good and before use; may be NULL. */
	int	(*start)(struct filter_conf *, struct err *);
	/* Frees what configure/start built; the fields of keys are freed by
	 * the chain. May be NULL. */
	void	(*stop)(struct filter_conf *);
	/* Per-transaction (really per-session) state; both may be NULL. */
	void   *(*txn_new)(struct filter_conf *);
	void	(*txn_free)(void *state);
	/* Loop thread, never blocks: 1 *v set, 0 pending, -1 error. */
	int	(*check)(struct filter_call *, enum filter_stage,
		    const struct txn_view *, struct verdict *v);
	/* About once a second, on the loop, for the running config's
	 * instances: housekeeping (files that changed). May be NULL. */
	void	(*tick)(struct filter_conf *);
};

enum filter_on_error { ON_ERROR_TEMPFAIL = 0, ON_ERROR_ACCEPT };

/* One configured filter. Owned by its struct config. */
struct filter_conf {
	const struct filter_ops *ops;
	const struct config *cfg;	/* the config this instance belongs to:
					   configure() may read its top level */
	unsigned	 index;		/* position in filter_table = counter slot */
	/* keys common to every filter */
	uint64_t	 timeout_ms;
	int		 on_error;
	void		*conf;		/* ops->conf_size bytes, the keys' fields */
	void		*priv;		/* whatever configure/start build */
};

/* ---- for filters ------------------------------------------------------ */

/* The filter's state for this session (from txn_new), or NULL. */
void	*filter_state(struct filter_call *fc);
struct filter_conf *filter_conf_of(struct filter_call *fc);
/* The loop, for a filter's own timers (a tarpit delay); NULL on a dead
 * call. */
struct event_base *filter_base(struct filter_call *fc);
/*
 * Runs work(state, v) on a worker thread, then resumes the chain with *v.
 * The work function may only touch state (which must hold copies).
 * Returns 0 (check() then returns 0 too) or -1 if the pool is full.
 */
typedef void (*filter_work_fn)(void *state, struct verdict *v);
int	 filter_offload(struct filter_call *fc, filter_work_fn work);
/*
 * For filters with their own async I/O on the loop (DNS): hold the call
 * before check() returns 0; when the answer comes, resume only if the call
 * is still live, then release it. A held call keeps the filter's state
 * (and its config) alive even after the session is gone, so a late answer
 * may always touch the state. filter_resume() may be called from inside
 * check() itself (a cached answer). rc as check()'s.
 */
void	 filter_resume(struct filter_call *fc, int rc, struct verdict *v);
/* Records the client's verified host name for the rest of the session
 * (txn_view.client_name, the Received header). No-op on a dead call. */
void	 filter_set_client_name(struct filter_call *fc, const char *name);
struct filter_call *filter_call_hold(struct filter_call *fc);
void	 filter_call_release(struct filter_call *fc);
int	 filter_call_is_live(const struct filter_call *fc);

void	 verdict_reject(struct verdict *v, int code, const char *enh,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void	 verdict_tempfail(struct verdict *v, int code, const char *enh,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void	 verdict_tag(struct verdict *v, const char *header);
void	 verdict_why(struct verdict *v, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	 verdict_clear(struct verdict *v);

/* ---- for the session -------------------------------------------------- */

/* The chain's run state for one session (owned by the session). */
struct filter_run;
struct session;

typedef void (*filter_done_fn)(struct session *s, enum filter_stage stage,
    const struct verdict *v, const struct filter_conf *by);

struct filter_run *filter_run_new(struct session *s, const struct config *c,
	    struct event_base *base, struct worker_pool *pool);
void	 filter_run_free(struct filter_run **frp);
/*
 * Runs every filter that wants stage. 1: finished now (*v and *by set;
 * by NULL if no filter decided); 0: pending, done() is called later on the
 * loop; never -1 (errors become verdicts).
 */
int	 filter_run_stage(struct filter_run *fr, enum filter_stage stage,
	    const struct txn_view *tv, struct verdict *v,
	    const struct filter_conf **by, filter_done_fn done);
/* New transaction: clears the transaction-level ACCEPT and tags. */
void	 filter_run_txn_reset(struct filter_run *fr);
/* Session reset (STARTTLS, new HELO): also clears session-level state. */
void	 filter_run_session_reset(struct filter_run *fr);
/* Headers the filters asked to add (TAG), session ones first. */
size_t	 filter_run_ntags(const struct filter_run *fr);
const char *filter_run_tag(const struct filter_run *fr, size_t i);
int	 filter_run_pending(const struct filter_run *fr);
/* Any filter configured for stage? (skip copying data when not) */
int	 filter_run_wants(const struct filter_run *fr, enum filter_stage stage);

/* ---- for config ------------------------------------------------------- */

/* Builds the filter instances named in c->filters from their sections. */
int	 filter_chain_configure(struct config *c, const struct cfg_file *f,
	    struct cfg_errors *e);
int	 filter_chain_start(struct config *c, struct err *err);
/* Calls each instance's tick(); main does, once a second. */
void	 filter_chain_tick(struct config *c);
void	 filter_chain_free(struct config *c);
void	 filter_print_keys(void);
/* Names the per-filter counters; once at start. */
void	 filter_stats_init(void);
const char *filter_stage_name(enum filter_stage s);

#endif
