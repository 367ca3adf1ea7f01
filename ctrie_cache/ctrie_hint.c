/*
 * ctrie_hint.c - cache_record_hinted: cache_record with a one-entry memo of
 * the last key's S-node, kept by the caller (the preload shim keeps one per
 * thread: programs stat or open the same path many times in a row); and
 * cache_hint_record, the same hit for a caller whose string is the key.
 *
 * Why a remembered offset is enough: S-nodes are permanent (ctrie_core.c),
 * a key has exactly one S-node forever, and a hint is only ever filled from
 * an S-node a search found published.  So an offset that still holds an
 * S-node of this handle's file with exactly the key's bytes is that key's
 * S-node, wherever the trie has grown since.  The offset comes from a hint
 * the caller may have torn (a signal handler recording in between), and the
 * file is untrusted: it is checked like any offset read from the file
 * (bounds, alignment, kind, length, extent) and the key bytes are compared;
 * anything else is a miss (see hint_miss).
 */
#include "ctrie_layout.h"

/* A fingerprint of a key: its length and its first and last eight bytes
 * (or all of it), never 0.  Equal keys have equal fingerprints. */
static uint64_t hint_print(const unsigned char *key, size_t len)
{
	uint64_t a = 0, b = 0;

	if (len >= 8) {
		memcpy(&a, key, 8);
		memcpy(&b, key + len - 8, 8);
	} else {
		memcpy(&a, key, len);
	}
	return ((a * UINT64_C(0x9e3779b97f4a7c15)) ^ b ^ len) | 1;
}

/* The cache's entry count.  Relaxed: a statistic, compared only. */
static uint64_t entries_of(const struct cache *c)
{
	return atomic_load_explicit(&ctrie_hdr(c)->entries,
				    memory_order_relaxed);
}

/* cache_record for the key missed last (fingerprint in hint->missed); a
 * refusal as full is remembered with the key's full hash (a fingerprint
 * may match another key, which may be present) and what would tell that
 * room may have appeared since: the allocator's token, and the entry count
 * (another process may have stored the key).  The token is stored last, so
 * that a signal handler recording in between sees no refusal, or a
 * complete one (a torn set can only cost one refusal, counted). */
static int record_noting_refusal(struct cache *c, const void *key,
				 size_t len, uint64_t ops,
				 struct cache_hint *hint)
{
	int r = cache_record(c, key, len, ops);
	shm_offt token;

	if (r == CACHE_E_FULL &&
	    (token = shm_arena_full_token(&c->arena)) != 0) {
		/* relaxed: the hint's words are this thread's */
		atomic_store_explicit(&hint->refused_at, entries_of(c),
				      memory_order_relaxed);
		atomic_store_explicit(&hint->refused_hash,
				      ctrie_hash(key, len),
				      memory_order_relaxed);
		atomic_store_explicit(&hint->refused, token,
				      memory_order_relaxed);
	}
	return r;
}

/* Whether key, the key missed last and refused as full, would be refused
 * again: the same full hash, and the allocator has seen no room and no key
 * was added since.  Then it is counted as refused (skipped_full), as
 * cache_record counts it. */
static bool refused_again(struct cache *c, const void *key, size_t len,
			  const struct cache_hint *hint)
{
	/* relaxed: the hint's words are this thread's */
	shm_offt token = atomic_load_explicit(&hint->refused,
					      memory_order_relaxed);

	if (token == 0 || shm_arena_full_token(&c->arena) != token ||
	    entries_of(c) != atomic_load_explicit(&hint->refused_at,
						  memory_order_relaxed) ||
	    ctrie_hash(key, len) != atomic_load_explicit(&hint->refused_hash,
							 memory_order_relaxed))
		return false;
	/* relaxed: a statistic */
	atomic_fetch_add_explicit(&ctrie_hdr(c)->skipped_full, 1,
				  memory_order_relaxed);
	return true;
}

/* The miss.  A key that differs from the last one missed goes straight to
 * cache_record (one search; a walk of new paths never searches twice) and
 * is remembered by its fingerprint.  The same key missed again is refused
 * at once if it was refused as full and nothing changed since (a full
 * cache costs no more than a hit), else looked up (a lookup reads the
 * mapping only, no system call: errno stays as it is) and the hint is
 * refilled from it; absent after all (a fingerprint that matched another
 * key, or a key refused), it goes to cache_record.  Out of line, so that
 * the hit runs without its frame. */
static __attribute__((noinline)) int hint_miss(struct cache *c,
					       const void *key, size_t len,
					       uint64_t ops,
					       struct cache_hint *hint)
{
	const struct ctrie_snode *s;
	struct cache_entry e;
	uint64_t fp = hint_print(key, len);
	int r;

