/*
 * spf_glue.c - libspf2 behind our resolver, with its defects out of reach
 * (the list is in spf_glue.h; the facts in LIBRARIES.md 2).
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>

#include <ctype.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <spf2/spf.h>
/* <arpa/nameser.h> brings sys/param.h's MIN/MAX: ours are the same idea */
#undef MIN
#undef MAX

#include "../proxy/dns.h"
#include "../proxy/log.h"
#include "../proxy/stats.h"
#include "../proxy/util.h"
#include "spf_glue.h"
#include "spf_macro.h"

#define EXPECT_MAX		64	/* MX targets / PTR names pending */
#define PTR_NAMES_MAX		10	/* RFC 7208 4.6.4, also for %{p} */

struct check {
	const struct spf_query *q;
	struct spf_outcome *out;
	SPF_request_t	*req;
	uint64_t	 deadline;	/* now_ms() based */
	unsigned	 max_queries;
	int		 get_spf_calls;
	int		 stop;		/* a limit passed: answer locally */
	int		 temp;		/* a term's lookup failed for now */
	struct expect {
		char	*name;		/* libspf2 asks for its address next */
		int	 ptr;		/* a PTR name (5.5), else an MX target */
		int	 zero;		/* its term had a CIDR length of 0 */
	}		 expect[EXPECT_MAX];
	size_t		 nexpect;
	int		 mx_limit;	/* an mx term had more than 10 MX */
	/* macro values */
	int		 family;
	struct in_addr	 a4;
	struct in6_addr	 a6;
	char		 local[256];
	char		 sdomain[256];
	char		 helo[256];
	char		 ip[80];
	char		 ipc[64];
	char		 ts[24];
	int		 p_done;
	char		 p_name[DNS_NAME_MAX];
	char		 p_for[DNS_NAME_MAX];
};

struct spf_glue {
	SPF_server_t	*srv;
	SPF_dns_server_t *dns;
	struct check	 ck;
};

enum ask_rc { ASK_OK = 0, ASK_TEMP, ASK_LIMIT };

static pthread_once_t handlers_once = PTHREAD_ONCE_INIT;

/* ---- libspf2's log goes to ours ---------------------------------------- */

static void	 h_error(const char *file, int line, const char *msg)
		    __attribute__((noreturn));

static void
h_error(const char *file, int line, const char *msg)
{
	/* libspf2 aborts after this: an assertion of its own failed */
	log_err("libspf2: %s:%d: %s", file ? file : "?", line, msg);
	abort();
}

static void
h_warning(const char *file, int line, const char *msg)
{
	log_debug("libspf2: warning: %s", msg);
}

static void
h_info(const char *file, int line, const char *msg)
{
	log_debug("libspf2: %s", msg);
}

static void
h_debug(const char *file, int line, const char *msg)
{
	log_debug("libspf2: debug: %s", msg);
}

static void
handlers_init(void)
{
	SPF_error_handler = h_error;
	SPF_warning_handler = h_warning;
	SPF_info_handler = h_info;
	SPF_debug_handler = h_debug;
}

/* ---- asking the resolver ----------------------------------------------- */

static int
default_lookup(void *arg, const char *name, int type, uint64_t timeout_ms,
    struct dns_result *out)
{
	(void)arg;
	return dns_resolve(name, type, timeout_ms, out);
}

static void	 problem(struct check *ck, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));

/* The first problem of a check is the one the log and header show. */
static void
problem(struct check *ck, const char *fmt, ...)
{
	va_list ap;

	if (ck->out->problem[0] != '\0')
		return;
	va_start(ap, fmt);
	if (vsnprintf(ck->out->problem, sizeof(ck->out->problem), fmt, ap) < 0)
		ck->out->problem[0] = '\0';
	va_end(ap);
}

/* One query within the check's budget; *r is filled on ASK_OK. */
static enum ask_rc
ask(struct check *ck, const char *name, int type, struct dns_result *r)
{
	uint64_t now = now_ms(), t;
	spf_lookup_fn fn = ck->q->lookup ? ck->q->lookup : default_lookup;

	memset(r, 0, sizeof(*r));
	if (ck->stop)		/* a limit passed: nothing more is asked */
		return ck->out->deadline ? ASK_TEMP : ASK_LIMIT;
	if (now >= ck->deadline) {
		ck->out->deadline = 1;
		ck->stop = 1;
		problem(ck, "no time left for %s %s", dns_type_name(type), name);
		return ASK_TEMP;
	}
	if (ck->out->queries >= ck->max_queries) {
		ck->out->query_limit = 1;
		ck->stop = 1;
		return ASK_LIMIT;
	}
	ck->out->queries++;
	t = ck->q->query_timeout_ms ? ck->q->query_timeout_ms :
	    dns_timeout_ms();
	if (t > ck->deadline - now)
		t = ck->deadline - now;
	fn(ck->q->lookup_arg, name, type, t, r);
	if (dns_status_temporary(r->status)) {
		if (r->status == DNS_TIMEOUT && now_ms() >= ck->deadline)
			ck->out->deadline = 1;
		problem(ck, "DNS %s for %s", dns_status_name(r->status), name);
		dns_result_free(r);
		return ASK_TEMP;
	}
	return ASK_OK;
}

