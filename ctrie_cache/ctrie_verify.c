/*
 * ctrie_verify.c - cache_verify: checks every invariant of the trie.
 *
 * Walks from each slot of the top table with the depth bounded by the
 * number of hash levels,
 * checks each offset (bounds, alignment, kind, level, hash prefix), each
 * C-node's bitmap against the extent its popcount implies, each S-node's
 * length and the hash of its key against the slot it sits in, each L-node's
 * keys (one full hash, no key twice), and that no node is reached twice
 * or overlaps another (a bitmap over the arena, one bit per 8 bytes of
 * every node).  Then the level-4 index (each complete word names the
 * level-4 I-node of its prefix, marked, with all its slots), that the
 * carve cursor and the next chunk hand out no
 * live node, the ring of recent inserts, and the entry count.
 *
 * Not async-signal-safe: it allocates the visited bitmap with calloc and
 * formats its reports with snprintf.  It is meant for the CLI.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "ctrie_layout.h"

struct vctx {
	struct cache *c;
	cache_report_fn report;
	void *arg;
	long problems;
	unsigned char *seen;
	uint64_t entries;
	uint64_t key_bytes;
};

__attribute__((format(printf, 2, 3)))
static void problem(struct vctx *v, const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	v->problems++;
	if (v->report == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	v->report(buf, v->arg);
}

static bool seen(const struct vctx *v, shm_offt off)
{
	size_t i = (size_t)(off - SHM_NULL_REGION_SIZE) / 8;
	return (v->seen[i / 8] >> (i % 8)) & 1u;
}

static void set_seen(struct vctx *v, shm_offt off)
{
	size_t i = (size_t)(off - SHM_NULL_REGION_SIZE) / 8;
	v->seen[i / 8] |= (unsigned char)(1u << (i % 8));
}

/* Marks the size bytes of the node at off (checked to lie in one block of
 * the arena) as visited, 8 at a time; false (and a report) if any of them
 * was already: the node reached twice, or overlapping another.  Whole
 * extents, not starts: S-nodes are carved side by side, and the carve
 * cursor must not point into any live node (check_carve). */
static bool mark(struct vctx *v, shm_offt off, size_t size, const char *kind)
{
	size_t u;
	if (seen(v, off)) {
		problem(v, "%s at %" PRIu_shm_offt " reached twice (shared "
			"node or cycle)", kind, off);
		return false;
	}
	for (u = 8; u < size; u += 8) {
		if (seen(v, off + u)) {
			problem(v, "%s at %" PRIu_shm_offt " overlaps another "
				"node", kind, off);
			return false;
		}
	}
	for (u = 0; u < size; u += 8)
		set_seen(v, off + u);
	return true;
}

/* Explains why a tree node (I- or C-node) at off is refused. */
static void bad_tree_node(struct vctx *v, shm_offt off, unsigned tag,
			  unsigned level, uint64_t prefix, const char *kind)
{
	const uint32_t *p = ctrie_at(v->c, off, sizeof(uint32_t));
	uint32_t hdr;

	if (p == NULL) {
		problem(v, "%s offset %" PRIu_shm_offt " out of bounds or "
			"misaligned (level %u)", kind, off, level);
		return;
	}
	hdr = CTRIE_LOAD(*p);
	if (CTRIE_TAG(hdr) != tag)
		problem(v, "%s at %" PRIu_shm_offt " has tag 0x%02x",
			kind, off, (unsigned)CTRIE_TAG(hdr));
	else if (CTRIE_LEVEL(hdr) != level)
		problem(v, "%s at %" PRIu_shm_offt " has level %u, expected %u",
			kind, off, (unsigned)CTRIE_LEVEL(hdr), level);
	else if (hdr != ctrie_tree_hdr(tag, level, prefix))
		problem(v, "%s at %" PRIu_shm_offt " (level %u): hash prefix "
			"does not match its place", kind, off, level);
	else
		problem(v, "%s at %" PRIu_shm_offt " (level %u): bitmap or "
			"extent out of bounds", kind, off, level);
}

/* Checks the S-node at off, whose key must hash into prefix below level
 * (level 13: the whole hash).  Returns it or NULL. */
