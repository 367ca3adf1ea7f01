/*
 * ctrie_layout.h - private: the cache's shared-file layout and node formats.
 *
 * This is the one place where the layout is documented.
 *
 * THE CACHE HEADER lives in the allocator's client area (shm_arena_client_area,
 * SHM_CLIENT_AREA_SIZE bytes, zero in a fresh file, 64-byte aligned):
 *
 *   offset  field            written
 *   ------  ---------------  -----------------------------------------------
 *   0       state            0: unformatted; CTRIE_FORMATTING | pid: being
 *                            formatted by pid; CTRIE_MAGIC: ready (release)
 *   8       version          CTRIE_FORMAT_VERSION
 *   12      header_size      sizeof(struct ctrie_header)
 *   16      max_key          cache_max_key() of the formatting build
 *   20      level_bits       CTRIE_BITS (5: 32-way C-nodes)
 *   24      top_level        CTRIE_TOP_LEVEL (3: the top table's level)
 *   28      policy           CTRIE_POLICY_PRESENT once the policy block holds
 *                            a policy (release, after the block's own
 *                            magic); 0: none, and the block is not read,
 *                            so that a process of a cache without a policy
 *                            never touches the block's page
 *   32      l4_on            0 while the level-4 index is not used; 2 once
 *                            the cache holds CTRIE_L4_FROM keys (or
 *                            cache_l4_start) while one process allocates
 *                            its pieces, 1 when it is done: either is on;
 *                            never cleared
 *   --- own cache line (written on every new key, never on a plain hit) ---
 *   64      entries          distinct keys inserted; its value before an
 *                            insert's increment is that insert's slot in
 *                            the ring of recent inserts (count % CTRIE_RECENT)
 *           key_bytes        sum of their lengths
 *           retired_bytes    blocks of replaced C-/L-nodes, and of nodes
 *                            built for a CAS that failed (not reclaimed yet)
 *           lost_races       CASes that failed, and S-nodes built for a
 *                            key that another process inserted first
 *           slack_bytes      bytes held for S-nodes but never in one: the
 *                            tail of a chunk too short for the next S-node,
 *                            bytes skipped to start one at a line pair, an
 *                            S-node given up, a chunk that lost the race
 *                            to be the current one, the rounding of an
 *                            S-node in a block of its own
 *           carve            the next free byte of the S-node chunk (0: none;
 *                            a multiple of the chunk size: chunk used up)
 *           next_chunk       the chunk to carve from once the current one
 *                            is used up, put there by the carve that took
 *                            the current one past its middle
 *                            (ctrie_next_word): chunk number (offset >>
 *                            MAX_ALLOC_POW2; 0: none) in the low 32 bits, a
 *                            generation in the high ones, bumped by every
 *                            change, so that no CAS on it succeeds on a
 *                            value that came back
 *   --- own cache line (written on failures only) ---
 *   128     skipped_toolong  records refused: key longer than max_key
 *           skipped_full     records refused: the allocator had no block
 *   --- own cache lines: the ring of recent inserts (cache_recent) ---
 *   192     recent[64]       S-node offsets, slot = entries % CTRIE_RECENT
 *   --- the top table, 64-byte aligned ---
 *           top[32768]       the main words of the trie's 32768 I-nodes of
 *                            level 3, indexed by the hash's low 15 bits
 *                            (their path prefix): each the reference (as a
 *                            C-node child, see below) of the level-3 C-node
 *                            of that prefix, or 0 while the prefix has no
 *                            key (an empty C-node)
 *   --- the directory of the level-4 index, 64-byte aligned ---
 *           l4_dir[8192]     each the reference of a piece of the index (a
 *                            largest block of the arena, CTRIE_L4_PER_PIECE
 *                            words), or 0 while the piece is not there;
 *                            8192 entries with 1 KiB blocks
 *                            (CTRIE_L4_PIECES)
 *   256 KiB policy block     the sandbox policy and its counters, zero when
 *                            there is none: documented in cache_policy.c
 *
 * THE TOP TABLE stands for levels 0-3 of the trie.  Keys are never removed,
 * so once a cache holds some tens of thousands of keys its levels 0-2 are
 * full C-nodes (1 + 32 + 1024 of them) that never change shape again, and
 * its 32768 I-nodes of level 3 are all there.  Built node by node, each of
 * those C-nodes would be copied for every key that lands directly in it
 * (about 30 bytes of garbage per key at 200k keys), and a search would walk
 * them or memoise them (the path cache of Cache-Tries).  The table makes
 * them implicit from the start: it is that cache of level 3 made
 * authoritative, with the I-nodes' main words themselves in it, so a search
 * starts with one load at level 3 and an insert there CASes that word.
 * Nodes are of levels 3..CTRIE_MAX_LEVEL; I-nodes of levels 4 and below.
 *
 * THE LEVEL-4 INDEX makes a big cache's new paths cheap, and costs a
 * small cache nothing.  At 3M keys every level-3 C-node is full of
 * I-nodes: a search for a new key reads the C-node of level 3, the I-node
 * of level 4 and its C-node before it knows the key is absent, three
 * random lines in a file of hundreds of MiB (each a page fault in a
 * process new to the file), and a full cache refuses the key only after
 * them.  The index has one 64-bit word per level-4 prefix (the hash's low
 * 20 bits), in pieces allocated from the arena when it is put to use (in
 * order, by one insert: mostly consecutive blocks, so that a process new
 * to the file faults them in by 64 KiB windows):
 *
 *   low half   0, or the reference of the level-4 I-node of that prefix
 *              (permanent: an I-node never moves), set only once the word
 *              is complete (below)
 *   high half  a superset of the level-4 slots in use under it: every bit
 *              of its C-node's bitmap, maybe more
 *
 * A complete word is proven, not trusted: the high half gains a slot's bit
 * before the CAS that puts a key in that slot, so a search that finds the
 * key's slot clear in a complete word ends there (the key is absent), and
 * one that finds it set starts at the I-node (saving the top word and the
 * level-3 C-node).  A word whose low half is 0 is not used.  The index is
 * not authoritative for anything else: the trie alone says what is there.
 *
 * Making a word complete (ctrie_l4_mark, by a record whose search walked
 * to the I-node through the trie, once l4_on is set): the high half gains
 * the bitmap of the I-node's current C-node, then a CAS sets the MARK bit
 * (CTRIE_MAIN_MARK, bit 0 of the reference: C-nodes are blocks, so it is 0
 * in every reference of one) in the I-node's main word, then the low half
 * gains the I-node's reference.  An insert under a main word with the mark
 * ORs its new slot's bit into the word before its CAS, and keeps the mark.
 * An insert that read the main word before the mark cannot publish after
 * it: its CAS expects the unmarked word.  So once the mark is set every
 * slot in use is in the word's high half.  Only main words of level-4
 * I-nodes carry the mark.  A small cache never sets l4_on: its searches
 * read one more header word (on a line they read anyway) and touch no
 * page of the index.
 *
 * There is no per-record shared write besides the S-node's own ops word and
 * hit counter: the total of records is the sum of the hit counters.
 *
 * NODES are blocks of the arena (S-nodes: parts of one, see below), linked
 * by shm_offt offsets.  Every node starts with a 32-bit header word whose
 * low byte is its kind tag, so every offset followed is checked for bounds,
 * alignment and kind:
 *
 *   I-node  hdr = TAG_INODE | level << 8 | prefix20 << 12,
 *           _Atomic u32 main                 (the current C-node, as a unit
 *                                             reference: see below)
 *   C-node  hdr = TAG_CNODE | level << 8 | prefix20 << 12, u32 bitmap,
 *           u32 child[popcount(bitmap)]      (S-, L- or I-nodes of level+1,
 *                                             as units: see below)
 *   S-node  hdr = TAG_SNODE | len << 8, u32 pad (zero), _Atomic u64 ops,
 *           _Atomic u64 count, key[len]   (ops: the operations that
 *                                             succeeded and the outcomes
 *                                             in the low half, those that
 *                                             failed in the high half, so
 *                                             that one fetch_or records a
 *                                             call: ctrie_cache.h)
 *   L-node  hdr = TAG_LNODE | n << 8, pad, u64 hash,
 *           shm_offt snode[n]                (n >= 2 keys, one full hash)
 *
 * A C-node names its children, and a main word its C-node, by unit, offset
 * >> CTRIE_REF_SHIFT (8-byte units below a 32 GiB arena; ctrie_ref_of,
 * ctrie_ref_off): 4 bytes a child instead of 8 halve the C-nodes that every
 * insert copies (a full one takes a 256-byte block, not 512), and the top
 * table takes 128 KiB (measured: 8% faster inserts and lookups than with
 * 8-byte words).
 *
 * S-NODES ARE CARVED, not allocated one by one: they are permanent, so they
 * are cut unit-aligned (ctrie_snode_extent) from chunks of the largest
 * block size, shared by every process through the header's carve cursor
 * (a CAS moves it; a chunk is a block, so no node crosses a largest block).
 * A block of its own would waste the buddy rounding, 57 bytes per key on
 * real paths, and cost an allocator call per key; fewer bytes are fewer
 * tmpfs pages for the kernel to supply.  A node that would span one more
 * 128-byte pair of cache lines than its size needs starts at the next pair
 * instead (the skipped bytes are slack), so that a lookup reads the lines
 * it read from a block of its own.  When no chunk can be had (the arena has
 * no whole one left, or its pages cannot be reserved), an S-node gets a
 * block of its own, whose rounding is slack.  I-, C- and L-nodes are
 * blocks.
 *
 * The hash is 64 bits; level L indexes with bits [5L, 5L+5), so levels run
 * 0..CTRIE_MAX_LEVEL (level 12 uses the last 4 bits).  prefix20 is the low
 * 20 bits of the hash prefix shared by everything under the node (bits below
 * 5L): enough for a search and cache_verify to check that a node is where
 * it belongs (the prefixes of levels 3 and 4 fit whole).
 *
 * I-nodes, S-nodes and the top table are permanent: keys are never removed,
 * so an I-node once linked stays linked at the same place forever and an
 * S-node is never copied (its ops and count are updated in place).
 * C-nodes and L-nodes are immutable once published and replaced by copy +
 * CAS; the replaced one is retired (counted in retired_bytes).
 */
