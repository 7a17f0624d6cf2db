/*
 * relay.c - relay domain matching.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "relay.h"
#include "util.h"

#define DOMAIN_MAX	255

struct relay_domains {
	char	**exact;	/* sorted, lower case */
	size_t	 nexact;
	char	**parent;	/* sorted, lower case, without the dot */
	size_t	 nparent;
};

static int
cmpstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
domain_syntax_ok(const char *d)
{
	size_t n = strlen(d), label = 0;

	if (n == 0 || n > DOMAIN_MAX)
		return 0;
	for (const char *p = d; *p; p++) {
		if (*p == '.') {
			if (label == 0)
				return 0;
			label = 0;
			continue;
		}
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_' &&
		    (unsigned char)*p < 0x80)
			return 0;
		if (++label > 63)
			return 0;
	}
	return 1;
}

static void
add_entry(struct relay_domains *r, const char *ent, const char *file,
    int line, struct cfg_errors *e)
{
	char d[DOMAIN_MAX + 2];
	int parent = ent[0] == '.';
	size_t n;

	if (str_copy(d, sizeof(d), ent + parent) < 0) {
		cfg_error(e, file, line, "relay_domains: \"%s\" too long", ent);
		return;
	}
	n = strlen(d);
	if (n > 0 && d[n - 1] == '.')
		d[--n] = '\0';
	str_lower(d);
	if (!domain_syntax_ok(d)) {
		cfg_error(e, file, line, "relay_domains: \"%s\" is not a domain",
		    ent);
		return;
	}
	if (parent) {
		r->parent = xrealloc(r->parent, (r->nparent + 1) * sizeof(char *));
		r->parent[r->nparent++] = xstrdup(d);
	} else {
		r->exact = xrealloc(r->exact, (r->nexact + 1) * sizeof(char *));
		r->exact[r->nexact++] = xstrdup(d);
	}
}

static void
read_file(struct relay_domains *r, const char *path, struct cfg_errors *e)
{
	char buf[1024];
	FILE *fp;
	int line = 0;

	fp = fopen(path, "re");
	if (fp == NULL) {
		cfg_error(e, path, 0, "cannot open: %s", strerror(errno));
		return;
	}
	cfg_watch_fd(e, path, fileno(fp));
	while (fgets(buf, sizeof(buf), fp) != NULL) {
		char *p = buf, *q;

		line++;
		if (strchr(buf, '\n') == NULL && !feof(fp)) {
			cfg_error(e, path, line, "line too long");
			int c;
			while ((c = fgetc(fp)) != EOF && c != '\n')
				;
			continue;
		}
		while (isspace((unsigned char)*p))
			p++;
		if (*p == '#' || *p == '\0')
			continue;
		if (p != buf) {
			cfg_error(e, path, line, "continuation lines are not "
			    "supported here");
			continue;
		}
		q = p;
		while (*q && !isspace((unsigned char)*q))
			q++;
		*q = '\0';
		add_entry(r, p, path, line, e);
	}
	fclose(fp);
}

struct relay_domains *
relay_domains_build(const struct cfg_list *l, const char *file, int line,
    struct cfg_errors *e)
{
	struct relay_domains *r = xcalloc(1, sizeof(*r));

	for (size_t i = 0; i < l->n; i++) {
		if (l->v[i][0] == '/')
			read_file(r, l->v[i], e);
		else
			add_entry(r, l->v[i], file, line, e);
	}
	/* never qsort(NULL, 0, ...): NULL is not a valid array (C11 7.22.5) */
	if (r->nexact > 1)
		qsort(r->exact, r->nexact, sizeof(char *), cmpstr);
	if (r->nparent > 1)
		qsort(r->parent, r->nparent, sizeof(char *), cmpstr);
	return r;
}

void
relay_domains_free(struct relay_domains **rp)
{
	struct relay_domains *r = *rp;

	if (r == NULL)
		return;
	for (size_t i = 0; i < r->nexact; i++)
		free(r->exact[i]);
	for (size_t i = 0; i < r->nparent; i++)
		free(r->parent[i]);
	free(r->exact);
	free(r->parent);
	free(r);
	*rp = NULL;
}

size_t
relay_domains_count(const struct relay_domains *r)
{
	return r ? r->nexact + r->nparent : 0;
}

static int
in_sorted(char *const *v, size_t n, const char *key)
{
	return n > 0 && bsearch(&key, v, n, sizeof(char *), cmpstr) != NULL;
}

int
relay_domain_ok(const struct relay_domains *r, const char *domain)
{
	char d[DOMAIN_MAX + 2];
	size_t n;

	if (r == NULL || str_copy(d, sizeof(d), domain) < 0)
		return 0;
	n = strlen(d);
	if (n > 0 && d[n - 1] == '.')
		d[--n] = '\0';
	if (n == 0 || d[0] == '[')
		return 0;
	/* ".example.org" or "a..example.org" is no subdomain of anything */
	if (!domain_syntax_ok(d))
		return 0;
	str_lower(d);
	if (in_sorted(r->exact, r->nexact, d))
		return 1;
	/* parents: strip labels from the left, the rest must be listed */
	for (char *p = strchr(d, '.'); p != NULL; p = strchr(p + 1, '.'))
		if (in_sorted(r->parent, r->nparent, p + 1))
			return 1;
	return 0;
}

int
relay_rcpt_ok(const struct relay_domains *r, const char *addr,
    const char **why)
{
	const char *at;

	*why = NULL;
	if (addr[0] == '@') {
		*why = "source route";
		return -1;
	}
	at = strrchr(addr, '@');
	if (at == NULL) {
		/*
		 * Also <Postmaster>, which RFC 5321 4.5.1 says to accept: a
		 * backup MX has no local postmaster, and relaying it makes
		 * the backup bounce it (t_rcpt_open_relay saw exactly that).
		 */
		*why = "no domain";
		return -1;
	}
	/*
	 * Postfix unquotes the local part before it looks for routing, so a
	 * quoted "a%b"@dom is routing too: refuse @ % ! anywhere in it.
	 */
	for (const char *p = addr; p < at; p++)
		if (*p == '@' || *p == '%' || *p == '!') {
			*why = "sender-specified routing";
			return -1;
		}
	if (at[1] == '[') {
		*why = "address literal";
		return -1;
	}
	if (!relay_domain_ok(r, at + 1)) {
		*why = "domain not in relay_domains";
		return -1;
	}
	return 0;
}
