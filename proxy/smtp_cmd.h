/*
 * smtp_cmd.h - one SMTP command line -> struct cmd. Pure: no I/O, no
 * allocation, no state; unit-tested and fuzzed.
 *
 * cmd_line_end() finds where the first line of a buffer ends; cmd_parse()
 * parses one line (without its line end) in place: struct cmd points into
 * the caller's buffer, which must stay alive and unchanged while cmd is used.
 * Bounds: a path of at most SMTP_PATH_MAX bytes, at most SMTP_PARAMS_MAX
 * ESMTP parameters; anything else is CMD_SYNTAX, never truncation.
 */
#ifndef MXG_SMTP_CMD_H
#define MXG_SMTP_CMD_H

#include <stddef.h>
#include <stdint.h>

#define SMTP_LINE_MIN		512	/* RFC 5321 4.5.3.1.4 */
#define SMTP_PATH_MAX		256	/* RFC 5321 4.5.3.1.3, with <> */
#define SMTP_DOMAIN_MAX		255
#define SMTP_PARAMS_MAX		16

enum smtp_verb {
	VERB_UNKNOWN = 0, VERB_HELO, VERB_EHLO, VERB_MAIL, VERB_RCPT,
	VERB_DATA, VERB_BDAT, VERB_RSET, VERB_NOOP, VERB_QUIT, VERB_VRFY,
	VERB_EXPN, VERB_HELP, VERB_STARTTLS, VERB_AUTH, VERB_ETRN,
	VERB_COUNT
};

enum cmd_result {
	CMD_OK = 0,
	CMD_INCOMPLETE,		/* no line end yet */
	CMD_TOO_LONG,		/* no line end within the limit */
	CMD_SYNTAX,		/* malformed arguments */
	CMD_BARE_LF,		/* line ended by LF without CR */
	CMD_NUL,		/* NUL byte in the line */
	CMD_EMPTY		/* nothing but white space */
};

struct smtp_param {
	const char	*key;		/* terminated in place */
	const char	*value;		/* NULL when the keyword has no "=" */
};

struct cmd {
	enum smtp_verb	 verb;
	const char	*arg;		/* after the verb and its space; "" if none */
	const char	*path;		/* MAIL/RCPT: inside <>, source route gone */
	size_t		 pathlen;
	int		 has_8bit;	/* a byte >= 0x80 in the path */
	struct smtp_param params[SMTP_PARAMS_MAX];
	size_t		 nparams;
	uint64_t	 bdat_size;	/* BDAT */
	int		 bdat_last;
	const char	*syntax;	/* CMD_SYNTAX: what was wrong, for the reply */
};

/*
 * Finds the first line end in buf[0..len). CMD_OK or CMD_BARE_LF: the line
 * is *linelen bytes including its LF (and CR). CMD_INCOMPLETE: no LF and
 * len < max. CMD_TOO_LONG: no LF within max bytes (*linelen = max).
 */
enum cmd_result cmd_line_end(const char *buf, size_t len, size_t max,
	    size_t *linelen);
/*
 * Parses line[0..len) (no CR/LF). Writes NULs into line to terminate
 * fields; line[len] must be writable (the caller terminates it).
 */
enum cmd_result cmd_parse(char *line, size_t len, struct cmd *out);
const char	*cmd_verb_name(enum smtp_verb v);
/* Value of an ESMTP parameter (case-insensitive key); NULL if absent, ""
 * if present without a value. */
const char	*cmd_param(const struct cmd *c, const char *key);
/* Checks an xtext value (RFC 3461 4): printable, "+XX" escapes. */
int		 cmd_xtext_ok(const char *v);

#endif
