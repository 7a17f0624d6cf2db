/*
 * smtp_reply.h - SMTP replies as values. Pure; unit-tested and fuzzed.
 *
 * reply_parse() takes what a backend sends: one complete reply of at most
 * REPLY_LINES_MAX lines of at most REPLY_LINE_MAX bytes, all with the same
 * code. Control characters in the text are replaced by '?', so a reply is
 * safe to log and to relay. CRLF or bare LF line ends are both accepted
 * from the backend (it is not the untrusted side; we always send CRLF).
 * Ownership: a parsed reply owns its buffer; reply_clear() frees it.
 */
#ifndef MXG_SMTP_REPLY_H
#define MXG_SMTP_REPLY_H

#include <stddef.h>

#define REPLY_LINES_MAX		64
#define REPLY_LINE_MAX		2048

enum reply_result {
	REPLY_OK = 0,
	REPLY_INCOMPLETE,	/* need more bytes */
	REPLY_TOO_LONG,		/* a line or the line count over the limit */
	REPLY_SYNTAX		/* not "NNN[ -]text", or codes differ */
};

struct reply {
	int	 code;			/* 200..599 */
	char	 enh[16];		/* "2.1.0" if the first line has one */
	size_t	 nlines;
	char	*lines[REPLY_LINES_MAX];/* text after "NNN-"/"NNN ", terminated */
	char	*buf;			/* owned storage for lines */
};

/*
 * Looks for one complete reply at the start of buf[0..len). REPLY_OK: *r
 * filled, *used = bytes it took. Any other result leaves *r empty.
 */
enum reply_result reply_parse(const char *buf, size_t len, struct reply *r,
	    size_t *used);
void	 reply_clear(struct reply *r);
/* The class digit, 2..5. */
#define reply_class(r)	((r)->code / 100)

/*
 * Writes a reply as it goes on the wire ("NNN-..." lines then "NNN ...",
 * CRLF each) into out; text may hold several lines separated by '\n'.
 * enh (may be NULL or "") is put at the start of each line when given.
 * Returns the length, or 0 if out is too small.
 */
size_t	 reply_format(char *out, size_t outlen, int code, const char *enh,
	    const char *text);
/* The same for a parsed reply (relayed unchanged but for sanitising). */
size_t	 reply_format_parsed(char *out, size_t outlen, const struct reply *r);
/* Is s a valid enhanced status code "c.s.d" whose class is cls? */
int	 reply_enh_valid(const char *s, size_t len, int cls);
/* The first line's text without the enhanced code, for logs. */
const char *reply_text(const struct reply *r);

#endif
