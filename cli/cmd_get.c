/*
 * cmd_get.c - `shmcache get CACHE PATH...`: each path made into the key the
 * shim records and looked up, printed as ls prints an entry (the counts
 * of all the paths found right-aligned in one column).
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char *const get_help =
	"Usage: shmcache get [OPTIONS] CACHE PATH...\n"
	"Look each PATH up (normalised as the shim does: made absolute against\n"
	"the current directory, '//', '.' and '..' folded, symlinks not\n"
	"resolved) and print its entry as ls does.  Exit 1 if one is absent.\n\n"
	"  -j, --json         JSON Lines; an absent path gives {\"path\", \"absent\": true}\n"
	"  -h, --help         this help\n";

/* The keys looked up, in the order given; count is UINT64_MAX for a key
 * that is absent. */
#define ABSENT UINT64_MAX

/* Looks every path up into l.  Returns EXIT_OK, or EXIT_USAGE after saying
 * why (the lookups before stay in l). */
static int look_up_all(struct cache *cache, const char *path, char **paths,
		       int n, struct entry_list *l)
{
	for (int i = 0; i < n; i++) {
		char *key = path_normalize(paths[i]);
		if (key == NULL) {
			cli_error("%s: cannot normalise", paths[i]);
			return EXIT_USAGE;
		}
		struct cache_entry ce;
		int r = cache_lookup(cache, key, strlen(key), &ce);
		bool added = r >= 0 &&
			     entry_list_add(l, (unsigned char *)key,
					    strlen(key), r == 1 ? ce.ops : 0,
					    r == 1 ? ce.count : ABSENT);
		free(key);
		if (r < 0) {
			cli_error("%s: corrupt: %s (try 'shmcache verify')",
				  path, cache_strerror(r));
			return EXIT_USAGE;
		}
		if (!added) {
			cli_error("out of memory");
			return EXIT_USAGE;
		}
	}
	return EXIT_OK;
}

/* The width of the widest count of the entries found. */
static int found_width(const struct entry_list *l)
{
	int w = 1;
	for (size_t i = 0; i < l->n; i++) {
		int d = 1;
		for (uint64_t c = l->v[i].count; c >= 10; c /= 10)
			d++;
		if (l->v[i].count != ABSENT && d > w)
			w = d;
	}
	return w;
}

/* Prints every result; returns EXIT_NEGATIVE when one is absent. */
static int print_results(const struct entry_list *l, bool json)
{
	int width = found_width(l), rc = EXIT_OK;
	for (size_t i = 0; i < l->n; i++) {
		const struct entry *e = &l->v[i];
		if (e->count != ABSENT) {
			if (json) {
				json_entry_open(stdout, e);
				fputs("}\n", stdout);
			} else {
				print_entry_line(stdout, e, width);
			}
			continue;
		}
		if (json) {
			fputc('{', stdout);
			json_path_fields(stdout, e->path, e->len);
			fputs(", \"absent\": true}\n", stdout);
		}
		cli_error("%s: not in the cache", (const char *)e->path);
		rc = EXIT_NEGATIVE;
	}
	return rc;
}

int cmd_get(int argc, char **argv)
{
	bool json = false;
	int rc = cli_json_opts(argc, argv, get_help, &json);
	if (rc != -1)
		return rc;
	if (argc - optind < 2)
		return cli_usage_error(argv[0], "expected CACHE and at least one PATH");
	const char *path = argv[optind];
	struct cache cache;
	if (!cli_open_cache(path, &cache))
		return EXIT_USAGE;
	struct entry_list l = { 0 };
	rc = look_up_all(&cache, path, argv + optind + 1,
			     argc - optind - 1, &l);
	int found = print_results(&l, json);
	if (rc == EXIT_OK)
		rc = found;
	entry_list_free(&l);
	cache_detach(&cache);
	return rc;
}
