/*
 * shm_alloc_core.c - lock-free allocation and free on the buddy bitmaps.
 *
 * Everything here is async-signal-safe: no libc call but memset (POSIX.1-2016
 * lists it as async-signal-safe), no locks, only atomics on the mapping and
 * thread-local hints.  The layout is described in shm_layout.h.
 *
 * Memory orders: the CAS on a block word is seq_cst.  Acquire on allocation
 * makes the previous owner's writes to the block happen before ours, release
 * on free publishes them; the total order is needed by the summary protocol
 * (a setter stores its bit and then re-reads the word, a freer CASes the word
 * and then reads the bit: store-load on both sides).  Hints and statistics
 * are relaxed: they only steer the search, every decision is re-checked by
 * the CAS on the word itself.
 */
#include <string.h>
#include <unistd.h>

#include "shm_layout.h"

/* Start bits of the aligned groups of 2^k leaves, k = 0..5. */
static const uint32_t group_starts[6] = {
	0xffffffffu, 0x55555555u, 0x11111111u,
	0x01010101u, 0x00010001u, 0x00000001u,
};

/* Top (last) bits of the same groups. */
static const uint32_t group_tops[6] = {
	0xffffffffu, 0xaaaaaaaau, 0x88888888u,
	0x80808080u, 0x80008000u, 0x80000000u,
};

static inline shm_offt level_starts(unsigned j)
{
	return (shm_offt)group_starts[SHM_D - j] & SHM_LEAF_MASK;
}

static inline unsigned ctz_offt(shm_offt x)
{
	return (unsigned)__builtin_ctzl((unsigned long)x);
}

/* Position of the highest set bit of x (x != 0). */
static inline unsigned top_bit(shm_offt x)
{
	return (unsigned)(sizeof(unsigned long) * CHAR_BIT - 1) -
	       (unsigned)__builtin_clzl((unsigned long)x);
}

/* Lowest free node of level j in word w (its index in the level), or -1.
 * A node is free when its group of 2^(D-j) leaves is all clear.  In each
 * group, adding "all ones but the top bit" to the leaves below the top
 * carries into the top bit exactly when one of them is set (no carry
 * leaves the group); OR the top leaf itself, and the clear tops are the
 * free nodes.  No loop, no branch but the answer's. */
static inline int find_free(shm_offt w, unsigned j)
{
	shm_offt tops = (shm_offt)group_tops[SHM_D - j] & SHM_LEAF_MASK;
	shm_offt low = SHM_LEAF_MASK & ~tops;
	shm_offt cand = tops & ~(((w & low) + low) | w);
	if (cand == 0)
		return -1;
	return (int)(ctz_offt(cand) >> (SHM_D - j));
}

/* Bit mask of the levels at which w has a free node (bit j = level j):
 * AND-fold the free leaves, one level per step. */
static inline unsigned free_levels(shm_offt w)
{
	shm_offt f = ~w & SHM_LEAF_MASK;
	unsigned r = 0;
#pragma GCC unroll 8
	for (int j = SHM_D; j >= 0; j--) {
		r |= (unsigned)((f & level_starts((unsigned)j)) != 0) << j;
		f &= f >> (1u << (SHM_D - j));
	}
	return r;
}

unsigned shm_free_levels(shm_offt w)
{
	return free_levels(w);
}

/* Subtree masks, computed at compile time: entry [j][i] is node i of level
 * j and everything below it.  The "& (SHM_WORD_BITS - 1)" only keeps the
 * shift counts of the unused (d < j or d > D) terms in range. */
#define SHM_W(j, d) (1u << (((d) - (j)) & 7))
#define SHM_ONES(w) ((w) >= SHM_WORD_BITS ? ~(shm_offt)0 \
		     : (((shm_offt)1 << ((w) & (SHM_WORD_BITS - 1))) - 1))
#define SHM_TERM(j, i, d) (((d) < (j) || (d) > SHM_D) ? (shm_offt)0 \
	: SHM_ONES(SHM_W(j, d)) << ((SHM_LVL_OFF(d) + (i) * SHM_W(j, d)) & \
				    (SHM_WORD_BITS - 1)))
#define SHM_SUB(j, i) (SHM_TERM(j, i, 0) | SHM_TERM(j, i, 1) | \
		       SHM_TERM(j, i, 2) | SHM_TERM(j, i, 3) | \
		       SHM_TERM(j, i, 4) | SHM_TERM(j, i, 5))
