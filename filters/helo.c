/*
 * helo.c - who the client says it is, and who it is: HELO/EHLO name
 * syntax, a HELO claiming to be us, and forward-confirmed reverse DNS.
 *
 * Off by default except the syntax check (as Postfix's
 * reject_invalid_helo_hostname: 501 5.5.2). Optional: require_fqdn
 * (reject_non_fqdn_helo_hostname, 504 5.5.2), reject_our_name (a HELO of
 * one of our_names or our_addresses: 554 5.7.1, the "you are not me"
 * check), and fcrdns at connect: the client's PTR names (at most 10) are
 * looked up forward in parallel; the first that leads back to the client
 * address is the client's verified name (filter_set_client_name: the
 * Received header and the client tables see it). fcrdns = record only
 * records it; fcrdns = reject also refuses clients without one (550
 * 5.7.25, or 451 4.7.25 when DNS failed: never "no name" on a failure).
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "../proxy/config.h"
#include "../proxy/dns.h"
#include "../proxy/filter.h"
#include "../proxy/log.h"
#include "../proxy/stats.h"
#include "../proxy/util.h"
#include "filters.h"

#define PTR_MAX		10

enum { FCRDNS_NO = 0, FCRDNS_RECORD, FCRDNS_REJECT };
enum { SYNTAX_REJECT = 0, SYNTAX_IGNORE };

struct helo_conf {
	int		 syntax;
	int		 require_fqdn;
	int		 reject_our_name;
	struct cfg_list	 our_names;
	struct cfg_list	 our_addresses;
	int		 fcrdns;
	uint64_t	 fcrdns_reject_code;
};

struct helo_priv {
	char		**names;	/* our_names, or the host name */
	size_t		 nnames;
	struct sockaddr_storage *addrs;
	size_t		 naddrs;
};

struct helo_state {
	struct filter_conf *fc;
	struct filter_call *call;	/* held at HELO while looking up */
	struct sockaddr_storage client;
	char		 client_addr[64];
	struct dns_query *ptr_q;
	struct fwd {
		struct helo_state *st;
		struct dns_query *q;
		char	*name;
		int	 state;	/* 0 pending, 1 confirmed, 2 not, 3 error */
	}		 fwd[PTR_MAX];
	size_t		 nfwd, pending;
	int		 running;	/* lookups under way */
	int		 done;		/* result below is final */
	char		 name[DNS_NAME_MAX];	/* verified, or "" */
	int		 error;		/* a lookup failed for now */
	int		 no_ptr;
};

#define AT(f)	offsetof(struct helo_conf, f)
static const struct cfg_key helo_keys[] = {
	{ "syntax",          CFG_ENUM, "reject", 0, 0, AT(syntax),          1, "reject|ignore", "a HELO/EHLO name that is neither a host name nor an address literal: reject (501 5.5.2, Postfix's reject_invalid_helo_hostname)" },
	{ "require_fqdn",    CFG_BOOL, "no",     0, 0, AT(require_fqdn),    1, NULL, "reject a HELO name without a dot (504 5.5.2, reject_non_fqdn_helo_hostname)" },
	{ "reject_our_name", CFG_BOOL, "no",     0, 0, AT(reject_our_name), 1, NULL, "reject a HELO that claims to be us: one of our_names or our_addresses (554 5.7.1)" },
	{ "our_names",       CFG_LIST, "",       0, 0, AT(our_names),       1, NULL, "our host names for reject_our_name; empty: the system host name" },
	{ "our_addresses",   CFG_LIST, "",       0, 0, AT(our_addresses),   1, NULL, "our public IP addresses for reject_our_name (a HELO of [addr] or addr)" },
	{ "fcrdns",          CFG_ENUM, "no",     0, 0, AT(fcrdns),          1, "no|record|reject", "forward-confirmed reverse DNS of the client at connect: no; record the verified name (Received header, client tables); reject clients without one" },
	{ "fcrdns_reject_code", CFG_UINT, "550", 500, 599, AT(fcrdns_reject_code), 1, NULL, "code when fcrdns = reject refuses a client (a DNS failure is always 451)" },
};

static int
addr_parse_ip(const char *s, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, s, &((struct sockaddr_in *)ss)->sin_addr) == 1) {
		ss->ss_family = AF_INET;
		return 0;
	}
	if (strncasecmp(s, "IPv6:", 5) == 0)
		s += 5;
	if (inet_pton(AF_INET6, s, &((struct sockaddr_in6 *)ss)->sin6_addr) == 1) {
		ss->ss_family = AF_INET6;
		return 0;
	}
	return -1;
}

