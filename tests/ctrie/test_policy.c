/* test_policy.c - the sandbox policy (cache_policy.c): the verdict of the
 * rules, and the block in the cache file, stored once and checked when
 * read (a hostile block is refused, never followed). */
#define _DEFAULT_SOURCE 1
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ctrie_cache.h"

static struct cache_policy pol, got;

static void add(enum cache_verdict v, const char *prefix)
{
	const char *why = NULL;

	cr_assert_eq(cache_policy_add(&pol, v, prefix, &why), 0, "%s: %s",
		     prefix, why);
}

static enum cache_verdict decide(const char *key)
{
	return cache_policy_decide(&pol, key, strlen(key));
}

Test(policy, whole_components_first_match_default)
{
	memset(&pol, 0, sizeof pol);
	pol.dflt = CACHE_VERDICT_DENY;
	add(CACHE_VERDICT_ALLOW, "/usr/include/stdio.h");
	add(CACHE_VERDICT_DENY, "/usr/include");
	add(CACHE_VERDICT_ASK, "/opt/x/");
	add(CACHE_VERDICT_ALLOW, "/usr//lib/./");
	cr_expect_eq(decide("/usr/include/stdio.h"), CACHE_VERDICT_ALLOW);
	cr_expect_eq(decide("/usr/include/stdio.h/x"), CACHE_VERDICT_ALLOW);
	cr_expect_eq(decide("/usr/include/stdlib.h"), CACHE_VERDICT_DENY);
	cr_expect_eq(decide("/usr/include"), CACHE_VERDICT_ALLOW,
		     "leads to an allowed prefix");
	cr_expect_eq(decide("/usr/includes"), CACHE_VERDICT_DENY,
		     "not a whole component: the default");
	cr_expect_eq(decide("/usr/lib/libc.so"), CACHE_VERDICT_ALLOW,
		     "the prefix is folded as a key");
	cr_expect_eq(decide("/usr"), CACHE_VERDICT_ALLOW);
	cr_expect_eq(decide("/"), CACHE_VERDICT_ALLOW);
	cr_expect_eq(decide("/opt"), CACHE_VERDICT_ALLOW, "leads to an ask");
	cr_expect_eq(decide("/opt/x"), CACHE_VERDICT_ASK);
	cr_expect_eq(decide("/opt/x/y"), CACHE_VERDICT_ASK);
	cr_expect_eq(decide("/opt/xy"), CACHE_VERDICT_DENY);
	cr_expect_eq(decide("/etc/passwd"), CACHE_VERDICT_DENY);
}

Test(policy, root_rule_and_bad_prefixes)
{
	const char *why = NULL;

	memset(&pol, 0, sizeof pol);
	pol.dflt = CACHE_VERDICT_ALLOW;
	add(CACHE_VERDICT_DENY, "/");
	cr_expect_eq(decide("/a/b"), CACHE_VERDICT_DENY);
	cr_expect_eq(decide("/"), CACHE_VERDICT_ALLOW, "/ stays visible");
	cr_expect_eq(cache_policy_add(&pol, CACHE_VERDICT_DENY, "rel", &why),
		     -1);
	cr_expect_eq(cache_policy_add(&pol, CACHE_VERDICT_NONE, "/a", &why),
		     -1);
	cr_expect_eq(pol.nrules, 1);
}

static char dir[64];
static char file[80];

/* A fresh cache in a new directory under parent. */
static void attach_in(struct cache *c, const char *parent)
{
	snprintf(dir, sizeof dir, "%s/shmcache-policy-XXXXXX", parent);
	cr_assert_not_null(mkdtemp(dir));
	snprintf(file, sizeof file, "%s/c", dir);
	cr_assert_eq(cache_attach(c, file, CACHE_ATTACH_CREATE), CACHE_OK);
}

static void attach(struct cache *c)
{
	attach_in(c, "/tmp");
}

static void detach(struct cache *c)
{
	cache_detach(c);
	unlink(file);
	rmdir(dir);
}

static void sample(void)
{
	memset(&pol, 0, sizeof pol);
	pol.dflt = CACHE_VERDICT_ALLOW;
	pol.timeout_ms = 250;
	strcpy(pol.server, "/run/s.sock");
	add(CACHE_VERDICT_DENY, "/secret");
	add(CACHE_VERDICT_ASK, "/usr/include");
}

Test(policy, stored_once_and_read_back)
{
	struct cache c;
	uint64_t n[CACHE_PC_COUNT];

	attach(&c);
	memset(&got, 0, sizeof got);
	cr_expect_eq(cache_policy_load(&c, &got), 0, "no policy yet");
	cr_expect_eq(cache_policy_counters(&c, n), 0);
	sample();
	cr_assert_eq(cache_policy_store(&c, &pol), CACHE_OK);
	cr_assert_eq(cache_policy_load(&c, &got), 1);
	cr_expect_eq(got.nrules, 2);
	cr_expect_eq(got.timeout_ms, 250);
	cr_expect_str_eq(got.server, "/run/s.sock");
	cr_expect_eq(cache_policy_decide(&got, "/secret/x", 9),
		     CACHE_VERDICT_DENY);
	cr_expect_eq(cache_policy_decide(&got, "/usr/include/a.h", 16),
		     CACHE_VERDICT_ASK);
	cr_expect_eq(cache_policy_store(&c, &pol), CACHE_OK, "the same again");
	add(CACHE_VERDICT_ALLOW, "/x");
	cr_expect_eq(cache_policy_store(&c, &pol), CACHE_E_VERSION,
		     "another policy is refused");
	cr_expect_eq(cache_policy_count(&c, CACHE_PC_ASKS), 0);
	cr_expect_eq(cache_policy_count(&c, CACHE_PC_ASKS), 1);
	cache_policy_counters(&c, n);
	cr_expect_eq(n[CACHE_PC_ASKS], 2);
	detach(&c);
}

