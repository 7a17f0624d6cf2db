/*
 * rcptmap.c - recipient maps: Postfix table sources and plain lists.
 */
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "config.h"
#include "rcptmap.h"
#include "table.h"
#include "util.h"

#define LIST_FILE_MAX	(256u << 20)	/* as table.c */

struct rcptmap {
	enum rcptmap_format fmt;
	char		*path;
	struct table	*table;		/* RCPTMAP_TABLE */
	char		**list;		/* RCPTMAP_LIST: sorted, unique */
	size_t		 nlist;
};

static int
cmpstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
rcptmap_spec(const char *spec, enum rcptmap_format *fmt, const char **path)
{
	const char *colon = strchr(spec, ':');

	*fmt = RCPTMAP_TABLE;
	*path = spec;
	if (colon == NULL || spec[0] == '/')
		return 0;
	if ((size_t)(colon - spec) == 4 && strncmp(spec, "list", 4) == 0) {
		*fmt = RCPTMAP_LIST;
		*path = colon + 1;
		return 0;
	}
	if (((size_t)(colon - spec) == 4 && (!strncmp(spec, "hash", 4) ||
	    !strncmp(spec, "lmdb", 4))) || ((size_t)(colon - spec) == 5 &&
	    !strncmp(spec, "btree", 5)) || ((size_t)(colon - spec) == 8 &&
	    !strncmp(spec, "texthash", 8))) {
		*path = colon + 1;
		return 0;
	}
	return -1;
}

/* One list line (already trimmed, not empty): an address or @domain. */
static int
list_line_ok(const char *l, size_t n, char *why, size_t whylen)
{
	const char *at = NULL;

	if (n >= RCPT_ADDR_MAX) {
		str_fmt(why, whylen, "address longer than %d bytes",
		    RCPT_ADDR_MAX - 1);
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)l[i];

		if (isspace(c)) {
			str_copy(why, whylen, "expected one address per line");
			return 0;
		}
		if (c < 0x20 || c == 0x7f) {
			str_copy(why, whylen, "control character");
			return 0;
		}
		if (c == '@')
			at = l + i;
	}
	if (at == NULL || at == l + n - 1) {
		str_copy(why, whylen, "expected user@domain or @domain");
		return 0;
	}
	return 1;
}

static struct rcptmap *
list_parse(const char *name, const char *text, size_t len,
    struct cfg_errors *e)
{
	struct rcptmap *m = xcalloc(1, sizeof(*m));
	size_t pos = 0, cap = 0;
	int lineno = 0, before = e->count;
	char why[120];

	m->fmt = RCPTMAP_LIST;
	m->path = xstrdup(name);
	if (memchr(text, '\0', len) != NULL) {
		cfg_error(e, name, 0, "contains a NUL byte: not a text list");
		rcptmap_free(&m);
		return NULL;
	}
	while (pos < len) {
		const char *l = text + pos, *nl = memchr(l, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - l) : len - pos;

		pos += n + (nl != NULL);
		lineno++;
		while (n > 0 && isspace((unsigned char)l[n - 1]))
			n--;
		while (n > 0 && isspace((unsigned char)*l)) {
			l++;
			n--;
		}
		if (n == 0 || *l == '#')
			continue;
		if (!list_line_ok(l, n, why, sizeof(why))) {
			cfg_error(e, name, lineno, "%s", why);
			continue;
		}
		if (m->nlist == cap) {
			cap = cap ? cap * 2 : 64;
			m->list = xrealloc(m->list, cap * sizeof(char *));
		}
		m->list[m->nlist] = xstrndup(l, n);
		str_lower(m->list[m->nlist++]);
	}
	if (e->count != before) {
		rcptmap_free(&m);
		return NULL;
	}
	if (m->nlist > 1) {
		size_t o = 1;

		qsort(m->list, m->nlist, sizeof(char *), cmpstr);
		for (size_t i = 1; i < m->nlist; i++) {
			if (strcmp(m->list[i], m->list[o - 1]) == 0)
				free(m->list[i]);
			else
				m->list[o++] = m->list[i];
		}
		m->nlist = o;
	}
	return m;
}

struct rcptmap *
rcptmap_parse(enum rcptmap_format fmt, const char *name, const char *text,
    size_t len, struct cfg_errors *e)
{
	struct rcptmap *m;
	int before = e->count;

	if (fmt == RCPTMAP_LIST)
		return list_parse(name, text, len, e);
	m = xcalloc(1, sizeof(*m));
	m->fmt = RCPTMAP_TABLE;
	m->path = xstrdup(name);
	m->table = table_parse(TABLE_HASH, name, text, len, e);
	if (e->count != before)
		rcptmap_free(&m);
	return m;
}

