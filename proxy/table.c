/*
 * table.c - Postfix lookup tables from their text form.
 */
#include <sys/stat.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "table.h"
#include "util.h"

#define TABLE_FILE_MAX	(256u << 20)

enum rule_op { OP_MATCH = 0, OP_IF, OP_ENDIF };

struct cidr_rule {
	enum rule_op	 op;
	int		 family;	/* AF_INET or AF_INET6 */
	int		 negate;
	unsigned	 bits;		/* mask length */
	unsigned char	 net[16];
	size_t		 block_end;	/* OP_IF: index of its ENDIF, or SIZE_MAX */
	char		*value;
	int		 line;
};

struct hash_entry {
	char		*key;
	char		*value;
	int		 line;
};

struct table {
	enum table_type	 type;
	char		*name;
	struct cidr_rule *rules;
	size_t		 nrules;
	struct hash_entry *entries;	/* sorted by key */
	size_t		 nentries;
};

static int
cmp_entry(const void *a, const void *b)
{
	return strcmp(((const struct hash_entry *)a)->key,
	    ((const struct hash_entry *)b)->key);
}

/* Parses "addr", "addr/len", "[addr]", "[addr]/len". 0 or -1 + why. */
static int
cidr_parse(char *p, struct cidr_rule *r, char *why, size_t whylen)
{
	char *mask = NULL, *addr = p, *close;
	unsigned char m[16];
	unsigned nbytes;

	if (*p == '[') {
		addr = p + 1;
		close = strchr(addr, ']');
		if (close == NULL) {
			str_fmt(why, whylen, "missing ']' character after \"[%s\"",
			    addr);
			return -1;
		}
		*close = '\0';
		if (close[1] == '/')
			mask = close + 2;
		else if (close[1] != '\0') {
			str_fmt(why, whylen, "garbage after \"[%s]\"", addr);
			return -1;
		}
	} else if ((mask = strchr(p, '/')) != NULL)
		*mask++ = '\0';
	r->family = strchr(addr, ':') ? AF_INET6 : AF_INET;
	nbytes = r->family == AF_INET6 ? 16 : 4;
	if (mask != NULL) {
		unsigned long bits;
		char *end;

		if (*mask == '\0' || strspn(mask, "0123456789") != strlen(mask)) {
			str_fmt(why, whylen, "bad mask value in \"%s/%s\"", addr,
			    mask);
			return -1;
		}
		bits = strtoul(mask, &end, 10);
		if (bits > nbytes * 8 || strlen(mask) > 3) {
			str_fmt(why, whylen, "bad mask length in \"%s/%s\"", addr,
			    mask);
			return -1;
		}
		if (inet_pton(r->family, addr, r->net) != 1) {
			str_fmt(why, whylen, "bad network value in \"%s/%s\"",
			    addr, mask);
			return -1;
		}
		r->bits = (unsigned)bits;
		memset(m, 0, sizeof(m));
		for (unsigned i = 0; i < r->bits; i++)
			m[i / 8] |= (unsigned char)(0x80u >> (i % 8));
		for (unsigned i = 0; i < nbytes; i++)
			if (r->net[i] & ~m[i]) {
				char fixed[INET6_ADDRSTRLEN];

				for (unsigned j = 0; j < nbytes; j++)
					r->net[j] &= m[j];
				inet_ntop(r->family, r->net, fixed, sizeof(fixed));
				str_fmt(why, whylen, "non-null host address bits "
				    "in \"%s/%s\", perhaps you should use "
				    "\"%s/%u\" instead", addr, mask, fixed,
				    r->bits);
				return -1;
			}
		return 0;
	}
	if (inet_pton(r->family, addr, r->net) != 1) {
		str_fmt(why, whylen, "bad address pattern: \"%s\"", addr);
		return -1;
	}
	r->bits = nbytes * 8;
	return 0;
}

static int
cidr_match(const struct cidr_rule *r, int family, const unsigned char *a)
{
	unsigned full, rest;

	if (r->family != family)
		return 0;		/* never, negated or not (as Postfix) */
	full = r->bits / 8;
	rest = r->bits % 8;
	if (memcmp(r->net, a, full) != 0)
		return r->negate;
	if (rest != 0) {
		unsigned char m = (unsigned char)(0xffu << (8 - rest));

		if ((a[full] & m) != r->net[full])
			return r->negate;
	}
	return !r->negate;
}

