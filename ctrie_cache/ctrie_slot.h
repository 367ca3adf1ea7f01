/*
 * ctrie_slot.h - private: what a C-node's slot for a key holds, the one
 * classification behind both a search (ctrie_core.c) and an insert
 * (ctrie_insert.c).
 */
#ifndef CTRIE_SLOT_H
#define CTRIE_SLOT_H

#include "ctrie_layout.h"

/* A slot's contents are classified once per level of every search: inlined
 * into the callers' loops, where a call costs as much as its checks. */
#if defined(__GNUC__) || defined(__clang__)
#define CTRIE_ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define CTRIE_ALWAYS_INLINE inline
#endif

enum ctrie_slot_kind {
	CTRIE_SLOT_EMPTY, /* the key's bit is not in the bitmap               */
	CTRIE_SLOT_KEY,   /* the key's own S-node (s, len)                    */
	CTRIE_SLOT_LEAF,  /* a leaf without the key: an S-node (s, len) or an
			   * L-node (ln, n, hash)                            */
	CTRIE_SLOT_INODE, /* an I-node of the next level to descend into     */
	CTRIE_SLOT_BAD,   /* damage: out of bounds, wrong kind, too deep      */
};

/* What ctrie_slot_of found in the slot, beside its kind. */
struct ctrie_slot {
	uint32_t bit;                  /* the key's bit in the bitmap        */
	shm_offt child;                /* the child's offset (not EMPTY)     */
	const struct ctrie_snode *s;   /* KEY, or LEAF when an S-node        */
	size_t len;                    /* its checked key length             */
	const struct ctrie_lnode *ln;  /* LEAF when an L-node, else NULL     */
	size_t n;                      /* its checked count of keys          */
	uint64_t hash;                 /* its full hash                      */
};

/* Whether the S-node at off (header word hdr, read once) holds key: 1 yes,
 * 0 no, -1 damaged; *s and *slen say what it holds.  A length that differs
 * from the key's answers no before the key bytes are touched. */
static CTRIE_ALWAYS_INLINE int
ctrie_snode_match(const struct cache *c, shm_offt off, uint32_t hdr,
		  const unsigned char *key, size_t len,
		  const struct ctrie_snode **s, size_t *slen)
{
	*s = ctrie_snode_of(c, off, hdr, slen);
	if (*s == NULL)
		return -1;
	return *slen == len && memcmp((*s)->key, key, len) == 0;
}

/* An L-node's S-nodes against key: KEY (sl->s, sl->len), LEAF, or BAD. */
static CTRIE_ALWAYS_INLINE enum ctrie_slot_kind
ctrie_lnode_match(const struct cache *c, const unsigned char *key,
		  size_t len, struct ctrie_slot *sl)
{
	size_t i;

	for (i = 0; i < sl->n; i++) {
		shm_offt so = CTRIE_LOAD(sl->ln->snode[i]);
		int r = ctrie_snode_match(c, so, ctrie_hdr_at(c, so), key, len,
					  &sl->s, &sl->len);
		if (r != 0)
			return r > 0 ? CTRIE_SLOT_KEY : CTRIE_SLOT_BAD;
	}
	return CTRIE_SLOT_LEAF;
}

/* The slot of key (hash h) in C-node cn at offset co, of level level, with
 * bitmap bm as the caller read and checked it (cn's header is checked by
 * the caller).  Only what the slot needs is checked here: the C-node's
 * extent up to that child, and the child itself.  Signal-safe; reads only. */
static CTRIE_ALWAYS_INLINE enum ctrie_slot_kind
ctrie_slot_of(const struct cache *c, const struct ctrie_cnode *cn,
	      shm_offt co, uint32_t bm, unsigned level,
	      const unsigned char *key, size_t len, uint64_t h,
	      struct ctrie_slot *sl)
{
	unsigned pos;
	uint32_t hdr;

	sl->bit = UINT32_C(1) << ctrie_index(h, level);
	sl->child = SHM_NULL;
	sl->ln = NULL;
	sl->n = 0;
	sl->hash = 0;
	if ((bm & sl->bit) == 0)
		return CTRIE_SLOT_EMPTY;
	pos = ctrie_popcount(bm & (sl->bit - 1));
	if (!ctrie_fits(co, ctrie_cnode_size(pos + 1)))
		return CTRIE_SLOT_BAD;
	sl->child = ctrie_ref_off(CTRIE_LOAD(cn->child[pos]));
	hdr = ctrie_hdr_at(c, sl->child);
	switch (CTRIE_TAG(hdr)) {
	case TAG_SNODE:
		switch (ctrie_snode_match(c, sl->child, hdr, key, len, &sl->s,
					  &sl->len)) {
		case 1:
			return CTRIE_SLOT_KEY;
		case 0:
			return CTRIE_SLOT_LEAF;
		default:
			return CTRIE_SLOT_BAD;
		}
	case TAG_LNODE:
		sl->ln = ctrie_lnode_at(c, sl->child, &sl->n, &sl->hash);
		if (sl->ln == NULL)
			return CTRIE_SLOT_BAD;
		if (sl->hash != h)
			return CTRIE_SLOT_LEAF;
		return ctrie_lnode_match(c, key, len, sl);
	case TAG_INODE:
		return level < CTRIE_MAX_LEVEL ? CTRIE_SLOT_INODE
					       : CTRIE_SLOT_BAD;
	default:
		return CTRIE_SLOT_BAD;
	}
}

#endif /* CTRIE_SLOT_H */
