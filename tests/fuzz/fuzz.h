/*
 * fuzz.h - what the libFuzzer targets share.
 *
 * FUZZ_CHECK() aborts with the failed invariant: libFuzzer then keeps the
 * input as a crash (assert() would vanish under NDEBUG).
 */
#ifndef MXG_FUZZ_H
#define MXG_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FUZZ_CHECK(c)	do {						\
	if (!(c)) {							\
		fprintf(fuzz_stderr ? fuzz_stderr : stdout,		\
		    "%s:%d: invariant failed: %s\n", __FILE__, __LINE__,	\
		    #c);						\
		abort();						\
	}								\
} while (0)

/* The real stderr, kept when a target silences the parsers' messages. */
static FILE *fuzz_stderr;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* Parsers print FILE:LINE errors on stderr; keep them out of the run. */
static inline void
fuzz_silence_stderr(void)
{
	FILE *null;

	if (fuzz_stderr != NULL)
		return;
	fuzz_stderr = fdopen(dup(2), "w");
	if (fuzz_stderr != NULL)
		setvbuf(fuzz_stderr, NULL, _IONBF, 0);
	null = fopen("/dev/null", "w");
	if (null != NULL)
		stderr = null;
}

/* A malloc'd copy of exactly n bytes (+1 for a terminator if asked). */
static inline char *
fuzz_copy(const uint8_t *data, size_t n, size_t extra)
{
	char *p = malloc(n + extra ? n + extra : 1);

	if (p == NULL)
		abort();
	if (n > 0)
		memcpy(p, data, n);
	return p;
}

#endif
