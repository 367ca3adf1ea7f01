/*
 * bench-preload-calls.c - per-call cost loop for scripts/bench-preload:
 * `bench-preload-calls OP N PATH` runs N calls of OP (stat, open+close) on
 * PATH through the program's own symbols (the shim's wrappers when it is
 * preloaded) and N through libc's definitions found with dlsym on libc's
 * handle (never wrapped), in alternating blocks of 1000, and prints the mean
 * nanoseconds of CPU time per call of each: "hooked direct".  Without the
 * shim the two are the same calls (a check of the method).
 *
 * Why both in one process: the cost of a system call differs from process
 * to process by more than the shim adds (where the kernel's and the
 * program's data land in the caches), so comparing separate bare and shim
 * processes needs many runs; alternating blocks in one process compares
 * like with like.  CPU time (the process's CPU clock): time the machine
 * gave to other work in between does not count, and the loop never waits.
 */
#define _GNU_SOURCE 1
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define BLOCK 1000

typedef int (*stat_fn)(const char *, struct stat *);
typedef int (*open_fn)(const char *, int, ...);
typedef int (*close_fn)(int);

static double cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* One block of calls; the function pointers are the program's own symbols
 * or libc's.  Returns its CPU nanoseconds. */
static double block(int is_open, const char *path, stat_fn st_f, open_fn op_f,
		    close_fn cl_f)
{
	struct stat st;
	double t0 = cpu_ns();

	for (int i = 0; i < BLOCK; i++) {
		if (is_open) {
			int fd = op_f(path, O_RDONLY);
			if (fd >= 0)
				cl_f(fd);
		} else {
			(void)st_f(path, &st);
		}
	}
	return cpu_ns() - t0;
}

int main(int argc, char **argv)
{
	void *libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
	stat_fn real_stat;
	open_fn real_open;
	close_fn real_close;
	double hooked = 0, direct = 0;
	long n, blocks;
	int is_open;

	if (argc != 4) {
		fprintf(stderr, "usage: %s stat|open N PATH\n", argv[0]);
		return 2;
	}
	if (libc == NULL) {
		fprintf(stderr, "%s: no libc.so.6 handle: %s\n", argv[0],
			dlerror());
		return 1;
	}
	real_stat = (stat_fn)dlsym(libc, "stat");
	real_open = (open_fn)dlsym(libc, "open");
	real_close = (close_fn)dlsym(libc, "close");
	if (real_stat == NULL || real_open == NULL || real_close == NULL) {
		fprintf(stderr, "%s: libc lacks stat/open/close\n", argv[0]);
		return 1;
	}
	is_open = strcmp(argv[1], "open") == 0;
	n = atol(argv[2]);
	blocks = n / BLOCK > 0 ? n / BLOCK : 1;
	/* Warm-up: the first record of a key inserts it. */
	block(is_open, argv[3], stat, open, close);
	block(is_open, argv[3], real_stat, real_open, real_close);
	for (long b = 0; b < blocks; b++) {
		hooked += block(is_open, argv[3], stat, open, close);
		direct += block(is_open, argv[3], real_stat, real_open,
				real_close);
	}
	printf("%.1f %.1f\n", hooked / (double)(blocks * BLOCK),
	       direct / (double)(blocks * BLOCK));
	return 0;
}
