/*
 * test_basic.c - the process-wide API: rounding, calloc, free and reuse,
 * bad frees (each refused and counted), the null page, fork, file names,
 * optional_addr.
 */
#define _DEFAULT_SOURCE
#include <criterion/criterion.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "alloc_test_util.h"

static char path[256];

static void setup(void)
{
	tmp_path(path, sizeof path, "arena");
	cr_assert(shm_init(NULL, path), "shm_init: %s",
		  shm_strerror(shm_last_error()));
}

static void teardown(void)
{
	shm_deinit();
	tmp_cleanup(path);
}

TestSuite(basic, .init = setup, .fini = teardown);

static size_t in_use(void)
{
	struct shm_stats st;
	cr_assert_eq(shm_arena_stats(shm_global_arena(), &st), SHM_OK);
	return st.bytes_in_use;
}

static uint64_t bad_frees(void)
{
	struct shm_stats st;
	shm_arena_stats(shm_global_arena(), &st);
	return st.bad_frees;
}

Test(basic, rounding_table)
{
	size_t min = get_shm_min_allocatable_size();
	size_t max = get_shm_max_allocatable_size();
	struct { size_t ask, got; } table[] = {
		{9, min}, {1, min}, {min - 1, min}, {min, min},
		{min + 1, 2 * min}, {158, rounded(158)}, {max / 2 + 1, max},
		{max, max},
	};
	cr_assert_eq(min, (size_t)1 << MIN_ALLOC_POW2);
	cr_assert_eq(max, (size_t)1 << MAX_ALLOC_POW2, "no header: max is the block");
	cr_assert_eq(get_sizeof_block_header(), 0);
	for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
		size_t before = in_use();
		shm_offt o = shm_malloc(table[i].ask);
		cr_assert_neq(o, SHM_NULL, "malloc(%zu)", table[i].ask);
		cr_assert_eq(in_use() - before, table[i].got, "malloc(%zu)",
			     table[i].ask);
		shm_free(o);
	}
	if (MIN_ALLOC_POW2 == 5 && MAX_ALLOC_POW2 >= 8)
		cr_assert_eq(rounded(158), 256);
	cr_assert_eq(shm_malloc(max + 1), SHM_NULL);
	cr_assert_eq(shm_malloc(SIZE_MAX), SHM_NULL);
	cr_assert_eq(ptr_malloc(SIZE_MAX), NULL);
	/* shm_malloc(0) hands out a minimum block */
	size_t before = in_use();
	shm_offt z = shm_malloc(0);
	cr_assert_neq(z, SHM_NULL);
	cr_assert_eq(in_use() - before, min);
	shm_free(z);
	cr_assert_eq(in_use(), 0);
}

Test(basic, calloc_zeroes_and_overflow)
{
	size_t max = get_shm_max_allocatable_size();
	unsigned char *p = ptr_malloc(max);
	memset(p, 0x5a, max);
	ptr_free(p);
	unsigned char *q = ptr_calloc(max / 8, 8);
	cr_assert_eq(q, p, "the dirty block is reused");
	for (size_t i = 0; i < max; i++)
		cr_assert_eq(q[i], 0);
	ptr_free(q);
	cr_assert_eq(shm_calloc(SIZE_MAX / 2 + 1, 2), SHM_NULL);
	cr_assert_eq(shm_calloc(2, SIZE_MAX / 2 + 1), SHM_NULL);
	cr_assert_eq(ptr_calloc(SIZE_MAX / 16, 32), NULL);
	shm_offt z = shm_calloc(0, 5);
	cr_assert_neq(z, SHM_NULL);
	shm_free(z);
}

Test(basic, free_and_reuse)
{
	shm_offt o[64];
	for (int i = 0; i < 64; i++) {
		o[i] = shm_malloc(48);
		cr_assert_neq(o[i], SHM_NULL);
		pattern_fill(SHM_OFFT_TO_ADDR(o[i]), 48, (unsigned)i);
	}
	for (int i = 0; i < 64; i++)
		cr_assert(pattern_ok(SHM_OFFT_TO_ADDR(o[i]), 48, (unsigned)i));
	shm_offt third = o[3];
	shm_free(third);
	cr_assert_eq(shm_malloc(40), third, "first fit takes the hole");
	for (int i = 0; i < 64; i++)
		shm_free(o[i]);
	cr_assert_eq(in_use(), 0);
	/* a freed max block is whole again */
	cr_assert_neq(shm_malloc(get_shm_max_allocatable_size()), SHM_NULL);
}

