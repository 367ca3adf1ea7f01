/*
 * ctrie_core.c - lookup and record (insert-or-merge) in the lock-free ctrie.
 *
 * The algorithm is the ctrie of Prokopec, Bagwell and Odersky ("Cache-Aware
 * Lock-Free Concurrent Hash Tries", 2011) and Prokopec, Bronson, Bagwell and
 * Odersky ("Concurrent Tries with Efficient Non-Blocking Snapshots", PPoPP
 * 2012), with the path cache of Prokopec's "Cache-Tries" (PPoPP 2018),
 * restricted to what a cache that never removes keys needs:
 *
 *  - Insert reads an I-node's main C-node, builds an updated copy and CASes
 *    the I-node's main from the old to the copy.  The successful CAS is the
 *    linearisation point of an insert, as in the papers; the acquire load of
 *    the main C-node in which the key is found (or whose slot is empty) is
 *    that of a lookup.
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
 *  - The path cache (Cache-Tries) maps a hash prefix of level 1..3 to the
 *    permanent I-node of that prefix and to a recent C-node of it.  Since
 *    I-nodes are permanent, starting a search at the cached I-node is the
 *    same as walking down to it.  The cached C-node may be stale, but C-node
 *    versions only grow: a key found in it is present (it was inserted before
 *    the C-node was cached, and keys are never removed), and when it is not
 *    found there the search goes on from the I-node's current main.  Unlike
 *    Cache-Tries there is no cache-level adjustment: three fixed tables.
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

#include "ctrie_layout.h"

/* The search's steps are inlined into its loop: they run once or twice per
 * lookup and a call costs as much as their checks. */
#if defined(__GNUC__) || defined(__clang__)
#define CTRIE_ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define CTRIE_ALWAYS_INLINE inline
#endif

enum step { STEP_ABSENT, STEP_FOUND, STEP_DESCEND, STEP_CORRUPT };

static const unsigned char ctrie_empty_key[1];

size_t cache_max_key(void)
{
	return CTRIE_MAX_KEY;
}

/* Whether the S-node at off (checked for bounds and alignment; header word
 * hdr) holds key: 1 yes (*hit filled), 0 no, -1 damaged.  A length that
 * differs from the key's answers no before the key bytes are touched. */
static CTRIE_ALWAYS_INLINE int snode_match(const struct cache *c, shm_offt off,
			      uint32_t hdr, const unsigned char *key,
			      size_t len, struct ctrie_hit *hit)
{
	size_t slen;
	const struct ctrie_snode *s = ctrie_snode_of(c, off, hdr, &slen);

	if (s == NULL)
		return -1;
	if (slen != len || memcmp(s->key, key, len) != 0)
		return 0;
	hit->s = s;
	hit->len = slen;
	return 1;
}

/* One step of a search in the C-node at co, of level level: the key's
 * S-node (*hit), its absence, or the I-node to descend into (*next).  Only
 * what the step reads is checked: the C-node's header (kind, level, hash
 * prefix), the extent up to the child used, and that child. */
static CTRIE_ALWAYS_INLINE enum step cnode_step(const struct cache *c, shm_offt co,
				   unsigned level, const unsigned char *key,
				   size_t len, uint64_t h,
				   struct ctrie_hit *hit, shm_offt *next)
{
	const struct ctrie_cnode *cn = ctrie_at(c, co, CTRIE_NODE_MIN);
	const uint32_t bit = UINT32_C(1) << ctrie_index(h, level);
	const struct ctrie_lnode *ln;
	shm_offt ch;
	uint32_t bm, hdr;
	unsigned pos;
	size_t n, i;
	uint64_t lh;

