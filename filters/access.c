/*
 * access.c - Postfix access(5) tables for the client, HELO name, sender
 * and recipient: the primary's check_client_access, check_helo_access,
 * check_sender_access and check_recipient_access files, unchanged.
 *
 * Actions: OK (or a number) accepts: for the session at connect and HELO,
 * for the transaction after (the other filters are skipped, relay and
 * backend checks still apply). As in Postfix, where each restriction list
 * is evaluated on its own, an OK at one stage does not skip this filter's
 * own tables at later stages (a client OK, then a recipient REJECT, is a
 * reject; the chain runs a filter after its own ACCEPT); REJECT/DEFER [text]; 4NN/5NN text (with an
 * enhanced code if the text starts with one); DUNNO; PREPEND header (a
 * tag); WARN text (logged). Actions a proxy cannot carry out (DISCARD,
 * HOLD, REDIRECT, FILTER, BCC, restriction names) are reported when the
 * table is loaded and act as DUNNO.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../proxy/config.h"
#include "../proxy/filter.h"
#include "../proxy/log.h"
#include "../proxy/smtp_reply.h"
#include "../proxy/table.h"
#include "../proxy/util.h"
#include "filters.h"

enum { T_CLIENT = 0, T_HELO, T_SENDER, T_RCPT, T_COUNT };

struct access_conf {
	struct cfg_list	 lists[T_COUNT];
	char		*delimiter;
	uint64_t	 reject_code;
	uint64_t	 defer_code;
};

struct access_priv {
	struct table_set ts[T_COUNT];
};

#define AT(f)	offsetof(struct access_conf, f)
static const struct cfg_key access_keys[] = {
	{ "client",    CFG_LIST,   "",    0, 0,   AT(lists[T_CLIENT]), 1, NULL, "tables for the client address (check_client_access): cidr:/path, hash:/path" },
	{ "helo",      CFG_LIST,   "",    0, 0,   AT(lists[T_HELO]),   1, NULL, "tables for the HELO name (check_helo_access)" },
	{ "sender",    CFG_LIST,   "",    0, 0,   AT(lists[T_SENDER]), 1, NULL, "tables for the envelope sender (check_sender_access)" },
	{ "recipient", CFG_LIST,   "",    0, 0,   AT(lists[T_RCPT]),   1, NULL, "tables for each recipient (check_recipient_access)" },
	{ "recipient_delimiter", CFG_STRING, "+", 0, 0, AT(delimiter), 1, NULL, "address extension delimiter, as Postfix's recipient_delimiter" },
	{ "reject_code", CFG_UINT, "554", 500, 599, AT(reject_code),   1, NULL, "code for REJECT (Postfix access_map_reject_code)" },
	{ "defer_code",  CFG_UINT, "450", 400, 499, AT(defer_code),    1, NULL, "code for DEFER (Postfix access_map_defer_code)" },
};

static const char *const what_names[T_COUNT] = {
	"Client host", "Helo command", "Sender address", "Recipient address"
};

static int
word_is(const char *v, const char *w)
{
	size_t n = strlen(w);

	return strncasecmp(v, w, n) == 0 && (v[n] == '\0' ||
	    isspace((unsigned char)v[n]));
}

static const char *
after_word(const char *v)
{
	while (*v && !isspace((unsigned char)*v))
		v++;
	while (isspace((unsigned char)*v))
		v++;
	return v;
}

static void
check_action(void *arg, const char *file, int line, const char *key,
    const char *v)
{
	struct cfg_errors *e = arg;
	static const char *const known[] = {
		"OK", "REJECT", "DEFER", "DUNNO", "PREPEND", "WARN",
		"DEFER_IF_REJECT", "DEFER_IF_PERMIT"
	};

	if (strspn(v, "0123456789") == strlen(v))
		return;			/* all-numeric: OK */
	if ((v[0] == '4' || v[0] == '5') && isdigit((unsigned char)v[1]) &&
	    isdigit((unsigned char)v[2]) && (v[3] == '\0' || v[3] == ' ' ||
	    v[3] == '\t'))
		return;
	for (size_t i = 0; i < ARRAY_LEN(known); i++)
		if (word_is(v, known[i])) {
			if (word_is(v, "PREPEND") && strchr(after_word(v), ':') ==
			    NULL)
				cfg_error(e, file, line, "PREPEND needs "
				    "\"Header-Name: value\"");
			return;
		}
	cfg_warning(e, file, line, "action \"%.40s\" is not supported by "
	    "mxguard; it is treated as DUNNO", v);
}

static int
flt_access_configure(struct filter_conf *fc, const struct cfg_block *b,
    struct cfg_errors *e)
{
	struct access_conf *ac = fc->conf;
	struct access_priv *p = xcalloc(1, sizeof(*p));

