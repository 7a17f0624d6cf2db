/*
 * rcptcache.h - the callout cache's keys and values. Pure; unit-tested and
 * fuzzed (with Redis the values come from a store other instances write).
 *
 * Keys (the store adds its own prefix):
 *   co:<domain>/<local part>   one recipient, lower case: a whole domain
 *                              is one prefix, so the admin flush of
 *                              "@domain" is a delete by prefix
 *   ca:<domain>                the domain's catch-all verdict
 * Values, one line of text:
 *   "V <checked>"                          the primary accepted it
 *   "I <checked> <code> <enh> <text>"      the primary refused it
 *   catch-all: "C <checked>" (it accepted a random local part) or
 *              "N <checked>" (it did not)
 * <checked> is the wall-clock time of the callout in ms: positive entries
 * older than the refresh age are verified again in the background.
 */
#ifndef MXG_RCPTCACHE_H
#define MXG_RCPTCACHE_H

#include <stddef.h>
#include <stdint.h>

#define RCPTCACHE_KEY_MAX	540
#define RCPTCACHE_TEXT_MAX	160

enum rcptcache_kind {
	RCACHE_BAD = 0,		/* unreadable: treated as a miss */
	RCACHE_VALID, RCACHE_INVALID, RCACHE_CATCHALL, RCACHE_NOT_CATCHALL
};

struct rcptcache_entry {
	enum rcptcache_kind kind;
	uint64_t	 checked;	/* wall ms */
	int		 code;		/* INVALID: the primary's code */
	char		 enh[16];
	char		 text[RCPTCACHE_TEXT_MAX];
};

/* "co:dom/local" for an address; -1 if it has no domain or is too long. */
int	 rcptcache_addr_key(const char *addr, char *out, size_t outlen);
/* "co:dom/", every recipient of a domain (for the flush). */
int	 rcptcache_domain_prefix(const char *domain, char *out, size_t outlen);
/* "ca:dom". */
int	 rcptcache_catchall_key(const char *domain, char *out, size_t outlen);
/* Formats e as a value; returns its length (0 if out is too small). */
size_t	 rcptcache_encode(const struct rcptcache_entry *e, char *out,
	    size_t outlen);
/* Parses a value of len bytes (any bytes); RCACHE_BAD if malformed. */
enum rcptcache_kind rcptcache_decode(const char *val, size_t len,
	    struct rcptcache_entry *e);

#endif