static void
parse_cidr_line(struct table *t, char *l, int line, size_t *stack,
    size_t *depth, struct cfg_errors *e)
{
	struct cidr_rule r;
	char why[300], *p = l, *val;
	int negate = 0, is_if = 0;

	memset(&r, 0, sizeof(r));
	r.line = line;
	r.block_end = SIZE_MAX;
	/* the keyword must be followed by white space or end the line */
	if (!strncasecmp(p, "endif", 5) && (p[5] == '\0' || isspace((unsigned char)p[5]))) {
		if (*depth == 0) {
			cfg_error(e, t->name, line, "ENDIF without IF");
			return;
		}
		r.op = OP_ENDIF;
		t->rules[stack[--*depth]].block_end = t->nrules;
		goto add;
	}
	if (!strncasecmp(p, "if", 2) && (p[2] == '\0' || isspace((unsigned char)p[2]) ||
	    p[2] == '!')) {
		is_if = 1;
		p += 2;
	}
	for (;;) {
		while (isspace((unsigned char)*p))
			p++;
		if (*p != '!')
			break;
		negate = !negate;
		p++;
	}
	if (*p == '\0') {
		cfg_error(e, t->name, line, "no address pattern");
		return;
	}
	val = p;
	while (*val && !isspace((unsigned char)*val))
		val++;
	if (*val) {
		*val++ = '\0';
		while (isspace((unsigned char)*val))
			val++;
	}
	if (is_if && *val != '\0') {
		cfg_error(e, t->name, line, "garbage after IF pattern");
		return;
	}
	if (!is_if && *val == '\0') {
		cfg_error(e, t->name, line, "no lookup result");
		return;
	}
	if (cidr_parse(p, &r, why, sizeof(why)) < 0) {
		cfg_error(e, t->name, line, "%s", why);
		return;
	}
	r.negate = negate;
	if (is_if) {
		r.op = OP_IF;
		if (*depth >= 64) {
			cfg_error(e, t->name, line, "IF nested too deep");
			return;
		}
		stack[(*depth)++] = t->nrules;
	} else {
		size_t n = strlen(val);

		while (n > 0 && isspace((unsigned char)val[n - 1]))
			val[--n] = '\0';
		r.value = xstrdup(val);
	}
add:
	t->rules = xrealloc(t->rules, (t->nrules + 1) * sizeof(*t->rules));
	t->rules[t->nrules++] = r;
}

static void
add_hash(struct table *t, const char *key, size_t klen, const char *val,
    int line)
{
	struct hash_entry *he;

	t->entries = xrealloc(t->entries, (t->nentries + 1) * sizeof(*he));
	he = &t->entries[t->nentries++];
	he->key = xstrndup(key, klen);
	str_lower(he->key);
	he->value = xstrdup(val);
	he->line = line;
}

/* One logical line of a postmap source file: "key whitespace value". */
static void
parse_hash_line(struct table *t, char *l, int line, struct cfg_errors *e)
{
	char *k = l, *v;
	size_t klen;

	v = k;
	while (*v && !isspace((unsigned char)*v))
		v++;
	klen = (size_t)(v - k);
	while (isspace((unsigned char)*v))
		v++;
	if (*v == '\0') {
		cfg_error(e, t->name, line, "expected format: key whitespace "
		    "value");
		return;
	}
	{
		size_t n = strlen(v);

		while (n > 0 && isspace((unsigned char)v[n - 1]))
			v[--n] = '\0';
	}
	add_hash(t, k, klen, v, line);
}