#define SHM_SUB4(j, i) SHM_SUB(j, i), SHM_SUB(j, i + 1), SHM_SUB(j, i + 2), \
		       SHM_SUB(j, i + 3)
#define SHM_SUBROW(j) { SHM_SUB4(j, 0), SHM_SUB4(j, 4), SHM_SUB4(j, 8), \
			SHM_SUB4(j, 12), SHM_SUB4(j, 16), SHM_SUB4(j, 20), \
			SHM_SUB4(j, 24), SHM_SUB4(j, 28) }
static const shm_offt subtree[6][32] = {
	SHM_SUBROW(0), SHM_SUBROW(1), SHM_SUBROW(2),
	SHM_SUBROW(3), SHM_SUBROW(4), SHM_SUBROW(5),
};

/* Path masks: entry [l] has the bit of every node on leaf l's path to the
 * root (the leaf itself at level D, one node per level above it). */
#define SHM_PB(l, d) (((d) > SHM_D) ? (shm_offt)0 : (shm_offt)1 << \
	((SHM_LVL_OFF(d) + ((l) >> ((SHM_D - (d)) & 7))) & (SHM_WORD_BITS - 1)))
#define SHM_PATH(l) (SHM_PB(l, 0) | SHM_PB(l, 1) | SHM_PB(l, 2) | \
		     SHM_PB(l, 3) | SHM_PB(l, 4) | SHM_PB(l, 5))
#define SHM_PATH4(l) SHM_PATH(l), SHM_PATH(l + 1), SHM_PATH(l + 2), \
		     SHM_PATH(l + 3)
static const shm_offt path_masks[32] = {
	SHM_PATH4(0), SHM_PATH4(4), SHM_PATH4(8), SHM_PATH4(12),
	SHM_PATH4(16), SHM_PATH4(20), SHM_PATH4(24), SHM_PATH4(28),
};

/* By bit position p of a node in the word: its subtree (node_subtree) and
 * its first leaf (node_leaf).  SHM_LV(p) is the node's level: levels are
 * stored root-first from the top down, so p lies below the start of every
 * level above its own. */
#define SHM_LV(p) ((0 < SHM_D && (p) < SHM_LVL_OFF(0)) + \
		   (1 < SHM_D && (p) < SHM_LVL_OFF(1)) + \
		   (2 < SHM_D && (p) < SHM_LVL_OFF(2)) + \
		   (3 < SHM_D && (p) < SHM_LVL_OFF(3)) + \
		   (4 < SHM_D && (p) < SHM_LVL_OFF(4)))
#define SHM_NI(p) (((p) - SHM_LVL_OFF(SHM_LV(p))) & 31)
#define SHM_NSUB(p) SHM_SUB(SHM_LV(p), SHM_NI(p))
#define SHM_NSUB8(p) SHM_NSUB(p), SHM_NSUB(p + 1), SHM_NSUB(p + 2), \
	SHM_NSUB(p + 3), SHM_NSUB(p + 4), SHM_NSUB(p + 5), SHM_NSUB(p + 6), \
	SHM_NSUB(p + 7)
#define SHM_NLEAF(p) ((uint8_t)(SHM_NI(p) << ((SHM_D - SHM_LV(p)) & 7)))
#define SHM_NLEAF8(p) SHM_NLEAF(p), SHM_NLEAF(p + 1), SHM_NLEAF(p + 2), \
	SHM_NLEAF(p + 3), SHM_NLEAF(p + 4), SHM_NLEAF(p + 5), \
	SHM_NLEAF(p + 6), SHM_NLEAF(p + 7)
static const shm_offt node_subtree[64] = {
	SHM_NSUB8(0), SHM_NSUB8(8), SHM_NSUB8(16), SHM_NSUB8(24),
	SHM_NSUB8(32), SHM_NSUB8(40), SHM_NSUB8(48), SHM_NSUB8(56),
};
static const uint8_t node_leaf[64] = {
	SHM_NLEAF8(0), SHM_NLEAF8(8), SHM_NLEAF8(16), SHM_NLEAF8(24),
	SHM_NLEAF8(32), SHM_NLEAF8(40), SHM_NLEAF8(48), SHM_NLEAF8(56),
};

/* Node i of level j and its whole subtree. */
static inline shm_offt subtree_mask(unsigned j, unsigned i)
{
	return subtree[j][i & 31];
}

