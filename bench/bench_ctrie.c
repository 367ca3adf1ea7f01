/*
 * bench_ctrie.c - the path cache against a plain single-threaded
 * open-addressing hash table over the same keys, in the same run.
 *
 * usage: bench_ctrie PATHS-FILE CACHE-FILE [RUNS]
 * Prints, for each figure, the median over RUNS (>= 5) of the cache, of the
 * plain table, and of their ratio; lookups with 1 and 2 processes; bytes
 * per entry.  Both sides hash with XXH3 and merge ops/count per record.
 *
 * Both start every run on fresh memory: the cache on a new file, the plain
 * table on new anonymous mappings.  (Under malloc, runs after the first
 * would reuse the heap pages that the first faulted in, as glibc raises
 * its mmap threshold after a large free: the plain table's median would
 * come from warm pages and the cache's from fresh ones.)
 */
#define _DEFAULT_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ctrie_cache.h"
#include "bench_util.h"

#define XXH_INLINE_ALL
#include <xxhash.h>

static char **key, **absent;
static size_t *klen, *alen, n;

/* ---- the plain table ---------------------------------------------------- */

struct slot {
	uint64_t hash;
	uint64_t count;
	uint32_t ops;
	uint32_t len;
	const char *key; /* into the table's key heap */
};

struct plain {
	struct slot *t;
	size_t cap;
	char *heap;
	size_t heap_used, heap_cap;
};

/* Fresh zeroed pages, as a new cache file's are. */
static void *fresh(size_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	return p;
}

static void plain_init(struct plain *p, size_t n_keys, size_t key_bytes)
{
	p->cap = 16;
	while (p->cap * 3 < n_keys * 4) /* load <= 0.75 */
		p->cap *= 2;
	p->t = fresh(p->cap * sizeof *p->t);
	p->heap_cap = key_bytes + n_keys;
	p->heap = fresh(p->heap_cap);
	p->heap_used = 0;
}

static void plain_free(struct plain *p)
{
	munmap(p->t, p->cap * sizeof *p->t);
	munmap(p->heap, p->heap_cap);
}

static struct slot *plain_find(struct plain *p, const char *k, size_t len,
			       uint64_t h)
{
	size_t i = (size_t)h & (p->cap - 1);
	for (;; i = (i + 1) & (p->cap - 1)) {
		struct slot *s = &p->t[i];
		if (s->key == NULL ||
		    (s->hash == h && s->len == len && memcmp(s->key, k, len) == 0))
			return s;
	}
}

static void plain_record(struct plain *p, const char *k, size_t len,
			 uint32_t ops)
{
	uint64_t h = XXH3_64bits(k, len);
	struct slot *s = plain_find(p, k, len, h);
	if (s->key == NULL) {
		char *d = p->heap + p->heap_used;
		memcpy(d, k, len);
		d[len] = 0;
		p->heap_used += len + 1;
		s->key = d;
		s->hash = h;
		s->len = (uint32_t)len;
	}
	s->ops |= ops;
	s->count++;
}

static int plain_lookup(struct plain *p, const char *k, size_t len)
{
	return plain_find(p, k, len, XXH3_64bits(k, len))->key != NULL;
}

/* ---- helpers ------------------------------------------------------------- */

static size_t *order;

static void shuffle(uint64_t seed)
{
	size_t i;
	for (i = 0; i < n; i++)
		order[i] = i;
	for (i = n - 1; i > 0; i--) {
		seed = seed * 6364136223846793005u + 1442695040888963407u;
		size_t j = (size_t)(seed >> 33) % (i + 1), t = order[i];
		order[i] = order[j];
		order[j] = t;
	}
}

static void die(const char *what, int r)
{
	fprintf(stderr, "bench_ctrie: %s: %s\n", what, cache_strerror(r));
	exit(1);
}

static void print_load(const char *when)
{
	char buf[128] = "";
	FILE *f = fopen("/proc/loadavg", "r");
	if (f == NULL)
		return;
	if (fgets(buf, sizeof buf, f) != NULL)
		printf("%s: %s", when, buf);
	fclose(f);
}

