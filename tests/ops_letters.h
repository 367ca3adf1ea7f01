/*
 * ops_letters.h - a value word as the tests print it: the letters of the
 * succeeded operations and outcomes, then "/" and the letters of the
 * operations that failed, if any ("rwE/c").  Shared by the end-to-end
 * harness (tests/preload/e2e.c) and the reliability checker.
 */
#ifndef SHMCACHE_TEST_OPS_LETTERS_H
#define SHMCACHE_TEST_OPS_LETTERS_H

#include <stdint.h>

#include "ctrie_cache.h"

/* out needs room for 66 bytes. */
static inline void ops_letters(uint64_t ops, char *out)
{
	const uint32_t failed = cache_ops_failed(ops);
	size_t n = 0;

	for (unsigned b = 0; b < 32; b++)
		if (((uint32_t)ops & (1u << b)) && cache_op_letter(1u << b))
			out[n++] = cache_op_letter(1u << b);
	if (failed != 0)
		out[n++] = '/';
	for (unsigned b = 0; b < 32; b++)
		if ((failed & (1u << b)) && cache_op_letter(1u << b))
			out[n++] = cache_op_letter(1u << b);
	out[n] = '\0';
}

#endif /* SHMCACHE_TEST_OPS_LETTERS_H */
