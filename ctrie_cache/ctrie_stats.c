/*
 * ctrie_stats.c - cache_stats: the figures kept in the cache header, the
 * allocator's, and (with a walk) those only the trie itself can tell.
 */
#include "ctrie_layout.h"

int cache_stats(struct cache *c, struct cache_stats *st, bool with_walk)
{
	struct ctrie_header *H;

	memset(st, 0, sizeof *st);
	if (c == NULL || c->hdr == NULL)
		return CACHE_E_NOTCACHE;
	H = ctrie_hdr(c);
	st->format_version = H->version;
	/* relaxed: statistics */
	st->entries = atomic_load_explicit(&H->entries, memory_order_relaxed);
	st->key_bytes = atomic_load_explicit(&H->key_bytes, memory_order_relaxed);
	st->retired_bytes = atomic_load_explicit(&H->retired_bytes,
						 memory_order_relaxed);
	st->skipped_toolong = atomic_load_explicit(&H->skipped_toolong,
						   memory_order_relaxed);
	st->skipped_full = atomic_load_explicit(&H->skipped_full,
						memory_order_relaxed);
	st->lost_races = atomic_load_explicit(&H->lost_races,
					      memory_order_relaxed);
	st->slack_bytes = atomic_load_explicit(&H->slack_bytes,
					       memory_order_relaxed);
	st->attaches = atomic_load_explicit(&H->attaches,
					    memory_order_relaxed);
	if (shm_arena_stats(&c->arena, &st->arena) != SHM_OK)
		return CACHE_E_CORRUPT;
	if (with_walk)
		return ctrie_walk_totals(c, &st->live_bytes, &st->records);
	return CACHE_OK;
}
