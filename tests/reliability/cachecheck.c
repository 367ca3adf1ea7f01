/*
 * cachecheck - inspects a cache file for the reliability tests, through the
 * ctrie API only (read-only attach):
 *   cachecheck [--stats] CACHE [PATH[=LETTERS]...]   verify, then look each
 *                                          PATH up; with =LETTERS its bits
 *                                          must be exactly those (ls letters)
 *   cachecheck --absent CACHE PATH...      verify, each PATH must be absent
 * Exit 0: clean and every PATH as expected; 1: problems (printed);
 * 2: the cache could not be attached.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "ctrie_cache.h"
#include "../ops_letters.h"

/* The value word of letters "rwE/c": operations that succeeded and
 * outcomes, then after '/' operations that failed; -1 for a letter that is
 * none. */
static int64_t parse_letters(const char *s)
{
	uint64_t bits = 0;
	unsigned shift = 0;

	for (; *s != '\0'; s++) {
		uint64_t b = 0;
		if (*s == '/' && shift == 0) {
			shift = CACHE_OP_FAILED_SHIFT;
			continue;
		}
		for (unsigned i = 0; i < 32 && b == 0; i++)
			if (cache_op_letter(1u << i) == *s)
				b = (uint64_t)(1u << i) << shift;
		if (b == 0)
			return -1;
		bits |= b;
	}
	return (int64_t)bits;
}

static void print_problem(const char *problem, void *arg)
{
	(void)arg;
	printf("verify: %s\n", problem);
}

int main(int argc, char **argv)
{
	struct cache c;
	int rc, i = 1, absent = 0, stats = 0, failed = 0;
	long problems;

	for (; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--absent") == 0)
			absent = 1;
		else if (strcmp(argv[i], "--stats") == 0)
			stats = 1;
		else
			break;
	}
	if (i >= argc) {
		fprintf(stderr, "usage: cachecheck [--absent] [--stats] CACHE [PATH...]\n");
		return 2;
	}
	memset(&c, 0, sizeof c);
	rc = cache_attach(&c, argv[i], CACHE_ATTACH_RDONLY);
	if (rc != CACHE_OK) {
		printf("attach %s: %s%s%s\n", argv[i], cache_strerror(rc),
		       rc == CACHE_E_ARENA ? ": " : "",
		       rc == CACHE_E_ARENA ? shm_strerror(c.arena_err) : "");
		return 2;
	}
	problems = cache_verify(&c, print_problem, NULL);
	if (problems != 0) {
		printf("verify: %ld problems\n", problems);
		failed = 1;
	}
	if (stats) {
		struct cache_stats st;
		if (cache_stats(&c, &st, true) == CACHE_OK)
			printf("entries %" PRIu64 " records %" PRIu64
			       " skipped_full %" PRIu64 " skipped_toolong %" PRIu64
			       "\n", st.entries, st.records, st.skipped_full,
			       st.skipped_toolong);
		else
			failed = 1;
	}
	for (i++; i < argc; i++) {
		const char *eq = absent ? NULL : strrchr(argv[i], '=');
		size_t len = eq ? (size_t)(eq - argv[i]) : strlen(argv[i]);
		int64_t want = eq ? parse_letters(eq + 1) : 0;
		struct cache_entry e;
		int found = cache_lookup(&c, argv[i], len, &e);
		char have[80], wantl[80];

		if (found < 0 || found == absent || want < 0) {
			printf("%.*s: %s\n", (int)len, argv[i],
			       want < 0 ? "bad letters" :
			       found < 0 ? cache_strerror(found) :
			       found ? "present, expected absent" : "absent");
			failed = 1;
		} else if (eq != NULL && e.ops != (uint64_t)want) {
			ops_letters(e.ops, have);
			ops_letters((uint64_t)want, wantl);
			printf("%.*s: recorded [%s], expected exactly [%s]\n",
			       (int)len, argv[i], have, wantl);
			failed = 1;
		}
	}
	cache_detach(&c);
	return failed;
}
