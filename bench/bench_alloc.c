/*
 * bench_alloc.c - throughput and utilisation of shm_alloc, each figure next
 * to glibc malloc/free doing the same pattern in the same run.
 *
 * Every figure is the median over ROUNDS rounds; in each round ours and
 * glibc's run back to back, so a noisy machine hurts both alike.
 * Usage: bench_alloc [ROUNDS] (default 5).  The arena file lives in
 * $TMPDIR (default /dev/shm, else /tmp) and is removed at the end.
 * bench_alloc --pairs N shm|glibc: only N single-process random-size pairs
 * of one allocator (a short, deterministic run for instruction counts under
 * valgrind --tool=callgrind).
 */
#define _DEFAULT_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "shm_alloc.h"
#include "bench_util.h"

#define NSIZES 65536
#define MAXROUNDS 31

static size_t sizes[NSIZES];      /* uniform random 32..1024 */
static unsigned idx_rand[NSIZES]; /* uniform random indices  */
static int rounds = 5;
static const size_t pairs = 2000000;

enum kind { SHM, LIBC };

static void *k_alloc(enum kind k, size_t n)
{
	if (k == LIBC)
		return malloc(n);
	return ptr_malloc(n);
}

static void k_free(enum kind k, void *p)
{
	if (k == LIBC)
		free(p);
	else
		ptr_free(p);
}

/* Allocate+free pairs; fixed size or the random table.  Touches each block
 * once (as a user would).  Returns pairs per second. */
static double run_pairs(enum kind k, size_t fixed, size_t n, unsigned seed)
{
	double t0 = bench_now();
	for (size_t i = 0; i < n; i++) {
		size_t sz = fixed ? fixed : sizes[(i + seed) % NSIZES];
		void *p = k_alloc(k, sz);
		if (p == NULL) {
			fprintf(stderr, "allocation failed\n");
			exit(1);
		}
		*(volatile size_t *)p = i;
		k_free(k, p);
	}
	return (double)n / (bench_now() - t0);
}

/* With `live` blocks held: free a random one, allocate a random size. */
static double run_live(enum kind k, size_t live, size_t n)
{
	void **slot = malloc(live * sizeof *slot);
	for (size_t i = 0; i < live; i++)
		slot[i] = k_alloc(k, sizes[i % NSIZES]);
	double t0 = bench_now();
	for (size_t i = 0; i < n; i++) {
		size_t s = (idx_rand[i % NSIZES] + i / NSIZES) % live;
		k_free(k, slot[s]);
		slot[s] = k_alloc(k, sizes[(i * 7) % NSIZES]);
		if (slot[s] == NULL) {
			fprintf(stderr, "allocation failed\n");
			exit(1);
		}
		*(volatile size_t *)slot[s] = i;
	}
	double r = (double)n / (bench_now() - t0);
	for (size_t i = 0; i < live; i++)
		k_free(k, slot[i]);
	free(slot);
	return r;
}

/* The same pairs in two processes at once; aggregate pairs per second. */
static double run_pairs_2p(enum kind k, size_t fixed)
{
	int go[2], res[2];
	if (pipe(go) || pipe(res))
		exit(1);
	pid_t pid[2];
	for (int c = 0; c < 2; c++) {
		pid[c] = fork();
		if (pid[c] == 0) {
			char ch;
			close(go[1]);
			if (read(go[0], &ch, 1) != 0)
				_exit(1);
			double t[2];
			t[0] = bench_now();
			run_pairs(k, fixed, pairs, (unsigned)c * 4099u);
			t[1] = bench_now();
			_exit(write(res[1], t, sizeof t) == sizeof t ? 0 : 1);
		}
	}
	close(go[0]);
	close(go[1]);
	double lo = 1e300, hi = 0;
	for (int c = 0; c < 2; c++) {
		double t[2];
		if (read(res[0], t, sizeof t) != sizeof t)
			exit(1);
		lo = t[0] < lo ? t[0] : lo;
		hi = t[1] > hi ? t[1] : hi;
	}
	for (int c = 0; c < 2; c++)
		waitpid(pid[c], NULL, 0);
	close(res[0]);
	close(res[1]);
	return 2.0 * (double)pairs / (hi - lo);
}

