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
 * cannot be opened: "open: CODE MESSAGE" and exit 2.  With READ_CACHE_TIGHT
 * set, verify runs with the address space capped at what the process
 * already uses, so that it cannot allocate anything new.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

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

/* Caps the address space at its current size (from /proc/self/statm). */
static void cap_address_space(void)
{
	unsigned long pages = 0;
	FILE *f = fopen("/proc/self/statm", "r");
	if (f == NULL || fscanf(f, "%lu", &pages) != 1) {
		perror("/proc/self/statm");
		exit(2);
	}
	fclose(f);
	rlim_t size = (rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE);
	struct rlimit rl = { size, size };
	if (setrlimit(RLIMIT_AS, &rl) != 0) {
		perror("setrlimit");
		exit(2);
	}
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
	fflush(stdout);
	if (getenv("READ_CACHE_TIGHT") != NULL)
		cap_address_space();
	printf("verify %ld\n", shmcache_verify(c, print_problem, NULL));
	shmcache_close(c);
	return 0;
}