struct table *
table_parse(enum table_type type, const char *name, const char *text,
    size_t len, struct cfg_errors *e)
{
	struct table *t = xcalloc(1, sizeof(*t));
	size_t pos = 0, stack[64], depth = 0;
	char *logical = NULL;
	size_t llen = 0, lcap = 0;
	int lineno = 0, lstart = 0, before = e->count;

	t->type = type;
	t->name = xstrdup(name);
	if (memchr(text, '\0', len) != NULL) {
		cfg_error(e, name, 0, "contains a NUL byte: not a text table");
		return t;
	}
	/* Logical lines as Postfix reads them: a line that starts with
	 * white space continues the previous one; '#' lines are comments. */
	for (;;) {
		const char *l = text + pos, *nl;
		size_t n;
		int more = pos < len;

		if (more) {
			nl = memchr(l, '\n', len - pos);
			n = nl ? (size_t)(nl - l) : len - pos;
			pos += n + (nl != NULL);
			lineno++;
			if (n > 0 && l[n - 1] == '\r')
				n--;
			{
				size_t j = 0;

				while (j < n && isspace((unsigned char)l[j]))
					j++;
				if (j == n || l[j] == '#')
					continue;
				if (j > 0 && llen > 0) {
					/* joined as it stands, leading white
					 * space included, as Postfix does */
					if (llen + n + 1 > lcap) {
						lcap = (llen + n + 1) * 2;
						logical = xrealloc(logical, lcap);
					}
					memcpy(logical + llen, l, n);
					llen += n;
					continue;
				}
				if (j > 0) {
					cfg_error(e, name, lineno, "continuation "
					    "line without a line before it");
					continue;
				}
			}
		}
		if (llen > 0) {
			logical[llen] = '\0';
			if (type == TABLE_CIDR)
				parse_cidr_line(t, logical, lstart, stack,
				    &depth, e);
			else
				parse_hash_line(t, logical, lstart, e);
			llen = 0;
		}
		if (!more)
			break;
		if (n + 1 > lcap) {
			lcap = (n + 1) * 2;
			logical = xrealloc(logical, lcap);
		}
		memcpy(logical, l, n);
		llen = n;
		lstart = lineno;
	}
	free(logical);
	while (depth > 0)
		cfg_error(e, name, t->rules[stack[--depth]].line,
		    "IF has no matching ENDIF");
	if (type == TABLE_HASH && t->nentries > 1) {
		qsort(t->entries, t->nentries, sizeof(*t->entries), cmp_entry);
		for (size_t i = 1; i < t->nentries; i++)
			if (strcmp(t->entries[i].key, t->entries[i - 1].key) == 0)
				/* postmap: "duplicate entry"; first wins
				 * in ours, which is what a reader would
				 * guess least: refuse */
				cfg_error(e, name, MAX(t->entries[i].line,
				    t->entries[i - 1].line),
				    "duplicate entry \"%s\"", t->entries[i].key);
	}
	(void)before;
	return t;
}

struct table *
table_open(const char *spec, struct cfg_errors *e)
{
	return table_open_at(spec, NULL, 0, e);
}

struct table *
table_open_at(const char *spec, const char *from, int from_line,
    struct cfg_errors *e)
{
	enum table_type type = TABLE_HASH;
	const char *path = spec, *colon = strchr(spec, ':');
	struct table *t;
	struct err err;
	char *buf;
	size_t n = 0;
	int rc;

	if (colon != NULL && spec[0] != '/') {
		size_t plen = (size_t)(colon - spec);

		path = colon + 1;
		if (plen == 4 && !strncmp(spec, "cidr", 4))
			type = TABLE_CIDR;
		else if ((plen == 4 && (!strncmp(spec, "hash", 4) ||
		    !strncmp(spec, "lmdb", 4))) || (plen == 5 &&
		    !strncmp(spec, "btree", 5)) || (plen == 8 &&
		    !strncmp(spec, "texthash", 8)))
			type = TABLE_HASH;
		else {
			if (from != NULL)
				cfg_error(e, from, from_line, "%s: unsupported "
				    "table type \"%.*s\" (cidr, hash, btree, "
				    "lmdb, texthash)", spec, (int)plen, spec);
			else
				cfg_error(e, spec, 0, "unsupported table type "
				    "\"%.*s\" (cidr, hash, btree, lmdb, "
				    "texthash)", (int)plen, spec);
			return NULL;
		}
	}
	if ((rc = cfg_read_file(path, TABLE_FILE_MAX, e, &buf, &n,
	    &err)) < 0) {
		if (rc == CFG_READ_TOO_LARGE)
			cfg_error(e, path, 0, "table too large");
		else if (from != NULL)
			cfg_error(e, from, from_line, "%s: cannot read table: %s",
			    path, err.msg);
		else
			cfg_error(e, path, 0, "cannot read table: %s", err.msg);
		return NULL;
	}
	t = table_parse(type, path, buf, n, e);
	free(buf);
	return t;
}

void
table_set_open(struct table_set *ts, const struct cfg_list *l,
    const char *file, int line, int cidr_ok,
    void (*check)(void *arg, const char *file, int line, const char *key,
    const char *value), void *arg, struct cfg_errors *e)
{
	ts->t = xcalloc(l->n + 1, sizeof(*ts->t));
	ts->n = 0;
	for (size_t i = 0; i < l->n; i++) {
		struct table *t = table_open_at(l->v[i], file, line, e);

		if (t == NULL)
			continue;
		if (!cidr_ok && table_type(t) == TABLE_CIDR)
			cfg_error(e, file, line, "%s: a cidr table only matches "
			    "client addresses", l->v[i]);
		if (check != NULL)
			table_foreach(t, check, arg);
		ts->t[ts->n++] = t;
	}
}

