/*
 * fuzz_smtp_reply.c - libFuzzer target for proxy/smtp_reply.c.
 *
 * The input is what a backend sends: replies are parsed one after the
 * other with reply_parse(); each one found is formatted again with
 * reply_format_parsed(), which must parse back to the same reply and
 * format to the same bytes. A reply is INCOMPLETE one byte short of its
 * end. reply_format() gets the input as text.
 */
#include "fuzz.h"

#include "smtp_reply.h"

#define OUT_MAX		(REPLY_LINES_MAX * (REPLY_LINE_MAX + 8))

static char out1[OUT_MAX], out2[OUT_MAX];

static void
check_reply(const struct reply *r)
{
	FUZZ_CHECK(r->code >= 200 && r->code <= 599);
	FUZZ_CHECK(r->nlines >= 1 && r->nlines <= REPLY_LINES_MAX);
	for (size_t i = 0; i < r->nlines; i++) {
		size_t n = strlen(r->lines[i]);

		FUZZ_CHECK(n + 4 <= REPLY_LINE_MAX);
		for (size_t j = 0; j < n; j++) {
			unsigned char ch = (unsigned char)r->lines[i][j];

			FUZZ_CHECK(ch >= 0x20 && ch != 0x7f);
		}
	}
	if (r->enh[0] != '\0')
		FUZZ_CHECK(reply_enh_valid(r->enh, strlen(r->enh),
		    r->code / 100));
	FUZZ_CHECK(reply_text(r) != NULL);
}

static void
round_trip(const struct reply *r)
{
	struct reply r2;
	size_t n1, n2, used = 0;

	n1 = reply_format_parsed(out1, sizeof(out1), r);
	FUZZ_CHECK(n1 > 0);
	/* only CRLF line ends */
	for (size_t i = 0; i < n1; i++) {
		if (out1[i] == '\r')
			FUZZ_CHECK(i + 1 < n1 && out1[i + 1] == '\n');
		if (out1[i] == '\n')
			FUZZ_CHECK(i > 0 && out1[i - 1] == '\r');
	}
	FUZZ_CHECK(reply_parse(out1, n1, &r2, &used) == REPLY_OK);
	FUZZ_CHECK(used == n1);
	FUZZ_CHECK(r2.code == r->code && r2.nlines == r->nlines);
	FUZZ_CHECK(strcmp(r2.enh, r->enh) == 0);
	for (size_t i = 0; i < r->nlines; i++)
		FUZZ_CHECK(strcmp(r2.lines[i], r->lines[i]) == 0);
	n2 = reply_format_parsed(out2, sizeof(out2), &r2);
	FUZZ_CHECK(n2 == n1 && memcmp(out1, out2, n1) == 0);
	/* too small by one: refused */
	FUZZ_CHECK(reply_format_parsed(out2, n1 - 1, &r2) == 0);
	reply_clear(&r2);
	FUZZ_CHECK(r2.buf == NULL && r2.nlines == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	size_t pos = 0;
	int count = 0;

	while (pos < size && count++ < 16) {
		struct reply r, rp;
		size_t used = 0, used2 = 0;
		enum reply_result res = reply_parse(in + pos, size - pos, &r,
		    &used);

		if (res != REPLY_OK) {
			FUZZ_CHECK(r.buf == NULL && r.nlines == 0);
			break;
		}
		FUZZ_CHECK(used >= 4 && used <= size - pos);
		FUZZ_CHECK(in[pos + used - 1] == '\n');
		check_reply(&r);
		/* one byte short: not a reply yet */
		FUZZ_CHECK(reply_parse(in + pos, used - 1, &rp, &used2) ==
		    REPLY_INCOMPLETE);
		round_trip(&r);
		reply_clear(&r);
		pos += used;
	}

	/* the input as the text of a reply we write */
	if (size > 2) {
		int code = 200 + (data[0] * 256 + data[1]) % 400;
		char *text = fuzz_copy(data + 2, size - 2, 1);
		static const char *const enhs[] = { NULL, "", "2.0.0", "5.7.1" };
		const char *enh = enhs[data[0] % 4];
		size_t n;

		text[size - 2] = '\0';
		n = reply_format(out1, sizeof(out1), code, enh, text);
		if (n > 0) {
			struct reply r;
			size_t used = 0;
			enum reply_result res = reply_parse(out1, n, &r, &used);

			/* ours may exceed the limits a backend is held to */
			FUZZ_CHECK(res == REPLY_OK || res == REPLY_TOO_LONG);
			if (res == REPLY_OK) {
				FUZZ_CHECK(used == n && r.code == code);
				reply_clear(&r);
			}
			FUZZ_CHECK(reply_format(out2, n - 1, code, enh, text) ==
			    0);
		}
		free(text);
	}
	return 0;
}
