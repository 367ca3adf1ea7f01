/*
 * cmd_ls.c - the listing commands: ls, inputs, outputs, get.
 *
 * inputs and outputs are what a build tool asks for:
 * Both count the operations that succeeded only (cache_ops_succeeded):
 * a failed mkdir -p on an existing directory, an unlink of nothing, a
 * link onto a taken name change nothing.
 *  - outputs: every path the run changed: written, created, truncated,
 *    renamed to, made (mkdir, mknod; the new name of a link or symlink has
 *    the create bit, its target does not), its attributes changed, or
 *    removed (unlink, rmdir, renamed away); each marked with whether it
 *    exists now.
 *  - inputs: every path the run read (read, exec, opendir, readlink, load
 *    by the dynamic loader) with at least one success and never changed as
 *    above; with --all also the paths it only examined (stat, access,
 *    chdir), looked for in vain, or only tried to read.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

#define OPS_CHANGED                                                     \
	(CACHE_OP_WRITE | CACHE_OP_CREATE | CACHE_OP_TRUNCATE |         \
	 CACHE_OP_RENAME_TO | CACHE_OP_MKDIR | CACHE_OP_MKNOD |         \
	 CACHE_OP_CHATTR | CACHE_OP_UNLINK | CACHE_OP_RMDIR |           \
	 CACHE_OP_RENAME_FROM)
#define OPS_READ                                                        \
	(CACHE_OP_READ | CACHE_OP_EXEC | CACHE_OP_OPENDIR |             \
	 CACHE_OP_READLINK | CACHE_OP_LOAD)
#define OPS_EXAMINED (CACHE_OP_STAT | CACHE_OP_ACCESS | CACHE_OP_CHDIR)

enum list_kind { LIST_LS, LIST_INPUTS, LIST_OUTPUTS };

struct list_opts {
	enum list_kind kind;
	bool json, nul, all, existing;
	uint32_t ops;          /* --ops / --missing: any of these bits */
	char *prefix;          /* normalised --prefix */
};

static const char *const ls_help =
	"Usage: shmcache ls [OPTIONS] CACHE\n"
	"List the entries of CACHE sorted by path: two columns of operation\n"
	"letters, hit count, path (escaped C-style so that each entry is one\n"
	"line).  The first column: operations that succeeded, then outcomes\n"
	"(E exists, ! missing, P denied, ? failed); the second: operations\n"
	"tried that failed.  One letter position per operation, '-' if none.\n\n"
	"  -j, --json         JSON Lines: {\"path\", [\"path_b64\"], \"ops\",\n"
	"                     \"failed\", \"count\"}\n"
	"  -0, --null         paths only, raw bytes, each followed by NUL\n"
	"      --ops LIST     entries with any of these operations, succeeded\n"
	"                     or failed (read,write,...)\n"
	"      --missing      entries seen missing (same as --ops missing)\n"
	"      --prefix DIR   entries at or below DIR\n"
	"  -h, --help         this help\n";

static const char *const inputs_help =
	"Usage: shmcache inputs [OPTIONS] CACHE\n"
	"Paths the run read (read, exec, opendir, readlink, load) with success\n"
	"and never changed with success.  Each line: '+' (exists now) or '-',\n"
	"then the path.\n\n"
	"  -a, --all          also paths only examined (stat, access, chdir),\n"
	"                     seen missing, or tried in vain\n"
	"  -j, --json         JSON Lines, with \"exists\": true|false\n"
	"  -0, --null         paths only, raw bytes, each followed by NUL\n"
	"      --prefix DIR   paths at or below DIR\n"
	"  -h, --help         this help\n";

static const char *const outputs_help =
	"Usage: shmcache outputs [OPTIONS] CACHE\n"
	"Paths the run changed with success: written, created, truncated,\n"
	"renamed to or from, made, linked, attributes changed, or removed\n"
	"(a change that failed, as mkdir of an existing directory, is not\n"
	"one).  Each line: '+'\n"
	"(exists now) or '-' (does not), then the path.\n\n"
	"  -e, --existing     only the paths that exist now\n"
	"  -j, --json         JSON Lines, with \"exists\": true|false\n"
	"  -0, --null         paths only, raw bytes, each followed by NUL\n"
	"      --prefix DIR   paths at or below DIR\n"
	"  -h, --help         this help\n";

static bool path_exists(const struct entry *e)
{
	struct stat st;
	if (memchr(e->path, '\0', e->len) != NULL)
		return false;
	return lstat((const char *)e->path, &st) == 0;
}

