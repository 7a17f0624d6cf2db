/*
 * tls.c - OpenSSL contexts.
 */
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "tls.h"
#include "util.h"

void
tls_init(void)
{
	/* OpenSSL 3 initialises itself and needs no locking callbacks. */
	OPENSSL_init_ssl(OPENSSL_INIT_LOAD_SSL_STRINGS |
	    OPENSSL_INIT_LOAD_CRYPTO_STRINGS, NULL);
}

void
tls_last_error(char *out, size_t outlen)
{
	unsigned long e = ERR_get_error();

	if (e == 0)
		str_copy(out, outlen, "unknown TLS error");
	else
		ERR_error_string_n(e, out, outlen);
	ERR_clear_error();
}

void *
tls_server_ctx_new(const char *cert, const char *key, const char *ciphers,
    struct err *err)
{
	SSL_CTX *ctx;
	char buf[256];

	ctx = SSL_CTX_new(TLS_server_method());
	if (ctx == NULL) {
		tls_last_error(buf, sizeof(buf));
		err_set(err, "TLS context: %s", buf);
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION |
	    SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
	/* A backup MX has no use for resumption state across instances. */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_num_tickets(ctx, 0);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		tls_last_error(buf, sizeof(buf));
		err_set(err, "%s: cannot load certificate: %s", cert, buf);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
		tls_last_error(buf, sizeof(buf));
		err_set(err, "%s: cannot load private key: %s", key, buf);
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		err_set(err, "%s: private key does not match %s", key, cert);
		goto fail;
	}
	if (ciphers != NULL && ciphers[0] != '\0' &&
	    SSL_CTX_set_cipher_list(ctx, ciphers) != 1) {
		err_set(err, "tls_ciphers: no usable cipher in \"%s\"", ciphers);
		goto fail;
	}
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

void *
tls_client_ctx_new(const char *ca, int verify, struct err *err)
{
	SSL_CTX *ctx;
	char buf[256];

	ctx = SSL_CTX_new(TLS_client_method());
	if (ctx == NULL) {
		tls_last_error(buf, sizeof(buf));
		err_set(err, "TLS client context: %s", buf);
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	if (ca != NULL && ca[0] != '\0' &&
	    SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1) {
		tls_last_error(buf, sizeof(buf));
		err_set(err, "%s: cannot load CA file: %s", ca, buf);
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_verify(ctx, verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE,
	    NULL);
	return ctx;
}

void
tls_ctx_free(void *ctx)
{
	SSL_CTX_free(ctx);
}

void *
tls_ssl_new(void *ctx)
{
	return SSL_new(ctx);
}

void
tls_describe(void *ssl, char *out, size_t outlen)
{
	const SSL_CIPHER *c = SSL_get_current_cipher(ssl);

	str_fmt(out, outlen, "%s:%s", SSL_get_version(ssl),
	    c ? SSL_CIPHER_get_name(c) : "none");
}