/* Bytes of the name once \DDD escapes are undone. */
static size_t
raw_len(const char *name)
{
	char buf[DNS_NAME_MAX];
	size_t n = spf_domain_unescape(name, buf, sizeof(buf));

	if (n > 0 && buf[n - 1] == '.')
		n--;
	return n;
}

static void
expect_add(struct check *ck, const char *name, int ptr, int zero)
{
	if (ck->nexpect < EXPECT_MAX) {
		ck->expect[ck->nexpect].name = xstrdup(name);
		ck->expect[ck->nexpect].ptr = ptr;
		ck->expect[ck->nexpect].zero = zero;
		ck->nexpect++;
	}
}

/*
 * Was name announced by an MX or PTR answer? Then it is not a term: 1 and
 * *e filled (the entry is used up), else 0.
 */
static int
expect_take(struct check *ck, const char *name, struct expect *e)
{
	for (size_t i = 0; i < ck->nexpect; i++)
		if (strcasecmp(ck->expect[i].name, name) == 0) {
			*e = ck->expect[i];
			free(e->name);
			e->name = NULL;
			ck->expect[i] = ck->expect[--ck->nexpect];
			return 1;
		}
	return 0;
}

static void
expect_clear(struct check *ck)
{
	for (size_t i = 0; i < ck->nexpect; i++)
		free(ck->expect[i].name);
	ck->nexpect = 0;
}

/* ---- the DNS layer ------------------------------------------------------ */

static SPF_dns_rr_t *
rr_new(SPF_dns_server_t *d, const char *domain, ns_type type, int ttl,
    SPF_dns_stat_t herrno)
{
	SPF_dns_rr_t *rr = SPF_dns_rr_new_init(d, domain, type, ttl, herrno);

	/* never NULL to libspf2: it would abort anyway, we say why first */
	if (rr == NULL) {
		log_err("spf: out of memory");
		abort();
	}
	return rr;
}

static void
rr_fill(SPF_dns_rr_t *rr, ns_type type, const struct dns_result *r)
{
	int n = 0;

	for (size_t i = 0; i < r->n; i++) {
		const struct dns_rr *x = &r->rr[i];
		size_t need = type == ns_t_a ? sizeof(struct in_addr) :
		    type == ns_t_aaaa ? sizeof(struct in6_addr) : x->len + 1;

		if (type == ns_t_txt && memchr(x->text, '\0', x->len) != NULL)
			need = x->len + 1;	/* kept; libspf2 sees it cut */
		if (SPF_dns_rr_buf_realloc(rr, n, need) != SPF_E_SUCCESS) {
			log_err("spf: out of memory");
			abort();
		}
		switch (type) {
		case ns_t_a:
			rr->rr[n]->a = x->addr.a;
			break;
		case ns_t_aaaa:
			rr->rr[n]->aaaa = x->addr.aaaa;
			break;
		case ns_t_txt:
			memcpy(rr->rr[n]->txt, x->text, x->len + 1);
			break;
		case ns_t_mx:
			memcpy(rr->rr[n]->mx, x->text, x->len + 1);
			break;
		case ns_t_ptr:
			memcpy(rr->rr[n]->ptr, x->text, x->len + 1);
			break;
		default:
			continue;
		}
		n++;
	}
	rr->num_rr = n;
}

/* A term's lookup came back empty (4.6.4). */
static void
count_void(struct check *ck)
{
	if (++ck->out->voids > SPF_VOIDS_MAX) {
		ck->out->void_limit = 1;
		ck->stop = 1;
	}
}

/* A DNS-querying term (include, a, mx, ptr, exists, redirect). */
static int
count_term(struct check *ck)
{
	if (++ck->out->terms > SPF_TERMS_MAX) {
		ck->out->term_limit = 1;
		ck->stop = 1;
		return -1;
	}
	return 0;
}

/* "Any address at all" (a CIDR length of 0): the client's own address
 * stands for whatever came, so libspf2's full-length match says yes. */
