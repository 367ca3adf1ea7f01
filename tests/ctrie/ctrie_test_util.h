/*
 * ctrie_test_util.h - helpers shared by the ctrie tests: temporary cache
 * files, a reference map, key sets, and a structural census of the trie
 * (through the private layout header, which the tests compile against).
 */
#ifndef CTRIE_TEST_UTIL_H
#define CTRIE_TEST_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctrie_layout.h"

/* A fresh path for a cache file in the temporary directory; unlinked by
 * test_unlink. */
static inline void test_path(char *buf, size_t n, const char *tag)
{
	const char *dir = getenv("TMPDIR");
	static unsigned seq;
	snprintf(buf, n, "%s/ctrie-%s-%ld-%u.shm", dir ? dir : "/tmp", tag,
		 (long)getpid(), seq++);
	unlink(buf);
}

/* ---- keys --------------------------------------------------------------- */

struct keyset {
	unsigned char **key;
	size_t *len;
	size_t n, cap;
};

static inline void keyset_add(struct keyset *ks, const void *k, size_t len)
{
	/* doubling: a sanitizer's realloc copies to fresh pages every time */
	if (ks->n == ks->cap) {
		ks->cap = ks->cap ? ks->cap * 2 : 1024;
		ks->key = realloc(ks->key, ks->cap * sizeof *ks->key);
		ks->len = realloc(ks->len, ks->cap * sizeof *ks->len);
	}
	ks->key[ks->n] = malloc(len + 1);
	memcpy(ks->key[ks->n], k, len);
	ks->key[ks->n][len] = 0;
	ks->len[ks->n] = len;
	ks->n++;
}

static inline void keyset_free(struct keyset *ks)
{
	size_t i;
	for (i = 0; i < ks->n; i++)
		free(ks->key[i]);
	free(ks->key);
	free(ks->len);
	memset(ks, 0, sizeof *ks);
}

/* Real paths from the file system (find over the given root), at most max,
 * in find's order. */
static inline void keyset_find(struct keyset *ks, const char *root, size_t max)
{
	char cmd[256], line[4096];
	FILE *f;
	snprintf(cmd, sizeof cmd, "find %s -xdev 2>/dev/null", root);
	f = popen(cmd, "r");
	if (f == NULL)
		return;
	while (ks->n < max && fgets(line, sizeof line, f) != NULL) {
		size_t l = strlen(line);
		if (l > 0 && line[l - 1] == '\n')
			line[--l] = 0;
		if (l > 0 && l <= cache_max_key())
			keyset_add(ks, line, l);
	}
	pclose(f);
}

static inline uint64_t test_rand(uint64_t *s)
{
	/* xorshift64*: reproducible from the seed */
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * UINT64_C(2685821657736338717);
}

/* ---- a reference map (open addressing, keys copied) -------------------- */

struct ref_ent {
	unsigned char *key;
	size_t len;
	uint64_t ops;
	uint64_t count;
	int seen;
};

struct ref_map {
	struct ref_ent *t;
	size_t cap, n;
};

static inline uint64_t ref_hash(const unsigned char *k, size_t len)
{
	uint64_t h = 1469598103934665603u;
	size_t i;
	for (i = 0; i < len; i++)
		h = (h ^ k[i]) * 1099511628211u;
	return h;
}

/* The slot of key k in m: its entry, or the empty slot where it goes. */
static inline struct ref_ent *ref_slot(const struct ref_map *m,
				       const unsigned char *k, size_t len)
{
	size_t i;
	for (i = ref_hash(k, len) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
		struct ref_ent *e = &m->t[i];
		if (e->key == NULL ||
		    (e->len == len && memcmp(e->key, k, len) == 0))
			return e;
	}
}

