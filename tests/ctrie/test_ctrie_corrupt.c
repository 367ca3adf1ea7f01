/*
 * test_ctrie_corrupt.c - damaged cache files: random bytes flipped, offsets
 * pointed out of range, misaligned or at the wrong kind of node, cycles,
 * bad lengths, a bad header, a garbage top table and ring.  lookup, record,
 * iterate and verify must return errors (or right answers) and never crash
 * or hang; run under ASan+UBSan by scripts/test.sh.  Images live in memory
 * (cache_attach_memory) in an 8 MiB arena, copied afresh for every case.
 */
#include <criterion/criterion.h>

#include "ctrie_test_util.h"

TestSuite(ctrie, .timeout = 120);

#define NKEYS 3000

static unsigned char *pristine, *img;
static size_t img_size;
static struct cache C;

static size_t key_of(char *k, unsigned i)
{
	return (size_t)sprintf(k, "/usr/share/doc/pkg%u/file%u", i % 173, i);
}

static void make_images(void)
{
	char k[64];
	unsigned i;

	img_size = get_mapping_size_needed_by_shm();
	pristine = aligned_alloc(64, img_size);
	img = aligned_alloc(64, img_size);
	cr_assert(pristine && img);
	cr_assert_eq(cache_attach_memory(&C, pristine, img_size,
					 CACHE_ATTACH_CREATE), CACHE_OK,
		     "arena_err %d", C.arena_err);
	for (i = 0; i < NKEYS; i++)
		cr_assert_eq(cache_record(&C, k, key_of(k, i), CACHE_OP_READ),
			     CACHE_OK);
	cr_assert_eq(cache_verify(&C, print_problem, NULL), 0);
	cache_detach(&C);
}

static void free_images(void)
{
	free(pristine);
	free(img);
}

/* A fresh copy of the pristine image, attached. */
static void fresh(void)
{
	memcpy(img, pristine, img_size);
	cr_assert_eq(cache_attach_memory(&C, img, img_size, 0), CACHE_OK);
}

static void quiet(const char *p, void *arg)
{
	(void)p;
	++*(long *)arg;
}

struct exercise {
	long lookups_corrupt, lookups_found, records_corrupt, problems;
	int iterate;
};

static int count_visit(const struct cache_entry *e, void *arg)
{
	(void)e;
	++*(long *)arg;
	return 0;
}

/* Everything the API offers, on whatever the image holds now. */
static struct exercise exercise(void)
{
	struct exercise x = { 0, 0, 0, 0, 0 };
	struct cache_entry e[8];
	struct cache_stats st;
	char k[64];
	long n = 0, reported = 0;
	unsigned i;

	for (i = 0; i < NKEYS; i++) {
		int r = cache_lookup(&C, k, key_of(k, i), NULL);
		cr_assert(r == 0 || r == 1 || r == CACHE_E_CORRUPT, "lookup %d", r);
		x.lookups_corrupt += r == CACHE_E_CORRUPT;
		x.lookups_found += r == 1;
	}
	x.iterate = cache_iterate(&C, count_visit, &n);
	cr_assert(x.iterate == CACHE_OK || x.iterate == CACHE_E_CORRUPT);
	x.problems = cache_verify(&C, quiet, &reported);
	cr_assert_eq(x.problems, reported);
	cache_stats(&C, &st, true);
	cache_recent(&C, e, 8);
	/* forget what the reads found, so that the records meet the damage
	 * themselves rather than stop at the handle's flag */
	atomic_store(&C.broken, 0);
	for (i = 0; i < NKEYS; i += 37) {
		int r = cache_record(&C, k, key_of(k, i * 7 + 1), CACHE_OP_STAT);
		x.records_corrupt += r == CACHE_E_CORRUPT;
	}
	cache_verify(&C, quiet, &reported);
	return x;
}

/* The slot of the C-node that holds key i's leaf; *word is the main word
 * that names that C-node, *owner the I-node holding it (SHM_NULL for a
 * word of the top table) and *level its level. */
