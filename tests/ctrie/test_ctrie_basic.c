/*
 * test_ctrie_basic.c - the path cache against a reference map, on random
 * keys, real paths, every key length and byte value, the empty key and
 * too-long keys; iteration, recent, read-only handles, op names.
 * Built twice: with the real hash and with CTRIE_WEAK_HASH (collisions,
 * L-nodes, deep chains).
 */
#include <criterion/criterion.h>

#include <sys/resource.h>
#include <sys/wait.h>

#include "ctrie_test_util.h"

static struct cache C;
static char path[512];

static void open_cache(void)
{
	test_path(path, sizeof path, "basic");
	cr_assert_eq(cache_attach(&C, path, CACHE_ATTACH_CREATE), CACHE_OK,
		     "attach: arena_err %d", C.arena_err);
}

static void close_cache(void)
{
	cache_detach(&C);
	unlink(path);
}

TestSuite(ctrie, .init = open_cache, .fini = close_cache, .timeout = 600);

static void assert_clean(void)
{
	cr_assert_eq(cache_verify(&C, print_problem, NULL), 0,
		     "verify found problems");
}

struct iter_check {
	struct ref_map *ref;
	size_t visited;
	int bad;
};

static int check_visit(const struct cache_entry *e, void *arg)
{
	struct iter_check *ic = arg;
	struct ref_ent *r = ref_find(ic->ref, e->key, e->len, 0);
	ic->visited++;
	if (r == NULL || r->seen++ != 0 || r->ops != e->ops ||
	    r->count != e->count)
		ic->bad++;
	return 0;
}

/* Every key of ref is found with its value, iteration meets exactly the
 * keys of ref once each, and the statistics agree. */
static void assert_matches(struct ref_map *ref, uint64_t records)
{
	struct iter_check ic = { ref, 0, 0 };
	struct cache_stats st;
	uint64_t key_bytes = 0;
	size_t i;

	for (i = 0; i < ref->cap; i++) {
		struct ref_ent *r = &ref->t[i];
		struct cache_entry e;
		if (r->key == NULL)
			continue;
		r->seen = 0;
		key_bytes += r->len;
		cr_assert_eq(cache_lookup(&C, r->key, r->len, &e), 1,
			     "key %zu of length %zu not found", i, r->len);
		cr_assert_eq(e.len, r->len);
		cr_assert_eq(memcmp(e.key, r->key, r->len), 0);
		cr_assert_eq(e.ops, r->ops, "ops %llx != %llx",
			     (unsigned long long)e.ops, (unsigned long long)r->ops);
		cr_assert_eq(e.count, r->count);
	}
	cr_assert_eq(cache_iterate(&C, check_visit, &ic), CACHE_OK);
	cr_assert_eq(ic.bad, 0, "%d entries wrong or seen twice", ic.bad);
	cr_assert_eq(ic.visited, ref->n);
	cr_assert_eq(cache_stats(&C, &st, true), CACHE_OK);
	cr_assert_eq(st.entries, ref->n);
	cr_assert_eq(st.key_bytes, key_bytes);
	cr_assert_eq(st.records, records);
	cr_assert_eq(st.format_version, CTRIE_FORMAT_VERSION);
	cr_assert(st.live_bytes > 0 && st.live_bytes <= st.arena.bytes_in_use,
		  "live %llu in use %zu", (unsigned long long)st.live_bytes,
		  st.arena.bytes_in_use);
	cr_assert_eq(bytes_unaccounted(&C), 0);
	assert_clean();
}

static void record_ref(struct ref_map *ref, const void *k, size_t len,
		       uint64_t ops)
{
	struct ref_ent *r = ref_find(ref, k, len, 1);
	cr_assert_eq(cache_record(&C, k, len, ops), CACHE_OK);
	r->ops |= ops;
	r->count++;
}

