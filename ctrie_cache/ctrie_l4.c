/*
 * ctrie_l4.c - the level-4 index of a big cache (ctrie_layout.h says what
 * its words mean and why a search may end at one): finding a word, making
 * one complete, keeping the complete ones a superset of the slots in use.
 *
 * Everything here is lock-free and async-signal-safe, and writes the file
 * only by CAS from zero or by fetch_or, so that two processes that both
 * finish a step (a fork in the middle of a record, see ctrie_insert.c)
 * leave what one would.
 */
#include "ctrie_layout.h"

/* Tries to mark an I-node; a CAS that keeps failing means inserts are
 * busy under it, and a later record marks it. */
#define L4_MARK_TRIES 4u

/* The piece of the index at directory entry i: its words, or NULL when
 * the entry is 0 or does not name a reserved largest block. */
static _Atomic uint64_t *l4_piece(struct cache *c, uint32_t ref)
{
	const shm_offt off = ctrie_ref_off(ref);

	if (ref == 0 || !ctrie_off_ok(c, off) ||
	    (off & (CTRIE_L4_PIECE - 1)) != 0)
		return NULL;
	return SHM_ARENA_ADDR(&c->arena, off);
}

static uint32_t l4_slot(uint64_t h)
{
	return (uint32_t)(h & (CTRIE_L4_SLOTS - 1));
}

_Atomic uint64_t *ctrie_l4_word(struct cache *c, uint64_t h)
{
	struct ctrie_header *H = ctrie_hdr(c);
	const uint32_t slot = l4_slot(h);
	_Atomic uint64_t *piece;

	if (!ctrie_l4_active(H))
		return NULL;
	/* acquire: the piece is zero in the block handed out, but its
	 * words may have been set before this process saw the entry */
	piece = l4_piece(c, atomic_load_explicit(
				    &H->l4_dir[slot / CTRIE_L4_PER_PIECE],
				    memory_order_acquire));
	return piece ? &piece[slot % CTRIE_L4_PER_PIECE] : NULL;
}

/* Directory entry i's piece, allocated first if need be: NULL on a full
 * arena or a damaged entry. */
static _Atomic uint64_t *l4_piece_made(struct cache *c, uint32_t i)
{
	struct ctrie_header *H = ctrie_hdr(c);
	_Atomic uint32_t *e = &H->l4_dir[i];
	/* acquire: as in ctrie_l4_word */
	uint32_t ref = atomic_load_explicit(e, memory_order_acquire);
	shm_offt fresh;

	if (ref == 0) {
		/* a block never handed out is zero (shm_arena_malloc):
		 * every word not complete */
		fresh = shm_arena_malloc(&c->arena, CTRIE_L4_PIECE);
		if (fresh == SHM_NULL)
			return NULL;
		/* release: hands the zero piece on; acquire on failure: the
		 * winner's piece is used */
		if (atomic_compare_exchange_strong_explicit(
			    e, &ref, ctrie_ref_of(fresh), memory_order_acq_rel,
			    memory_order_acquire))
			ref = ctrie_ref_of(fresh);
		else /* never freed: see ctrie_insert.c; relaxed: a statistic */
			atomic_fetch_add_explicit(&H->slack_bytes,
						  CTRIE_L4_PIECE,
						  memory_order_relaxed);
	}
	return l4_piece(c, ref);
}

/* The word of hash h, its piece allocated first if need be; NULL on a
 * full arena or a damaged directory entry. */
static _Atomic uint64_t *l4_word_made(struct cache *c, uint64_t h)
{
	const uint32_t slot = l4_slot(h);
	_Atomic uint64_t *piece =
		l4_piece_made(c, slot / (uint32_t)CTRIE_L4_PER_PIECE);

	return piece ? &piece[slot % CTRIE_L4_PER_PIECE] : NULL;
}

/* Puts the index to use (l4_on 0 -> 2) and, in the process that does,
 * allocates its pieces in order before any is needed (then l4_on 1): one
 * after another they are mostly consecutive blocks, 8 MiB that a process
 * new to the file faults in by 64 KiB windows, not one page per word.
 * Pieces still missing (the arena ran out, or this process died midway)
 * are allocated when a word in them is first made complete. */
