/*
 * fuzz_spf_layer.c - libFuzzer target for filters/spf_glue.c: libspf2 and
 * our DNS layer fed hostile DNS answer sets from a table (no network), as
 * LIBRARIES.md 2 describes how the layer was fuzzed, with the guards in
 * place (the 253-byte names, the limits, the rewrite).
 *
 * Input: lines "NAME TYPE DATA" (TYPE: A AAAA MX PTR TXT, or the
 * statuses SERVFAIL TIMEOUT NXDOMAIN), NAME "*" answering every name (the
 * wildcard that once grew a 1 GB name); "@client ADDR", "@sender S",
 * "@helo H" set the check. TXT data is the rest of the line, any bytes.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../../filters/spf_glue.h"
#include "../../proxy/dns.h"
#include "../../proxy/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ENTRIES_MAX	64

struct entry {
	char	*name;
	int	 type;		/* DNS_T_*, or 0 for a status */
	enum dns_status status;
	char	*data;
	size_t	 len;
};

struct table {
	struct entry e[ENTRIES_MAX];
	size_t	 n;
};

static int
name_match(const char *pat, const char *name)
{
	return strcmp(pat, "*") == 0 || strcasecmp(pat, name) == 0;
}

static int
lookup(void *arg, const char *name, int type, uint64_t timeout_ms,
    struct dns_result *out)
{
	struct table *t = arg;
	int exists = 0;

	(void)timeout_ms;
	memset(out, 0, sizeof(*out));
	out->type = type;
	for (size_t i = 0; i < t->n; i++) {
		struct entry *e = &t->e[i];
		struct dns_rr rr;

		if (!name_match(e->name, name))
			continue;
		exists = 1;
		if (e->type == 0) {
			out->status = e->status;
			dns_result_free(out);
			out->type = type;
			return dns_status_temporary(e->status) ? -1 : 0;
		}
		if (e->type != type || out->n >= 32)
			continue;
		memset(&rr, 0, sizeof(rr));
		if (type == DNS_T_A && inet_pton(AF_INET, e->data,
		    &rr.addr.a) != 1)
			continue;
		if (type == DNS_T_AAAA && inet_pton(AF_INET6, e->data,
		    &rr.addr.aaaa) != 1)
			continue;
		if (type == DNS_T_MX) {
			char *sp = strchr(e->data, ' ');

			rr.pref = (uint16_t)atoi(e->data);
			rr.text = strdup(sp ? sp + 1 : e->data);
			rr.len = strlen(rr.text);
		} else if (type == DNS_T_TXT || type == DNS_T_PTR) {
			rr.text = malloc(e->len + 1);
			memcpy(rr.text, e->data, e->len);
			rr.text[e->len] = '\0';
			rr.len = e->len;
		}
		if (out->rr == NULL)
			out->rr = calloc(32, sizeof(*out->rr));
		out->rr[out->n++] = rr;
	}
	out->status = out->n > 0 ? DNS_OK : exists ? DNS_NODATA : DNS_NXDOMAIN;
	return 0;
}

static int
type_of(const char *s, enum dns_status *st)
{
	static const struct { const char *n; int t; enum dns_status s; } m[] = {
		{ "A", DNS_T_A, DNS_OK }, { "AAAA", DNS_T_AAAA, DNS_OK },
		{ "MX", DNS_T_MX, DNS_OK }, { "PTR", DNS_T_PTR, DNS_OK },
		{ "TXT", DNS_T_TXT, DNS_OK }, { "SERVFAIL", 0, DNS_SERVFAIL },
		{ "TIMEOUT", 0, DNS_TIMEOUT }, { "NXDOMAIN", 0, DNS_NXDOMAIN },
	};

	for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++)
		if (strcmp(s, m[i].n) == 0) {
			*st = m[i].s;
			return m[i].t;
		}
	return -1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct spf_glue *g;
	struct table t = { .n = 0 };
	struct sockaddr_storage ss;
	char sender[300] = "user@example.com", helo[300] = "mail.example.com";
	char client[80] = "192.0.2.1", *buf, *line, *next;
	struct spf_query q;
	struct spf_outcome o;

	if (g == NULL) {
		log_init("fuzz");
		log_configure(LOG_SINK_STDERR, LOG_LVL_ERR, "mail");
		g = spf_glue_new();
	}
	buf = malloc(size + 1);
	memcpy(buf, data, size);
	buf[size] = '\0';
	for (line = buf; line != NULL && t.n < ENTRIES_MAX; line = next) {
		char *sp1, *sp2;
		enum dns_status st = DNS_OK;
		int type;

		next = memchr(line, '\n', (size_t)(buf + size - line));
		if (next != NULL)
			*next++ = '\0';
		if ((sp1 = strchr(line, ' ')) == NULL)
			continue;
		*sp1++ = '\0';
		if (line[0] == '@') {
			char *dst = !strcmp(line, "@client") ? client :
			    !strcmp(line, "@sender") ? sender :
			    !strcmp(line, "@helo") ? helo : NULL;

			if (dst != NULL)
				snprintf(dst, 80, "%s", sp1);
			continue;
		}
		sp2 = strchr(sp1, ' ');
		if (sp2 != NULL)
			*sp2++ = '\0';
		if ((type = type_of(sp1, &st)) < 0)
			continue;
		t.e[t.n].name = line;
		t.e[t.n].type = type;
		t.e[t.n].status = st;
		t.e[t.n].data = sp2 ? sp2 : (char *)"";
		t.e[t.n].len = sp2 ? (size_t)((next ? next - 1 : buf + size) -
		    sp2) : 0;
		t.n++;
	}
	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, client, &((struct sockaddr_in *)&ss)->sin_addr)
	    == 1)
		ss.ss_family = AF_INET;
	else if (inet_pton(AF_INET6, client,
	    &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1)
		ss.ss_family = AF_INET6;
	else
		ss.ss_family = AF_INET;
	memset(&q, 0, sizeof(q));
	q.client = (struct sockaddr *)&ss;
	q.helo = helo;
	q.sender = sender;
	q.receiver = "mx.example.org";
	q.timeout_ms = 60000;
	q.query_timeout_ms = 1000;
	q.lookup = lookup;
	q.lookup_arg = &t;
	spf_glue_check(g, &q, &o);
	if ((unsigned)o.result >= SPFR_COUNT || o.queries > 150)
		abort();
	q.identity = SPF_ID_HELO;
	spf_glue_check(g, &q, &o);
	if ((unsigned)o.result >= SPFR_COUNT || o.queries > 150)
		abort();
	free(buf);
	return 0;
}
