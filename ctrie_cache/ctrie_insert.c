/*
 * ctrie_insert.c - cache_record: insert-or-merge by copy and CAS of the
 * main C-node of one I-node (see ctrie_core.c for the algorithm and how it
 * differs from the papers).
 *
 * Nodes built for a CAS are private until the CAS publishes them (release).
 * A replaced C-node or L-node is garbage that another process may still be
 * reading: it is retired (counted in retired_bytes).  So are the nodes
 * built for a CAS that failed (counted in lost_races too), and the bytes
 * of an S-node or chunk given up are slack: a record never frees or gives
 * anything back.  The reason is fork: a signal handler may fork in the
 * middle of a record, and both processes then finish it.  A free or a
 * hand-back that both perform hands one block out twice (the second free
 * of a node finds it taken again by the first process's next record), and
 * no check can close the window between itself and the allocator's CAS.
 * A retired node is only ever counted, which a twin may do twice (see
 * ctrie_fork.c).
 *
 * A twin may also write a node's first values late, after the other
 * process has published the node and changed it (a key added below an
 * I-node, a hit counted).  Since nothing is freed, a block or chunk is zero
 * when it is handed out (the allocator's promise for a block never handed
 * out before: shm_arena_malloc; another client of the arena must zero a
 * block before freeing it: see struct cache), so the fields that change after
 * publication (an I-node's main word, an S-node's ops and count) are set
 * from that zero by CAS or fetch_or: a late second setting finds them set
 * and changes nothing.  Plain stores would be undone; a memset of the block
 * first would be replayed by the twin just the same.  The other fields
 * never change once published, and both processes write them the same
 * values.  The "retirement point" comments mark where an epoch-based
 * reclamation would hand the garbage over.
 */
#include <errno.h>

#include "ctrie_slot.h"

#define CTRIE_MAX_RETRIES 100000u

/* The nodes built for one CAS attempt: the bytes of their blocks. */
struct build {
	size_t bytes;
};

static void *alloc(struct cache *c, struct build *b, size_t size,
		   shm_offt *off)
{
	*off = shm_arena_malloc(&c->arena, size);
	if (*off == SHM_NULL)
		return NULL;
	b->bytes += shm_arena_block_size(size);
	return SHM_ARENA_ADDR(&c->arena, *off);
}

/* Whether this process is a child forked (from a signal handler, say)
 * since a record that read ctrie_forks() == f began: then its parent
 * finishes and counts the record too, and this one counts nothing (see
 * ctrie_fork.c). */
static bool forked_since(unsigned long f)
{
	return ctrie_forks() != f;
}

static void count(_Atomic uint64_t *ctr, uint64_t n)
{
	/* relaxed: statistics, nothing is published through them */
	atomic_fetch_add_explicit(ctr, n, memory_order_relaxed);
}

/* Counts n bytes of garbage or slack of a record that read ctrie_forks()
 * == f when it began, unless its twin would count them too. */
static void count_unless_forked(_Atomic uint64_t *ctr, uint64_t n,
				unsigned long f)
{
	if (!forked_since(f))
		count(ctr, n);
}

/* Sets a word of a node not yet published from the zero of its fresh block
 * (see the top of this file).  Relaxed: the node is published later by a
 * release CAS; a failure means a twin set it, which is as good. */
static void set_from_zero(_Atomic uint64_t *w, uint64_t v)
{
	uint64_t zero = 0;
	atomic_compare_exchange_strong_explicit(w, &zero, v,
						memory_order_relaxed,
						memory_order_relaxed);
}

static void set_from_zero32(_Atomic uint32_t *w, uint32_t v)
{
	uint32_t zero = 0;
	atomic_compare_exchange_strong_explicit(w, &zero, v,
						memory_order_relaxed,
						memory_order_relaxed);
}

/* Retirement point: the nodes built for a CAS that failed, or for one that
 * was never tried.  Nobody has seen them; they are garbage like a replaced
 * node, not freed (see the top of this file). */
static void build_retire(struct cache *c, struct build *b, unsigned long f)
{
	count_unless_forked(&ctrie_hdr(c)->retired_bytes, b->bytes, f);
	b->bytes = 0;
}