static int
same_addr(const struct sockaddr_storage *a, const struct sockaddr *b)
{
	struct sockaddr_storage n;
	const struct sockaddr_in6 *b6 = (const struct sockaddr_in6 *)b;

	/* an IPv4 client seen on a dual-stack socket */
	if (b->sa_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&b6->sin6_addr)) {
		memset(&n, 0, sizeof(n));
		n.ss_family = AF_INET;
		memcpy(&((struct sockaddr_in *)&n)->sin_addr,
		    b6->sin6_addr.s6_addr + 12, 4);
		b = (const struct sockaddr *)&n;
	}
	if (a->ss_family != b->sa_family)
		return 0;
	if (a->ss_family == AF_INET)
		return memcmp(&((const struct sockaddr_in *)a)->sin_addr,
		    &((const struct sockaddr_in *)b)->sin_addr, 4) == 0;
	return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
	    &((const struct sockaddr_in6 *)b)->sin6_addr, 16) == 0;
}

static int
flt_helo_configure(struct filter_conf *fc, const struct cfg_block *b,
    struct cfg_errors *e)
{
	struct helo_conf *c = fc->conf;
	struct helo_priv *p = xcalloc(1, sizeof(*p));
	char host[256];

	fc->priv = p;
	if (c->our_names.n == 0) {
		if (gethostname(host, sizeof(host)) < 0)
			host[0] = '\0';
		host[sizeof(host) - 1] = '\0';
		p->names = xcalloc(1, sizeof(char *));
		if (host[0] != '\0')
			p->names[p->nnames++] = xstrdup(host);
	} else {
		p->names = xcalloc(c->our_names.n, sizeof(char *));
		for (size_t i = 0; i < c->our_names.n; i++)
			p->names[p->nnames++] = xstrdup(c->our_names.v[i]);
	}
	p->addrs = xcalloc(c->our_addresses.n + 1, sizeof(*p->addrs));
	for (size_t i = 0; i < c->our_addresses.n; i++) {
		char a[80];
		const char *v = c->our_addresses.v[i];

		if (v[0] == '[') {
			str_ncopy(a, sizeof(a), v + 1, strcspn(v + 1, "]"));
			v = a;
		}
		if (addr_parse_ip(v, &p->addrs[p->naddrs]) < 0)
			cfg_error(e, b->file, cfg_line_of(b, "our_addresses"),
			    "our_addresses: \"%s\" is not an IP address",
			    c->our_addresses.v[i]);
		else
			p->naddrs++;
	}
	return 0;
}

static void
flt_helo_stop(struct filter_conf *fc)
{
	struct helo_priv *p = fc->priv;

	if (p == NULL)
		return;
	for (size_t i = 0; i < p->nnames; i++)
		free(p->names[i]);
	free(p->names);
	free(p->addrs);
	free(p);
	fc->priv = NULL;
}

static void *
flt_helo_txn_new(struct filter_conf *fc)
{
	struct helo_state *st = xcalloc(1, sizeof(*st));

	st->fc = fc;
	return st;
}

/* Cancels what is pending; the result stays. */
static void
fcrdns_cancel(struct helo_state *st)
{
	dns_cancel(&st->ptr_q);
	for (size_t i = 0; i < st->nfwd; i++) {
		dns_cancel(&st->fwd[i].q);
		free(st->fwd[i].name);
	}
	st->nfwd = st->pending = 0;
	st->running = 0;
}

static void
flt_helo_txn_free(void *state)
{
	struct helo_state *st = state;

	fcrdns_cancel(st);
	free(st);
}

/* ---- HELO syntax -------------------------------------------------------- */

/*
 * A host name as Postfix's valid_hostname() takes it (letters, digits,
 * '-', '_'; labels 1..63 not starting or ending with '-'; at most 255;
 * a final dot allowed), or an address: [IPv4], [IPv6:...], or a bare one.
 */
static int
helo_valid(const char *h)
{
	size_t n = strlen(h), label = 0, nlabels = 1, numeric = 1;
	struct sockaddr_storage ss;

	if (n == 0 || n > 255)
		return 0;
	if (h[0] == '[') {
		char a[256];

		if (h[n - 1] != ']')
			return 0;
		str_ncopy(a, sizeof(a), h + 1, n - 2);
		if (strncasecmp(a, "IPv6:", 5) != 0 && strchr(a, ':') != NULL)
			return 0;
		return addr_parse_ip(a, &ss) == 0;
	}
	if (addr_parse_ip(h, &ss) == 0)
		return 1;
	if (h[n - 1] == '.')
		n--;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)h[i];

		if (c == '.') {
			if (label == 0 || h[i - 1] == '-')
				return 0;
			label = 0;
			numeric = 1;
			nlabels++;
			continue;
		}
		if (!isalnum(c) && c != '-' && c != '_')
			return 0;
		if (c == '-' && label == 0)
			return 0;
		if (!isdigit(c))
			numeric = 0;
		if (++label > 63)
			return 0;
	}
	/* the top label of a name is not all digits */
	return n > 0 && label > 0 && h[n - 1] != '-' && !(numeric &&
	    nlabels > 1);
}

