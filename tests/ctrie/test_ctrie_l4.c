/*
 * test_ctrie_l4.c - the level-4 index (ctrie_layout.h): keys crowded under
 * one level-3 prefix, so that every level-4 slot of it is an I-node whose
 * C-node keeps gaining slots while its index word is made complete.
 * Threads record and at once look up their keys with the index in use
 * from the start and from halfway (a key its own thread recorded must be
 * found: an index word missing the key's slot would end the search
 * early); verify checks every complete word; a damaged word or piece is
 * reported by verify and gives a miss or an error, never a crash.
 */
#include <criterion/criterion.h>
#include <pthread.h>

#include "ctrie_test_util.h"

TestSuite(l4, .timeout = 300);

#define NKEYS 1600u
#define THREADS 8u

static struct cache C;
static char path[512];
/* keys whose hashes share their low 15 bits (one level-3 prefix) */
static char keys[NKEYS][48];
static size_t lens[NKEYS];

/* Increments the decimal number in d[0, n) in place. */
static void bump(char *d, size_t n)
{
	while (n-- > 0) {
		if (d[n] != '9') {
			d[n]++;
			return;
		}
		d[n] = '0';
	}
}

static void find_keys(void)
{
	static bool done;
	/* a counter bumped in place: millions of candidates a second */
	char k[] = "/crowd/src/0000000000.c";
	const size_t len = sizeof k - 1;
	uint64_t prefix = 0;
	unsigned n = 0;

	if (done)
		return;
	while (n < NKEYS) {
		uint64_t h = ctrie_hash(k, len);

		if (n == 0)
			prefix = ctrie_prefix(h, CTRIE_TOP_LEVEL);
		if (ctrie_prefix(h, CTRIE_TOP_LEVEL) == prefix) {
			memcpy(keys[n], k, len + 1);
			lens[n++] = len;
		}
		bump(k + 11, 10);
	}
	done = true;
}

/* The complete words of the index under the keys' level-3 prefix. */
static unsigned complete_words(struct cache *c)
{
	uint64_t h = ctrie_hash(keys[0], lens[0]);
	unsigned slot, n = 0;

	for (slot = 0; slot < CTRIE_FANOUT; slot++) {
		_Atomic uint64_t *w = ctrie_l4_word(
			c, ctrie_prefix(h, CTRIE_TOP_LEVEL) |
				   (uint64_t)slot << (CTRIE_BITS * CTRIE_TOP_LEVEL));
		if (w != NULL && ctrie_l4_ref(atomic_load(w)) != 0)
			n++;
	}
	return n;
}

struct job {
	unsigned t;
	unsigned start_at; /* cache_l4_start before key index start_at */
};

static void *record_and_find(void *arg)
{
	const struct job *j = arg;
	unsigned i;

	for (i = j->t; i < NKEYS; i += THREADS) {
		if (i >= j->start_at && i < j->start_at + THREADS)
			cache_l4_start(&C);
		if (cache_record(&C, keys[i], lens[i], 1) != CACHE_OK)
			return "record failed";
		if (cache_lookup(&C, keys[i], lens[i], NULL) != 1)
			return "a key just recorded is not found";
		/* a record of a key present goes through the index too */
		if (cache_record(&C, keys[i], lens[i], 2) != CACHE_OK)
			return "second record failed";
	}
	return NULL;
}

static void run_threads(unsigned start_at)
{
	pthread_t t[THREADS];
	struct job j[THREADS];
	unsigned i;

	find_keys();
	test_path(path, sizeof path, "l4");
	cr_assert_eq(cache_attach(&C, path, CACHE_ATTACH_CREATE), CACHE_OK);
	for (i = 0; i < THREADS; i++) {
		j[i] = (struct job){ i, start_at };
		cr_assert_eq(pthread_create(&t[i], NULL, record_and_find, &j[i]),
			     0);
	}
	for (i = 0; i < THREADS; i++) {
		void *r;
		pthread_join(t[i], &r);
		cr_assert_null(r, "thread %u: %s", i, (const char *)r);
	}
	for (i = 0; i < NKEYS; i++) {
		struct cache_entry e;
		cr_assert_eq(cache_lookup(&C, keys[i], lens[i], &e), 1,
			     "key %u missing", i);
		cr_assert_eq(e.count, 2);
		cr_assert_eq(e.ops, 3);
	}
	cr_assert_eq(cache_verify(&C, print_problem, NULL), 0);
	cr_assert_eq(bytes_unaccounted(&C), 0);
	/* the index was in use: every level-4 slot of the prefix holds an
	 * I-node (50 keys each), and each one's word was made complete */
	cr_assert_eq(complete_words(&C), CTRIE_FANOUT);
}

Test(l4, threads_with_the_index_from_the_start)
{
	run_threads(0);
	cache_detach(&C);
	unlink(path);
}

Test(l4, threads_with_the_index_from_halfway)
{
	run_threads(NKEYS / 2);
	cache_detach(&C);
	unlink(path);
}

/* A key absent from a complete word's unused slot ends at the word; one
 * in a used slot is searched below it. */
Test(l4, absent_keys)
{
	unsigned i, found = 0;

	run_threads(0);
	for (i = 0; i < 20000; i++) {
		char k[48];
		size_t len = (size_t)sprintf(k, "/absent/%u", i);
		found += cache_lookup(&C, k, len, NULL) == 1;
	}
	cr_assert_eq(found, 0);
	cache_detach(&C);
	unlink(path);
}

/* The index word of keys[0] and its I-node. */
static _Atomic uint64_t *word0(void)
{
	_Atomic uint64_t *w = ctrie_l4_word(&C, ctrie_hash(keys[0], lens[0]));
	cr_assert_not_null(w);
	cr_assert_neq(ctrie_l4_ref(atomic_load(w)), 0);
	return w;
}

