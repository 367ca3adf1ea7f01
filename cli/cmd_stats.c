/*
 * cmd_stats.c - `shmcache stats CACHE`: the figures of a cache and of its
 * allocator, as text or one JSON object.
 */
#include <string.h>
#include <unistd.h>

#include "cli.h"

static const char *const stats_help =
	"Usage: shmcache stats [OPTIONS] CACHE\n"
	"Figures of CACHE: entries, key bytes, records, live, retired and slack\n"
	"bytes, inserts skipped and why, allocator use per size class, file\n"
	"size, format version.\n\n"
	"  -j, --json         one JSON object\n"
	"  -h, --help         this help\n";

static void stats_text(const char *path, const struct cache_stats *s)
{
	const struct shm_stats *a = &s->arena;
	fputs("cache:              ", stdout);
	cli_print_name(stdout, path, "\n");
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

int cmd_stats(int argc, char **argv)
{
	bool json = false;
	int rc = cli_simple_opts(argc, argv, stats_help, &json);
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
