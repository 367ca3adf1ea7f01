/*
 * ctrie_recent.c - the ring of recent inserts in the cache header: written
 * by every insert that adds a key, read by cache_recent (`shmcache
 * watch`).  Advisory: a slot may be overwritten while it is read, and
 * every offset read from it is checked like any other.
 */
#include "ctrie_layout.h"

uint64_t ctrie_recent_push(struct ctrie_header *H, shm_offt sn)
{
	/* relaxed: a statistic; the ring is advisory and its readers check
	 * every offset */
	uint64_t i = atomic_fetch_add_explicit(&H->entries, 1,
					       memory_order_relaxed);
	atomic_store_explicit(&H->recent[i % CTRIE_RECENT], sn,
			      memory_order_release);
	return i + 1;
}

size_t cache_recent(struct cache *c, struct cache_entry *out, size_t max)
{
	struct ctrie_header *H;
	uint64_t next, i;
	size_t got = 0;

	if (c == NULL || c->hdr == NULL)
		return 0;
	H = ctrie_hdr(c);
	/* relaxed: the entry count is the count of ring pushes
	 * (ctrie_recent_push); acquire on the slots themselves, which
	 * were stored with release */
	next = atomic_load_explicit(&H->entries, memory_order_relaxed);
	for (i = 0; i < CTRIE_RECENT && i < next && got < max; i++) {
		shm_offt off = atomic_load_explicit(
			&H->recent[(next - 1 - i) % CTRIE_RECENT],
			memory_order_acquire);
		size_t len;
		const struct ctrie_snode *s = ctrie_snode_at(c, off, &len);
		if (s != NULL)
			ctrie_entry_of(s, len, &out[got++]);
	}
	return got;
}
