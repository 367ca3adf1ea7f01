/* path.c - lexical path normalisation (see path.h for the choices). */
#include "path.h"

#include <string.h>

/* The common case, a path with no empty, "." or ".." component and no
 * trailing slash, is copied as it is in one pass; anything else (or a
 * result over cap) returns PATH_TOOLONG for the general loop to redo. */
static size_t path_copy_plain(char *out, size_t cap, size_t len, const char *p)
{
	if (*p != '/') {
		if (*p == '.' || len >= cap)
			return PATH_TOOLONG;
		out[len++] = '/';
	}
	for (; *p != '\0'; p++) {
		if (*p == '/' && (p[1] == '/' || p[1] == '.' || p[1] == '\0'))
			return PATH_TOOLONG;
		if (len >= cap)
			return PATH_TOOLONG;
		out[len++] = *p;
	}
	return len;
}

size_t path_join(char *out, size_t cap, size_t len, const char *path)
{
	const char *p = path;
	size_t n;

	if (p == NULL || *p == '\0')
		return 0;
	/* The root is kept as the empty prefix while components are added. */
	if (*p == '/' || (len == 1 && out[0] == '/'))
		len = 0;
	if (!(p[0] == '/' && p[1] == '\0')) {
		n = path_copy_plain(out, cap, len, p);
		if (n != PATH_TOOLONG)
			return n;
	}
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
			return PATH_TOOLONG;
		out[len++] = '/';
		memcpy(out + len, s, n);
		len += n;
	}
	if (len == 0) {
		if (cap == 0)
			return PATH_TOOLONG;
		out[0] = '/';
		len = 1;
	}
	return len;
}