static uint32_t *leaf_slot(unsigned i, _Atomic uint32_t **word,
			   shm_offt *owner, unsigned *level)
{
	char k[64];
	size_t len = key_of(k, i);
	uint64_t h = ctrie_hash(k, len);
	_Atomic uint32_t *w = ctrie_top_word(ctrie_hdr(&C), h);
	shm_offt in = SHM_NULL;
	unsigned l;

	for (l = CTRIE_TOP_LEVEL; l <= CTRIE_MAX_LEVEL; l++) {
		struct ctrie_cnode *cn = SHM_ARENA_ADDR(
			&C.arena, ctrie_ref_off(atomic_load(w)));
		uint32_t bit = 1u << ctrie_index(h, l);
		uint32_t *slot = &cn->child[ctrie_popcount(cn->bitmap & (bit - 1))];
		if (ctrie_tag_at(&C, ctrie_ref_off(*slot)) != TAG_INODE) {
			*word = w;
			*owner = in;
			*level = l;
			return slot;
		}
		in = ctrie_ref_off(*slot);
		w = &((struct ctrie_inode *)SHM_ARENA_ADDR(&C.arena, in))->main;
	}
	cr_assert_fail("no leaf for key %u", i);
	return NULL;
}

/* The first key from i on whose leaf lies below the top table's level (in
 * a C-node of an I-node), in a fresh image. */
static unsigned deep_key(unsigned i)
{
	_Atomic uint32_t *w;
	shm_offt owner;
	unsigned level;

	fresh();
	for (; i < NKEYS; i++) {
		leaf_slot(i, &w, &owner, &level);
		if (level > CTRIE_TOP_LEVEL)
			break;
	}
	cache_detach(&C);
	cr_assert_lt(i, NKEYS, "no key below the top level");
	return i;
}

static void assert_detected(const char *what, unsigned key)
{
	char k[64];
	struct exercise x;
	cr_assert_eq(cache_lookup(&C, k, key_of(k, key), NULL), CACHE_E_CORRUPT,
		     "%s: lookup not refused", what);
	cr_assert_eq(atomic_load(&C.broken), 1);
	cr_assert_eq(cache_record(&C, k, key_of(k, key), CACHE_OP_READ),
		     CACHE_E_CORRUPT);
	x = exercise();
	cr_assert_eq(x.iterate, CACHE_E_CORRUPT, "%s: iterate", what);
	cr_assert_gt(x.problems, 0, "%s: verify found nothing", what);
	cache_detach(&C);
}

Test(ctrie, offsets_out_of_range_misaligned_or_wrong_kind,
     .init = make_images, .fini = free_images)
{
	static const struct {
		const char *what;
		shm_offt off;
	} bad[] = {
		{ "null", SHM_NULL },
		{ "inside the null region", 4096 },
		{ "beyond the arena", SHM_NULL_REGION_SIZE + MAX_ALLOCATABLE_SHM_SIZE },
		{ "far beyond", SHM_OFFT_MAX - 7 },
		{ "unused block", SHM_NULL_REGION_SIZE + MAX_ALLOCATABLE_SHM_SIZE - 1024 },
	};
	unsigned i, key;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		_Atomic uint32_t *w;
		shm_offt owner;
		unsigned level;
		key = 11 + i * 101;
		fresh();
		*leaf_slot(key, &w, &owner, &level) = ctrie_ref_of(bad[i].off);
		assert_detected(bad[i].what, key);
		/* the same offset in the key's main word (0 is an empty slot
		 * of the top table: the key is then absent, not damaged) */
		if (bad[i].off == SHM_NULL)
			continue;
		fresh();
		leaf_slot(key, &w, &owner, &level);
		atomic_store(w, ctrie_ref_of(bad[i].off));
		assert_detected(bad[i].what, key);
	}
	/* a child that is a C-node (the one that holds it) */
	{
		_Atomic uint32_t *w;
		shm_offt owner;
		uint32_t *s;
		unsigned level;
		fresh();
		s = leaf_slot(5, &w, &owner, &level);
		*s = atomic_load(w);
		assert_detected("C-node as child", 5);
	}
	/* a main word that names an S-node (the key's own) */
	{
		_Atomic uint32_t *w;
		shm_offt owner;
		uint32_t *s;
		unsigned level;
		fresh();
		s = leaf_slot(7, &w, &owner, &level);
		atomic_store(w, *s);
		assert_detected("S-node as main", 7);
	}
}

