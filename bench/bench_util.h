/*
 * bench_util.h - the clock and the median every benchmark program reports
 * with (bench_*.c; each is one translation unit, so these are static).
 * Not async-signal-safe (qsort); for the benchmark programs only.
 */
#ifndef SHMCACHE_BENCH_UTIL_H
#define SHMCACHE_BENCH_UTIL_H

#include <stdlib.h>
#include <time.h>

/* The clock bench_now reads: CLOCK_MONOTONIC, or a program's choice
 * (CLOCK_THREAD_CPUTIME_ID, which on a loaded shared host leaves out the
 * time other processes ran). */
static clockid_t bench_clock = CLOCK_MONOTONIC;

/* Seconds on bench_clock. */
static inline double bench_now(void)
{
	struct timespec ts;
	clock_gettime(bench_clock, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static inline int bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* The median of v[0..n-1] (n > 0), which it sorts in place: the middle
 * value, or the mean of the two middle ones when n is even. */
static inline double bench_median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof *v, bench_cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

#endif /* SHMCACHE_BENCH_UTIL_H */
