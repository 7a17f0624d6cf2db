/*
 * spf_suite.c - runs OpenSPF RFC 7208 scenarios through mxguard's own
 * resolver (proxy/dns.c, libunbound, a real DNS server) and SPF glue
 * (filters/spf_glue.c, libspf2): exactly the code the spf filter runs.
 *
 *   spf_suite -s 127.0.0.1@PORT -c unbound.conf -f cases.tsv [-t MS] [-r]
 *
 * -r: libspf2 alone, for comparison: SPF_request_query_mailfrom() over a
 * plain DNS layer on the same resolver (answers mapped as LIBRARIES.md 2
 * says, no guards, no rewrite, no limits of ours). Not what mxguard runs.
 *
 * cases.tsv (tests/spf/openspf_zones.py): name, host, helo, mailfrom,
 * results (comma-separated: any of them passes), explanation ("-": none
 * given); fields escape \\, \t, \n and \xHH. One line per case on stdout:
 *   PASS name result
 *   FAIL name got RESULT want RESULTS [explanation "..." want "..."]
 * The explanation is compared case-insensitively (the suite writes IPv6
 * nibbles in upper case where RFC 7208's examples use lower case) and not
 * at all for "DEFAULT" (the implementation's own text). Exit: 0, or 2 on
 * a usage or setup error.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <sys/types.h>
#include <arpa/nameser.h>
#include <netdb.h>

#include <event2/event.h>
#include <event2/thread.h>

#include <spf2/spf.h>
#undef MIN
#undef MAX

#include "../../proxy/config.h"
#include "../../proxy/dns.h"
#include "../../proxy/log.h"
#include "../../filters/spf_glue.h"

static struct event_base *base;

/* ---- -r: libspf2 over a plain layer ------------------------------------ */

static SPF_dns_rr_t *
raw_lookup(SPF_dns_server_t *d, const char *domain, ns_type type, int cache)
{
	struct dns_result r;
	SPF_dns_rr_t *rr;
	int n = 0;

	(void)cache;
	if (type != ns_t_a && type != ns_t_aaaa && type != ns_t_mx &&
	    type != ns_t_ptr && type != ns_t_txt)
		return SPF_dns_rr_new_init(d, domain, type, 0, NO_DATA);
	dns_resolve(domain, type, 0, &r);
	switch (r.status) {
	case DNS_OK:
		rr = SPF_dns_rr_new_init(d, domain, type, 0, NETDB_SUCCESS);
		for (size_t i = 0; i < r.n; i++) {
			size_t need = r.rr[i].len + 1;

			if (need < sizeof(struct in6_addr))
				need = sizeof(struct in6_addr);
			SPF_dns_rr_buf_realloc(rr, n, need);
			if (type == ns_t_a)
				rr->rr[n]->a = r.rr[i].addr.a;
			else if (type == ns_t_aaaa)
				rr->rr[n]->aaaa = r.rr[i].addr.aaaa;
			else
				memcpy(rr->rr[n]->txt, r.rr[i].text, r.rr[i].len + 1);
			n++;
		}
		rr->num_rr = n;
		break;
	case DNS_NODATA:
		rr = SPF_dns_rr_new_init(d, domain, type, 0, NO_DATA);
		break;
	case DNS_NXDOMAIN:
		rr = SPF_dns_rr_new_init(d, domain, type, 0, HOST_NOT_FOUND);
		break;
	default:
		rr = SPF_dns_rr_new_init(d, domain, type, 0, TRY_AGAIN);
		break;
	}
	dns_result_free(&r);
	return rr;
}

static const char *
raw_check(SPF_server_t *srv, const struct sockaddr *sa, const char *helo,
    const char *sender)
{
	static const char *const names[] = {
		"invalid", "neutral", "pass", "fail", "softfail", "none",
		"temperror", "permerror"
	};
	SPF_request_t *req = SPF_request_new(srv);
	SPF_response_t *resp = NULL;
	const char *res;

	if (sa->sa_family == AF_INET)
		SPF_request_set_ipv4(req, ((const struct sockaddr_in *)sa)->
		    sin_addr);
	else
		SPF_request_set_ipv6(req, ((const struct sockaddr_in6 *)sa)->
		    sin6_addr);
	SPF_request_set_helo_dom(req, helo);
	SPF_request_set_env_from(req, sender);
	SPF_request_query_mailfrom(req, &resp);
	res = resp ? names[SPF_response_result(resp) % 8] : "invalid";
	SPF_response_free(resp);
	SPF_request_free(req);
	return res;
}

static void *
loop_main(void *arg)
{
	(void)arg;
	dns_attach(base);
	event_base_loop(base, EVLOOP_NO_EXIT_ON_EMPTY);
	return NULL;
}

/* Undoes the field escaping in place. */
static char *
unesc(char *s)
{
	char *o = s, *r = s;

	if (strcmp(s, "\\e") == 0) {
		s[0] = '\0';
		return s;
	}
	while (*r) {
		if (r[0] == '\\' && r[1] == '\\') {
			*o++ = '\\';
			r += 2;
		} else if (r[0] == '\\' && r[1] == 'x' && r[2] && r[3]) {
			char h[3] = { r[2], r[3], 0 };

			*o++ = (char)strtol(h, NULL, 16);
			r += 4;
		} else
			*o++ = *r++;
	}
	*o = '\0';
	return s;
}

