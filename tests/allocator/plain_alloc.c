/*
 * plain_alloc.c - allocator checks without Criterion, so that they also run
 * in the -m32 build (suite 'plain').  Exits non-zero on the first failure.
 */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shm_alloc.h"

static int failures;

#define CHECK(cond)                                                       \
	do {                                                              \
		if (!(cond)) {                                            \
			fprintf(stderr, "%s:%d: check failed: %s\n",      \
				__FILE__, __LINE__, #cond);               \
			failures++;                                       \
		}                                                         \
	} while (0)

static struct shm_stats stats(void)
{
	struct shm_stats st;
	shm_arena_stats(shm_global_arena(), &st);
	return st;
}

static void check_rounding(void)
{
	size_t min = get_shm_min_allocatable_size();
	size_t max = get_shm_max_allocatable_size();
	struct shm_arena *a = shm_global_arena();
	CHECK(get_sizeof_block_header() == 0);
	CHECK(min == (size_t)1 << MIN_ALLOC_POW2);
	CHECK(max == (size_t)1 << MAX_ALLOC_POW2);
	/* sizes 1..max land on the next power of two, at least min: two such
	 * blocks are exactly one block apart when taken from a fresh block */
	for (size_t n = 1; n <= max; n = n * 3 / 2 + 1) {
		size_t want = min;
		while (want < n)
			want *= 2;
		struct shm_stats before = stats();
		shm_offt o = shm_malloc(n);
		CHECK(o != SHM_NULL);
		struct shm_stats after = stats();
		CHECK(after.bytes_in_use - before.bytes_in_use == want);
		CHECK(o % want == SHM_NULL_REGION_SIZE % want);
		shm_free(o);
	}
	shm_offt o = shm_malloc(max);
	CHECK(o != SHM_NULL);
	shm_free(o);
	CHECK(shm_malloc(max + 1) == SHM_NULL);
	CHECK(shm_malloc(SIZE_MAX) == SHM_NULL);
	CHECK(shm_calloc(SIZE_MAX / 2, 3) == SHM_NULL);
	o = shm_malloc(0);
	CHECK(o != SHM_NULL);
	shm_free(o);
	(void)a;
}

static void check_reuse_and_bad_frees(void)
{
	shm_offt a = shm_malloc(100), b = shm_malloc(100);
	CHECK(a != SHM_NULL && b != SHM_NULL && a != b);
	memset(SHM_OFFT_TO_ADDR(a), 0xab, 100);
	shm_free(a);
	shm_offt c = shm_malloc(100);
	CHECK(c == a);
	uint64_t bad0 = stats().bad_frees;
	shm_free(c);
	shm_free(c);                      /* double free */
	shm_free(b + 32);                 /* interior */
	shm_free(b + 1);                  /* misaligned */
	shm_free(3);                      /* inside the null region */
	shm_free(SHM_OFFT_MAX - 63);      /* out of range */
	ptr_free(NULL);                   /* no-op, not counted */
	shm_free(SHM_NULL);               /* no-op, not counted */
	CHECK(stats().bad_frees - bad0 == 5);
	unsigned char *p = ptr_calloc(10, 10);
	CHECK(p != NULL);
	for (int i = 0; i < 100; i++)
		CHECK(p[i] == 0);
	ptr_free(p);
	shm_free(b);
	CHECK(stats().bytes_in_use == 0);
}

static void check_fork(void)
{
	shm_offt parent = shm_malloc(64);
	pid_t pid = fork();
	if (pid == 0) {
		/* the child inherits the mapping; init again is a no-op */
		int ok = shm_init(NULL, "/nonexistent/never-used") &&
			 shm_malloc(64) != parent;
		_exit(ok ? 0 : 1);
	}
	int status = 0;
	CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	shm_free(parent);
}

int main(void)
{
	char path[] = "/tmp/shm_plain_XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0)
		return perror("mkstemp"), 2;
	close(fd);
	unlink(path);  /* shm_init creates it, 0600 */

	CHECK(get_shm_user_base() == NULL);
	CHECK(shm_malloc(8) == SHM_NULL);
	if (!shm_init(NULL, path)) {
		fprintf(stderr, "shm_init: %s\n", shm_strerror(shm_last_error()));
		return 1;
	}
	CHECK(shm_init(NULL, path));
	CHECK(get_shm_user_base() != NULL);
	check_rounding();
	check_reuse_and_bad_frees();
	check_fork();

	/* deinit then init again: a fresh base, the same file contents */
	shm_offt kept = shm_malloc(32);
	strcpy(SHM_OFFT_TO_ADDR(kept), "kept");
	shm_deinit();
	CHECK(get_shm_user_base() == NULL);
	CHECK(shm_init(NULL, path));
	CHECK(get_shm_user_base() != NULL);
	CHECK(strcmp(SHM_OFFT_TO_ADDR(kept), "kept") == 0);
	shm_free(kept);
	shm_deinit();
	unlink(path);
	if (failures)
		fprintf(stderr, "%d checks failed\n", failures);
	return failures ? 1 : 0;
}
