/*
 * threads_cache - threads of one process sharing one cache and its arena,
 * without Criterion, so that it runs under ThreadSanitizer (Criterion's
 * runner cannot start under TSan) and in the -m32 build.
 *
 *   threads_cache [-t THREADS] [-n RECORDS] DIR
 *
 * THREADS writers first record the same new keys in the same order, so
 * that they race to insert each one (the losers keep the nodes they built
 * as garbage, counted), then overlapping random keys (each counting what
 * it recorded); a reader looks keys up and iterates meanwhile, and two
 * more threads allocate and free blocks of the same arena, writing a
 * pattern over each block and checking it before the free (and zeroing it
 * then: the cache needs blocks zero when they are handed out, see struct
 * cache).  Afterwards every key's hit counter equals the sum of the
 * writers' counts, its bits are the union, no block was overwritten, and
 * verify is clean.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctrie_cache.h"
#include "stress_keys.h"

#define NKEYS 2000
#define LOCKSTEP 2000 /* keys NKEYS.. recorded by every writer in order */
#define ALLKEYS (NKEYS + LOCKSTEP)
#define MAX_THREADS 32
#define KEY_CAP 4096

static struct cache cache;
static unsigned records = 20000;
static size_t max_key;
static atomic_int writers_left;
static atomic_long pattern_errors, reader_errors;
static uint32_t counts[MAX_THREADS][ALLKEYS];
static uint32_t opsof[MAX_THREADS][ALLKEYS];
static pthread_barrier_t start;

/* Records key k with ops, counting it for writer id. */
static void record(unsigned id, uint32_t k, uint32_t ops, char *key)
{
	size_t len = stress_key(k, key, KEY_CAP, max_key);
	if (cache_record(&cache, key, len, ops) == CACHE_OK) {
		counts[id][k]++;
		opsof[id][k] |= ops;
	}
}

static void *writer(void *arg)
{
	unsigned id = (unsigned)(size_t)arg, i;
	uint64_t rs = 0x9e3779b97f4a7c15ULL * (id + 1);
	char key[KEY_CAP];

	pthread_barrier_wait(&start);
	for (i = 0; i < LOCKSTEP; i++)
		record(id, NKEYS + i, 1u << (id % 19), key);
	for (i = 0; i < records; i++) {
		uint32_t k = (uint32_t)(stress_rand(&rs) % NKEYS);
		record(id, k, 1u << (stress_rand(&rs) % 19), key);
	}
	atomic_fetch_sub(&writers_left, 1);
	return NULL;
}

static int count_entry(const struct cache_entry *e, void *arg)
{
	(*(long *)arg) += e->len > 0;
	return 0;
}

static void *reader(void *arg)
{
	uint64_t rs = 12345;
	char key[KEY_CAP];

	(void)arg;
	while (atomic_load(&writers_left) > 0) {
		uint32_t k = (uint32_t)(stress_rand(&rs) % NKEYS);
		size_t len = stress_key(k, key, sizeof key, max_key);
		struct cache_entry e;
		long n = 0;
		int r = cache_lookup(&cache, key, len, &e);

		if (r < 0 || (r == 1 && (e.len != len ||
					 memcmp(e.key, key, len) != 0)))
			atomic_fetch_add(&reader_errors, 1);
		if (k % 64 == 0 && cache_iterate(&cache, count_entry, &n) != CACHE_OK)
			atomic_fetch_add(&reader_errors, 1);
	}
	return NULL;
}