/* Lookups by nproc processes on the populated cache; returns lookups/s. */
static double lookups_procs(const char *file, int nproc, int present)
{
	int go[2], i;
	pid_t pid[8];
	double t0;
	char b = 'g';

	if (pipe(go) != 0)
		exit(1);
	for (i = 0; i < nproc; i++) {
		pid[i] = fork();
		if (pid[i] == 0) {
			struct cache c;
			size_t j;
			long found = 0;
			if (cache_attach(&c, file, CACHE_ATTACH_RDONLY) != CACHE_OK)
				_exit(2);
			close(go[1]);
			if (read(go[0], &b, 1) != 0)
				_exit(2);
			for (j = 0; j < n; j++) {
				size_t x = order[(j + (size_t)i * n / 2) % n];
				found += present ? cache_lookup(&c, key[x], klen[x], NULL)
						 : cache_lookup(&c, absent[x], alen[x], NULL);
			}
			_exit(found == (present ? (long)n : 0) ? 0 : 3);
		}
	}
	close(go[0]);
	usleep(100000); /* let the children map the file before the clock */
	t0 = bench_now();
	close(go[1]);
	for (i = 0; i < nproc; i++) {
		int st;
		waitpid(pid[i], &st, 0);
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			fprintf(stderr, "bench_ctrie: lookup child failed\n");
			exit(1);
		}
	}
	return (double)n * nproc / (bench_now() - t0);
}

