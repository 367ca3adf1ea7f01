/*
 * cmd_violations.c - `shmcache violations [--json] CACHE`: what a sandboxed
 * run was denied (calls not made, CACHE_OP_VIOLATION), what the decision
 * server could not decide (allowed, CACHE_DECIDED_UNKNOWN), and the
 * sandbox's counters.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static const char *const violations_help =
	"Usage: shmcache violations [--json] CACHE\n"
	"The paths a sandboxed run (run --policy/--allow/--deny/--ask) was\n"
	"denied: each call naming one was not made and failed with ENOENT.\n"
	"Then the paths the decision server could not decide (no answer, or\n"
	"'unknown'), which were allowed.  Lines: 'denied' or 'unknown', the\n"
	"operations tried (ls's letters), the path.  Exits 1 when a path was\n"
	"denied, 0 when none was.\n\n"
	"  --json      one JSON object: the counters, \"denied\" and \"unknown\"\n"
	"  -h, --help  this help\n";

static bool is_denied(const struct entry *e)
{
	return (e->ops & CACHE_OP_VIOLATION) != 0;
}

static bool is_unknown(const struct entry *e)
{
	return (e->ops & CACHE_DECIDED_UNKNOWN) != 0;
}

static const char *const counter_names[CACHE_PC_COUNT] = {
	[CACHE_PC_ASKS] = "server_round_trips",
	[CACHE_PC_DOUBLE_ASKS] = "double_asks",
	[CACHE_PC_UNKNOWN] = "unknown_answers",
	[CACHE_PC_SERVER_ERRORS] = "server_errors",
	[CACHE_PC_DENIED_CALLS] = "denied_calls",
};

static void print_json_list(const struct entry_list *l, bool (*pick)(
					    const struct entry *))
{
	bool first = true;

	putchar('[');
	for (size_t i = 0; i < l->n; i++) {
		if (!pick(&l->v[i]))
			continue;
		fputs(first ? "\n  " : ",\n  ", stdout);
		json_entry_open(stdout, &l->v[i]);
		putchar('}');
		first = false;
	}
	fputs(first ? "]" : "\n]", stdout);
}

static void print_json(const struct entry_list *l, bool policy,
		       const uint64_t *counters)
{
	printf("{\"policy\": %s", policy ? "true" : "false");
	for (int i = 0; i < CACHE_PC_COUNT; i++)
		if (counter_names[i] != NULL)
			printf(", \"%s\": %llu", counter_names[i],
			       (unsigned long long)counters[i]);
	fputs(", \"denied\": ", stdout);
	print_json_list(l, is_denied);
	fputs(", \"unknown\": ", stdout);
	print_json_list(l, is_unknown);
	fputs("}\n", stdout);
}

static void print_text(const struct entry_list *l)
{
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < l->n; i++) {
			const struct entry *e = &l->v[i];
			char letters[OPS_LETTERS_MAX];
			if (!(pass == 0 ? is_denied(e) : is_unknown(e)))
				continue;
			ops_letters(e->ops, letters);
			printf("%-7s %s ", pass == 0 ? "denied" : "unknown",
			       letters);
			print_path_escaped(stdout, e->path, e->len);
			putchar('\n');
		}
}

/* The entries of the cache at path, and its counters. */
static bool load(const char *path, struct entry_list *l, bool *policy,
		 uint64_t *counters)
{
	struct cache c;
	bool ok;

	if (!cli_open_cache(path, &c))
		return false;
	*policy = cache_policy_counters(&c, counters) == 1;
	ok = cli_load_entries(&c, path, l);
	cache_detach(&c);
	return ok;
}

bool violations_count(const char *path, uint64_t *denied, uint64_t *unknown)
{
	struct entry_list l = { 0 };
	uint64_t counters[CACHE_PC_COUNT];
	bool policy;

	*denied = *unknown = 0;
	if (!load(path, &l, &policy, counters)) {
		entry_list_free(&l);
		return false;
	}
	for (size_t i = 0; i < l.n; i++) {
		*denied += is_denied(&l.v[i]);
		*unknown += is_unknown(&l.v[i]);
	}
	entry_list_free(&l);
	return true;
}

int cmd_violations(int argc, char **argv)
{
	struct entry_list l = { 0 };
	uint64_t counters[CACHE_PC_COUNT];
	bool json = false, policy, any = false;
	int rc = cli_simple_opts(argc, argv, violations_help, &json);

	if (rc != -1)
		return rc;
	if (!load(argv[optind], &l, &policy, counters)) {
		entry_list_free(&l);
		return EXIT_USAGE;
	}
	if (json)
		print_json(&l, policy, counters);
	else
		print_text(&l);
	for (size_t i = 0; i < l.n; i++)
		any |= is_denied(&l.v[i]);
	entry_list_free(&l);
	return any ? EXIT_NEGATIVE : EXIT_OK;
}
