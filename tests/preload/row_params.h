/*
 * row_params.h - the parameters of a hooks.def row, split from the text of
 * its declaration ("(int dirfd, const char *path, ...)"), for the probes
 * generated from the table (efault_probe.c, rows_probe.c).
 */
#ifndef SHMCACHE_TEST_ROW_PARAMS_H
#define SHMCACHE_TEST_ROW_PARAMS_H

#include <ctype.h>
#include <stdio.h>
#include <string.h>

/* One parameter: its declaration and its name ("..." for the ellipsis). */
struct param {
	char decl[96], name[32];
};

/* Splits params into at most max parameters; returns how many.  The name
 * is the last identifier of a declaration, before any "[2]". */
static size_t split_params(const char *params, struct param *out, size_t max)
{
	size_t n = 0;
	const char *p = params + 1; /* past '(' */

	while (*p != '\0' && *p != ')' && n < max) {
		const char *s, *e, *q;
		size_t len;

		while (*p == ' ')
			p++;
		s = p;
		while (*p != ',' && *p != ')' && *p != '\0')
			p++;
		len = (size_t)(p - s);
		if (len >= sizeof out[n].decl)
			len = sizeof out[n].decl - 1;
		memcpy(out[n].decl, s, len);
		out[n].decl[len] = '\0';
		e = s + len;
		if ((q = memchr(s, '[', len)) != NULL)
			e = q;
		while (e > s && !(isalnum((unsigned char)e[-1]) || e[-1] == '_' ||
				  e[-1] == '.'))
			e--;
		q = e;
		while (q > s && (isalnum((unsigned char)q[-1]) || q[-1] == '_' ||
				 q[-1] == '.'))
			q--;
		snprintf(out[n].name, sizeof out[n].name, "%.*s", (int)(e - q), q);
		n++;
		if (*p == ',')
			p++;
	}
	return n;
}

#endif /* SHMCACHE_TEST_ROW_PARAMS_H */
