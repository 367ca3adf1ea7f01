/*
 * shm_stats.c - statistics computed from the bitmaps of an arena.
 *
 * Nothing on the allocation path keeps a shared counter but the rare ones
 * (failed allocations, bad frees): the per-class figures are recounted here
 * by a pass over the block words below the high-water mark.  Works on a
 * read-only mapping and on a damaged file (it only reads, with bounds).
 */
#include <string.h>

#include "shm_layout.h"

/* Allocations in word w, per level: a set node whose parent is clear. */
static void count_word(shm_offt w, size_t *per_level)
{
	for (unsigned j = 0; j <= SHM_D; j++) {
		for (unsigned i = 0; i < (1u << j); i++) {
			if (!(w & ((shm_offt)1 << (SHM_LVL_OFF(j) + i))))
				continue;
			if (j > 0 && (w & ((shm_offt)1 << (SHM_LVL_OFF(j - 1) +
							   (i >> 1)))))
				continue;
			per_level[j]++;
		}
	}
}

int shm_arena_stats(const struct shm_arena *a, struct shm_stats *st)
{
	memset(st, 0, sizeof *st);
	if (a == NULL || a->map == NULL)
		return SHM_E_CORRUPT;
	unsigned char *map = a->map;
	struct shm_file_header *h = shm_hdr(map);
	size_t per_level[SHM_NLEVELS] = {0};

	st->arena_size = MAX_ALLOCATABLE_SHM_SIZE;
	st->file_size = SHM_FILE_SIZE;
	st->max_blocks_total = SHM_NBLOCKS;
	/* relaxed: statistics, a snapshot that may be a little stale */
	st->failed_allocs = atomic_load_explicit(&h->stat.failed_allocs,
						 memory_order_relaxed);
	st->bad_frees = atomic_load_explicit(&h->stat.bad_frees,
					     memory_order_relaxed);
	shm_offt top = atomic_load_explicit(&h->touched.v, memory_order_relaxed);
	int err = SHM_OK;
	if (top > SHM_NBLOCKS) {
		top = SHM_NBLOCKS;
		err = SHM_E_CORRUPT;
	}
	st->max_blocks_touched = top;
	for (shm_offt b = 0; b < top; b++) {
		shm_offt w = atomic_load_explicit(&shm_words(map)[b],
						  memory_order_relaxed);
		if (w == 0)
			continue;
		if ((w & SHM_LEAF_MASK) == SHM_LEAF_MASK)
			st->max_blocks_full++;
		count_word(w, per_level);
	}
	for (unsigned c = 0; c < SHM_NCLASSES; c++) {
		/* class c is 2^(MIN+c) bytes: level D - c */
		st->block_size[c] = SHM_MIN_BLOCK << c;
		st->blocks_in_use[c] = per_level[SHM_D - c];
		st->bytes_in_use += st->block_size[c] * st->blocks_in_use[c];
	}
	return err;
}
