/*
 * cmd_diff.c - `shmcache diff [--json] A B`: what differs between two
 * caches, as diff(1) says it: the paths only in A, those only in B, and
 * those in both whose operation bits differ (hit counts are not compared:
 * they say how often, not what).  Exit 0 when nothing differs, 1 when
 * something does, 2 on trouble.
 */
#include <getopt.h>
#include <string.h>

#include "cli.h"

static const char *const diff_help =
	"Usage: shmcache diff [OPTIONS] A B\n"
	"Compare the caches A and B by path (sorted bytewise), one line per\n"
	"path that differs:\n"
	"  - LETTERS PATH            only in A\n"
	"  + LETTERS PATH            only in B\n"
	"  ~ LETTERS_A LETTERS_B PATH  in both, with other operation bits\n"
	"LETTERS are ls's two columns; hit counts are not compared.  Exit 0\n"
	"when the caches hold the same paths and bits, 1 when they differ,\n"
	"2 on error.\n\n"
	"  -j, --json         JSON Lines: {\"path\", [\"path_b64\"], \"change\":\n"
	"                     \"removed\"|\"added\"|\"changed\", \"a\": {\"ops\",\n"
	"                     \"failed\"}, \"b\": {...}} (a or b absent when the\n"
	"                     path is not in that cache)\n"
	"  -h, --help         this help\n";

static int path_cmp(const struct entry *x, const struct entry *y)
{
	size_t n = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->path, y->path, n);
	if (c != 0)
		return c;
	return (x->len > y->len) - (x->len < y->len);
}

static void json_side(FILE *f, const char *name, const struct entry *e)
{
	if (e == NULL)
		return;
	fprintf(f, ", \"%s\": {", name);
	json_ops(f, e->ops);
	fputc('}', f);
}

/* One difference: a only in A (b NULL), b only in B, or both. */
static void print_change(FILE *f, const struct entry *a,
			 const struct entry *b, bool json)
{
	const struct entry *e = a != NULL ? a : b;
	if (json) {
		fputc('{', f);
		json_path_fields(f, e->path, e->len);
		fprintf(f, ", \"change\": \"%s\"",
			b == NULL ? "removed" : a == NULL ? "added" : "changed");
		json_side(f, "a", a);
		json_side(f, "b", b);
		fputs("}\n", f);
		return;
	}
	char la[OPS_LETTERS_MAX], lb[OPS_LETTERS_MAX];
	if (a != NULL)
		ops_letters(a->ops, la);
	if (b != NULL)
		ops_letters(b->ops, lb);
	if (b == NULL)
		fprintf(f, "- %s ", la);
	else if (a == NULL)
		fprintf(f, "+ %s ", lb);
	else
		fprintf(f, "~ %s %s ", la, lb);
	print_path_escaped(f, e->path, e->len);
	fputc('\n', f);
}

/* Walks both sorted lists; returns the number of differences. */
static size_t compare(const struct entry_list *a, const struct entry_list *b,
		      bool json)
{
	size_t i = 0, j = 0, n = 0;
	while (i < a->n || j < b->n) {
		int c = i == a->n ? 1 : j == b->n ? -1 :
			path_cmp(&a->v[i], &b->v[j]);
		if (c < 0) {
			print_change(stdout, &a->v[i++], NULL, json);
			n++;
		} else if (c > 0) {
			print_change(stdout, NULL, &b->v[j++], json);
			n++;
		} else {
			if (a->v[i].ops != b->v[j].ops) {
				print_change(stdout, &a->v[i], &b->v[j], json);
				n++;
			}
			i++;
			j++;
		}
	}
	return n;
}

static bool load(const char *path, struct entry_list *l)
{
	struct cache c;
	if (!cli_open_cache(path, &c))
		return false;
	bool ok = cli_load_entries(&c, path, l);
	cache_detach(&c);
	return ok;
}

int cmd_diff(int argc, char **argv)
{
	bool json = false;
	int rc = cli_json_opts(argc, argv, diff_help, &json);
	if (rc != -1)
		return rc;
	if (argc - optind != 2)
		return cli_usage_error(argv[0], "expected two caches, A and B");
	struct entry_list a = { 0 }, b = { 0 };
	bool ok = load(argv[optind], &a) && load(argv[optind + 1], &b);
	size_t n = ok ? compare(&a, &b, json) : 0;
	entry_list_free(&a);
	entry_list_free(&b);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		cli_error("error writing the output");
		return EXIT_USAGE;
	}
	if (!ok)
		return EXIT_USAGE;
	return n > 0 ? EXIT_NEGATIVE : EXIT_OK;
}