void
table_set_free(struct table_set *ts)
{
	for (size_t i = 0; i < ts->n; i++)
		table_free(&ts->t[i]);
	free(ts->t);
	ts->t = NULL;
	ts->n = 0;
}

struct table *
table_from_cidr_list(const struct cfg_list *l, const char *file, int line,
    struct cfg_errors *e)
{
	struct table *t;
	char *text = NULL, name[512];
	size_t len = 0;
	int before = e->count;

	for (size_t i = 0; i < l->n; i++) {
		size_t n = strlen(l->v[i]);

		text = xrealloc(text, len + n + 5);
		memcpy(text + len, l->v[i], n);
		memcpy(text + len + n, " OK\n", 4);
		len += n + 4;
	}
	str_fmt(name, sizeof(name), "%s:%d", file, line);
	/* errors name the config line; the table's own line numbers count
	 * list entries */
	t = table_parse(TABLE_CIDR, name, text ? text : "", len, e);
	free(text);
	if (e->count != before)
		table_free(&t);
	return t;
}

void
table_free(struct table **tp)
{
	struct table *t = *tp;

	if (t == NULL)
		return;
	for (size_t i = 0; i < t->nrules; i++)
		free(t->rules[i].value);
	for (size_t i = 0; i < t->nentries; i++) {
		free(t->entries[i].key);
		free(t->entries[i].value);
	}
	free(t->rules);
	free(t->entries);
	free(t->name);
	free(t);
	*tp = NULL;
}

enum table_type
table_type(const struct table *t)
{
	return t->type;
}

const char *
table_name(const struct table *t)
{
	return t->name;
}

size_t
table_size(const struct table *t)
{
	return t->type == TABLE_CIDR ? t->nrules : t->nentries;
}

void
table_foreach(const struct table *t, void (*fn)(void *, const char *, int,
    const char *, const char *), void *arg)
{
	for (size_t i = 0; i < t->nrules; i++)
		if (t->rules[i].op == OP_MATCH)
			fn(arg, t->name, t->rules[i].line, "", t->rules[i].value);
	for (size_t i = 0; i < t->nentries; i++)
		fn(arg, t->name, t->entries[i].line, t->entries[i].key,
		    t->entries[i].value);
}

static const char *
cidr_lookup(const struct table *t, int family, const unsigned char *a)
{
	for (size_t i = 0; i < t->nrules; i++) {
		const struct cidr_rule *r = &t->rules[i];

		switch (r->op) {
		case OP_MATCH:
			if (cidr_match(r, family, a))
				return r->value;
			break;
		case OP_IF:
			if (cidr_match(r, family, a))
				break;
			if (r->block_end == SIZE_MAX)
				return NULL;
			i = r->block_end;
			break;
		case OP_ENDIF:
			break;
		}
	}
	return NULL;
}

/* The value for key; *keyp (if given) is set to the key that matched. */
static const char *
hash_lookup_key(const struct table *t, const char *key, const char **keyp)
{
	struct hash_entry k, *he;
	char buf[1024];

	/* an empty table has entries == NULL, which bsearch() must not get */
	if (t->nentries == 0 || str_copy(buf, sizeof(buf), key) < 0)
		return NULL;
	str_lower(buf);
	k.key = buf;
	he = bsearch(&k, t->entries, t->nentries, sizeof(*he), cmp_entry);
	if (he != NULL && keyp != NULL)
		*keyp = he->key;
	return he ? he->value : NULL;
}

static const char *
hash_lookup(const struct table *t, const char *key)
{
	return hash_lookup_key(t, key, NULL);
}

const char *
table_get(const struct table *t, const char *key)
{
	if (t->type == TABLE_CIDR) {
		unsigned char a[16];
		int family = strchr(key, ':') ? AF_INET6 : AF_INET;

		if (inet_pton(family, key, a) != 1)
			return NULL;
		return cidr_lookup(t, family, a);
	}
	return hash_lookup(t, key);
}

/* IPv4-mapped IPv6 clients are looked up as IPv4, as Postfix does. */
static int
sa_bytes(const struct sockaddr *sa, unsigned char *a)
{
	if (sa->sa_family == AF_INET) {
		memcpy(a, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		return AF_INET;
	}
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *in6 =
		    &((const struct sockaddr_in6 *)sa)->sin6_addr;

		if (IN6_IS_ADDR_V4MAPPED(in6)) {
			memcpy(a, in6->s6_addr + 12, 4);
			return AF_INET;
		}
		memcpy(a, in6->s6_addr, 16);
		return AF_INET6;
	}
	return -1;
}