static void
zero_substitute(struct check *ck, struct dns_result *r)
{
	for (size_t i = 0; i < r->n; i++) {
		if (ck->family == AF_INET)
			r->rr[i].addr.a = ck->a4;
		else
			r->rr[i].addr.aaaa = ck->a6;
	}
}

static SPF_dns_rr_t *
layer_lookup(SPF_dns_server_t *d, const char *domain, ns_type type,
    int should_cache)
{
	struct check *ck = d->hook;
	struct dns_result r;
	struct expect e = { NULL, 0, 0 };
	SPF_dns_rr_t *rr;
	char name[DNS_NAME_MAX];
	size_t nlen;
	int term = 0, zero = 0, expected = 0;
	enum ask_rc rc;

	(void)should_cache;
	/* RFC 7208 dropped type SPF (99); other types are never needed */
	if (type != ns_t_a && type != ns_t_aaaa && type != ns_t_mx &&
	    type != ns_t_ptr && type != ns_t_txt)
		return rr_new(d, domain, type, 0, NO_DATA);
	if (ck->stop)
		return rr_new(d, domain, type, 0, ck->out->deadline ?
		    TRY_AGAIN : HOST_NOT_FOUND);
	/* a final dot is our mark of a /0 term (spf_macro.h) */
	str_copy(name, sizeof(name), domain);
	nlen = strlen(name);
	if (nlen > 0 && name[nlen - 1] == SPF_ZERO_MARK &&
	    (nlen < 2 || name[nlen - 2] != '\\')) {
		name[--nlen] = '\0';
		zero = 1;
	}
	if ((type == ns_t_a || type == ns_t_aaaa) &&
	    (expected = expect_take(ck, name, &e)))
		zero = e.zero;
	else if (type != ns_t_txt) {
		term = 1;
		if (count_term(ck) < 0)
			return rr_new(d, domain, type, 0, HOST_NOT_FOUND);
	}
	/*
	 * A name that cannot exist is not asked for and never answered by a
	 * wildcard (LIBRARIES.md 2: the 1 GB name): no match, a void lookup
	 * for a term (the outcome RFC 7208 4.8 leaves to us: see the suite's
	 * invalid-domain-* cases).
	 */
	if (raw_len(name) > SPF_DOMAIN_MAX || !dns_name_valid(name)) {
		if (raw_len(name) > SPF_DOMAIN_MAX) {
			stats_inc(STAT_spf_long_name);
			ck->out->long_name = 1;
		}
		if (term)
			count_void(ck);
		return rr_new(d, domain, type, 0, HOST_NOT_FOUND);
	}
	rc = ask(ck, name, type, &r);
	if (rc == ASK_TEMP) {
		/* 5.5: an error on the PTR lookup is no match, on one of its
		 * names' addresses that name is skipped; else temperror */
		if (!ck->out->deadline && (type == ns_t_ptr ||
		    (expected && e.ptr)))
			return rr_new(d, domain, type, 0, HOST_NOT_FOUND);
		ck->temp = 1;
		return rr_new(d, domain, type, 0, TRY_AGAIN);
	}
	if (rc == ASK_LIMIT)
		return rr_new(d, domain, type, 0, HOST_NOT_FOUND);
	switch (r.status) {
	case DNS_OK:
		if (type == ns_t_ptr && r.n > PTR_NAMES_MAX) {
			/* 4.6.4: the first 10 only, no error (libspf2
			 * would make it a permerror) */
			for (size_t i = PTR_NAMES_MAX; i < r.n; i++)
				free(r.rr[i].text);
			r.n = PTR_NAMES_MAX;
		}
		if (type == ns_t_mx && r.n > 10) {
			/* 4.6.4: more than 10 MX records: permerror */
			ck->mx_limit = 1;
			ck->stop = 1;
			dns_result_free(&r);
			return rr_new(d, domain, type, 0, HOST_NOT_FOUND);
		}
		if (zero && (type == ns_t_a || type == ns_t_aaaa))
			zero_substitute(ck, &r);
		rr = rr_new(d, domain, type, (int)r.ttl, NETDB_SUCCESS);
		rr_fill(rr, type, &r);
		if (type == ns_t_mx || type == ns_t_ptr)
			for (size_t i = 0; i < r.n; i++)
				expect_add(ck, r.rr[i].text, type == ns_t_ptr,
				    zero);
		break;
	case DNS_NODATA:
		rr = rr_new(d, domain, type, 0, NO_DATA);
		if (term)
			count_void(ck);
		break;
	default:
		rr = rr_new(d, domain, type, 0, HOST_NOT_FOUND);
		if (term)
			count_void(ck);
		break;
	}
	dns_result_free(&r);
	return rr;
}