static char path[512];

static void fresh_arena(void)
{
	shm_deinit();
	unlink(path);
	if (!shm_init(NULL, path)) {
		fprintf(stderr, "shm_init(%s): %s\n", path,
			shm_strerror(shm_last_error()));
		exit(1);
	}
}

/* Allocation rate of n random sizes, in the current arena. */
static double run_allocs(void **out, size_t n)
{
	double t0 = bench_now();
	for (size_t i = 0; i < n; i++)
		out[i] = ptr_malloc(sizes[(i * 13) % NSIZES]);
	return (double)n / (bench_now() - t0);
}

/* Fresh vs 50% full then fragmented by freeing a random half. */
static void run_fragmented(double *fresh, double *frag)
{
	size_t n = 200000;
	void **got = malloc(n * sizeof *got);
	fresh_arena();
	*fresh = run_allocs(got, n);

	fresh_arena();
	size_t cap = (size_t)MAX_ALLOCATABLE_SHM_SIZE / 512 + 1;
	void **fill = malloc(cap * sizeof *fill);
	size_t bytes = 0, m = 0;
	while (bytes < (size_t)MAX_ALLOCATABLE_SHM_SIZE / 2 && m < cap) {
		size_t sz = sizes[(m * 5) % NSIZES];
		fill[m] = ptr_malloc(sz);
		bytes += sz;
		m++;
	}
	for (size_t i = 0; i < m; i++)
		if (idx_rand[(i * 3) % NSIZES] & 1)
			ptr_free(fill[i]), fill[i] = NULL;
	*frag = run_allocs(got, n);
	free(fill);
	free(got);
}

/* Fresh arena, uniform random sizes until the first failure. */
static double run_utilisation(double *req_share)
{
	fresh_arena();
	size_t blocks = 0, req = 0;
	unsigned s = 2463534242u;
	for (;;) {
		s ^= s << 13, s ^= s >> 17, s ^= s << 5;
		size_t sz = 32 + s % (1024 - 32 + 1);
		if (ptr_malloc(sz) == NULL)
			break;
		size_t b = get_shm_min_allocatable_size();
		while (b < sz)
			b <<= 1;
		blocks += b;
		req += sz;
	}
	*req_share = (double)req / (double)MAX_ALLOCATABLE_SHM_SIZE;
	return (double)blocks / (double)MAX_ALLOCATABLE_SHM_SIZE;
}

static void line(const char *what, double *ours, double *libc)
{
	double r[MAXROUNDS];
	for (int i = 0; i < rounds; i++)
		r[i] = ours[i] / libc[i];
	double ratio = bench_median(r, rounds);
	printf("%-34s %8.2f M/s   glibc %8.2f M/s   ratio %5.2fx\n", what,
	       bench_median(ours, rounds) / 1e6,
	       bench_median(libc, rounds) / 1e6, ratio);
}