Test(ctrie, cycles, .init = make_images, .fini = free_images)
{
	_Atomic uint32_t *w;
	shm_offt owner;
	uint32_t *s;
	unsigned level, key;
	struct ctrie_inode *I;

	/* a leaf slot pointing back at its own I-node */
	key = deep_key(17);
	fresh();
	s = leaf_slot(key, &w, &owner, &level);
	*s = ctrie_ref_of(owner);
	assert_detected("slot -> own I-node", key);
	/* a top word naming another slot's C-node */
	fresh();
	leaf_slot(23, &w, &owner, &level);
	{
		uint32_t j, ref = 0;
		for (j = 0; j < CTRIE_TOP_SLOTS && ref == 0; j++)
			if (&ctrie_hdr(&C)->top[j] != w)
				ref = atomic_load(&ctrie_hdr(&C)->top[j]);
		cr_assert_neq(ref, 0);
		atomic_store(w, ref);
	}
	assert_detected("top word -> another slot's C-node", 23);
	/* an I-node whose main is itself */
	key = deep_key(29);
	fresh();
	s = leaf_slot(key, &w, &owner, &level);
	I = SHM_ARENA_ADDR(&C.arena, owner);
	atomic_store(&I->main, ctrie_ref_of(owner));
	assert_detected("main -> itself", key);
	/* an I-node's main word cleared (only a top slot may be empty) */
	key = deep_key(37);
	fresh();
	s = leaf_slot(key, &w, &owner, &level);
	atomic_store(w, 0);
	assert_detected("I-node main 0", key);
	/* a child I-node relabelled one level up */
	key = deep_key(31);
	fresh();
	s = leaf_slot(key, &w, &owner, &level);
	I = SHM_ARENA_ADDR(&C.arena, owner);
	I->hdr = ctrie_tree_hdr(TAG_INODE, level - 1, 0);
	assert_detected("relabelled I-node", key);
}

Test(ctrie, bad_lengths_and_header, .init = make_images, .fini = free_images)
{
	_Atomic uint32_t *w;
	shm_offt owner;
	uint32_t *s;
	unsigned level;
	struct ctrie_snode *sn;
	struct ctrie_header *H;

	fresh();
	s = leaf_slot(41, &w, &owner, &level);
	sn = SHM_ARENA_ADDR(&C.arena, ctrie_ref_off(*s));
	sn->hdr = TAG_SNODE | 0xffffffu << 8;
	assert_detected("S-node length", 41);

	fresh();
	s = leaf_slot(43, &w, &owner, &level);
	sn = SHM_ARENA_ADDR(&C.arena, ctrie_ref_off(*s));
	sn->hdr = TAG_LNODE | 1u << 8;
	assert_detected("S-node tagged L-node", 43);

	fresh();
	leaf_slot(47, &w, &owner, &level);
	{
		struct ctrie_cnode *cn = SHM_ARENA_ADDR(
			&C.arena, ctrie_ref_off(atomic_load(w)));
		cn->bitmap = 0xffffffffu; /* popcount beyond the block */
	}
	cache_detach(&C);
	cr_assert_eq(cache_attach_memory(&C, img, img_size, 0), CACHE_OK);
	exercise();
	cache_detach(&C);

	/* header: top level, version, magic */
	memcpy(img, pristine, img_size);
	cr_assert_eq(shm_arena_from_memory(&C.arena, img, img_size, false), SHM_OK);
	H = shm_arena_client_area(&C.arena);
	H->top_level = CTRIE_TOP_LEVEL - 1;
	cr_assert_eq(cache_attach_memory(&C, img, img_size, 0), CACHE_E_VERSION);
	H->top_level = CTRIE_TOP_LEVEL;
	H->version = 99;
	cr_assert_eq(cache_attach_memory(&C, img, img_size, 0), CACHE_E_VERSION);
	atomic_store(&H->state, 12345);
	cr_assert_eq(cache_attach_memory(&C, img, img_size, 0), CACHE_E_NOTCACHE);

	/* the policy word: 0 or CTRIE_POLICY_PRESENT, anything else reported */
	{
		long n = 0;

		fresh();
		atomic_store(&H->policy, 77u);
		cr_expect_gt(cache_verify(&C, quiet, &n), 0, "policy word 77");
		atomic_store(&H->policy, CTRIE_POLICY_PRESENT);
		n = 0;
		cr_expect_eq(cache_verify(&C, quiet, &n), 0,
			     "policy word set: not damage");
		cache_detach(&C);
	}
}