/* %{p}: the client's validated name, preferring one within domain (7.3). */
static const char *
validated_name(void *arg, const char *domain)
{
	struct check *ck = arg;
	struct sockaddr_storage ss;
	char rev[80], name[DNS_NAME_MAX], *names[PTR_NAMES_MAX];
	struct dns_result r, a;
	size_t nn = 0, best = SIZE_MAX, dl;
	char raw[PTR_NAMES_MAX][DNS_NAME_MAX];

	if (ck->p_done && strcasecmp(ck->p_for, domain ? domain : "") == 0)
		return ck->p_name;
	ck->p_done = 1;
	str_copy(ck->p_for, sizeof(ck->p_for), domain ? domain : "");
	str_copy(ck->p_name, sizeof(ck->p_name), "unknown");
	memset(&ss, 0, sizeof(ss));
	memcpy(&ss, ck->q->client, ck->family == AF_INET ?
	    sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6));
	if (dns_reverse_name((struct sockaddr *)&ss, rev, sizeof(rev)) < 0)
		return ck->p_name;
	str_fmt(name, sizeof(name), "%s.%s", rev, ck->family == AF_INET ?
	    "in-addr.arpa" : "ip6.arpa");
	/* errors give "unknown" (7.3), never temperror */
	if (ask(ck, name, DNS_T_PTR, &r) != ASK_OK)
		return ck->p_name;
	for (size_t i = 0; i < r.n && nn < PTR_NAMES_MAX; i++) {
		int ok = 0;

		if (ask(ck, r.rr[i].text, ck->family == AF_INET ? DNS_T_A :
		    DNS_T_AAAA, &a) != ASK_OK)
			continue;
		for (size_t k = 0; k < a.n && !ok; k++)
			ok = ck->family == AF_INET ?
			    a.rr[k].addr.a.s_addr == ck->a4.s_addr :
			    memcmp(&a.rr[k].addr.aaaa, &ck->a6, 16) == 0;
		dns_result_free(&a);
		if (ok) {
			/* a macro value is raw bytes; the text is escaped */
			spf_domain_unescape(r.rr[i].text, raw[nn], sizeof(raw[nn]));
			names[nn] = raw[nn];
			nn++;
		}
	}
	dl = domain ? strlen(domain) : 0;
	for (size_t i = 0; i < nn && dl > 0; i++) {
		size_t l = strlen(names[i]);

		if ((l == dl && strcasecmp(names[i], domain) == 0) ||
		    (l > dl && names[i][l - dl - 1] == '.' &&
		    strcasecmp(names[i] + l - dl, domain) == 0)) {
			best = i;
			break;
		}
	}
	if (best == SIZE_MAX && nn > 0)
		best = 0;
	if (best != SIZE_MAX)
		str_copy(ck->p_name, sizeof(ck->p_name), names[best]);
	dns_result_free(&r);
	return ck->p_name;
}

static void
macro_ctx(struct check *ck, const char *domain, struct spf_macro_ctx *m,
    char *dbuf, size_t dlen)
{
	spf_domain_unescape(domain, dbuf, dlen);
	memset(m, 0, sizeof(*m));
	m->sender = ck->out->sender;
	m->local = ck->local;
	m->sender_domain = ck->sdomain;
	m->domain = dbuf;
	m->ip = ck->ip;
	m->ip_readable = ck->ipc;
	m->ip_version = ck->family == AF_INET ? "in-addr" : "ip6";
	m->helo = ck->helo;
	m->receiver = ck->q->receiver ? ck->q->receiver : "unknown";
	m->timestamp = ck->ts;
	m->validated = validated_name;
	m->arg = ck;
	m->family = ck->family;
}

static SPF_errcode_t
fail_with(SPF_response_t *resp, SPF_result_t result, SPF_errcode_t code,
    const char *why)
{
	resp->result = result;
	resp->reason = SPF_REASON_FAILURE;
	return SPF_response_add_error(resp, code, "%s", why);
}

