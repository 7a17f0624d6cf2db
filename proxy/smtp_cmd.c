/*
 * smtp_cmd.c - command line parsing (RFC 5321 4.1, RFC 1869, RFC 3030).
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "smtp_cmd.h"

static const struct {
	const char	*name;
	size_t		 len;
	enum smtp_verb	 verb;
} verbs[] = {
	{ "HELO", 4, VERB_HELO }, { "EHLO", 4, VERB_EHLO },
	{ "MAIL", 4, VERB_MAIL }, { "RCPT", 4, VERB_RCPT },
	{ "DATA", 4, VERB_DATA }, { "BDAT", 4, VERB_BDAT },
	{ "RSET", 4, VERB_RSET }, { "NOOP", 4, VERB_NOOP },
	{ "QUIT", 4, VERB_QUIT }, { "VRFY", 4, VERB_VRFY },
	{ "EXPN", 4, VERB_EXPN }, { "HELP", 4, VERB_HELP },
	{ "STARTTLS", 8, VERB_STARTTLS }, { "AUTH", 4, VERB_AUTH },
	{ "ETRN", 4, VERB_ETRN },
};

static enum cmd_result parse_path(char *p, struct cmd *c, int allow_empty,
		    char **rest);
static enum cmd_result parse_params(char *p, struct cmd *c);

enum cmd_result
cmd_line_end(const char *buf, size_t len, size_t max, size_t *linelen)
{
	size_t lim = len < max ? len : max;
	const char *lf = memchr(buf, '\n', lim);

	if (lf == NULL) {
		if (len >= max) {
			*linelen = max;
			return CMD_TOO_LONG;
		}
		return CMD_INCOMPLETE;
	}
	*linelen = (size_t)(lf - buf) + 1;
	if (lf == buf || lf[-1] != '\r')
		return CMD_BARE_LF;
	return CMD_OK;
}

const char *
cmd_verb_name(enum smtp_verb v)
{
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (verbs[i].verb == v)
			return verbs[i].name;
	return "UNKNOWN";
}

static int
is_sp(int c)
{
	return c == ' ' || c == '\t';
}

enum cmd_result
cmd_parse(char *line, size_t len, struct cmd *c)
{
	char *p, *rest;
	size_t vlen;

	memset(c, 0, sizeof(*c));
	c->arg = "";
	if (memchr(line, '\0', len) != NULL)
		return CMD_NUL;
	line[len] = '\0';
	/* Trailing white space is common from broken clients; ignore it. */
	while (len > 0 && is_sp(line[len - 1]))
		line[--len] = '\0';
	p = line;
	while (is_sp(*p))
		p++;
	if (*p == '\0')
		return CMD_EMPTY;
	vlen = 0;
	while (p[vlen] != '\0' && !is_sp(p[vlen]))
		vlen++;
	c->verb = VERB_UNKNOWN;
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (vlen == verbs[i].len && strncasecmp(p, verbs[i].name, vlen) == 0) {
			c->verb = verbs[i].verb;
			break;
		}
	/* "MAIL FROM:" may have the colon glued to the verb's argument */
	p += vlen;
	if (*p != '\0') {
		*p++ = '\0';
		while (is_sp(*p))
			p++;
	}
	c->arg = p;

	switch (c->verb) {
	case VERB_UNKNOWN:
		return CMD_OK;
	case VERB_HELO:
	case VERB_EHLO:
		if (*p == '\0') {
			c->syntax = "hostname required";
			return CMD_SYNTAX;
		}
		for (const char *q = p; *q; q++)
			if ((unsigned char)*q < 0x20 || *q == 0x7f) {
				c->syntax = "control character in hostname";
				return CMD_SYNTAX;
			}
		return CMD_OK;
	case VERB_MAIL:
	case VERB_RCPT: {
		const char *kw = c->verb == VERB_MAIL ? "FROM:" : "TO:";
		size_t kwlen = strlen(kw);

		if (strncasecmp(p, kw, kwlen) != 0) {
			c->syntax = c->verb == VERB_MAIL ?
			    "MAIL FROM:<address>" : "RCPT TO:<address>";
			return CMD_SYNTAX;
		}
		p += kwlen;
		while (is_sp(*p))		/* tolerated, as Postfix does */
			p++;
		if (parse_path(p, c, c->verb == VERB_MAIL, &rest) != CMD_OK)
			return CMD_SYNTAX;
		return parse_params(rest, c);
	}
	case VERB_BDAT: {
		uint64_t n = 0;
		char *q = p;

		if (!isdigit((unsigned char)*q)) {
			c->syntax = "BDAT chunk-size [LAST]";
			return CMD_SYNTAX;
		}
		for (; isdigit((unsigned char)*q); q++) {
			if (n > (UINT64_MAX - 9) / 10) {
				c->syntax = "chunk size too large";
				return CMD_SYNTAX;
			}
			n = n * 10 + (uint64_t)(*q - '0');
		}
		c->bdat_size = n;
		/* RFC 3030 2: chunk-size SP end-marker; not "10LAST" */
		if (*q != '\0' && !is_sp(*q)) {
			c->syntax = "BDAT chunk-size [LAST]";
			return CMD_SYNTAX;
		}
		while (is_sp(*q))
			q++;
		if (*q == '\0')
			return CMD_OK;
		if (strcasecmp(q, "LAST") == 0) {
			c->bdat_last = 1;
			return CMD_OK;
		}
		c->syntax = "BDAT chunk-size [LAST]";
		return CMD_SYNTAX;
	}
	case VERB_DATA:
	case VERB_RSET:
	case VERB_QUIT:
	case VERB_STARTTLS:
		if (*p != '\0') {
			c->syntax = "no parameters allowed";
			return CMD_SYNTAX;
		}
		return CMD_OK;
	case VERB_VRFY:
	case VERB_EXPN:
	case VERB_ETRN:
		if (*p == '\0') {
			c->syntax = "argument required";
			return CMD_SYNTAX;
		}
		return CMD_OK;
	default:
		return CMD_OK;
	}
}