#ifndef CTRIE_LAYOUT_H
#define CTRIE_LAYOUT_H

#include <stdalign.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include "ctrie_cache.h"

#define CTRIE_MAGIC UINT64_C(0x31454952544353ff)  /* "\xffSCTRIE1" */
#define CTRIE_FORMATTING UINT64_C(0x464d540000000000) /* | pid */
#define CTRIE_FORMAT_VERSION 9u /* the layout described above */
#define CTRIE_POLICY_PRESENT 1u /* the header's policy word */

#define CTRIE_BITS 5
#define CTRIE_FANOUT (1u << CTRIE_BITS)
#define CTRIE_MAX_LEVEL 12      /* 13 levels x 5 bits >= 64 hash bits */
#define CTRIE_RECENT 64
#define CTRIE_TOP_LEVEL 3
#define CTRIE_TOP_SLOTS (1u << (CTRIE_BITS * CTRIE_TOP_LEVEL))
/* The level-4 index (see above): its level, words, pieces and the key
 * count from which it is used. */
#define CTRIE_L4_LEVEL (CTRIE_TOP_LEVEL + 1)
#define CTRIE_L4_SLOTS (1u << (CTRIE_BITS * CTRIE_L4_LEVEL))
#define CTRIE_L4_FROM 1000000u
/* A piece is a largest block; with blocks of less than 1 KiB (a build
 * setting) or references whose bit 0 may be set (blocks of 8 bytes) the
 * index is not built (CTRIE_L4_BUILT 0) and its directory is one entry. */