int
main(int argc, char **argv)
{
	const char *server = NULL, *conf = NULL, *cases = NULL;
	struct cfg_list servers = { 0 };
	struct dns_settings st;
	struct spf_glue *g;
	pthread_t loop;
	struct err err;
	char line[8192];
	FILE *fp;
	int ch, pass = 0, fail = 0, raw = 0;
	uint64_t timeout = 800;
	SPF_server_t *rsrv = NULL;
	SPF_dns_server_t rdns;

	while ((ch = getopt(argc, argv, "s:c:f:t:r")) != -1) {
		switch (ch) {
		case 'r': raw = 1; break;
		case 's': server = optarg; break;
		case 'c': conf = optarg; break;
		case 'f': cases = optarg; break;
		case 't': timeout = strtoull(optarg, NULL, 10); break;
		default:
			fprintf(stderr, "usage: spf_suite -s IP@PORT -c CONF -f "
			    "CASES [-t MS]\n");
			return 2;
		}
	}
	if (server == NULL || cases == NULL)
		return 2;
	log_init("spf_suite");
	if (getenv("SPF_SUITE_DEBUG") != NULL)
		log_configure(LOG_SINK_STDERR, LOG_LVL_DEBUG, "mail");
	else
		log_configure(LOG_SINK_STDERR, LOG_LVL_ERR, "mail");
	evthread_use_pthreads();
	base = event_base_new();
	servers.v = (char **)&server;
	servers.n = 1;
	memset(&st, 0, sizeof(st));
	st.servers = &servers;
	st.timeout_ms = timeout;
	st.unbound_conf = conf;
	if (dns_configure_settings(&st, &err) < 0) {
		fprintf(stderr, "dns: %s\n", err.msg);
		return 2;
	}
	pthread_create(&loop, NULL, loop_main, NULL);
	if ((fp = fopen(cases, "r")) == NULL) {
		perror(cases);
		return 2;
	}
	g = spf_glue_new();
	if (raw) {
		memset(&rdns, 0, sizeof(rdns));
		rdns.lookup = raw_lookup;
		rdns.name = "raw";
		rsrv = SPF_server_new_dns(&rdns, 0);
	}
	while (fgets(line, sizeof(line), fp) != NULL) {
		char *f[6] = { 0 }, *p = line, *save = NULL;
		struct sockaddr_storage ss;
		struct spf_query q;
		struct spf_outcome o;
		const char *got;
		int ok = 0, n = 0;

		line[strcspn(line, "\n")] = '\0';
		for (char *t = strtok_r(p, "\t", &save); t && n < 6;
		    t = strtok_r(NULL, "\t", &save))
			f[n++] = unesc(t);
		if (n < 6) {
			fprintf(stderr, "bad case line\n");
			return 2;
		}
		memset(&ss, 0, sizeof(ss));
		if (inet_pton(AF_INET, f[1], &((struct sockaddr_in *)&ss)->
		    sin_addr) == 1)
			ss.ss_family = AF_INET;
		else if (inet_pton(AF_INET6, f[1], &((struct sockaddr_in6 *)&ss)->
		    sin6_addr) == 1)
			ss.ss_family = AF_INET6;
		memset(&q, 0, sizeof(q));
		q.client = (struct sockaddr *)&ss;
		q.helo = f[2];
		q.sender = f[3];
		q.identity = SPF_ID_MAILFROM;
		q.receiver = "receiver.example.org";
		q.timeout_ms = 20 * timeout;
		q.query_timeout_ms = timeout;
		if (raw) {
			memset(&o, 0, sizeof(o));
			got = raw_check(rsrv, q.client, q.helo, q.sender);
		} else {
			spf_glue_check(g, &q, &o);
			got = spf_res_name(o.result);
		}
		{
			char want[128], *s2 = NULL;

			snprintf(want, sizeof(want), "%s", f[4]);
			for (char *w = strtok_r(want, ",", &s2); w;
			    w = strtok_r(NULL, ",", &s2))
				if (strcmp(w, got) == 0)
					ok = 1;
		}
		if (ok && !raw && o.result == SPFR_FAIL && strcmp(f[5], "-") != 0 &&
		    strcmp(f[5], "DEFAULT") != 0 &&
		    strcasecmp(f[5], o.explanation) != 0) {
			printf("FAIL %s got %s want %s explanation \"%s\" want "
			    "\"%s\"\n", f[0], got, f[4], o.explanation, f[5]);
			fail++;
			continue;
		}
		if (ok) {
			printf("PASS %s %s\n", f[0], got);
			pass++;
		} else {
			printf("FAIL %s got %s want %s (%s; queries %u terms %u "
			    "voids %u)\n", f[0], got, f[4], o.problem[0] ?
			    o.problem : "-", o.queries, o.terms, o.voids);
			fail++;
		}
	}
	fclose(fp);
	spf_glue_free(&g);
	printf("# %d passed, %d failed\n", pass, fail);
	fflush(stdout);
	/* the loop thread may sit in epoll: leave without joining it */
	_exit(0);
}