/* Offsets of the block (cache_policy.c documents them). */
#define BLOCK_OFF (256u * 1024u)

Test(policy, hostile_block_refused)
{
	static const struct {
		size_t off;
		uint32_t value;
	} damage[] = {
		{ 8, 99 },            /* version */
		{ 12, 100000 },       /* nrules */
		{ 16, 7 },            /* default: not a verdict */
		{ 28, 1u << 30 },     /* used */
		{ 8448 + 4, 1u << 20 },/* rule 0's offset past used */
		{ 8448, 9 },          /* rule 0's verdict */
	};
	struct cache c;

	attach(&c);
	sample();
	cr_assert_eq(cache_policy_store(&c, &pol), CACHE_OK);
	unsigned char *block = (unsigned char *)shm_arena_client_area(
				       &c.arena) + BLOCK_OFF;
	for (size_t i = 0; i < sizeof damage / sizeof damage[0]; i++) {
		uint32_t saved;
		memcpy(&saved, block + damage[i].off, 4);
		memcpy(block + damage[i].off, &damage[i].value, 4);
		cr_expect_eq(cache_policy_load(&c, &got), CACHE_E_CORRUPT,
			     "damage at %zu", damage[i].off);
		memcpy(block + damage[i].off, &saved, 4);
	}
	/* the server name without its NUL */
	memset(block + 32, 'x', CACHE_POLICY_SERVER_MAX);
	cr_expect_eq(cache_policy_load(&c, &got), CACHE_E_CORRUPT);
	detach(&c);
}

/* Whether the block's first page is in memory: in tmpfs (no read-ahead) a
 * fresh file's page is there only once some process has read or written
 * it. */
static bool block_page_resident(struct cache *c)
{
	unsigned char v = 0;
	void *page = (unsigned char *)shm_arena_client_area(&c->arena) +
		     BLOCK_OFF;

	cr_assert_eq(mincore(page, (size_t)sysconf(_SC_PAGESIZE), &v), 0);
	return (v & 1) != 0;
}

/* A cache without a policy: no call reads the block (the header says there
 * is none), so that no traced process faults its page in. */
Test(policy, block_unread_without_policy)
{
	struct cache c;
	uint64_t n[CACHE_PC_COUNT];

	if (access("/dev/shm", W_OK) != 0)
		cr_skip_test("no /dev/shm: read-ahead would fill the page");
	attach_in(&c, "/dev/shm");
	memset(&got, 0, sizeof got);
	cr_expect_eq(cache_policy_load(&c, &got), 0);
	cr_expect_eq(cache_policy_counters(&c, n), 0);
	cr_expect_eq(cache_policy_count(&c, CACHE_PC_ASKS), 0);
	cr_expect_null(cache_policy_answer_slot(&c, 1));
	cr_expect_not(block_page_resident(&c),
		      "the policy block was read although the header says "
		      "there is no policy");
	sample();
	cr_assert_eq(cache_policy_store(&c, &pol), CACHE_OK);
	cr_expect(block_page_resident(&c), "the check can see the page");
	cr_expect_eq(cache_policy_load(&c, &got), 1);
	detach(&c);
}

/* The header's word is a hint: set over an empty block it reads as no
 * policy; a block whose store stopped before the word is completed by the
 * next store of the same policy. */
/* (the header's policy word is at offset 28: ctrie_layout.h) */
Test(policy, header_word_and_block_agree)
{
	struct cache c;
	unsigned char *block;
	uint64_t magic;

	attach(&c);
	block = (unsigned char *)shm_arena_client_area(&c.arena) + BLOCK_OFF;
	__atomic_store_n((uint32_t *)((unsigned char *)c.hdr + 28), 1u,
			 __ATOMIC_RELAXED);
	cr_expect_eq(cache_policy_load(&c, &got), 0, "word set, no block");
	__atomic_store_n((uint32_t *)((unsigned char *)c.hdr + 28), 0u,
			 __ATOMIC_RELAXED);
	sample();
	cr_assert_eq(cache_policy_store(&c, &pol), CACHE_OK);
	/* undo the word alone: the store stopped between the two */
	memcpy(&magic, block, sizeof magic);
	cr_assert_neq(magic, 0);
	__atomic_store_n((uint32_t *)((unsigned char *)c.hdr + 28), 0u,
			 __ATOMIC_RELAXED);
	cr_expect_eq(cache_policy_load(&c, &got), 0, "no word: not read");
	cr_expect_eq(cache_policy_store(&c, &pol), CACHE_OK, "the same again");
	cr_expect_eq(cache_policy_load(&c, &got), 1, "the word completed");
	detach(&c);
}
