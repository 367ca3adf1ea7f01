/*
 * test_small.c - runs against the allocator compiled with a small arena
 * (see meson.build), so that filling it to the first failure is quick.
 */
#define _DEFAULT_SOURCE
#include <criterion/criterion.h>

#include "alloc_test_util.h"

static char path[256];
static struct shm_arena *A;

static void setup(void)
{
	tmp_path(path, sizeof path, "small");
	cr_assert(shm_init(NULL, path), "%s", shm_strerror(shm_last_error()));
	A = shm_global_arena();
}

static void teardown(void)
{
	shm_deinit();
	tmp_cleanup(path);
}

TestSuite(small, .init = setup, .fini = teardown, .timeout = 30);

#define NMIN (MAX_ALLOCATABLE_SHM_SIZE >> MIN_ALLOC_POW2)

static shm_offt offs[NMIN + 1];

static struct shm_stats stats(void)
{
	struct shm_stats st;
	shm_arena_stats(A, &st);
	return st;
}

Test(small, min_blocks_fill_everything_then_refill)
{
	size_t n = 0;
	while ((offs[n] = shm_malloc(1)) != SHM_NULL)
		n++;
	cr_assert_eq(n, NMIN, "all %zu min blocks, got %zu", (size_t)NMIN, n);
	cr_assert_eq(stats().bytes_in_use, MAX_ALLOCATABLE_SHM_SIZE);
	cr_assert_eq(stats().max_blocks_full, stats().max_blocks_total);
	cr_assert_geq(stats().failed_allocs, 1);
	cr_assert_eq(shm_malloc(get_shm_max_allocatable_size()), SHM_NULL);
	/* free every other block: exactly those come back, max blocks don't */
	for (size_t i = 0; i < n; i += 2)
		shm_free(offs[i]);
	cr_assert_eq(shm_malloc(2 * get_shm_min_allocatable_size()), SHM_NULL);
	size_t again = 0;
	while (shm_malloc(1) != SHM_NULL)
		again++;
	cr_assert_eq(again, (n + 1) / 2);
	/* free all (each offset exactly once), then every max block comes back */
	for (size_t i = 0; i < n; i++)
		shm_free(offs[i]);
	cr_assert_eq(stats().bytes_in_use, 0);
	cr_assert_eq(stats().bad_frees, 0);
	size_t big = 0;
	while (shm_malloc(get_shm_max_allocatable_size()) != SHM_NULL)
		big++;
	cr_assert_eq(big, (size_t)SHM_NBLOCKS);
	cr_assert_eq(bitmap_violations(A), 0);
}

