/*
 * cmd_verify.c - `shmcache verify CACHE`: every invariant of a cache's
 * structure checked without writing it, one line per problem, each
 * prefixed with the cache's name as the header's problems are.
 */
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

static const char *const verify_help =
	"Usage: shmcache verify CACHE\n"
	"Check every invariant of the structure of CACHE without writing it.\n"
	"Exit 0 when clean, 1 with one line per problem ('CACHE: problem')\n"
	"when damaged, 2 when the file is not a cache at all (missing, bad\n"
	"magic, other version, other owner).\n\n"
	"  -h, --help         this help\n";

struct problems {
	const char *path; /* the cache's name, for each line */
	long seen;
};

static void report_problem(const char *problem, void *arg)
{
	struct problems *p = arg;
	p->seen++;
	cli_print_name(stdout, p->path, ": ");
	print_path_escaped(stdout, (const unsigned char *)problem,
			   strlen(problem));
	putchar('\n');
}

/* Attaches path for the check.  Damage the header checks already found is
 * a verdict: said, and *verdict set to the exit code. */
static bool attach_for_verify(const char *path, struct cache *cache,
			      int *verdict)
{
	memset(cache, 0, sizeof *cache);
	struct stat st;
	bool big = lstat(path, &st) == 0 && S_ISREG(st.st_mode) &&
		   st.st_size >= 4096;
	int r = big ? cache_attach(cache, path, CACHE_ATTACH_RDONLY)
		    : CACHE_E_ARENA;
	if (r == CACHE_E_CORRUPT || (r == CACHE_E_ARENA &&
	    (cache->arena_err == SHM_E_CORRUPT ||
	     cache->arena_err == SHM_E_SIZE))) {
		cli_print_name(stdout, path, ": header: %s\n",
			       r == CACHE_E_CORRUPT
				       ? cache_strerror(r)
				       : shm_strerror(cache->arena_err));
		cli_print_name(stdout, path, ": corrupt (1 problem)\n");
		*verdict = EXIT_NEGATIVE;
		return false;
	}
	/* Not a cache at all: cli_open_cache says why as every command
	 * does. */
	if (r != CACHE_OK && !cli_open_cache(path, cache)) {
		*verdict = EXIT_USAGE;
		return false;
	}
	return true;
}

int cmd_verify(int argc, char **argv)
{
	int rc = cli_simple_opts(argc, argv, verify_help, NULL);
	if (rc >= 0)
		return rc;
	const char *path = argv[optind];
	struct cache cache;
	if (!attach_for_verify(path, &cache, &rc))
		return rc;
	struct problems seen = { path, 0 };
	long problems = cache_verify(&cache, report_problem, &seen);
	cache_detach(&cache);
	if (problems < 0) {
		cli_error("%s: cannot verify: %s", path,
			  cache_strerror((int)problems));
		return EXIT_USAGE;
	}
	if (problems == 0) {
		cli_print_name(stdout, path, ": clean\n");
		return EXIT_OK;
	}
	cli_print_name(stdout, path, ": corrupt (%ld problem%s)\n", problems,
		       problems == 1 ? "" : "s");
	return EXIT_NEGATIVE;
}