/* Per thread, per level: 1 + the block this thread allocates from (0: none
 * yet).  Only a hint, checked against the watermark (always below
 * SHM_NBLOCKS); initial-exec keeps the access free of allocation, so it is
 * safe in signal handlers and preloaded code. */
static _Thread_local shm_offt tls_cur[SHM_NLEVELS]
	__attribute__((tls_model("initial-exec")));

/* After a CAS failure we move a number of strides of this many blocks
 * away: another pair of lines of summary words (adjacent lines are fetched
 * in pairs) and so of block words, so that two processes stop sharing cache
 * lines.  The number of strides (1..SHM_SPREAD) is our own: with one fixed
 * stride two contenders leapfrog onto each other's block (each jumps to the
 * next stride, where the other already is) and keep colliding.  At most
 * SHM_SPREAD strides (1,024 blocks with 64-bit words, 512 with 32-bit): a
 * jump raises the watermark of reserved pages. */
#define SHM_JUMP ((shm_offt)(2 * SHM_WORD_BITS))
#define SHM_SPREAD 8u

/* Per thread: jumps taken, mixed into the stride so that repeated
 * collisions between the same two threads part. */
static _Thread_local unsigned tls_jumps
	__attribute__((tls_model("initial-exec")));

/* A stride count in 1..SHM_SPREAD that differs between threads and
 * processes: this thread's TLS address (threads of a process), the process
 * id (a forked child has its parent's addresses) and the jumps so far.
 * getpid is async-signal-safe; this runs only after a lost CAS. */
static unsigned jump_strides(void)
{
	uint64_t x = (uint64_t)(uintptr_t)&tls_jumps ^
		     ((uint64_t)(unsigned)getpid() << 32) ^ tls_jumps++;
	x *= UINT64_C(0x9e3779b97f4a7c15);
	return 1u + (unsigned)(x >> 60) % SHM_SPREAD;
}

static inline _Atomic shm_offt *sum_word(unsigned char *map, unsigned j,
					 shm_offt b)
{
	return shm_summary(map, j, b / SHM_WORD_BITS);
}

static inline shm_offt sum_bit(shm_offt b)
{
	return (shm_offt)1 << (b % SHM_WORD_BITS);
}

static void hint_lower(struct shm_file_header *h, unsigned j, shm_offt b)
{
	/* relaxed: the hint only steers the search */
	shm_offt v = atomic_load_explicit(&h->hint[j].v, memory_order_relaxed);
	while (b < v && !atomic_compare_exchange_weak_explicit(
			&h->hint[j].v, &v, b, memory_order_relaxed,
			memory_order_relaxed))
		;
}

/* The S bits of levels j..SHM_D (see "Full levels" in shm_layout.h; the
 * F bits are the same shifted by SHM_NLEVELS). */
static inline shm_offt levels_from(unsigned j)
{
	return (SHM_FULL_S(SHM_NLEVELS) - 1) & ~(SHM_FULL_S(j) - 1);
}

/* The F bits of every level. */
#define SHM_FULL_ALL_F \
	((SHM_FULL_S(SHM_NLEVELS) - 1) << SHM_NLEVELS)

/* Room at level j was seen where a summary bit said full: no level k >= j
 * may stay marked full, and a scan of such a level in flight must not mark
 * it (the generation moves on; it also moves while any level is marked
 * full, for shm_arena_full_token).  Nothing to write when no such bit is
 * set, which is the common case. */
static void full_room(struct shm_file_header *h, unsigned j)
{
	shm_offt m = levels_from(j);
	m |= m << SHM_NLEVELS;
	/* seq_cst: ordered after the summary bit's clearing, against a scan
	 * that sets S and then reads the summary (store-load on both sides) */
	shm_offt v = atomic_load(&h->full.v);
	while ((v & (m | SHM_FULL_ALL_F)) != 0 &&
	       !atomic_compare_exchange_weak(&h->full.v, &v,
					     (v & ~m) + SHM_FULL_GEN))
		;
}

/* Announces a scan of level j whose failure is to mark the level full:
 * sets S(j).  Returns the word with S(j) as read or set; its generation
 * is the one full_scan_failed checks. */