static bool selected(const struct list_opts *o, const struct entry *e)
{
	if (o->prefix != NULL && !path_under(e->path, e->len, o->prefix))
		return false;
	const uint32_t done = cache_ops_succeeded(e->ops);
	const uint32_t tried = done | cache_ops_failed(e->ops);
	switch (o->kind) {
	case LIST_LS:
		return o->ops == 0 ||
		       ((tried | cache_ops_outcomes(e->ops)) & o->ops) != 0;
	case LIST_INPUTS:
		if (done & OPS_CHANGED)
			return false;
		if (o->all)
			return (tried & (OPS_READ | OPS_EXAMINED)) != 0;
		return (done & OPS_READ) && (e->ops & CACHE_OP_EXISTS);
	case LIST_OUTPUTS:
		return (done & OPS_CHANGED) != 0;
	}
	return false;
}

static void print_list(const struct list_opts *o, const struct entry_list *l)
{
	int width = count_width(l);
	for (size_t i = 0; i < l->n; i++) {
		const struct entry *e = &l->v[i];
		if (!selected(o, e))
			continue;
		bool exists = o->kind != LIST_LS && path_exists(e);
		if (o->kind == LIST_OUTPUTS && o->existing && !exists)
			continue;
		if (o->nul) {
			fwrite(e->path, 1, e->len, stdout);
			fputc('\0', stdout);
		} else if (o->json) {
			json_entry_open(stdout, e);
			if (o->kind != LIST_LS)
				fprintf(stdout, ", \"exists\": %s",
					exists ? "true" : "false");
			fputs("}\n", stdout);
		} else if (o->kind == LIST_LS) {
			print_entry_line(stdout, e, width);
		} else {
			fputs(exists ? "+ " : "- ", stdout);
			print_path_escaped(stdout, e->path, e->len);
			fputc('\n', stdout);
		}
	}
}

