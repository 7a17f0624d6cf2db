/*
 * data.h - the message stream: end of data, dot-stuffing, bare CR/LF.
 * Pure; unit-tested (whole and byte by byte) and fuzzed.
 *
 * data_scan() reads what a client sends after 354 (or in BDAT chunks) and
 * writes the message as it is meant: dot-unstuffed, every line ended by
 * CRLF. Only CRLF "." CRLF ends the data (RFC 5321 4.1.1.4). A CR or LF
 * that is not part of a CRLF pair is flagged (SMTP smuggling,
 * CVE-2023-51764 class) and written as CRLF, so what leaves mxguard never
 * has a bare line end; a "." line that touches a bare line end is content,
 * never an end of data. The session rejects flagged messages unless
 * bare_newline = normalize.
 *
 * data_stuff() does the opposite for the backend: dot-stuffs CRLF content.
 */
#ifndef MXG_DATA_H
#define MXG_DATA_H

#include <stddef.h>
#include <stdint.h>

#define DATA_SAW_BARE_LF	0x1u
#define DATA_SAW_BARE_CR	0x2u
#define DATA_SAW_NUL		0x4u

enum data_result { DATA_MORE = 0, DATA_END };

struct data_scan {
	int		 state;
	int		 bdat;		/* no dots, no end marker */
	unsigned	 flags;		/* DATA_SAW_* */
	uint64_t	 out_bytes;	/* message bytes written so far */
};

void	data_scan_init(struct data_scan *d, int bdat);
/*
 * Consumes in[0..len). Writes message bytes to out, which must hold
 * 2 * len + 4 bytes (each bare CR/LF may become CRLF; a held CR or dot may
 * be released). *used: input bytes consumed; *outlen: bytes written.
 * DATA_END: the terminator was seen; *used includes it and any input after
 * it is left alone.
 */
enum data_result data_scan(struct data_scan *d, const char *in, size_t len,
	    char *out, size_t *outlen, size_t *used);
/* Is the stream inside a line (a record not yet complete)? */
int	data_scan_in_line(const struct data_scan *d);
/* BDAT LAST: releases a held CR (bare) into out (>= 4 bytes). */
size_t	data_scan_finish(struct data_scan *d, char *out);
#define DATA_OUT_MAX(len)	(2 * (len) + 4)

struct data_stuff {
	int		 at_line_start;
};
void	data_stuff_init(struct data_stuff *st);
/* out must hold 2 * len bytes (worst case: every line is "."). */
size_t	data_stuff(struct data_stuff *st, const char *in, size_t len,
	    char *out);
/* The end of data: CRLF first if the content did not end with one. */
size_t	data_stuff_end(struct data_stuff *st, char out[5]);

#endif
