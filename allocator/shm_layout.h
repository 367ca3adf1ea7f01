/*
 * shm_layout.h - the layout of an shm_alloc file (private to allocator/).
 *
 * This is the one place where the file format is defined.  All offsets are
 * compile-time constants derived from the build settings, so the hot path
 * computes every address from the mapping start without reading the header.
 *
 * File (offsets from the start of the mapping, "map"):
 *
 *   0               header page (struct shm_file_header, SHM_HDR_SIZE bytes)
 *   SHM_CLIENT_OFF  client area, SHM_CLIENT_AREA_SIZE bytes, zero when fresh
 *                   (the path cache keeps its header there)
 *   SHM_SUMMARY_OFF "full" summaries: for each group of SHM_WORD_BITS
 *                   max-size blocks one 64-byte line holding one word per
 *                   level j (0 = max block, D = min block), one bit per
 *                   block; a set bit is a hint that the block has no free
 *                   node of level j, a clear bit means "maybe has one".  All
 *                   levels of a block share a line: a free that makes room at
 *                   several levels reads one line.
 *   SHM_WORDS_OFF   one bitmap word (shm_offt) per max-size block: its whole
 *                   buddy tree (see below)
 *   ...             zero padding up to SHM_MGMT_SIZE (a multiple of 64 KiB)
 *   SHM_MGMT_SIZE   null region, SHM_NULL_REGION_SIZE bytes, mapped PROT_READ:
 *                   the user base (offset SHM_NULL = 0) points here
 *   + 64 KiB        the arena, MAX_ALLOCATABLE_SHM_SIZE bytes of blocks
 *
 * The file is made sparse with ftruncate: zero means fresh/free everywhere
 * (bitmap words, summary bits, hints, counters), so initialisation writes
 * only the header fields and the file costs pages only where it is used.
 *
 * Reserved pages.  A page of a sparse file that the filesystem cannot
 * supply (a full tmpfs, a quota) raises SIGBUS in whoever touches it, even
 * by a read on tmpfs.  So no page is touched before it is reserved:
 *  - at creation, before the file is published at its name, the creator
 *    reserves [0, SHM_SUMMARY_OFF) (header and client area) with
 *    posix_fallocate; failure refuses the open (SHM_E_NOSPACE);
 *  - the header's "touched" watermark counts the max-size blocks whose pages
 *    are reserved: their arena bytes, their bitmap words and their summary
 *    line.  The allocator reads and writes nothing at or above it; it grows
 *    it by SHM_CHUNK_BLOCKS (64 KiB of arena) at a time, with
 *    madvise(MADV_POPULATE_WRITE) on those pages first (a failure makes the
 *    allocation fail as full, counted in failed_allocs), then a CAS.
 * Limit: where MADV_POPULATE_WRITE is unknown (Linux < 5.14, which answers
 * EINVAL, or a system without it such as macOS) the watermark grows without
 * reserving, and a full filesystem can still raise SIGBUS there.  Without
 * posix_fallocate (macOS) nothing is reserved at creation either.
 *
 * Buddy tree in one word, D = MAX_ALLOC_POW2 - MIN_ALLOC_POW2 levels below
 * the top.  Level j (0 = the whole max block, D = min-size leaves) has 2^j
 * nodes stored at bits SHM_LVL_OFF(j) = 2^(D+1) - 2^(j+1) and up: leaves at
 * bits 0 .. 2^D-1, then level D-1 above them, ..., the root at 2^(D+1)-2.
 * A bit is set exactly when its node lies inside an allocated block:
 * allocating node N sets N and its whole subtree with one CAS, freeing clears
 * them with one CAS.  Hence a set node's subtree is all set, a node is free
 * exactly when every leaf below it is clear, and the allocation that covers
 * an address is the topmost set node on its root-to-leaf path.  No per-block
 * header is needed: the size of an allocation is read from the tree.
 *
 * Full levels.  A failed allocation must not cost a scan of the whole
 * arena each time: once a scan of every block finds no free node of level
 * j, the header word "full" says so, and later requests of that level fail
 * at the price of two loads and the failure count.  The word holds, per
 * level j, a "scanning" bit S(j) (bit j) and a "full" bit F(j) (bit
 * SHM_NLEVELS + j); the bits above them are a generation:
 *  - a scan that is to be trusted sets S(j) first (the search from the
 *    level hint found nothing), then scans from block 0; if it finds
 *    nothing it sets F(j) (it left every block's summary bit of level j
 *    set, which the next rule relies on), by a CAS that succeeds only if
 *    the generation it read with S(j) is still there and S(j) still set;
 *  - whoever sees room at level j for a block whose summary bit said full
 *    (a free, a repair, a search that takes a bit back) clears S(k) and
 *    F(k) for k >= j and bumps the generation, if any of them or any F bit
 *    is set (so the word changes whenever room is seen while some level is
 *    full: shm_arena_full_token).
 *    Those are the summary protocol's rare paths, so a free pays nothing
 *    more while no scan is in flight;
 *  - the failures of a level marked full are counted in failed_allocs, and
 *    every SHM_FULL_RECHECK-th of them (a count shared by every process)
 *    repairs the next SHM_REPAIR_SLICE blocks' summary bits (the cursor
 *    repair_next goes round the touched blocks) and scans again.  So room
 *    that nobody announced (a process killed between its free and its
 *    summary update, a filesystem that has pages again) is found after a
 *    bounded number of failures.
 * The word is a hint and lives in the untrusted file: a wrong F bit costs
 * failures until the next recheck, a wrong clear bit costs a scan; neither
 * hands out a block (the CAS on the block word decides).  Zero (a fresh
 * file) means no level known full.
 *
 * Invariants are trusted only as far as memory safety is not at stake:
 * every index read from the file (hints, block numbers) is bounds-checked
 * before use, and allocation decides from the leaf bits alone, so a damaged
 * word can leak space but never hand out a block that overlaps a live one
 * whose leaves are set.
 */