Test(basic, bad_frees_counted_and_harmless)
{
	shm_offt a = shm_malloc(128), b = shm_malloc(128);
	pattern_fill(SHM_OFFT_TO_ADDR(b), 128, 7);
	uint64_t bad0 = bad_frees();
	size_t used = in_use();
	shm_free(a);
	shm_free(a);                     /* double free */
	shm_free(b + 64);                /* interior, aligned to min */
	shm_free(b + 8);                 /* misaligned */
	shm_free(1);                     /* in the null region */
	shm_free(SHM_NULL_REGION_SIZE + (shm_offt)MAX_ALLOCATABLE_SHM_SIZE);
	shm_free(SHM_OFFT_MAX);          /* out of range */
	shm_free(SHM_NULL);              /* no-op, not counted */
	ptr_free(NULL);                  /* no-op, not counted */
	int local;
	ptr_free(&local);                /* not in the arena */
	cr_assert_eq(bad_frees() - bad0, 7);
	cr_assert_eq(in_use(), used - 128);
	cr_assert(pattern_ok(SHM_OFFT_TO_ADDR(b), 128, 7));
	shm_free(b);
	cr_assert_eq(in_use(), 0);
	cr_assert_eq(bitmap_violations(shm_global_arena()), 0);
}

Test(basic, write_through_null_faults)
{
	pid_t pid = fork();
	if (pid == 0) {
		/* the default action, also under a sanitizer's handler */
		signal(SIGSEGV, SIG_DFL);
		signal(SIGBUS, SIG_DFL);
		*(volatile char *)SHM_OFFT_TO_ADDR(SHM_NULL) = 1;
		_exit(0);
	}
	int st;
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFSIGNALED(st), "the write did not fault");
	cr_assert(WTERMSIG(st) == SIGSEGV || WTERMSIG(st) == SIGBUS);
	/* reading is fine: it is zero */
	cr_assert_eq(*(volatile char *)SHM_OFFT_TO_ADDR(SHM_NULL), 0);
}

Test(basic, fork_inherits)
{
	shm_offt mine = shm_malloc(64);
	strcpy(SHM_OFFT_TO_ADDR(mine), "parent");
	void *base = get_shm_user_base();
	int fds[2];
	cr_assert_eq(pipe(fds), 0);
	pid_t pid = fork();
	if (pid == 0) {
		bool ok = shm_init(NULL, "/nonexistent/x") &&
			  get_shm_user_base() == base &&
			  strcmp(SHM_OFFT_TO_ADDR(mine), "parent") == 0;
		shm_offt c = shm_malloc(64);
		strcpy(SHM_OFFT_TO_ADDR(c), "child");
		ssize_t w = write(fds[1], &c, sizeof c);
		_exit(ok && c != mine && w == sizeof c ? 0 : 1);
	}
	shm_offt c = SHM_NULL;
	cr_assert_eq(read(fds[0], &c, sizeof c), (ssize_t)sizeof c);
	int st;
	waitpid(pid, &st, 0);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	cr_assert_str_eq(SHM_OFFT_TO_ADDR(c), "child");
	shm_free(c);
	shm_free(mine);
	cr_assert_eq(in_use(), 0);
}

Test(basic, deinit_then_init_gives_fresh_base)
{
	shm_offt o = shm_malloc(32);
	strcpy(SHM_OFFT_TO_ADDR(o), "kept");
	/* hold the old place so that the new mapping must go elsewhere */
	unsigned char *old = get_shm_user_base();
	shm_deinit();
	cr_assert_null(get_shm_user_base());
	cr_assert_eq(shm_malloc(8), SHM_NULL, "no arena, no allocation");
	void *hold = mmap(old, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
			  -1, 0);
	cr_assert(shm_init(NULL, path));
	unsigned char *now = get_shm_user_base();
	cr_assert_not_null(now);
	if (hold == old)
		cr_assert_neq(now, old);
	cr_assert_str_eq(SHM_OFFT_TO_ADDR(o), "kept");
	shm_free(o);
	cr_assert_eq(in_use(), 0);
	munmap(hold, 4096);
}

Test(basic, file_is_private_and_no_fd_left)
{
	struct stat st;
	cr_assert_eq(lstat(path, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600);
	cr_assert_eq((size_t)st.st_size, get_mapping_size_needed_by_shm());
	/* no descriptor of the file stays open */
	char link[64], target[512];
	for (int fd = 0; fd < 1024; fd++) {
		snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
		ssize_t n = readlink(link, target, sizeof target - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		cr_assert_str_neq(target, path, "fd %d still open", fd);
	}
}

Test(basic, client_area_and_offset_check)
{
	struct shm_arena *a = shm_global_arena();
	unsigned char *c = shm_arena_client_area(a);
	cr_assert_not_null(c);
	cr_assert_eq((uintptr_t)c % 64, 0);
	for (size_t i = 0; i < SHM_CLIENT_AREA_SIZE; i += 4096)
		cr_assert_eq(c[i], 0);
	shm_offt o = shm_malloc(100);
	cr_assert(shm_arena_offset_ok(a, o, 128, 64));
	cr_assert_not(shm_arena_offset_ok(a, SHM_NULL, 1, 1));
	cr_assert_not(shm_arena_offset_ok(a, o + 1, 8, 8));
	cr_assert_not(shm_arena_offset_ok(a, SHM_NULL_REGION_SIZE +
					  (shm_offt)MAX_ALLOCATABLE_SHM_SIZE - 8, 16, 8));
	shm_free(o);
}