static const struct ctrie_snode *check_snode(struct vctx *v, shm_offt off,
					     unsigned level, uint64_t prefix,
					     size_t *len)
{
	const struct ctrie_snode *s = ctrie_snode_at(v->c, off, len);
	if (s == NULL) {
		problem(v, "S-node at %" PRIu_shm_offt " is damaged (tag, "
			"length or extent)", off);
		return NULL;
	}
	if (!mark(v, off, CTRIE_SNODE_HDR + *len, "S-node"))
		return NULL;
	if (ctrie_prefix(ctrie_hash(s->key, *len), level) != prefix)
		problem(v, "S-node at %" PRIu_shm_offt " (key length %zu): "
			"key hash does not match its place", off, *len);
	v->entries++;
	v->key_bytes += *len;
	return s;
}

static void check_lnode(struct vctx *v, shm_offt off, unsigned level,
			uint64_t prefix)
{
	size_t n, i, j, len[CTRIE_LNODE_MAX];
	uint64_t lh;
	const struct ctrie_snode *s[CTRIE_LNODE_MAX];
	const struct ctrie_lnode *ln = ctrie_lnode_at(v->c, off, &n, &lh);

	if (ln == NULL) {
		problem(v, "L-node at %" PRIu_shm_offt " is damaged", off);
		return;
	}
	if (!mark(v, off, ctrie_lnode_size(n), "L-node"))
		return;
	if (ctrie_prefix(lh, level) != prefix)
		problem(v, "L-node at %" PRIu_shm_offt ": hash does not match "
			"its place", off);
	for (i = 0; i < n; i++) {
		s[i] = check_snode(v, CTRIE_LOAD(ln->snode[i]), CTRIE_MAX_LEVEL + 1,
				   lh, &len[i]);
		for (j = 0; s[i] != NULL && j < i; j++)
			if (s[j] != NULL && len[j] == len[i] &&
			    memcmp(s[j]->key, s[i]->key, len[i]) == 0)
				problem(v, "L-node at %" PRIu_shm_offt " holds "
					"one key twice", off);
	}
}

static void check_inode(struct vctx *v, shm_offt off, unsigned level,
			uint64_t prefix);

/* Checks the C-node that main word ref names, of level level and hash
 * prefix prefix, and everything below it. */
static void check_cnode(struct vctx *v, uint32_t ref, unsigned level,
			uint64_t prefix)
{
	const shm_offt m = ctrie_ref_off(ref);
	const struct ctrie_cnode *cn;
	uint32_t bm, rest;
	unsigned i;

	cn = ctrie_cnode_at(v->c, m, level, prefix, &bm);
	if (cn == NULL) {
		bad_tree_node(v, m, TAG_CNODE, level, prefix, "C-node");
		return;
	}
	if (!mark(v, m, ctrie_cnode_size(ctrie_popcount(bm)), "C-node"))
		return;
	/* an empty top slot is 0, never an empty C-node */
	if (bm == 0)
		problem(v, "C-node at %" PRIu_shm_offt " (level %u) is empty",
			m, level);
	for (i = 0, rest = bm; rest != 0; i++, rest &= rest - 1) {
		unsigned idx = (unsigned)__builtin_ctz(rest);
		uint64_t p = prefix | (uint64_t)idx << (CTRIE_BITS * level);
		shm_offt ch = ctrie_ref_off(CTRIE_LOAD(cn->child[i]));
		size_t len;

		switch (ctrie_tag_at(v->c, ch)) {
		case TAG_SNODE:
			check_snode(v, ch, level + 1, p, &len);
			break;
		case TAG_LNODE:
			check_lnode(v, ch, level + 1, p);
			break;
		case TAG_INODE:
			if (level >= CTRIE_MAX_LEVEL)
				problem(v, "I-node below the last level at %"
					PRIu_shm_offt, ch);
			else
				check_inode(v, ch, level + 1, p);
			break;
		default:
			problem(v, "child %u of C-node at %" PRIu_shm_offt
				" (level %u) is not a node (offset %"
				PRIu_shm_offt ")", i, m, level, ch);
		}
	}
}

static void check_inode(struct vctx *v, shm_offt off, unsigned level,
			uint64_t prefix)
{
	const struct ctrie_inode *in = ctrie_inode_at(v->c, off, level, prefix);
	uint32_t raw;

	if (in == NULL) {
		bad_tree_node(v, off, TAG_INODE, level, prefix, "I-node");
		return;
	}
	if (!mark(v, off, sizeof *in, "I-node"))
		return;
	/* acquire: see ctrie_search in ctrie_core.c */
	raw = atomic_load_explicit(&in->main, memory_order_acquire);
	if (ctrie_main_ref(raw, level) != raw && level != CTRIE_L4_LEVEL)
		problem(v, "I-node at %" PRIu_shm_offt " (level %u) carries "
			"the level-4 mark", off, level);
	check_cnode(v, ctrie_main_ref(raw, level), level, prefix);
}