struct rcptmap *
rcptmap_open(const char *spec, struct cfg_errors *e)
{
	enum rcptmap_format fmt;
	struct rcptmap *m;
	const char *path;
	struct err err;
	char *buf;
	size_t n = 0;
	int rc;

	if (rcptmap_spec(spec, &fmt, &path) < 0) {
		cfg_error(e, spec, 0, "unsupported map type (hash, texthash, "
		    "btree, lmdb: Postfix table source; list: one address per "
		    "line)");
		return NULL;
	}
	if ((rc = cfg_read_file(path, LIST_FILE_MAX, NULL, &buf, &n,
	    &err)) < 0) {
		if (rc == CFG_READ_TOO_LARGE)
			cfg_error(e, path, 0, "recipient map too large");
		else
			cfg_error(e, path, 0, "cannot read recipient map: %s",
			    err.msg);
		return NULL;
	}
	m = rcptmap_parse(fmt, path, buf, n, e);
	free(buf);
	return m;
}

void
rcptmap_free(struct rcptmap **mp)
{
	struct rcptmap *m = *mp;

	if (m == NULL)
		return;
	table_free(&m->table);
	for (size_t i = 0; i < m->nlist; i++)
		free(m->list[i]);
	free(m->list);
	free(m->path);
	free(m);
	*mp = NULL;
}

const char *
rcptmap_path(const struct rcptmap *m)
{
	return m->path;
}

size_t
rcptmap_size(const struct rcptmap *m)
{
	return m->fmt == RCPTMAP_LIST ? m->nlist : table_size(m->table);
}

const char *
rcptmap_match_name(enum rcptmap_match r)
{
	static const char *const names[] = { "none", "address",
	    "address without extension", "@domain" };

	return (unsigned)r < ARRAY_LEN(names) ? names[r] : "?";
}

int
rcpt_ext_offset(const char *lp, size_t len, const char *delims)
{
	size_t k;

	if (delims == NULL || *delims == '\0')
		return -1;
	/* split_addr(): reserved names are never split */
	if ((len == 10 && strncasecmp(lp, "postmaster", 10) == 0) ||
	    (len == 13 && strncasecmp(lp, "mailer-daemon", 13) == 0) ||
	    (len == 13 && strncasecmp(lp, "double-bounce", 13) == 0))
		return -1;
	/* owner_request_special: owner-foo, foo-request stay whole */
	if (strchr(delims, '-') != NULL) {
		if (len >= 6 && strncasecmp(lp, "owner-", 6) == 0)
			return -1;
		if (len > 8 && strncasecmp(lp + len - 8, "-request", 8) == 0)
			return -1;
	}
	for (k = 0; k < len; k++)
		if (lp[k] != '\0' && strchr(delims, lp[k]) != NULL)
			break;
	/* no delimiter, or it would leave an empty user part */
	if (k == len || k == 0)
		return -1;
	return (int)k;
}

int
rcpt_lookup_keys(const char *addr, const char *delims,
    char keys[3][RCPT_ADDR_MAX])
{
	const char *at = strrchr(addr, '@');
	size_t local, n = strlen(addr);
	int ext, k = 0;

	if (at == NULL || at[1] == '\0' || n >= RCPT_ADDR_MAX)
		return 0;
	local = (size_t)(at - addr);
	memcpy(keys[k], addr, n + 1);
	str_lower(keys[k++]);
	ext = rcpt_ext_offset(addr, local, delims);
	if (ext > 0) {
		str_fmt(keys[k], RCPT_ADDR_MAX, "%.*s%s", ext, addr, at);
		str_lower(keys[k++]);
	}
	str_copy(keys[k], RCPT_ADDR_MAX, at);
	str_lower(keys[k++]);
	return k;
}

static int
has_key(const struct rcptmap *m, const char *key)
{
	if (m->fmt == RCPTMAP_TABLE)
		return table_get(m->table, key) != NULL;
	return m->nlist > 0 && bsearch(&key, m->list, m->nlist,
	    sizeof(char *), cmpstr) != NULL;
}

enum rcptmap_match
rcptmap_lookup(const struct rcptmap *m, const char *addr, const char *delims)
{
	char keys[3][RCPT_ADDR_MAX];
	int n = rcpt_lookup_keys(addr, delims, keys);

	for (int i = 0; i < n; i++)
		if (has_key(m, keys[i]))
			return keys[i][0] == '@' ? RCPTMAP_DOMAIN :
			    i == 0 ? RCPTMAP_ADDR : RCPTMAP_NOEXT;
	return RCPTMAP_NONE;
}