/* A new S-node's place: carved from a chunk, or (only when no chunk can be
 * had, see carve) a block of its own. */
struct snode_place {
	shm_offt off;
	size_t extent;
};

/* Bytes to skip at at so that a node of extent bytes spans no more line
 * pairs (CTRIE_LINE) than its size needs: a lookup then reads no more
 * lines than in a buddy block of the node's own. */
static size_t line_pad(shm_offt at, size_t extent)
{
	const size_t in_line = (size_t)(at & (CTRIE_LINE - 1));
	const size_t lines = (extent + CTRIE_LINE - 1) / CTRIE_LINE;
	if (in_line == 0 ||
	    (in_line + extent + CTRIE_LINE - 1) / CTRIE_LINE == lines)
		return 0;
	return CTRIE_LINE - in_line;
}

/* After a carve that took the current chunk past its middle: allocates the
 * chunk to go on with and puts it in next_chunk, unless one is there.  Two
 * processes then rarely race for a new chunk at the end of one, where the
 * loser's chunk would be lost (it cannot be freed: see the top).  The word
 * is read before the allocation, so a fork in between leaves both processes
 * the same expected word: only one of them can put that chunk there. */
static void next_prepare(struct cache *c, unsigned long f)
{
	struct ctrie_header *H = ctrie_hdr(c);
	/* relaxed: the CAS decides */
	uint64_t w = atomic_load_explicit(&H->next_chunk, memory_order_relaxed);
	shm_offt fresh;

	if (ctrie_next_chunk(w) != SHM_NULL)
		return;
	fresh = shm_arena_malloc(&c->arena, CTRIE_CHUNK);
	if (fresh == SHM_NULL)
		return;
	/* release: hands the chunk to the carver that moves to it */
	if (!atomic_compare_exchange_strong_explicit(
		    &H->next_chunk, &w, ctrie_next_word(w, fresh),
		    memory_order_release, memory_order_relaxed))
		count_unless_forked(&H->slack_bytes, CTRIE_CHUNK, f);
}

/* The chunk in next_chunk (its word in *w), for a carver whose cursor at is
 * used up; SHM_NULL if there is none, or it is damaged, or it is the chunk
 * at is in (whoever moved there died before clearing the word), which is
 * then cleared. */
static shm_offt next_take(struct cache *c, shm_offt at, uint64_t *w)
{
	struct ctrie_header *H = ctrie_hdr(c);
	/* acquire: pairs with the release in next_prepare */
	shm_offt n;

	*w = atomic_load_explicit(&H->next_chunk, memory_order_acquire);
	n = ctrie_next_chunk(*w);
	if (n == SHM_NULL)
		return SHM_NULL;
	if (!ctrie_off_ok(c, n) || n == ctrie_cursor_chunk(at)) {
		/* relaxed: nothing is handed on; a lost CAS means another
		 * process changed the word, which is as good */
		atomic_compare_exchange_strong_explicit(
			&H->next_chunk, w, ctrie_next_word(*w, SHM_NULL),
			memory_order_relaxed, memory_order_relaxed);
		return SHM_NULL;
	}
	return n;
}

/* Carves extent bytes from the shared chunk, going on to the next chunk
 * (next_take, else a new one) when the current one is too short; a block
 * of the node's own when no chunk can be had.  SHM_NULL if the arena is
 * full.  The cursor read from the file is untrusted: a value that is not a
 * reserved, unit-aligned offset of the region is taken as "no chunk", and
 * the next chunk replaces it.
 *
 * The cursor hands a new chunk from the process that allocated it to every
 * later carver: installing it releases, a carve acquires.  It only moves
 * forward (nothing is given back), and chunks are never freed, so a CAS on
 * it cannot succeed on a value that came back (see the top of this file). */