static shm_offt full_scan_begin(struct shm_file_header *h, unsigned j)
{
	/* seq_cst: see full_room */
	shm_offt v = atomic_load(&h->full.v);
	while ((v & SHM_FULL_S(j)) == 0 &&
	       !atomic_compare_exchange_weak(&h->full.v, &v,
					     v | SHM_FULL_S(j)))
		;
	/* seq_cst: the scan's relaxed summary loads come after S is seen
	 * set, so they see every bit cleared by a freer that did not see S */
	atomic_thread_fence(memory_order_seq_cst);
	return v | SHM_FULL_S(j);
}

/* The scan announced by full_scan_begin (word g) found nothing: marks
 * level j full, unless room was seen since (the generation moved, or S(j)
 * was cleared).  Only level j: a free clears F(j) because the scan left
 * every block's summary bit of level j set, which it does not do for the
 * other levels. */
static void full_scan_failed(struct shm_file_header *h, unsigned j,
			     shm_offt g)
{
	const shm_offt f = SHM_FULL_F(j);
	shm_offt v = g;
	/* relaxed: a hint; the CAS only succeeds on the generation of g */
	while ((v & ~SHM_FULL_BITS) == (g & ~SHM_FULL_BITS) &&
	       (v & SHM_FULL_S(j)) != 0 && (v & f) == 0 &&
	       !atomic_compare_exchange_weak_explicit(&h->full.v, &v, v | f,
						      memory_order_relaxed,
						      memory_order_relaxed))
		;
}

/* Block b was seen with no free node of level j: set its summary bit, then
 * re-read the word and take the bit back if a free slipped in meanwhile
 * (the freer clears the bit only after its CAS; seq_cst on both sides). */
static void mark_full(unsigned char *map, unsigned j, shm_offt b)
{
	_Atomic shm_offt *sw = sum_word(map, j, b);
	shm_offt bit = sum_bit(b);
	if (atomic_load(sw) & bit)
		return;
	atomic_fetch_or(sw, bit);
	if (find_free(atomic_load(&shm_words(map)[b]), j) >= 0) {
		atomic_fetch_and(sw, ~bit);
		hint_lower(shm_hdr(map), j, b);
		full_room(shm_hdr(map), j);
	}
}

/* Block b has a free node of level j again.  A clear bit needs nothing:
 * the hint only ever passes blocks whose bit is set, and whoever clears a
 * bit lowers the hint after it. */
static inline void mark_available(unsigned char *map, unsigned j, shm_offt b)
{
	_Atomic shm_offt *sw = sum_word(map, j, b);
	shm_offt bit = sum_bit(b);
	if (atomic_load(sw) & bit) {
		atomic_fetch_and(sw, ~bit);
		hint_lower(shm_hdr(map), j, b);
		full_room(shm_hdr(map), j);
	}
}

/* First block in [start, top) whose summary bit of level j is clear, or
 * top (top <= SHM_NBLOCKS: no summary line at or above it is read). */
static shm_offt next_candidate(unsigned char *map, unsigned j, shm_offt start,
			       shm_offt top)
{
	if (start >= top)
		return top;
	size_t wi = start / SHM_WORD_BITS;
	/* relaxed: a summary bit is a hint; the CAS on the word decides */
	shm_offt v = atomic_load_explicit(shm_summary(map, j, wi),
					  memory_order_relaxed);
	v |= sum_bit(start) - 1;
	for (;;) {
		if (~v != 0) {
			shm_offt b = (shm_offt)(wi * SHM_WORD_BITS) + ctz_offt(~v);
			return b < top ? b : top;
		}
		if ((shm_offt)(++wi * SHM_WORD_BITS) >= top)
			return top;
		v = atomic_load_explicit(shm_summary(map, j, wi),
					 memory_order_relaxed);
	}
}

/* Offset of node `node` of level j in block b. */
static inline shm_offt node_offset(shm_offt b, unsigned j, int node)
{
	return SHM_NULL_REGION_SIZE + b * (shm_offt)SHM_BLOCK_MAX +
	       ((shm_offt)node << (MAX_ALLOC_POW2 - j));
}

/* Takes a level-j node in block b if it has one; a CAS lost to another
 * writer is retried on the fresh value (lock-free: someone won). */
