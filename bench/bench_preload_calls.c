/*
 * bench_preload_calls.c - per-call cost loop for bench/bench-preload:
 * `bench_preload_calls OP N PATH` runs N calls of OP (stat, open+close,
 * realpath into a buffer, execvp of PATH's last component that no
 * directory of PATH holds: each candidate fails, the call returns) on
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
#include <limits.h>
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
typedef char *(*realpath_fn)(const char *, char *);
typedef int (*execvp_fn)(const char *, char *const[]);

enum op { OP_STAT, OP_OPEN, OP_REALPATH, OP_EXECVP };

/* One side's functions: the program's own symbols or libc's. */
struct fns {
	stat_fn st;
	open_fn op;
	close_fn cl;
	realpath_fn rp;
	execvp_fn ev;
};

static double cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* One block of calls through f.  Returns its CPU nanoseconds. */
static double block(enum op op, const char *path, const struct fns *f)
{
	struct stat st;
	char buf[PATH_MAX];
	char *const argv[] = { (char *)path, NULL };
	double t0 = cpu_ns();

	for (int i = 0; i < BLOCK; i++) {
		switch (op) {
		case OP_OPEN: {
			int fd = f->op(path, O_RDONLY);
			if (fd >= 0)
				f->cl(fd);
			break;
		}
		case OP_STAT:
			(void)f->st(path, &st);
			break;
		case OP_REALPATH:
			(void)f->rp(path, buf);
			break;
		case OP_EXECVP:
			(void)f->ev(path, argv);
			break;
		}
	}
	return cpu_ns() - t0;
}

int main(int argc, char **argv)
{
	void *libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
	struct fns own = { stat, open, close, realpath, execvp }, real;
	double hooked = 0, direct = 0;
	long n, blocks;
	enum op op;

	if (argc != 4) {
		fprintf(stderr, "usage: %s stat|open|realpath|execvp N PATH\n",
			argv[0]);
		return 2;
	}
	if (libc == NULL) {
		fprintf(stderr, "%s: no libc.so.6 handle: %s\n", argv[0],
			dlerror());
		return 1;
	}
	real.st = (stat_fn)dlsym(libc, "stat");
	real.op = (open_fn)dlsym(libc, "open");
	real.cl = (close_fn)dlsym(libc, "close");
	real.rp = (realpath_fn)dlsym(libc, "realpath");
	real.ev = (execvp_fn)dlsym(libc, "execvp");
	if (!real.st || !real.op || !real.cl || !real.rp || !real.ev) {
		fprintf(stderr, "%s: libc lacks a function\n", argv[0]);
		return 1;
	}
	op = strcmp(argv[1], "open") == 0       ? OP_OPEN
	     : strcmp(argv[1], "realpath") == 0 ? OP_REALPATH
	     : strcmp(argv[1], "execvp") == 0   ? OP_EXECVP
						: OP_STAT;
	n = atol(argv[2]);
	blocks = n / BLOCK > 0 ? n / BLOCK : 1;
	/* Warm-up: the first record of a key inserts it. */
	block(op, argv[3], &own);
	block(op, argv[3], &real);
	for (long b = 0; b < blocks; b++) {
		hooked += block(op, argv[3], &own);
		direct += block(op, argv[3], &real);
	}
	printf("%.1f %.1f\n", hooked / (double)(blocks * BLOCK),
	       direct / (double)(blocks * BLOCK));
	return 0;
}
