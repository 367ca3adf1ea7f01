/* test_key.c - the lexical normaliser (cache_key_join) on its own. */
#define _DEFAULT_SOURCE 1 /* MAP_ANONYMOUS */
#include <criterion/criterion.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ctrie_cache.h"

static char out[64];

/* Joins path to base (NULL: none) and returns the key as a string, or
 * "<toolong>" / "<none>". */
static const char *join(const char *base, const char *path, size_t cap)
{
	size_t blen = base ? strlen(base) : 0;
	size_t n;

	memset(out, '#', sizeof out);
	if (base)
		memcpy(out, base, blen);
	n = cache_key_join(out, cap, blen, path);
	if (n == CACHE_KEY_TOOLONG)
		return "<toolong>";
	if (n == 0)
		return "<none>";
	cr_assert(n <= cap);
	out[n] = '\0';
	return out;
}

#define J(base, path, want) \
	cr_expect_str_eq(join(base, path, sizeof out - 1), want, "%s + %s", \
			 base ? base : "(none)", path)

Test(path, absolute_plain)
{
	J(NULL, "/", "/");
	J(NULL, "/a/b", "/a/b");
	J("/cwd", "/a", "/a");
}

Test(path, slashes_and_dots)
{
	J(NULL, "//a///b//", "/a/b");
	J(NULL, "/./a/./b/.", "/a/b");
	J(NULL, "/a/b/../c", "/a/c");
	J(NULL, "/a/b/../../..", "/");
	J(NULL, "/..", "/");
	J(NULL, "/../../x", "/x");
	J(NULL, "/a/..b/.c/...", "/a/..b/.c/...");
	J(NULL, "/a/b.", "/a/b.");
	J("/w", ".hidden/x", "/w/.hidden/x");
	J("/w", "..x", "/w/..x");
	J("/w", "a//b/", "/w/a/b");
}

Test(path, relative_to_base)
{
	J("/home/u", "x", "/home/u/x");
	J("/home/u", "./x/", "/home/u/x");
	J("/home/u", "..", "/home");
	J("/home/u", "../../..", "/");
	J("/home/u", ".", "/home/u");
	J("/", "x", "/x");
	J("/", "..", "/");
	J("/", ".", "/");
}

Test(path, trailing_slash)
{
	J(NULL, "/a/b/", "/a/b");
	J("/w", "d/", "/w/d");
}

Test(path, empty_or_null)
{
	J(NULL, "", "<none>");
	J("/w", "", "<none>");
	cr_expect_eq(cache_key_join(out, sizeof out, 0, NULL), 0);
}

Test(path, overlong)
{
	char big[200];

	memset(big, 'a', sizeof big - 1);
	big[0] = '/';
	big[sizeof big - 1] = '\0';
	cr_expect_str_eq(join(NULL, big, sizeof out - 1), "<toolong>");
	/* Exactly fitting, and one over. */
	cr_expect_str_eq(join(NULL, "/abc", 4), "/abc");
	cr_expect_str_eq(join(NULL, "/abcd", 4), "<toolong>");
	cr_expect_str_eq(join("/ab", "c", 4), "<toolong>");
	cr_expect_str_eq(join("/ab", "c", 5), "/ab/c");
	/* ".." that brings the result back under the limit still fits... */
	cr_expect_str_eq(join(NULL, "/ab/../cd", 9), "/cd");
	/* ...but the string is read no further than cap + 1 bytes: one with
	 * no NUL there is too long, whatever it would fold to. */
	cr_expect_str_eq(join(NULL, "/ab/../cd", 4), "<toolong>");
	cr_expect_str_eq(join(NULL, "/", 0), "<toolong>");
}

/* A string that runs into an unreadable page is read no further than
 * cap + 1 bytes: too long, no fault. */