/* RFC 5321 atext plus '.' for dot-strings, loosely. */
static int
is_atext(unsigned char ch)
{
	return isalnum(ch) || strchr("!#$%&'*+-/=?^_`{|}~.", ch) != NULL ||
	    ch >= 0x80;
}

static enum cmd_result
parse_path(char *p, struct cmd *c, int allow_empty, char **rest)
{
	char *start, *end, *q, *at = NULL;
	int quoted = 0, bracket = (*p == '<');

	if (!bracket) {
		/* Unbracketed paths: tolerated, as Postfix does by default. */
		start = p;
		while (*p && !is_sp(*p))
			p++;
		end = p;
		if (end == start) {
			c->syntax = "address required";
			return CMD_SYNTAX;
		}
	} else {
		start = ++p;
		for (; *p; p++) {
			if (quoted && *p == '\\' && p[1] != '\0') {
				p++;
				continue;
			}
			if (*p == '"')
				quoted = !quoted;
			else if (!quoted && *p == '>')
				break;
		}
		if (*p != '>') {
			c->syntax = "missing > after the address";
			return CMD_SYNTAX;
		}
		end = p++;
	}
	if ((size_t)(end - start) + 2 > SMTP_PATH_MAX) {
		c->syntax = "address too long";
		return CMD_SYNTAX;
	}
	/* Source route "@a,@b:user@dom": accepted and ignored (RFC 5321 C). */
	if (start < end && *start == '@') {
		q = start;
		while (q < end && *q != ':')
			q++;
		if (q == end) {
			c->syntax = "bad source route";
			return CMD_SYNTAX;
		}
		start = q + 1;
	}
	/* Validate: local-part (dot-string or quoted) '@' domain. */
	quoted = 0;
	for (q = start; q < end; q++) {
		unsigned char ch = (unsigned char)*q;

		if (ch < 0x20 || ch == 0x7f) {
			c->syntax = "control character in address";
			return CMD_SYNTAX;
		}
		if (ch >= 0x80)
			c->has_8bit = 1;
		if (quoted) {
			if (ch == '\\' && q + 1 < end) {
				/* the escaped byte is checked like any other */
				unsigned char e = (unsigned char)*++q;

				if (e < 0x20 || e == 0x7f) {
					c->syntax = "control character in address";
					return CMD_SYNTAX;
				}
				if (e >= 0x80)
					c->has_8bit = 1;
			} else if (ch == '"')
				quoted = 0;
			continue;
		}
		if (ch == '"' && (q == start || q[-1] == '.'))
			quoted = 1;
		else if (ch == '@')
			at = q;
		else if (at == NULL && !is_atext(ch)) {
			c->syntax = "bad character in address";
			return CMD_SYNTAX;
		} else if (at != NULL && !(isalnum(ch) || ch == '.' ||
		    ch == '-' || ch == '_' || ch == '[' || ch == ']' ||
		    ch == ':' || ch >= 0x80)) {
			c->syntax = "bad character in domain";
			return CMD_SYNTAX;
		}
	}
	if (quoted) {
		c->syntax = "unterminated quoted string";
		return CMD_SYNTAX;
	}
	if (end == start) {
		if (!allow_empty) {
			c->syntax = "address required";
			return CMD_SYNTAX;
		}
	} else if (at == NULL) {
		/* Only "postmaster" may come without a domain (RCPT). */
		if (allow_empty || (size_t)(end - start) != 10 ||
		    strncasecmp(start, "postmaster", 10) != 0) {
			c->syntax = "domain required";
			return CMD_SYNTAX;
		}
	} else if (at == start || at + 1 == end) {
		c->syntax = "empty local part or domain";
		return CMD_SYNTAX;
	} else if (end - (at + 1) > SMTP_DOMAIN_MAX) {
		c->syntax = "domain too long";
		return CMD_SYNTAX;
	}
	if (bracket && *p != '\0' && !is_sp(*p)) {
		c->syntax = "junk after the address";
		return CMD_SYNTAX;
	}
	/* p: just after '>' (bracketed) or at the space/NUL (bare) */
	if (!bracket && *p != '\0')
		p++;
	*end = '\0';
	c->path = start;
	c->pathlen = (size_t)(end - start);
	*rest = p;
	return CMD_OK;
}