Test(ctrie, random_keys_against_reference)
{
	struct ref_map ref = { 0 };
	struct keyset pool = { 0 };
	uint64_t seed = 0x9e3779b97f4a7c15u;
	unsigned char k[160];
	size_t i, records = 60000;

	for (i = 0; i < 20000; i++) {
		size_t len = 1 + test_rand(&seed) % 150, j;
		for (j = 0; j < len; j++)
			k[j] = (unsigned char)(1 + test_rand(&seed) % 255);
		keyset_add(&pool, k, len);
	}
	for (i = 0; i < records; i++) {
		size_t x = test_rand(&seed) % pool.n;
		/* any bit of the 64-bit word: both halves are kept */
		record_ref(&ref, pool.key[x], pool.len[x],
			   UINT64_C(1) << (test_rand(&seed) % 64));
	}
	assert_matches(&ref, records);
	/* absent keys: fresh random keys not in the reference */
	for (i = 0; i < 20000; i++) {
		size_t len = 1 + test_rand(&seed) % 150, j;
		for (j = 0; j < len; j++)
			k[j] = (unsigned char)(1 + test_rand(&seed) % 255);
		if (ref_find(&ref, k, len, 0) == NULL)
			cr_assert_eq(cache_lookup(&C, k, len, NULL), 0);
	}
	ref_free(&ref);
	keyset_free(&pool);
}

Test(ctrie, real_paths)
{
	struct ref_map ref = { 0 };
	struct keyset ks = { 0 };
	size_t i, records = 0;

	keyset_find(&ks, "/usr", 50000);
	cr_assert(ks.n > 1000, "find /usr gave only %zu paths", ks.n);
	for (i = 0; i < ks.n; i++, records++)
		record_ref(&ref, ks.key[i], ks.len[i], CACHE_OP_STAT);
	for (i = 0; i < ks.n; i += 2, records++)
		record_ref(&ref, ks.key[i], ks.len[i],
			   CACHE_OP_READ | CACHE_OP_EXISTS);
	assert_matches(&ref, records);
	/* a path with one byte more or less is another key */
	for (i = 0; i < ks.n; i += 97) {
		unsigned char k[2048];
		memcpy(k, ks.key[i], ks.len[i]);
		k[ks.len[i]] = '/';
		if (ref_find(&ref, k, ks.len[i] + 1, 0) == NULL)
			cr_assert_eq(cache_lookup(&C, k, ks.len[i] + 1, NULL), 0);
		if (ref_find(&ref, k, ks.len[i] - 1, 0) == NULL)
			cr_assert_eq(cache_lookup(&C, k, ks.len[i] - 1, NULL), 0);
	}
	ref_free(&ref);
	keyset_free(&ks);
}

Test(ctrie, every_key_length_up_to_max)
{
	struct ref_map ref = { 0 };
	size_t max = cache_max_key(), len, j, records = 0;
	unsigned char *k = malloc(max + 1);

	cr_assert_eq(max, (1u << MAX_ALLOC_POW2) - CTRIE_SNODE_HDR);
	for (len = 1; len <= max; len++, records++) {
		for (j = 0; j < len; j++)
			k[j] = (unsigned char)(1 + (j * 7 + len) % 255);
		record_ref(&ref, k, len, CACHE_OP_WRITE);
	}
	assert_matches(&ref, records);
	free(k);
	ref_free(&ref);
}

Test(ctrie, every_byte_value)
{
	struct ref_map ref = { 0 };
	unsigned char k[300];
	size_t records = 0;
	unsigned b;

	for (b = 1; b <= 255; b++, records += 2) {
		k[0] = (unsigned char)b;
		record_ref(&ref, k, 1, CACHE_OP_READ);
		memcpy(k, "/dir/", 5);
		k[5] = (unsigned char)b;
		k[6] = 'x';
		record_ref(&ref, k, 7, CACHE_OP_EXEC);
	}
	for (b = 0; b < 255; b++)
		k[b] = (unsigned char)(b + 1);
	record_ref(&ref, k, 255, CACHE_OP_MKDIR);
	/* a NUL byte inside a key is just a byte */
	record_ref(&ref, "a\0b", 3, CACHE_OP_READ);
	record_ref(&ref, "a\0c", 3, CACHE_OP_READ);
	assert_matches(&ref, records + 3);
	ref_free(&ref);
}