#define CTRIE_L4_BUILT (SHM_BLOCK_MAX >= 1024 && MIN_ALLOC_POW2 >= 4)
#define CTRIE_L4_PIECE SHM_BLOCK_MAX
#define CTRIE_L4_PER_PIECE (CTRIE_L4_PIECE / sizeof(uint64_t))
#define CTRIE_L4_PIECES                                                      \
	(CTRIE_L4_BUILT ? CTRIE_L4_SLOTS / CTRIE_L4_PER_PIECE : 1u)
/* Bit 0 of a level-4 I-node's main word: its slots are in the index. */
#define CTRIE_MAIN_MARK 1u
/* Keys sharing one full hash: bounded so that an L-node fits a block. */
#define CTRIE_LNODE_MAX ((SHM_BLOCK_MAX - 16) / sizeof(shm_offt))

enum ctrie_tag {
	TAG_INODE = 0xa1,
	TAG_CNODE = 0xc2,
	TAG_SNODE = 0x53,
	TAG_LNODE = 0x4c,
};

struct ctrie_inode {
	uint32_t hdr;
	_Atomic uint32_t main; /* a unit reference (ctrie_ref_of) */
};

struct ctrie_cnode {
	uint32_t hdr;
	uint32_t bitmap;
	uint32_t child[]; /* units (ctrie_ref_of) */
};

