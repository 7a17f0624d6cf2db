/*
 * proxy_proto.h - the PROXY protocol (HAProxy's proxy-protocol.txt, v1 text
 * and v2 binary): parse what a trusted load balancer sends in front of a
 * client connection, and build the header mxguard sends to a backend.
 * Pure; unit-tested and fuzzed.
 *
 * proxy_parse() looks at the first bytes of a connection. v1 is one line
 * of at most 107 bytes; v2 a 16-byte header and at most PROXY_V2_MAX bytes
 * of addresses and TLVs (TLVs are skipped). Only TCP over IPv4/IPv6 gives
 * addresses; LOCAL (v2) and UNKNOWN (v1) give family AF_UNSPEC: the
 * connection's own addresses stand.
 */
#ifndef MXG_PROXY_PROTO_H
#define MXG_PROXY_PROTO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define PROXY_V1_MAX	107
#define PROXY_V2_MAX	1024	/* addresses + TLVs we are willing to read */

enum proxy_result {
	PROXY_OK = 0,
	PROXY_INCOMPLETE,	/* need more bytes */
	PROXY_BAD,		/* a PROXY header, but malformed or too long */
	PROXY_NONE		/* not a PROXY header at all */
};

struct proxy_info {
	int		 version;	/* 1 or 2 */
	struct sockaddr_storage src;	/* ss_family AF_UNSPEC: none given */
	struct sockaddr_storage dst;
	const char	*why;		/* PROXY_BAD: what was wrong */
};

enum proxy_result proxy_parse(const uint8_t *buf, size_t len,
	    struct proxy_info *out, size_t *used);
/* Could buf (len > 0) be the start of a PROXY header? */
int	 proxy_looks_like(const uint8_t *buf, size_t len);
/* Headers for a backend; src/dst of the same family. 0: out too small
 * or the families differ. */
size_t	 proxy_build_v1(char *out, size_t outlen, const struct sockaddr *src,
	    const struct sockaddr *dst);
size_t	 proxy_build_v2(uint8_t *out, size_t outlen,
	    const struct sockaddr *src, const struct sockaddr *dst);

#endif