Test(ctrie, empty_key)
{
	struct ref_map ref = { 0 };
	struct cache_entry e;

	cr_assert_eq(cache_lookup(&C, NULL, 0, NULL), 0);
	cr_assert_eq(cache_record(&C, NULL, 0, CACHE_OP_STAT), CACHE_OK);
	cr_assert_eq(cache_record(&C, "", 0, CACHE_OP_READ), CACHE_OK);
	cr_assert_eq(cache_lookup(&C, "", 0, &e), 1);
	cr_assert_eq(e.len, 0);
	cr_assert_eq(e.count, 2);
	cr_assert_eq(e.ops, CACHE_OP_STAT | CACHE_OP_READ);
	cr_assert_eq(cache_lookup(&C, "a", 1, NULL), 0);
	ref_find(&ref, (const unsigned char *)"", 0, 1)->count = 2;
	ref_find(&ref, (const unsigned char *)"", 0, 0)->ops =
		CACHE_OP_STAT | CACHE_OP_READ;
	record_ref(&ref, "a", 1, CACHE_OP_READ);
	assert_matches(&ref, 3);
	ref_free(&ref);
}

Test(ctrie, key_longer_than_max_is_skipped_and_counted)
{
	size_t max = cache_max_key();
	unsigned char *k = malloc(max + 2);
	struct cache_stats st;

	memset(k, 'p', max + 2);
	cr_assert_eq(cache_record(&C, k, max + 1, CACHE_OP_READ),
		     CACHE_E_TOOLONG);
	cr_assert_eq(cache_record(&C, k, max + 2, CACHE_OP_READ),
		     CACHE_E_TOOLONG);
	cr_assert_eq(cache_lookup(&C, k, max + 1, NULL), 0);
	cr_assert_eq(cache_record(&C, k, max, CACHE_OP_READ), CACHE_OK);
	cr_assert_eq(cache_lookup(&C, k, max, NULL), 1);
	cr_assert_eq(cache_stats(&C, &st, true), CACHE_OK);
	cr_assert_eq(st.skipped_toolong, 2);
	cr_assert_eq(st.entries, 1);
	cr_assert_eq(st.records, 1);
	assert_clean();
	free(k);
}

static int stop_at_first(const struct cache_entry *e, void *arg)
{
	(void)e;
	++*(int *)arg;
	return 1;
}

Test(ctrie, iterate_stops_when_asked)
{
	int n = 0;
	cr_assert_eq(cache_iterate(&C, stop_at_first, &n), CACHE_OK);
	cr_assert_eq(n, 0);
	cache_record(&C, "/a", 2, CACHE_OP_READ);
	cache_record(&C, "/b", 2, CACHE_OP_READ);
	cr_assert_eq(cache_iterate(&C, stop_at_first, &n), CACHE_E_STOP);
	cr_assert_eq(n, 1);
}

Test(ctrie, recent_newest_first)
{
	struct cache_entry e[CTRIE_RECENT + 8];
	char k[32];
	size_t n, i;

	cr_assert_eq(cache_recent(&C, e, 8), 0);
	for (i = 0; i < 100; i++) {
		int l = snprintf(k, sizeof k, "/recent/%zu", i);
		cr_assert_eq(cache_record(&C, k, (size_t)l, CACHE_OP_READ),
			     CACHE_OK);
		/* a hit is not a new entry */
		cr_assert_eq(cache_record(&C, "/recent/0", 9, CACHE_OP_READ),
			     CACHE_OK);
	}
	n = cache_recent(&C, e, 10);
	cr_assert_eq(n, 10);
	for (i = 0; i < n; i++) {
		int l = snprintf(k, sizeof k, "/recent/%zu", 99 - i);
		cr_assert_eq(e[i].len, (size_t)l);
		cr_assert_eq(memcmp(e[i].key, k, (size_t)l), 0);
	}
	cr_assert_eq(cache_recent(&C, e, CTRIE_RECENT + 8), CTRIE_RECENT);
}

