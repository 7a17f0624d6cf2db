/*
 * fuzz_table.c - libFuzzer target for proxy/table.c.
 *
 * Input: one byte (bit 0: cidr or hash), then the table text. It is
 * parsed with table_parse(); then lookups of every kind. For a hash table
 * parsed without errors every key it lists must be found with its value.
 * Error messages go to /dev/null.
 */
#include <arpa/inet.h>
#include <netinet/in.h>

#include "fuzz.h"

#include "config.h"
#include "table.h"

static const char *const addrs[] = {
	"192.0.2.1", "10.1.2.3", "0.0.0.0", "255.255.255.255", "127.0.0.1",
	"2001:db8::1", "::1", "::", "::ffff:192.0.2.1", "fe80::1",
};

static const char *const emails[] = {
	"user+ext@sub.example.org", "user@example.org", "", "postmaster",
	"a@b@c", "\"q@x\"@example.org", "+@x", "@", "x@",
};

struct walk {
	const struct table	*t;
	int			 check;
};

static void
each(void *arg, const char *file, int line, const char *key,
    const char *value)
{
	struct walk *w = arg;
	const char *v;

	FUZZ_CHECK(file != NULL && key != NULL && value != NULL);
	FUZZ_CHECK(line >= 1);
	if (!w->check || strlen(key) >= 1000)
		return;
	v = table_get(w->t, key);
	FUZZ_CHECK(v != NULL && strcmp(v, value) == 0);
}

static void
lookups(const struct table *t)
{
	for (size_t i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++) {
		struct sockaddr_storage ss;
		int v6 = strchr(addrs[i], ':') != NULL;

		memset(&ss, 0, sizeof(ss));
		if (v6) {
			struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

			s6->sin6_family = AF_INET6;
			inet_pton(AF_INET6, addrs[i], &s6->sin6_addr);
		} else {
			struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

			s4->sin_family = AF_INET;
			inet_pton(AF_INET, addrs[i], &s4->sin_addr);
		}
		(void)table_get(t, addrs[i]);
		(void)table_get_addr(t, (struct sockaddr *)&ss);
		(void)table_get_client(t, (struct sockaddr *)&ss, NULL);
		(void)table_get_client(t, (struct sockaddr *)&ss,
		    "mail.sub.example.org");
	}
	for (size_t i = 0; i < sizeof(emails) / sizeof(emails[0]); i++) {
		const char *matched = NULL;
		const char *v = table_get_email(t, emails[i], '+', &matched);

		/* the key that matched gives the same value */
		FUZZ_CHECK((v == NULL) == (matched == NULL));
		if (v != NULL)
			FUZZ_CHECK(strcmp(table_get(t, matched), v) == 0);
		(void)table_get_email(t, emails[i], '\0', NULL);
		(void)table_get_domain(t, emails[i]);
	}
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_silence_stderr();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cfg_errors e = { 0, 0, NULL };
	enum table_type type;
	struct table *t;
	struct walk w;
	char *text;

	if (size < 1)
		return 0;
	type = data[0] & 1 ? TABLE_CIDR : TABLE_HASH;
	/* exact size, no terminator: the parser must not read past len */
	text = fuzz_copy(data + 1, size - 1, 0);
	t = table_parse(type, "fuzz", text, size - 1, &e);
	free(text);
	FUZZ_CHECK(t != NULL);
	FUZZ_CHECK(table_type(t) == type);
	FUZZ_CHECK(strcmp(table_name(t), "fuzz") == 0);
	lookups(t);
	/* keys are unique only when the file was accepted */
	w.t = t;
	w.check = type == TABLE_HASH && e.count == 0;
	table_foreach(t, each, &w);
	/* the input itself as a key */
	if (size > 1 && size < 600) {
		char *key = fuzz_copy(data + 1, size - 1, 1);

		key[size - 1] = '\0';
		(void)table_get(t, key);
		(void)table_get_email(t, key, data[0] >> 1, NULL);
		(void)table_get_domain(t, key);
		free(key);
	}
	table_free(&t);
	FUZZ_CHECK(t == NULL);
	return 0;
}