#ifndef SHM_LAYOUT_H
#define SHM_LAYOUT_H

#include <stdalign.h>
#include <stdint.h>

#include "shm_alloc.h"

#define SHM_LAYOUT_MAGIC "SHMALLOC" /* 8 bytes, no terminator in the file */
#define SHM_LAYOUT_VERSION 2u /* the layout described here */

#define SHM_D (MAX_ALLOC_POW2 - MIN_ALLOC_POW2) /* levels below the top    */
#define SHM_NLEVELS (SHM_D + 1)
#define SHM_LEAVES (1u << SHM_D)                  /* min blocks per max block */
#define SHM_MIN_BLOCK ((size_t)1 << MIN_ALLOC_POW2)
#define SHM_WORD_BITS ((unsigned)(sizeof(shm_offt) * CHAR_BIT))
#define SHM_LVL_OFF(j) ((2u << SHM_D) - (2u << (j)))
#define SHM_LEAF_MASK ((((shm_offt)1) << SHM_LEAVES) - 1)

/* Max-size blocks in the arena, and summary words per level. */
#define SHM_NBLOCKS ((shm_offt)(MAX_ALLOCATABLE_SHM_SIZE >> MAX_ALLOC_POW2))
/* Blocks reserved at a time: 64 KiB of arena, at least one block. */
#define SHM_CHUNK_BLOCKS \
	((shm_offt)(MAX_ALLOC_POW2 >= 16 ? 1 : 65536u >> MAX_ALLOC_POW2))
#define SHM_SUM_WORDS (((size_t)SHM_NBLOCKS + SHM_WORD_BITS - 1) / SHM_WORD_BITS)

#define SHM_ROUND_UP(x, a) ((((size_t)(x)) + (a) - 1) / (a) * (a))

#define SHM_HDR_SIZE 4096UL
#define SHM_CLIENT_OFF SHM_HDR_SIZE
#define SHM_SUMMARY_OFF (SHM_CLIENT_OFF + SHM_CLIENT_AREA_SIZE)
#define SHM_SUM_STRIDE (64 / sizeof(shm_offt)) /* words per group line */
#define SHM_WORDS_OFF \
	SHM_ROUND_UP(SHM_SUMMARY_OFF + SHM_SUM_WORDS * 64, 4096)
#define SHM_MGMT_SIZE \
	SHM_ROUND_UP(SHM_WORDS_OFF + (size_t)SHM_NBLOCKS * sizeof(shm_offt), 65536)
#define SHM_FILE_SIZE \
	(SHM_MGMT_SIZE + SHM_NULL_REGION_SIZE + (size_t)MAX_ALLOCATABLE_SHM_SIZE)

/* init_state: READY in every file found at its name (a file is published
 * complete, see shm_arena.c); any other value is damage. */
#define SHM_STATE_READY 1u

struct shm_line_word {
	alignas(64) _Atomic shm_offt v;
};

