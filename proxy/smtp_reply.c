/*
 * smtp_reply.c - reply parsing and formatting (RFC 5321 4.2, RFC 3463).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smtp_reply.h"
#include "util.h"

#define REPLY_BYTES_MAX	(REPLY_LINES_MAX * (REPLY_LINE_MAX + 2))

int
reply_enh_valid(const char *s, size_t len, int cls)
{
	size_t i = 0, n;

	if (len < 5 || s[0] != '0' + cls || s[1] != '.')
		return 0;
	i = 2;
	for (n = 0; i < len && isdigit((unsigned char)s[i]); i++)
		n++;
	if (n < 1 || n > 3 || i >= len || s[i] != '.')
		return 0;
	i++;
	for (n = 0; i < len && isdigit((unsigned char)s[i]); i++)
		n++;
	if (n < 1 || n > 3 || i != len)
		return 0;
	return 1;
}

enum reply_result
reply_parse(const char *buf, size_t len, struct reply *r, size_t *used)
{
	size_t pos = 0, nlines = 0, textbytes = 0;
	int code = 0;

	memset(r, 0, sizeof(*r));
	/* Pass 1: find the last line and check the syntax. */
	for (;;) {
		const char *l = buf + pos, *lf;
		size_t n, lim = len - pos;
		int c;

		if (lim > REPLY_LINE_MAX + 2)
			lim = REPLY_LINE_MAX + 2;
		lf = memchr(l, '\n', lim);
		if (lf == NULL)
			return len - pos > REPLY_LINE_MAX + 1 ? REPLY_TOO_LONG :
			    REPLY_INCOMPLETE;
		n = (size_t)(lf - l);
		if (n > 0 && l[n - 1] == '\r')
			n--;
		/* lim leaves room for CRLF: a bare LF must not buy a byte */
		if (n > REPLY_LINE_MAX)
			return REPLY_TOO_LONG;
		if (n < 3 || !isdigit((unsigned char)l[0]) ||
		    !isdigit((unsigned char)l[1]) || !isdigit((unsigned char)l[2]) ||
		    l[0] < '2' || l[0] > '5' || (n > 3 && l[3] != ' ' &&
		    l[3] != '-'))
			return REPLY_SYNTAX;
		c = (l[0] - '0') * 100 + (l[1] - '0') * 10 + (l[2] - '0');
		if (code != 0 && c != code)
			return REPLY_SYNTAX;
		code = c;
		if (++nlines > REPLY_LINES_MAX)
			return REPLY_TOO_LONG;
		textbytes += (n > 4 ? n - 4 : 0) + 1;
		pos = (size_t)(lf - buf) + 1;
		if (n == 3 || l[3] == ' ')
			break;
		if (pos >= len)
			return REPLY_INCOMPLETE;
	}
	/* Pass 2: copy the texts, sanitised. */
	r->buf = xmalloc(textbytes);
	r->code = code;
	{
		size_t p = 0, o = 0;

		for (size_t i = 0; i < nlines; i++) {
			const char *l = buf + p, *lf = memchr(l, '\n', len - p);
			size_t n = (size_t)(lf - l);

			if (n > 0 && l[n - 1] == '\r')
				n--;
			r->lines[i] = r->buf + o;
			for (size_t j = 4; j < n; j++) {
				unsigned char ch = (unsigned char)l[j];

				r->buf[o++] = (ch < 0x20 || ch == 0x7f) ?
				    '?' : (char)ch;
			}
			r->buf[o++] = '\0';
			p = (size_t)(lf - buf) + 1;
		}
	}
	r->nlines = nlines;
	{
		const char *t = r->lines[0];
		size_t k = strcspn(t, " ");

		if (reply_enh_valid(t, k, code / 100) && k < sizeof(r->enh))
			str_ncopy(r->enh, sizeof(r->enh), t, k);
	}
	*used = pos;
	return REPLY_OK;
}

void
reply_clear(struct reply *r)
{
	free(r->buf);
	memset(r, 0, sizeof(*r));
}

const char *
reply_text(const struct reply *r)
{
	const char *t;
	size_t k;

	if (r->nlines == 0)
		return "";
	t = r->lines[0];
	k = strlen(r->enh);
	if (k > 0 && strncmp(t, r->enh, k) == 0) {
		t += k;
		while (*t == ' ')
			t++;
	}
	return t;
}

static size_t
put(char *out, size_t outlen, size_t o, const char *s, size_t n)
{
	if (o == (size_t)-1 || o + n > outlen)
		return (size_t)-1;
	memcpy(out + o, s, n);
	return o + n;
}

size_t
reply_format(char *out, size_t outlen, int code, const char *enh,
    const char *text)
{
	const char *t = text;
	size_t o = 0, elen = enh ? strlen(enh) : 0;
	char head[8];

	if (code < 200 || code > 599)
		return 0;
	do {
		const char *nl = strchr(t, '\n');
		size_t n = nl ? (size_t)(nl - t) : strlen(t);

		snprintf(head, sizeof(head), "%03d%c", code, nl ? '-' : ' ');
		o = put(out, outlen, o, head, 4);
		if (elen > 0) {
			o = put(out, outlen, o, enh, elen);
			o = put(out, outlen, o, " ", 1);
		}
		for (size_t i = 0; i < n && o != (size_t)-1; i++) {
			char ch = t[i];

			if ((unsigned char)ch < 0x20 || ch == 0x7f)
				ch = '?';
			o = put(out, outlen, o, &ch, 1);
		}
		o = put(out, outlen, o, "\r\n", 2);
		t = nl ? nl + 1 : NULL;
	} while (t != NULL && o != (size_t)-1);
	return o == (size_t)-1 ? 0 : o;
}

size_t
reply_format_parsed(char *out, size_t outlen, const struct reply *r)
{
	size_t o = 0;
	char head[8];

	for (size_t i = 0; i < r->nlines; i++) {
		size_t n = strlen(r->lines[i]);

		snprintf(head, sizeof(head), "%03d%c", r->code,
		    i + 1 < r->nlines ? '-' : ' ');
		o = put(out, outlen, o, head, 4);
		o = put(out, outlen, o, r->lines[i], n);
		o = put(out, outlen, o, "\r\n", 2);
	}
	return o == (size_t)-1 ? 0 : o;
}