	if (cn == NULL || level > CTRIE_MAX_LEVEL ||
	    CTRIE_LOAD(cn->hdr) != ctrie_tree_hdr(TAG_CNODE, level, h))
		return STEP_CORRUPT;
	bm = CTRIE_LOAD(cn->bitmap);
	if ((bm & bit) == 0)
		return STEP_ABSENT;
	pos = ctrie_popcount(bm & (bit - 1));
	if (!ctrie_fits(co, ctrie_cnode_size(pos + 1)))
		return STEP_CORRUPT;
	ch = ctrie_ref_off(CTRIE_LOAD(cn->child[pos]));
	hdr = ctrie_hdr_at(c, ch);
	switch (CTRIE_TAG(hdr)) {
	case TAG_SNODE:
		switch (snode_match(c, ch, hdr, key, len, hit)) {
		case 1:
			return STEP_FOUND;
		case 0:
			return STEP_ABSENT;
		default:
			return STEP_CORRUPT;
		}
	case TAG_LNODE:
		ln = ctrie_lnode_at(c, ch, &n, &lh);
		if (ln == NULL)
			return STEP_CORRUPT;
		if (lh != h)
			return STEP_ABSENT;
		for (i = 0; i < n; i++) {
			shm_offt so = CTRIE_LOAD(ln->snode[i]);
			int r = snode_match(c, so, ctrie_hdr_at(c, so), key,
					    len, hit);
			if (r != 0)
				return r > 0 ? STEP_FOUND : STEP_CORRUPT;
		}
		return STEP_ABSENT;
	case TAG_INODE:
		if (level >= CTRIE_MAX_LEVEL)
			return STEP_CORRUPT;
		*next = ch;
		return STEP_DESCEND;
	default:
		return STEP_CORRUPT;
	}
}

static inline struct ctrie_slot *cache_slot(struct ctrie_header *H,
					    uint64_t h, unsigned level)
{
	return &H->path_cache[ctrie_cache_base(level) +
			      (unsigned)ctrie_prefix(h, level)];
}

int ctrie_search(struct cache *c, const unsigned char *key, size_t len,
		 uint64_t h, struct ctrie_hit *hit, struct ctrie_pos *where)
{
	struct ctrie_header *H = ctrie_hdr(c);
	shm_offt in = SHM_NULL, seen = SHM_NULL;
	unsigned level = 0, l;

	/* The deepest cached level first.  The cached C-node may be stale
	 * but never holds a key that is not present (see the top). */
	for (l = CTRIE_CACHE_LEVELS; l >= 1; l--) {
		struct ctrie_slot *slot = cache_slot(H, h, l);
		/* acquire: pairs with the release in path_cache_note, so the
		 * nodes' contents are visible */
		uint64_t pair = atomic_load_explicit(&slot->pair,
						     memory_order_acquire);
		shm_offt co = ctrie_slot_off(pair, CTRIE_SLOT_CNODE);
		shm_offt io = ctrie_slot_off(pair, CTRIE_SLOT_INODE);
		shm_offt next = SHM_NULL;

		if (co != SHM_NULL) {
			switch (cnode_step(c, co, l, key, len, h, hit, &next)) {
			case STEP_FOUND:
				return 1;
			case STEP_DESCEND:
				/* I-nodes are permanent: go on from there */
				in = next;
				level = l + 1;
				goto walk;
			case STEP_ABSENT:
				seen = co;
				break;
			case STEP_CORRUPT:
				/* damaged or reused: ask the I-node */
				break;
			}
		}
		if (io != SHM_NULL && ctrie_inode_at(c, io, l, h) != NULL) {
			in = io;
			level = l;
			goto walk;
		}
		seen = SHM_NULL;
	}
	in = atomic_load_explicit(&H->root, memory_order_acquire);
	level = 0;
walk:
	for (;;) {
		const struct ctrie_inode *I = ctrie_inode_at(c, in, level, h);
		shm_offt m, next = SHM_NULL;

		if (I == NULL)
			return ctrie_corrupt(c);
		/* acquire: the C-node's contents were written before the
		 * release CAS that published it */
		m = atomic_load_explicit(&I->main, memory_order_acquire);
		/* the cached C-node is still current: its answer stands */
		if (m == seen)
			goto absent;
		switch (cnode_step(c, m, level, key, len, h, hit, &next)) {
		case STEP_FOUND:
			return 1;
		case STEP_ABSENT:
			goto absent;
		case STEP_DESCEND:
			in = next;
			level++; /* bounded: the level is checked at each node */
			seen = SHM_NULL;
			break;
		case STEP_CORRUPT:
			return ctrie_corrupt(c);
		}
		continue;
absent:
		where->in = in;
		where->level = level;
		where->main = m;
		return 0;
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
	if (len > CTRIE_MAX_KEY)
		return 0;
	r = ctrie_search(c, k, len, ctrie_hash(k, len), &hit, &where);
	if (r == 1 && e != NULL)
		ctrie_entry_of(hit.s, hit.len, e);
	return r;
}
