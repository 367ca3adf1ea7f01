/*
 * fullcache - a cache whose small arena fills up, through the ctrie API
 * (built with a small MAX_ALLOCATABLE_SHM_SIZE).
 *
 *   fullcache DIR
 *
 * Records distinct keys until 1000 in a row are refused (a refusal comes
 * when no block of the size a node needs is left, so a smaller node may
 * still fit after a few refusals): every refused key is counted in
 * skipped_full, exactly, and every accepted one in entries; keys already
 * present still merge their bits and counts (no allocation needed); every
 * accepted key is still found; verify is clean; a second process sees the
 * same figures.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ctrie_cache.h"

#define MAX_KEYS 1000000

static size_t key_of(unsigned i, char *buf, size_t cap)
{
	int n = snprintf(buf, cap, "/full/dir%u/file-%u.o", i % 97, i);
	return n < 0 ? 0 : (size_t)n;
}

int main(int argc, char **argv)
{
	struct cache c;
	struct cache_stats st;
	struct cache_entry e;
	char path[4096], key[128];
	static unsigned char accepted[MAX_KEYS];
	unsigned i, stored = 0, dropped = 0, in_a_row = 0, lost = 0, failed = 0;
	int rc, status;
	pid_t pid;

	if (argc != 2) {
		fprintf(stderr, "usage: fullcache DIR\n");
		return 2;
	}
	snprintf(path, sizeof path, "%s/fullcache-%d.cache", argv[1], (int)getpid());
	unlink(path);
	memset(&c, 0, sizeof c);
	if (cache_attach(&c, path, CACHE_ATTACH_CREATE) != CACHE_OK) {
		printf("cannot create %s\n", path);
		return 2;
	}
	/* fill: stop after 1000 refusals in a row */
	for (i = 0; in_a_row < 1000 && i < MAX_KEYS; i++) {
		rc = cache_record(&c, key, key_of(i, key, sizeof key),
				  CACHE_OP_READ);
		if (rc == CACHE_OK) {
			accepted[i] = 1;
			stored++;
			in_a_row = 0;
		} else if (rc == CACHE_E_FULL) {
			dropped++;
			in_a_row++;
		} else {
			printf("record %u: %s after %u stored, %u dropped\n", i,
			       cache_strerror(rc), stored, dropped);
			failed = 1;
			break;
		}
	}
	if (cache_stats(&c, &st, false) != CACHE_OK ||
	    st.skipped_full != dropped || st.entries != stored) {
		printf("stats: entries %" PRIu64 " skipped_full %" PRIu64
		       ", expected %u and %u\n", st.entries, st.skipped_full,
		       stored, dropped);
		failed = 1;
	}
	for (i = 0; i < MAX_KEYS; i++) {
		size_t len = key_of(i, key, sizeof key);
		if (!accepted[i])
			continue;
		if (cache_record(&c, key, len, CACHE_OP_WRITE) != CACHE_OK ||
		    cache_lookup(&c, key, len, &e) != 1 ||
		    e.ops != (CACHE_OP_READ | CACHE_OP_WRITE) || e.count != 2)
			lost++;
	}
	if (lost) {
		printf("%u of %u stored keys lost or not merged when full\n",
		       lost, stored);
		failed = 1;
	}
	if (cache_verify(&c, NULL, NULL) != 0) {
		printf("verify of the full cache found problems\n");
		failed = 1;
	}
	pid = fork();
	if (pid == 0) {
		struct cache d;
		struct cache_stats ds;
		memset(&d, 0, sizeof d);
		_exit(cache_attach(&d, path, CACHE_ATTACH_RDONLY) == CACHE_OK &&
		      cache_stats(&d, &ds, true) == CACHE_OK &&
		      ds.skipped_full == dropped && ds.entries == stored ? 0 : 1);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid || status != 0) {
		printf("another process does not see the same figures\n");
		failed = 1;
	}
	printf("fullcache: arena of %zu bytes full after %u keys; %u records "
	       "dropped and counted; stored keys still merge: %s\n",
	       (size_t)MAX_ALLOCATABLE_SHM_SIZE, stored, dropped,
	       lost ? "no" : "yes");
	cache_detach(&c);
	unlink(path);
	return failed;
}
