/*
 * cache_policy.c - the sandbox policy: its rules, their verdict for a key,
 * and the block of the cache file that holds them for every process.
 *
 * THE POLICY BLOCK lives in the allocator's client area, at
 * CACHE_POLICY_OFF, after the cache header (which ends well before it; see
 * the static assertion).  It is zero in a fresh file, and a file without a
 * policy keeps it zero:
 *
 *   offset  field        written
 *   ------  -----------  ---------------------------------------------------
 *   0       magic        CACHE_POLICY_MAGIC once every field below is written
 *                        (release); 0: no policy
 *   8       version      CACHE_POLICY_VERSION
 *   12      nrules       rules in rule[], <= CACHE_POLICY_MAX_RULES
 *   16      dflt         enum cache_verdict of paths no rule names
 *   20      flags        CACHE_POLICY_NO_DECISION_CACHE
 *   24      timeout_ms   one server exchange's bound
 *   28      used         bytes of bytes[] holding prefixes
 *   32      server[112]  the decision server's socket path, NUL-terminated
 *   --- own cache line (written by traced processes) ---
 *   192     counters[8]  enum cache_policy_counter, fetch_add
 *   --- written by traced processes ---
 *   256     answers[1024] the decision server's recent answers, each a
 *                        key's tag, its asker's pid and its state (being
 *                        asked, or the answer), in buckets of
 *                        CACHE_POLICY_ANSWER_WAYS: see cache_sandbox.c
 *   --- 64-byte aligned ---
 *   8448    rule[256]    {u16 verdict, u16 len, u32 off}: the prefix is
 *                        bytes[off, off + len)
 *           bytes[16384] the prefixes, keys as cache_key_join makes them
 *
 * The block is written once, by `shmcache run`, before any traced process
 * starts, and never changed.  A reader copies it (relaxed word loads: a
 * hostile writer cannot make the copy a data race) and checks the copy:
 * every length and offset is bounded before the rules are used, and the
 * copy is what the process uses from then on.
 */
#include <stdalign.h>
#include <string.h>

#include "ctrie_layout.h"

#define CACHE_POLICY_MAGIC UINT64_C(0x5943494c4f504353) /* "SCPOLICY" */
#define CACHE_POLICY_VERSION 1u
#define CACHE_POLICY_OFF ((size_t)256 * 1024)
#define CACHE_POLICY_NCOUNTERS 8

struct policy_block {
	_Atomic uint64_t magic;
	uint32_t version;
	uint32_t nrules;
	uint32_t dflt;
	uint32_t flags;
	uint32_t timeout_ms;
	uint32_t used;
	char server[CACHE_POLICY_SERVER_MAX];
	alignas(64) _Atomic uint64_t counters[CACHE_POLICY_NCOUNTERS];
	alignas(64) _Atomic uint64_t answers[CACHE_POLICY_ANSWERS];
	alignas(64) struct cache_policy_rule rule[CACHE_POLICY_MAX_RULES];
	char bytes[CACHE_POLICY_MAX_BYTES];
};

_Static_assert(sizeof(struct ctrie_header) <= CACHE_POLICY_OFF,
	       "the policy block starts after the cache header");
_Static_assert(CACHE_POLICY_OFF + sizeof(struct policy_block) <=
		       SHM_CLIENT_AREA_SIZE,
	       "the policy block fits the allocator's client area");
_Static_assert(sizeof(struct policy_block) % 8 == 0 &&
		       offsetof(struct policy_block, counters) == 192 &&
		       offsetof(struct policy_block, answers) == 256 &&
		       offsetof(struct policy_block, rule) == 8448,
	       "the layout documented above");
_Static_assert(CACHE_POLICY_ANSWERS % CACHE_POLICY_ANSWER_WAYS == 0 &&
		       CACHE_POLICY_ANSWER_WAYS * 8 <= 64,
	       "whole buckets, each within one cache line");
_Static_assert(CACHE_PC_COUNT <= CACHE_POLICY_NCOUNTERS,
	       "every counter has its word");

static struct policy_block *block_of(struct cache *c)
{
	unsigned char *area;

	if (c == NULL || c->hdr == NULL)
		return NULL;
	area = shm_arena_client_area(&c->arena);
	return area == NULL ? NULL
			    : (struct policy_block *)(area + CACHE_POLICY_OFF);
}

/* The block when the header says it holds a policy, else NULL without
 * reading it: a cache without a policy costs no process the block's page.
 * The header's word is a hint, the block's magic the authority: a word
 * set over an empty block reads as no policy. */
static struct policy_block *policy_of(struct cache *c)
{
	const struct ctrie_header *H;

	if (c == NULL || c->hdr == NULL)
		return NULL;
	H = c->hdr;
	/* acquire: pairs with the release store of the word in
	 * cache_policy_store, made after the block's magic */
	if (atomic_load_explicit(&H->policy, memory_order_acquire) !=
	    CTRIE_POLICY_PRESENT)
		return NULL;
	return block_of(c);
}

/* ---- rules ------------------------------------------------------------- */

