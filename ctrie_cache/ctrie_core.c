/*
 * ctrie_core.c - the search of the lock-free ctrie (ctrie_search, under
 * cache_lookup and cache_record), and the algorithm that the search and
 * the insert (ctrie_insert.c) share.
 *
 * The algorithm is the ctrie of Prokopec, Bagwell and Odersky ("Cache-Aware
 * Lock-Free Concurrent Hash Tries", 2011) and Prokopec, Bronson, Bagwell and
 * Odersky ("Concurrent Tries with Efficient Non-Blocking Snapshots", PPoPP
 * 2012), and the idea of Prokopec's "Cache-Tries" (PPoPP 2018) to start a
 * search at a deep level, restricted to what a cache that never removes
 * keys needs:
 *
 *  - Insert reads an I-node's main C-node, builds an updated copy and CASes
 *    the I-node's main from the old to the copy.  The successful CAS is the
 *    linearisation point of an insert, as in the papers; the acquire load of
 *    the main word whose C-node holds the key (or has its slot empty, or is
 *    an empty top-table slot) is that of a lookup.
 *  - No removal, hence no T-nodes, no contraction/compression and no
 *    generations, GCAS or RDCSS: nothing ever makes an I-node unreachable,
 *    so an I-node once linked stays at the same place for good (the papers
 *    need GCAS only to make snapshots and removal safe).
 *  - S-nodes are never copied: a C-node copy copies their offsets.  Their
 *    value (ops word, hit counter) is updated in place with fetch_or /
 *    fetch_add, where the papers' S-nodes are immutable and an update
 *    replaces them.  Each key therefore has exactly one S-node forever.
 *  - Keys whose full 64-bit hashes are equal go to an L-node at the level
 *    where they meet, instead of descending to the last level first.
 *  - Levels 0-2 are implicit and the I-nodes of level 3 are the words of
 *    the top table (ctrie_layout.h), indexed by the hash's low 15 bits.  In
 *    the papers' terms the trie starts with full C-nodes at levels 0-2,
 *    which an insert-only trie of more than a few tens of thousands of keys
 *    reaches anyway and never leaves; an empty top word stands for an empty
 *    C-node.  Cache-Tries keeps a cache of a deep level beside the trie,
 *    whose entries may be stale and are validated; here that level is the
 *    trie itself, so nothing is validated or kept up to date.
 *  - Beyond a million keys most searches walk one more I-node below level
 *    3 (32^4 prefixes); there the level-4 index (ctrie_layout.h, kept by
 *    ctrie_l4.c) lets a search start at that I-node, or end before it
 *    when the key's slot under it is unused.  Its words are made complete
 *    lazily and kept a superset of the slots in use by the inserts
 *    themselves, so that a search trusts what it proves, not a cache.
 *
 * Lock-freedom: a failed CAS means another insert changed that I-node; each
 * I-node can change only a bounded number of times (a slot goes empty ->
 * S-node -> I-node, or grows an L-node), so the retry loop is bounded in a
 * sane file and a hostile one is caught by CTRIE_MAX_RETRIES.
 *
 * Everything here is async-signal-safe: state lives on the stack, the only
 * calls are the lock-free allocator's, and a signal handler may re-enter
 * cache_record in the middle of another one on the same thread.
 */
#include <errno.h>

#include "ctrie_slot.h"

enum step { STEP_ABSENT, STEP_FOUND, STEP_DESCEND, STEP_CORRUPT };

static const unsigned char ctrie_empty_key[1];

size_t cache_max_key(void)
{
	return CACHE_KEY_MAX;
}

/* One step of a search in the C-node at co, of level level: the key's
 * S-node (*hit), its absence, or the I-node to descend into (*next).  Only
 * what the step reads is checked: the C-node's header (kind, level, hash
 * prefix), and what ctrie_slot_of checks. */
static CTRIE_ALWAYS_INLINE enum step cnode_step(const struct cache *c, shm_offt co,
				   unsigned level, const unsigned char *key,
				   size_t len, uint64_t h,
				   struct ctrie_hit *hit, shm_offt *next)
{
	const struct ctrie_cnode *cn = ctrie_at(c, co, CTRIE_NODE_MIN);
	struct ctrie_slot sl;

	if (cn == NULL || level > CTRIE_MAX_LEVEL ||
	    CTRIE_LOAD(cn->hdr) != ctrie_tree_hdr(TAG_CNODE, level, h))
		return STEP_CORRUPT;
	switch (ctrie_slot_of(c, cn, co, CTRIE_LOAD(cn->bitmap), level, key,
			      len, h, &sl)) {
	case CTRIE_SLOT_KEY:
		hit->s = sl.s;
		hit->len = sl.len;
		return STEP_FOUND;
	case CTRIE_SLOT_EMPTY:
	case CTRIE_SLOT_LEAF:
		return STEP_ABSENT;
	case CTRIE_SLOT_INODE:
		*next = sl.child;
		return STEP_DESCEND;
	default:
		return STEP_CORRUPT;
	}
}