static inline bool take(unsigned char *map, unsigned j, shm_offt b,
			shm_offt *out)
{
	_Atomic shm_offt *wp = &shm_words(map)[b];
	/* relaxed: the CAS re-checks it */
	shm_offt w = atomic_load_explicit(wp, memory_order_relaxed);
	for (;;) {
		int node = find_free(w, j);
		if (node < 0)
			return false;
		shm_offt nw = w | subtree_mask(j, (unsigned)node);
		/* seq_cst: acquire the block, and order against the summary bits */
		if (atomic_compare_exchange_weak_explicit(
			    wp, &w, nw, memory_order_seq_cst,
			    memory_order_relaxed)) {
			*out = node_offset(b, j, node);
			return true;
		}
	}
}

/* Raises the watermark past block b, a chunk at a time, reserving each
 * chunk's pages first (two processes reserving the same chunk is harmless).
 * Returns the new watermark, or 0 when the filesystem has no room. */
static shm_offt grow_touched(unsigned char *map, shm_offt b)
{
	struct shm_file_header *h = shm_hdr(map);
	/* relaxed: see shm_touched */
	shm_offt t = atomic_load_explicit(&h->touched.v, memory_order_relaxed);
	while (t <= b && t < SHM_NBLOCKS) {
		shm_offt end = (t / SHM_CHUNK_BLOCKS + 1) * SHM_CHUNK_BLOCKS;
		if (end > SHM_NBLOCKS)
			end = SHM_NBLOCKS;
		if (!shm_reserve_blocks(map, t, end))
			return 0;
		/* relaxed: the reservation is complete kernel state already */
		if (atomic_compare_exchange_strong_explicit(
			    &h->touched.v, &t, end, memory_order_relaxed,
			    memory_order_relaxed))
			t = end;
	}
	return t < SHM_NBLOCKS ? t : SHM_NBLOCKS;
}

/* Advances the level hint from h0 to b after a first-fit scan found every
 * block in [h0, b) marked full; a block freed meanwhile pulls it back.
 * Only across summary words: inside one, a scan costs one load anyway,
 * and a CAS per allocation would be the expensive part. */
static void hint_advance(unsigned char *map, unsigned j, shm_offt h0,
			 shm_offt b, shm_offt top)
{
	struct shm_file_header *h = shm_hdr(map);
	shm_offt exp = h0;
	b -= b % SHM_WORD_BITS;
	if (b <= h0 || !atomic_compare_exchange_strong(&h->hint[j].v, &exp, b))
		return;
	shm_offt c = next_candidate(map, j, h0, top);
	if (c < b)
		hint_lower(h, j, c);
}

/* Scans summary-guided from start, below the watermark and then raising
 * it; returns the offset or SHM_NULL (arena or filesystem full). */
static shm_offt search(unsigned char *map, unsigned j, shm_offt start,
		       bool first_fit)
{
	shm_offt b = start, out, top = shm_touched(map);
	for (;;) {
		b = next_candidate(map, j, b, top);
		if (b >= top) {
			if (b >= SHM_NBLOCKS)
				return SHM_NULL;
			top = grow_touched(map, b);
			if (top <= b)
				return SHM_NULL;
		}
		if (take(map, j, b, &out)) {
			tls_cur[j] = b + 1;
			if (first_fit)
				hint_advance(map, j, start, b, top);
			return out;
		}
		mark_full(map, j, b);
		b++;
	}
}

/* Block b: clears the summary bits that claim "full" where it has room. */
static void repair_block(unsigned char *map, shm_offt b)
{
	/* relaxed: re-checked by mark_available and by the CAS */
	unsigned fl = free_levels(atomic_load_explicit(
		&shm_words(map)[b], memory_order_relaxed));
	for (unsigned j = 0; j < SHM_NLEVELS; j++)
		if ((fl & (1u << j)) &&
		    (atomic_load_explicit(sum_word(map, j, b),
					  memory_order_relaxed) & sum_bit(b)))
			mark_available(map, j, b);
}

/* Sets right every summary bit that claims "full" for a block that has
 * room (a process killed between its CAS and its summary update, or a
 * damaged file), and pulls the hints down.  Only below the watermark: the
 * pages above it may not exist. */
static void repair_map(unsigned char *map)
{
	shm_offt top = shm_touched(map);
	for (shm_offt b = 0; b < top; b++)
		repair_block(map, b);
}

void shm_arena_repair(struct shm_arena *a)
{
	repair_map(a->map);
}

/* A recheck's share of the repair: SHM_REPAIR_SLICE blocks from the
 * shared cursor, which goes round the touched blocks (any value the file
 * holds is taken modulo the watermark). */