/* Fetches, selects and rewrites the record of the current domain. */
static SPF_errcode_t
layer_get_spf(SPF_server_t *srv, SPF_request_t *req, SPF_response_t *resp,
    SPF_record_t **recp)
{
	struct check *ck = srv->resolver->hook;
	const char *domain = req->cur_dom;
	struct dns_result r;
	struct spf_macro_ctx m;
	char dbuf[DNS_NAME_MAX], why[160];
	char *text;
	size_t found = 0, idx = 0;
	enum ask_rc rc;
	int term;
	SPF_errcode_t err;

	*recp = NULL;
	term = ck->get_spf_calls++ > 0;		/* include or redirect */
	if (ck->stop)
		return fail_with(resp, ck->out->deadline ? SPF_RESULT_TEMPERROR :
		    SPF_RESULT_PERMERROR, ck->out->deadline ? SPF_E_DNS_ERROR :
		    SPF_E_BIG_DNS, "limit passed");
	if (term && count_term(ck) < 0)
		return fail_with(resp, SPF_RESULT_PERMERROR, SPF_E_BIG_DNS,
		    "more than 10 DNS-querying terms");
	if (domain == NULL || domain[0] == '\0' ||
	    raw_len(domain) > SPF_DOMAIN_MAX || !dns_name_valid(domain)) {
		if (term)
			count_void(ck);
		return fail_with(resp, SPF_RESULT_NONE, SPF_E_NOT_SPF,
		    "no such domain");
	}
	rc = ask(ck, domain, DNS_T_TXT, &r);
	if (rc == ASK_TEMP) {
		ck->temp = 1;
		return fail_with(resp, SPF_RESULT_TEMPERROR, SPF_E_DNS_ERROR,
		    "temporary DNS failure");
	}
	if (rc == ASK_LIMIT)
		return fail_with(resp, SPF_RESULT_PERMERROR, SPF_E_BIG_DNS,
		    "too many DNS queries");
	if (r.status != DNS_OK) {
		if (term)
			count_void(ck);
		dns_result_free(&r);
		return fail_with(resp, SPF_RESULT_NONE, SPF_E_NOT_SPF,
		    "no SPF record");
	}
	/* 4.5: records that start with "v=spf1" and then SP or the end */
	for (size_t i = 0; i < r.n; i++) {
		const char *t = r.rr[i].text;
		size_t n = r.rr[i].len;

		if (n >= 6 && strncasecmp(t, "v=spf1", 6) == 0 &&
		    (n == 6 || t[6] == ' ')) {
			found++;
			idx = i;
		}
	}
	if (found == 0) {
		dns_result_free(&r);
		return fail_with(resp, SPF_RESULT_NONE, SPF_E_NOT_SPF,
		    "no SPF record");
	}
	if (found > 1) {
		dns_result_free(&r);
		problem(ck, "%s has more than one SPF record", domain);
		return fail_with(resp, SPF_RESULT_PERMERROR,
		    SPF_E_MULTIPLE_RECORDS, "more than one SPF record");
	}
	text = xmalloc(SPF_RECORD_MAX);
	macro_ctx(ck, domain, &m, dbuf, sizeof(dbuf));
	if (spf_record_rewrite(r.rr[idx].text, r.rr[idx].len, &m, text,
	    SPF_RECORD_MAX, why, sizeof(why)) < 0) {
		problem(ck, "%s: %s", domain, why);
		free(text);
		dns_result_free(&r);
		return fail_with(resp, SPF_RESULT_PERMERROR, SPF_E_SYNTAX, why);
	}
	dns_result_free(&r);
	if (ck->stop) {		/* %{p} used the last of the budget */
		free(text);
		return fail_with(resp, ck->out->deadline ? SPF_RESULT_TEMPERROR :
		    SPF_RESULT_PERMERROR, ck->out->deadline ? SPF_E_DNS_ERROR :
		    SPF_E_BIG_DNS, "limit passed");
	}
	err = SPF_record_compile(srv, resp, recp, text);
	free(text);
	if (err != SPF_E_SUCCESS) {
		if (*recp != NULL) {
			SPF_record_free(*recp);
			*recp = NULL;
		}
		problem(ck, "%s: %s", domain, SPF_strerror(err));
		resp->result = SPF_RESULT_PERMERROR;
		resp->reason = SPF_REASON_FAILURE;
		return err;
	}
	return SPF_E_SUCCESS;
}

/* The exp= text, expanded by us (libspf2's is broken); never an error. */
static SPF_errcode_t
layer_get_exp(SPF_server_t *srv, const char *domain, char **bufp,
    size_t *lenp)
{
	struct check *ck = srv->resolver->hook;
	char name[DNS_NAME_MAX], exp[SPF_EXPLAIN_MAX], dbuf[DNS_NAME_MAX];
	const char *cur = ck->req && ck->req->cur_dom ? ck->req->cur_dom : "";
	struct spf_macro_ctx m;
	struct dns_result r;
	size_t n = 0, need;

	str_copy(name, sizeof(name), domain ? domain : "");
	ck->out->explanation[0] = '\0';
	/* 6.2: any error, no record or several: as if no exp= were given */
	if (name[0] != '\0' && raw_len(name) <= SPF_DOMAIN_MAX &&
	    ask(ck, name, DNS_T_TXT, &r) == ASK_OK) {
		macro_ctx(ck, cur, &m, dbuf, sizeof(dbuf));
		if (r.status == DNS_OK && r.n == 1 &&
		    spf_macro_expand(r.rr[0].text, r.rr[0].len,
		    SPF_MACRO_EXPLAIN, &m, exp, sizeof(exp), &n) ==
		    SPF_MACRO_OK) {
			/* printable only: it goes into a reply line */
			for (size_t i = 0; i < n; i++)
				if ((unsigned char)exp[i] < 0x20 ||
				    (unsigned char)exp[i] > 0x7e)
					exp[i] = '?';
			str_copy(ck->out->explanation,
			    sizeof(ck->out->explanation), exp);
		}
		dns_result_free(&r);
	}
	need = strlen(ck->out->explanation) + 1;
	if (*bufp == NULL || *lenp < need) {
		char *nb = realloc(*bufp, need);

		if (nb == NULL) {
			log_err("spf: out of memory");
			abort();
		}
		*bufp = nb;
		*lenp = need;
	}
	memcpy(*bufp, ck->out->explanation, need);
	return SPF_E_SUCCESS;
}

