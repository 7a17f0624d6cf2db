/*
 * stubs.c - link stubs for the fuzzers only, never part of mxguard.
 *
 * config.c (fuzzed for its generic cfg_* parser) also builds a whole
 * struct config, which calls the filter chain and OpenSSL. Those are not
 * pure modules and are not fuzzed here; these stand-ins let the pure
 * modules link on their own. They behave as "no filters, no TLS".
 */
#include <stddef.h>

#include "config.h"
#include "filter.h"
#include "tls.h"
#include "util.h"
#include "../filters/filters.h"

int
filter_chain_configure(struct config *c, const struct cfg_file *f,
    struct cfg_errors *e)
{
	(void)c;
	(void)f;
	(void)e;
	return 0;
}

int
filter_chain_start(struct config *c, struct err *err)
{
	(void)c;
	(void)err;
	return 0;
}

void
filter_chain_free(struct config *c)
{
	(void)c;
}

void
filter_print_keys(void)
{
}

const struct filter_ops *
filter_find(const char *name)
{
	(void)name;
	return NULL;
}

void *
tls_server_ctx_new(const char *cert, const char *key, const char *ciphers,
    struct err *err)
{
	(void)cert;
	(void)key;
	(void)ciphers;
	err_set(err, "TLS is not linked into the fuzzers");
	return NULL;
}

void *
tls_client_ctx_new(const char *ca, int verify, struct err *err)
{
	(void)ca;
	(void)verify;
	err_set(err, "TLS is not linked into the fuzzers");
	return NULL;
}

void
tls_ctx_free(void *ctx)
{
	(void)ctx;
}
