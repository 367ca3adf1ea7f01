/*
 * ctrie_stats.c - cache_stats: the figures kept in the cache header, the
 * allocator's, and (with a walk) those only the trie itself can tell.
 */
#include "ctrie_layout.h"

/* A counter of the header.  Relaxed: a statistic, nothing is read through
 * it. */
static uint64_t counter(const _Atomic uint64_t *w)
{
	return atomic_load_explicit(w, memory_order_relaxed);
}

int cache_stats(struct cache *c, struct cache_stats *st, bool with_walk)
{
	struct ctrie_header *H;

	memset(st, 0, sizeof *st);
	if (c == NULL || c->hdr == NULL)
		return CACHE_E_NOTCACHE;
	H = ctrie_hdr(c);
	st->format_version = H->version;
	st->entries = counter(&H->entries);
	st->key_bytes = counter(&H->key_bytes);
	st->retired_bytes = counter(&H->retired_bytes);
	st->skipped_toolong = counter(&H->skipped_toolong);
	st->skipped_full = counter(&H->skipped_full);
	st->lost_races = counter(&H->lost_races);
	st->slack_bytes = counter(&H->slack_bytes);
	st->attaches = counter(&H->attaches);
	if (shm_arena_stats(&c->arena, &st->arena) != SHM_OK)
		return CACHE_E_CORRUPT;
	if (with_walk)
		return ctrie_walk_totals(c, &st->live_bytes, &st->records);
	return CACHE_OK;
}