/* ---- checks --------------------------------------------------------------- */

struct spf_glue *
spf_glue_new(void)
{
	struct spf_glue *g = xcalloc(1, sizeof(*g));
	SPF_response_t *resp = NULL;

	pthread_once(&handlers_once, handlers_init);
	g->dns = xcalloc(1, sizeof(*g->dns));
	g->dns->destroy = NULL;		/* ours, freed by spf_glue_free */
	g->dns->lookup = layer_lookup;
	g->dns->get_spf = layer_get_spf;
	g->dns->get_exp = layer_get_exp;
	g->dns->name = "mxguard";
	g->dns->hook = &g->ck;
	g->srv = SPF_server_new_dns(g->dns, 0);
	if (g->srv == NULL) {
		log_err("spf: cannot create the SPF server");
		abort();
	}
	SPF_server_set_max_dns_mech(g->srv, SPF_TERMS_MAX);
	SPF_server_set_max_dns_mx(g->srv, 10);
	SPF_server_set_max_dns_ptr(g->srv, PTR_NAMES_MAX);
	SPF_server_set_sanitize(g->srv, 1);
	/* macro-free: libspf2's default points at a dead site and would be
	 * expanded by its own macro code */
	SPF_server_set_explanation(g->srv, "SPF", &resp);
	if (resp != NULL)
		SPF_response_free(resp);
	return g;
}

void
spf_glue_free(struct spf_glue **gp)
{
	struct spf_glue *g = *gp;

	if (g == NULL)
		return;
	*gp = NULL;
	SPF_server_free(g->srv);
	free(g->dns);
	free(g);
}

/* 4.3: malformed, single-label or literal domains get "none" at once. */
static int
domain_ok(const char *d)
{
	size_t n = strlen(d), label = 0, labels = 1;

	if (n > 0 && d[n - 1] == '.')
		n--;
	if (n == 0 || n > SPF_DOMAIN_MAX || d[0] == '[')
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)d[i];

		if (c == '.') {
			if (label == 0)
				return 0;
			label = 0;
			labels++;
			continue;
		}
		if (c <= 0x20 || c >= 0x7f || c == '\\' || c == '%')
			return 0;
		if (++label > 63)
			return 0;
	}
	return labels >= 2;
}

static enum spf_res
map_result(SPF_result_t r, int temp)
{
	switch (r) {
	case SPF_RESULT_PASS:		return SPFR_PASS;
	case SPF_RESULT_FAIL:		return SPFR_FAIL;
	case SPF_RESULT_SOFTFAIL:	return SPFR_SOFTFAIL;
	case SPF_RESULT_NEUTRAL:	return SPFR_NEUTRAL;
	case SPF_RESULT_NONE:		return SPFR_NONE;
	case SPF_RESULT_TEMPERROR:	return SPFR_TEMPERROR;
	case SPF_RESULT_PERMERROR:	return SPFR_PERMERROR;
	default:
		/* INVALID: a failed top-level lookup (LIBRARIES.md 2) */
		return temp ? SPFR_TEMPERROR : SPFR_PERMERROR;
	}
}

void
spf_glue_check(struct spf_glue *g, const struct spf_query *q,
    struct spf_outcome *out)
{
	struct check *ck = &g->ck;
	SPF_request_t *req;
	SPF_response_t *resp;
	SPF_record_t *rec = NULL;
	SPF_errcode_t err;
	const char *at;