static void check_top(struct vctx *v, struct ctrie_header *H)
{
	uint32_t i;
	for (i = 0; i < CTRIE_TOP_SLOTS; i++) {
		uint32_t ref = ctrie_top_load(H, i);
		if (ref != 0)
			check_cnode(v, ref, CTRIE_TOP_LEVEL, i);
	}
}

/* Word i of the level-4 index, read after the walk: a complete word names
 * the level-4 I-node of its prefix that the walk met, whose main word
 * carries the mark and whose C-node's slots are all in the word. */
static void check_l4_word(struct vctx *v, _Atomic uint64_t *word,
			  uint32_t i)
{
	/* acquire: see ctrie_search in ctrie_core.c */
	const uint32_t ref = ctrie_l4_ref(
		atomic_load_explicit(word, memory_order_acquire));
	const shm_offt x = ctrie_ref_off(ref);
	const struct ctrie_inode *I;
	uint32_t raw, bm;

	if (ref == 0)
		return;
	I = ctrie_inode_at(v->c, x, CTRIE_L4_LEVEL, i);
	if (I == NULL || !seen(v, x)) {
		problem(v, "level-4 index word %" PRIu32 " names no level-4 "
			"I-node of its prefix in the trie (%" PRIu_shm_offt ")",
			i, x);
		return;
	}
	/* acquire: the main word first, so that every slot in its C-node
	 * was added to the word before (ctrie_l4_note) */
	raw = atomic_load_explicit(&I->main, memory_order_acquire);
	if ((raw & CTRIE_MAIN_MARK) == 0)
		problem(v, "level-4 index word %" PRIu32 ": its I-node at %"
			PRIu_shm_offt " is not marked", i, x);
	if (ctrie_cnode_at(v->c, ctrie_ref_off(ctrie_main_ref(raw,
							       CTRIE_L4_LEVEL)),
			   CTRIE_L4_LEVEL, i, &bm) != NULL &&
	    (bm & ~ctrie_l4_bits(atomic_load_explicit(
			  word, memory_order_acquire))) != 0)
		problem(v, "level-4 index word %" PRIu32 " lacks slots in use "
			"under its I-node at %" PRIu_shm_offt, i, x);
}

/* The level-4 index: its pieces (blocks the trie does not use) and its
 * complete words. */
static void check_l4(struct vctx *v, struct ctrie_header *H)
{
	uint32_t p, j;

	if (H->l4_on > 2)
		problem(v, "cache header: l4_on is %" PRIu32, H->l4_on);
	for (p = 0; CTRIE_L4_BUILT && p < CTRIE_L4_PIECES; p++) {
		/* acquire: see ctrie_l4_word */
		const uint32_t ref = atomic_load_explicit(
			&H->l4_dir[p], memory_order_acquire);
		const shm_offt off = ctrie_ref_off(ref);
		_Atomic uint64_t *piece;

		if (ref == 0)
			continue;
		if (!ctrie_off_ok(v->c, off) ||
		    (off & (CTRIE_L4_PIECE - 1)) != 0) {
			problem(v, "level-4 index piece %" PRIu32 " at %"
				PRIu_shm_offt " is not a largest block of the "
				"arena", p, off);
			continue;
		}
		if (!mark(v, off, CTRIE_L4_PIECE, "level-4 index piece"))
			continue;
		piece = SHM_ARENA_ADDR(&v->c->arena, off);
		for (j = 0; j < CTRIE_L4_PER_PIECE; j++)
			check_l4_word(v, &piece[j],
				      p * (uint32_t)CTRIE_L4_PER_PIECE + j);
	}
}

/* The offsets of the recent ring, read before the walk: each was stored
 * after the CAS that linked its node, so every node they name was in the
 * trie when the walk started and must have been seen. */
struct snapshot {
	shm_offt recent[CTRIE_RECENT];
};

static void take_snapshot(struct snapshot *sn, struct ctrie_header *H)
{
	unsigned i;
	/* acquire: pairs with the release stores of the writers */
	for (i = 0; i < CTRIE_RECENT; i++)
		sn->recent[i] = atomic_load_explicit(&H->recent[i],
						     memory_order_acquire);
}

/* Bytes [from, end) are handed to the next S-nodes by what (named off):
 * no node met by the walk may lie there. */
