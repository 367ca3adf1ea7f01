/*
 * ctrie_node.c - the hash of a key and the out-of-line node helpers.  The
 * checked node accessors, which every offset read from the file passes
 * through before it is followed, are inline in ctrie_layout.h: they are on
 * every lookup's path.
 */
#include "ctrie_layout.h"

#define XXH_INLINE_ALL
#include <xxhash.h>

uint64_t ctrie_hash(const void *key, size_t len)
{
	uint64_t h = XXH3_64bits(key, len);
#ifdef CTRIE_WEAK_HASH
	/* 4096 distinct hashes: the low 6 bits (levels 0-1) and the top 6
	 * bits (levels 11-12) vary, everything between is zero, so keys share
	 * full hashes (L-nodes) and equal prefixes run 11 levels deep. */
	h = (h & 0x3fu) | ((h >> 6) & 0x3fu) << 58;
#endif
	return h;
}

int ctrie_corrupt(struct cache *c)
{
	/* Past a prefix mapping the file is out of reach, not damaged: the
	 * failed check may have met a sound offset there. */
	if (shm_arena_beyond_mapping(&c->arena))
		return CACHE_E_UNMAPPED;
	/* relaxed: a flag that only makes later calls give up early */
	atomic_store_explicit(&c->broken, 1, memory_order_relaxed);
	return CACHE_E_CORRUPT;
}

void ctrie_entry_of(const struct ctrie_snode *s, size_t len,
		    struct cache_entry *e)
{
	e->key = s->key;
	e->len = len;
	/* relaxed: a snapshot of independent statistics */
	e->ops = atomic_load_explicit(&s->ops, memory_order_relaxed);
	e->count = atomic_load_explicit(&s->count, memory_order_relaxed);
}
