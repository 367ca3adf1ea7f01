/* test_hint.c - cache_record_hinted, the per-thread memo the shim records
 * through: same counts and bits as cache_record whatever the hint holds
 * (fresh, stale, torn, garbage), and the cache stays consistent. */
#define _DEFAULT_SOURCE 1 /* MAP_ANONYMOUS */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ctrie_cache.h"

static struct cache C;
static char file[64];

static void setup(void)
{
	snprintf(file, sizeof file, "/tmp/shmcache-hint.%d.cache", (int)getpid());
	unlink(file);
	cr_assert_eq(cache_attach(&C, file, CACHE_ATTACH_CREATE), CACHE_OK,
		     "arena_err %d", C.arena_err);
}

static void teardown(void)
{
	cache_detach(&C);
	unlink(file);
}

static void expect(const char *key, uint64_t ops, uint64_t count)
{
	struct cache_entry e;

	cr_assert_eq(cache_lookup(&C, key, strlen(key), &e), 1, "%s", key);
	cr_expect_eq(e.ops, ops, "%s: ops %#llx, want %#llx", key,
		     (unsigned long long)e.ops, (unsigned long long)ops);
	cr_expect_eq(e.count, count, "%s: count %llu, want %llu", key,
		     (unsigned long long)e.count, (unsigned long long)count);
}

static int hinted(struct cache_hint *h, const char *key, uint32_t ops)
{
	return cache_record_hinted(&C, key, strlen(key), ops, h);
}

TestSuite(hint, .init = setup, .fini = teardown);

Test(hint, repeats_and_alternations_count_exactly)
{
	static struct cache_hint h; /* zero: empty */
	const char *a = "/usr/include/stdio.h", *b = "/usr/include/stdlib.h";

	for (int i = 0; i < 100; i++)
		cr_assert_eq(hinted(&h, a, CACHE_OP_STAT), CACHE_OK);
	for (int i = 0; i < 50; i++) {
		cr_assert_eq(hinted(&h, a, CACHE_OP_READ), CACHE_OK);
		cr_assert_eq(hinted(&h, b, CACHE_OP_STAT), CACHE_OK);
	}
	/* same length, first and last eight bytes: one fingerprint */
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(hinted(&h, "/aaaaaaaa/X/bbbbbbbb", CACHE_OP_READ),
			     CACHE_OK);
		cr_assert_eq(hinted(&h, "/aaaaaaaa/Y/bbbbbbbb", CACHE_OP_STAT),
			     CACHE_OK);
	}
	expect("/aaaaaaaa/X/bbbbbbbb", CACHE_OP_READ, 3);
	expect("/aaaaaaaa/Y/bbbbbbbb", CACHE_OP_STAT, 3);
	/* same length, other bytes: the hint must not match */
	cr_assert_eq(hinted(&h, "/usr/include/stdio.x", CACHE_OP_READ),
		     CACHE_OK);
	expect(a, CACHE_OP_STAT | CACHE_OP_READ, 150);
	expect(b, CACHE_OP_STAT, 50);
	expect("/usr/include/stdio.x", CACHE_OP_READ, 1);
	cr_expect_eq(cache_verify(&C, NULL, NULL), 0);
}

Test(hint, errno_and_null_hint_and_edge_lengths)
{
	static struct cache_hint h;
	char big[8192];

	memset(big, 'x', sizeof big);
	big[0] = '/';
	errno = 1234;
	cr_assert_eq(hinted(&h, "/a", CACHE_OP_READ), CACHE_OK);
	cr_assert_eq(hinted(&h, "/a", CACHE_OP_READ), CACHE_OK);
	cr_assert_eq(cache_record_hinted(&C, "/a", 2, CACHE_OP_WRITE, NULL),
		     CACHE_OK);
	cr_assert_eq(cache_record_hinted(&C, "", 0, CACHE_OP_READ, &h),
		     CACHE_OK);
	cr_assert_eq(cache_record_hinted(&C, big, sizeof big, CACHE_OP_READ,
					 &h), CACHE_E_TOOLONG);
	cr_expect_eq(errno, 1234);
	expect("/a", CACHE_OP_READ | CACHE_OP_WRITE, 3);
}

/* Whatever garbage the hint holds (a handler's torn write, a stray store),
 * a record still goes to its own key. */
Test(hint, garbage_hints_are_misses)
{
	static const char *keys[] = { "/k/one", "/k/two", "/k/six", "/k/abcdefgh" };
	struct cache_hint h, good[4];
	unsigned long long want[4] = { 0 };
	unsigned seed = 12345;

	memset(good, 0, sizeof good);
	for (int k = 0; k < 4; k++) {
		cr_assert_eq(hinted(&good[k], keys[k], CACHE_OP_READ), CACHE_OK);
		cr_assert_eq(hinted(&good[k], keys[k], CACHE_OP_READ), CACHE_OK);
		want[k] += 2;
	}
	for (int i = 0; i < 20000; i++) {
		int k = (int)(rand_r(&seed) % 4), src = (int)(rand_r(&seed) % 4);
		unsigned r = (unsigned)rand_r(&seed);

		h = good[src]; /* another key's S-node (lengths may match) */
		switch (r % 4) {
		case 0:
			h.snode = (shm_offt)rand_r(&seed) * 8u; /* aligned */
			break;
		case 1:
			h.snode = (shm_offt)rand_r(&seed); /* any */
			break;
		case 2:
			h.snode = h.snode + 8u * (r % 64u); /* near one */
			break;
		default:
			h.len = (size_t)(r % 16u);
			h.missed = (uint64_t)rand_r(&seed) << 1 | (r & 1u);
			break;
		}
		cr_assert_eq(hinted(&h, keys[k], CACHE_OP_STAT), CACHE_OK);
		want[k]++;
	}
	for (int k = 0; k < 4; k++)
		expect(keys[k], CACHE_OP_READ | CACHE_OP_STAT, want[k]);
	cr_expect_eq(cache_verify(&C, NULL, NULL), 0);
}