int main(int argc, char **argv)
{
	if (argc == 2)
		rounds = atoi(argv[1]);
	if (rounds < 1 || rounds > MAXROUNDS)
		rounds = 5;
	const char *dir = getenv("TMPDIR");
	if (dir == NULL)
		dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	snprintf(path, sizeof path, "%s/bench_alloc.%d", dir, (int)getpid());
	unsigned s = 88172645u;
	for (int i = 0; i < NSIZES; i++) {
		s ^= s << 13, s ^= s >> 17, s ^= s << 5;
		sizes[i] = 32 + s % (1024 - 32 + 1);
		s ^= s << 13, s ^= s >> 17, s ^= s << 5;
		idx_rand[i] = s;
	}
	if (argc == 4 && strcmp(argv[1], "--pairs") == 0) {
		enum kind k = strcmp(argv[3], "glibc") == 0 ? LIBC : SHM;
		size_t n = (size_t)strtoul(argv[2], NULL, 10);
		fresh_arena();
		run_pairs(k, 0, n / 10, 1); /* warm: arena pages, glibc bins */
		printf("%zu random pairs (%s): %.2f M/s\n", n, argv[3],
		       run_pairs(k, 0, n, 0) / 1e6);
		shm_deinit();
		unlink(path);
		return 0;
	}
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	printf("shm_alloc benchmark: %d rounds, medians; %zu pairs per run; "
	       "online CPUs %ld; arena %zu MiB, blocks %zu..%zu\n",
	       rounds, pairs, ncpu, (size_t)MAX_ALLOCATABLE_SHM_SIZE >> 20,
	       get_shm_min_allocatable_size(), get_shm_max_allocatable_size());

	double a[8][MAXROUNDS], g[8][MAXROUNDS];
	double frag[MAXROUNDS], fresh[MAXROUNDS], util[MAXROUNDS], req[MAXROUNDS];
	fresh_arena();
	for (int r = 0; r < rounds; r++) {
		a[0][r] = run_pairs(SHM, 64, pairs, 0);
		g[0][r] = run_pairs(LIBC, 64, pairs, 0);
		a[1][r] = run_pairs(SHM, 0, pairs, (unsigned)r);
		g[1][r] = run_pairs(LIBC, 0, pairs, (unsigned)r);
		a[2][r] = run_pairs_2p(SHM, 64);
		g[2][r] = run_pairs_2p(LIBC, 64);
		a[3][r] = run_pairs_2p(SHM, 0);
		g[3][r] = run_pairs_2p(LIBC, 0);
		a[4][r] = run_live(SHM, 4096, pairs);
		g[4][r] = run_live(LIBC, 4096, pairs);
		a[5][r] = run_live(SHM, 65536, pairs);
		g[5][r] = run_live(LIBC, 65536, pairs);
	}
	line("1 process, 64 B pairs", a[0], g[0]);
	line("1 process, random 32..1024 pairs", a[1], g[1]);
	line("2 processes, 64 B pairs", a[2], g[2]);
	line("2 processes, random pairs", a[3], g[3]);
	line("4096 live, random free+alloc", a[4], g[4]);
	line("65536 live, random free+alloc", a[5], g[5]);
	double sc[MAXROUNDS];
	for (int r = 0; r < rounds; r++)
		sc[r] = a[2][r] / a[0][r];
	printf("%-34s ours %5.2fx", "2 processes / 1 process, 64 B", bench_median(sc, rounds));
	for (int r = 0; r < rounds; r++)
		sc[r] = g[2][r] / g[0][r];
	printf("   glibc %5.2fx\n", bench_median(sc, rounds));
	for (int r = 0; r < rounds; r++)
		sc[r] = a[3][r] / a[1][r];
	printf("%-34s ours %5.2fx", "2 processes / 1 process, random", bench_median(sc, rounds));
	for (int r = 0; r < rounds; r++)
		sc[r] = g[3][r] / g[1][r];
	printf("   glibc %5.2fx\n", bench_median(sc, rounds));
	printf("%-34s %8.2f ns/op   glibc %8.2f ns/op\n",
	       "65536 live, per free+alloc",
	       1e9 / bench_median(a[5], rounds),
	       1e9 / bench_median(g[5], rounds));

	for (int r = 0; r < rounds; r++) {
		run_fragmented(&fresh[r], &frag[r]);
		util[r] = run_utilisation(&req[r]);
	}
	for (int r = 0; r < rounds; r++)
		sc[r] = frag[r] / fresh[r];
	printf("%-34s %8.2f M/s   fresh %8.2f M/s   ratio %5.2fx\n",
	       "allocs, 50% full + fragmented",
	       bench_median(frag, rounds) / 1e6,
	       bench_median(fresh, rounds) / 1e6, bench_median(sc, rounds));
	printf("%-34s %7.2f%% of the arena in blocks handed out "
	       "(%.2f%% requested bytes)\n", "utilisation at first failure",
	       100 * bench_median(util, rounds),
	       100 * bench_median(req, rounds));
	shm_deinit();
	unlink(path);
	return 0;
}
