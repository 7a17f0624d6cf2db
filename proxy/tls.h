/*
 * tls.h - OpenSSL contexts for STARTTLS towards clients and towards the
 * backend. Contexts belong to a struct config, so a reload brings new
 * certificates while running sessions keep theirs (OpenSSL refcounts the
 * SSL_CTX under each SSL).
 */
#ifndef MXG_TLS_H
#define MXG_TLS_H

#include <stddef.h>

#include "util.h"

void	 tls_init(void);
/* SSL_CTX * for the server side; NULL + err (names the file) on error. */
void	*tls_server_ctx_new(const char *cert, const char *key,
	    const char *ciphers, struct err *err);
/* SSL_CTX * for the client side; ca may be "" (no verification). */
void	*tls_client_ctx_new(const char *ca, int verify, struct err *err);
void	 tls_ctx_free(void *ctx);
/* A new SSL * for ctx; NULL on failure. */
void	*tls_ssl_new(void *ctx);
/* "TLSv1.3:TLS_AES_256_GCM_SHA384" for logs. */
void	 tls_describe(void *ssl, char *out, size_t outlen);
/* The last OpenSSL error as text (consumes the queue). */
void	 tls_last_error(char *out, size_t outlen);

#endif
