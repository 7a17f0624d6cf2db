/*
 * rcptmap.h - static recipient maps, shared with the primary MX.
 *
 * Two formats, one file each:
 *   hash:/path texthash:/path btree:/path lmdb:/path /path
 *       the source file of a Postfix relay_recipient_maps (or
 *       virtual_mailbox_maps) table: "user@domain  anything" lines,
 *       "@domain  anything" accepts the whole domain, '#' comments,
 *       continuation lines; read by proxy/table.c, values ignored.
 *   list:/path
 *       one address per line ("user@domain" or "@domain"), '#' comments;
 *       duplicates are allowed (exports often have them).
 * A line that is not an address is reported as FILE:LINE and the file is
 * refused, as table.c does: a typo never changes who gets mail.
 *
 * Lookups follow Postfix's mail_addr_find() for relay_recipient_maps
 * (MA_FIND_FULL | MA_FIND_NOEXT | MA_FIND_AT_DOMAIN): user+ext@domain,
 * then user@domain, then @domain; case-insensitive. The extension is cut
 * at the first of the delimiter characters as split_addr() does: never
 * for postmaster, mailer-daemon, double-bounce, nor (when '-' is a
 * delimiter) owner-* and *-request, nor when the user part would be empty.
 *
 * Ownership: rcptmap_open() returns a new map; rcptmap_free(&m). Lookups
 * are read-only.
 */
#ifndef MXG_RCPTMAP_H
#define MXG_RCPTMAP_H

#include <stddef.h>

#include "config.h"

#define RCPT_ADDR_MAX	512	/* longer addresses never match */

enum rcptmap_format { RCPTMAP_TABLE = 0, RCPTMAP_LIST };

enum rcptmap_match {
	RCPTMAP_NONE = 0,	/* not listed */
	RCPTMAP_ADDR,		/* the address itself */
	RCPTMAP_NOEXT,		/* the address without its extension */
	RCPTMAP_DOMAIN		/* @domain: the domain accepts everyone */
};

struct rcptmap;

/* NULL on error (reported through e). */
struct rcptmap *rcptmap_open(const char *spec, struct cfg_errors *e);
/* From memory (unit tests, fuzzing); name for the messages. */
struct rcptmap *rcptmap_parse(enum rcptmap_format fmt, const char *name,
	    const char *text, size_t len, struct cfg_errors *e);
void	 rcptmap_free(struct rcptmap **mp);
/* The file path (without the type prefix). */
const char *rcptmap_path(const struct rcptmap *m);
size_t	 rcptmap_size(const struct rcptmap *m);
enum rcptmap_match rcptmap_lookup(const struct rcptmap *m, const char *addr,
	    const char *delims);
const char *rcptmap_match_name(enum rcptmap_match r);
/* Splits a spec into its format and path; -1 for an unknown prefix. */
int	 rcptmap_spec(const char *spec, enum rcptmap_format *fmt,
	    const char **path);

/*
 * Where split_addr() would cut localpart[0..len): the offset of the
 * delimiter, or -1 when the address keeps its extension.
 */
int	 rcpt_ext_offset(const char *localpart, size_t len, const char *delims);
/*
 * The lookup keys in Postfix's order, lower case, into keys[3][...]:
 * returns how many (1..3), 0 if addr is too long or has no domain.
 */
int	 rcpt_lookup_keys(const char *addr, const char *delims,
	    char keys[3][RCPT_ADDR_MAX]);

#endif
