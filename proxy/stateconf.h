/*
 * stateconf.h - checks of the primary_*, callout_* and store_* settings
 * (struct primary_conf and struct store_conf in config.h; their rows are
 * in config.c's key table), and the values derived from them.
 */
#ifndef MXG_STATECONF_H
#define MXG_STATECONF_H

#include "config.h"

/* Checks primary_helo and resolves primary into pc->addr. */
void	 primary_conf_check(struct primary_conf *pc,
	    const struct cfg_block *top, const char *file,
	    struct cfg_errors *e);
/* Parses sc->spec: lmdb:/dir or redis://host[:port][/db]. */
void	 store_conf_check(struct store_conf *sc, const struct cfg_block *top,
	    const char *file, struct cfg_errors *e);
/* What only matters when the store is used: the LMDB directory. */
void	 store_conf_check_dir(const struct store_conf *sc,
	    const struct cfg_block *top, const char *file, struct cfg_errors *e);
/* Frees what store_conf_check() derived (the keys' fields are config's). */
void	 store_conf_clear(struct store_conf *sc);
int	 store_conf_same(const struct store_conf *a, const struct store_conf *b);
/* Does this configuration use the store? (rcpt, defer, ratelimit) */
int	 store_needed(const struct config *c);

#endif
