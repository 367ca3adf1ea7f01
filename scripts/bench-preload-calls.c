/*
 * bench-preload-calls.c - per-call cost loop for scripts/bench-preload:
 * `bench-preload-calls OP N PATH` runs N calls of OP (stat, open) on PATH
 * and prints the mean nanoseconds per call.  Run bare and under the shim;
 * the script takes the difference.
 */
#define _POSIX_C_SOURCE 200809L
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

int main(int argc, char **argv)
{
	struct stat st;
	long n;
	double t0;
	int is_open;

	if (argc != 4) {
		fprintf(stderr, "usage: %s stat|open N PATH\n", argv[0]);
		return 2;
	}
	is_open = strcmp(argv[1], "open") == 0;
	n = atol(argv[2]);
	/* Warm-up: the first record of a key inserts it. */
	for (int i = 0; i < 1000; i++)
		(void)stat(argv[3], &st);
	t0 = now_ns();
	for (long i = 0; i < n; i++) {
		if (is_open) {
			int fd = open(argv[3], O_RDONLY);
			if (fd >= 0)
				close(fd);
		} else {
			(void)stat(argv[3], &st);
		}
	}
	printf("%.1f\n", (now_ns() - t0) / (double)n);
	return 0;
}