struct ctrie_snode {
	uint32_t hdr;
	_Atomic uint64_t ops;
	_Atomic uint64_t count;
	unsigned char key[];
};

struct ctrie_lnode {
	uint32_t hdr;
	uint32_t pad;
	uint64_t hash;
	shm_offt snode[];
};

#define CTRIE_SNODE_HDR ((size_t)offsetof(struct ctrie_snode, key))
/* Every kind of node has at least this many bytes (a C-node's header). */
#define CTRIE_NODE_MIN sizeof(struct ctrie_cnode)
_Static_assert(CACHE_KEY_MAX == SHM_BLOCK_MAX - CTRIE_SNODE_HDR,
	       "CACHE_KEY_MAX is what the largest block holds after an S-node header");

struct ctrie_header {
	_Atomic uint64_t state;
	uint32_t version;
	uint32_t header_size;
	uint32_t max_key;
	uint32_t level_bits;
	uint32_t top_level;
	_Atomic uint32_t policy;
	_Atomic uint32_t l4_on;

	alignas(64) _Atomic uint64_t entries;
	_Atomic uint64_t key_bytes;
	_Atomic uint64_t retired_bytes;
	_Atomic uint64_t lost_races;
	_Atomic uint64_t slack_bytes;
	_Atomic shm_offt carve;
	_Atomic uint64_t next_chunk;

	alignas(64) _Atomic uint64_t skipped_toolong;
	_Atomic uint64_t skipped_full;
	/* Writable attaches that succeeded (every traced process counts one):
	 * how `shmcache run` tells "the shim did not attach" from "the
	 * command named no file".  In the padding of this line: no other
	 * field's offset depends on it. */
	_Atomic uint64_t attaches;

	alignas(64) _Atomic shm_offt recent[CTRIE_RECENT];

	alignas(64) _Atomic uint32_t top[CTRIE_TOP_SLOTS];

	alignas(64) _Atomic uint32_t l4_dir[CTRIE_L4_PIECES];
};

_Static_assert(offsetof(struct ctrie_header, policy) == 28 &&
		       offsetof(struct ctrie_header, entries) == 64,
	       "the header's first line as documented above");
_Static_assert(sizeof(struct ctrie_header) <= SHM_CLIENT_AREA_SIZE,
	       "the cache header must fit the allocator's client area");
_Static_assert(CACHE_KEY_MAX < (1u << 24), "S-node length field is 24 bits");
_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2,
	       "the 64-bit ops word and count are lock-free (signal-safe)");
_Static_assert(offsetof(struct ctrie_snode, ops) % 8 == 0 &&
		       offsetof(struct ctrie_snode, count) % 8 == 0,
	       "S-node value words are 8-byte aligned, also on i386");
_Static_assert(CTRIE_LNODE_MAX >= 2, "an L-node must hold two keys");

/* Reads a word of a published node once.  Published nodes are immutable,
 * but the file is untrusted: relaxed atomic loads keep a hostile concurrent
 * writer from being a data race in our process. */
#define CTRIE_LOAD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)

/* ---- header words ------------------------------------------------------ */

#define CTRIE_TAG(hdr) ((hdr) & 0xffu)
#define CTRIE_LEVEL(hdr) (((hdr) >> 8) & 0xfu)
#define CTRIE_PREFIX20(hdr) ((hdr) >> 12)
#define CTRIE_LEN(hdr) ((hdr) >> 8)

/* The bits of hash below level (its path prefix). */
static inline uint64_t ctrie_prefix(uint64_t hash, unsigned level)
{
	unsigned bits = CTRIE_BITS * level;
	return bits >= 64 ? hash : hash & ((UINT64_C(1) << bits) - 1);
}

