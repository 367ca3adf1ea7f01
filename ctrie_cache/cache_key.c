/* cache_key.c - the lexical normaliser that makes keys (contract in ctrie_cache.h). */
#include "ctrie_cache.h"

#include <stdint.h>
#include <string.h>

/* 0x80 in each byte of w equal to the byte in pat (all bytes of pat alike),
 * 0 elsewhere; exact (no borrow between bytes). */
static inline uint64_t bytes_equal(uint64_t w, uint64_t pat)
{
	const uint64_t low7 = 0x7f7f7f7f7f7f7f7fULL;
	uint64_t x = w ^ pat;

	return ~(((x & low7) + low7) | x | low7);
}

/* Whether p[0..n) has a slash followed by a slash or a dot: then the path
 * has an empty, "." or ".." component, or a hidden name, and goes the
 * general way.  Eight pairs at a time, the last eight overlapping the ones
 * before (p[n - 1] is not looked at as a first byte: a trailing slash is
 * checked by the caller, and p[n] is the NUL). */
static int has_slash_pair(const char *p, size_t n)
{
	/* '/' is 0x2f and '.' 0x2e: with bit 0 set, both read as '/' */
	const uint64_t slash = 0x2f2f2f2f2f2f2f2fULL, one = 0x0101010101010101ULL;
	uint64_t bad = 0, a, b;
	size_t i;

	if (n < 9) {
		for (i = 0; i + 1 < n; i++)
			if (p[i] == '/' && (p[i + 1] | 1) == '/')
				return 1;
		return 0;
	}
	for (i = 0; i + 9 <= n; i += 8) {
		memcpy(&a, p + i, 8);
		memcpy(&b, p + i + 1, 8);
		bad |= bytes_equal(a, slash) & bytes_equal(b | one, slash);
	}
	memcpy(&a, p + n - 9, 8);
	memcpy(&b, p + n - 8, 8);
	bad |= bytes_equal(a, slash) & bytes_equal(b | one, slash);
	return bad != 0;
}

/* The common case, a path of n bytes with no empty, "." or ".." component
 * and no trailing slash, is copied as it is; anything else (or a result over
 * cap) returns CACHE_KEY_TOOLONG for the general loop to redo.  memmove: p may lie
 * in out, ahead of where the copy goes (see ctrie_cache.h). */
static size_t path_copy_plain(char *out, size_t cap, size_t len, const char *p,
			      size_t n)
{
	if (*p != '/') {
		if (*p == '.')
			return CACHE_KEY_TOOLONG;
		if (len >= cap)
			return CACHE_KEY_TOOLONG;
		out[len++] = '/';
	}
	if (n > cap - len || p[n - 1] == '/' || has_slash_pair(p, n))
		return CACHE_KEY_TOOLONG;
	memmove(out + len, p, n);
	return len + n;
}

/* The general way: component by component.  Out of line, so that the
 * common case above runs without saving registers for it. */
static __attribute__((noinline)) size_t path_fold(char *out, size_t cap,
						  size_t len, const char *p)
{
	size_t n;

	while (*p != '\0') {
		const char *s;

		while (*p == '/')
			p++;
		if (*p == '\0')
			break;
		s = p;
		while (*p != '\0' && *p != '/')
			p++;
		n = (size_t)(p - s);
		if (n == 1 && s[0] == '.')
			continue;
		if (n == 2 && s[0] == '.' && s[1] == '.') {
			while (len > 0 && out[--len] != '/')
				;
			continue;
		}
		if (n + 1 > cap || len > cap - n - 1)
			return CACHE_KEY_TOOLONG;
		out[len++] = '/';
		memmove(out + len, s, n);
		len += n;
	}
	if (len == 0) {
		if (cap == 0)
			return CACHE_KEY_TOOLONG;
		out[0] = '/';
		len = 1;
	}
	return len;
}

size_t cache_key_join(char *out, size_t cap, size_t len, const char *path)
{
	const char *p = path;
	size_t n;

	if (p == NULL || *p == '\0')
		return 0;
	/* Never read past what a key of cap bytes takes with its NUL: a
	 * caller may know only that many to be readable (the kernel read more
	 * and found no end). */
	n = strnlen(p, cap + 1);
	if (n > cap)
		return CACHE_KEY_TOOLONG;
	/* The root is kept as the empty prefix while components are added. */
	if (*p == '/' || (len == 1 && out[0] == '/'))
		len = 0;
	if (!(p[0] == '/' && p[1] == '\0')) {
		size_t r = path_copy_plain(out, cap, len, p, n);
		if (r != CACHE_KEY_TOOLONG)
			return r;
	}
	return path_fold(out, cap, len, p);
}