static shm_offt carve(struct cache *c, size_t extent, unsigned long f)
{
	struct ctrie_header *H = ctrie_hdr(c);
	const size_t half = CTRIE_CHUNK / 2;
	/* relaxed: only a guess; the CAS below reads it again (acquire) */
	shm_offt at = atomic_load_explicit(&H->carve, memory_order_relaxed);
	shm_offt off;
	unsigned tries;

	for (tries = 0; tries < CTRIE_MAX_RETRIES; tries++) {
		const size_t used = (size_t)(at & (CTRIE_CHUNK - 1));
		const bool ok = used != 0 && ctrie_off_ok(c, at) &&
				(at & (CTRIE_REF_UNIT - 1)) == 0;
		const size_t pad = line_pad(at, extent);
		shm_offt fresh;
		uint64_t w;

		if (ok && CTRIE_CHUNK - used >= pad + extent) {
			/* relaxed on failure: the next round CASes again */
			if (!atomic_compare_exchange_weak_explicit(
				    &H->carve, &at, at + pad + extent,
				    memory_order_acquire, memory_order_relaxed))
				continue;
			if (pad != 0)
				count(&H->slack_bytes, pad);
			if (used < half && used + pad + extent >= half)
				next_prepare(c, f);
			return at + pad;
		}
		fresh = next_take(c, at, &w);
		if (fresh == SHM_NULL) {
			fresh = shm_arena_malloc(&c->arena, CTRIE_CHUNK);
			if (fresh == SHM_NULL)
				break;
			w = 0;
		}
		/* release: hands the new chunk to later carvers (the old
		 * chunk's bytes are not used, so nothing need be acquired) */
		if (atomic_compare_exchange_strong_explicit(
			    &H->carve, &at, fresh + extent,
			    memory_order_release, memory_order_relaxed)) {
			if (ok)
				count(&H->slack_bytes, CTRIE_CHUNK - used);
			/* relaxed: as in next_take */
			if (w != 0)
				atomic_compare_exchange_strong_explicit(
					&H->next_chunk, &w,
					ctrie_next_word(w, SHM_NULL),
					memory_order_relaxed,
					memory_order_relaxed);
			if (extent >= half)
				next_prepare(c, f);
			return fresh;
		}
		/* another process moved on first: carve from its chunk.  A
		 * next chunk stays where it is; a new one is never used (a
		 * retirement point, see the top) */
		if (w == 0)
			count_unless_forked(&H->slack_bytes, CTRIE_CHUNK, f);
	}
	off = shm_arena_malloc(&c->arena, extent);
	if (off != SHM_NULL)
		count(&H->slack_bytes, shm_arena_block_size(extent) - extent);
	return off;
}

static bool snode_new(struct cache *c, const unsigned char *key, size_t len,
		      uint64_t ops, struct snode_place *p, unsigned long f)
{
	struct ctrie_snode *s;

	p->extent = ctrie_snode_extent(len);
	p->off = carve(c, p->extent, f);
	if (p->off == SHM_NULL)
		return false;
	s = SHM_ARENA_ADDR(&c->arena, p->off);
	s->hdr = (uint32_t)TAG_SNODE | (uint32_t)len << 8;
	/* relaxed: the node is published later by a release CAS.  From the
	 * zero of a fresh chunk: see the top of this file */
	atomic_fetch_or_explicit(&s->ops, ops, memory_order_relaxed);
	set_from_zero(&s->count, 1);
	memcpy(s->key, key, len);
	return true;
}

/* Gives up an S-node that was never published: its bytes stay unused and
 * are slack (never given back: see the top of this file). */
static void snode_give_up(struct cache *c, const struct snode_place *p,
			  unsigned long f)
{
	count_unless_forked(&ctrie_hdr(c)->slack_bytes, p->extent, f);
}

/* A copy of C-node cn (bitmap bm, level) with child at position pos either
 * inserted (bit not in bm) or replaced. */
