/*
 * unit.h - helpers shared by the unit tests (cmocka).
 *
 * Every parser case is fed whole, one byte at a time and in random pieces
 * (unit_feed()); the pieces come from a fixed-seed generator, so a failure
 * repeats exactly. Bytes in failure messages are escaped (unit_esc()).
 * stderr (and stdout) can be captured around a call (unit_capture_begin/
 * end) to check the FILE:LINE messages of the config and table parsers.
 * Test data: unit_data_path() finds tests/data via $TESTDATA (set by make
 * check), else relative to $SRCDIR or the current directory.
 */
#ifndef MXG_UNIT_H
#define MXG_UNIT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#ifndef ARRAY_LEN
#define ARRAY_LEN(a)	(sizeof(a) / sizeof((a)[0]))
#endif

/* A string literal and its length: it may hold NUL bytes. */
#define S(lit)		(lit), (sizeof(lit) - 1)

/* Feeding modes for unit_feed(). */
#define FEED_WHOLE	0u
#define FEED_BYTES	1u
#define FEED_RANDOM	2u	/* 2, 3, ...: random pieces, seeded by mode */
#define FEED_MODES	12u	/* whole, bytes and 10 random splits */

static inline const char *
unit_feed_name(unsigned mode)
{
	return mode == FEED_WHOLE ? "whole" : mode == FEED_BYTES ?
	    "byte by byte" : "random pieces";
}

/* xorshift64*: small, fixed-seed, the same on every machine. */
static inline uint32_t
unit_rand(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return (uint32_t)((*s * 2685821657736338717ull) >> 32);
}

static inline uint64_t
unit_seed(unsigned n)
{
	return 0x9e3779b97f4a7c15ull * (n + 1);
}

/*
 * Calls fn(arg, piece, n) over in[0..len) cut as mode says. Stops early
 * when fn returns non-zero; returns that value (0: all fed). A zero-length
 * input gets one call with n = 0.
 */
typedef int (*unit_feed_fn)(void *arg, const char *piece, size_t n);

static inline int
unit_feed(const char *in, size_t len, unsigned mode, unit_feed_fn fn,
    void *arg)
{
	uint64_t seed = unit_seed(mode);
	size_t pos = 0;
	int rc;

	if (len == 0)
		return fn(arg, in, 0);
	while (pos < len) {
		size_t n;

		if (mode == FEED_WHOLE)
			n = len;
		else if (mode == FEED_BYTES)
			n = 1;
		else
			n = 1 + unit_rand(&seed) % (len - pos < 9 ?
			    len - pos : 9);
		if (n > len - pos)
			n = len - pos;
		if ((rc = fn(arg, in + pos, n)) != 0)
			return rc;
		pos += n;
	}
	return 0;
}

/* A growing byte buffer. */
struct ubuf {
	char	*p;
	size_t	 len, cap;
};

static inline void
ubuf_add(struct ubuf *b, const void *p, size_t n)
{
	if (n > (SIZE_MAX >> 2) || b->len > (SIZE_MAX >> 2))
		abort();		/* a test bug; also bounds n for gcc */
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->p = realloc(b->p, b->cap);
		assert_non_null(b->p);
	}
	if (n > 0)
		memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static inline void
ubuf_adds(struct ubuf *b, const char *s)
{
	ubuf_add(b, s, strlen(s));
}