#define SHM_REPAIR_SLICE \
	(SHM_NBLOCKS / 128 > 4096 ? SHM_NBLOCKS / 128 : (shm_offt)4096)
/* Failures of a level marked full between two rechecks: a recheck costs
 * about a scan of the summary lines, SHM_NBLOCKS / 64 loads per level. */
#define SHM_FULL_RECHECK \
	(SHM_NBLOCKS / 512 > 1024 ? SHM_NBLOCKS / 512 : (shm_offt)1024)

static void repair_slice(unsigned char *map)
{
	shm_offt top = shm_touched(map);
	if (top == 0)
		return;
	/* relaxed: the cursor only spreads the work; any value is bounded */
	shm_offt b = atomic_fetch_add_explicit(&shm_hdr(map)->repair_next.v,
					       SHM_REPAIR_SLICE,
					       memory_order_relaxed) % top;
	shm_offt end = top - b > SHM_REPAIR_SLICE ? b + SHM_REPAIR_SLICE : top;
	for (; b < end; b++)
		repair_block(map, b);
}

/* A scan of every block whose failure marks level j full (see "Full
 * levels" in shm_layout.h); success clears the marks it disproves. */
static shm_offt scan_all(unsigned char *map, unsigned j)
{
	struct shm_file_header *h = shm_hdr(map);
	shm_offt g = full_scan_begin(h, j);
	shm_offt out = search(map, j, 0, false);
	if (out != SHM_NULL)
		full_room(h, j);
	else
		full_scan_failed(h, j, g);
	return out;
}

shm_offt shm_arena_full_token(const struct shm_arena *a)
{
	if (a == NULL || a->map == NULL)
		return 0;
	/* relaxed: a hint (see the contract) */
	shm_offt v = atomic_load_explicit(&shm_hdr(a->map)->full.v,
					  memory_order_relaxed);
	return (v & SHM_FULL_ALL_F) != 0 ? v : 0;
}

/* Level of a request: 0 for a max block, SHM_D for a min block. */
static inline int level_of(size_t n)
{
	if (n <= SHM_MIN_BLOCK)
		return SHM_D;
	if (n > SHM_BLOCK_MAX)
		return -1;
	unsigned pow = (unsigned)(sizeof(unsigned long) * CHAR_BIT) -
		       (unsigned)__builtin_clzl((unsigned long)(n - 1));
	return (int)(MAX_ALLOC_POW2 - pow);
}

/* The search from the level hint (or, after a lost CAS, from the next
 * line of blocks).  Not trusted to prove the level full: it may start
 * above room. */
static shm_offt search_from_hint(unsigned char *map, unsigned j, shm_offt b,
				 bool contended)
{
	bool first_fit = true;
	/* relaxed: the hint only steers the search */
	shm_offt start = atomic_load_explicit(&shm_hdr(map)->hint[j].v,
					      memory_order_relaxed);
	if (contended && b + SHM_JUMP < SHM_NBLOCKS) {
		start = (b / SHM_JUMP + jump_strides()) * SHM_JUMP;
		first_fit = false;
	}
	if (start >= SHM_NBLOCKS)
		start = 0;
	return search(map, j, start, first_fit);
}

/* Everything but the thread's current block.  A level marked full fails at
 * once, but for every SHM_FULL_RECHECK-th failure (counted across
 * processes), which repairs a slice and scans.  Otherwise a search from
 * the hint, then a scan of every block that marks the level full if it
 * fails, with a repair of the whole map first now and then.  Kept out of
 * line so that the fast path below needs no stack frame. */
static __attribute__((noinline)) shm_offt
malloc_slow(unsigned char *map, unsigned j, shm_offt b, bool contended)
{
	struct shm_file_header *h = shm_hdr(map);
	/* relaxed: a hint (see "Full levels"); a wrong bit costs failures
	 * until the next recheck, or one scan */
	const bool known_full = (atomic_load_explicit(&h->full.v,
						      memory_order_relaxed) &
				 SHM_FULL_F(j)) != 0;
	shm_offt out;

	if (!known_full) {
		out = search_from_hint(map, j, b, contended);
		if (out != SHM_NULL)
			return out;
	}
	/* relaxed: a statistic, and the count that spaces the rechecks */
	shm_offt nfail = atomic_fetch_add_explicit(&h->stat.failed_allocs, 1,
						   memory_order_relaxed);
	if (known_full) {
		if (nfail % SHM_FULL_RECHECK != 0)
			return SHM_NULL;
		repair_slice(map);
	} else if (nfail % 64 == 0) {
		repair_map(map);
	}
	out = scan_all(map, j);
	if (out != SHM_NULL)
		/* relaxed: as above */
		atomic_fetch_sub_explicit(&h->stat.failed_allocs, 1,
					  memory_order_relaxed);
	return out;
}