static void check_unused(struct vctx *v, const char *what, shm_offt off,
			 shm_offt from, shm_offt end)
{
	shm_offt u;

	for (u = from; u < end; u += 8) {
		if (seen(v, u)) {
			problem(v, "%s %" PRIu_shm_offt " would hand out the "
				"node at %" PRIu_shm_offt, what, off, u);
			return;
		}
	}
}

/* The carve cursor, read after the walk: its chunk's bytes from it on. */
static void check_carve(struct vctx *v, shm_offt at)
{
	const size_t used = (size_t)(at & (CTRIE_CHUNK - 1));

	if (used == 0) /* none yet, or the chunk is used up */
		return;
	if (!ctrie_off_ok(v->c, at) || (at & (CTRIE_REF_UNIT - 1)) != 0)
		problem(v, "carve cursor %" PRIu_shm_offt " is not a reserved "
			"offset of the arena", at);
	else
		check_unused(v, "carve cursor", at, at, at - used + CTRIE_CHUNK);
}

/* The next chunk, read after the walk: all of it, unless it is the chunk
 * the cursor at is in (its mover died before clearing it). */
static void check_next(struct vctx *v, uint64_t w, shm_offt at)
{
	const shm_offt n = ctrie_next_chunk(w);

	if (n == SHM_NULL || n == ctrie_cursor_chunk(at))
		return;
	if (!ctrie_off_ok(v->c, n))
		problem(v, "next chunk %" PRIu_shm_offt " is not a reserved "
			"offset of the arena", n);
	else
		check_unused(v, "next chunk", n, n, n + CTRIE_CHUNK);
}

static void check_recent(struct vctx *v, const struct snapshot *sn)
{
	unsigned i;
	for (i = 0; i < CTRIE_RECENT; i++) {
		shm_offt off = sn->recent[i];
		size_t len;
		if (off != SHM_NULL && (ctrie_snode_at(v->c, off, &len) == NULL ||
					!seen(v, off)))
			problem(v, "recent slot %u: not an S-node of the trie",
				i);
	}
}

long cache_verify(struct cache *c, cache_report_fn report, void *arg)
{
	struct vctx v = { c, report, arg, 0, NULL, 0, 0 };
	struct ctrie_header *H;
	struct snapshot *sn;
	uint64_t entries, key_bytes;
	uint32_t policy;

	if (c == NULL || c->hdr == NULL) {
		problem(&v, "no cache attached");
		return v.problems;
	}
	H = ctrie_hdr(c);
	if (atomic_load(&H->state) != CTRIE_MAGIC ||
	    H->version != CTRIE_FORMAT_VERSION || H->header_size != sizeof *H ||
	    H->max_key != CACHE_KEY_MAX || H->level_bits != CTRIE_BITS ||
	    H->top_level != CTRIE_TOP_LEVEL)
		problem(&v, "cache header: bad magic, version or settings");
	/* relaxed: a check of one word; its writer orders it after the block */
	policy = atomic_load_explicit(&H->policy, memory_order_relaxed);
	if (policy != 0 && policy != CTRIE_POLICY_PRESENT)
		problem(&v, "cache header: bad policy word");
	/* Blocks in use past a prefix mapping cannot be checked here: an
	 * offset there would read as damage that is not in the file. */
	if (shm_arena_beyond_mapping(&c->arena))
		return CACHE_E_UNMAPPED;
	v.seen = calloc(MAX_ALLOCATABLE_SHM_SIZE / 64 + 1, 1);
	sn = malloc(sizeof *sn);
	if (v.seen == NULL || sn == NULL) {
		free(v.seen);
		free(sn);
		return CACHE_E_NOMEM;
	}
	/* The counters are read before the walk too.  They are bumped after
	 * the CAS that inserts, so they count keys present at the start of
	 * the walk, all of which it meets; an inserter killed between its
	 * CAS and the counter leaves them behind the trie, never ahead. */
	entries = atomic_load(&H->entries);
	key_bytes = atomic_load(&H->key_bytes);
	take_snapshot(sn, H);
	check_top(&v, H);
	check_l4(&v, H);
	check_carve(&v, atomic_load(&H->carve));
	check_next(&v, atomic_load(&H->next_chunk), atomic_load(&H->carve));
	check_recent(&v, sn);
	free(sn);
	if (entries > v.entries)
		problem(&v, "header counts %llu entries, the trie holds %llu",
			(unsigned long long)entries,
			(unsigned long long)v.entries);
	if (key_bytes > v.key_bytes)
		problem(&v, "header counts %llu key bytes, the trie holds %llu",
			(unsigned long long)key_bytes,
			(unsigned long long)v.key_bytes);
	free(v.seen);
	return v.problems;
}
