/*
 * filters.h - the table of every filter mxguard knows.
 *
 * Adding a check: one file filters/<name>.c defining flt_<name>_ops, one
 * line in filters.c. The config's 'filters' key picks which run, in order.
 */
#ifndef MXG_FILTERS_H
#define MXG_FILTERS_H

#include "../proxy/filter.h"

extern const struct filter_ops *const filter_table[];

/* NULL if no filter has that name. */
const struct filter_ops *filter_find(const char *name);

#endif
