/*
 * ehlo.h - the backend's EHLO capabilities x what mxguard honours -> the
 * EHLO reply clients get. Pure; unit-tested.
 *
 * mxguard offers an extension only when it relays it faithfully: PIPELINING,
 * 8BITMIME, ENHANCEDSTATUSCODES, SMTPUTF8 and DSN only if the backend has
 * them (their replies and parameters pass through); SIZE is the lower of
 * both limits; STARTTLS and CHUNKING are mxguard's own.
 */
#ifndef MXG_EHLO_H
#define MXG_EHLO_H

#include <stddef.h>
#include <stdint.h>

struct reply;

enum ehlo_ext {
	EXT_PIPELINING		= 1u << 0,
	EXT_SIZE		= 1u << 1,
	EXT_8BITMIME		= 1u << 2,
	EXT_ENHANCEDSTATUSCODES	= 1u << 3,
	EXT_SMTPUTF8		= 1u << 4,
	EXT_DSN			= 1u << 5,
	EXT_STARTTLS		= 1u << 6,
	EXT_CHUNKING		= 1u << 7,
	EXT_BINARYMIME		= 1u << 8,
	EXT_XCLIENT		= 1u << 9,
	EXT_XFORWARD		= 1u << 10,
	EXT_AUTH		= 1u << 11
};

#define EHLO_XCLIENT_MAX	128

struct ehlo_caps {
	unsigned	 ext;		/* EXT_* bits */
	uint64_t	 size;		/* SIZE n; 0: no number given */
	char		 xclient[EHLO_XCLIENT_MAX];	/* "ADDR NAME ..." */
};

struct ehlo_policy {
	unsigned	 want;		/* EXT_* bits mxguard is willing to offer */
	uint64_t	 max_size;	/* mxguard's own message size limit */
};

/* Reads a 250 reply to EHLO (its first line is the greeting name). */
void	 ehlo_parse(const struct reply *r, struct ehlo_caps *out);
/* What to offer: bits, and the SIZE to announce in *size. */
unsigned ehlo_offer(const struct ehlo_caps *backend,
	    const struct ehlo_policy *p, uint64_t *size);
/*
 * The whole EHLO reply, CRLF lines: "250-<hostname>" then one line per
 * extension in a fixed order. Returns the length, 0 if out is too small.
 */
size_t	 ehlo_format(char *out, size_t outlen, const char *hostname,
	    unsigned offer, uint64_t size);
/* Does the backend's XCLIENT list the attribute? */
int	 ehlo_xclient_has(const struct ehlo_caps *c, const char *attr);

#endif