static int
claims_us(const struct helo_priv *p, const char *h)
{
	size_t n = strlen(h);
	struct sockaddr_storage ss;
	char a[256];

	if (n > 0 && h[n - 1] == '.')
		n--;
	for (size_t i = 0; i < p->nnames; i++)
		if (strlen(p->names[i]) == n && strncasecmp(p->names[i], h,
		    n) == 0)
			return 1;
	if (h[0] == '[' && n > 1 && h[n - 1] == ']')
		str_ncopy(a, sizeof(a), h + 1, n - 2);
	else
		str_ncopy(a, sizeof(a), h, n);
	if (addr_parse_ip(a, &ss) < 0)
		return 0;
	for (size_t i = 0; i < p->naddrs; i++)
		if (same_addr(&p->addrs[i], (struct sockaddr *)&ss))
			return 1;
	return 0;
}

static int
check_helo(const struct helo_conf *c, const struct helo_priv *p,
    const char *h, struct verdict *v)
{
	if (c->syntax == SYNTAX_REJECT && !helo_valid(h)) {
		stats_inc(STAT_helo_invalid);
		verdict_reject(v, 501, "5.5.2", "<%s>: Helo command rejected: "
		    "Invalid name", h);
		verdict_why(v, "invalid HELO name");
		return 1;
	}
	if (c->require_fqdn && h[0] != '[' && strchr(h, '.') == NULL) {
		stats_inc(STAT_helo_not_fqdn);
		verdict_reject(v, 504, "5.5.2", "<%s>: Helo command rejected: "
		    "need fully-qualified hostname", h);
		verdict_why(v, "HELO name not fully qualified");
		return 1;
	}
	if (c->reject_our_name && claims_us(p, h)) {
		stats_inc(STAT_helo_claims_us);
		verdict_reject(v, 554, "5.7.1", "<%s>: Helo command rejected: "
		    "You are not me", h);
		verdict_why(v, "HELO claims to be us");
		return 1;
	}
	return 0;
}

/* ---- FCrDNS ------------------------------------------------------------- */

/* The verdict of the result; records the name on a live call. */
static void
fcrdns_apply(struct helo_state *st, struct filter_call *call,
    struct verdict *v)
{
	const struct helo_conf *c = st->fc->conf;

	if (st->name[0] != '\0') {
		filter_set_client_name(call, st->name);
		return;
	}
	if (c->fcrdns != FCRDNS_REJECT)
		return;
	stats_inc(STAT_fcrdns_rejected);
	if (st->error)
		verdict_tempfail(v, 451, "4.7.25", "Client host rejected: cannot "
		    "find your hostname, [%s], try again later", st->client_addr);
	else
		verdict_reject(v, (int)c->fcrdns_reject_code, "5.7.25",
		    "Client host rejected: cannot find your hostname, [%s]",
		    st->client_addr);
	verdict_why(v, "no forward-confirmed reverse name%s", st->error ?
	    " (DNS failure)" : st->no_ptr ? " (no PTR record)" : "");
}

static void
fcrdns_finish(struct helo_state *st)
{
	struct filter_call *call = st->call;

	st->error = st->error && st->nfwd == 0;
	st->name[0] = '\0';
	for (size_t i = 0; i < st->nfwd; i++) {
		if (st->fwd[i].state == 1 && st->name[0] == '\0')
			str_copy(st->name, sizeof(st->name), st->fwd[i].name);
		else if (st->fwd[i].state == 3)
			st->error = 1;
	}
	if (st->name[0] != '\0') {
		st->error = 0;
		stats_inc(STAT_fcrdns_confirmed);
		log_info("helo: client %s is %s (forward-confirmed)",
		    st->client_addr, st->name);
	} else if (st->error) {
		stats_inc(STAT_fcrdns_error);
		log_info("helo: client %s: reverse lookup failed", st->client_addr);
	} else {
		stats_inc(STAT_fcrdns_unconfirmed);
		log_info("helo: client %s has no forward-confirmed name%s",
		    st->client_addr, st->no_ptr ? " (no PTR record)" : "");
	}
	fcrdns_cancel(st);
	st->done = 1;
	if (call == NULL)
		return;		/* HELO has not come yet */
	st->call = NULL;
	if (filter_call_is_live(call)) {
		struct verdict v;

		memset(&v, 0, sizeof(v));
		v.kind = VERDICT_CONTINUE;
		fcrdns_apply(st, call, &v);
		filter_resume(call, 1, &v);
		verdict_clear(&v);
	}
	filter_call_release(call);	/* may free st */
}

