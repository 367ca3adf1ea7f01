/*
 * stress_keys.h - the keys of the crash and hostile tests: key number k
 * gives one path, the same in every process, of a length that varies with k
 * (short paths, deep paths, and long ones near the cache's maximum).
 */
#ifndef STRESS_KEYS_H
#define STRESS_KEYS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Writes key k into buf (cap bytes) and returns its length, at most max. */
static inline size_t stress_key(uint32_t k, char *buf, size_t cap, size_t max)
{
	int n = snprintf(buf, cap, "/stress/d%u/%08x/file-%u.c", k % 37,
			 (unsigned)(k * 2654435761u), k);
	size_t len = n < 0 ? 0 : (size_t)n;

	if (len >= cap)
		len = cap - 1;
	if (k % 13 == 0) {
		/* a long key: pad with a pattern up to a length set by k */
		size_t want = 100 + (k * 7919u) % (max > 100 ? max - 100 : 1);
		if (want >= cap)
			want = cap - 1;
		while (len < want) {
			buf[len] = (char)('a' + (len + k) % 26);
			len++;
		}
	}
	return len > max ? max : len;
}

/* xorshift64*: the tests' random numbers, reproducible from a seed. */
static inline uint64_t stress_rand(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1DULL;
}

#endif /* STRESS_KEYS_H */