Test(ctrie, reattach_and_read_only)
{
	struct cache r;
	struct cache_entry e;

	cr_assert_eq(cache_record(&C, "/etc/passwd", 11, CACHE_OP_READ),
		     CACHE_OK);
	cr_assert_eq(cache_attach(&r, path, CACHE_ATTACH_RDONLY), CACHE_OK);
	cr_assert_eq(cache_lookup(&r, "/etc/passwd", 11, &e), 1);
	cr_assert_eq(e.ops, CACHE_OP_READ);
	cr_assert_eq(cache_record(&r, "/etc/group", 10, CACHE_OP_READ),
		     CACHE_E_RDONLY);
	cr_assert_eq(cache_verify(&r, print_problem, NULL), 0);
	cache_detach(&r);
	cache_detach(&C);
	cr_assert_eq(cache_attach(&C, path, 0), CACHE_OK);
	cr_assert_eq(cache_lookup(&C, "/etc/passwd", 11, &e), 1);
	cr_assert_eq(e.count, 1);
}

Test(ctrie, attach_refuses_what_is_not_a_cache)
{
	struct cache r;
	char p2[512];
	static unsigned char img[64] __attribute__((aligned(64)));

	test_path(p2, sizeof p2, "none");
	cr_assert_eq(cache_attach(&r, p2, 0), CACHE_E_ARENA);
	cr_assert_eq(cache_attach_memory(&r, img, sizeof img, 0),
		     CACHE_E_ARENA);
	/* an arena whose client area is not a cache */
	{
		struct shm_arena a;
		cr_assert_eq(shm_arena_open(&a, p2, SHM_OPEN_CREATE, NULL),
			     SHM_OK);
		memset(shm_arena_client_area(&a), 0x5a, 64);
		shm_arena_close(&a);
		cr_assert_eq(cache_attach(&r, p2, CACHE_ATTACH_CREATE),
			     CACHE_E_NOTCACHE);
		unlink(p2);
	}
}

Test(ctrie, op_names)
{
	uint32_t bits = 0;
	const char *bad = NULL;

	cr_assert_str_eq(cache_op_name(CACHE_OP_READ), "read");
	cr_assert_eq(cache_op_letter(CACHE_OP_RENAME_TO), 'T');
	cr_assert_str_eq(cache_op_name(CACHE_OP_MISSING), "missing");
	cr_assert_null(cache_op_name(1u << 20));
	cr_assert_eq(cache_ops_parse("read,write,exists", &bits, &bad), 0);
	cr_assert_eq(bits, CACHE_OP_READ | CACHE_OP_WRITE | CACHE_OP_EXISTS);
	cr_assert_eq(cache_ops_parse("read,bogus", &bits, &bad), -1);
	cr_assert_str_eq(bad, "bogus");
	cr_assert_str_neq(cache_strerror(CACHE_E_CORRUPT), "");
}

Test(ctrie, structure_census)
{
	struct keyset ks = { 0 };
	struct census cs;
	size_t i;

	keyset_find(&ks, "/usr", 20000);
	for (i = 0; i < ks.n; i++)
		cr_assert_eq(cache_record(&C, ks.key[i], ks.len[i], 0),
			     CACHE_OK);
	assert_clean();
	cs = census_of(&C);
	cr_assert_eq(cs.snodes, ks.n);
#ifdef CTRIE_WEAK_HASH
	/* 4096 distinct hashes whose middle bits are all zero */
	cr_assert(cs.lnodes > 100, "only %zu L-nodes", cs.lnodes);
	cr_assert(cs.max_level >= 11, "deepest level %u", cs.max_level);
#else
	cr_assert_eq(cs.lnodes, 0);
	cr_assert(cs.max_level <= 6, "deepest level %u", cs.max_level);
#endif
	keyset_free(&ks);
}

/* The offset of key's S-node (the key is present). */
static shm_offt snode_off(const void *key, size_t len)
{
	struct cache_entry e;
	cr_assert_eq(cache_lookup(&C, key, len, &e), 1);
	return (shm_offt)((const unsigned char *)e.key - CTRIE_SNODE_HDR -
			  (const unsigned char *)SHM_ARENA_ADDR(&C.arena, 0));
}

static uint64_t slack(void)
{
	return atomic_load(&ctrie_hdr(&C)->slack_bytes);
}

