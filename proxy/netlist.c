/*
 * netlist.c - client network lists on top of table.c's cidr tables.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "netlist.h"
#include "table.h"
#include "util.h"

#define NETLIST_TABLES_MAX	16

struct netlist {
	struct table	*t[NETLIST_TABLES_MAX + 1];	/* [0]: the inline ones */
	size_t		 n;
	size_t		 count;
};

struct netlist *
netlist_build(const struct cfg_list *l, const char *file, int line,
    struct cfg_errors *e)
{
	struct netlist *nl = xcalloc(1, sizeof(*nl));
	char *text = NULL, name[300];
	size_t len = 0;

	for (size_t i = 0; i < l->n; i++) {
		const char *v = l->v[i];

		if (strncmp(v, "cidr:", 5) == 0) {
			struct table *t;

			if (nl->n >= NETLIST_TABLES_MAX) {
				cfg_error(e, file, line, "more than %d cidr "
				    "tables", NETLIST_TABLES_MAX);
				continue;
			}
			if ((t = table_open(v, e)) != NULL) {
				nl->count += table_size(t);
				nl->t[1 + nl->n++] = t;
			}
			continue;
		}
		/* inline: one cidr table line each */
		text = xrealloc(text, len + strlen(v) + 8);
		len += (size_t)sprintf(text + len, "%s OK\n", v);
	}
	if (len > 0) {
		int before = e->count;

		/* the messages name the key's line, not a line of "text" */
		str_fmt(name, sizeof(name), "%s:%d", file, line);
		nl->t[0] = table_parse(TABLE_CIDR, name, text, len, e);
		if (e->count != before)
			table_free(&nl->t[0]);
		else
			nl->count += table_size(nl->t[0]);
	}
	free(text);
	return nl;
}

void
netlist_free(struct netlist **lp)
{
	struct netlist *nl = *lp;

	if (nl == NULL)
		return;
	for (size_t i = 0; i <= nl->n; i++)
		table_free(&nl->t[i]);
	free(nl);
	*lp = NULL;
}

int
netlist_match(const struct netlist *nl, const struct sockaddr *sa)
{
	if (nl == NULL)
		return 0;
	for (size_t i = 0; i <= nl->n; i++)
		if (nl->t[i] != NULL && table_get_addr(nl->t[i], sa) != NULL)
			return 1;
	return 0;
}

size_t
netlist_count(const struct netlist *nl)
{
	return nl ? nl->count : 0;
}
