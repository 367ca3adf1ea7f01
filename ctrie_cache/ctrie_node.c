/*
 * ctrie_node.c - the hash and checked access to the nodes of the shared
 * file.  Every offset read from the file passes through here before it is
 * followed: bounds, alignment, kind tag, level and hash prefix, and the
 * node's whole extent.  Header words are loaded once (relaxed) and the
 * checked values are what callers use, so a concurrent hostile writer cannot
 * change a length between its check and its use.
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
	/* relaxed: a flag that only makes later calls give up early */
	atomic_store_explicit(&c->broken, 1, memory_order_relaxed);
	return CACHE_E_CORRUPT;
}

unsigned ctrie_tag_at(const struct cache *c, shm_offt off)
{
	const uint32_t *p = ctrie_at(c, off, sizeof(uint32_t));
	return p ? CTRIE_TAG(CTRIE_LOAD(*p)) : 0;
}

static bool tree_hdr_ok(uint32_t hdr, unsigned tag, unsigned level,
			uint64_t hash)
{
	return hdr == ctrie_tree_hdr(tag, level, hash);
}

const struct ctrie_inode *ctrie_inode_at(const struct cache *c, shm_offt off,
					 unsigned level, uint64_t hash)
{
	const struct ctrie_inode *n;
	if (level > CTRIE_MAX_LEVEL)
		return NULL;
	n = ctrie_at(c, off, sizeof *n);
	if (n == NULL || !tree_hdr_ok(CTRIE_LOAD(n->hdr), TAG_INODE, level, hash))
		return NULL;
	return n;
}

const struct ctrie_cnode *ctrie_cnode_at(const struct cache *c, shm_offt off,
					 unsigned level, uint64_t hash,
					 uint32_t *bitmap)
{
	const struct ctrie_cnode *n = ctrie_at(c, off, sizeof *n);
	uint32_t bm;
	if (n == NULL || level > CTRIE_MAX_LEVEL ||
	    !tree_hdr_ok(CTRIE_LOAD(n->hdr), TAG_CNODE, level, hash))
		return NULL;
	bm = CTRIE_LOAD(n->bitmap);
	/* the last level indexes with the 4 remaining hash bits */
	if (level == CTRIE_MAX_LEVEL && (bm >> 16) != 0)
		return NULL;
	if (ctrie_at(c, off, ctrie_cnode_size(ctrie_popcount(bm))) == NULL)
		return NULL;
	*bitmap = bm;
	return n;
}

const struct ctrie_snode *ctrie_snode_at(const struct cache *c, shm_offt off,
					 size_t *len)
{
	const struct ctrie_snode *n = ctrie_at(c, off, CTRIE_SNODE_HDR);
	uint32_t hdr;
	if (n == NULL)
		return NULL;
	hdr = CTRIE_LOAD(n->hdr);
	if (CTRIE_TAG(hdr) != TAG_SNODE || CTRIE_LEN(hdr) > CTRIE_MAX_KEY)
		return NULL;
	if (ctrie_at(c, off, CTRIE_SNODE_HDR + CTRIE_LEN(hdr)) == NULL)
		return NULL;
	*len = CTRIE_LEN(hdr);
	return n;
}

const struct ctrie_lnode *ctrie_lnode_at(const struct cache *c, shm_offt off,
					 size_t *count, uint64_t *hash)
{
	const struct ctrie_lnode *n = ctrie_at(c, off, sizeof *n);
	uint32_t hdr;
	if (n == NULL)
		return NULL;
	hdr = CTRIE_LOAD(n->hdr);
	if (CTRIE_TAG(hdr) != TAG_LNODE || CTRIE_LEN(hdr) < 2 ||
	    CTRIE_LEN(hdr) > CTRIE_LNODE_MAX)
		return NULL;
	if (ctrie_at(c, off, ctrie_lnode_size(CTRIE_LEN(hdr))) == NULL)
		return NULL;
	*count = CTRIE_LEN(hdr);
	*hash = CTRIE_LOAD(n->hash);
	return n;
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