Test(ctrie, garbage_ring, .init = make_images, .fini = free_images)
{
	struct ctrie_header *H;
	uint64_t seed = 77;
	unsigned i;
	struct exercise x;
	struct cache_entry e[CTRIE_RECENT];

	fresh();
	H = ctrie_hdr(&C);
	for (i = 0; i < CTRIE_RECENT; i++)
		atomic_store(&H->recent[i], (shm_offt)test_rand(&seed));
	cache_recent(&C, e, CTRIE_RECENT);
	x = exercise();
	/* the trie itself is sound: the ring is only advisory */
	cr_assert_eq(x.lookups_found, NKEYS);
	cr_assert_eq(x.iterate, CACHE_OK);
	cr_assert_gt(x.problems, 0);
	cache_detach(&C);
}

Test(ctrie, garbage_top_table, .init = make_images, .fini = free_images)
{
	struct ctrie_header *H;
	uint64_t seed = 78;
	unsigned i;
	struct exercise x;

	fresh();
	H = ctrie_hdr(&C);
	/* any reference, and then some into the nodes' blocks */
	for (i = 0; i < CTRIE_TOP_SLOTS; i++)
		atomic_store(&H->top[i], (uint32_t)test_rand(&seed));
	for (i = 0; i < CTRIE_TOP_SLOTS; i += 2)
		atomic_store(&H->top[i],
			     ctrie_ref_of(SHM_NULL_REGION_SIZE +
					  test_rand(&seed) % (1u << 20)));
	x = exercise();
	cr_assert_gt(x.lookups_corrupt, 0);
	cr_assert_eq(x.iterate, CACHE_E_CORRUPT);
	cr_assert_gt(x.problems, 0);
	cr_assert_gt(x.records_corrupt, 0);
	cache_detach(&C);
}

static shm_offt dag_node(size_t size)
{
	shm_offt off = shm_arena_malloc(&C.arena, size);
	cr_assert_neq(off, SHM_NULL);
	return off;
}

/* Below one key's top slot, every C-node of levels 4-11 is full and all
 * its children name the one I-node below (the header's 20 prefix bits
 * cannot tell them apart from level 5 on), down to a level-12 C-node of 16
 * children naming one S-node: 32^8 * 16 paths through 18 nodes.  A walk
 * that followed them all would take days (the test's timeout fails it). */