const char *
table_get_addr(const struct table *t, const struct sockaddr *sa)
{
	unsigned char a[16];
	char text[INET6_ADDRSTRLEN];
	int family = sa_bytes(sa, a);

	if (family < 0)
		return NULL;
	if (t->type == TABLE_CIDR)
		return cidr_lookup(t, family, a);
	inet_ntop(family, a, text, sizeof(text));
	return hash_lookup(t, text);
}

static const char *
domain_lookup(const struct table *t, const char *domain, const char **keyp)
{
	const char *v, *p;

	if (t->type == TABLE_CIDR)
		return NULL;
	if ((v = hash_lookup_key(t, domain, keyp)) != NULL)
		return v;
	/* parent_domain_matches_subdomains: "example.org" and
	 * ".example.org" both cover sub.example.org in access maps */
	for (p = strchr(domain, '.'); p != NULL; p = strchr(p + 1, '.')) {
		if ((v = hash_lookup_key(t, p, keyp)) != NULL)
			return v;
		if ((v = hash_lookup_key(t, p + 1, keyp)) != NULL)
			return v;
	}
	return NULL;
}

const char *
table_get_domain(const struct table *t, const char *domain)
{
	return domain_lookup(t, domain, NULL);
}

#define EMAIL_BUF	520

const char *
table_get_email(const struct table *t, const char *addr, char delim,
    const char **matched)
{
	char buf[EMAIL_BUF], base[EMAIL_BUF];
	const char *at, *ext = NULL, *v;
	size_t local;

	if (matched)
		*matched = NULL;
	if (t->type == TABLE_CIDR)
		return NULL;
	if (addr[0] == '\0')
		return hash_lookup_key(t, "<>", matched);
	if (str_copy(buf, sizeof(buf), addr) < 0)
		return NULL;
	at = strrchr(buf, '@');
	local = at ? (size_t)(at - buf) : strlen(buf);
	if ((v = hash_lookup_key(t, buf, matched)) != NULL)
		return v;
	/* user+ext@dom, looked up again as user@dom */
	if (delim != '\0')
		ext = memchr(buf, delim, local);
	if (ext != NULL && ext > buf) {
		str_fmt(base, sizeof(base), "%.*s%s", (int)(ext - buf), buf,
		    at ? at : "");
		if ((v = hash_lookup_key(t, base, matched)) != NULL)
			return v;
	} else
		ext = NULL;
	if (at == NULL)
		return NULL;
	if ((v = domain_lookup(t, at + 1, matched)) != NULL)
		return v;
	/* "user+ext@", then "user@" */
	str_fmt(base, sizeof(base), "%.*s@", (int)local, buf);
	if ((v = hash_lookup_key(t, base, matched)) != NULL)
		return v;
	if (ext != NULL) {
		str_fmt(base, sizeof(base), "%.*s@", (int)(ext - buf), buf);
		if ((v = hash_lookup_key(t, base, matched)) != NULL)
			return v;
	}
	return NULL;
}

const char *
table_get_client(const struct table *t, const struct sockaddr *sa,
    const char *name)
{
	unsigned char a[16];
	char text[INET6_ADDRSTRLEN];
	const char *v;
	int family;

	if (t->type == TABLE_CIDR)
		return table_get_addr(t, sa);
	if (name != NULL && (v = table_get_domain(t, name)) != NULL)
		return v;
	family = sa_bytes(sa, a);
	if (family < 0)
		return NULL;
	inet_ntop(family, a, text, sizeof(text));
	if ((v = hash_lookup(t, text)) != NULL)
		return v;
	/* shorter prefixes: 1.2.3 1.2 1 / 2001:db8:1 2001:db8 2001 */
	{
		char sep = family == AF_INET ? '.' : ':';
		char *p;

		while ((p = strrchr(text, sep)) != NULL) {
			*p = '\0';
			while (family == AF_INET6 && (p = strrchr(text, ':')) &&
			    p[1] == '\0')
				*p = '\0';	/* "2001:db8::" -> "2001:db8" */
			if (text[0] == '\0')
				break;
			if ((v = hash_lookup(t, text)) != NULL)
				return v;
		}
	}
	return NULL;
}
