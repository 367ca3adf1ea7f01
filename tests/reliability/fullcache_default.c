/*
 * fullcache_default - a cache of the default size filled to the brim,
 * through the ctrie API (full_default.py runs it around real programs).
 *
 *   fullcache_default fill CACHE
 *       Creates CACHE; takes SPARES max-size blocks of its arena as another
 *       client would (their offsets go to CACHE.spares); records distinct
 *       keys until 1000 in a row are refused, then 1000 more new keys, all
 *       of which must be refused.  Every refusal is counted in skipped_full
 *       and every stored key in entries, exactly; stored keys still merge;
 *       verify is clean.  Prints "entries N skipped_full M".
 *   fullcache_default check CACHE
 *       Verify clean; prints "entries N skipped_full M".
 *   fullcache_default room CACHE
 *       Room appears in the full cache, twice:
 *       1. a new key recorded twice through a cache_hint is refused and
 *          counted twice (the second time without a search); then two
 *          spare blocks are freed (zeroed first, as the cache needs): the
 *          same key, recorded a third time through the hint, is stored;
 *       2. after the cache is full again, two more spare blocks are
 *          emptied as by a process killed between its free and its summary
 *          update (their bitmap word cleared, nothing else): a new key is
 *          stored within a bounded number of refused records (the
 *          allocator's rechecks repair and rescan the summaries).
 *       Verify is clean at the end.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ctrie_cache.h"
#include "shm_layout.h"

#define SPARES 4
/* Refused records allowed before unannounced room is found: every
 * recheck repairs 1/128 of the map at least, and a refused record is one
 * or two failed allocations. */
#define ROOM_BOUND 600000u

static uint64_t next_key;

static size_t key_of(uint64_t i, char *buf, size_t cap)
{
	int n = snprintf(buf, cap, "/full-default/d%03u/f-%" PRIu64 ".h",
			 (unsigned)(i % 499), i);
	return n < 0 ? 0 : (size_t)n;
}

static int record(struct cache *c, uint64_t i, uint32_t ops)
{
	char key[96];
	return cache_record(c, key, key_of(i, key, sizeof key), ops);
}

static int attach(struct cache *c, const char *path, unsigned flags)
{
	memset(c, 0, sizeof *c);
	int r = cache_attach(c, path, flags);
	if (r != CACHE_OK)
		printf("cannot attach %s: %s\n", path, cache_strerror(r));
	return r == CACHE_OK ? 0 : 1;
}

static int print_stats(struct cache *c, struct cache_stats *st)
{
	if (cache_stats(c, st, false) != CACHE_OK) {
		printf("cache_stats failed\n");
		return 1;
	}
	printf("entries %" PRIu64 " skipped_full %" PRIu64 "\n", st->entries,
	       st->skipped_full);
	return 0;
}

static int verify(struct cache *c)
{
	long problems = cache_verify(c, NULL, NULL);
	if (problems != 0)
		printf("verify found %ld problems\n", problems);
	return problems != 0;
}

/* New keys (from next_key on) until 1000 in a row are refused; adds the
 * stored and refused ones to *stored and *refused.  1 on another error. */
static int fill_up(struct cache *c, uint64_t *stored, uint64_t *refused)
{
	unsigned in_a_row = 0;
	while (in_a_row < 1000) {
		int r = record(c, next_key++, CACHE_OP_READ);
		if (r == CACHE_OK) {
			(*stored)++;
			in_a_row = 0;
		} else if (r == CACHE_E_FULL) {
			(*refused)++;
			in_a_row++;
		} else {
			printf("record: %s\n", cache_strerror(r));
			return 1;
		}
	}
	return 0;
}

static int spares_file(const char *path, const char *mode, FILE **f)
{
	char name[4200];
	snprintf(name, sizeof name, "%s.spares", path);
	*f = fopen(name, mode);
	if (*f == NULL)
		printf("cannot open %s\n", name);
	return *f == NULL;
}