static shm_offt cnode_with(struct cache *c, struct build *b,
			   const struct ctrie_cnode *cn, uint32_t bm,
			   unsigned level, uint64_t h, uint32_t bit,
			   shm_offt child)
{
	const unsigned n = ctrie_popcount(bm);
	const unsigned pos = ctrie_popcount(bm & (bit - 1));
	const bool insert = (bm & bit) == 0;
	const unsigned nn = n + (insert ? 1u : 0u);
	struct ctrie_cnode *nc;
	shm_offt off;

	nc = alloc(c, b, ctrie_cnode_size(nn), &off);
	if (nc == NULL)
		return SHM_NULL;
	nc->hdr = ctrie_tree_hdr(TAG_CNODE, level, h);
	nc->bitmap = bm | bit;
	/* Two block copies around the new child rather than a word loop
	 * with a branch per child.  The source is published and immutable; a
	 * hostile writer can only put bad offsets in it, and every offset is
	 * checked when it is followed (as key bytes are compared with
	 * memcmp).  memmove, not memcpy: in a damaged file the allocator's
	 * bitmap may hand out a block that overlaps the source node. */
	memmove(nc->child, cn->child, pos * sizeof(uint32_t));
	nc->child[pos] = ctrie_ref_of(child);
	memmove(nc->child + pos + 1, cn->child + pos + (insert ? 0 : 1),
		(n - pos - (insert ? 0 : 1)) * sizeof(uint32_t));
	return off;
}

/* An L-node of hash h holding the n S-nodes of old (if any) and sn. */
static shm_offt lnode_with(struct cache *c, struct build *b,
			   const struct ctrie_lnode *old, size_t n,
			   shm_offt first, shm_offt sn, uint64_t h)
{
	struct ctrie_lnode *ln;
	shm_offt off;
	size_t i;

	ln = alloc(c, b, ctrie_lnode_size(old ? n + 1 : 2), &off);
	if (ln == NULL)
		return SHM_NULL;
	ln->pad = 0;
	ln->hash = h;
	if (old != NULL) {
		for (i = 0; i < n; i++)
			ln->snode[i] = CTRIE_LOAD(old->snode[i]);
		ln->snode[n] = sn;
		ln->hdr = (uint32_t)TAG_LNODE | (uint32_t)(n + 1) << 8;
	} else {
		ln->snode[0] = first;
		ln->snode[1] = sn;
		ln->hdr = (uint32_t)TAG_LNODE | 2u << 8;
	}
	return off;
}

/* A new chain of I-nodes from level down to where hashes hx and hy part,
 * holding leaf x (hash hx) and leaf y (hash hy != hx).  Returns the top
 * I-node, SHM_NULL if the arena is full, or 1 if the hashes do not part
 * below the last level (a damaged file). */
static shm_offt dual(struct cache *c, struct build *b, shm_offt x,
		     uint64_t hx, shm_offt y, uint64_t hy, unsigned level)
{
	unsigned d = level, l;
	shm_offt below = SHM_NULL;

	while (d <= CTRIE_MAX_LEVEL && ctrie_index(hx, d) == ctrie_index(hy, d))
		d++;
	if (d > CTRIE_MAX_LEVEL)
		return 1;
	for (l = d + 1; l-- > level;) {
		struct ctrie_cnode *cn;
		struct ctrie_inode *in;
		shm_offt co, io;

		if (l == d) {
			unsigned ix = ctrie_index(hx, d), iy = ctrie_index(hy, d);
			cn = alloc(c, b, ctrie_cnode_size(2), &co);
			if (cn == NULL)
				return SHM_NULL;
			cn->bitmap = (UINT32_C(1) << ix) | (UINT32_C(1) << iy);
			cn->child[ix < iy ? 0 : 1] = ctrie_ref_of(x);
			cn->child[ix < iy ? 1 : 0] = ctrie_ref_of(y);
		} else {
			cn = alloc(c, b, ctrie_cnode_size(1), &co);
			if (cn == NULL)
				return SHM_NULL;
			cn->bitmap = UINT32_C(1) << ctrie_index(hy, l);
			cn->child[0] = ctrie_ref_of(below);
		}
		cn->hdr = ctrie_tree_hdr(TAG_CNODE, l, hy);
		in = alloc(c, b, sizeof *in, &io);
		if (in == NULL)
			return SHM_NULL;
		in->hdr = ctrie_tree_hdr(TAG_INODE, l, hy);
		set_from_zero32(&in->main, ctrie_ref_of(co));
		below = io;
	}
	return below;
}

/* A C-node with no child: what an empty slot of the top table stands for. */
static const struct ctrie_cnode empty_cnode;

/* One insert-or-merge of key (hash h) with value ops, as it goes down the
 * trie: the main word it works on (of an I-node of level, or of the top
 * table), the C-node it last read there, and the S-node it built for the
 * key (np.off, SHM_NULL until built). */