static inline void
ubuf_addf(struct ubuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static inline void
ubuf_addf(struct ubuf *b, const char *fmt, ...)
{
	char tmp[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	assert_true(n >= 0 && (size_t)n < sizeof(tmp));
	ubuf_add(b, tmp, (size_t)n);
}

static inline void
ubuf_reset(struct ubuf *b)
{
	b->len = 0;
	if (b->p != NULL)
		b->p[0] = '\0';
}

static inline void
ubuf_free(struct ubuf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

/*
 * C-escaped bytes for messages: "\r\n" shows as \r\n. Long inputs are
 * cut. Rotates over 4 static buffers, so up to 4 may be in one message.
 */
static inline const char *
unit_esc(const void *p, size_t n)
{
	static char bufs[4][600];
	static unsigned k;
	const unsigned char *s = p;
	char *o = bufs[k++ % 4];
	size_t j = 0;

	for (size_t i = 0; i < n && j < sizeof(bufs[0]) - 8; i++) {
		if (s[i] == '\r')
			j += (size_t)sprintf(o + j, "\\r");
		else if (s[i] == '\n')
			j += (size_t)sprintf(o + j, "\\n");
		else if (s[i] == '\\')
			j += (size_t)sprintf(o + j, "\\\\");
		else if (s[i] < 0x20 || s[i] >= 0x7f)
			j += (size_t)sprintf(o + j, "\\x%02x", s[i]);
		else
			o[j++] = (char)s[i];
	}
	if (j >= sizeof(bufs[0]) - 8)
		j += (size_t)sprintf(o + j, "...");
	o[j] = '\0';
	return o;
}

static inline const char *
unit_escs(const char *s)
{
	return s == NULL ? "(null)" : unit_esc(s, strlen(s));
}

/* Fails with both sides escaped when the byte strings differ. */
#define assert_bytes_equal(got, gotlen, want, wantlen) \
	unit_assert_bytes((got), (gotlen), (want), (wantlen), __FILE__, __LINE__)

static inline void
unit_assert_bytes(const void *got, size_t gotlen, const void *want,
    size_t wantlen, const char *file, int line)
{
	if (gotlen == wantlen && (gotlen == 0 || memcmp(got, want, gotlen) == 0))
		return;
	print_error("%s:%d: bytes differ\n   got (%zu): \"%s\"\n  want (%zu): "
	    "\"%s\"\n", file, line, gotlen, unit_esc(got, gotlen), wantlen,
	    unit_esc(want, wantlen));
	_fail(file, line);
}

/*
 * Output capture: everything written to fd 2 (or 1) between begin and end,
 * stdio and write(2) alike, is returned by end as a malloc'd string.
 */
struct unit_capture {
	int	 fd;
	int	 saved;
	FILE	*file;
};
static struct unit_capture unit_cap_err = { 2, -1, NULL };
static struct unit_capture unit_cap_out = { 1, -1, NULL };

static inline void
unit_capture_fd_begin(struct unit_capture *c)
{
	assert_int_equal(c->saved, -1);
	fflush(stdout);
	fflush(stderr);
	c->file = tmpfile();
	assert_non_null(c->file);
	c->saved = dup(c->fd);
	assert_true(c->saved >= 0);
	assert_true(dup2(fileno(c->file), c->fd) >= 0);
}

static inline char *
unit_capture_fd_end(struct unit_capture *c)
{
	struct ubuf b = { 0 };
	char tmp[4096];
	size_t n;

	fflush(stdout);
	fflush(stderr);
	assert_true(dup2(c->saved, c->fd) >= 0);
	close(c->saved);
	c->saved = -1;
	rewind(c->file);
	ubuf_add(&b, "", 0);
	while ((n = fread(tmp, 1, sizeof(tmp), c->file)) > 0)
		ubuf_add(&b, tmp, n);
	fclose(c->file);
	c->file = NULL;
	return b.p;
}

static inline void
unit_capture_begin(void)
{
	unit_capture_fd_begin(&unit_cap_err);
}

static inline char *
unit_capture_end(void)
{
	return unit_capture_fd_end(&unit_cap_err);
}

static inline void
unit_capture_stdout_begin(void)
{
	unit_capture_fd_begin(&unit_cap_out);
}

static inline char *
unit_capture_stdout_end(void)
{
	return unit_capture_fd_end(&unit_cap_out);
}

/* A file's whole contents, NUL-terminated; fails the test if unreadable. */
static inline char *
unit_read_file(const char *path, size_t *lenp)
{
	struct ubuf b = { 0 };
	char tmp[8192];
	size_t n;
	FILE *fp = fopen(path, "rb");

	if (fp == NULL) {
		print_error("cannot open %s\n", path);
		fail();
	}
	ubuf_add(&b, "", 0);
	while ((n = fread(tmp, 1, sizeof(tmp), fp)) > 0)
		ubuf_add(&b, tmp, n);
	fclose(fp);
	if (lenp != NULL)
		*lenp = b.len;
	return b.p;
}

/* tests/data/<rel> of the source tree. Static buffer. */
static inline const char *
unit_data_path(const char *rel)
{
	static char path[4096];
	const char *d = getenv("TESTDATA"), *src = getenv("SRCDIR");

	if (d != NULL && *d != '\0')
		snprintf(path, sizeof(path), "%s/%s", d, rel);
	else
		snprintf(path, sizeof(path), "%s/tests/data/%s",
		    src != NULL && *src != '\0' ? src : ".", rel);
	return path;
}

/* Writes text to a new temporary file; returns its malloc'd path. */
static inline char *
unit_temp_file(const char *text)
{
	const char *dir = getenv("TMPDIR");
	char *path = malloc(4096);
	int fd;

	assert_non_null(path);
	snprintf(path, 4096, "%s/mxguard-unit-XXXXXX",
	    dir != NULL && *dir != '\0' ? dir : "/tmp");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

#endif
