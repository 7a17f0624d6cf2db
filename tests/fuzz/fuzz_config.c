/*
 * fuzz_config.c - libFuzzer target for the generic parser in
 * proxy/config.c: cfg_file_parse(), then cfg_apply() of mxguard's own key
 * table (config_core_keys()) into a zeroed struct config and of a table
 * with one key of every type into each [section], cfg_check_unused(),
 * and the frees. Error messages go to /dev/null.
 */
#include <stddef.h>

#include "fuzz.h"

#include "config.h"

struct every {
	uint64_t	 u, sz, ms;
	int		 b, en;
	char		*s, *p;
	struct cfg_list	 l;
};

#define E(f)	offsetof(struct every, f)

static const struct cfg_key every_keys[] = {
	{ "u", CFG_UINT, "1", 1, 1000, E(u), 1, NULL, "" },
	{ "sz", CFG_SIZE, "1k", 0, 0, E(sz), 1, NULL, "" },
	{ "ms", CFG_MS, "1s", 10, 3600000, E(ms), 1, NULL, "" },
	{ "b", CFG_BOOL, "no", 0, 0, E(b), 1, NULL, "" },
	{ "en", CFG_ENUM, "a", 0, 0, E(en), 1, "a|bb|ccc", "" },
	{ "s", CFG_STRING, "", 0, 0, E(s), 1, NULL, "" },
	{ "p", CFG_PATH, "", 0, 0, E(p), 1, NULL, "" },
	{ "l", CFG_LIST, "x, y", 0, 0, E(l), 1, NULL, "" },
};

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
	struct cfg_file f;
	struct config *c;
	const struct cfg_key *keys;
	size_t nkeys;
	int rc;

	rc = cfg_file_parse("fuzz.conf", (const char *)data, size, &f, &e);
	FUZZ_CHECK(rc == 0 || rc == -1);
	FUZZ_CHECK((rc == 0) == (e.count == 0));
	FUZZ_CHECK(f.nblocks >= 1 && f.blocks[0].name == NULL);
	for (size_t i = 0; i < f.nblocks; i++) {
		const struct cfg_block *b = &f.blocks[i];

		FUZZ_CHECK(b->file == f.path);
		if (i > 0) {
			FUZZ_CHECK(b->name != NULL && b->name[0] != '\0');
			FUZZ_CHECK(cfg_file_section(&f, b->name) == b);
		}
		for (size_t j = 0; j < b->n; j++) {
			FUZZ_CHECK(b->e[j].key[0] != '\0');
			FUZZ_CHECK(b->e[j].line >= 1);
			FUZZ_CHECK(cfg_line_of(b, b->e[j].key) == b->e[j].line);
			for (size_t k = 0; k < j; k++)
				FUZZ_CHECK(strcmp(b->e[k].key, b->e[j].key) != 0);
		}
	}

	keys = config_core_keys(&nkeys);
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		abort();
	cfg_apply(&f.blocks[0], keys, nkeys, c, &e);
	cfg_check_unused(&f.blocks[0], &e);
	cfg_free_fields(keys, nkeys, c);
	free(c);

	for (size_t i = 1; i < f.nblocks; i++) {
		struct every ev;

		memset(&ev, 0, sizeof(ev));
		cfg_apply(&f.blocks[i], every_keys,
		    sizeof(every_keys) / sizeof(every_keys[0]), &ev, &e);
		cfg_check_unused(&f.blocks[i], &e);
		FUZZ_CHECK(ev.en >= 0 && ev.en <= 2);
		cfg_free_fields(every_keys,
		    sizeof(every_keys) / sizeof(every_keys[0]), &ev);
	}
	cfg_file_free(&f);
	return 0;
}
