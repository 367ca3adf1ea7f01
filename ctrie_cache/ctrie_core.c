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

enum step { STEP_ABSENT, STEP_FOUND, STEP_DESCEND, STEP_CORRUPT };

static const unsigned char ctrie_empty_key[1];

size_t cache_max_key(void)
{
	return CTRIE_MAX_KEY;
}

static bool key_eq(const struct ctrie_snode *s, size_t slen,
		   const unsigned char *key, size_t len)
{
	return slen == len && memcmp(s->key, key, len) == 0;
}

/* One step of a search in C-node cn (bitmap bm) of level level: the key's
 * S-node (*out), its absence, or the I-node to descend into (*out). */
static enum step cnode_step(const struct cache *c,
			    const struct ctrie_cnode *cn, uint32_t bm,
			    unsigned level, const unsigned char *key,
			    size_t len, uint64_t h, shm_offt *out)
{
	const uint32_t bit = UINT32_C(1) << ctrie_index(h, level);
	shm_offt ch;
	size_t n, i, slen;
	uint64_t lh;
	const struct ctrie_snode *s;
	const struct ctrie_lnode *ln;

	if ((bm & bit) == 0)
		return STEP_ABSENT;
	ch = CTRIE_LOAD(cn->child[ctrie_popcount(bm & (bit - 1))]);
	switch (ctrie_tag_at(c, ch)) {
	case TAG_SNODE:
		s = ctrie_snode_at(c, ch, &slen);
		if (s == NULL)
			return STEP_CORRUPT;
		if (!key_eq(s, slen, key, len))
			return STEP_ABSENT;
		*out = ch;
		return STEP_FOUND;
	case TAG_LNODE:
		ln = ctrie_lnode_at(c, ch, &n, &lh);
		if (ln == NULL)
			return STEP_CORRUPT;
		if (lh != h)
			return STEP_ABSENT;
		for (i = 0; i < n; i++) {
			shm_offt so = CTRIE_LOAD(ln->snode[i]);
			s = ctrie_snode_at(c, so, &slen);
			if (s == NULL)
				return STEP_CORRUPT;
			if (key_eq(s, slen, key, len)) {
				*out = so;
				return STEP_FOUND;
			}
		}
		return STEP_ABSENT;
	case TAG_INODE:
		if (level >= CTRIE_MAX_LEVEL)
			return STEP_CORRUPT;
		*out = ch;
		return STEP_DESCEND;
	default:
		return STEP_CORRUPT;
	}
}

static struct ctrie_slot *cache_slot(struct ctrie_header *H, uint64_t h,
				     unsigned level)
{
	return &H->path_cache[ctrie_cache_base(level) +
			      (unsigned)ctrie_prefix(h, level)];
}

int ctrie_search_start(const struct cache *c, const unsigned char *key,
		       size_t len, uint64_t h, shm_offt *sn, shm_offt *in,
		       unsigned *level)
{
	struct ctrie_header *H = ctrie_hdr(c);
	unsigned l;

	for (l = CTRIE_CACHE_LEVELS; l >= 1; l--) {
		struct ctrie_slot *slot = cache_slot(H, h, l);
		/* acquire: pairs with the release in path_cache_note, so the
		 * nodes' contents are visible */
		shm_offt co = atomic_load_explicit(&slot->cnode,
						   memory_order_acquire);
		shm_offt io = atomic_load_explicit(&slot->inode,
						   memory_order_acquire);
		const struct ctrie_cnode *cn;
		uint32_t bm;

		if (co != SHM_NULL &&
		    (cn = ctrie_cnode_at(c, co, l, h, &bm)) != NULL) {
			shm_offt out = SHM_NULL;
			switch (cnode_step(c, cn, bm, l, key, len, h, &out)) {
			case STEP_FOUND:
				*sn = out;
				return 1;
			case STEP_DESCEND:
				/* I-nodes are permanent: go on from there */
				*in = out;
				*level = l + 1;
				return 0;
			case STEP_ABSENT:
			case STEP_CORRUPT:
				/* maybe stale (or damaged): ask the I-node */
				break;
			}
		}
		if (io != SHM_NULL && ctrie_inode_at(c, io, l, h) != NULL) {
			*in = io;
			*level = l;
			return 0;
		}
	}
	*in = atomic_load_explicit(&H->root, memory_order_acquire);
	*level = 0;
	return 0;
}

/* Lookup from I-node in at level: 1 found (*sn), 0 absent, or an error. */
static int search_from(struct cache *c, const unsigned char *key, size_t len,
		       uint64_t h, shm_offt in, unsigned level, shm_offt *sn)
{
	for (;;) {
		const struct ctrie_inode *I = ctrie_inode_at(c, in, level, h);
		const struct ctrie_cnode *cn;
		shm_offt m;
		uint32_t bm;

		if (I == NULL)
			return ctrie_corrupt(c);
		/* acquire: the C-node's contents were written before the
		 * release CAS that published it */
		m = atomic_load_explicit(&I->main, memory_order_acquire);
		cn = ctrie_cnode_at(c, m, level, h, &bm);
		if (cn == NULL)
			return ctrie_corrupt(c);
		switch (cnode_step(c, cn, bm, level, key, len, h, &in)) {
		case STEP_FOUND:
			*sn = in;
			return 1;
		case STEP_ABSENT:
			return 0;
		case STEP_DESCEND:
			level++; /* bounded: the level is checked at each node */
			break;
		case STEP_CORRUPT:
			return ctrie_corrupt(c);
		}
	}
}

int cache_lookup(struct cache *c, const void *key, size_t len,
		 struct cache_entry *e)
{
	const unsigned char *k = len ? key : ctrie_empty_key;
	shm_offt sn = SHM_NULL, in = SHM_NULL;
	unsigned level = 0;
	const struct ctrie_snode *s;
	size_t slen;
	uint64_t h;
	int r;

	if (c == NULL || c->hdr == NULL)
		return CACHE_E_NOTCACHE;
	if (len > CTRIE_MAX_KEY)
		return 0;
	h = ctrie_hash(k, len);
	if (!ctrie_search_start(c, k, len, h, &sn, &in, &level)) {
		r = search_from(c, k, len, h, in, level, &sn);
		if (r <= 0)
			return r;
	}
	s = ctrie_snode_at(c, sn, &slen);
	if (s == NULL)
		return ctrie_corrupt(c);
	if (e != NULL)
		ctrie_entry_of(s, slen, e);
	return 1;
}
