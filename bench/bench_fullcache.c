/*
 * bench_fullcache.c - the cost of a new path as the cache fills, and a
 * cache filled to the brim, through the cache API (bench/bench-fullcache
 * builds and runs it).
 *
 *   bench_fullcache per-path CACHE CHECKPOINT...
 *       Records distinct synthetic paths into a new cache at CACHE.  At each
 *       CHECKPOINT (entries in the cache) it times WINDOWS windows of WINDOW
 *       new paths each and prints "at N: NS ns" (the median window's ns per
 *       path).  The fill between checkpoints is not timed.
 *   bench_fullcache fill CACHE
 *       Records distinct synthetic paths into the cache at CACHE (created
 *       if missing, else added to) until 1000 in a row are refused, then
 *       prints the entries and the refusals (the cache stays full).
 *   bench_fullcache miss-hit CACHE
 *       On the full cache that fill left at CACHE: WINDOWS pairs of
 *       windows, WINDOW records of new paths (refused) then WINDOW records
 *       of paths present (hits, spread over the cache); prints the median
 *       window's ns per record of each.
 *
 * -c times the windows in the thread's CPU time instead of wall time.
 *
 * The keys look like a build tree's paths: /bench/dNNN/sNNN/file-N.ext,
 * 30 to 40 bytes.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctrie_cache.h"
#include "bench_util.h"

#define WINDOW 20000u
#define WINDOWS 5u

static const char *const exts[] = { "c", "h", "o", "txt", "py", "so" };

/* The directory every key starts with (-p): its length sets how many keys
 * fit in the arena. */
static const char *prefix = "/bench";

static size_t key_of(uint64_t i, char *buf, size_t cap)
{
	int n = snprintf(buf, cap, "%s/d%03u/s%03u/file-%" PRIu64 ".%s",
			 prefix, (unsigned)(i % 491), (unsigned)(i / 491 % 257),
			 i, exts[i % 6]);
	return n < 0 ? 0 : (size_t)n;
}

/* Records key i; returns the cache_record result. */
static int record(struct cache *c, uint64_t i)
{
	char key[256];
	return cache_record(c, key, key_of(i, key, sizeof key), CACHE_OP_READ);
}

static int attach(struct cache *c, const char *path)
{
	memset(c, 0, sizeof *c);
	if (cache_attach(c, path, CACHE_ATTACH_CREATE) != CACHE_OK) {
		fprintf(stderr, "bench_fullcache: cannot create %s\n", path);
		return -1;
	}
	return 0;
}

static int per_path(const char *path, int n, char **points)
{
	struct cache c;
	uint64_t next = 0;

	unlink(path);
	if (attach(&c, path) != 0)
		return 1;
	for (int p = 0; p < n; p++) {
		uint64_t at = strtoull(points[p], NULL, 10);
		double w[WINDOWS];
		while (next < at)
			if (record(&c, next++) != CACHE_OK) {
				fprintf(stderr, "bench_fullcache: full before %"
					PRIu64 " entries\n", at);
				cache_detach(&c);
				return 1;
			}
		for (unsigned k = 0; k < WINDOWS; k++) {
			double t0 = bench_now();
			for (unsigned i = 0; i < WINDOW; i++)
				record(&c, next++);
			w[k] = (bench_now() - t0) * 1e9 / WINDOW;
		}
		printf("at %" PRIu64 ": %.1f ns\n", at,
		       bench_median(w, WINDOWS));
		fflush(stdout);
	}
	cache_detach(&c);
	return 0;
}

static int fill(const char *path)
{
	struct cache c;
	struct cache_stats st;
	uint64_t i, refused = 0, in_a_row = 0;

	if (attach(&c, path) != 0)
		return 1;
	for (i = 0; in_a_row < 1000; i++) {
		if (record(&c, i) == CACHE_OK) {
			in_a_row = 0;
		} else {
			refused++;
			in_a_row++;
		}
	}
	if (cache_stats(&c, &st, false) != CACHE_OK)
		return 1;
	printf("full: %" PRIu64 " entries, %" PRIu64 " refused\n", st.entries,
	       st.skipped_full);
	cache_detach(&c);
	return 0;
}

static int miss_hit(const char *path)
{
	struct cache c;
	struct cache_stats st;
	double miss[WINDOWS], hit[WINDOWS];
	uint64_t fresh = UINT64_C(1) << 40, spread;

	if (attach(&c, path) != 0)
		return 1;
	if (cache_stats(&c, &st, false) != CACHE_OK || st.entries < WINDOW) {
		fprintf(stderr, "bench_fullcache: %s is not a filled cache\n",
			path);
		return 1;
	}
	/* hits: every spread-th key of those fill stored (keys 0, 1, ...) */
	spread = st.entries / WINDOW;
	for (unsigned k = 0; k < WINDOWS; k++) {
		double t0 = bench_now();
		for (unsigned i = 0; i < WINDOW; i++)
			record(&c, fresh++);
		miss[k] = (bench_now() - t0) * 1e9 / WINDOW;
		t0 = bench_now();
		for (unsigned i = 0; i < WINDOW; i++)
			record(&c, (uint64_t)i * spread + k);
		hit[k] = (bench_now() - t0) * 1e9 / WINDOW;
	}
	printf("refused: %.1f ns\nhit: %.1f ns\n", bench_median(miss, WINDOWS),
	       bench_median(hit, WINDOWS));
	cache_detach(&c);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "-c") == 0) {
		bench_clock = CLOCK_THREAD_CPUTIME_ID;
		argc--;
		argv++;
	}
	if (argc >= 3 && strcmp(argv[1], "-p") == 0) {
		prefix = argv[2];
		argc -= 2;
		argv += 2;
	}
	if (argc >= 4 && strcmp(argv[1], "per-path") == 0)
		return per_path(argv[2], argc - 3, argv + 3);
	if (argc == 3 && strcmp(argv[1], "fill") == 0)
		return fill(argv[2]);
	if (argc == 3 && strcmp(argv[1], "miss-hit") == 0)
		return miss_hit(argv[2]);
	fprintf(stderr, "usage: bench_fullcache [-c] [-p PREFIX] per-path CACHE N...\n"
			"       bench_fullcache [-c] [-p PREFIX] fill CACHE\n"
			"       bench_fullcache [-c] [-p PREFIX] miss-hit CACHE\n");
	return 2;
}