struct wanted {
	const char *text;
	unsigned seen;
};

static void count_problem(const char *p, void *arg)
{
	struct wanted *w = arg;
	if (strstr(p, w->text) != NULL)
		w->seen++;
	else
		cr_log_error("verify: %s", p);
}

static void expect_problem(const char *text)
{
	struct wanted w = { text, 0 };
	cr_assert_gt(cache_verify(&C, count_problem, &w), 0,
		     "verify saw no damage (expected: %s)", text);
	cr_assert_gt(w.seen, 0, "verify did not say: %s", text);
}

/* The reattached handle: the damage is in the file, the handle is fresh
 * (a search that met damage marks its handle broken). */
static void reattach(void)
{
	cache_detach(&C);
	cr_assert_eq(cache_attach(&C, path, 0), CACHE_OK);
}

Test(l4, verify_finds_a_missing_slot)
{
	_Atomic uint64_t *w;
	uint64_t h, bit;
	int r;

	run_threads(0);
	w = word0();
	h = ctrie_hash(keys[0], lens[0]);
	bit = (uint64_t)(UINT32_C(1) << ctrie_index(h, CTRIE_L4_LEVEL)) << 32;
	atomic_fetch_and(w, ~bit);
	expect_problem("lacks slots in use");
	/* the key is missed (the word is trusted), never a crash */
	r = cache_lookup(&C, keys[0], lens[0], NULL);
	cr_assert(r == 0 || r == 1);
	atomic_fetch_or(w, bit);
	reattach();
	cr_assert_eq(cache_verify(&C, print_problem, NULL), 0);
	cache_detach(&C);
	unlink(path);
}

Test(l4, verify_finds_a_word_naming_another_node)
{
	_Atomic uint64_t *w;
	uint64_t old;
	shm_offt top;

	run_threads(0);
	w = word0();
	old = atomic_load(w);
	/* the level-3 C-node of the same prefix: not a level-4 I-node */
	top = ctrie_ref_off(atomic_load(
		ctrie_top_word(ctrie_hdr(&C), ctrie_hash(keys[0], lens[0]))));
	atomic_store(w, (old & ~(uint64_t)UINT32_MAX) | ctrie_ref_of(top));
	expect_problem("names no level-4 I-node");
	cr_assert_eq(cache_lookup(&C, keys[0], lens[0], NULL),
		     CACHE_E_CORRUPT);
	atomic_store(w, old);
	reattach();
	cr_assert_eq(cache_verify(&C, print_problem, NULL), 0);
	cache_detach(&C);
	unlink(path);
}

Test(l4, verify_finds_a_bad_piece)
{
	struct ctrie_header *H;
	uint32_t i, ref = 0;
	uint64_t h;

	run_threads(0);
	H = ctrie_hdr(&C);
	h = ctrie_hash(keys[0], lens[0]);
	i = (uint32_t)((h & (CTRIE_L4_SLOTS - 1)) / CTRIE_L4_PER_PIECE);
	ref = atomic_load(&H->l4_dir[i]);
	cr_assert_neq(ref, 0);
	/* half a piece off: not a largest block */
	atomic_store(&H->l4_dir[i], ref + (uint32_t)(CTRIE_L4_PIECE / 2 /
						     CTRIE_REF_UNIT));
	expect_problem("is not a largest block");
	/* the search does not use the piece: it walks the trie */
	cr_assert_eq(cache_lookup(&C, keys[0], lens[0], NULL), 1);
	atomic_store(&H->l4_dir[i], ref);
	cr_assert_eq(cache_verify(&C, print_problem, NULL), 0);
	cache_detach(&C);
	unlink(path);
}

Test(l4, verify_finds_an_unmarked_inode)
{
	_Atomic uint64_t *w;
	const struct ctrie_inode *I;
	_Atomic uint32_t *main;

	run_threads(0);
	w = word0();
	I = ctrie_inode_at(&C, ctrie_ref_off(ctrie_l4_ref(atomic_load(w))),
			   CTRIE_L4_LEVEL, ctrie_hash(keys[0], lens[0]));
	cr_assert_not_null(I);
	main = (_Atomic uint32_t *)&I->main;
	atomic_fetch_and(main, ~(uint32_t)CTRIE_MAIN_MARK);
	expect_problem("is not marked");
	atomic_fetch_or(main, CTRIE_MAIN_MARK);
	cr_assert_eq(cache_verify(&C, print_problem, NULL), 0);
	cache_detach(&C);
	unlink(path);
}

/* Without the index in use a cache touches none of it: no piece, and a
 * search reads no word. */
Test(l4, small_cache_has_no_index)
{
	struct ctrie_header *H;
	unsigned i;

	find_keys();
	test_path(path, sizeof path, "l4small");
	cr_assert_eq(cache_attach(&C, path, CACHE_ATTACH_CREATE), CACHE_OK);
	for (i = 0; i < NKEYS; i++)
		cr_assert_eq(cache_record(&C, keys[i], lens[i], 1), CACHE_OK);
	H = ctrie_hdr(&C);
	cr_assert_eq(atomic_load(&H->l4_on), 0);
	for (i = 0; i < CTRIE_L4_PIECES; i++)
		cr_assert_eq(atomic_load(&H->l4_dir[i]), 0);
	cr_assert_null(ctrie_l4_word(&C, ctrie_hash(keys[0], lens[0])));
	cr_assert_eq(cache_verify(&C, print_problem, NULL), 0);
	cache_detach(&C);
	unlink(path);
}