static void
on_fwd(void *arg, const struct dns_result *r)
{
	struct fwd *f = arg;
	struct helo_state *st = f->st;

	f->q = NULL;
	f->state = 2;
	if (r->status == DNS_OK) {
		for (size_t i = 0; i < r->n; i++) {
			struct sockaddr_storage ss;

			memset(&ss, 0, sizeof(ss));
			if (r->type == DNS_T_A) {
				ss.ss_family = AF_INET;
				((struct sockaddr_in *)&ss)->sin_addr =
				    r->rr[i].addr.a;
			} else {
				ss.ss_family = AF_INET6;
				((struct sockaddr_in6 *)&ss)->sin6_addr =
				    r->rr[i].addr.aaaa;
			}
			if (same_addr(&ss, (struct sockaddr *)&st->client))
				f->state = 1;
		}
	} else if (dns_status_temporary(r->status))
		f->state = 3;
	if (--st->pending == 0)
		fcrdns_finish(st);
}

static int
client_is_v4(const struct sockaddr *sa)
{
	return sa->sa_family == AF_INET || (sa->sa_family == AF_INET6 &&
	    IN6_IS_ADDR_V4MAPPED(&((const struct sockaddr_in6 *)sa)->sin6_addr));
}

static void
on_ptr(void *arg, const struct dns_result *r)
{
	struct helo_state *st = arg;
	int type = client_is_v4((struct sockaddr *)&st->client) ? DNS_T_A :
	    DNS_T_AAAA;

	st->ptr_q = NULL;
	if (r->status != DNS_OK) {
		st->error = dns_status_temporary(r->status);
		st->no_ptr = !st->error;
		fcrdns_finish(st);
		return;
	}
	for (size_t i = 0; i < r->n && st->nfwd < PTR_MAX; i++) {
		struct fwd *f = &st->fwd[st->nfwd++];

		f->st = st;
		f->name = xstrdup(r->rr[i].text);
		f->state = 0;
	}
	st->pending = st->nfwd;
	if (st->nfwd == 0) {
		st->no_ptr = 1;
		fcrdns_finish(st);
		return;
	}
	for (size_t i = 0; i < st->nfwd; i++)
		st->fwd[i].q = dns_query(st->fwd[i].name, type, 0, on_fwd,
		    &st->fwd[i]);
}

/* At connect: the lookups start and go on while the client greets. */
static void
start_fcrdns(struct helo_state *st, const struct txn_view *tv)
{
	char rev[80], name[DNS_NAME_MAX];
	int v4 = client_is_v4(tv->client);
	socklen_t len = tv->client->sa_family == AF_INET ?
	    sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);

	fcrdns_cancel(st);
	st->done = st->error = st->no_ptr = 0;
	st->name[0] = '\0';
	if (dns_reverse_name(tv->client, rev, sizeof(rev)) < 0)
		return;
	memset(&st->client, 0, sizeof(st->client));
	memcpy(&st->client, tv->client, len);
	str_copy(st->client_addr, sizeof(st->client_addr), tv->client_addr);
	str_fmt(name, sizeof(name), "%s.%s", rev, v4 ? "in-addr.arpa" :
	    "ip6.arpa");
	st->running = 1;
	st->ptr_q = dns_query(name, DNS_T_PTR, 0, on_ptr, st);
}

static int
flt_helo_check(struct filter_call *call, enum filter_stage stage,
    const struct txn_view *tv, struct verdict *v)
{
	struct helo_state *st = filter_state(call);
	const struct helo_conf *c = st->fc->conf;
	const struct helo_priv *p = st->fc->priv;

	v->kind = VERDICT_CONTINUE;
	if (stage == STAGE_CONNECT) {
		if (c->fcrdns != FCRDNS_NO && (tv->client->sa_family ==
		    AF_INET || tv->client->sa_family == AF_INET6))
			start_fcrdns(st, tv);
		return 1;
	}
	if (stage != STAGE_HELO || tv->helo == NULL)
		return 1;
	if (check_helo(c, p, tv->helo, v))
		return 1;
	if (st->done) {
		fcrdns_apply(st, call, v);
		return 1;
	}
	if (!st->running || st->call != NULL)
		return 1;
	st->call = filter_call_hold(call);
	return 0;
}

const struct filter_ops flt_helo_ops = {
	.name = "helo",
	.stages = STAGE_BIT(STAGE_CONNECT) | STAGE_BIT(STAGE_HELO),
	.keys = helo_keys,
	.nkeys = ARRAY_LEN(helo_keys),
	.conf_size = sizeof(struct helo_conf),
	.configure = flt_helo_configure,
	.stop = flt_helo_stop,
	.txn_new = flt_helo_txn_new,
	.txn_free = flt_helo_txn_free,
	.check = flt_helo_check,
};
