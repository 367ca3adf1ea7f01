/*
 * cmd_ls.c - the listing commands: ls, inputs, outputs.
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

/* The letters of ls's columns, in column order, as CACHE_OPS defines
 * them: four to a line. */
static void print_ls_legend(FILE *f)
{
	int n = 0;
	fputs("\nLetters, in column order (the second column has the "
	      "operations only):\n", f);
#define OP_LEGEND(name, bit, letter, str)                               \
	fprintf(f, "%s%c %-*s", n % 4 == 0 ? "  " : "", (letter),       \
		n % 4 == 3 ? 0 : 12, (str));                            \
	if (++n % 4 == 0)                                               \
		fputc('\n', f);
	CACHE_OPS(OP_LEGEND)
#undef OP_LEGEND
	if (n % 4 != 0)
		fputc('\n', f);
}

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

/* One option of the listing commands into o.  Returns -1 to go on, or
 * the exit code (--help, a usage error). */
static int list_opt(int c, struct list_opts *o, char **argv)
{
	const char *cmd = argv[0], *bad = NULL;
	uint32_t bits;
	switch (c) {
	case 'j': o->json = true; return -1;
	case '0': o->nul = true; return -1;
	case 'O':
		if (o->kind != LIST_LS)
			break;
		if (cache_ops_parse(optarg, &bits, &bad) != 0)
			return cli_usage_error(cmd,
				"--ops: unknown operation at '%s'",
				bad ? bad : optarg);
		o->ops |= bits;
		return -1;
	case 'm':
		if (o->kind != LIST_LS)
			break;
		o->ops |= CACHE_OP_MISSING;
		return -1;
	case 'p':
		free(o->prefix);
		o->prefix = path_normalize(optarg);
		if (o->prefix == NULL) {
			cli_error("--prefix %s: cannot normalise", optarg);
			return EXIT_USAGE;
		}
		return -1;
	case 'a':
		if (o->kind != LIST_INPUTS)
			break;
		o->all = true;
		return -1;
	case 'e':
		if (o->kind != LIST_OUTPUTS)
			break;
		o->existing = true;
		return -1;
	case 'h':
		fputs(o->kind == LIST_LS ? ls_help :
		      o->kind == LIST_INPUTS ? inputs_help : outputs_help,
		      stdout);
		if (o->kind == LIST_LS)
			print_ls_legend(stdout);
		return EXIT_OK;
	default:
		return cli_usage_error(cmd, "bad usage");
	}
	return cli_usage_error(cmd, "option '%s' is not valid here",
			       argv[optind - 1]);
}

/* Returns -1 to go on with the cache at argv[optind], or the exit code. */
static int parse_list_opts(int argc, char **argv, struct list_opts *o)
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
	int c, rc;
	while ((c = getopt_long(argc, argv, "j0aeh", longopts, NULL)) != -1)
		if ((rc = list_opt(c, o, argv)) >= 0)
			return rc;
	if (o->json && o->nul)
		return cli_usage_error(argv[0],
				       "--json and --null exclude each other");
	if (optind + 1 != argc)
		return cli_usage_error(argv[0], "expected one CACHE argument");
	return -1;
}

/* Lists the cache at path as o says. */
static int list_cache(const struct list_opts *o, const char *path)
{
	struct cache cache;
	if (!cli_open_cache(path, &cache))
		return EXIT_USAGE;
	struct entry_list l = { 0 };
	bool ok = cli_load_entries(&cache, path, &l);
	print_list(o, &l);
	entry_list_free(&l);
	cache_detach(&cache);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		cli_error("error writing the output");
		return EXIT_USAGE;
	}
	return ok ? EXIT_OK : EXIT_USAGE;
}

static int list_main(enum list_kind kind, int argc, char **argv)
{
	struct list_opts o = { .kind = kind };
	int rc = parse_list_opts(argc, argv, &o);
	if (rc < 0)
		rc = list_cache(&o, argv[optind]);
	free(o.prefix);
	return rc;
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
