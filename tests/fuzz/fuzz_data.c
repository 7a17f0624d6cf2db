/*
 * fuzz_data.c - libFuzzer target for proxy/data.c (SMTP smuggling).
 *
 * Input: one byte that picks where the stream is cut in two, then the
 * stream. Both halves go through data_scan() in DATA and in BDAT mode
 * with output buffers of exactly DATA_OUT_MAX(len) bytes. Invariants:
 * - the output never holds a bare CR or LF;
 * - DATA ends exactly at the first CRLF "." CRLF (or "." CRLF at the
 *   start), never elsewhere; BDAT never ends;
 * - the cut changes nothing: same output, flags and end as in one piece;
 * - output and flags are those of an independent line-by-line reading of
 *   RFC 5321 4.1.1.4 / 4.5.2 (the oracle below);
 * - data_stuff() of the output, scanned again, is the same message.
 */
#include "fuzz.h"

#include "data.h"

struct buf {
	char	*p;
	size_t	 len, cap;
};

static void
buf_add(struct buf *b, const char *p, size_t n)
{
	if (b->len + n > b->cap) {
		b->cap = (b->len + n) * 2 + 16;
		b->p = realloc(b->p, b->cap);
		if (b->p == NULL)
			abort();
	}
	if (n > 0)
		memcpy(b->p + b->len, p, n);
	b->len += n;
}

struct result {
	struct buf	 out;
	unsigned	 flags;
	int		 ended;
	size_t		 used;
};

/* One data_scan() call with an exact-size output buffer. */
static int
scan_piece(struct data_scan *d, struct result *res, const char *in,
    size_t len)
{
	size_t cap = DATA_OUT_MAX(len), outlen = 0, used = 0;
	char *out = malloc(cap);
	enum data_result r;

	if (out == NULL)
		abort();
	r = data_scan(d, in, len, out, &outlen, &used);
	FUZZ_CHECK(outlen <= cap);
	FUZZ_CHECK(used <= len);
	FUZZ_CHECK(r == DATA_MORE || r == DATA_END);
	if (r == DATA_MORE)
		FUZZ_CHECK(used == len);
	buf_add(&res->out, out, outlen);
	free(out);
	res->used += used;
	if (r == DATA_END)
		res->ended = 1;
	return r == DATA_END;
}

static void
scan(struct result *res, int bdat, const char *in, size_t len, size_t cut)
{
	struct data_scan d;

	memset(res, 0, sizeof(*res));
	data_scan_init(&d, bdat);
	if (!scan_piece(&d, res, in, cut))
		scan_piece(&d, res, in + cut, len - cut);
	if (bdat) {
		char tail[4];
		size_t n = data_scan_finish(&d, tail);

		FUZZ_CHECK(n <= sizeof(tail));
		buf_add(&res->out, tail, n);
		FUZZ_CHECK(!res->ended);
	}
	res->flags = d.flags;
	FUZZ_CHECK(d.out_bytes == res->out.len);
}

static void
check_no_bare(const struct buf *b)
{
	for (size_t i = 0; i < b->len; i++) {
		if (b->p[i] == '\r')
			FUZZ_CHECK(i + 1 < b->len && b->p[i + 1] == '\n');
		if (b->p[i] == '\n')
			FUZZ_CHECK(i > 0 && b->p[i - 1] == '\r');
	}
}

/* Where the first CRLF.CRLF (or ".\r\n" at the start) ends; 0: none. */
static size_t
first_end(const char *in, size_t len)
{
	if (len >= 3 && memcmp(in, ".\r\n", 3) == 0)
		return 3;
	for (size_t i = 0; i + 5 <= len; i++)
		if (memcmp(in + i, "\r\n.\r\n", 5) == 0)
			return i + 5;
	return 0;
}

/*
 * The oracle, for streams that end (DATA) or are complete (BDAT): lines
 * end at CRLF or a bare CR or LF (written as CRLF); "." alone after a
 * CRLF (or at the start) and ended by CRLF ends DATA; other lines that
 * start with "." and have more lose the dot (DATA only).
 */
static void
oracle(struct result *o, int bdat, const char *in, size_t len)
{
	size_t i = 0;
	int prev_crlf = 1;

	memset(o, 0, sizeof(*o));
	while (i < len) {
		size_t s = i, e, next;
		int crlf = 0;

		while (i < len && in[i] != '\r' && in[i] != '\n')
			i++;
		e = i;
		if (i + 1 < len && in[i] == '\r' && in[i + 1] == '\n') {
			crlf = 1;
			next = i + 2;
		} else if (i < len) {
			o->flags |= in[i] == '\r' ? DATA_SAW_BARE_CR :
			    DATA_SAW_BARE_LF;
			next = i + 1;
		} else
			next = i;
		if (!bdat && crlf && prev_crlf && e - s == 1 && in[s] == '.') {
			o->ended = 1;
			o->used = next;
			return;
		}
		if (memchr(in + s, '\0', e - s) != NULL)
			o->flags |= DATA_SAW_NUL;
		if (!bdat && e - s > 1 && in[s] == '.')
			s++;
		buf_add(&o->out, in + s, e - s);
		if (next > e)
			buf_add(&o->out, "\r\n", 2);
		prev_crlf = crlf;
		i = next;
	}
	o->used = len;
}

static void
same(const struct result *a, const struct result *b)
{
	FUZZ_CHECK(a->ended == b->ended);
	FUZZ_CHECK(a->used == b->used);
	FUZZ_CHECK(a->flags == b->flags);
	FUZZ_CHECK(a->out.len == b->out.len);
	FUZZ_CHECK(a->out.len == 0 || memcmp(a->out.p, b->out.p,
	    a->out.len) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in;
	size_t len, cut;

	if (size < 1)
		return 0;
	in = (const char *)data + 1;
	len = size - 1;
	cut = len > 0 ? data[0] % (len + 1) : 0;

	for (int bdat = 0; bdat < 2; bdat++) {
		struct result split, whole, o;

		scan(&split, bdat, in, len, cut);
		scan(&whole, bdat, in, len, len);
		same(&split, &whole);
		check_no_bare(&split.out);
		if (!bdat) {
			size_t end = first_end(in, len);

			/* ends exactly at the first CRLF.CRLF, or not at all */
			FUZZ_CHECK(split.ended == (end != 0));
			FUZZ_CHECK(!split.ended || split.used == end);
		} else
			FUZZ_CHECK(split.used == len);
		if (split.ended || bdat) {
			oracle(&o, bdat, in, split.used);
			FUZZ_CHECK(o.ended == split.ended);
			same(&o, &split);
			free(o.out.p);
		}
		/* what goes to the backend reads back as the same message */
		if (split.ended) {
			struct data_stuff st;
			char *stuffed = malloc(2 * split.out.len + 5);
			size_t n;
			struct result again;

			if (stuffed == NULL)
				abort();
			data_stuff_init(&st);
			n = data_stuff(&st, split.out.p, split.out.len, stuffed);
			FUZZ_CHECK(n <= 2 * split.out.len);
			n += data_stuff_end(&st, stuffed + n);
			scan(&again, 0, stuffed, n, n / 2);
			FUZZ_CHECK(again.ended && again.used == n);
			FUZZ_CHECK(again.flags == (split.flags & DATA_SAW_NUL));
			FUZZ_CHECK(again.out.len == split.out.len);
			FUZZ_CHECK(again.out.len == 0 || memcmp(again.out.p,
			    split.out.p, split.out.len) == 0);
			free(again.out.p);
			free(stuffed);
		}
		free(split.out.p);
		free(whole.out.p);
	}
	return 0;
}