Test(ctrie, snodes_are_carved_from_shared_chunks)
{
	struct ctrie_header *H = ctrie_hdr(&C);
	char k[CTRIE_CHUNK];
	shm_offt chunk, at;
	uint64_t s0;
	size_t n;

	cr_assert_eq(atomic_load(&H->carve), SHM_NULL);
	cr_assert_eq(cache_record(&C, "a", 1, CACHE_OP_READ), CACHE_OK);
	chunk = snode_off("a", 1);
	cr_assert_eq(chunk % CTRIE_CHUNK, 0, "a new chunk is a largest block");
	cr_assert_eq(atomic_load(&H->carve), chunk + ctrie_snode_extent(1));

	/* a line pair's worth after 24 bytes: starts at the next pair
	 * rather than span two, and the skipped bytes are slack */
	s0 = slack();
	memset(k, 'b', sizeof k);
	n = CTRIE_LINE - CTRIE_SNODE_HDR;
	cr_assert_eq(cache_record(&C, k, n, CACHE_OP_READ), CACHE_OK);
	cr_assert_eq(snode_off(k, n), chunk + CTRIE_LINE);
	cr_assert_eq(slack() - s0, CTRIE_LINE - ctrie_snode_extent(1));
	cr_assert_eq(atomic_load(&H->carve), chunk + 2 * CTRIE_LINE);

	/* a node that fits its lines wherever it starts is packed tight */
	memset(k, 'c', sizeof k);
	cr_assert_eq(cache_record(&C, k, 8, CACHE_OP_READ), CACHE_OK);
	cr_assert_eq(snode_off(k, 8), chunk + 2 * CTRIE_LINE);

	/* the longest key needs a whole chunk: the rest of this one is
	 * slack, and the cursor reads "used up" */
	s0 = slack();
	at = atomic_load(&H->carve);
	n = cache_max_key();
	memset(k, 'd', sizeof k);
	cr_assert_eq(cache_record(&C, k, n, CACHE_OP_READ), CACHE_OK);
	cr_assert_eq(snode_off(k, n) % CTRIE_CHUNK, 0);
	cr_assert_neq(snode_off(k, n), chunk);
	cr_assert_eq(slack() - s0, CTRIE_CHUNK - (at - chunk));
	cr_assert_eq(atomic_load(&H->carve) % CTRIE_CHUNK, 0);
	cr_assert_eq(bytes_unaccounted(&C), 0);
	assert_clean();
}

Test(ctrie, damaged_carve_cursor_is_replaced)
{
	struct ctrie_header *H = ctrie_hdr(&C);
	const shm_offt bad[] = {
		1,                                      /* in the null region */
		SHM_NULL_REGION_SIZE + 12,              /* misaligned */
		SHM_NULL_REGION_SIZE + MAX_ALLOCATABLE_SHM_SIZE - 8, /* never
							   reserved */
		(shm_offt)-8,                           /* out of bounds */
	};
	char k[32];
	size_t i;

	cr_assert_eq(cache_record(&C, "/first", 6, CACHE_OP_READ), CACHE_OK);
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		size_t len = (size_t)snprintf(k, sizeof k, "/key/%zu", i);
		shm_offt off;
		atomic_store(&H->carve, bad[i]);
		cr_assert_eq(cache_record(&C, k, len, CACHE_OP_READ), CACHE_OK);
		off = snode_off(k, len);
		cr_assert_eq(off % CTRIE_CHUNK, 0, "cursor %zu: a new chunk", i);
		cr_assert_eq(atomic_load(&H->carve),
			     off + ctrie_snode_extent(len));
	}
	cr_assert_eq(cache_lookup(&C, "/first", 6, NULL), 1);
	assert_clean();
}

/* The chunk the carve cursor is in. */
static shm_offt cursor_chunk(void)
{
	return ctrie_cursor_chunk(atomic_load(&ctrie_hdr(&C)->carve));
}

static shm_offt next_chunk(void)
{
	return ctrie_next_chunk(atomic_load(&ctrie_hdr(&C)->next_chunk));
}

/* Records the 39-byte key /chunk/N for N = *n, and counts it. */
static void record_chunk_key(unsigned *n)
{
	char k[64];
	size_t len = (size_t)snprintf(k, sizeof k, "/chunk/%032u", (*n)++);
	cr_assert_eq(cache_record(&C, k, len, CACHE_OP_READ), CACHE_OK);
}