int cache_policy_add(struct cache_policy *p, enum cache_verdict v,
		     const char *prefix, const char **why)
{
	char key[4096];
	size_t n;

	if (v != CACHE_VERDICT_ALLOW && v != CACHE_VERDICT_DENY &&
	    v != CACHE_VERDICT_ASK) {
		*why = "not a verdict";
		return -1;
	}
	if (prefix == NULL || prefix[0] != '/') {
		*why = "a prefix is an absolute path";
		return -1;
	}
	n = cache_key_join(key, sizeof key, 0, prefix);
	if (n == CACHE_KEY_TOOLONG || n > UINT16_MAX) {
		*why = "prefix too long";
		return -1;
	}
	if (n == 0) { /* "/" folds to the empty key of the root */
		key[0] = '/';
		n = 1;
	}
	if (p->nrules >= CACHE_POLICY_MAX_RULES) {
		*why = "too many rules";
		return -1;
	}
	if (n > sizeof p->bytes - p->used) {
		*why = "the prefixes are too long together";
		return -1;
	}
	memcpy(p->bytes + p->used, key, n);
	p->rule[p->nrules].verdict = (uint16_t)v;
	p->rule[p->nrules].len = (uint16_t)n;
	p->rule[p->nrules].off = p->used;
	p->nrules++;
	p->used += (uint32_t)n;
	return 0;
}

/* Whether prefix (plen bytes) is key or a whole leading part of it. */
static bool prefix_covers(const char *prefix, size_t plen, const char *key,
			  size_t len)
{
	if (plen == 1 && prefix[0] == '/')
		return true; /* the root covers everything */
	return plen <= len && memcmp(prefix, key, plen) == 0 &&
	       (plen == len || key[plen] == '/');
}

enum cache_verdict cache_policy_decide(const struct cache_policy *p,
				       const void *keyp, size_t len)
{
	const char *key = keyp;
	uint32_t i;

	if (len == 0 || (len == 1 && key[0] == '/'))
		return CACHE_VERDICT_ALLOW;
	/* The directories leading to what may be seen stay visible. */
	for (i = 0; i < p->nrules; i++) {
		const struct cache_policy_rule *r = &p->rule[i];
		if (r->verdict != CACHE_VERDICT_DENY && r->len > len &&
		    prefix_covers(key, len, p->bytes + r->off, r->len))
			return CACHE_VERDICT_ALLOW;
	}
	for (i = 0; i < p->nrules; i++) {
		const struct cache_policy_rule *r = &p->rule[i];
		if (prefix_covers(p->bytes + r->off, r->len, key, len))
			return (enum cache_verdict)r->verdict;
	}
	return (enum cache_verdict)p->dflt;
}

/* ---- the block in the file ---------------------------------------------- */

static int policy_load_block(struct policy_block *B, struct cache_policy *p);

/* Whether c holds p already (its rules, default, settings). */
static bool same_policy(struct cache *c, const struct cache_policy *p)
{
	static struct cache_policy held; /* the CLI's: not signal-safe */

	memset(&held, 0, sizeof held);
	if (policy_load_block(block_of(c), &held) != 1)
		return false;
	return held.nrules == p->nrules && held.dflt == p->dflt &&
	       held.flags == p->flags && held.timeout_ms == p->timeout_ms &&
	       held.used == p->used &&
	       strncmp(held.server, p->server, sizeof held.server) == 0 &&
	       memcmp(held.rule, p->rule, p->nrules * sizeof p->rule[0]) == 0 &&
	       memcmp(held.bytes, p->bytes, p->used) == 0;
}

int cache_policy_store(struct cache *c, const struct cache_policy *p)
{
	struct policy_block *B = block_of(c);

	if (B == NULL)
		return CACHE_E_NOTCACHE;
	if (c->read_only)
		return CACHE_E_RDONLY;
	/* acquire: a policy another run stored is seen whole */
	if (atomic_load_explicit(&B->magic, memory_order_acquire) != 0) {
		if (!same_policy(c, p))
			return CACHE_E_VERSION;
		/* release: as below; a store that stopped between the
		 * magic and the word is completed here */
		atomic_store_explicit(&((struct ctrie_header *)c->hdr)->policy,
				      CTRIE_POLICY_PRESENT,
				      memory_order_release);
		return CACHE_OK;
	}
	B->version = CACHE_POLICY_VERSION;
	B->nrules = p->nrules;
	B->dflt = p->dflt;
	B->flags = p->flags;
	B->timeout_ms = p->timeout_ms;
	B->used = p->used;
	memcpy(B->server, p->server, sizeof B->server);
	B->server[sizeof B->server - 1] = '\0';
	memcpy(B->rule, p->rule, p->nrules * sizeof p->rule[0]);
	memcpy(B->bytes, p->bytes, p->used);
	/* release: every field above is visible to whoever sees the magic */
	atomic_store_explicit(&B->magic, CACHE_POLICY_MAGIC,
			      memory_order_release);
	/* release: the block, magic included, is visible to whoever sees
	 * the header say that there is one */
	atomic_store_explicit(&((struct ctrie_header *)c->hdr)->policy,
			      CTRIE_POLICY_PRESENT, memory_order_release);
	return CACHE_OK;
}

