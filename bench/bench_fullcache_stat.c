/*
 * bench_fullcache_stat.c - the time of a stat() of a new path as the cache
 * fills, when run under the shim (bench/bench-fullcache runs it).
 *
 *   bench_fullcache_stat CHECKPOINT...
 *
 * Calls stat() on distinct missing paths (each a new record for the
 * shim).  At each CHECKPOINT (paths stat'ed so far) it times WINDOWS
 * windows of WINDOW new paths and prints "at N: NS ns" (the median
 * window's ns per call).  Links nothing of the cache: bare, it is the
 * baseline.  -c times the windows in the thread's CPU time (system time
 * included) instead of wall time.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "bench_util.h"

#define WINDOW 20000u
#define WINDOWS 5u

static void stat_new(uint64_t i)
{
	char path[128];
	struct stat st;
	snprintf(path, sizeof path,
		 "/nonexistent-bench/d%03u/s%03u/file-%" PRIu64 ".c",
		 (unsigned)(i % 491), (unsigned)(i / 491 % 257), i);
	(void)stat(path, &st);
}

int main(int argc, char **argv)
{
	uint64_t next = 0;
	if (argc >= 2 && strcmp(argv[1], "-c") == 0) {
		bench_clock = CLOCK_THREAD_CPUTIME_ID;
		argc--;
		argv++;
	}
	if (argc < 2) {
		fprintf(stderr, "usage: bench_fullcache_stat [-c] CHECKPOINT...\n");
		return 2;
	}
	for (int p = 1; p < argc; p++) {
		uint64_t at = strtoull(argv[p], NULL, 10);
		double w[WINDOWS];
		while (next < at)
			stat_new(next++);
		for (unsigned k = 0; k < WINDOWS; k++) {
			double t0 = bench_now();
			for (unsigned i = 0; i < WINDOW; i++)
				stat_new(next++);
			w[k] = (bench_now() - t0) * 1e9 / WINDOW;
		}
		printf("at %" PRIu64 ": %.1f ns\n", at,
		       bench_median(w, WINDOWS));
		fflush(stdout);
	}
	return 0;
}
