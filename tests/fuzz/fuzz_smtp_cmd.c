/*
 * fuzz_smtp_cmd.c - libFuzzer target for proxy/smtp_cmd.c.
 *
 * The input is what a client sends: cut into lines with cmd_line_end()
 * as the session does, each line parsed by cmd_parse() on an exact-size
 * writable copy (line + its terminator byte). The whole input is also
 * parsed as one "line", CR, LF and all. Checks the results' invariants.
 */
#include "fuzz.h"

#include "smtp_cmd.h"

#define LINE_MAX_FUZZ	2048

static void
check_cmd(const char *line, size_t len, enum cmd_result r,
    const struct cmd *c)
{
	FUZZ_CHECK(c->arg != NULL);
	if (r == CMD_SYNTAX)
		FUZZ_CHECK(c->syntax != NULL);
	if (r != CMD_OK)
		return;
	FUZZ_CHECK(c->syntax == NULL);
	FUZZ_CHECK(c->nparams <= SMTP_PARAMS_MAX);
	FUZZ_CHECK(c->arg >= line && c->arg <= line + len);
	if (c->verb == VERB_MAIL || c->verb == VERB_RCPT) {
		FUZZ_CHECK(c->path != NULL);
		FUZZ_CHECK(c->path >= line && c->path + c->pathlen <= line + len);
		FUZZ_CHECK(strlen(c->path) == c->pathlen);
		FUZZ_CHECK(c->pathlen + 2 <= SMTP_PATH_MAX);
		for (size_t i = 0; i < c->pathlen; i++) {
			unsigned char ch = (unsigned char)c->path[i];

			FUZZ_CHECK(ch >= 0x20 && ch != 0x7f);
			if (ch >= 0x80)
				FUZZ_CHECK(c->has_8bit);
		}
		if (c->verb == VERB_RCPT)
			FUZZ_CHECK(c->pathlen > 0);
		for (size_t i = 0; i < c->nparams; i++) {
			const char *k = c->params[i].key, *v = c->params[i].value;

			FUZZ_CHECK(k != NULL && k[0] != '\0');
			FUZZ_CHECK(strchr(k, '=') == NULL);
			FUZZ_CHECK(cmd_param(c, k) != NULL);
			if (v != NULL) {
				FUZZ_CHECK(v[0] != '\0');
				FUZZ_CHECK(strchr(v, '=') == NULL);
				(void)cmd_xtext_ok(v);
			}
			for (size_t j = 0; j < i; j++)
				FUZZ_CHECK(strcasecmp(c->params[j].key, k) != 0);
		}
	} else
		FUZZ_CHECK(c->nparams == 0);
	if (c->verb == VERB_BDAT)
		FUZZ_CHECK(c->bdat_last == 0 || c->bdat_last == 1);
	FUZZ_CHECK(strcmp(cmd_verb_name(c->verb), "") != 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	size_t pos = 0;
	struct cmd c;
	char *line;

	/* a session: line after line */
	while (pos < size) {
		size_t linelen = 0, n;
		enum cmd_result end;

		end = cmd_line_end(in + pos, size - pos, LINE_MAX_FUZZ,
		    &linelen);
		if (end == CMD_INCOMPLETE) {
			FUZZ_CHECK(size - pos < LINE_MAX_FUZZ);
			FUZZ_CHECK(memchr(in + pos, '\n', size - pos) == NULL);
			break;
		}
		FUZZ_CHECK(linelen >= 1 && linelen <= size - pos);
		FUZZ_CHECK(linelen <= LINE_MAX_FUZZ);
		if (end == CMD_TOO_LONG) {
			FUZZ_CHECK(linelen == LINE_MAX_FUZZ);
			FUZZ_CHECK(memchr(in + pos, '\n', linelen) == NULL);
			pos += linelen;
			continue;
		}
		FUZZ_CHECK(end == CMD_OK || end == CMD_BARE_LF);
		FUZZ_CHECK(in[pos + linelen - 1] == '\n');
		FUZZ_CHECK(memchr(in + pos, '\n', linelen - 1) == NULL);
		n = linelen - 1;
		if (end == CMD_OK) {
			FUZZ_CHECK(n >= 1 && in[pos + n - 1] == '\r');
			n--;
		} else
			FUZZ_CHECK(n == 0 || in[pos + n - 1] != '\r');
		line = fuzz_copy(data + pos, n, 1);
		check_cmd(line, n, cmd_parse(line, n, &c), &c);
		free(line);
		pos += linelen;
	}

	/* everything as one line: CR, LF, NUL and all */
	line = fuzz_copy(data, size, 1);
	{
		enum cmd_result r = cmd_parse(line, size, &c);

		if (memchr(data, '\0', size) != NULL)
			FUZZ_CHECK(r == CMD_NUL);
		check_cmd(line, size, r, &c);
	}
	free(line);
	/* the raw bytes as an xtext value */
	line = fuzz_copy(data, size, 1);
	line[size] = '\0';
	(void)cmd_xtext_ok(line);
	free(line);
	return 0;
}
