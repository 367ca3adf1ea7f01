/*
 * cmd_stats.c - stats, verify and watch: the figures of a cache, its
 * structure check, and a live view of one being filled.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

static const char *const stats_help =
	"Usage: shmcache stats [OPTIONS] CACHE\n"
	"Figures of CACHE: entries, key bytes, records, live, retired and slack\n"
	"bytes, inserts skipped and why, allocator use per size class, file\n"
	"size, format version.\n\n"
	"  -j, --json         one JSON object\n"
	"  -h, --help         this help\n";

/* The cache's name as the user gave it, escaped as paths are, then
 * the rest of a line. */
static void name_then(FILE *f, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void name_then(FILE *f, const char *path, const char *fmt, ...)
{
	va_list ap;
	print_path_escaped(f, (const unsigned char *)path, strlen(path));
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
}

static void stats_text(const char *path, const struct cache_stats *s)
{
	const struct shm_stats *a = &s->arena;
	fputs("cache:              ", stdout);
	name_then(stdout, path, "\n");
	printf("format version:     %lu\n", (unsigned long)s->format_version);
	printf("file size:          %zu bytes\n", a->file_size);
	printf("entries:            %llu\n", (unsigned long long)s->entries);
	printf("key bytes:          %llu\n", (unsigned long long)s->key_bytes);
	printf("records:            %llu\n", (unsigned long long)s->records);
	printf("live bytes:         %llu\n", (unsigned long long)s->live_bytes);
	printf("retired bytes:      %llu\n",
	       (unsigned long long)s->retired_bytes);
	printf("skipped, too long:  %llu\n",
	       (unsigned long long)s->skipped_toolong);
	printf("skipped, full:      %llu\n",
	       (unsigned long long)s->skipped_full);
	printf("lost races:         %llu\n", (unsigned long long)s->lost_races);
	printf("slack bytes:        %llu\n",
	       (unsigned long long)s->slack_bytes);
	printf("arena size:         %zu bytes\n", a->arena_size);
	printf("arena bytes in use: %zu\n", a->bytes_in_use);
	printf("max blocks:         %zu total, %zu touched, %zu full\n",
	       a->max_blocks_total, a->max_blocks_touched, a->max_blocks_full);
	printf("failed allocations: %llu\n",
	       (unsigned long long)a->failed_allocs);
	printf("bad frees:          %llu\n", (unsigned long long)a->bad_frees);
	printf("size class     blocks in use        bytes\n");
	for (int i = 0; i < SHM_NCLASSES; i++)
		printf("  %8zu  %15zu  %11zu\n", a->block_size[i],
		       a->blocks_in_use[i], a->block_size[i] * a->blocks_in_use[i]);
}

static void stats_json(const char *path, const struct cache_stats *s)
{
	const struct shm_stats *a = &s->arena;
	fputs("{\"cache\": ", stdout);
	json_string(stdout, (const unsigned char *)path, strlen(path));
	printf(", \"format_version\": %lu, \"file_size\": %zu, "
	       "\"entries\": %llu, \"key_bytes\": %llu, \"records\": %llu, "
	       "\"live_bytes\": %llu, \"retired_bytes\": %llu, "
	       "\"skipped_toolong\": %llu, \"skipped_full\": %llu, "
	       "\"lost_races\": %llu, \"slack_bytes\": %llu, ",
	       (unsigned long)s->format_version, a->file_size,
	       (unsigned long long)s->entries, (unsigned long long)s->key_bytes,
	       (unsigned long long)s->records,
	       (unsigned long long)s->live_bytes,
	       (unsigned long long)s->retired_bytes,
	       (unsigned long long)s->skipped_toolong,
	       (unsigned long long)s->skipped_full,
	       (unsigned long long)s->lost_races,
	       (unsigned long long)s->slack_bytes);
	printf("\"arena\": {\"arena_size\": %zu, \"bytes_in_use\": %zu, "
	       "\"max_blocks_total\": %zu, \"max_blocks_touched\": %zu, "
	       "\"max_blocks_full\": %zu, \"failed_allocs\": %llu, "
	       "\"bad_frees\": %llu, \"classes\": [",
	       a->arena_size, a->bytes_in_use, a->max_blocks_total,
	       a->max_blocks_touched, a->max_blocks_full,
	       (unsigned long long)a->failed_allocs,
	       (unsigned long long)a->bad_frees);
	for (int i = 0; i < SHM_NCLASSES; i++)
		printf("%s{\"block_size\": %zu, \"blocks_in_use\": %zu}",
		       i ? ", " : "", a->block_size[i], a->blocks_in_use[i]);
	puts("]}}");
}

/* Options of the commands that take only --json and --help. */
static int simple_opts(int argc, char **argv, const char *help, bool *json)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	while ((c = getopt_long(argc, argv, json ? "jh" : "h", longopts,
				NULL)) != -1) {
		if (c == 'j' && json != NULL) {
			*json = true;
		} else if (c == 'h') {
			fputs(help, stdout);
			return EXIT_OK;
		} else {
			return cli_usage_error(argv[0], "bad usage");
		}
	}
	if (optind + 1 != argc)
		return cli_usage_error(argv[0], "expected one CACHE argument");
	return -1;
}

int cmd_stats(int argc, char **argv)
{
	bool json = false;
	int rc = simple_opts(argc, argv, stats_help, &json);
	if (rc >= 0)
		return rc;
	const char *path = argv[optind];
	struct cache cache;
	if (!cli_open_cache(path, &cache))
		return EXIT_USAGE;
	struct cache_stats st;
	int r = cache_stats(&cache, &st, true);
	cache_detach(&cache);
	if (r != CACHE_OK) {
		cli_error("%s: corrupt: %s (try 'shmcache verify')", path,
			  cache_strerror(r));
		return EXIT_USAGE;
	}
	if (json)
		stats_json(path, &st);
	else
		stats_text(path, &st);
	return EXIT_OK;
}

