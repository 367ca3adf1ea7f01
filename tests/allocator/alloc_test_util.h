/*
 * alloc_test_util.h - helpers shared by the allocator tests: temporary
 * paths, block patterns, and a checker of the bitmap invariants.
 */
#ifndef ALLOC_TEST_UTIL_H
#define ALLOC_TEST_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shm_layout.h"

/* A fresh path in a fresh private directory (the file does not exist). */
static inline void tmp_path(char *buf, size_t len, const char *name)
{
	char dir[] = "/tmp/shm_alloc_test_XXXXXX";
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		abort();
	}
	snprintf(buf, len, "%s/%s", dir, name);
}

static inline void tmp_cleanup(const char *path)
{
	char dir[512];
	unlink(path);
	snprintf(dir, sizeof dir, "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash) {
		*slash = '\0';
		rmdir(dir);
	}
}

/* Fills n bytes at p with a pattern derived from tag. */
static inline void pattern_fill(void *p, size_t n, unsigned tag)
{
	unsigned char *c = p;
	for (size_t i = 0; i < n; i++)
		c[i] = (unsigned char)(tag * 31u + i);
}

static inline int pattern_ok(const void *p, size_t n, unsigned tag)
{
	const unsigned char *c = p;
	for (size_t i = 0; i < n; i++)
		if (c[i] != (unsigned char)(tag * 31u + i))
			return 0;
	return 1;
}

/* Block size of a request, as the allocator rounds it. */
static inline size_t rounded(size_t n)
{
	size_t b = (size_t)1 << MIN_ALLOC_POW2;
	while (b < n)
		b <<= 1;
	return b;
}

/* Number of block words breaking the buddy invariant (a set node whose
 * children are not both set).  Below the watermark only: the pages above
 * it may not exist (on a full filesystem, touching them is SIGBUS). */
static inline size_t bitmap_violations(const struct shm_arena *a)
{
	size_t bad = 0;
	_Atomic shm_offt *words = (_Atomic shm_offt *)(a->map + SHM_WORDS_OFF);
	shm_offt top = shm_touched(a->map);
	for (shm_offt b = 0; b < top; b++) {
		shm_offt w = atomic_load(&words[b]);
		if (w == 0)
			continue;
		for (unsigned j = 0; j < SHM_D; j++)
			for (unsigned i = 0; i < (1u << j); i++) {
				shm_offt one = 1;
				if (!(w & (one << (SHM_LVL_OFF(j) + i))))
					continue;
				if (!(w & (one << (SHM_LVL_OFF(j + 1) + 2 * i))) ||
				    !(w & (one << (SHM_LVL_OFF(j + 1) + 2 * i + 1))))
					bad++;
			}
		if (w >> (2 * SHM_LEAVES - 1))
			bad++;
	}
	return bad;
}

#endif
