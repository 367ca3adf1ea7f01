/*
 * read_cache.c - a client of the installed reader library, built by
 * test_installed.py with `pkg-config --cflags --libs shmcache-reader` from
 * the installed header and library only.
 *
 * Usage: read_cache CACHE [PATH...]
 * Prints, one per line: "count N"; "entry PATH<TAB>OPS<TAB>FAILED<TAB>
 * COUNT" for every entry (OPS: the names of the operations that succeeded
 * and the outcomes, FAILED: those of the operations that failed, each a
 * comma-separated list, "-" when empty); "lookup PATH<TAB>OPS<TAB>FAILED
 * <TAB>COUNT" or "absent PATH" for every PATH; "verify N".  A cache that
 * cannot be opened: "open: CODE MESSAGE" and exit 2.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <shmcache_reader.h>

static void names(uint32_t bits)
{
	int n = 0;
	for (int i = 0; i < 32; i++) {
		const char *name = shmcache_op_name(1u << i);
		if ((bits & (1u << i)) && name != NULL)
			printf("%s%s", n++ ? "," : "", name);
	}
	if (n == 0)
		putchar('-');
}

static void value(uint64_t ops, uint64_t count)
{
	names(shmcache_ops_succeeded(ops) | shmcache_ops_outcomes(ops));
	putchar('\t');
	names(shmcache_ops_failed(ops));
	printf("\t%llu\n", (unsigned long long)count);
}

static int print_entry(const struct shmcache_entry *e, void *arg)
{
	(void)arg;
	if (strlen(e->path) != e->len)
		return 1;
	printf("entry %s\t", e->path);
	value(e->ops, e->count);
	return 0;
}

static void print_problem(const char *problem, void *arg)
{
	(void)arg;
	printf("problem %s\n", problem);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: read_cache CACHE [PATH...]\n");
		return 2;
	}
	int err = 0;
	shmcache *c = shmcache_open(argv[1], &err);
	if (c == NULL) {
		printf("open: %d %s%s%s\n", err, shmcache_strerror(err),
		       err == SHMCACHE_E_SYSTEM ? ": " : "",
		       err == SHMCACHE_E_SYSTEM ? strerror(errno) : "");
		return 2;
	}
	printf("count %lld\n", (long long)shmcache_count(c));
	int r = shmcache_foreach(c, print_entry, NULL);
	if (r != SHMCACHE_OK)
		printf("foreach: %d %s\n", r, shmcache_strerror(r));
	for (int i = 2; i < argc; i++) {
		struct shmcache_entry e;
		r = shmcache_lookup(c, argv[i], &e);
		if (r == 1) {
			printf("lookup %s\t", argv[i]);
			value(e.ops, e.count);
		} else if (r == 0) {
			printf("absent %s\n", argv[i]);
		} else {
			printf("lookup: %d %s\n", r, shmcache_strerror(r));
		}
	}
	printf("verify %ld\n", shmcache_verify(c, print_problem, NULL));
	shmcache_close(c);
	return 0;
}
