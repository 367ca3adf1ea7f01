/*
 * scribble.h - a hostile writer's damage to a cache image, for the
 * reliability tests.  It knows little of the layout: the client area (the
 * cache header: its settings, counters and ring, then from byte 704 the
 * top table) and the arena, whose words that look like
 * links are the ones worth bending: 8-aligned offsets inside the arena, and
 * 32-bit references (offsets >> CTRIE_REF_SHIFT, as C-node children and
 * main words are) to such offsets.
 */
#ifndef SCRIBBLE_H
#define SCRIBBLE_H

#include <stdint.h>
#include <string.h>

#include "ctrie_layout.h"
#include "shm_alloc.h"
#include "stress_keys.h"

enum scribble_kind {
	SCRIBBLE_RANDOM,      /* a random word at a random aligned place     */
	SCRIBBLE_OUT_OF_RANGE,/* a link pointed outside the arena            */
	SCRIBBLE_CYCLE,       /* a link pointed at another linked node       */
	SCRIBBLE_HUGE,        /* a node header's length/count bits set       */
	SCRIBBLE_HEADER,      /* the cache header in the client area         */
	SCRIBBLE_FLIP,        /* one bit flipped                             */
	SCRIBBLE_NKINDS
};

/* Where the damage goes: the mapping (file offset 0 at map), the offset of
 * the client area, and the user base (offset SHM_NULL) with the bytes of
 * arena in use after it. */
struct scribble_target {
	unsigned char *map;
	size_t client;
	unsigned char *base;
	size_t used;
};

static inline int scribble_is_link(shm_offt v, size_t used)
{
	return v >= SHM_NULL_REGION_SIZE && v < SHM_NULL_REGION_SIZE + used &&
	       v % 8 == 0;
}

static inline int scribble_is_ref(uint32_t v, size_t used)
{
	return scribble_is_link(ctrie_ref_off(v), used);
}

/* Whether the 8 bytes at w hold a link or a reference. */
static inline int scribble_holds_link(const shm_offt *w, size_t used)
{
	uint32_t half[2];
	memcpy(half, w, sizeof half);
	return scribble_is_link(*w, used) || scribble_is_ref(half[0], used) ||
	       scribble_is_ref(half[1], used);
}

/* A random 8-aligned place in the used arena; with want_link, preferably
 * one holding a link or a reference (a few tries). */
static inline shm_offt *scribble_place(const struct scribble_target *t,
				       uint64_t *rs, int want_link)
{
	shm_offt *w = NULL;
	int tries;

	for (tries = 0; tries < 64; tries++) {
		size_t off = SHM_NULL_REGION_SIZE +
			     (size_t)(stress_rand(rs) % (t->used / 8)) * 8;
		w = (shm_offt *)(void *)(t->base + off);
		if (!want_link || scribble_holds_link(w, t->used))
			break;
	}
	return w;
}

/* Applies one damage of kind k. */
static inline void scribble_one(const struct scribble_target *t, uint64_t *rs,
				unsigned k)
{
	static const shm_offt bad[] = {
		1, 7, SHM_NULL_REGION_SIZE - 8, SHM_NULL_REGION_SIZE + 4,
		SHM_NULL_REGION_SIZE + MAX_ALLOCATABLE_SHM_SIZE,
		SHM_NULL_REGION_SIZE + MAX_ALLOCATABLE_SHM_SIZE - 8,
		SHM_OFFT_MAX, SHM_OFFT_MAX - 7, SHM_OFFT_MAX / 2 + 8,
	};
	shm_offt *w;
	uint32_t *h;

	if (t->used < 64)
		return;
	switch (k % SCRIBBLE_NKINDS) {
	case SCRIBBLE_RANDOM:
		w = scribble_place(t, rs, 0);
		*w = (shm_offt)stress_rand(rs);
		break;
	case SCRIBBLE_OUT_OF_RANGE:
		w = scribble_place(t, rs, 1);
		*w = bad[stress_rand(rs) % (sizeof bad / sizeof bad[0])];
		break;
	case SCRIBBLE_CYCLE: {
		shm_offt *from = scribble_place(t, rs, 1);
		w = scribble_place(t, rs, 1);
		*w = *from;
		break;
	}
	case SCRIBBLE_HUGE:
		/* node headers are 32-bit words at 8-aligned places whose low
		 * byte is a kind tag: keep the tag, set the rest */
		h = (uint32_t *)(void *)scribble_place(t, rs, 0);
		*h = (*h & 0xffu) | 0xffffff00u;
		break;
	case SCRIBBLE_HEADER: {
		/* the first kilobyte, or anywhere up to the top table's end
		 * (two draws, in this order: the same seed, the same damage) */
		size_t span = stress_rand(rs) & 1 ? 1024
						  : sizeof(struct ctrie_header);
		size_t off = (size_t)(stress_rand(rs) % (span / 8)) * 8;
		w = (shm_offt *)(void *)(t->map + t->client + off);
		*w = stress_rand(rs) & 1 ? (shm_offt)stress_rand(rs)
					 : *scribble_place(t, rs, 1);
		break;
	}
	default: {
		size_t off = SHM_NULL_REGION_SIZE +
			     (size_t)(stress_rand(rs) % t->used);
		t->base[off] ^= (unsigned char)(1u << (stress_rand(rs) % 8));
		break;
	}
	}
}

/* Points every link- or reference-looking word of the used arena outside
 * the arena: the damage that verify must always report. */
static inline void scribble_all_links(const struct scribble_target *t)
{
	size_t off;

	for (off = SHM_NULL_REGION_SIZE;
	     off + 8 <= SHM_NULL_REGION_SIZE + t->used; off += 8) {
		shm_offt *w = (shm_offt *)(void *)(t->base + off);
		if (scribble_is_link(*w, t->used))
			*w = SHM_NULL_REGION_SIZE + MAX_ALLOCATABLE_SHM_SIZE + 8;
	}
	for (off = SHM_NULL_REGION_SIZE;
	     off + 4 <= SHM_NULL_REGION_SIZE + t->used; off += 4) {
		uint32_t *r = (uint32_t *)(void *)(t->base + off);
		if (scribble_is_ref(*r, t->used))
			*r = UINT32_MAX;
	}
}

/* Fills t for an attached cache.  Returns 0, or -1 if its statistics
 * cannot be read. */
static inline int scribble_target_of(struct scribble_target *t,
				     const struct shm_arena *a)
{
	struct shm_stats st;

	if (shm_arena_stats(a, &st) != SHM_OK)
		return -1;
	t->map = a->map;
	t->base = a->base;
	t->client = (size_t)((unsigned char *)shm_arena_client_area(a) - a->map);
	t->used = st.max_blocks_touched << MAX_ALLOC_POW2;
	return 0;
}

#endif /* SCRIBBLE_H */