	/* relaxed: the hint's words are this thread's */
	if (atomic_load_explicit(&hint->missed, memory_order_relaxed) != fp) {
		atomic_store_explicit(&hint->refused, 0, memory_order_relaxed);
		atomic_store_explicit(&hint->missed, fp, memory_order_relaxed);
		return record_noting_refusal(c, key, len, ops, hint);
	}
	if (refused_again(c, key, len, hint))
		return CACHE_E_FULL;
	r = cache_lookup(c, key, len, &e);
	if (r != 1)
		return r == 0 ? record_noting_refusal(c, key, len, ops, hint)
			      : r;
	s = (const struct ctrie_snode *)(const void *)(e.key - CTRIE_SNODE_HDR);
	ctrie_snode_merge(s, ops);
	/* The owner last: a handler that interrupts here sees an owner that
	 * does not match yet, or a stale pair that fails the checks. */
	atomic_store_explicit(&hint->owner, NULL, memory_order_relaxed);
	atomic_store_explicit(&hint->snode,
			      (shm_offt)((const char *)s -
					 (const char *)SHM_ARENA_ADDR(&c->arena,
								      0)),
			      memory_order_relaxed);
	atomic_store_explicit(&hint->len, len, memory_order_relaxed);
	atomic_store_explicit(&hint->owner, c->hdr, memory_order_relaxed);
	atomic_store_explicit(&hint->missed, 0, memory_order_relaxed);
	atomic_store_explicit(&hint->refused, 0, memory_order_relaxed);
	return CACHE_OK;
}

int cache_record_hinted(struct cache *c, const void *key, size_t len,
			uint64_t ops, struct cache_hint *hint)
{
	const struct ctrie_snode *s;
	size_t slen;

	/* relaxed: see ctrie_corrupt; the hint's words are this thread's */
	if (hint == NULL || c == NULL || c->hdr == NULL || c->read_only ||
	    len == 0 || len > CACHE_KEY_MAX ||
	    atomic_load_explicit(&c->broken, memory_order_relaxed))
		return cache_record(c, key, len, ops);
	if (atomic_load_explicit(&hint->owner, memory_order_relaxed) == c->hdr &&
	    atomic_load_explicit(&hint->len, memory_order_relaxed) == len) {
		s = ctrie_snode_at(c, atomic_load_explicit(&hint->snode,
							   memory_order_relaxed),
				   &slen);
		if (s != NULL && slen == len && memcmp(s->key, key, len) == 0) {
			ctrie_snode_merge(s, ops);
			return CACHE_OK;
		}
	}
	return hint_miss(c, key, len, ops, hint);
}

/* Whether a[0..n) == b[0..n), both readable for n bytes: eight bytes at a
 * time, inline (the keys compared here are short, and a libc call costs a
 * jump through the PLT on the hook's cold path). */
static inline bool same_bytes(const char *a, const unsigned char *b, size_t n)
{
	uint64_t x, y, diff = 0;

	if (n < 8) {
		for (size_t i = 0; i < n; i++)
			diff |= (uint64_t)((unsigned char)a[i] ^ b[i]);
		return diff == 0;
	}
	for (size_t i = 0; i + 8 < n; i += 8) {
		memcpy(&x, a + i, 8);
		memcpy(&y, b + i, 8);
		diff |= x ^ y;
	}
	/* the last eight bytes, overlapping the words before */
	memcpy(&x, a + n - 8, 8);
	memcpy(&y, b + n - 8, 8);
	return (diff | (x ^ y)) == 0;
}

/* The node hint names if str is exactly its key, else NULL; *len is the
 * key's length.  Every word of the hint is checked as an offset of the file
 * would be (the hint may be torn or garbage). */
static inline const struct ctrie_snode *
hint_node(const struct cache *c, const struct cache_hint *hint,
	  const char *str, size_t *len)
{
	const struct ctrie_snode *s;
	size_t n;

	/* relaxed: the hint's words are this thread's */
	if (c == NULL || c->hdr == NULL || c->read_only ||
	    atomic_load_explicit(&hint->owner, memory_order_relaxed) != c->hdr)
		return NULL;
	n = atomic_load_explicit(&hint->len, memory_order_relaxed);
	/* ctrie_snode_at's checks, with the length known: one compare of the
	 * header word stands for its kind and length checks. */
	if (n == 0 || n > CACHE_KEY_MAX ||
	    (s = ctrie_at(c, atomic_load_explicit(&hint->snode,
						  memory_order_relaxed),
			  CTRIE_SNODE_HDR + n)) == NULL ||
	    CTRIE_LOAD(s->hdr) != (TAG_SNODE | (uint32_t)n << 8))
		return NULL;
	/* str's length first (strnlen stops at its NUL and at n + 1), then
	 * the bytes: str is never read past its end, even where a writer of
	 * the file put a NUL inside the stored key (strncmp would stop there
	 * and take a shorter str for a match). */
	if (strnlen(str, n + 1) != n || !same_bytes(str, s->key, n))
		return NULL;
	*len = n;
	return s;
}

/* hot: kept next to the shim's wrappers that call it (see SHIM_HOT). */
__attribute__((hot)) size_t
cache_hint_record(struct cache *c, const struct cache_hint *hint,
		  const char *str, uint64_t ops, const unsigned char **key)
{
	size_t len;
	const struct ctrie_snode *s;

	/* relaxed: see ctrie_corrupt */
	if (c == NULL || atomic_load_explicit(&c->broken, memory_order_relaxed))
		return 0;
	s = hint_node(c, hint, str, &len);
	if (s == NULL)
		return 0;
	ctrie_snode_merge(s, ops);
	*key = s->key;
	return len;
}