struct insert {
	struct cache *c;
	const unsigned char *key;
	size_t len;
	uint64_t h;
	uint64_t ops;
	unsigned long forks;
	_Atomic uint32_t *word;
	unsigned level;
	uint32_t raw; /* the main word as read, with its mark */
	shm_offt m;   /* the C-node it names */
	struct snode_place np;
};

/* Reads in->word's main word (a fresh read: raw is what a CAS expects). */
static void read_main(struct insert *in, uint32_t raw)
{
	in->raw = raw;
	in->m = ctrie_ref_off(ctrie_main_ref(raw, in->level));
}

/* What a round of insert_at found, or the outcome it ended with. */
enum round {
	ROUND_BUILD,   /* the key is absent: build and CAS a new C-node */
	ROUND_DESCEND, /* an I-node: go on one level down               */
	ROUND_DONE,    /* the key is in, its value merged               */
	ROUND_FULL,    /* no room: the record is dropped                */
	ROUND_CORRUPT, /* damage                                        */
};

/* The C-node main word in->m names (an empty top slot: an empty C-node),
 * with its bitmap; NULL if it is damaged. */
static const struct ctrie_cnode *main_cnode(const struct insert *in,
					    uint32_t *bm)
{
	if (in->m == SHM_NULL) {
		/* only a slot of the top table is ever empty */
		if (in->level != CTRIE_TOP_LEVEL)
			return NULL;
		*bm = 0;
		return &empty_cnode;
	}
	return ctrie_cnode_at(in->c, in->m, in->level, in->h, bm);
}

/* Moves the insert to the main word of the I-node at off, one level down,
 * and reads the C-node it names. */
static enum round descend(struct insert *in, shm_offt off)
{
	const struct ctrie_inode *I =
		ctrie_inode_at(in->c, off, in->level + 1, in->h);

	if (I == NULL)
		return ROUND_CORRUPT;
	in->word = (_Atomic uint32_t *)&I->main;
	in->level++;
	/* acquire: see ctrie_search */
	read_main(in, atomic_load_explicit(in->word, memory_order_acquire));
	return ROUND_DESCEND;
}

/* Classifies the key's slot in C-node cn (bitmap bm): merges the value into
 * the key's S-node, descends, or says the key is to be built in (a full
 * L-node of the key's hash has no room for it). */
static enum round classify(struct insert *in, const struct ctrie_cnode *cn,
			   uint32_t bm, struct ctrie_slot *sl)
{
	switch (ctrie_slot_of(in->c, cn, in->m, bm, in->level, in->key,
			      in->len, in->h, sl)) {
	case CTRIE_SLOT_EMPTY:
		return ROUND_BUILD;
	case CTRIE_SLOT_KEY:
		ctrie_snode_merge(sl->s, in->ops);
		return ROUND_DONE;
	case CTRIE_SLOT_LEAF:
		if (sl->ln != NULL && sl->hash == in->h &&
		    sl->n >= CTRIE_LNODE_MAX)
			return ROUND_FULL;
		return ROUND_BUILD;
	case CTRIE_SLOT_INODE:
		return descend(in, sl->child);
	default:
		return ROUND_CORRUPT;
	}
}

/* The leaf to put in the key's slot sl (not KEY): the new S-node sn in an
 * empty slot; beside a leaf of the same full hash, an L-node holding both;
 * else a chain of I-nodes down to where their hashes part.  SHM_NULL if the
 * arena is full, 1 if the file is damaged. */
static shm_offt leaf_for(struct insert *in, struct build *b,
			 enum ctrie_slot_kind kind,
			 const struct ctrie_slot *sl, shm_offt sn)
{
	uint64_t lh;

	if (kind == CTRIE_SLOT_EMPTY)
		return sn;
	lh = sl->ln != NULL ? sl->hash : ctrie_hash(sl->s->key, sl->len);
	if (lh == in->h)
		return lnode_with(in->c, b, sl->ln, sl->n, sl->child, sn,
				  in->h);
	return dual(in->c, b, sl->child, lh, sn, in->h, in->level + 1);
}

