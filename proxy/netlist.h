/*
 * netlist.h - a list of client networks (allowlists): inline CIDR entries
 * ("192.0.2.0/24", "2001:db8::/32", "198.51.100.7") and cidr:/path tables
 * (any non-empty value there means "listed"). Parsed by table.c, so the
 * syntax and the FILE:LINE errors are those of Postfix's cidr tables.
 * Ownership: netlist_build() returns a new list (never NULL);
 * netlist_free(&l). Lookups are read-only.
 */
#ifndef MXG_NETLIST_H
#define MXG_NETLIST_H

#include <sys/socket.h>

#include "config.h"

struct netlist;

struct netlist *netlist_build(const struct cfg_list *l, const char *file,
	    int line, struct cfg_errors *e);
void	 netlist_free(struct netlist **lp);
int	 netlist_match(const struct netlist *l, const struct sockaddr *sa);
size_t	 netlist_count(const struct netlist *l);

#endif