static unsigned rnd(unsigned *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

Test(small, random_fill_free_refill)
{
	unsigned s = 12345;
	size_t max = get_shm_max_allocatable_size(), n = 0, bytes = 0;
	for (;;) {
		size_t len = 1 + rnd(&s) % max;
		shm_offt o = shm_malloc(len);
		if (o == SHM_NULL)
			break;
		pattern_fill(SHM_OFFT_TO_ADDR(o), rounded(len), (unsigned)n);
		offs[n++] = o;
		bytes += rounded(len);
	}
	cr_assert_eq(stats().bytes_in_use, bytes);
	cr_assert_geq(bytes, MAX_ALLOCATABLE_SHM_SIZE / 2);
	/* free a random half; sizes come from the stats, the tree knows them */
	size_t freed = 0;
	for (size_t i = 0; i < n; i++)
		if (rnd(&s) & 1) {
			shm_free(offs[i]);
			offs[i] = SHM_NULL;
			freed++;
		}
	cr_assert_gt(freed, 0);
	size_t refill = 0;
	while (shm_malloc(get_shm_min_allocatable_size()) != SHM_NULL)
		refill++;
	cr_assert_eq(refill * get_shm_min_allocatable_size() + stats().bytes_in_use
		     - refill * get_shm_min_allocatable_size(),
		     stats().bytes_in_use);
	cr_assert_eq(stats().bytes_in_use, MAX_ALLOCATABLE_SHM_SIZE,
		     "min blocks refill every hole");
	cr_assert_eq(bitmap_violations(A), 0);
	for (size_t i = 0; i < n; i++)
		if (offs[i] != SHM_NULL)
			cr_assert(pattern_ok(SHM_OFFT_TO_ADDR(offs[i]), 32, (unsigned)i));
}

Test(small, stale_summary_bits_are_repaired)
{
	/* As if processes had died between their CAS and their summary
	 * update: every level claims every block full. */
	for (unsigned j = 0; j < SHM_NLEVELS; j++)
		for (size_t w = 0; w < SHM_SUM_WORDS; w++)
			atomic_store(shm_summary(A->map, j, w), ~(shm_offt)0);
	shm_offt o = shm_malloc(get_shm_max_allocatable_size());
	cr_assert_neq(o, SHM_NULL);
	cr_assert_eq(stats().failed_allocs, 0);
	shm_offt p = shm_malloc(1);
	cr_assert_neq(p, SHM_NULL);
	shm_free(o);
	shm_free(p);
}

Test(small, hostile_header_values_are_bounded)
{
	struct shm_file_header *h = (struct shm_file_header *)A->map;
	atomic_store(&h->touched.v, SHM_OFFT_MAX);
	for (unsigned j = 0; j < SHM_NLEVELS; j++)
		atomic_store(&h->hint[j].v, SHM_OFFT_MAX - 5);
	struct shm_stats st;
	cr_assert_eq(shm_arena_stats(A, &st), SHM_E_CORRUPT);
	shm_offt o = shm_malloc(100);
	cr_assert_neq(o, SHM_NULL);
	/* a word with internal bits set over clear leaves: leaks, no overlap */
	_Atomic shm_offt *words = (_Atomic shm_offt *)(A->map + SHM_WORDS_OFF);
	atomic_store(&words[SHM_NBLOCKS - 1],
		     (shm_offt)1 << SHM_LVL_OFF(0));
	shm_free(o);
	shm_free(SHM_NULL_REGION_SIZE +
		 (SHM_NBLOCKS - 1) * (shm_offt)get_shm_max_allocatable_size());
	cr_assert_eq(shm_arena_stats(A, &st), SHM_E_CORRUPT);
	cr_assert_eq(st.bad_frees, 1);
}

/* Fills the arena with min blocks (offs[0..NMIN)). */
static void fill_min_blocks(void)
{
	size_t n = 0;
	while ((offs[n] = shm_malloc(1)) != SHM_NULL)
		n++;
	cr_assert_eq(n, NMIN);
}

Test(small, a_level_found_full_fails_without_a_scan)
{
	_Atomic shm_offt *sum = shm_summary(A->map, SHM_D, 0);
	fill_min_blocks();
	/* a block whose summary bit says "maybe room": a scan would visit
	 * it and set the bit again; a level known full is not scanned */
	atomic_fetch_and(sum, ~(shm_offt)1);
	shm_offt failed = stats().failed_allocs;
	for (int i = 0; i < 100; i++)
		cr_assert_eq(shm_malloc(1), SHM_NULL);
	cr_assert_eq(stats().failed_allocs, failed + 100);
	cr_assert_eq(atomic_load(sum) & 1, 0, "a failure scanned the arena");
	/* a free shows room: the next request finds it at once */
	shm_free(offs[NMIN / 2]);
	cr_assert_eq(shm_malloc(1), offs[NMIN / 2]);
	cr_assert_eq(bitmap_violations(A), 0);
}

Test(small, unannounced_room_is_found_by_a_recheck)
{
	fill_min_blocks();
	/* a process killed between its free and its summary update: the
	 * block's word is clear, its summary bits still say full */
	shm_offt b = (offs[NMIN / 3] - SHM_NULL_REGION_SIZE) >> MAX_ALLOC_POW2;
	atomic_store(&shm_words(A->map)[b], 0);
	size_t tries = 0;
	shm_offt o;
	while ((o = shm_malloc(1)) == SHM_NULL && tries < 4096)
		tries++;
	cr_assert_neq(o, SHM_NULL, "room not found after %zu failures", tries);
	cr_assert_eq((o - SHM_NULL_REGION_SIZE) >> MAX_ALLOC_POW2, b);
	cr_assert_eq(bitmap_violations(A), 0);
}