int main(int argc, char **argv)
{
	enum { INS, LUP, LUA, INS2, L1, L2, NFIG };
	static const char *name[NFIG] = {
		"inserts/s, 1 process", "lookups/s present", "lookups/s absent",
		"inserts/s, 2 processes", "lookups/s, 1 proc (fork)",
		"lookups/s, 2 procs (fork)",
	};
	double fig[NFIG][64], base[3][64], ratio[3][64], lost[64], in_use2[64];
	double retired2[64], slack2[64];
	int runs = argc > 3 ? atoi(argv[3]) : 5, r, f;
	size_t cap = 0, i, key_bytes = 0;
	char line[4096];
	FILE *in;
	struct cache c;
	struct cache_stats st, st2;
	double plain_bytes = 0;

	if (argc < 3 || runs < 1 || runs > 64) {
		fprintf(stderr, "usage: bench_ctrie PATHS CACHE-FILE [RUNS]\n");
		return 2;
	}
	in = fopen(argv[1], "r");
	if (in == NULL)
		return 1;
	while (fgets(line, sizeof line, in)) {
		size_t l = strcspn(line, "\n");
		if (l == 0 || l > cache_max_key())
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 1024;
			key = realloc(key, cap * sizeof *key);
			absent = realloc(absent, cap * sizeof *absent);
			klen = realloc(klen, cap * sizeof *klen);
			alen = realloc(alen, cap * sizeof *alen);
		}
		key[n] = strndup(line, l);
		klen[n] = l;
		/* an absent key of the same length distribution */
		absent[n] = strndup(line, l);
		absent[n][l / 2] ^= 0x80;
		alen[n] = l;
		key_bytes += l;
		n++;
	}
	fclose(in);
	order = malloc(n * sizeof *order);
	printf("keys: %zu, mean length %.1f bytes, runs: %d, nproc: %ld\n", n,
	       (double)key_bytes / (double)n, runs, sysconf(_SC_NPROCESSORS_ONLN));
	print_load("load average before");

	for (r = 0; r < runs; r++) {
		struct plain p;
		double t;
		int k;

		shuffle((uint64_t)r + 1);
		/* the plain table */
		plain_init(&p, n, key_bytes); /* outside, as cache_attach */
		t = bench_now();
		for (i = 0; i < n; i++)
			plain_record(&p, key[order[i]], klen[order[i]], CACHE_OP_READ);
		base[0][r] = (double)n / (bench_now() - t);
		plain_bytes = (double)(p.cap * sizeof *p.t + p.heap_used) / (double)n;
		shuffle((uint64_t)r + 1000);
		for (k = 0; k < 2; k++) {
			size_t found = 0;
			t = bench_now();
			for (i = 0; i < n; i++) {
				size_t x = order[i];
				found += k == 0 ? plain_lookup(&p, key[x], klen[x])
						: plain_lookup(&p, absent[x], alen[x]);
			}
			base[1 + k][r] = (double)n / (bench_now() - t);
			if (found != (k == 0 ? n : 0))
				die("plain table lookup", 0);
		}
		plain_free(&p);

		/* the cache, in a fresh file */
		shuffle((uint64_t)r + 1);
		unlink(argv[2]);
		int e = cache_attach(&c, argv[2], CACHE_ATTACH_CREATE);
		if (e != CACHE_OK)
			die("attach", e);
		t = bench_now();
		for (i = 0; i < n; i++) {
			e = cache_record(&c, key[order[i]], klen[order[i]],
					 CACHE_OP_READ);
			if (e != CACHE_OK)
				die("record", e);
		}
		fig[INS][r] = (double)n / (bench_now() - t);
		shuffle((uint64_t)r + 1000);
		for (k = 0; k < 2; k++) {
			size_t found = 0;
			t = bench_now();
			for (i = 0; i < n; i++) {
				size_t x = order[i];
				found += (size_t)(k == 0
					? cache_lookup(&c, key[x], klen[x], NULL)
					: cache_lookup(&c, absent[x], alen[x], NULL));
			}
			fig[LUP + k][r] = (double)n / (bench_now() - t);
			if (found != (k == 0 ? n : 0))
				die("cache lookup", CACHE_E_CORRUPT);
		}
		if (r == 0 && cache_stats(&c, &st, true) != CACHE_OK)
			die("stats", CACHE_E_CORRUPT);
		cache_detach(&c);
		fig[L1][r] = lookups_procs(argv[2], 1, 1);
		fig[L2][r] = lookups_procs(argv[2], 2, 1);

		/* inserts by two processes, each half of the keys, fresh file */
		unlink(argv[2]);
		if ((e = cache_attach(&c, argv[2], CACHE_ATTACH_CREATE)) != CACHE_OK)
			die("attach", e);
		cache_detach(&c);
		t = bench_now();
		for (k = 0; k < 2; k++) {
			if (fork() == 0) {
				struct cache cc;
				if (cache_attach(&cc, argv[2], 0) != CACHE_OK)
					_exit(2);
				for (i = (size_t)k; i < n; i += 2)
					if (cache_record(&cc, key[order[i]],
							 klen[order[i]],
							 CACHE_OP_READ) != CACHE_OK)
						_exit(3);
				_exit(0);
			}
		}
		for (k = 0; k < 2; k++) {
			int s;
			wait(&s);
			if (!WIFEXITED(s) || WEXITSTATUS(s) != 0)
				die("2-process insert", 0);
		}
		fig[INS2][r] = (double)n / (bench_now() - t);
		/* what the two processes' lost races left: garbage, never
		 * freed (ctrie_insert.c) */
		if ((e = cache_attach(&c, argv[2], 0)) != CACHE_OK ||
		    cache_stats(&c, &st2, false) != CACHE_OK)
			die("stats", e);
		cache_detach(&c);
		lost[r] = (double)st2.lost_races;
		in_use2[r] = (double)st2.arena.bytes_in_use / (double)st2.entries;
		retired2[r] = (double)st2.retired_bytes / (double)st2.entries;
		slack2[r] = (double)st2.slack_bytes / (double)st2.entries;
		for (k = 0; k < 3; k++)
			ratio[k][r] = fig[k][r] / base[k][r];
		ratio[2][r] = fig[LUA][r] / base[2][r];
	}
	unlink(argv[2]);
	/* the 2-process figures only mean something if the other runnable
	 * work on the machine left two cores free */
	print_load("load average after");

	printf("%-28s %14s %14s %8s\n", "figure (median)", "ctrie", "plain table",
	       "ratio");
	for (f = 0; f < 3; f++)
		printf("%-28s %14.0f %14.0f %7.2fx\n", name[f],
		       bench_median(fig[f], runs), bench_median(base[f], runs),
		       bench_median(ratio[f], runs));
	printf("%-28s %14.0f   2 procs / 1 proc: %.2fx\n", name[INS2],
	       bench_median(fig[INS2], runs),
	       bench_median(fig[INS2], runs) /
		       bench_median(fig[INS], runs));
	printf("%-28s %14s   lost races %.0f; bytes/entry in use %.1f, "
	       "retired %.1f, slack %.1f\n", "", "",
	       bench_median(lost, runs), bench_median(in_use2, runs),
	       bench_median(retired2, runs),
	       bench_median(slack2, runs));
	printf("%-28s %14.0f\n", name[L1], bench_median(fig[L1], runs));
	printf("%-28s %14.0f   2 procs / 1 proc: %.2fx\n", name[L2],
	       bench_median(fig[L2], runs),
	       bench_median(fig[L2], runs) / bench_median(fig[L1], runs));
	printf("bytes/entry: ctrie live %.1f, retired %.1f, slack %.1f, "
	       "in use %.1f; "
	       "plain table %.1f (slots %zu B at load <= 0.75 + keys); "
	       "live/plain %.2fx\n",
	       (double)st.live_bytes / (double)st.entries,
	       (double)st.retired_bytes / (double)st.entries,
	       (double)st.slack_bytes / (double)st.entries,
	       (double)st.arena.bytes_in_use / (double)st.entries, plain_bytes,
	       sizeof(struct slot),
	       (double)st.live_bytes / (double)st.entries / plain_bytes);
	return 0;
}