	memset(out, 0, sizeof(*out));
	memset(ck, 0, sizeof(*ck));
	ck->q = q;
	ck->out = out;
	ck->deadline = now_ms() + (q->timeout_ms ? q->timeout_ms : 10000);
	ck->max_queries = q->max_queries ? q->max_queries :
	    SPF_MAX_QUERIES_DEFAULT;
	str_copy(ck->helo, sizeof(ck->helo), q->helo ? q->helo : "");
	str_fmt(ck->ts, sizeof(ck->ts), "%lld", (long long)time(NULL));

	/* the identity: <sender>, or postmaster@HELO (2.3, 2.4) */
	if (q->identity == SPF_ID_HELO || q->sender == NULL ||
	    q->sender[0] == '\0') {
		str_copy(ck->local, sizeof(ck->local), "postmaster");
		str_copy(ck->sdomain, sizeof(ck->sdomain), ck->helo);
	} else if ((at = strrchr(q->sender, '@')) == NULL) {
		str_copy(ck->local, sizeof(ck->local), "postmaster");
		str_copy(ck->sdomain, sizeof(ck->sdomain), q->sender);
	} else {
		if (at == q->sender)		/* "@domain": 4.3 */
			str_copy(ck->local, sizeof(ck->local), "postmaster");
		else
			str_ncopy(ck->local, sizeof(ck->local), q->sender,
			    (size_t)(at - q->sender));
		str_copy(ck->sdomain, sizeof(ck->sdomain), at + 1);
	}
	{
		size_t dl = strlen(ck->sdomain);

		/* "a" without a domain uses it: a final dot is our mark */
		if (dl > 1 && ck->sdomain[dl - 1] == '.')
			ck->sdomain[dl - 1] = '\0';
	}
	str_fmt(out->sender, sizeof(out->sender), "%s@%s", ck->local,
	    ck->sdomain);
	str_copy(out->domain, sizeof(out->domain), ck->sdomain);
	if (!domain_ok(ck->sdomain)) {
		out->result = SPFR_NONE;
		str_copy(out->problem, sizeof(out->problem),
		    "no valid domain to check");
		return;
	}

	/* the client */
	ck->family = q->client->sa_family;
	if (ck->family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(
	    &((const struct sockaddr_in6 *)q->client)->sin6_addr)) {
		ck->family = AF_INET;
		memcpy(&ck->a4, ((const struct sockaddr_in6 *)q->client)->
		    sin6_addr.s6_addr + 12, 4);
	} else if (ck->family == AF_INET)
		ck->a4 = ((const struct sockaddr_in *)q->client)->sin_addr;
	else if (ck->family == AF_INET6)
		ck->a6 = ((const struct sockaddr_in6 *)q->client)->sin6_addr;
	else {
		out->result = SPFR_PERMERROR;
		str_copy(out->problem, sizeof(out->problem),
		    "client is not an IP address");
		return;
	}
	if (ck->family == AF_INET) {
		inet_ntop(AF_INET, &ck->a4, ck->ipc, sizeof(ck->ipc));
		str_copy(ck->ip, sizeof(ck->ip), ck->ipc);
	} else {
		size_t o = 0;

		inet_ntop(AF_INET6, &ck->a6, ck->ipc, sizeof(ck->ipc));
		/* i: dot-format nibbles, most significant first (7.3) */
		for (int i = 0; i < 16; i++) {
			static const char hex[] = "0123456789abcdef";

			ck->ip[o++] = hex[ck->a6.s6_addr[i] >> 4];
			ck->ip[o++] = '.';
			ck->ip[o++] = hex[ck->a6.s6_addr[i] & 0xf];
			ck->ip[o++] = i < 15 ? '.' : '\0';
		}
	}

	/* libspf2's own notion of us (its default is gethostname()) */
	if (q->receiver != NULL && (g->srv->rec_dom == NULL ||
	    strcmp(g->srv->rec_dom, q->receiver) != 0))
		SPF_server_set_rec_dom(g->srv, q->receiver);
	req = SPF_request_new(g->srv);
	if (req == NULL) {
		log_err("spf: out of memory");
		abort();
	}
	ck->req = req;
	if (ck->family == AF_INET)
		SPF_request_set_ipv4(req, ck->a4);
	else
		SPF_request_set_ipv6(req, ck->a6);
	if (ck->helo[0] != '\0')
		SPF_request_set_helo_dom(req, ck->helo);
	SPF_request_set_env_from(req, out->sender);
	/*
	 * What SPF_request_query_mailfrom() does, minus its first step: it
	 * passes every 127/8 and ::1 client without a look (spf_request.c,
	 * "free ride"), wrong behind a local relay and for our tests.
	 */
	resp = SPF_response_new(req);
	if (resp == NULL || req->env_from_dp == NULL) {
		log_err("spf: out of memory");
		abort();
	}
	req->cur_dom = req->env_from_dp;
	err = SPF_server_get_record(g->srv, req, resp, &rec);
	if (err != SPF_E_SUCCESS) {
		if (rec != NULL)
			SPF_record_free(rec);
		SPF_i_done(resp, resp->result, resp->reason, resp->err);
	} else {
		resp->spf_record_exp = rec;
		SPF_record_interpret(rec, req, resp, 0);
		SPF_record_free(rec);
	}
	out->result = map_result(SPF_response_result(resp), ck->temp);
	SPF_response_free(resp);
	SPF_request_free(req);
	ck->req = NULL;
	expect_clear(ck);

