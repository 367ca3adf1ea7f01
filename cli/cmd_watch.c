/*
 * cmd_watch.c - `shmcache watch CACHE`: a live view of a cache being
 * filled (entries, records per second, newest paths), redrawn on a
 * terminal, one line per refresh elsewhere.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

static const char *const watch_help =
	"Usage: shmcache watch [OPTIONS] CACHE\n"
	"Live view of CACHE: entries, records per second, newest paths.  On a\n"
	"terminal the screen is redrawn; otherwise one line per refresh.\n"
	"Stops when the cache file is removed or replaced.\n\n"
	"  -n, --interval SEC refresh period in seconds (default 1)\n"
	"  -c, --count N      stop after N refreshes (default: until killed)\n"
	"  -h, --help         this help\n";

#define WATCH_RECENT 10

struct watch_opts {
	double interval;
	long count;        /* refreshes; 0: until killed */
	const char *path;
};

/* Returns -1 to go on, or the exit code. */
static int parse_watch_opts(int argc, char **argv, struct watch_opts *o)
{
	static const struct option longopts[] = {
		{ "interval", required_argument, NULL, 'n' },
		{ "count", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	char *end;
	*o = (struct watch_opts){ .interval = 1.0 };
	while ((c = getopt_long(argc, argv, "n:c:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'n':
			o->interval = strtod(optarg, &end);
			if (*end != '\0' ||
			    !(o->interval >= 0.01 && o->interval <= 3600))
				return cli_usage_error(argv[0],
					"--interval: a number of seconds "
					"from 0.01 to 3600");
			break;
		case 'c':
			o->count = strtol(optarg, &end, 10);
			if (*end != '\0' || o->count < 1)
				return cli_usage_error(argv[0],
					"--count: a positive number");
			break;
		case 'h':
			fputs(watch_help, stdout);
			return EXIT_OK;
		default:
			return cli_usage_error(argv[0], "bad usage");
		}
	}
	if (optind + 1 != argc)
		return cli_usage_error(argv[0], "expected one CACHE argument");
	o->path = argv[optind];
	return -1;
}

/* One refresh: a redrawn screen on a terminal, else one line. */
static void draw(const struct watch_opts *o, bool tty,
		 const struct live_sample *s, double rate,
		 const struct cache_entry *recent, size_t n)
{
	if (tty) {
		fputs("\033[H\033[2Jshmcache watch ", stdout);
		cli_print_name(stdout, o->path, " (every %gs)\n\n",
			       o->interval);
	}
	printf(tty ? "entries %llu   records %llu   %.0f records/s   "
		     "skipped %llu\n\nnewest:\n" :
		     "entries=%llu records=%llu rate=%.0f/s "
		     "skipped=%llu newest=",
	       (unsigned long long)s->entries,
	       (unsigned long long)s->records, rate,
	       (unsigned long long)s->skipped);
	for (size_t i = 0; i < (tty ? n : n > 0); i++) {
		struct entry e = { (unsigned char *)recent[i].key,
				   recent[i].len, recent[i].ops,
				   recent[i].count };
		if (tty)
			print_entry_line(stdout, &e, 6);
		else
			print_path_escaped(stdout, e.path, e.len);
	}
	if (!tty)
		putchar('\n');
	fflush(stdout);
}

/* True when the file at path is not the one first seen: removed, or
 * another file under its name. */
static bool replaced(const char *path, const struct stat *first)
{
	struct stat cur;
	return stat(path, &cur) != 0 || cur.st_ino != first->st_ino ||
	       cur.st_dev != first->st_dev;
}

static int watch_loop(const struct watch_opts *o, struct cache *cache,
		      const struct stat *first)
{
	bool tty = isatty(STDOUT_FILENO);
	struct live_sample prev, cur;
	for (long tick = 0; o->count == 0 || tick < o->count; tick++) {
		if (tick > 0)
			live_sleep(o->interval);
		if (!live_sample(cache, &cur)) {
			cli_error("%s: corrupt (try 'shmcache verify')",
				  o->path);
			return EXIT_USAGE;
		}
		struct cache_entry recent[WATCH_RECENT];
		size_t n = cache_recent(cache, recent, WATCH_RECENT);
		draw(o, tty, &cur, live_rate(tick > 0 ? &prev : NULL, &cur),
		     recent, n);
		prev = cur;
		if (replaced(o->path, first)) {
			cli_print_name(stdout, o->path,
				       ": removed or replaced; stopping\n");
			break;
		}
	}
	return EXIT_OK;
}

int cmd_watch(int argc, char **argv)
{
	struct watch_opts o;
	int rc = parse_watch_opts(argc, argv, &o);
	if (rc >= 0)
		return rc;
	struct stat first;
	struct cache cache;
	if (stat(o.path, &first) != 0 || !cli_open_cache(o.path, &cache)) {
		if (errno == ENOENT)
			cli_error("%s: missing: no such file", o.path);
		return EXIT_USAGE;
	}
	rc = watch_loop(&o, &cache, &first);
	cache_detach(&cache);
	return rc;
}