static int list_main(enum list_kind kind, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "null", no_argument, NULL, '0' },
		{ "ops", required_argument, NULL, 'O' },
		{ "missing", no_argument, NULL, 'm' },
		{ "prefix", required_argument, NULL, 'p' },
		{ "all", no_argument, NULL, 'a' },
		{ "existing", no_argument, NULL, 'e' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *cmd = argv[0];
	const char *help = kind == LIST_LS ? ls_help :
			   kind == LIST_INPUTS ? inputs_help : outputs_help;
	struct list_opts o = { .kind = kind };
	int c;
	while ((c = getopt_long(argc, argv, "j0aeh", longopts, NULL)) != -1) {
		const char *bad = NULL;
		uint32_t bits;
		switch (c) {
		case 'j':
			o.json = true;
			break;
		case '0':
			o.nul = true;
			break;
		case 'O':
			if (kind != LIST_LS)
				goto invalid;
			if (cache_ops_parse(optarg, &bits, &bad) != 0)
				return cli_usage_error(cmd,
					"--ops: unknown operation at '%s'",
					bad ? bad : optarg);
			o.ops |= bits;
			break;
		case 'm':
			if (kind != LIST_LS)
				goto invalid;
			o.ops |= CACHE_OP_MISSING;
			break;
		case 'p':
			free(o.prefix);
			o.prefix = path_normalize(optarg);
			if (o.prefix == NULL) {
				cli_error("--prefix %s: cannot normalise", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'a':
			if (kind != LIST_INPUTS)
				goto invalid;
			o.all = true;
			break;
		case 'e':
			if (kind != LIST_OUTPUTS)
				goto invalid;
			o.existing = true;
			break;
		case 'h':
			fputs(help, stdout);
			free(o.prefix);
			return EXIT_OK;
		invalid:
			free(o.prefix);
			return cli_usage_error(cmd, "option '%s' is not valid "
					       "here", argv[optind - 1]);
		default:
			free(o.prefix);
			return cli_usage_error(cmd, "bad usage");
		}
	}
	if (o.json && o.nul) {
		free(o.prefix);
		return cli_usage_error(cmd, "--json and --null exclude each other");
	}
	if (optind + 1 != argc) {
		free(o.prefix);
		return cli_usage_error(cmd, "expected one CACHE argument");
	}
	const char *path = argv[optind];
	struct cache cache;
	if (!cli_open_cache(path, &cache)) {
		free(o.prefix);
		return EXIT_USAGE;
	}
	struct entry_list l = { 0 };
	bool ok = cli_load_entries(&cache, path, &l);
	print_list(&o, &l);
	entry_list_free(&l);
	cache_detach(&cache);
	free(o.prefix);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		cli_error("error writing the output");
		return EXIT_USAGE;
	}
	return ok ? EXIT_OK : EXIT_USAGE;
}

int cmd_ls(int argc, char **argv)
{
	return list_main(LIST_LS, argc, argv);
}

int cmd_inputs(int argc, char **argv)
{
	return list_main(LIST_INPUTS, argc, argv);
}

int cmd_outputs(int argc, char **argv)
{
	return list_main(LIST_OUTPUTS, argc, argv);
}

/* Why nothing was recorded, when nothing was and run has not said why. */
static void explain_nothing(const char *path, const struct cache_stats *st,
			    const struct run_facts *f)
{
	if (!f->cmd_ran || f->is_static || f->unwritable || !f->have_before)
		return;
	uint64_t before = f->records_before + f->own_records;
	uint64_t cmd_records = st->records > before ? st->records - before : 0;
	bool attached = st->attaches > f->attaches_before || cmd_records > 0;
	if (!attached)
		cli_warn("%s: nothing was recorded: no process of the command "
			 "attached the cache (the shim was not loaded into it, "
			 "or could not attach: %s)", path,
			 f->debug ? "see the shim's messages above"
				  : "run with --debug to see why");
	else if (cmd_records == 0 && st->skipped_toolong == 0 &&
		 st->skipped_full == 0)
		cli_note("%s: nothing was recorded: the command named no file",
			 path);
}

bool cli_report(const char *path, FILE *out, const struct run_facts *f)
{
	struct cache cache;
	if (!cli_open_cache(path, &cache))
		return false;
	struct entry_list l = { 0 };
	bool ok = true;
	if (out != NULL) {
		ok = cli_load_entries(&cache, path, &l);
		int width = count_width(&l);
		for (size_t i = 0; i < l.n; i++)
			print_entry_line(out, &l.v[i], width);
	}
	struct cache_stats st;
	/* with the walk: records, the sum of the hit counts, tell CMD's
	 * records from those made before it and run's own */
	if (cache_stats(&cache, &st, f->have_before) == CACHE_OK) {
		if (st.skipped_full > 0)
			cli_warn("%s: %llu records were dropped because the "
				 "cache was full: the listing is incomplete",
				 path, (unsigned long long)st.skipped_full);
		if (st.skipped_toolong > 0)
			cli_warn("%s: %llu records were skipped: path longer "
				 "than %zu bytes", path,
				 (unsigned long long)st.skipped_toolong,
				 cache_max_key());
		explain_nothing(path, &st, f);
	}
	entry_list_free(&l);
	cache_detach(&cache);
	return ok;
}

static const char *const get_help =
	"Usage: shmcache get [OPTIONS] CACHE PATH...\n"
	"Look each PATH up (normalised as the shim does: made absolute against\n"
	"the current directory, '//', '.' and '..' folded, symlinks not\n"
	"resolved) and print its entry as ls does.  Exit 1 if one is absent.\n\n"
	"  -j, --json         JSON Lines; an absent path gives {\"path\", \"absent\": true}\n"
	"  -h, --help         this help\n";

int cmd_get(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool json = false;
	int c;
	while ((c = getopt_long(argc, argv, "jh", longopts, NULL)) != -1) {
		if (c == 'j') {
			json = true;
		} else if (c == 'h') {
			fputs(get_help, stdout);
			return EXIT_OK;
		} else {
			return cli_usage_error(argv[0], "bad usage");
		}
	}
	if (argc - optind < 2)
		return cli_usage_error(argv[0], "expected CACHE and at least one PATH");
	const char *path = argv[optind];
	struct cache cache;
	if (!cli_open_cache(path, &cache))
		return EXIT_USAGE;
	int rc = EXIT_OK;
	for (int i = optind + 1; i < argc; i++) {
		char *key = path_normalize(argv[i]);
		if (key == NULL) {
			cli_error("%s: cannot normalise", argv[i]);
			rc = EXIT_USAGE;
			break;
		}
		struct cache_entry ce;
		int r = cache_lookup(&cache, key, strlen(key), &ce);
		if (r == 1) {
			struct entry e = { (unsigned char *)key, strlen(key),
					   ce.ops, ce.count };
			if (json) {
				json_entry_open(stdout, &e);
				fputs("}\n", stdout);
			} else {
				print_entry_line(stdout, &e, 1);
			}
		} else if (r == 0) {
			if (json) {
				fputc('{', stdout);
				json_path_fields(stdout, (unsigned char *)key,
						 strlen(key));
				fputs(", \"absent\": true}\n", stdout);
			}
			cli_error("%s: not in the cache", key);
			if (rc == EXIT_OK)
				rc = EXIT_NEGATIVE;
		} else {
			cli_error("%s: corrupt: %s (try 'shmcache verify')",
				  path, cache_strerror(r));
			free(key);
			rc = EXIT_USAGE;
			break;
		}
		free(key);
	}
	cache_detach(&cache);
	return rc;
}