static int cmd_fill(const char *path)
{
	struct cache c;
	struct cache_stats st;
	struct cache_entry e;
	uint64_t stored = 0, refused = 0, merged_wrong = 0;
	int failed = 0;
	FILE *f;

	unlink(path);
	if (attach(&c, path, CACHE_ATTACH_CREATE) || spares_file(path, "w", &f))
		return 1;
	for (int i = 0; i < SPARES; i++) {
		shm_offt o = shm_arena_malloc(&c.arena, SHM_BLOCK_MAX);
		if (o == SHM_NULL) {
			printf("no spare block in a new cache\n");
			return 1;
		}
		fprintf(f, "%" PRIu64 "\n", (uint64_t)o);
	}
	fclose(f);
	if (fill_up(&c, &stored, &refused))
		return 1;
	/* the cache is full: new keys are refused and counted, every one */
	for (int i = 0; i < 1000; i++) {
		int r = record(&c, next_key++, CACHE_OP_READ);
		if (r != CACHE_E_FULL) {
			printf("a record into the full cache gave %s\n",
			       cache_strerror(r));
			failed = 1;
		}
		refused++;
	}
	if (print_stats(&c, &st))
		return 1;
	if (st.entries != stored || st.skipped_full != refused) {
		printf("expected entries %" PRIu64 " skipped_full %" PRIu64 "\n",
		       stored, refused);
		failed = 1;
	}
	/* keys stored before still merge (no allocation needed) */
	for (uint64_t i = 0; i < next_key; i += 997) {
		char key[96];
		size_t len = key_of(i, key, sizeof key);
		if (cache_lookup(&c, key, len, &e) != 1)
			continue; /* refused at the end of the fill */
		if (cache_record(&c, key, len, CACHE_OP_WRITE) != CACHE_OK ||
		    cache_lookup(&c, key, len, &e) != 1 ||
		    e.ops != (CACHE_OP_READ | CACHE_OP_WRITE) || e.count != 2)
			merged_wrong++;
	}
	if (merged_wrong) {
		printf("%" PRIu64 " stored keys did not merge\n", merged_wrong);
		failed = 1;
	}
	failed |= verify(&c);
	cache_detach(&c);
	return failed;
}

static int cmd_check(const char *path)
{
	struct cache c;
	struct cache_stats st;
	if (attach(&c, path, CACHE_ATTACH_RDONLY))
		return 1;
	int failed = print_stats(&c, &st) | verify(&c);
	cache_detach(&c);
	return failed;
}

/* New keys until one is stored; the refused ones before it, or -1 if none
 * is stored within bound. */
static long until_stored(struct cache *c, unsigned long bound)
{
	for (unsigned long n = 0; n < bound; n++) {
		int r = record(c, next_key++, CACHE_OP_READ);
		if (r == CACHE_OK)
			return (long)n;
		if (r != CACHE_E_FULL) {
			printf("record: %s\n", cache_strerror(r));
			return -1;
		}
	}
	return -1;
}

static int cmd_room(const char *path)
{
	struct cache c;
	struct cache_stats st;
	uint64_t spare[SPARES], stored = 0, refused = 0;
	long n;
	int failed = 0;
	FILE *f;

	if (attach(&c, path, 0) || spares_file(path, "r", &f))
		return 1;
	for (int i = 0; i < SPARES; i++)
		if (fscanf(f, "%" SCNu64, &spare[i]) != 1) {
			printf("bad spares file\n");
			return 1;
		}
	fclose(f);
	next_key = UINT64_C(1) << 40;
	/* 1: a key refused twice through a hint, then freed blocks (zero, as
	 * the cache needs its blocks) */
	static struct cache_hint hint;
	char key[96];
	size_t len = key_of(next_key++, key, sizeof key);
	if (print_stats(&c, &st))
		return 1;
	uint64_t skipped = st.skipped_full;
	for (int i = 0; i < 2; i++) {
		int r = cache_record_hinted(&c, key, len, CACHE_OP_READ, &hint);
		if (r != CACHE_E_FULL) {
			printf("hinted record %d into the full cache: %s\n", i,
			       cache_strerror(r));
			failed = 1;
		}
	}
	if (print_stats(&c, &st) || st.skipped_full != skipped + 2) {
		printf("two hinted refusals, expected skipped_full %" PRIu64
		       "\n", skipped + 2);
		failed = 1;
	}
	for (int i = 0; i < 2; i++) {
		memset(SHM_ARENA_ADDR(&c.arena, spare[i]), 0, SHM_BLOCK_MAX);
		shm_arena_free(&c.arena, spare[i]);
	}
	if (cache_record_hinted(&c, key, len, CACHE_OP_READ, &hint) !=
	    CACHE_OK || cache_lookup(&c, key, len, NULL) != 1) {
		printf("the refused key is not stored after blocks were "
		       "freed\n");
		failed = 1;
	} else {
		printf("freed blocks: the refused key is stored\n");
	}
	/* 2: emptied by a process killed before its summary update */
	if (fill_up(&c, &stored, &refused))
		return 1;
	for (int i = 2; i < SPARES; i++) {
		shm_offt b = ((shm_offt)spare[i] - SHM_NULL_REGION_SIZE) >>
			     MAX_ALLOC_POW2;
		atomic_store(&shm_words(c.arena.map)[b], 0);
	}
	n = until_stored(&c, ROOM_BOUND);
	printf("unannounced room: a new key stored after %ld refusals\n", n);
	failed |= n < 0;
	failed |= print_stats(&c, &st) | verify(&c);
	cache_detach(&c);
	return failed;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	if (argc == 3 && strcmp(argv[1], "fill") == 0)
		return cmd_fill(argv[2]);
	if (argc == 3 && strcmp(argv[1], "check") == 0)
		return cmd_check(argv[2]);
	if (argc == 3 && strcmp(argv[1], "room") == 0)
		return cmd_room(argv[2]);
	fprintf(stderr, "usage: fullcache_default fill|check|room CACHE\n");
	return 2;
}