/* Records keys until the cursor leaves its chunk; returns that chunk. */
static shm_offt fill_chunk(unsigned *n)
{
	shm_offt first = cursor_chunk();
	while (cursor_chunk() == first)
		record_chunk_key(n);
	return first;
}

Test(ctrie, the_next_chunk_is_ready_before_the_current_one_ends)
{
	unsigned n = 0;
	shm_offt first, next;

	cr_assert_eq(cache_record(&C, "/", 1, CACHE_OP_READ), CACHE_OK);
	first = cursor_chunk();
	cr_assert_eq(next_chunk(), SHM_NULL, "not before the middle");
	/* past the middle: the carve that crossed it put the next there */
	while (atomic_load(&ctrie_hdr(&C)->carve) - first < CTRIE_CHUNK / 2)
		record_chunk_key(&n);
	next = next_chunk();
	cr_assert_neq(next, SHM_NULL);
	cr_assert_neq(next, first);
	cr_assert_eq(next % CTRIE_CHUNK, 0);
	/* the cursor goes on there, and a new next is made at its middle */
	fill_chunk(&n);
	cr_assert_eq(cursor_chunk(), next);
	cr_assert_eq(bytes_unaccounted(&C), 0);
	assert_clean();
}

Test(ctrie, a_stale_or_damaged_next_chunk_is_not_used)
{
	struct ctrie_header *H = ctrie_hdr(&C);
	unsigned n = 0, i;
	shm_offt left;
	const shm_offt beyond = SHM_NULL_REGION_SIZE + MAX_ALLOCATABLE_SHM_SIZE;

	cr_assert_eq(cache_record(&C, "/", 1, CACHE_OP_READ), CACHE_OK);
	/* the chunk in use (its mover died before clearing the word), and
	 * one beyond the reserved pages: both go, neither is carved from */
	for (i = 0; i < 2; i++) {
		shm_offt bad = i == 0 ? cursor_chunk() : beyond;
		atomic_store(&H->next_chunk,
			     ctrie_next_word(atomic_load(&H->next_chunk), bad));
		left = fill_chunk(&n);
		cr_assert_neq(cursor_chunk(), bad);
		cr_assert_neq(cursor_chunk(), left);
	}
	for (i = 0; i < n; i++) {
		char k[64];
		size_t len = (size_t)snprintf(k, sizeof k, "/chunk/%032u", i);
		cr_assert_eq(cache_lookup(&C, k, len, NULL), 1);
	}
	assert_clean();
}

Test(ctrie, verify_finds_a_next_chunk_over_live_nodes)
{
	struct ctrie_header *H = ctrie_hdr(&C);
	unsigned n = 0;
	uint64_t w;
	shm_offt left;

	cr_assert_eq(cache_record(&C, "/", 1, CACHE_OP_READ), CACHE_OK);
	left = fill_chunk(&n);
	w = atomic_load(&H->next_chunk);
	assert_clean();
	atomic_store(&H->next_chunk, ctrie_next_word(w, left));
	cr_assert_gt(cache_verify(&C, NULL, NULL), 0);
	atomic_store(&H->next_chunk, w);
	assert_clean();
}

Test(ctrie, verify_finds_a_cursor_over_a_live_node)
{
	struct ctrie_header *H = ctrie_hdr(&C);
	shm_offt at;

	cr_assert_eq(cache_record(&C, "/a", 2, CACHE_OP_READ), CACHE_OK);
	cr_assert_eq(cache_record(&C, "/b", 2, CACHE_OP_READ), CACHE_OK);
	at = atomic_load(&H->carve);
	assert_clean();
	/* back over "/b": the next key would be written on it */
	atomic_store(&H->carve, snode_off("/b", 2) + 8);
	cr_assert_gt(cache_verify(&C, NULL, NULL), 0);
	/* into the C-node of "/a" (a block: marked whole, not only its
	 * start) */
	atomic_store(&H->carve,
		     ctrie_ref_off(atomic_load(ctrie_top_word(
			     H, ctrie_hash("/a", 2)))) + 8);
	cr_assert_gt(cache_verify(&C, NULL, NULL), 0);
	atomic_store(&H->carve, at);
	assert_clean();
}

