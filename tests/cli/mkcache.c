/*
 * mkcache.c - test helper: records chosen keys into a cache, so that the
 * reading commands can be tested on exact contents (odd bytes, newlines,
 * counts) and in builds where the shim cannot be preloaded (ASan).
 *
 * Usage: mkcache CACHE < records
 * Each record is "OPS<TAB>KEY" terminated by a NUL byte; OPS is a list of
 * operation names as `shmcache ls --ops` takes them.  A record given twice
 * counts twice.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctrie_cache.h"

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: mkcache CACHE < records\n");
		return 2;
	}
	struct cache c;
	int r = cache_attach(&c, argv[1], CACHE_ATTACH_CREATE);
	if (r != CACHE_OK) {
		fprintf(stderr, "mkcache: %s: %s (%s)\n", argv[1],
			cache_strerror(r), shm_strerror(c.arena_err));
		return 1;
	}
	char *rec = NULL;
	size_t cap = 0;
	ssize_t n;
	int rc = 0;
	while ((n = getdelim(&rec, &cap, '\0', stdin)) > 0) {
		if (rec[n - 1] == '\0')
			n--;
		char *tab = memchr(rec, '\t', (size_t)n);
		if (tab == NULL) {
			fprintf(stderr, "mkcache: record without a tab\n");
			rc = 1;
			break;
		}
		*tab = '\0';
		uint32_t ops = 0;
		const char *bad = NULL;
		if (cache_ops_parse(rec, &ops, &bad) != 0) {
			fprintf(stderr, "mkcache: bad ops '%s'\n", rec);
			rc = 1;
			break;
		}
		size_t klen = (size_t)(rec + n - (tab + 1));
		r = cache_record(&c, tab + 1, klen, ops);
		if (r != CACHE_OK && r != CACHE_E_TOOLONG) {
			fprintf(stderr, "mkcache: record: %s\n", cache_strerror(r));
			rc = 1;
			break;
		}
	}
	free(rec);
	cache_detach(&c);
	return rc;
}