static inline uint32_t ctrie_tree_hdr(unsigned tag, unsigned level,
				      uint64_t hash)
{
	return (uint32_t)tag | (uint32_t)level << 8 |
	       (uint32_t)(ctrie_prefix(hash, level) & 0xfffffu) << 12;
}

static inline unsigned ctrie_index(uint64_t hash, unsigned level)
{
	return (unsigned)(hash >> (CTRIE_BITS * level)) & (CTRIE_FANOUT - 1);
}

/* Inline everywhere: without a popcount instruction in the target (x86-64
 * before -mpopcnt) __builtin_popcount is a call into libgcc. */
static inline unsigned ctrie_popcount(uint32_t x)
{
#if defined(__POPCNT__) || defined(__aarch64__) || defined(__arm64__)
	return (unsigned)__builtin_popcount(x);
#else
	x = x - ((x >> 1) & 0x55555555u);
	x = (x & 0x33333333u) + ((x >> 2) & 0x33333333u);
	x = (x + (x >> 4)) & 0x0f0f0f0fu;
	return (unsigned)((x * 0x01010101u) >> 24);
#endif
}

static inline size_t ctrie_cnode_size(unsigned n)
{
	return sizeof(struct ctrie_cnode) + (size_t)n * sizeof(uint32_t);
}

/* References count CTRIE_REF_UNIT-byte units: 8 bytes while the region's
 * last unit fits 32 bits (arenas below 32 GiB), else 16 or 32 bytes.  A
 * block starts at a multiple of any of them; S-nodes are carved at it. */
#define CTRIE_REF_SHIFT                                                      \
	((SHM_REGION_END - 1) >> 3 <= UINT32_MAX   ? 3                     \
	 : (SHM_REGION_END - 1) >> 4 <= UINT32_MAX ? 4                     \
						     : 5)
#define CTRIE_REF_UNIT ((size_t)1 << CTRIE_REF_SHIFT)
_Static_assert((SHM_REGION_END - 1) >> CTRIE_REF_SHIFT <= UINT32_MAX,
	       "a C-node child is a 32-bit number of units");
_Static_assert(MIN_ALLOC_POW2 >= CTRIE_REF_SHIFT,
	       "every block can be named by a reference");
_Static_assert(!CTRIE_L4_BUILT || MIN_ALLOC_POW2 > CTRIE_REF_SHIFT,
	       "bit 0 of a block's reference is free for CTRIE_MAIN_MARK");

/* A C-node child's reference for a node at off (unit-aligned), and the
 * offset of a reference.  Any 32-bit value decodes to an aligned offset,
 * still checked for bounds and kind before it is followed. */
static inline uint32_t ctrie_ref_of(shm_offt off)
{
	return (uint32_t)(off >> CTRIE_REF_SHIFT);
}

static inline shm_offt ctrie_ref_off(uint32_t ref)
{
	return (shm_offt)ref << CTRIE_REF_SHIFT;
}

/* The chunk S-nodes are carved from: the largest block. */
#define CTRIE_CHUNK SHM_BLOCK_MAX
/* The chunk named by a next_chunk word (SHM_NULL: none), and the word that
 * names chunk (SHM_NULL: none) after old. */
static inline shm_offt ctrie_next_chunk(uint64_t w)
{
	return (shm_offt)(w & UINT32_MAX) << MAX_ALLOC_POW2;
}

static inline uint64_t ctrie_next_word(uint64_t old, shm_offt chunk)
{
	return ((old >> 32) + 1) << 32 | (uint64_t)(chunk >> MAX_ALLOC_POW2);
}
_Static_assert((SHM_REGION_END - 1) >> MAX_ALLOC_POW2 <= UINT32_MAX,
	       "a chunk number fits the low half of next_chunk");

/* The chunk a carve cursor at is in (at its end when it is used up). */
static inline shm_offt ctrie_cursor_chunk(shm_offt at)
{
	const shm_offt used = at & (CTRIE_CHUNK - 1);
	return at - (used ? used : CTRIE_CHUNK);
}

/* A pair of cache lines, which the processor fetches together: a carved
 * S-node spans no more pairs than its size needs, as the buddy block of
 * its size did (measured: lookups 2% slower when only 64-byte lines are
 * kept to, within the noise with pairs). */