Test(ctrie, shared_nodes_do_not_make_the_walk_endless, .init = make_images,
     .fini = free_images)
{
	char k[64];
	size_t len;
	uint64_t h;
	struct cache_entry e;
	struct cache_stats st;
	struct ctrie_cnode *cn;
	shm_offt sn, below;
	unsigned l, i;
	long n = 0;

	fresh();
	len = key_of(k, 3);
	h = ctrie_hash(k, len);
	cr_assert_eq(cache_lookup(&C, k, len, &e), 1);
	sn = (shm_offt)((const unsigned char *)e.key - CTRIE_SNODE_HDR -
			(const unsigned char *)SHM_ARENA_ADDR(&C.arena, 0));
	below = dag_node(ctrie_cnode_size(16));
	cn = SHM_ARENA_ADDR(&C.arena, below);
	cn->hdr = ctrie_tree_hdr(TAG_CNODE, CTRIE_MAX_LEVEL, h);
	cn->bitmap = 0xffffu;
	for (i = 0; i < 16; i++)
		cn->child[i] = ctrie_ref_of(sn);
	for (l = CTRIE_MAX_LEVEL; l > CTRIE_TOP_LEVEL; l--) {
		shm_offt io = dag_node(sizeof(struct ctrie_inode));
		struct ctrie_inode *in = SHM_ARENA_ADDR(&C.arena, io);
		unsigned kids = l - 1 == CTRIE_TOP_LEVEL ? 1 : 32;

		in->hdr = ctrie_tree_hdr(TAG_INODE, l, h);
		atomic_store(&in->main, ctrie_ref_of(below));
		below = dag_node(ctrie_cnode_size(kids));
		cn = SHM_ARENA_ADDR(&C.arena, below);
		cn->hdr = ctrie_tree_hdr(TAG_CNODE, l - 1, h);
		cn->bitmap = kids == 1 ? 1u << ctrie_index(h, l - 1) : 0xffffffffu;
		for (i = 0; i < kids; i++)
			cn->child[i] = ctrie_ref_of(io);
	}
	atomic_store(ctrie_top_word(ctrie_hdr(&C), h), ctrie_ref_of(below));
	cr_assert_gt(cache_verify(&C, NULL, NULL), 0);
	cr_assert_eq(cache_iterate(&C, count_visit, &n), CACHE_E_CORRUPT);
	cr_assert_eq(cache_stats(&C, &st, true), CACHE_E_CORRUPT);
	cache_detach(&C);
}

Test(ctrie, random_bytes_flipped, .init = make_images, .fini = free_images)
{
	const char *env = getenv("CTRIE_FLIP_ROUNDS");
	unsigned rounds = env ? (unsigned)atoi(env) : 300, r, j;
	uint64_t seed = 0xdecafbadu;
	long detected = 0;
	struct shm_stats st;
	size_t used, client, base;

	fresh();
	cr_assert_eq(shm_arena_stats(&C.arena, &st), SHM_OK);
	used = st.max_blocks_touched << MAX_ALLOC_POW2;
	client = (size_t)((unsigned char *)shm_arena_client_area(&C.arena) - img);
	base = (size_t)(C.arena.base - img) + SHM_NULL_REGION_SIZE;
	cache_detach(&C);
	for (r = 0; r < rounds; r++) {
		unsigned flips = 1 + (unsigned)(test_rand(&seed) % 16);
		memcpy(img, pristine, img_size);
		for (j = 0; j < flips; j++) {
			size_t at;
			if (test_rand(&seed) % 16 == 0)	/* its first lines */
				at = client + test_rand(&seed) % 256;
			else if (test_rand(&seed) % 16 == 0)	/* top table */
				at = client +
				     offsetof(struct ctrie_header, top) +
				     test_rand(&seed) %
					     sizeof ctrie_hdr(&C)->top;
			else				/* the nodes */
				at = base + test_rand(&seed) % used;
			img[at] ^= (unsigned char)(1u << (test_rand(&seed) % 8));
		}
		if (cache_attach_memory(&C, img, img_size, 0) != CACHE_OK)
			continue;
		detected += exercise().problems > 0;
		cache_detach(&C);
	}
	cr_assert_gt(detected, rounds / 4, "only %ld of %u rounds detected",
		     detected, rounds);
}