/* Bytes of address space in use by this process (VmSize). */
static size_t vm_size(void)
{
	unsigned long pages = 0;
	FILE *f = fopen("/proc/self/statm", "r");
	cr_assert_not_null(f);
	cr_assert_eq(fscanf(f, "%lu", &pages), 1);
	fclose(f);
	return pages * (size_t)sysconf(_SC_PAGESIZE);
}

static size_t window_key(char *k, unsigned i)
{
	return (size_t)sprintf(k, "/window/dir%u/file-with-a-longer-name-%u",
			       i % 97, i);
}

/* Under an address-space limit a process maps a prefix of the file: keys
 * stored past it are misses there (CACHE_E_UNMAPPED), never damage; its
 * records go where it can map, or are dropped (the prefix is full here);
 * the file stays sound for everyone, and what was recorded in the prefix
 * is found by a whole mapping. */
Test(ctrie, prefix_mapping_under_rlimit_as)
{
	enum { NKEYS = 60000, NEW = 2000 };
	char k[128];
	struct cache_entry e;
	int status;
	pid_t pid;

#ifdef __SANITIZE_ADDRESS__
	/* the shadow memory counts against RLIMIT_AS: a limit just above
	 * VmSize leaves the sanitizer's own mappings failing */
	cr_skip_test("RLIMIT_AS cannot be set tight under ASan");
#endif
	for (unsigned i = 0; i < NKEYS; i++)
		cr_assert_eq(cache_record(&C, k, window_key(k, i),
					  CACHE_OP_READ), CACHE_OK);
	cr_assert_gt(shm_arena_reserved_bytes(&C.arena), (size_t)3 << 20,
		     "the keys use more than the prefix will map: %zu",
		     shm_arena_reserved_bytes(&C.arena));
	pid = fork();
	cr_assert_neq(pid, -1);
	if (pid == 0) {
		struct cache W;
		struct rlimit rl;
		unsigned hit = 0, unmapped = 0;
		size_t fixed = get_mapping_size_needed_by_shm() -
			       (size_t)MAX_ALLOCATABLE_SHM_SIZE;

		/* an eighth of what is left covers the management region
		 * and about a MiB of the arena */
		rl.rlim_cur = rl.rlim_max = vm_size() + 8 * (fixed + (1 << 20));
		if (setrlimit(RLIMIT_AS, &rl) != 0)
			_exit(10);
		if (cache_attach(&W, path, 0) != CACHE_OK)
			_exit(11);
		if (W.arena.mapped_blocks >= SHM_ARENA_BLOCKS)
			_exit(12);
		for (unsigned i = 0; i < NKEYS; i++) {
			int r = cache_lookup(&W, k, window_key(k, i), &e);
			if (r == 1)
				hit++;
			else if (r == CACHE_E_UNMAPPED)
				unmapped++;
			else
				_exit(13);
		}
		/* the latest copies of the upper nodes lie past the prefix:
		 * how many keys stay in reach depends on the hash */
		if (hit + unmapped != NKEYS || unmapped == 0)
			_exit(14);
		for (unsigned i = 0; i < NEW; i++) {
			int r = cache_record(&W, k, window_key(k, NKEYS + i),
					     CACHE_OP_WRITE);
			if (r == CACHE_OK &&
			    cache_lookup(&W, k, window_key(k, NKEYS + i),
					 &e) != 1)
				_exit(17);
			if (r != CACHE_OK && r != CACHE_E_UNMAPPED &&
			    r != CACHE_E_FULL)
				_exit(15);
		}
		if (atomic_load(&W.broken))
			_exit(16);
		cache_detach(&W);
		_exit(0);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status), "status %#x", status);
	cr_assert_eq(WEXITSTATUS(status), 0, "child's step %d",
		     WEXITSTATUS(status));
	cr_expect_eq(cache_verify(&C, NULL, NULL), 0);
	for (unsigned i = 0; i < NKEYS; i++)
		cr_expect_eq(cache_lookup(&C, k, window_key(k, i), &e), 1);
	for (unsigned i = 0; i < NEW; i++) {
		int r = cache_lookup(&C, k, window_key(k, NKEYS + i), &e);
		cr_expect(r == 0 || (r == 1 && e.ops == CACHE_OP_WRITE));
	}
}