static enum cmd_result
parse_params(char *p, struct cmd *c)
{
	while (*p != '\0') {
		char *k, *eq;

		while (is_sp(*p))
			*p++ = '\0';
		if (*p == '\0')
			break;
		if (c->nparams == SMTP_PARAMS_MAX) {
			c->syntax = "too many parameters";
			return CMD_SYNTAX;
		}
		k = p;
		while (*p != '\0' && !is_sp(*p))
			p++;
		if (*p != '\0')
			*p++ = '\0';
		if (!isalnum((unsigned char)*k)) {
			c->syntax = "bad parameter";
			return CMD_SYNTAX;
		}
		eq = strchr(k, '=');
		if (eq != NULL)
			*eq = '\0';
		for (char *q = k + 1; *q; q++)
			if (!isalnum((unsigned char)*q) && *q != '-') {
				c->syntax = "bad parameter keyword";
				return CMD_SYNTAX;
			}
		if (eq != NULL) {
			if (eq[1] == '\0') {
				c->syntax = "empty parameter value";
				return CMD_SYNTAX;
			}
			for (char *q = eq + 1; *q; q++)
				if ((unsigned char)*q < 33 || *q == '=' ||
				    *q == 0x7f) {
					c->syntax = "bad parameter value";
					return CMD_SYNTAX;
				}
		}
		for (size_t i = 0; i < c->nparams; i++)
			if (strcasecmp(c->params[i].key, k) == 0) {
				c->syntax = "parameter given twice";
				return CMD_SYNTAX;
			}
		c->params[c->nparams].key = k;
		c->params[c->nparams].value = eq ? eq + 1 : NULL;
		c->nparams++;
	}
	return CMD_OK;
}

const char *
cmd_param(const struct cmd *c, const char *key)
{
	for (size_t i = 0; i < c->nparams; i++)
		if (strcasecmp(c->params[i].key, key) == 0)
			return c->params[i].value ? c->params[i].value : "";
	return NULL;
}

int
cmd_xtext_ok(const char *v)
{
	for (; *v; v++) {
		unsigned char ch = (unsigned char)*v;

		if (ch == '+') {
			if (!isxdigit((unsigned char)v[1]) ||
			    !isxdigit((unsigned char)v[2]))
				return 0;
			v += 2;
		} else if (ch < 33 || ch > 126 || ch == '=')
			return 0;
	}
	return 1;
}
