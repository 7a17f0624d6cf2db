/*
 * table.h - Postfix lookup tables read from their text form, so the
 * primary's own files work unchanged.
 *
 * Types (the prefix as in Postfix's main.cf):
 *   cidr:/path                      cidr_table(5): first match wins, if/endif
 *   hash:/path btree:/path lmdb:/path texthash:/path  the postmap *source*
 *                                   file: "key value" lines, keys folded to
 *                                   lower case; hash:/x reads /x, not /x.db
 *   /path (no prefix)               the same as texthash:
 * Where Postfix skips a bad rule with a warning, mxguard reports it as
 * FILE:LINE and the file is refused: a typo never changes policy silently.
 *
 * Ownership: table_open() returns a new table; table_free(&t). Lookups are
 * read-only and safe from any thread.
 */
#ifndef MXG_TABLE_H
#define MXG_TABLE_H

#include <stddef.h>
#include <sys/socket.h>

#include "config.h"

enum table_type { TABLE_HASH = 0, TABLE_CIDR };

struct table;

struct table *table_open(const char *spec, struct cfg_errors *e);
/* The same, naming the config line (file:line) that asked for the table
 * in errors about the table as a whole (cannot open, bad type). */
struct table *table_open_at(const char *spec, const char *file, int line,
	    struct cfg_errors *e);
/* Parses text already in memory (unit tests, fuzzing); name for messages. */
struct table *table_parse(enum table_type type, const char *name,
	    const char *text, size_t len, struct cfg_errors *e);
void	 table_free(struct table **tp);
/* A cidr table from a configuration list of networks ("10.0.0.0/8",
 * "192.0.2.1", "[2001:db8::]/32"); each maps to "OK". */
struct table *table_from_cidr_list(const struct cfg_list *l, const char *file,
	    int line, struct cfg_errors *e);
enum table_type table_type(const struct table *t);
const char *table_name(const struct table *t);
size_t	 table_size(const struct table *t);
/* Every value with its line, for checking actions at load time. */
void	 table_foreach(const struct table *t,
	    void (*fn)(void *arg, const char *file, int line, const char *key,
	    const char *value), void *arg);

/* The tables one configuration key names, in the order given. */
struct table_set {
	struct table	**t;
	size_t		 n;
};
/*
 * Opens each table in l, the value of a key at file:line (problems are
 * reported there). cidr_ok 0: a cidr table is an error (it only matches
 * client addresses). check, when given, sees every value (table_foreach).
 */
void	 table_set_open(struct table_set *ts, const struct cfg_list *l,
	    const char *file, int line, int cidr_ok,
	    void (*check)(void *arg, const char *file, int line,
	    const char *key, const char *value), void *arg,
	    struct cfg_errors *e);
void	 table_set_free(struct table_set *ts);

/* Exact key lookup (hash: folded to lower case; cidr: an address). */
const char *table_get(const struct table *t, const char *key);
/* cidr: the first rule matching the address; hash: the address as text. */
const char *table_get_addr(const struct table *t, const struct sockaddr *sa);

/*
 * access(5) lookup orders.
 * Email: user+ext@domain, user@domain, domain (then its parents, and
 * ".parent" forms), user+ext@, user@; the null sender as "<>".
 * Client: name and parents, then the address, then shorter IPv4 prefixes
 * "1.2.3", "1.2", "1" or IPv6 ones "2001:db8:1", ... (hash tables); a
 * cidr table is asked for the address only. Returns the value or NULL;
 * *matched (may be NULL) is set to the key that matched.
 */
const char *table_get_email(const struct table *t, const char *addr,
	    char delim, const char **matched);
const char *table_get_domain(const struct table *t, const char *domain);
const char *table_get_client(const struct table *t, const struct sockaddr *sa,
	    const char *name);

#endif
