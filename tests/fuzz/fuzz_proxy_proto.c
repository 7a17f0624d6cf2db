/*
 * fuzz_proxy_proto.c - libFuzzer target for proxy/proxy_proto.c.
 *
 * The input is the first bytes of a connection from a load balancer.
 * proxy_parse() must:
 * - never use more than it was given (used <= len), nor anything unless
 *   it says OK or BAD, and give a reason for BAD;
 * - agree with proxy_looks_like() about PROXY_NONE;
 * - on OK: version 1 or 2, src and dst of one family, AF_UNSPEC, AF_INET
 *   or AF_INET6; the header alone (the first `used` bytes) parses the
 *   same, and every shorter prefix of it is PROXY_INCOMPLETE (a header is
 *   never taken before it is complete, whatever follows it);
 * - round trip: for TCP over IPv4/IPv6, proxy_build_v1() and
 *   proxy_build_v2() of the result parse back to exactly the same
 *   addresses and ports, using every byte built.
 */
#include "fuzz.h"

#include <netinet/in.h>

#include "proxy_proto.h"

static int
same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return 0;
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;

		return x->sin_port == y->sin_port &&
		    memcmp(&x->sin_addr, &y->sin_addr, 4) == 0;
	}
	if (a->ss_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const void *)a,
		    *y = (const void *)b;

		return x->sin6_port == y->sin6_port &&
		    memcmp(&x->sin6_addr, &y->sin6_addr, 16) == 0;
	}
	return 1;			/* AF_UNSPEC: no addresses */
}

static void
check_ok(const uint8_t *data, size_t used, const struct proxy_info *pi)
{
	struct proxy_info p2;
	size_t u2 = 0;

	FUZZ_CHECK(pi->version == 1 || pi->version == 2);
	FUZZ_CHECK(pi->src.ss_family == pi->dst.ss_family);
	FUZZ_CHECK(pi->src.ss_family == AF_UNSPEC ||
	    pi->src.ss_family == AF_INET || pi->src.ss_family == AF_INET6);
	FUZZ_CHECK(used > 0);
	if (pi->version == 1)
		FUZZ_CHECK(used <= PROXY_V1_MAX);
	else
		FUZZ_CHECK(used >= 16 && used <= 16 + PROXY_V2_MAX);

	/* the header by itself */
	FUZZ_CHECK(proxy_parse(data, used, &p2, &u2) == PROXY_OK);
	FUZZ_CHECK(u2 == used && p2.version == pi->version);
	FUZZ_CHECK(same_addr(&p2.src, &pi->src) && same_addr(&p2.dst, &pi->dst));

	/* never complete before its last byte */
	for (size_t n = 1; n < used; n++) {
		u2 = 12345;
		FUZZ_CHECK(proxy_parse(data, n, &p2, &u2) == PROXY_INCOMPLETE);
		FUZZ_CHECK(u2 == 0);
	}
}

static void
round_trip(const struct proxy_info *pi)
{
	char v1[PROXY_V1_MAX + 32];
	uint8_t v2[16 + 36 + 8];
	struct proxy_info p2;
	size_t n, used = 0;

	if (pi->src.ss_family != AF_INET && pi->src.ss_family != AF_INET6)
		return;
	n = proxy_build_v1(v1, sizeof(v1), (const struct sockaddr *)&pi->src,
	    (const struct sockaddr *)&pi->dst);
	FUZZ_CHECK(n > 0 && n <= PROXY_V1_MAX);
	FUZZ_CHECK(proxy_parse((const uint8_t *)v1, n, &p2, &used) ==
	    PROXY_OK);
	FUZZ_CHECK(used == n && p2.version == 1);
	FUZZ_CHECK(same_addr(&p2.src, &pi->src) && same_addr(&p2.dst, &pi->dst));
	/* too small by one: refused, not cut */
	FUZZ_CHECK(proxy_build_v1(v1, n, (const struct sockaddr *)&pi->src,
	    (const struct sockaddr *)&pi->dst) == 0);

	used = 0;
	n = proxy_build_v2(v2, sizeof(v2), (const struct sockaddr *)&pi->src,
	    (const struct sockaddr *)&pi->dst);
	FUZZ_CHECK(n == (pi->src.ss_family == AF_INET ? 28u : 52u));
	FUZZ_CHECK(proxy_parse(v2, n, &p2, &used) == PROXY_OK);
	FUZZ_CHECK(used == n && p2.version == 2);
	FUZZ_CHECK(same_addr(&p2.src, &pi->src) && same_addr(&p2.dst, &pi->dst));
	FUZZ_CHECK(proxy_build_v2(v2, n - 1, (const struct sockaddr *)&pi->src,
	    (const struct sockaddr *)&pi->dst) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proxy_info pi;
	size_t used = 12345;
	enum proxy_result r;
	uint8_t *copy;

	/* an exact-size copy: ASan sees any read past the end */
	copy = (uint8_t *)fuzz_copy(data, size, 0);
	r = proxy_parse(copy, size, &pi, &used);
	FUZZ_CHECK(r == PROXY_OK || r == PROXY_INCOMPLETE || r == PROXY_BAD ||
	    r == PROXY_NONE);
	FUZZ_CHECK(used <= size);
	if (size > 0)
		FUZZ_CHECK((r == PROXY_NONE) == !proxy_looks_like(copy, size));
	else
		FUZZ_CHECK(r == PROXY_INCOMPLETE);
	switch (r) {
	case PROXY_OK:
		check_ok(copy, used, &pi);
		round_trip(&pi);
		break;
	case PROXY_BAD:
		FUZZ_CHECK(pi.why != NULL && pi.why[0] != '\0');
		break;
	default:
		FUZZ_CHECK(used == 0);
		break;
	}
	free(copy);
	return 0;
}