/* Where the level-4 index lets a search of hash h start: at the level-4
 * I-node of a complete word whose bits hold the key's slot (*I); at no
 * node, the key being absent (L4_ABSENT, *ref the word's reference of the
 * I-node whose slot is unused, not read: a full cache refuses the key
 * without it); or from the top table (L4_NONE: the index is not in use,
 * or its word is not complete). */
enum l4_start { L4_NONE, L4_INODE, L4_ABSENT, L4_CORRUPT };

static CTRIE_ALWAYS_INLINE enum l4_start l4_start(struct cache *c, uint64_t h,
						 const struct ctrie_inode **I,
						 uint32_t *ref)
{
	_Atomic uint64_t *lw = ctrie_l4_word(c, h);
	uint64_t w;

	if (lw == NULL)
		return L4_NONE;
	/* seq_cst: pairs with ctrie_l4_note (an insert's bit is in the word
	 * before its CAS) */
	w = atomic_load_explicit(lw, memory_order_seq_cst);
	*ref = ctrie_l4_ref(w);
	if (*ref == 0)
		return L4_NONE;
	if (((ctrie_l4_bits(w) >> ctrie_index(h, CTRIE_L4_LEVEL)) & 1u) == 0)
		return L4_ABSENT;
	*I = ctrie_inode_at(c, ctrie_ref_off(*ref), CTRIE_L4_LEVEL, h);
	return *I != NULL ? L4_INODE : L4_CORRUPT;
}

/* The search from main word word of an I-node of level (the top table's
 * at level 3) down. */
static CTRIE_ALWAYS_INLINE int search_from(struct cache *c,
					   const unsigned char *key,
					   size_t len, uint64_t h,
					   struct ctrie_hit *hit,
					   struct ctrie_pos *where,
					   _Atomic uint32_t *word,
					   unsigned level)
{
	for (;;) {
		/* acquire: the C-node's contents were written before the
		 * release CAS that published it */
		const uint32_t raw = atomic_load_explicit(word,
							  memory_order_acquire);
		const shm_offt m = ctrie_ref_off(ctrie_main_ref(raw, level));
		const struct ctrie_inode *I;
		shm_offt next = SHM_NULL;

		if (m == SHM_NULL) {
			/* an empty top slot; a main word below is never 0 */
			if (level != CTRIE_TOP_LEVEL)
				return ctrie_corrupt(c);
			goto absent;
		}
		switch (cnode_step(c, m, level, key, len, h, hit, &next)) {
		case STEP_FOUND:
			return 1;
		case STEP_ABSENT:
			goto absent;
		case STEP_DESCEND:
			break;
		case STEP_CORRUPT:
			return ctrie_corrupt(c);
		}
		/* bounded: cnode_step descends from levels below the last */
		level++;
		I = ctrie_inode_at(c, next, level, h);
		if (I == NULL)
			return ctrie_corrupt(c);
		if (level == CTRIE_L4_LEVEL)
			where->x4 = next;
		word = (_Atomic uint32_t *)&I->main;
		continue;
absent:
		where->word = word;
		where->level = level;
		where->raw = raw;
		return 0;
	}
}

/* The search of a cache whose level-4 index is in use: from the index
 * word when it is complete, else from the top table.  Out of line: a small
 * cache's searches never come here. */
static __attribute__((noinline)) int
search_l4(struct cache *c, const unsigned char *key, size_t len, uint64_t h,
	  struct ctrie_hit *hit, struct ctrie_pos *where)
{
	const struct ctrie_inode *I = NULL;
	uint32_t ref = 0;

	switch (l4_start(c, h, &I, &ref)) {
	case L4_NONE:
		return search_from(c, key, len, h, hit, where,
				   ctrie_top_word(ctrie_hdr(c), h),
				   CTRIE_TOP_LEVEL);
	case L4_INODE:
		return search_from(c, key, len, h, hit, where,
				   (_Atomic uint32_t *)&I->main,
				   CTRIE_L4_LEVEL);
	case L4_ABSENT:
		where->word = NULL;
		where->level = CTRIE_L4_LEVEL;
		where->raw = ref;
		return 0;
	default:
		return ctrie_corrupt(c);
	}
}

int ctrie_search(struct cache *c, const unsigned char *key, size_t len,
		 uint64_t h, struct ctrie_hit *hit, struct ctrie_pos *where)
{
	struct ctrie_header *H = ctrie_hdr(c);

	if (ctrie_l4_active(H))
		return search_l4(c, key, len, h, hit, where);
	return search_from(c, key, len, h, hit, where, ctrie_top_word(H, h),
			   CTRIE_TOP_LEVEL);
}

int cache_lookup(struct cache *c, const void *key, size_t len,
		 struct cache_entry *e)
{
	const unsigned char *k = len ? key : ctrie_empty_key;
	struct ctrie_hit hit;
	struct ctrie_pos where;
	int r;

	if (c == NULL || c->hdr == NULL)
		return CACHE_E_NOTCACHE;
	if (len > CACHE_KEY_MAX)
		return 0;
	r = ctrie_search(c, k, len, ctrie_hash(k, len), &hit, &where);
	if (r == 1 && e != NULL)
		ctrie_entry_of(hit.s, hit.len, e);
	return r;
}