	/* what libspf2 cannot know */
	if (out->deadline) {
		out->result = SPFR_TEMPERROR;
		stats_inc(STAT_spf_deadline);
	} else if (out->void_limit || out->term_limit || out->query_limit ||
	    ck->mx_limit) {
		out->result = SPFR_PERMERROR;
		if (ck->mx_limit)
			str_copy(out->problem, sizeof(out->problem),
			    "more than 10 MX records (RFC 7208 4.6.4)");
		else if (out->void_limit) {
			stats_inc(STAT_spf_void_limit);
			str_copy(out->problem, sizeof(out->problem),
			    "more than 2 void lookups (RFC 7208 4.6.4)");
		} else if (out->term_limit)
			str_copy(out->problem, sizeof(out->problem),
			    "more than 10 DNS-querying terms (RFC 7208 4.6.4)");
		else {
			stats_inc(STAT_spf_query_limit);
			str_copy(out->problem, sizeof(out->problem),
			    "too many DNS queries");
		}
	} else if (ck->temp)
		out->result = SPFR_TEMPERROR;	/* 5: a term's lookup failed */
	if (out->result != SPFR_FAIL)
		out->explanation[0] = '\0';
}

const char *
spf_res_name(enum spf_res r)
{
	static const char *const names[SPFR_COUNT] = {
		"none", "neutral", "pass", "fail", "softfail", "temperror",
		"permerror"
	};

	return (unsigned)r < SPFR_COUNT ? names[r] : "permerror";
}

/* A header value or comment: printable, no quotes or parentheses. */
static void
clean(char *dst, size_t size, const char *src)
{
	size_t o = 0;

	for (; src && *src && o + 1 < size; src++) {
		unsigned char c = (unsigned char)*src;

		dst[o++] = c == '(' ? '[' : c == ')' ? ']' : c < 0x20 ||
		    c > 0x7e || c == '"' || c == '\\' ? '?' : (char)c;
	}
	dst[o] = '\0';
}

void
spf_received_header(const struct spf_outcome *o, const struct spf_query *q,
    char *out, size_t outlen)
{
	char rcv[256], sender[300], ip[64], helo[256], comment[400];
	const char *r = spf_res_name(o->result);

	clean(rcv, sizeof(rcv), q->receiver ? q->receiver : "unknown");
	clean(sender, sizeof(sender), o->sender);
	clean(helo, sizeof(helo), q->helo ? q->helo : "");
	addr_fmt(q->client, ip, sizeof(ip));
	switch (o->result) {
	case SPFR_PASS:
		str_fmt(comment, sizeof(comment), "%s: domain of %s designates "
		    "%s as permitted sender", rcv, sender, ip);
		break;
	case SPFR_FAIL:
		str_fmt(comment, sizeof(comment), "%s: domain of %s does not "
		    "designate %s as permitted sender", rcv, sender, ip);
		break;
	case SPFR_SOFTFAIL:
		str_fmt(comment, sizeof(comment), "%s: domain of transitioning "
		    "%s does not designate %s as permitted sender", rcv, sender,
		    ip);
		break;
	case SPFR_NEUTRAL:
		str_fmt(comment, sizeof(comment), "%s: %s is neither permitted "
		    "nor denied by domain of %s", rcv, ip, sender);
		break;
	case SPFR_NONE:
		str_fmt(comment, sizeof(comment), "%s: domain of %s does not "
		    "publish SPF", rcv, sender);
		break;
	default: {
		char p[200];

		clean(p, sizeof(p), o->problem[0] ? o->problem : "error");
		str_fmt(comment, sizeof(comment), "%s: error in processing "
		    "during lookup of %s: %s", rcv, sender, p);
		break;
	}
	}
	str_fmt(out, outlen, "Received-SPF: %s (%s) client-ip=%s; "
	    "envelope-from=\"%s\"; helo=\"%s\"; receiver=%s; identity=%s;", r,
	    comment, ip, sender, helo, rcv, q->identity == SPF_ID_HELO ||
	    q->sender == NULL || q->sender[0] == '\0' ? "helo" : "mailfrom");
}