static void l4_switch_on(struct cache *c)
{
	struct ctrie_header *H = ctrie_hdr(c);
	uint32_t off = 0, i;

	/* relaxed: the directory's entries are published by their own
	 * CAS; the switch only says that searches may look */
	if (!atomic_compare_exchange_strong_explicit(
		    &H->l4_on, &off, 2, memory_order_relaxed,
		    memory_order_relaxed))
		return;
	for (i = 0; i < CTRIE_L4_PIECES; i++)
		if (l4_piece_made(c, i) == NULL &&
		    atomic_load_explicit(&H->l4_dir[i],
					 memory_order_relaxed) == 0)
			break; /* full: the rest later, one by one */
	/* relaxed: as above */
	atomic_store_explicit(&H->l4_on, 1, memory_order_relaxed);
}

void ctrie_l4_note(struct cache *c, uint64_t h)
{
	_Atomic uint64_t *w = ctrie_l4_word(c, h);

	/* seq_cst: the bit is in the word before the caller's CAS puts the
	 * key in, in every thread's view (a search that reads the word
	 * without it is ordered before that insert) */
	if (w != NULL)
		atomic_fetch_or_explicit(
			w, (uint64_t)(UINT32_C(1) << ctrie_index(h, CTRIE_L4_LEVEL))
				   << 32,
			memory_order_seq_cst);
}

void ctrie_l4_mark(struct cache *c, shm_offt x4, uint64_t h)
{
	const struct ctrie_inode *I;
	_Atomic uint64_t *w;
	_Atomic uint32_t *main;
	unsigned tries;

	if (!ctrie_l4_active(ctrie_hdr(c)))
		return;
	w = l4_word_made(c, h);
	/* relaxed: only a shortcut; the steps below decide */
	if (w == NULL ||
	    ctrie_l4_ref(atomic_load_explicit(w, memory_order_relaxed)) != 0)
		return;
	I = ctrie_inode_at(c, x4, CTRIE_L4_LEVEL, h);
	if (I == NULL)
		return;
	main = (_Atomic uint32_t *)&I->main;
	for (tries = 0; tries < L4_MARK_TRIES; tries++) {
		/* acquire: the C-node's bitmap, and a marker's bits */
		uint32_t raw = atomic_load_explicit(main, memory_order_acquire);
		uint32_t bm;

		if ((raw & CTRIE_MAIN_MARK) == 0) {
			if (ctrie_cnode_at(c, ctrie_ref_off(raw), CTRIE_L4_LEVEL,
					   h, &bm) == NULL)
				return;
			/* seq_cst: the bits are in before the mark, as
			 * ctrie_l4_note's are before an insert's CAS */
			atomic_fetch_or_explicit(w, (uint64_t)bm << 32,
						 memory_order_seq_cst);
			/* acq_rel: orders the bits before the mark; a lost
			 * CAS tries again with the new main word */
			if (!atomic_compare_exchange_strong_explicit(
				    main, &raw, raw | CTRIE_MAIN_MARK,
				    memory_order_acq_rel, memory_order_acquire))
				continue;
		}
		/* marked (by us or by another process, whose bits are in):
		 * the word is complete.  seq_cst: as the bits */
		atomic_fetch_or_explicit(w, ctrie_ref_of(x4),
					 memory_order_seq_cst);
		return;
	}
}

void ctrie_l4_count(struct cache *c, uint64_t entries)
{
	/* relaxed: a switch set once; readers that miss it walk the trie */
	if (CTRIE_L4_BUILT && entries >= CTRIE_L4_FROM &&
	    atomic_load_explicit(&ctrie_hdr(c)->l4_on,
				 memory_order_relaxed) == 0)
		l4_switch_on(c);
}

int cache_l4_start(struct cache *c)
{
	if (c == NULL || c->hdr == NULL)
		return CACHE_E_NOTCACHE;
	if (c->read_only)
		return CACHE_E_RDONLY;
	if (CTRIE_L4_BUILT)
		l4_switch_on(c);
	return CACHE_OK;
}