/* Allocation on a writable mapping: one CAS in the thread's current block
 * of the level, else malloc_slow. */
static inline shm_offt malloc_map(unsigned char *map, size_t n)
{
	int lv = level_of(n);
	if (__builtin_expect(lv < 0, 0))
		return SHM_NULL;
	unsigned j = (unsigned)lv;
	shm_offt b = tls_cur[j] - 1;
	/* b < touched: the thread's block may belong to another arena this
	 * thread used before, whose pages here may not exist (a relaxed load
	 * of a line that is written once per chunk). */
	if (__builtin_expect(b >= atomic_load_explicit(
			&shm_hdr(map)->touched.v, memory_order_relaxed), 0))
		return malloc_slow(map, j, b, false);
	_Atomic shm_offt *wp = &shm_words(map)[b];
	/* relaxed: the CAS below re-checks it */
	shm_offt w = atomic_load_explicit(wp, memory_order_relaxed);
	int node = find_free(w, j);
	if (__builtin_expect(node < 0, 0))
		return malloc_slow(map, j, b, false);
	/* seq_cst: acquire the block, and order against the summary bits */
	if (__builtin_expect(!atomic_compare_exchange_strong_explicit(
			wp, &w, w | subtree_mask(j, (unsigned)node),
			memory_order_seq_cst, memory_order_relaxed), 0))
		return malloc_slow(map, j, b, true);
	return node_offset(b, j, node);
}


shm_offt shm_arena_calloc(struct shm_arena *a, size_t count, size_t size)
{
	if (size != 0 && count > SIZE_MAX / size)
		return SHM_NULL;
	shm_offt off = shm_arena_malloc(a, count * size);
	if (off != SHM_NULL)
		memset(a->base + off, 0, count * size);
	return off;
}

static __attribute__((noinline)) void count_bad_free(unsigned char *map)
{
	/* relaxed: a statistic */
	atomic_fetch_add_explicit(&shm_hdr(map)->stat.bad_frees, 1,
				  memory_order_relaxed);
}

/* After a free that left word nw in block b: clears the summary bits of
 * the levels where the block now has room.  Those bits are rare (set when
 * a search met this block without room), so this only runs when the block
 * has one at some level. */
static __attribute__((noinline)) void free_summary(unsigned char *map,
						   shm_offt b, shm_offt nw)
{
	_Atomic shm_offt *line = shm_summary(map, 0, b / SHM_WORD_BITS);
	unsigned bit = (unsigned)(b % SHM_WORD_BITS), set = 0;
#pragma GCC unroll 8
	for (unsigned k = 0; k <= SHM_D; k++)
		set |= (unsigned)((atomic_load(&line[k]) >> bit) & 1) << k;
	set &= free_levels(nw);
	while (set) {
		unsigned lv = (unsigned)__builtin_ctz(set);
		set &= set - 1;
		mark_available(map, lv, b);
	}
}

