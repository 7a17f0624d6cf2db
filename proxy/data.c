/*
 * data.c - DATA/BDAT stream scanning and dot-stuffing.
 */
#include <string.h>

#include "data.h"

/*
 * States. "Real" line starts follow a CRLF (or the start of data); "bare"
 * ones follow a normalised bare CR or LF. Only a dot at a real line start
 * followed by CRLF ends the data.
 */
enum {
	S_LS = 0,	/* real line start */
	S_TEXT,		/* inside a line */
	S_CR,		/* a CR is held, not yet written */
	S_DOT,		/* '.' at a real line start, held */
	S_DOT_CR,	/* ".\r" at a real line start, held */
	S_LS_BARE,	/* line start after a bare line end */
	S_DOT_BARE,	/* '.' at a bare line start, held */
	S_DOT_BARE_CR	/* ".\r" at a bare line start, held */
};

void
data_scan_init(struct data_scan *d, int bdat)
{
	memset(d, 0, sizeof(*d));
	d->bdat = bdat;
	d->state = bdat ? S_TEXT : S_LS;
}

#define PUT(c)		(out[o++] = (char)(c))
#define PUT_CRLF()	do { PUT('\r'); PUT('\n'); } while (0)

enum data_result
data_scan(struct data_scan *d, const char *in, size_t len, char *out,
    size_t *outlen, size_t *used)
{
	size_t i = 0, o = 0;
	int st = d->state;
	enum data_result res = DATA_MORE;

	while (i < len) {
		unsigned char c = (unsigned char)in[i];

		switch (st) {
		case S_TEXT: {
			/* Fast path: copy up to the next CR or LF. */
			size_t j = i;

			while (j < len && in[j] != '\r' && in[j] != '\n')
				j++;
			if (j > i) {
				if (memchr(in + i, '\0', j - i) != NULL)
					d->flags |= DATA_SAW_NUL;
				memcpy(out + o, in + i, j - i);
				o += j - i;
				i = j;
				continue;
			}
			i++;
			if (c == '\r')
				st = S_CR;
			else {				/* bare LF */
				d->flags |= DATA_SAW_BARE_LF;
				PUT_CRLF();
				st = d->bdat ? S_TEXT : S_LS_BARE;
			}
			continue;
		}
		case S_CR:
			if (c == '\n') {
				i++;
				PUT_CRLF();
				st = d->bdat ? S_TEXT : S_LS;
				continue;
			}
			/* the held CR was bare; this byte is not consumed yet */
			d->flags |= DATA_SAW_BARE_CR;
			PUT_CRLF();
			st = d->bdat ? S_TEXT : S_LS_BARE;
			continue;
		case S_LS:
		case S_LS_BARE:
			if (c == '.') {
				i++;
				st = st == S_LS ? S_DOT : S_DOT_BARE;
				continue;
			}
			st = S_TEXT;
			continue;		/* reprocess as text */
		case S_DOT:
		case S_DOT_BARE:
			if (c == '\r') {
				i++;
				st = st == S_DOT ? S_DOT_CR : S_DOT_BARE_CR;
				continue;
			}
			if (c == '\n') {
				/* "." then bare LF: content, not an end */
				i++;
				d->flags |= DATA_SAW_BARE_LF;
				PUT('.');
				PUT_CRLF();
				st = S_LS_BARE;
				continue;
			}
			/*
			 * ".." is a stuffed dot; ".x" loses its dot too
			 * (RFC 5321 4.5.2). Either way the dot goes.
			 */
			if (c == '.') {
				i++;
				PUT('.');
			}
			st = S_TEXT;
			continue;
		case S_DOT_CR:
			if (c == '\n') {
				i++;
				res = DATA_END;
				goto out;
			}
			/* ".\r" then not LF: a "." line with a bare CR end */
			d->flags |= DATA_SAW_BARE_CR;
			PUT('.');
			PUT_CRLF();
			st = S_LS_BARE;
			continue;
		case S_DOT_BARE_CR:
			if (c == '\n') {
				/* "\n.\r\n": content; the line end is real */
				i++;
				PUT('.');
				PUT_CRLF();
				st = S_LS;
				continue;
			}
			d->flags |= DATA_SAW_BARE_CR;
			PUT('.');
			PUT_CRLF();
			st = S_LS_BARE;
			continue;
		}
	}
out:
	d->state = st;
	d->out_bytes += o;
	*outlen = o;
	*used = i;
	return res;
}

int
data_scan_in_line(const struct data_scan *d)
{
	return d->state != S_LS && d->state != S_LS_BARE;
}

size_t
data_scan_finish(struct data_scan *d, char *out)
{
	size_t o = 0;

	if (d->state == S_CR) {
		d->flags |= DATA_SAW_BARE_CR;
		PUT_CRLF();
		d->state = S_TEXT;
	}
	d->out_bytes += o;
	return o;
}

void
data_stuff_init(struct data_stuff *st)
{
	st->at_line_start = 1;
}

size_t
data_stuff(struct data_stuff *st, const char *in, size_t len, char *out)
{
	size_t i = 0, o = 0;

	while (i < len) {
		const char *nl;
		size_t n;

		if (st->at_line_start && in[i] == '.')
			out[o++] = '.';
		nl = memchr(in + i, '\n', len - i);
		n = nl ? (size_t)(nl - (in + i)) + 1 : len - i;
		memcpy(out + o, in + i, n);
		o += n;
		i += n;
		st->at_line_start = nl != NULL;
	}
	return o;
}

size_t
data_stuff_end(struct data_stuff *st, char out[5])
{
	if (st->at_line_start) {
		memcpy(out, ".\r\n", 3);
		return 3;
	}
	memcpy(out, "\r\n.\r\n", 5);
	return 5;
}
