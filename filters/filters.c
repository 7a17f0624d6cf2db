/*
 * filters.c - the table of all filters.
 */
#include <string.h>

#include "filters.h"

extern const struct filter_ops flt_access_ops;
extern const struct filter_ops flt_allowlist_ops;
extern const struct filter_ops flt_helo_ops;
extern const struct filter_ops flt_dnsbl_ops;
extern const struct filter_ops flt_rhsbl_ops;
extern const struct filter_ops flt_spf_ops;
extern const struct filter_ops flt_rcpt_ops;
extern const struct filter_ops flt_defer_ops;
extern const struct filter_ops flt_ratelimit_ops;

const struct filter_ops *const filter_table[] = {
	&flt_access_ops,
	&flt_allowlist_ops,
	&flt_helo_ops,
	&flt_dnsbl_ops,
	&flt_rhsbl_ops,
	&flt_spf_ops,
	&flt_rcpt_ops,
	&flt_defer_ops,
	&flt_ratelimit_ops,
	NULL
};

const struct filter_ops *
filter_find(const char *name)
{
	for (size_t i = 0; filter_table[i] != NULL; i++)
		if (strcmp(filter_table[i]->name, name) == 0)
			return filter_table[i];
	return NULL;
}