#define CTRIE_LINE ((size_t)128)

/* Bytes an S-node of a key of len bytes takes in its chunk. */
static inline size_t ctrie_snode_extent(size_t len)
{
	return (CTRIE_SNODE_HDR + len + CTRIE_REF_UNIT - 1) &
	       ~(CTRIE_REF_UNIT - 1);
}
_Static_assert((CTRIE_SNODE_HDR + CACHE_KEY_MAX) % 32 == 0 &&
		       CTRIE_SNODE_HDR + CACHE_KEY_MAX <= CTRIE_CHUNK,
	       "the longest key's S-node fits one chunk");

static inline size_t ctrie_lnode_size(size_t n)
{
	return sizeof(struct ctrie_lnode) + n * sizeof(shm_offt);
}

/* The main word of the level-3 I-node on hash h's path. */
static inline _Atomic uint32_t *ctrie_top_word(struct ctrie_header *H,
					       uint64_t h)
{
	return &H->top[h & (CTRIE_TOP_SLOTS - 1)];
}

/* The reference in slot i of the top table (0: the slot is empty), for a
 * walk of the whole table. */
static inline uint32_t ctrie_top_load(struct ctrie_header *H, uint32_t i)
{
	/* acquire: see ctrie_search in ctrie_core.c */
	return atomic_load_explicit(&H->top[i], memory_order_acquire);
}

static inline struct ctrie_header *ctrie_hdr(const struct cache *c)
{
	return (struct ctrie_header *)c->hdr;
}

/* The C-node reference in main word raw of an I-node of level (without
 * the mark a level-4 one may carry).  Bit 0 is cleared at every level, as
 * one AND: it is 0 in a sound reference of a C-node at the others, and a
 * damaged one is checked like any (cache_verify reports a mark there). */
static inline uint32_t ctrie_main_ref(uint32_t raw, unsigned level)
{
	(void)level;
	return CTRIE_L4_BUILT ? raw & ~(uint32_t)CTRIE_MAIN_MARK : raw;
}

/* Whether the level-4 index is in use (l4_on). */
static inline bool ctrie_l4_active(struct ctrie_header *H)
{
	/* relaxed: set once; a search that misses the change walks the
	 * trie, which is always right */
	return CTRIE_L4_BUILT &&
	       atomic_load_explicit(&H->l4_on, memory_order_relaxed) != 0;
}

/* A level-4 index word's I-node reference (0: not complete) and its
 * superset of the slots in use. */
static inline uint32_t ctrie_l4_ref(uint64_t w)
{
	return (uint32_t)w;
}

static inline uint32_t ctrie_l4_bits(uint64_t w)
{
	return (uint32_t)(w >> 32);
}

/* Whether off can start a node: in the allocatable region, 8-byte aligned,
 * and in a block whose pages the allocator has reserved (a damaged link to
 * a never-used block would otherwise make a read allocate a tmpfs page, and
 * raise SIGBUS on a full file system).  The handle is attached (c->hdr
 * set), so the arena is mapped. */
static inline bool ctrie_off_ok(const struct cache *c, shm_offt off)
{
	return shm_arena_in_region(off) && (off & 7) == 0 &&
	       shm_arena_reserved_ok(&c->arena, off);
}

/* Whether a node of len bytes at a valid off stays inside one largest
 * block (no allocation crosses one), hence inside the region (whose ends
 * are multiples of it: shm_alloc.h). */
static inline bool ctrie_fits(shm_offt off, size_t len)
{
	return (size_t)(off & (SHM_BLOCK_MAX - 1)) + len <= SHM_BLOCK_MAX;
}

/* Address of a node of len bytes at off, or NULL if off is out of bounds,
 * misaligned, or the node would cross a maximum-size block. */
static inline void *ctrie_at(const struct cache *c, shm_offt off, size_t len)
{
	if (!ctrie_off_ok(c, off) || !ctrie_fits(off, len))
		return NULL;
	return SHM_ARENA_ADDR(&c->arena, off);
}

/* The hash of a key (XXH3 64 bits; a deliberately weak one in the test
 * build CTRIE_WEAK_HASH, where keys share full hashes and long prefixes). */
uint64_t ctrie_hash(const void *key, size_t len);

