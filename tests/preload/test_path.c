/* test_path.c - the lexical normaliser (preload/path.c) on its own. */
#include <criterion/criterion.h>
#include <string.h>

#include "path.h"

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
	n = path_join(out, cap, blen, path);
	if (n == PATH_TOOLONG)
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
	cr_expect_eq(path_join(out, sizeof out, 0, NULL), 0);
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
	/* ".." that brings the result back under the limit still fits. */
	cr_expect_str_eq(join(NULL, "/ab/../cd", 4), "/cd");
	cr_expect_str_eq(join(NULL, "/", 0), "<toolong>");
}
