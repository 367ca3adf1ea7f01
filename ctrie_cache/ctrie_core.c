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
 *  - Levels 0-3 are implicit and the I-nodes of level 4 are the words of
 *    the top table (ctrie_layout.h), indexed by the hash's low 20 bits.  In
 *    the papers' terms the trie starts with full C-nodes at levels 0-3,
 *    which an insert-only trie of a few million keys reaches anyway and
 *    never leaves; an empty top word stands for an empty C-node, and a word
 *    naming an S-node for a C-node holding that one key.  Cache-Tries keeps
 *    a cache of a deep level beside the trie, whose entries may be stale
 *    and are validated; here that level is the trie itself, so nothing is
 *    validated or kept up to date.  Unlike Cache-Tries the level does not
 *    adapt: it is chosen for the default arena's millions of keys
 *    (ctrie_layout.h says why level 4).
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

/* The step at a top word that names an S-node (the only key of its
 * prefix): the key's S-node or its absence. */
static CTRIE_ALWAYS_INLINE enum step top_snode_step(const struct cache *c,
						    shm_offt m, uint32_t hdr,
						    const unsigned char *key,
						    size_t len,
						    struct ctrie_hit *hit)
{
	switch (ctrie_snode_match(c, m, hdr, key, len, &hit->s, &hit->len)) {
	case 1:
		return STEP_FOUND;
	case 0:
		return STEP_ABSENT;
	default:
		return STEP_CORRUPT;
	}
}

/* The first step of a search, at its top word w: the key's S-node, its
 * absence (an empty word, an unused level-4 slot, an S-node of another
 * key), or the level-4 C-node's child to descend into (*next). */
static CTRIE_ALWAYS_INLINE enum step top_step(const struct cache *c,
					      uint64_t w,
					      const unsigned char *key,
					      size_t len, uint64_t h,
					      struct ctrie_hit *hit,
					      shm_offt *next)
{
	const shm_offt m = ctrie_ref_off(ctrie_top_ref(w));
	uint32_t hdr;

	if (!ctrie_top_may_hold(w, h))
		return STEP_ABSENT;
	hdr = ctrie_hdr_at(c, m);
	if (CTRIE_TAG(hdr) == TAG_SNODE)
		return top_snode_step(c, m, hdr, key, len, hit);
	return cnode_step(c, m, CTRIE_TOP_LEVEL, key, len, h, hit, next);
}

int ctrie_search(struct cache *c, const unsigned char *key, size_t len,
		 uint64_t h, struct ctrie_hit *hit, struct ctrie_pos *where)
{
	_Atomic uint64_t *top = ctrie_top_word(ctrie_hdr(c), h);
	/* acquire: the node's contents were written before the release CAS
	 * that published it */
	const uint64_t w = atomic_load_explicit(top, memory_order_acquire);
	_Atomic uint32_t *word = NULL;
	unsigned level = CTRIE_TOP_LEVEL;
	shm_offt m = ctrie_ref_off(ctrie_top_ref(w));
	shm_offt next = SHM_NULL;
	enum step st = top_step(c, w, key, len, h, hit, &next);

	for (;;) {
		const struct ctrie_inode *I;

		switch (st) {
		case STEP_FOUND:
			return 1;
		case STEP_ABSENT:
			where->word = word;
			where->level = level;
			where->main = m;
			return 0;
		case STEP_DESCEND:
			break;
		default:
			return ctrie_corrupt(c);
		}
		/* bounded: cnode_step descends from levels below the last */
		level++;
		I = ctrie_inode_at(c, next, level, h);
		if (I == NULL)
			return ctrie_corrupt(c);
		word = (_Atomic uint32_t *)&I->main;
		/* acquire: as the top word's */
		m = ctrie_ref_off(atomic_load_explicit(word,
						       memory_order_acquire));
		/* a main word below the top is never 0 */
		if (m == SHM_NULL)
			return ctrie_corrupt(c);
		st = cnode_step(c, m, level, key, len, h, hit, &next);
	}
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