struct shm_file_header {
	/* Fixed-width prefix, the same in every build (32- or 64-bit), so that
	 * any build can tell why a file is not its own. */
	char magic[8];            /* SHM_LAYOUT_MAGIC                        */
	uint32_t layout_version;  /* SHM_LAYOUT_VERSION                      */
	uint32_t word_bits;       /* bits of shm_offt (bitmap word)          */
	uint32_t min_pow2;        /* MIN_ALLOC_POW2                          */
	uint32_t max_pow2;        /* MAX_ALLOC_POW2                          */
	uint64_t arena_size;      /* MAX_ALLOCATABLE_SHM_SIZE                */
	uint64_t mgmt_size;       /* SHM_MGMT_SIZE: everything before null   */
	uint64_t null_size;       /* SHM_NULL_REGION_SIZE                    */
	uint64_t file_size;       /* SHM_FILE_SIZE: the size it must have    */
	_Atomic uint32_t init_state; /* see SHM_STATE_*                      */
	uint32_t reserved;
	/* Rare events, one line: statistics only. */
	struct {
		alignas(64) _Atomic shm_offt failed_allocs;
		_Atomic shm_offt bad_frees;
	} stat;
	/* Watermark: the pages of max-size blocks [0, touched) are reserved
	 * (see "Reserved pages") and those blocks may be in use; the blocks
	 * above are fresh and never touched.  Raised before a block is first
	 * taken, only after its pages are reserved. */
	struct shm_line_word touched;
	/* Per level: lowest block that may have a free node of that level. */
	struct shm_line_word hint[SHM_NLEVELS];
	/* Full levels (see "Full levels"): S and F bits and a generation. */
	struct shm_line_word full;
	/* The next block a recheck repairs from (any value: taken modulo the
	 * watermark). */
	struct shm_line_word repair_next;
};

/* The bits of the "full" word. */
#define SHM_FULL_S(j) ((shm_offt)1 << (j))
#define SHM_FULL_F(j) ((shm_offt)1 << (SHM_NLEVELS + (j)))
#define SHM_FULL_GEN ((shm_offt)1 << (2 * SHM_NLEVELS))
#define SHM_FULL_BITS (SHM_FULL_GEN - 1)

_Static_assert(sizeof(struct shm_file_header) <= SHM_HDR_SIZE,
	       "file header must fit in its page");
_Static_assert(offsetof(struct shm_file_header, init_state) == 56,
	       "the fixed header prefix must not move");
_Static_assert(2 * SHM_LEAVES - 1 <= sizeof(shm_offt) * CHAR_BIT,
	       "a buddy tree must fit in one bitmap word");
_Static_assert(SHM_MGMT_SIZE % 65536 == 0, "user base must be 64 KiB aligned");
_Static_assert(SHM_NLEVELS <= SHM_SUM_STRIDE, "a group line holds every level");

static inline struct shm_file_header *shm_hdr(unsigned char *map)
{
	return (struct shm_file_header *)map;
}

static inline _Atomic shm_offt *shm_words(unsigned char *map)
{
	return (_Atomic shm_offt *)(map + SHM_WORDS_OFF);
}

/* Summary word of level j for blocks [wi * SHM_WORD_BITS, +SHM_WORD_BITS). */
static inline _Atomic shm_offt *shm_summary(unsigned char *map, unsigned j,
					    size_t wi)
{
	return (_Atomic shm_offt *)(map + SHM_SUMMARY_OFF) +
	       wi * SHM_SUM_STRIDE + j;
}

/* The process-wide arena of the contract (shm_global.c): shm_g_base is
 * published last, with release, once shm_g_arena is complete. */
extern struct shm_arena shm_g_arena;
extern _Atomic(unsigned char *) shm_g_base;

static inline struct shm_arena *shm_global_arena_inline(void)
{
	/* acquire: pairs with the release in shm_init */
	return atomic_load_explicit(&shm_g_base, memory_order_acquire)
		? &shm_g_arena : NULL;
}

/* The watermark as a bound for scans (a damaged file may hold anything). */
static inline shm_offt shm_touched(unsigned char *map)
{
	/* relaxed: the reservation it announces is kernel state, complete
	 * before the CAS that raised it; read-read coherence covers a block
	 * handed over by another process */
	shm_offt t = atomic_load_explicit(&shm_hdr(map)->touched.v,
					  memory_order_relaxed);
	return t < SHM_NBLOCKS ? t : SHM_NBLOCKS;
}

/* Private to allocator/: defined in shm_alloc_core.c, used by the stats. */
unsigned shm_free_levels(shm_offt w);
void shm_arena_repair(struct shm_arena *a);

/* shm_reserve.c: reserves the file pages that max-size blocks [b0, b1)
 * use (arena bytes, bitmap words, summary lines) with
 * MADV_POPULATE_WRITE.  False when the filesystem cannot supply them; true
 * also where the call is unknown (nothing reserved).  Keeps errno.
 * Async-signal-safe. */
bool shm_reserve_blocks(unsigned char *map, shm_offt b0, shm_offt b1);
/* Records the page size for shm_reserve_blocks; called by every open. */
void shm_reserve_setup(void);
/* Registers a mapping of only the file's first `blocks` max-size blocks
 * (and everything before the arena), so that shm_reserve_blocks never
 * reserves past its end.  False when no slot is free.  Removed by
 * shm_window_remove at close.  shm_window_blocks: the bound of map, or
 * SHM_NBLOCKS for a whole mapping; async-signal-safe. */
bool shm_window_add(unsigned char *map, shm_offt blocks);
void shm_window_remove(unsigned char *map);
shm_offt shm_window_blocks(const unsigned char *map);

#endif /* SHM_LAYOUT_H */