static const char *const verify_help =
	"Usage: shmcache verify CACHE\n"
	"Check every invariant of the structure of CACHE without writing it.\n"
	"Exit 0 when clean, 1 with one line per problem when damaged, 2 when\n"
	"the file is not a cache at all (missing, bad magic, other version,\n"
	"other owner).\n\n"
	"  -h, --help         this help\n";

static void report_problem(const char *problem, void *arg)
{
	long *n = arg;
	(*n)++;
	print_path_escaped(stdout, (const unsigned char *)problem,
			   strlen(problem));
	putchar('\n');
}

int cmd_verify(int argc, char **argv)
{
	int rc = simple_opts(argc, argv, verify_help, NULL);
	if (rc >= 0)
		return rc;
	const char *path = argv[optind];
	struct cache cache;
	memset(&cache, 0, sizeof cache);
	struct stat st;
	bool big = lstat(path, &st) == 0 && S_ISREG(st.st_mode) &&
		   st.st_size >= 4096;
	int r = big ? cache_attach(&cache, path, CACHE_ATTACH_RDONLY)
		    : CACHE_E_ARENA;
	if (r == CACHE_E_CORRUPT || (r == CACHE_E_ARENA &&
	    (cache.arena_err == SHM_E_CORRUPT || cache.arena_err == SHM_E_SIZE))) {
		/* Damage already found by the header checks: a verdict. */
		name_then(stdout, path, ": header: %s\n",
			  r == CACHE_E_CORRUPT ? cache_strerror(r)
					       : shm_strerror(cache.arena_err));
		name_then(stdout, path, ": corrupt (1 problem)\n");
		return EXIT_NEGATIVE;
	}
	if (r != CACHE_OK) {
		/* Not a cache at all: say why as every command does. */
		if (!cli_open_cache(path, &cache))
			return EXIT_USAGE;
	}
	long seen = 0;
	long problems = cache_verify(&cache, report_problem, &seen);
	cache_detach(&cache);
	if (problems == 0) {
		name_then(stdout, path, ": clean\n");
		return EXIT_OK;
	}
	name_then(stdout, path, ": corrupt (%ld problem%s)\n", problems,
		  problems == 1 ? "" : "s");
	return EXIT_NEGATIVE;
}

static const char *const watch_help =
	"Usage: shmcache watch [OPTIONS] CACHE\n"
	"Live view of CACHE: entries, records per second, newest paths.  On a\n"
	"terminal the screen is redrawn; otherwise one line per refresh.\n"
	"Stops when the cache file is removed or replaced.\n\n"
	"  -n, --interval SEC refresh period in seconds (default 1)\n"
	"  -c, --count N      stop after N refreshes (default: until killed)\n"
	"  -h, --help         this help\n";

static double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_seconds(double s)
{
	struct timespec ts = { (time_t)s, (long)((s - (double)(time_t)s) * 1e9) };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

#define WATCH_RECENT 10

int cmd_watch(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "interval", required_argument, NULL, 'n' },
		{ "count", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	double interval = 1.0;
	long count = 0;
	int c;
	char *end;
	while ((c = getopt_long(argc, argv, "n:c:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'n':
			interval = strtod(optarg, &end);
			if (*end != '\0' || !(interval >= 0.01 && interval <= 3600))
				return cli_usage_error(argv[0],
					"--interval: a number of seconds "
					"from 0.01 to 3600");
			break;
		case 'c':
			count = strtol(optarg, &end, 10);
			if (*end != '\0' || count < 1)
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
	const char *path = argv[optind];
	struct stat st0, st1;
	struct cache cache;
	if (stat(path, &st0) != 0 || !cli_open_cache(path, &cache)) {
		if (errno == ENOENT)
			cli_error("%s: missing: no such file", path);
		return EXIT_USAGE;
	}
	bool tty = isatty(STDOUT_FILENO);
	uint64_t last_records = 0;
	double last_t = 0;
	int rc = EXIT_OK;
	for (long tick = 0; count == 0 || tick < count; tick++) {
		if (tick > 0)
			sleep_seconds(interval);
		struct cache_stats s;
		/* records is the sum of the hit counters: it needs the walk. */
		if (cache_stats(&cache, &s, true) != CACHE_OK) {
			cli_error("%s: corrupt (try 'shmcache verify')", path);
			rc = EXIT_USAGE;
			break;
		}
		double t = now_seconds();
		double rate = tick == 0 ? 0 :
			(double)(s.records - last_records) / (t - last_t);
		last_records = s.records;
		last_t = t;
		struct cache_entry recent[WATCH_RECENT];
		size_t n = cache_recent(&cache, recent, WATCH_RECENT);
		unsigned long long skipped = s.skipped_full + s.skipped_toolong;
		/* A terminal gets a redrawn screen, anything else a line. */
		if (tty) {
			fputs("\033[H\033[2Jshmcache watch ", stdout);
			name_then(stdout, path, " (every %gs)\n\n", interval);
		}
		printf(tty ? "entries %llu   records %llu   %.0f records/s   "
			     "skipped %llu\n\nnewest:\n" :
			     "entries=%llu records=%llu rate=%.0f/s "
			     "skipped=%llu newest=",
		       (unsigned long long)s.entries,
		       (unsigned long long)s.records, rate, skipped);
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
		if (stat(path, &st1) != 0 || st1.st_ino != st0.st_ino ||
		    st1.st_dev != st0.st_dev) {
			name_then(stdout, path,
				  ": removed or replaced; stopping\n");
			break;
		}
	}
	cache_detach(&cache);
	return rc;
}
