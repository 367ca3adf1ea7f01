/*
 * ctrie_walk.c - iteration over the whole trie (cache_iterate and the
 * totals of cache_stats).
 *
 * The papers iterate over a read-only snapshot (GCAS/RDCSS).  We have no
 * snapshots; we rely on insert-only monotonicity instead: each I-node's main
 * is read once, when the walk reaches it; C-node versions only grow, and
 * S-nodes are never copied, so a key is in exactly one slot of any version
 * of the C-nodes on its hash path (directly, in an L-node, or below the
 * I-node that replaced its slot).  Hence every key present when the walk
 * starts is met exactly once, and a key inserted meanwhile at most once.
 *
 * The walk uses an explicit stack bounded by the number of levels, checks
 * every offset, level and prefix, and stops at the first damage.
 */
#include "ctrie_layout.h"

struct frame {
	const struct ctrie_cnode *cn;
	uint32_t rest;   /* bits of the bitmap not visited yet */
	unsigned i;      /* next child position */
	uint64_t prefix; /* hash bits below this level */
};

struct walker {
	/* a leaf (S-node), with its key length */
	int (*leaf)(struct cache *c, const struct ctrie_snode *s, size_t len,
		    void *arg);
	/* any node, with the bytes of the file it takes (may be NULL) */
	void (*node)(size_t bytes, void *arg);
	void *arg;
};

/* Notes a node of size bytes: a block of its own, or (carved) an S-node. */
static void note(const struct walker *w, size_t size, bool carved)
{
	if (w->node != NULL)
		w->node(carved ? size : ctrie_block_size(size), w->arg);
}

/* Visits the S-node at off: CACHE_OK, CACHE_E_CORRUPT or CACHE_E_STOP. */
static int visit_snode(struct cache *c, const struct walker *w, shm_offt off)
{
	size_t len;
	const struct ctrie_snode *s = ctrie_snode_at(c, off, &len);
	if (s == NULL)
		return ctrie_corrupt(c);
	note(w, ctrie_snode_extent(len), true);
	if (w->leaf && w->leaf(c, s, len, w->arg) != 0)
		return CACHE_E_STOP;
	return CACHE_OK;
}

/* Walks everything below root.  Returns CACHE_OK, CACHE_E_CORRUPT, or
 * CACHE_E_STOP when leaf returned non-zero. */
static int walk(struct cache *c, const struct walker *w)
{
	struct frame st[CTRIE_MAX_LEVEL + 1];
	unsigned depth = 0;
	shm_offt root = atomic_load_explicit(&ctrie_hdr(c)->root,
					     memory_order_acquire);
	const struct ctrie_inode *in = ctrie_inode_at(c, root, 0, 0);
	uint32_t bm;

	if (in == NULL)
		return ctrie_corrupt(c);
	/* acquire: see ctrie_search in ctrie_core.c */
	st[0].cn = ctrie_cnode_at(c, atomic_load_explicit(&in->main,
							  memory_order_acquire),
				  0, 0, &bm);
	if (st[0].cn == NULL)
		return ctrie_corrupt(c);
	note(w, sizeof *in, false);
	note(w, ctrie_cnode_size(ctrie_popcount(bm)), false);
	st[0].rest = bm;
	st[0].i = 0;
	st[0].prefix = 0;
	for (;;) {
		struct frame *f = &st[depth];
		unsigned idx;
		uint64_t prefix;
		shm_offt ch;
		size_t n, i;
		uint64_t lh;
		int r;
		const struct ctrie_lnode *ln;

		if (f->rest == 0) {
			if (depth == 0)
				return CACHE_OK;
			depth--;
			continue;
		}
		idx = (unsigned)__builtin_ctz(f->rest);
		f->rest &= f->rest - 1;
		prefix = f->prefix | (uint64_t)idx << (CTRIE_BITS * depth);
		ch = ctrie_ref_off(CTRIE_LOAD(f->cn->child[f->i++]));
		switch (ctrie_tag_at(c, ch)) {
		case TAG_SNODE:
			r = visit_snode(c, w, ch);
			if (r != CACHE_OK)
				return r;
			break;
		case TAG_LNODE:
			ln = ctrie_lnode_at(c, ch, &n, &lh);
			if (ln == NULL)
				return ctrie_corrupt(c);
			note(w, ctrie_lnode_size(n), false);
			for (i = 0; i < n; i++) {
				r = visit_snode(c, w, CTRIE_LOAD(ln->snode[i]));
				if (r != CACHE_OK)
					return r;
			}
			break;
		case TAG_INODE:
			if (depth >= CTRIE_MAX_LEVEL)
				return ctrie_corrupt(c);
			in = ctrie_inode_at(c, ch, depth + 1, prefix);
			if (in == NULL)
				return ctrie_corrupt(c);
			st[depth + 1].cn = ctrie_cnode_at(
				c, atomic_load_explicit(&in->main,
							memory_order_acquire),
				depth + 1, prefix, &bm);
			if (st[depth + 1].cn == NULL)
				return ctrie_corrupt(c);
			note(w, sizeof *in, false);
			note(w, ctrie_cnode_size(ctrie_popcount(bm)), false);
			depth++;
			st[depth].rest = bm;
			st[depth].i = 0;
			st[depth].prefix = prefix;
			break;
		default:
			return ctrie_corrupt(c);
		}
	}
}

struct iter_arg {
	cache_visit_fn fn;
	void *arg;
};

static int iter_leaf(struct cache *c, const struct ctrie_snode *s,
		     size_t len, void *arg)
{
	struct iter_arg *a = arg;
	struct cache_entry e;
	(void)c;
	ctrie_entry_of(s, len, &e);
	return a->fn(&e, a->arg);
}

int cache_iterate(struct cache *c, cache_visit_fn fn, void *arg)
{
	struct iter_arg a = { fn, arg };
	struct walker w = { iter_leaf, NULL, &a };
	if (c == NULL || c->hdr == NULL)
		return CACHE_E_NOTCACHE;
	return walk(c, &w);
}

struct totals {
	uint64_t bytes;
	uint64_t records;
};

static int totals_leaf(struct cache *c, const struct ctrie_snode *s,
		       size_t len, void *arg)
{
	struct totals *t = arg;
	(void)c;
	(void)len;
	/* relaxed: statistics */
	t->records += atomic_load_explicit(&s->count, memory_order_relaxed);
	return 0;
}

static void totals_node(size_t bytes, void *arg)
{
	struct totals *t = arg;
	t->bytes += bytes;
}

int ctrie_walk_totals(struct cache *c, uint64_t *live_bytes,
		      uint64_t *records)
{
	struct totals t = { 0, 0 };
	struct walker w = { totals_leaf, totals_node, &t };
	int r = walk(c, &w);
	*live_bytes = t.bytes;
	*records = t.records;
	return r;
}
