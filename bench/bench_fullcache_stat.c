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

#define WINDOW 20000u
#define WINDOWS 5u

/* The clock windows are timed with (-c: the thread's CPU time, which on a
 * loaded shared host leaves out the time other processes ran). */
static clockid_t clock_id = CLOCK_MONOTONIC;

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(clock_id, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

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
		clock_id = CLOCK_THREAD_CPUTIME_ID;
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
			double t0 = now_ns();
			for (unsigned i = 0; i < WINDOW; i++)
				stat_new(next++);
			w[k] = (now_ns() - t0) / WINDOW;
		}
		qsort(w, WINDOWS, sizeof w[0], cmp_double);
		printf("at %" PRIu64 ": %.1f ns\n", at, w[WINDOWS / 2]);
		fflush(stdout);
	}
	return 0;
}
