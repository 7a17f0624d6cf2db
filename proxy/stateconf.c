/*
 * stateconf.c - the settings of the primary MX and of the store: checks
 * and the values derived from them (the primary's address; the store's
 * kind, LMDB path or Redis host, port and database). Pure but for the
 * directory check; config.c calls it, the config fuzzer runs it.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "stateconf.h"
#include "util.h"

void
primary_conf_check(struct primary_conf *pc, const struct cfg_block *top,
    const char *file, struct cfg_errors *e)
{
	struct err err;

	if (pc->primary != NULL && pc->primary[0] != '\0' &&
	    addr_parse(pc->primary, 25, 1, &pc->addr, &pc->addrlen, &err) < 0)
		cfg_error(e, file, cfg_line_of(top, "primary"), "primary: %s",
		    err.msg);
	for (const char *p = pc->helo; p && *p; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f) {
			cfg_error(e, file, cfg_line_of(top, "primary_helo"),
			    "primary_helo: not a host name");
			break;
		}
}

static int
parse_redis_url(struct store_conf *sc, const char *u, struct err *err)
{
	const char *p = u + strlen("redis://"), *hend, *colon;
	char host[256];
	long port = 6379, db = 0;
	char *end;

	if (*p == '[') {
		hend = strchr(p, ']');
		if (hend == NULL) {
			err_set(err, "missing ']' in \"%s\"", u);
			return -1;
		}
		str_ncopy(host, sizeof(host), p + 1, (size_t)(hend - p - 1));
		p = hend + 1;
	} else {
		size_t n = strcspn(p, ":/");

		if (n == 0 || n >= sizeof(host)) {
			err_set(err, "no host in \"%s\"", u);
			return -1;
		}
		str_ncopy(host, sizeof(host), p, n);
		p += n;
	}
	colon = p;
	if (*colon == ':') {
		port = strtol(colon + 1, &end, 10);
		if (end == colon + 1 || port < 1 || port > 65535) {
			err_set(err, "bad port in \"%s\"", u);
			return -1;
		}
		p = end;
	}
	if (*p == '/' && p[1] != '\0') {
		db = strtol(p + 1, &end, 10);
		if (end == p + 1 || *end != '\0' || db < 0 || db > 65535) {
			err_set(err, "bad database number in \"%s\"", u);
			return -1;
		}
	} else if (*p != '\0' && strcmp(p, "/") != 0) {
		err_set(err, "garbage after the address in \"%s\"", u);
		return -1;
	}
	sc->host = xstrdup(host);
	sc->port = (int)port;
	sc->db = (int)db;
	return 0;
}

void
store_conf_check(struct store_conf *sc, const struct cfg_block *top,
    const char *file, struct cfg_errors *e)
{
	struct err err;
	int line = cfg_line_of(top, "store");

	if (sc->spec == NULL)
		return;
	if (strncmp(sc->spec, "lmdb:", 5) == 0) {
		sc->kind = STORE_LMDB;
		sc->path = xstrdup(sc->spec + 5);
		if (sc->path[0] != '/')
			cfg_error(e, file, line, "store: the LMDB directory must "
			    "be an absolute path");
	} else if (strncmp(sc->spec, "redis://", 8) == 0) {
		sc->kind = STORE_REDIS;
		if (parse_redis_url(sc, sc->spec, &err) < 0)
			cfg_error(e, file, line, "store: %s", err.msg);
	} else
		cfg_error(e, file, line, "store: \"%s\" is neither lmdb:/dir "
		    "nor redis://host:port/db", sc->spec);
	if (sc->redis_prefix != NULL && strlen(sc->redis_prefix) > 64)
		cfg_error(e, file, cfg_line_of(top, "store_redis_prefix"),
		    "store_redis_prefix: longer than 64 bytes");
}

void
store_conf_check_dir(const struct store_conf *sc, const struct cfg_block *top,
    const char *file, struct cfg_errors *e)
{
	struct stat st;

	if (sc->kind != STORE_LMDB || sc->path == NULL || sc->path[0] != '/')
		return;
	if (stat(sc->path, &st) < 0)
		cfg_error(e, file, cfg_line_of(top, "store"), "store: %s: %s",
		    sc->path, strerror(errno));
	else if (!S_ISDIR(st.st_mode))
		cfg_error(e, file, cfg_line_of(top, "store"), "store: %s: not a "
		    "directory", sc->path);
	else if (access(sc->path, W_OK | X_OK) != 0)
		cfg_error(e, file, cfg_line_of(top, "store"), "store: %s: %s",
		    sc->path, strerror(errno));
}

void
store_conf_clear(struct store_conf *sc)
{
	free(sc->path);
	free(sc->host);
	sc->path = sc->host = NULL;
}

int
store_conf_same(const struct store_conf *a, const struct store_conf *b)
{
	return strcmp(a->spec, b->spec) == 0 && a->lmdb_size == b->lmdb_size &&
	    a->timeout_ms == b->timeout_ms &&
	    strcmp(a->redis_prefix, b->redis_prefix) == 0;
}

int
store_needed(const struct config *c)
{
	for (size_t i = 0; i < c->filters.n; i++)
		if (strcmp(c->filters.v[i], "rcpt") == 0 ||
		    strcmp(c->filters.v[i], "defer") == 0 ||
		    strcmp(c->filters.v[i], "ratelimit") == 0)
			return 1;
	return 0;
}

