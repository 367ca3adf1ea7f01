/* path.c - lexical path normalisation (see path.h for the choices). */
#include "path.h"

#include <string.h>

size_t path_join(char *out, size_t cap, size_t len, const char *path)
{
	const char *p = path;

	if (p == NULL || *p == '\0')
		return 0;
	/* The root is kept as the empty prefix while components are added. */
	if (*p == '/' || (len == 1 && out[0] == '/'))
		len = 0;
	while (*p != '\0') {
		const char *s;
		size_t n;

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