	fc->priv = p;
	if (strlen(ac->delimiter) > 1)
		cfg_error(e, b->file, cfg_line_of(b, "recipient_delimiter"),
		    "recipient_delimiter: one character or empty");
	for (int w = 0; w < T_COUNT; w++)
		table_set_open(&p->ts[w], &ac->lists[w], b->file,
		    cfg_line_of(b, access_keys[w].key), w == T_CLIENT,
		    check_action, e, e);
	return 0;
}

static void
flt_access_stop(struct filter_conf *fc)
{
	struct access_priv *p = fc->priv;

	if (p == NULL)
		return;
	for (int w = 0; w < T_COUNT; w++)
		table_set_free(&p->ts[w]);
	free(p);
	fc->priv = NULL;
}

/* Turns one action into a verdict. */
static void
act(const struct access_conf *ac, const char *v, int what, const char *subject,
    struct verdict *out, const char *table)
{
	const char *text = after_word(v);
	char enh[12] = "";
	int code = 0;

	if (strspn(v, "0123456789") == strlen(v) || word_is(v, "OK")) {
		out->kind = VERDICT_ACCEPT;
		verdict_why(out, "%s OK in %s", what_names[what], table);
		return;
	}
	if (word_is(v, "REJECT"))
		code = (int)ac->reject_code;
	else if (word_is(v, "DEFER"))
		code = (int)ac->defer_code;
	else if ((v[0] == '4' || v[0] == '5') && isdigit((unsigned char)v[1]) &&
	    isdigit((unsigned char)v[2]) && (v[3] == '\0' || isspace((unsigned char)v[3])))
		code = atoi(v);
	if (code != 0) {
		size_t k = strcspn(text, " \t");

		if (reply_enh_valid(text, k, code / 100) && k < sizeof(enh)) {
			str_ncopy(enh, sizeof(enh), text, k);
			text = after_word(text);
		}
		if (*text == '\0')
			text = "Access denied";
		if (code / 100 == 5)
			verdict_reject(out, code, enh[0] ? enh : "5.7.1",
			    "<%s>: %s rejected: %s", subject, what_names[what],
			    text);
		else
			verdict_tempfail(out, code, enh[0] ? enh : "4.7.1",
			    "<%s>: %s rejected: %s", subject, what_names[what],
			    text);
		verdict_why(out, "%s in %s", v, table);
		return;
	}
	if (word_is(v, "PREPEND") && strchr(text, ':') != NULL) {
		verdict_tag(out, text);
		return;
	}
	if (word_is(v, "WARN"))
		log_info("access: %s <%s>: WARN %s (%s)", what_names[what],
		    subject, text, table);
	out->kind = VERDICT_CONTINUE;
}

static int
flt_access_check(struct filter_call *call, enum filter_stage stage,
    const struct txn_view *tv, struct verdict *v)
{
	struct filter_conf *fc = filter_conf_of(call);
	const struct access_conf *ac = fc->conf;
	const struct access_priv *p = fc->priv;
	int what;
	const char *subject;

	switch (stage) {
	case STAGE_CONNECT:
		what = T_CLIENT;
		subject = tv->client_addr;
		break;
	case STAGE_HELO:
		what = T_HELO;
		subject = tv->helo;
		break;
	case STAGE_MAIL:
		what = T_SENDER;
		subject = tv->sender;
		break;
	case STAGE_RCPT:
		what = T_RCPT;
		subject = tv->rcpt;
		break;
	default:
		v->kind = VERDICT_CONTINUE;
		return 1;
	}
	v->kind = VERDICT_CONTINUE;
	if (subject == NULL)
		return 1;
	for (size_t i = 0; i < p->ts[what].n; i++) {
		const struct table *t = p->ts[what].t[i];
		const char *r = NULL;

		if (what == T_CLIENT)
			r = table_get_client(t, tv->client, tv->client_name);
		else if (what == T_HELO)
			r = table_get_domain(t, subject);
		else
			r = table_get_email(t, subject, ac->delimiter[0], NULL);
		if (r == NULL)
			continue;
		act(ac, r, what, subject, v, table_name(t));
		if (v->kind != VERDICT_CONTINUE)
			return 1;
		/* DUNNO and WARN: the next table may still decide */
	}
	return 1;
}

const struct filter_ops flt_access_ops = {
	.name = "access",
	.stages = STAGE_BIT(STAGE_CONNECT) | STAGE_BIT(STAGE_HELO) |
	    STAGE_BIT(STAGE_MAIL) | STAGE_BIT(STAGE_RCPT),
	.keys = access_keys,
	.nkeys = ARRAY_LEN(access_keys),
	.conf_size = sizeof(struct access_conf),
	.configure = flt_access_configure,
	.stop = flt_access_stop,
	.check = flt_access_check,
};