/* CASes the main word from in->m to new C-node nc.  Won: the replaced
 * C-node (bm its bitmap; SHM_NULL for an empty top slot) and L-node (ln of
 * n keys, or NULL) are retired and the new key is counted.  Lost: in->m
 * names the winner's C-node. */
static bool publish(struct insert *in, shm_offt nc, uint32_t bm,
		    const struct ctrie_lnode *ln, size_t n)
{
	struct ctrie_header *H = ctrie_hdr(in->c);
	uint32_t seen = in->raw;
	/* a marked main word stays marked (ctrie_layout.h) */
	const uint32_t mark = in->raw ^ ctrie_main_ref(in->raw, in->level);

	/* release: publishes the new nodes' contents; acquire on failure:
	 * the next round reads the winner's C-node */
	if (!atomic_compare_exchange_strong_explicit(
		    in->word, &seen, ctrie_ref_of(nc) | mark,
		    memory_order_release, memory_order_acquire)) {
		read_main(in, seen);
		return false;
	}
	/* Retirement point: the replaced C-node (and L-node) may still be
	 * read by others; an epoch-based reclamation would free them once
	 * every reader that could hold them has left.  After a fork its twin
	 * may count this insert too: then neither counts it (but see
	 * ctrie_fork.c for the window left). */
	if (!forked_since(in->forks)) {
		size_t retired = 0;

		if (in->m != SHM_NULL)
			retired += shm_arena_block_size(
				ctrie_cnode_size(ctrie_popcount(bm)));
		if (ln != NULL)
			retired += shm_arena_block_size(ctrie_lnode_size(n));
		count(&H->retired_bytes, retired);
		ctrie_l4_count(in->c, ctrie_recent_push(H, in->np.off));
		count(&H->key_bytes, in->len);
	}
	return true;
}

/* One CAS attempt for an absent key in slot sl of C-node cn (bitmap bm):
 * builds the key's S-node (once for all attempts), the new leaf and C-node,
 * and publishes them.  ROUND_DONE when it won, ROUND_BUILD when it lost
 * (in->m then names the winner's C-node), ROUND_FULL or ROUND_CORRUPT. */
static enum round attempt(struct insert *in, const struct ctrie_cnode *cn,
			  uint32_t bm, enum ctrie_slot_kind kind,
			  const struct ctrie_slot *sl)
{
	/* an L-node of the key's hash is replaced by a longer copy */
	const bool lh_same = kind == CTRIE_SLOT_LEAF && sl->ln != NULL &&
			     sl->hash == in->h;
	struct build b = { 0 };
	shm_offt leaf, nc;

	if (in->np.off == SHM_NULL &&
	    !snode_new(in->c, in->key, in->len, in->ops, &in->np, in->forks))
		return ROUND_FULL;
	leaf = leaf_for(in, &b, kind, sl, in->np.off);
	if (leaf == 1) {
		build_retire(in->c, &b, in->forks);
		return ROUND_CORRUPT;
	}
	nc = leaf == SHM_NULL ? SHM_NULL
			      : cnode_with(in->c, &b, cn, bm, in->level, in->h,
					   sl->bit, leaf);
	if (nc == SHM_NULL) {
		build_retire(in->c, &b, in->forks);
		return ROUND_FULL;
	}
	/* a new slot under a marked level-4 main word: into the index
	 * first (ctrie_layout.h) */
	if (kind == CTRIE_SLOT_EMPTY && (in->raw & CTRIE_MAIN_MARK) != 0 &&
	    in->level == CTRIE_L4_LEVEL && CTRIE_L4_BUILT)
		ctrie_l4_note(in->c, in->h);
	if (publish(in, nc, bm, lh_same ? sl->ln : NULL, sl->n)) {
		in->np.off = SHM_NULL; /* published: nothing to give up */
		return ROUND_DONE;
	}
	build_retire(in->c, &b, in->forks);
	count(&ctrie_hdr(in->c)->lost_races, 1);
	return ROUND_BUILD;
}

/* Insert-or-merge at where, the main word and C-node in which a search
 * found the key absent: rounds of classify and attempt, each at the main
 * word the last one left, until the key is in. */