/* Checked node access: NULL unless off holds a node of that kind whose
 * whole extent is in bounds; for I- and C-nodes also of that level and with
 * the prefix of hash below it.  The checked header values are returned
 * (*bitmap, *len, *count, *hash): use them, never re-read the header.
 * Header words are loaded once (relaxed), so a concurrent hostile writer
 * cannot change a length between its check and its use. */
static inline const struct ctrie_inode *
ctrie_inode_at(const struct cache *c, shm_offt off, unsigned level,
	       uint64_t hash)
{
	const struct ctrie_inode *n = ctrie_at(c, off, sizeof *n);
	if (n == NULL || level > CTRIE_MAX_LEVEL ||
	    CTRIE_LOAD(n->hdr) != ctrie_tree_hdr(TAG_INODE, level, hash))
		return NULL;
	return n;
}

static inline const struct ctrie_cnode *
ctrie_cnode_at(const struct cache *c, shm_offt off, unsigned level,
	       uint64_t hash, uint32_t *bitmap)
{
	const struct ctrie_cnode *n = ctrie_at(c, off, sizeof *n);
	uint32_t bm;
	if (n == NULL || level > CTRIE_MAX_LEVEL ||
	    CTRIE_LOAD(n->hdr) != ctrie_tree_hdr(TAG_CNODE, level, hash))
		return NULL;
	bm = CTRIE_LOAD(n->bitmap);
	/* the last level indexes with the 4 remaining hash bits */
	if (level == CTRIE_MAX_LEVEL && (bm >> 16) != 0)
		return NULL;
	if (!ctrie_fits(off, ctrie_cnode_size(ctrie_popcount(bm))))
		return NULL;
	*bitmap = bm;
	return n;
}

/* An S-node's header word hdr, read at off, checked for kind and length;
 * NULL if it does not hold an S-node of *len bytes of key. */
static inline const struct ctrie_snode *
ctrie_snode_of(const struct cache *c, shm_offt off, uint32_t hdr, size_t *len)
{
	if (CTRIE_TAG(hdr) != TAG_SNODE || CTRIE_LEN(hdr) > CACHE_KEY_MAX ||
	    !ctrie_fits(off, CTRIE_SNODE_HDR + CTRIE_LEN(hdr)))
		return NULL;
	*len = CTRIE_LEN(hdr);
	return SHM_ARENA_ADDR(&c->arena, off);
}

static inline const struct ctrie_snode *
ctrie_snode_at(const struct cache *c, shm_offt off, size_t *len)
{
	const struct ctrie_snode *n = ctrie_at(c, off, CTRIE_SNODE_HDR);
	return n ? ctrie_snode_of(c, off, CTRIE_LOAD(n->hdr), len) : NULL;
}

static inline const struct ctrie_lnode *
ctrie_lnode_at(const struct cache *c, shm_offt off, size_t *count,
	       uint64_t *hash)
{
	const struct ctrie_lnode *n = ctrie_at(c, off, sizeof *n);
	uint32_t hdr;
	if (n == NULL)
		return NULL;
	hdr = CTRIE_LOAD(n->hdr);
	if (CTRIE_TAG(hdr) != TAG_LNODE || CTRIE_LEN(hdr) < 2 ||
	    CTRIE_LEN(hdr) > CTRIE_LNODE_MAX ||
	    !ctrie_fits(off, ctrie_lnode_size(CTRIE_LEN(hdr))))
		return NULL;
	*count = CTRIE_LEN(hdr);
	*hash = CTRIE_LOAD(n->hash);
	return n;
}

/* The header word at off (0, no valid tag, if off cannot hold a node). */
static inline uint32_t ctrie_hdr_at(const struct cache *c, shm_offt off)
{
	const uint32_t *p = ctrie_at(c, off, CTRIE_NODE_MIN);
	return p ? CTRIE_LOAD(*p) : 0;
}

/* The tag at off (0 if off cannot hold a header word). */
static inline unsigned ctrie_tag_at(const struct cache *c, shm_offt off)
{
	return CTRIE_TAG(ctrie_hdr_at(c, off));
}

/* A key's S-node, found by a search, with its checked key length. */
struct ctrie_hit {
	const struct ctrie_snode *s;
	size_t len;
};

