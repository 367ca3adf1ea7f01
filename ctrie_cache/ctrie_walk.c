/*
 * ctrie_walk.c - iteration over the whole trie (cache_iterate and the
 * totals of cache_stats).
 *
 * The papers iterate over a read-only snapshot (GCAS/RDCSS).  We have no
 * snapshots; we rely on insert-only monotonicity instead: each main word (of
 * the top table or of an I-node) is read once, when the walk reaches it;
 * C-node versions only grow, and S-nodes are never copied, so a key is in
 * exactly one slot of any version of the C-nodes on its hash path
 * (directly, in an L-node, or below the I-node that replaced its slot).
 * Hence every key present when the walk starts is met exactly once, and a
 * key inserted meanwhile at most once.
 *
 * The walk uses an explicit stack bounded by the number of levels, checks
 * every offset, level and prefix, and stops at the first damage.  It also
 * stops after more nodes than the reserved arena can hold (8 bytes at
 * least each): in a damaged file the 32 children of a C-node may all name
 * one I-node, level after level, and a walk that went down every path of
 * such a graph would take days.
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
	uint64_t nodes; /* visited so far */
};

/* Notes a node of size bytes: a block of its own, or (carved) an S-node.
 * False once more nodes were met than the reserved arena can hold (8 bytes
 * at least each): a damaged file whose nodes are shared. */
static bool note(struct cache *c, struct walker *w, size_t size, bool carved)
{
	if (w->node != NULL)
		w->node(carved ? size : shm_arena_block_size(size), w->arg);
	return ++w->nodes <= shm_arena_reserved_bytes(&c->arena) / 8;
}

/* Visits the S-node at off: CACHE_OK, CACHE_E_CORRUPT or CACHE_E_STOP. */
static int visit_snode(struct cache *c, struct walker *w, shm_offt off)
{
	size_t len;
	const struct ctrie_snode *s = ctrie_snode_at(c, off, &len);
	if (s == NULL)
		return ctrie_corrupt(c);
	if (!note(c, w, ctrie_snode_extent(len), true))
		return ctrie_corrupt(c);
	if (w->leaf && w->leaf(c, s, len, w->arg) != 0)
		return CACHE_E_STOP;
	return CACHE_OK;
}

/* Pushes the C-node named by main word ref, of level level and hash prefix
 * prefix, as frame f; false if it is damaged. */
static bool enter(struct cache *c, struct walker *w, struct frame *f,
		  uint32_t ref, unsigned level, uint64_t prefix)
{
	uint32_t bm;
	f->cn = ctrie_cnode_at(c, ctrie_ref_off(ctrie_main_ref(ref, level)),
			       level, prefix, &bm);
	if (f->cn == NULL ||
	    !note(c, w, ctrie_cnode_size(ctrie_popcount(bm)), false))
		return false;
	f->rest = bm;
	f->i = 0;
	f->prefix = prefix;
	return true;
}

/* Walks the subtrie of one top-table slot.  Returns CACHE_OK,
 * CACHE_E_CORRUPT, or CACHE_E_STOP when leaf returned non-zero. */
static int walk_slot(struct cache *c, struct walker *w, uint32_t ref,
		     uint64_t slot)
{
	/* frames by level below the top: st[d] is level CTRIE_TOP_LEVEL + d */
	struct frame st[CTRIE_MAX_LEVEL + 1 - CTRIE_TOP_LEVEL];
	unsigned depth = 0;

	if (!enter(c, w, &st[0], ref, CTRIE_TOP_LEVEL, slot))
		return ctrie_corrupt(c);
	for (;;) {
		struct frame *f = &st[depth];
		const unsigned level = CTRIE_TOP_LEVEL + depth;
		const struct ctrie_inode *in;
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
		prefix = f->prefix | (uint64_t)idx << (CTRIE_BITS * level);
		ch = ctrie_ref_off(CTRIE_LOAD(f->cn->child[f->i++]));
		switch (ctrie_tag_at(c, ch)) {
		case TAG_SNODE:
			r = visit_snode(c, w, ch);
			if (r != CACHE_OK)
				return r;
			break;
		case TAG_LNODE:
			ln = ctrie_lnode_at(c, ch, &n, &lh);
			if (ln == NULL ||
			    !note(c, w, ctrie_lnode_size(n), false))
				return ctrie_corrupt(c);
			for (i = 0; i < n; i++) {
				r = visit_snode(c, w, CTRIE_LOAD(ln->snode[i]));
				if (r != CACHE_OK)
					return r;
			}
			break;
		case TAG_INODE:
			if (level >= CTRIE_MAX_LEVEL)
				return ctrie_corrupt(c);
			in = ctrie_inode_at(c, ch, level + 1, prefix);
			if (in == NULL || !note(c, w, sizeof *in, false))
				return ctrie_corrupt(c);
			/* acquire: see ctrie_search in ctrie_core.c */
			if (!enter(c, w, &st[depth + 1],
				   atomic_load_explicit(&in->main,
							memory_order_acquire),
				   level + 1, prefix))
				return ctrie_corrupt(c);
			depth++;
			break;
		default:
			return ctrie_corrupt(c);
		}
	}
}

/* Walks the whole trie, slot by slot of the top table.  Returns CACHE_OK,
 * CACHE_E_CORRUPT, or CACHE_E_STOP when leaf returned non-zero. */
static int walk(struct cache *c, struct walker *w)
{
	struct ctrie_header *H = ctrie_hdr(c);
	uint32_t i;

	for (i = 0; i < CTRIE_TOP_SLOTS; i++) {
		uint32_t ref = ctrie_top_load(H, i);
		int r = ref != 0 ? walk_slot(c, w, ref, i) : CACHE_OK;
		if (r != CACHE_OK)
			return r;
	}
	return CACHE_OK;
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
	struct walker w = { iter_leaf, NULL, &a, 0 };
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
	struct walker w = { totals_leaf, totals_node, &t, 0 };
	struct ctrie_header *H = ctrie_hdr(c);
	int r = walk(c, &w);
	uint32_t i;

	/* the pieces of the level-4 index are live too */
	for (i = 0; r == CACHE_OK && CTRIE_L4_BUILT && i < CTRIE_L4_PIECES;
	     i++)
		/* relaxed: a statistic */
		if (atomic_load_explicit(&H->l4_dir[i],
					 memory_order_relaxed) != 0)
			t.bytes += CTRIE_L4_PIECE;
	*live_bytes = t.bytes;
	*records = t.records;
	return r;
}