/* n bytes (a multiple of 8, both 8-aligned) from the mapping, word by word. */
static void copy_words(void *dst, const void *src, size_t n)
{
	unsigned char *d = dst;
	const uint64_t *s = src;

	for (size_t i = 0; i < n / 8; i++) {
		uint64_t w = __atomic_load_n(&s[i], __ATOMIC_RELAXED);
		memcpy(d + 8 * i, &w, sizeof w);
	}
}

static bool verdict_ok(uint32_t v, bool ask_ok)
{
	return v == CACHE_VERDICT_ALLOW || v == CACHE_VERDICT_DENY ||
	       (ask_ok && v == CACHE_VERDICT_ASK);
}

/* The checks of a copied policy. */
static bool policy_valid(const struct cache_policy *p)
{
	if (p->nrules > CACHE_POLICY_MAX_RULES ||
	    p->used > CACHE_POLICY_MAX_BYTES || !verdict_ok(p->dflt, true) ||
	    memchr(p->server, '\0', sizeof p->server) == NULL)
		return false;
	for (uint32_t i = 0; i < p->nrules; i++) {
		const struct cache_policy_rule *r = &p->rule[i];
		if (!verdict_ok(r->verdict, true) || r->len == 0 ||
		    r->off > p->used || r->len > p->used - r->off)
			return false;
	}
	return true;
}

int cache_policy_load(struct cache *c, struct cache_policy *p)
{
	return policy_load_block(policy_of(c), p);
}

static int policy_load_block(struct policy_block *B, struct cache_policy *p)
{
	uint32_t head[6] = { 0 };

	/* acquire: pairs with the release store ending cache_policy_store */
	if (B == NULL ||
	    atomic_load_explicit(&B->magic, memory_order_acquire) !=
		    CACHE_POLICY_MAGIC)
		return 0;
	copy_words(head, &B->version, sizeof head);
	if (head[0] != CACHE_POLICY_VERSION)
		return CACHE_E_CORRUPT;
	p->nrules = head[1];
	p->dflt = head[2];
	p->flags = head[3];
	p->timeout_ms = head[4];
	p->used = head[5];
	copy_words(p->server, B->server, sizeof p->server);
	if (p->nrules > CACHE_POLICY_MAX_RULES ||
	    p->used > CACHE_POLICY_MAX_BYTES)
		return CACHE_E_CORRUPT;
	copy_words(p->rule, B->rule,
		   (p->nrules * sizeof p->rule[0] + 7) & ~(size_t)7);
	copy_words(p->bytes, B->bytes, (p->used + 7u) & ~7u);
	return policy_valid(p) ? 1 : CACHE_E_CORRUPT;
}

_Static_assert(sizeof(((struct cache_policy *)0)->server) % 8 == 0 &&
		       offsetof(struct policy_block, server) % 8 == 0 &&
		       offsetof(struct policy_block, version) == 8,
	       "the word copies above read whole words");
_Static_assert(offsetof(struct cache_policy, rule) % 8 == 0 &&
		       offsetof(struct cache_policy, bytes) % 8 == 0 &&
		       sizeof(((struct cache_policy *)0)->rule) % 8 == 0 &&
		       sizeof(((struct cache_policy *)0)->bytes) % 8 == 0,
	       "the private copy takes whole words");

/* ---- counters ----------------------------------------------------------- */

static bool has_policy(struct policy_block *B)
{
	/* acquire: the counters are only used in a block that is one */
	return B != NULL && atomic_load_explicit(&B->magic,
						 memory_order_acquire) ==
				    CACHE_POLICY_MAGIC;
}

uint64_t cache_policy_count(struct cache *c, enum cache_policy_counter which)
{
	struct policy_block *B = policy_of(c);

	if ((unsigned)which >= CACHE_PC_COUNT || c->read_only ||
	    !has_policy(B))
		return 0;
	/* relaxed: a statistic; its value before says who came first */
	return atomic_fetch_add_explicit(&B->counters[which], 1,
					 memory_order_relaxed);
}

int cache_policy_counters(struct cache *c, uint64_t *out)
{
	struct policy_block *B = policy_of(c);

	memset(out, 0, CACHE_PC_COUNT * sizeof *out);
	if (!has_policy(B))
		return 0;
	for (int i = 0; i < CACHE_PC_COUNT; i++)
		/* relaxed: statistics, each read on its own */
		out[i] = atomic_load_explicit(&B->counters[i],
					      memory_order_relaxed);
	return 1;
}

_Atomic uint64_t *cache_policy_answer_slot(struct cache *c, uint64_t hash)
{
	struct policy_block *B = policy_of(c);

	if (c->read_only || !has_policy(B))
		return NULL;
	/* a bucket: CACHE_POLICY_ANSWER_WAYS slots in one cache line */
	return &B->answers[hash % (CACHE_POLICY_ANSWERS /
				   CACHE_POLICY_ANSWER_WAYS) *
			   CACHE_POLICY_ANSWER_WAYS];
}