static void *allocator(void *arg)
{
	unsigned id = (unsigned)(size_t)arg, i, j;
	uint64_t rs = 777 + id;
	shm_offt live[64] = { 0 };
	size_t size[64] = { 0 };

	for (i = 0; i < records; i++) {
		j = (unsigned)(stress_rand(&rs) % 64);
		if (live[j] != SHM_NULL) {
			unsigned char *p = SHM_ARENA_ADDR(&cache.arena, live[j]);
			size_t b;
			for (b = 0; b < size[j]; b++)
				if (p[b] != (unsigned char)(id * 64 + j))
					break;
			if (b != size[j])
				atomic_fetch_add(&pattern_errors, 1);
			memset(p, 0, size[j]);
			shm_arena_free(&cache.arena, live[j]);
			live[j] = SHM_NULL;
		} else {
			size[j] = 1 + (size_t)(stress_rand(&rs) % 1000);
			live[j] = shm_arena_malloc(&cache.arena, size[j]);
			if (live[j] != SHM_NULL)
				memset(SHM_ARENA_ADDR(&cache.arena, live[j]),
				       id * 64 + j, size[j]);
		}
	}
	for (j = 0; j < 64; j++) {
		if (live[j] != SHM_NULL)
			memset(SHM_ARENA_ADDR(&cache.arena, live[j]), 0,
			       size[j]);
		shm_arena_free(&cache.arena, live[j]);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t t[MAX_THREADS + 3];
	unsigned nthreads = 8, i, k, bad = 0;
	char path[4096], key[KEY_CAP];
	struct cache_stats st;
	long problems;
	int opt;

	while ((opt = getopt(argc, argv, "t:n:")) != -1) {
		switch (opt) {
		case 't': nthreads = (unsigned)atoi(optarg); break;
		case 'n': records = (unsigned)atoi(optarg); break;
		default: goto usage;
		}
	}
	if (optind + 1 != argc || nthreads < 1 || nthreads > MAX_THREADS)
		goto usage;
	snprintf(path, sizeof path, "%s/threads-%d.cache", argv[optind],
		 (int)getpid());
	unlink(path);
	if (cache_attach(&cache, path, CACHE_ATTACH_CREATE) != CACHE_OK) {
		printf("cannot create %s\n", path);
		return 2;
	}
	max_key = cache_max_key() < KEY_CAP - 1 ? cache_max_key() : KEY_CAP - 1;
	atomic_store(&writers_left, (int)nthreads);
	pthread_barrier_init(&start, NULL, nthreads);
	for (i = 0; i < nthreads + 3; i++) {
		void *(*fn)(void *) = i < nthreads ? writer
				      : i == nthreads ? reader : allocator;
		void *arg = (void *)(size_t)(i < nthreads ? i : i - nthreads);
		if (pthread_create(&t[i], NULL, fn, arg) != 0) {
			/* the writers started would wait at the barrier */
			printf("threads_cache: cannot start thread %u\n", i);
			_exit(2);
		}
	}
	for (i = 0; i < nthreads + 3; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&start);

	for (k = 0; k < ALLKEYS; k++) {
		uint64_t want = 0;
		uint32_t ops = 0;
		struct cache_entry e;
		size_t len = stress_key(k, key, sizeof key, max_key);
		int r;

		for (i = 0; i < nthreads; i++) {
			want += counts[i][k];
			ops |= opsof[i][k];
		}
		r = cache_lookup(&cache, key, len, &e);
		if (want == 0 ? r != 0 : r != 1 || e.count != want || e.ops != ops) {
			if (bad++ < 5)
				printf("key %u: lookup %d count %" PRIu64 " ops %#llx, "
				       "expected count %" PRIu64 " ops %#x\n", k, r,
				       r == 1 ? e.count : 0,
				       r == 1 ? (unsigned long long)e.ops : 0,
				       want, ops);
		}
	}
	problems = cache_verify(&cache, NULL, NULL);
	if (cache_stats(&cache, &st, false) != CACHE_OK)
		problems++;
	printf("threads_cache: %u writers x %u records (%u in lockstep), a "
	       "reader, 2 allocators: %u wrong keys, %ld pattern errors, %ld "
	       "reader errors, verify %ld, %llu lost races\n",
	       nthreads, records, LOCKSTEP, bad, atomic_load(&pattern_errors),
	       atomic_load(&reader_errors), problems,
	       (unsigned long long)st.lost_races);
	cache_detach(&cache);
	unlink(path);
	return bad || problems || atomic_load(&pattern_errors) ||
	       atomic_load(&reader_errors);

usage:
	fprintf(stderr, "usage: threads_cache [-t THREADS] [-n RECORDS] DIR\n");
	return 2;
}