static int insert_at(struct cache *c, const unsigned char *key, size_t len,
		     uint64_t h, uint64_t ops, const struct ctrie_pos *where)
{
	struct insert in = { c, key, len, h, ops, ctrie_forks(), where->word,
			     where->level, 0, SHM_NULL, { SHM_NULL, 0 } };
	struct ctrie_header *H = ctrie_hdr(c);
	enum round r = ROUND_CORRUPT;
	unsigned tries = 0;

	if (where->word == NULL) {
		/* the index proved the key absent: its S-node first, so that
		 * a full arena refuses it before any node is read */
		const struct ctrie_inode *I;

		if (!snode_new(c, key, len, ops, &in.np, in.forks)) {
			count(&H->skipped_full, 1);
			return CACHE_E_FULL;
		}
		I = ctrie_inode_at(c, ctrie_ref_off(where->raw), CTRIE_L4_LEVEL,
				   h);
		if (I == NULL) {
			snode_give_up(c, &in.np, in.forks);
			return ctrie_corrupt(c);
		}
		in.word = (_Atomic uint32_t *)&I->main;
		/* acquire: see ctrie_search */
		read_main(&in, atomic_load_explicit(in.word,
						    memory_order_acquire));
	} else {
		read_main(&in, where->raw);
	}
	while (tries < CTRIE_MAX_RETRIES) {
		const struct ctrie_cnode *cn;
		struct ctrie_slot sl = { 0 };
		uint32_t bm;
		enum ctrie_slot_kind kind;

		cn = main_cnode(&in, &bm);
		if (cn == NULL) {
			r = ROUND_CORRUPT;
			break;
		}
		r = classify(&in, cn, bm, &sl);
		if (r == ROUND_DESCEND)
			continue;
		if (r != ROUND_BUILD)
			break;
		kind = (bm & sl.bit) == 0 ? CTRIE_SLOT_EMPTY : CTRIE_SLOT_LEAF;
		r = attempt(&in, cn, bm, kind, &sl);
		if (r != ROUND_BUILD)
			break;
		tries++;
		r = ROUND_CORRUPT;
	}
	if (in.np.off != SHM_NULL) {
		/* never published: dropped, or built for an insert that
		 * another process won */
		snode_give_up(c, &in.np, in.forks);
		if (r == ROUND_DONE)
			count(&H->lost_races, 1);
	}
	if (r == ROUND_DONE)
		return CACHE_OK;
	if (r == ROUND_FULL) {
		count(&H->skipped_full, 1);
		return CACHE_E_FULL;
	}
	return ctrie_corrupt(c);
}

int cache_record(struct cache *c, const void *key, size_t len, uint64_t ops)
{
	static const unsigned char empty[1];
	const unsigned char *k = len ? key : empty;
	const int saved_errno = errno;
	struct ctrie_hit hit;
	struct ctrie_pos where;
	uint64_t h;
	int r;

	if (c == NULL || c->hdr == NULL)
		return CACHE_E_NOTCACHE;
	if (c->read_only)
		return CACHE_E_RDONLY;
	/* relaxed: see ctrie_corrupt */
	if (atomic_load_explicit(&c->broken, memory_order_relaxed))
		return CACHE_E_CORRUPT;
	if (len > CACHE_KEY_MAX) {
		count(&ctrie_hdr(c)->skipped_toolong, 1);
		return CACHE_E_TOOLONG;
	}
	h = ctrie_hash(k, len);
	where.x4 = SHM_NULL;
	r = ctrie_search(c, k, len, h, &hit, &where);
	if (where.x4 != SHM_NULL && r >= 0) {
		ctrie_l4_mark(c, where.x4, h);
		/* the mark changed the main word the insert starts from:
		 * acquire, see ctrie_search */
		if (r == 0 && where.level == CTRIE_L4_LEVEL)
			where.raw = atomic_load_explicit(where.word,
							 memory_order_acquire);
	}
	if (r == 1) {
		ctrie_snode_merge(hit.s, ops);
		r = CACHE_OK;
	} else if (r == 0) {
		r = insert_at(c, k, len, h, ops, &where);
	}
	errno = saved_errno;
	return r;
}