/* Where a search found a key absent: the main word of the I-node of that
 * level on the key's hash path (in the top table at level 3), and its
 * value when the search read it (acquire; 0 for an empty slot of the top
 * table); unless the search ended at the level-4 index (word NULL: the
 * key's slot is unused under the level-4 I-node whose reference, from the
 * index word and not yet checked, is raw).  Also, on every outcome: x4, the level-4
 * I-node the search walked to through the level-3 C-node, for
 * ctrie_l4_mark (left as the caller set it when there is none). */
struct ctrie_pos {
	_Atomic uint32_t *word;
	unsigned level;
	uint32_t raw;
	shm_offt x4;
};

/* Searches for key (hash h) from the top table down: 1 found (*hit), 0
 * absent (*where says where it would go), or CACHE_E_CORRUPT.  Lock-free,
 * never writes to the file. */
int ctrie_search(struct cache *c, const unsigned char *key, size_t len,
		 uint64_t h, struct ctrie_hit *hit, struct ctrie_pos *where);

/* The level-4 index word of hash h, or NULL when the index is not in use,
 * or the word's piece is not there or damaged.  Signal-safe. */
_Atomic uint64_t *ctrie_l4_word(struct cache *c, uint64_t h);

/* Makes the index word of hash h complete (see the top), given the
 * level-4 I-node at x4 that a search walked to through the trie: a piece
 * of the index allocated if need be, the I-node's main word marked.
 * Gives up quietly on a full arena, damage, or a busy I-node.  Lock-free,
 * signal-safe. */
void ctrie_l4_mark(struct cache *c, shm_offt x4, uint64_t h);

/* Before the CAS that puts a key of hash h into an unused slot under a
 * marked level-4 main word: adds that slot to the index word.
 * Signal-safe. */
void ctrie_l4_note(struct cache *c, uint64_t h);

/* Puts the index to use once the cache counts entries keys
 * (CTRIE_L4_FROM): the insert that first sees that many allocates its
 * pieces (l4_switch_on in ctrie_l4.c).  Signal-safe. */
void ctrie_l4_count(struct cache *c, uint64_t entries);

/* Walks the trie: the bytes of every reachable node (blocks; S-nodes at
 * their carved size), and the sum of the hit counters.  CACHE_OK or
 * CACHE_E_CORRUPT. */
int ctrie_walk_totals(struct cache *c, uint64_t *live_bytes,
		      uint64_t *records);

/* Counts a new key and puts its S-node sn in the ring of recent inserts,
 * at the slot given by the entry count before this one (one shared RMW for
 * both); returns the count with this key.  Signal-safe. */
uint64_t ctrie_recent_push(struct ctrie_header *H, shm_offt sn);

/* Registers, once per process, the fork handlers behind ctrie_forks (at
 * attach; not signal-safe). */
void ctrie_fork_watch(void);

/* How many forks made this process and its ancestors, each counted in the
 * child it made, since the handler was registered.  A record that sees it
 * change since it began (in a child forked in the middle of it) counts
 * nothing.  Signal-safe. */
unsigned long ctrie_forks(void);

/* Marks the handle broken and returns CACHE_E_CORRUPT; or, when the file
 * has grown past this process's prefix mapping (an address-space limit),
 * returns CACHE_E_UNMAPPED and leaves the handle sound: the offset that
 * failed its check may lie in the part not mapped. */
int ctrie_corrupt(struct cache *c);

/* A hit on S-node cs: merges ops into its operation word and counts one
 * record.  Inline: every record ends here (the shim's hinted hit too). */
static inline void ctrie_snode_merge(const struct ctrie_snode *cs,
				     uint64_t ops)
{
	struct ctrie_snode *s = (struct ctrie_snode *)cs;
	/* relaxed: the value words are independent statistics.  Reading
	 * first keeps an already-set word from bouncing between caches. */
	if ((atomic_load_explicit(&s->ops, memory_order_relaxed) & ops) != ops)
		atomic_fetch_or_explicit(&s->ops, ops, memory_order_relaxed);
	atomic_fetch_add_explicit(&s->count, 1, memory_order_relaxed);
}

/* Fills e from an S-node of key length len. */
void ctrie_entry_of(const struct ctrie_snode *s, size_t len,
		    struct cache_entry *e);

#endif /* CTRIE_LAYOUT_H */