Test(path, bounded_read)
{
	long pg = sysconf(_SC_PAGESIZE);
	char *m = mmap(NULL, 2 * (size_t)pg, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char dst[64];

	cr_assert(m != MAP_FAILED);
	memset(m, 'a', (size_t)pg);
	m[pg - 40] = '/';
	cr_assert_eq(mprotect(m + pg, (size_t)pg, PROT_NONE), 0);
	cr_expect_eq(cache_key_join(dst, 39, 0, m + pg - 40), CACHE_KEY_TOOLONG);
	cr_expect_eq(cache_key_join(dst, 38, 0, m + pg - 39), CACHE_KEY_TOOLONG);
	memcpy(dst, "/w", 2);
	cr_expect_eq(cache_key_join(dst, 38, 2, m + pg - 39), CACHE_KEY_TOOLONG);
	munmap(m, 2 * (size_t)pg);
}

/* The path may be a copy at the end of out: the key is written behind it. */
Test(path, in_place)
{
	static const struct { const char *base, *path, *want; } cases[] = {
		{ NULL, "/a/b", "/a/b" },
		{ NULL, "//a/./b/../c//", "/a/c" },
		{ "/cwd", "x/y", "/cwd/x/y" },
		{ "/cwd/sub", "../x//./y/", "/cwd/x/y" },
		{ "/", "x", "/x" },
		{ "/abcdefgh", "i", "/abcdefgh/i" },
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char buf[24];
		size_t blen = cases[i].base ? strlen(cases[i].base) : 0;
		size_t plen = strlen(cases[i].path) + 1, n;
		char *p = buf + sizeof buf - plen;

		memset(buf, '#', sizeof buf);
		memcpy(p, cases[i].path, plen);
		if (blen)
			memcpy(buf, cases[i].base, blen);
		cr_assert(blen + 1 <= (size_t)(p - buf));
		n = cache_key_join(buf, sizeof buf, blen, p);
		cr_assert(n != CACHE_KEY_TOOLONG && n != 0, "%s", cases[i].path);
		cr_expect(n == strlen(cases[i].want) &&
				  memcmp(buf, cases[i].want, n) == 0,
			  "%s + %s: %.*s", cases[i].base ? cases[i].base : "",
			  cases[i].path, (int)n, buf);
	}
}

/* A reference: split on '/', fold with a stack of components. */
static size_t reference(char *dst, const char *base, const char *path)
{
	const char *comp[256];
	size_t clen[256], nc = 0, n = 0;
	const char *srcs[2] = { path[0] == '/' ? "" : base, path };

	for (int s = 0; s < 2; s++) {
		const char *p = srcs[s];
		while (*p) {
			const char *b;
			while (*p == '/')
				p++;
			if (!*p)
				break;
			b = p;
			while (*p && *p != '/')
				p++;
			if (p - b == 1 && b[0] == '.')
				continue;
			if (p - b == 2 && b[0] == '.' && b[1] == '.') {
				if (nc > 0)
					nc--;
				continue;
			}
			comp[nc] = b;
			clen[nc++] = (size_t)(p - b);
		}
	}
	for (size_t i = 0; i < nc; i++) {
		dst[n++] = '/';
		memcpy(dst + n, comp[i], clen[i]);
		n += clen[i];
	}
	if (n == 0)
		dst[n++] = '/';
	return n;
}

Test(path, random_against_reference)
{
	static const char *const parts[] = { "a", "bc", "def", ".", "..", "",
					      ".x", "..y", "z.", "longer-name_1" };
	static char got[600], want[600], path[400];
	unsigned seed = 12345;

	for (int iter = 0; iter < 20000; iter++) {
		size_t n = 0, k, glen, wlen;
		int parts_n;
		const char *base = (iter & 1) ? "/base/dir" : "/";

		seed = seed * 1103515245u + 12345u;
		parts_n = 1 + (int)((seed >> 16) % 12);
		if (seed & 0x100)
			path[n++] = '/';
		for (int i = 0; i < parts_n; i++) {
			seed = seed * 1103515245u + 12345u;
			k = (seed >> 16) % (sizeof parts / sizeof parts[0]);
			memcpy(path + n, parts[k], strlen(parts[k]));
			n += strlen(parts[k]);
			if (i + 1 < parts_n || (seed & 0x200))
				path[n++] = '/';
		}
		path[n] = '\0';
		if (n == 0)
			continue;
		memcpy(got, base, strlen(base));
		glen = cache_key_join(got, sizeof got, strlen(base), path);
		wlen = reference(want, base, path);
		cr_assert(glen != CACHE_KEY_TOOLONG && glen != 0, "%s", path);
		cr_assert(glen == wlen && memcmp(got, want, wlen) == 0,
			  "%s + %s: got %.*s, want %.*s", base, path, (int)glen,
			  got, (int)wlen, want);
	}
}