/* Free on a writable mapping. */
static inline void free_map(unsigned char *map, shm_offt off)
{
	if (off == SHM_NULL)
		return;
	shm_offt rel = off - SHM_NULL_REGION_SIZE; /* wraps below the region */
	shm_offt b = rel >> MAX_ALLOC_POW2;
	/* relaxed: see shm_touched; a block at or above it was never handed
	 * out, and its page may not exist (touched <= SHM_NBLOCKS in a sound
	 * file; the region check keeps a damaged one in bounds) */
	if (__builtin_expect(rel >= (shm_offt)MAX_ALLOCATABLE_SHM_SIZE ||
			     (off & (SHM_MIN_BLOCK - 1)) != 0 ||
			     b >= atomic_load_explicit(&shm_hdr(map)->touched.v,
						       memory_order_relaxed), 0)) {
		count_bad_free(map);
		return;
	}
	unsigned leaf = (unsigned)((rel & (SHM_BLOCK_MAX - 1)) >> MIN_ALLOC_POW2);
	_Atomic shm_offt *wp = &shm_words(map)[b];
	/* relaxed: the CAS re-checks it */
	shm_offt w = atomic_load_explicit(wp, memory_order_relaxed), nw;
	do {
		/* The allocation is the topmost set node on the leaf's path; it
		 * must start at off, and the leaf itself must be set.  Levels
		 * are stored root-first from the top bit down, so the topmost
		 * set node is the highest set bit of the path, and its subtree
		 * is one table look-up away (a short chain before the CAS). */
		if (__builtin_expect(!((w >> leaf) & 1), 0)) {
			count_bad_free(map);
			return;
		}
		unsigned p = top_bit(w & path_masks[leaf]);
		if (__builtin_expect(node_leaf[p] != leaf, 0)) {
			count_bad_free(map);
			return;
		}
		nw = w & ~node_subtree[p];
		/* seq_cst: release the block; ordered before the summary reads */
	} while (!atomic_compare_exchange_weak_explicit(
		wp, &w, nw, memory_order_seq_cst, memory_order_relaxed));

	/* One test for this block's summary bit at every level (one line). */
	_Atomic shm_offt *line = shm_summary(map, 0, b / SHM_WORD_BITS);
	shm_offt any = 0;
#pragma GCC unroll 8
	for (unsigned k = 0; k <= SHM_D; k++)
		any |= atomic_load(&line[k]);
	if (__builtin_expect((any >> (b % SHM_WORD_BITS)) & 1, 0))
		free_summary(map, b, nw);
}

/* A block past a prefix mapping (another process raised the watermark
 * beyond it) is not memory of this process: given back unread, and the
 * allocation fails as full. */
static __attribute__((noinline)) shm_offt
malloc_beyond(struct shm_arena *a, shm_offt off, size_t n)
{
	shm_offt end = a->mapped_blocks << MAX_ALLOC_POW2;
	shm_offt rel = off - SHM_NULL_REGION_SIZE;
	if (rel < end && (size_t)(end - rel) >= (n ? n : 1))
		return off;
	free_map(a->map, off);
	/* relaxed: a statistic */
	atomic_fetch_add_explicit(&shm_hdr(a->map)->stat.failed_allocs, 1,
				  memory_order_relaxed);
	return SHM_NULL;
}

shm_offt shm_arena_malloc(struct shm_arena *a, size_t n)
{
	if (a == NULL || a->map == NULL || a->read_only)
		return SHM_NULL;
	shm_offt off = malloc_map(a->map, n);
	if (__builtin_expect(a->mapped_blocks < SHM_NBLOCKS, 0) &&
	    off != SHM_NULL)
		return malloc_beyond(a, off, n);
	return off;
}

void shm_arena_free(struct shm_arena *a, shm_offt off)
{
	if (a == NULL || a->map == NULL || a->read_only)
		return;
	free_map(a->map, off);
}

/* The contract's hot calls on the process-wide arena (shm_global.c), here
 * so that they inline the allocator.  A published base means a complete,
 * writable arena (shm_init opens it read-write). */
static inline unsigned char *global_base(void)
{
	/* acquire: pairs with the release in shm_init */
	return atomic_load_explicit(&shm_g_base, memory_order_acquire);
}

shm_offt shm_malloc(size_t n)
{
	return global_base() ? shm_arena_malloc(&shm_g_arena, n) : SHM_NULL;
}

void shm_free(shm_offt off)
{
	if (global_base())
		free_map(shm_g_arena.map, off);
}

void *ptr_malloc(size_t n)
{
	unsigned char *base = global_base();
	if (base == NULL)
		return NULL;
	shm_offt off = shm_arena_malloc(&shm_g_arena, n);
	return off == SHM_NULL ? NULL : base + off;
}

void ptr_free(void *p)
{
	unsigned char *base = global_base();
	if (p == NULL || base == NULL)
		return;
	/* An address outside the arena becomes an out-of-range offset,
	 * which free_map counts as a bad free. */
	uintptr_t u = (uintptr_t)p;
	free_map(shm_g_arena.map, u < (uintptr_t)base ? (shm_offt)SHM_OFFT_MAX
						      : (shm_offt)(u - (uintptr_t)base));
}

struct shm_arena *shm_global_arena(void)
{
	return shm_global_arena_inline();
}