/* Garbage in the hint never makes another string match, nor a read out of
 * bounds (ASan build). */
Test(hint, garbage_hints_never_match_another_key)
{
	static const char *keys[] = { "/k/one", "/k/two", "/k/six", "/k/seven" };
	struct cache_hint good[4], h;
	unsigned seed = 777;

	memset(good, 0, sizeof good);
	for (int k = 0; k < 4; k++) {
		cr_assert_eq(hinted(&good[k], keys[k], CACHE_OP_READ), CACHE_OK);
		cr_assert_eq(hinted(&good[k], keys[k], CACHE_OP_READ), CACHE_OK);
	}
	for (int i = 0; i < 20000; i++) {
		int k = (int)(rand_r(&seed) % 4), src = (int)(rand_r(&seed) % 4);
		unsigned r = (unsigned)rand_r(&seed);
		const unsigned char *key;
		size_t n;

		h = good[src];
		if (r % 3 == 0)
			h.snode = (shm_offt)rand_r(&seed) * 8u;
		else if (r % 3 == 1)
			h.snode += 8u * (r % 64u);
		else
			h.len = (size_t)(r % 16u);
		n = cache_hint_record(&C, &h, keys[k], CACHE_OP_STAT, &key);
		if (n != 0) {
			cr_assert_eq(n, strlen(keys[k]));
			cr_assert_eq(memcmp(key, keys[k], n), 0);
		}
	}
}

/* Match and record in one step: counted only on a match, and a miss
 * records nothing (the caller records the usual way). */
Test(hint, hint_record_counts_only_matches)
{
	static struct cache_hint h;
	const unsigned char *key = NULL;

	cr_assert_eq(cache_hint_record(&C, &h, "/opt/a", CACHE_OP_READ, &key),
		     0, "an empty hint matches nothing");
	cr_assert_eq(hinted(&h, "/opt/a", CACHE_OP_STAT), CACHE_OK);
	cr_assert_eq(hinted(&h, "/opt/a", CACHE_OP_STAT), CACHE_OK);
	errno = 99;
	for (int i = 0; i < 5; i++)
		cr_assert_eq(cache_hint_record(&C, &h, "/opt/a", CACHE_OP_WRITE,
					       &key), 6);
	cr_expect_eq(errno, 99);
	cr_assert_eq(memcmp(key, "/opt/a", 6), 0);
	cr_assert_eq(cache_hint_record(&C, &h, "/opt/ab", CACHE_OP_READ, &key),
		     0);
	cr_assert_eq(cache_hint_record(&C, &h, "/opt/", CACHE_OP_READ, &key),
		     0);
	/* a failed call's word: its operation in the high half */
	cr_assert_eq(cache_hint_record(&C, &h, "/opt/a",
				       cache_ops_call(CACHE_OP_MKDIR, true,
						      CACHE_OP_EXISTS),
				       &key), 6);
	expect("/opt/a", CACHE_OP_STAT | CACHE_OP_WRITE | CACHE_OP_EXISTS |
				 (uint64_t)CACHE_OP_MKDIR << CACHE_OP_FAILED_SHIFT,
	       8);
	cr_assert_eq(cache_lookup(&C, "/opt/ab", 7, NULL), 0);
}

/* A writer of the file puts a NUL inside the stored key the hint names: a
 * string that ends there is no match, and is not read past its end (it
 * ends just before an inaccessible page). */
Test(hint, nul_inside_stored_key_reads_nothing_past_the_string)
{
	static struct cache_hint h;
	const unsigned char *key = NULL;
	struct cache_entry e;
	long ps = sysconf(_SC_PAGESIZE);
	char *page, *str;

	cr_assert_eq(hinted(&h, "/k/abcdefghij", CACHE_OP_STAT), CACHE_OK);
	cr_assert_eq(hinted(&h, "/k/abcdefghij", CACHE_OP_STAT), CACHE_OK);
	cr_assert_eq(cache_lookup(&C, "/k/abcdefghij", 13, &e), 1);
	page = mmap(NULL, (size_t)ps * 2, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	cr_assert_neq(page, MAP_FAILED);
	cr_assert_eq(mprotect(page + ps, (size_t)ps, PROT_NONE), 0);
	str = page + ps - 3;
	memcpy(str, "/k", 3);
	((unsigned char *)e.key)[2] = '\0';
	cr_expect_eq(cache_hint_record(&C, &h, str, CACHE_OP_READ, &key), 0);
	((unsigned char *)e.key)[2] = '/';
	cr_expect_eq(cache_hint_record(&C, &h, "/k/abcdefghij", CACHE_OP_READ,
				       &key), 13);
	munmap(page, (size_t)ps * 2);
}