/* Doubles m's table, moving the entries (their keys stay where they are). */
static inline void ref_grow(struct ref_map *m)
{
	size_t cap = m->cap ? m->cap * 2 : 1024, i;
	struct ref_map g = { calloc(cap, sizeof(struct ref_ent)), cap, m->n };
	for (i = 0; i < m->cap; i++)
		if (m->t[i].key != NULL)
			*ref_slot(&g, m->t[i].key, m->t[i].len) = m->t[i];
	free(m->t);
	*m = g;
}

static inline struct ref_ent *ref_find(struct ref_map *m,
				       const unsigned char *k, size_t len,
				       int create)
{
	struct ref_ent *e;
	if (create && (m->n + 1) * 2 > m->cap)
		ref_grow(m);
	if (m->cap == 0)
		return NULL;
	e = ref_slot(m, k, len);
	if (e->key == NULL) {
		if (!create)
			return NULL;
		e->key = malloc(len + 1);
		memcpy(e->key, k, len);
		e->len = len;
		m->n++;
	}
	return e;
}

static inline void ref_free(struct ref_map *m)
{
	size_t i;
	for (i = 0; i < m->cap; i++)
		free(m->t[i].key);
	free(m->t);
	memset(m, 0, sizeof *m);
}

/* ---- census of the trie ------------------------------------------------- */

struct census {
	size_t inodes, cnodes, snodes, lnodes;
	unsigned max_level;
};

static inline void census_cnode(const struct cache *c, uint32_t ref,
				unsigned level, struct census *cs)
{
	const struct ctrie_cnode *cn =
		SHM_ARENA_ADDR(&c->arena, ctrie_ref_off(ref));
	unsigned i, n = ctrie_popcount(cn->bitmap);
	cs->cnodes++;
	if (level > cs->max_level)
		cs->max_level = level;
	for (i = 0; i < n; i++) {
		shm_offt ch = ctrie_ref_off(cn->child[i]);
		const uint32_t *h = SHM_ARENA_ADDR(&c->arena, ch);
		switch (CTRIE_TAG(*h)) {
		case TAG_INODE:
			cs->inodes++;
			census_cnode(c, ctrie_main_ref(
					     atomic_load(&((const struct ctrie_inode *)
								   (const void *)h)
								  ->main),
					     level + 1),
				     level + 1, cs);
			break;
		case TAG_LNODE:
			cs->lnodes++;
			cs->snodes += CTRIE_LEN(*h);
			break;
		default:
			cs->snodes++;
		}
	}
}

/* Only on a trie that cache_verify found clean. */
static inline struct census census_of(const struct cache *c)
{
	struct census cs = { 0, 0, 0, 0, 0 };
	uint32_t i, ref;
	for (i = 0; i < CTRIE_TOP_SLOTS; i++)
		if ((ref = atomic_load(&ctrie_hdr(c)->top[i])) != 0)
			census_cnode(c, ref, CTRIE_TOP_LEVEL, &cs);
	return cs;
}

/* The allocator's bytes in use that the cache's figures do not explain:
 * every byte is in a live node, a retired one, slack, the unused rest of
 * the current S-node chunk, or the next chunk.  0 after any run in which no
 * process died. */
static inline long long bytes_unaccounted(struct cache *c)
{
	struct cache_stats st;
	shm_offt at = atomic_load(&ctrie_hdr(c)->carve);
	shm_offt next = ctrie_next_chunk(atomic_load(&ctrie_hdr(c)->next_chunk));
	size_t used = (size_t)(at & (CTRIE_CHUNK - 1));
	long long rest = used ? (long long)(CTRIE_CHUNK - used) : 0;
	if (next != SHM_NULL && next != ctrie_cursor_chunk(at))
		rest += (long long)CTRIE_CHUNK;
	if (cache_stats(c, &st, true) != CACHE_OK)
		return -1;
	return (long long)st.arena.bytes_in_use -
	       (long long)(st.live_bytes + st.retired_bytes + st.slack_bytes) -
	       rest;
}

static inline void print_problem(const char *p, void *arg)
{
	(void)arg;
	fprintf(stderr, "verify: %s\n", p);
}

#endif
