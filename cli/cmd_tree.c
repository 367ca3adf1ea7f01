/*
 * cmd_tree.c - `shmcache tree CACHE [DIR]`: the entries as an indented tree
 * for a person to read.  A directory line says how many entries lie below
 * it; chains of directories that hold one thing each are joined on one line
 * (usr/lib/gcc/x86_64-linux-gnu/12/) as long as none of them is an entry.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char *const tree_help =
	"Usage: shmcache tree [OPTIONS] CACHE [DIR]\n"
	"The entries of CACHE (below DIR if given) as an indented tree.\n"
	"A directory shows '/ (N)', N the number of entries below it; an\n"
	"entry shows its operation letters and hit count.\n\n"
	"  -h, --help         this help\n";

/* Component order: '/' sorts before every other byte, so that a directory's
 * descendants are contiguous and follow the directory itself. */
static int tree_cmp(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	for (size_t i = 0; i < n; i++) {
		unsigned cx = x->path[i] == '/' ? 0 : x->path[i] + 1u;
		unsigned cy = y->path[i] == '/' ? 0 : y->path[i] + 1u;
		if (cx != cy)
			return cx < cy ? -1 : 1;
	}
	return (x->len > y->len) - (x->len < y->len);
}

/* Length of the component of e starting at off (up to '/' or the end). */
static size_t comp_len(const struct entry *e, size_t off)
{
	size_t i = off;
	while (i < e->len && e->path[i] != '/')
		i++;
	return i - off;
}

/* Does e continue the name [off, off+n) of ref, i.e. share that component? */
static bool same_comp(const struct entry *e, const struct entry *ref,
		      size_t off, size_t n)
{
	if (e->len < off + n || memcmp(e->path + off, ref->path + off, n) != 0)
		return false;
	return e->len == off + n || e->path[off + n] == '/';
}

/* One line: the name, "/ (N)" for a directory with N entries below, and
 * the letters and count when the name is an entry itself. */
static void print_node(const unsigned char *name, size_t len, size_t below,
		       const struct entry *e, int width)
{
	print_path_escaped(stdout, name, len);
	if (below > 0 && !(len == 1 && name[0] == '/'))
		putchar('/');
	if (below > 0 || e == NULL)
		printf(" (%zu)", below);
	if (e != NULL) {
		char letters[OPS_LETTERS_MAX];
		ops_letters(e->ops, letters);
		printf("  %s %*llu", letters, width,
		       (unsigned long long)e->count);
	}
	putchar('\n');
}

static void indent(int depth)
{
	for (int i = 0; i < depth; i++)
		fputs("  ", stdout);
}

/* Prints entries v[lo, hi), all of which lie below the directory whose
 * path (with its trailing '/') is the first off bytes of each. */
static void print_level(const struct entry *v, size_t lo, size_t hi,
			size_t off, int depth, int width)
{
	size_t i = lo;
	while (i < hi) {
		const struct entry *ref = &v[i];
		size_t n = comp_len(ref, off);
		size_t j = i + 1;
		while (j < hi && same_comp(&v[j], ref, off, n))
			j++;
		/* [i, j) share the component; v[i] may be the entry itself. */
		size_t end = off + n;
		bool is_entry = ref->len == end;
		/* Join directories that are no entry and hold one name. */
		while (!is_entry && ref->len > end) {
			size_t m = comp_len(ref, end + 1);
			size_t k = i;
			while (k < j && same_comp(&v[k], ref, end + 1, m))
				k++;
			if (k != j)
				break;
			end += 1 + m;
			is_entry = ref->len == end;
		}
		size_t below = j - i - (is_entry ? 1 : 0);
		indent(depth);
		print_node(ref->path + off, end - off, below,
			   is_entry ? ref : NULL, width);
		if (below > 0)
			print_level(v, i + (is_entry ? 1 : 0), j, end + 1,
				    depth + 1, width);
		i = j;
	}
}

/* The entries of all below dir (every absolute one without dir) into l,
 * sorted as the tree shows them; *skipped counts the keys that are not
 * absolute.  False when out of memory (said). */
static bool keep_below(const struct entry_list *all, const char *dir,
		       struct entry_list *l, size_t *skipped)
{
	*skipped = 0;
	for (size_t i = 0; i < all->n; i++) {
		const struct entry *e = &all->v[i];
		if (dir != NULL ? !path_under(e->path, e->len, dir)
				: (e->len == 0 || e->path[0] != '/')) {
			*skipped += dir == NULL;
			continue;
		}
		if (!entry_list_add(l, e->path, e->len, e->ops, e->count)) {
			cli_error("out of memory");
			return false;
		}
	}
	if (l->n > 1)
		qsort(l->v, l->n, sizeof *l->v, tree_cmp);
	return true;
}

/* The root line, "/" or dir with the total below, then the levels. */
static void print_tree(const struct entry_list *l, const char *dir,
		       size_t skipped)
{
	int width = count_width(l);
	const char *root = dir != NULL ? dir : "/";
	size_t rlen = strlen(root);
	size_t lo = 0;
	bool root_entry = l->n > 0 && l->v[0].len == rlen &&
			  memcmp(l->v[0].path, root, rlen) == 0;
	if (root_entry)
		lo = 1;
	print_node((const unsigned char *)root, rlen, l->n - lo,
		   root_entry ? &l->v[0] : NULL, width);
	size_t off = rlen == 1 ? 1 : rlen + 1;
	print_level(l->v, lo, l->n, off, 1, width);
	if (skipped > 0)
		printf("(%zu %s not absolute, not shown: see 'shmcache "
		       "ls')\n", skipped, skipped == 1 ? "key" : "keys");
}

/* Returns -1 to go on (*dir: the normalised DIR, or NULL), or the exit
 * code. */
static int parse_tree_opts(int argc, char **argv, char **dir)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	*dir = NULL;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (c == 'h') {
			fputs(tree_help, stdout);
			return EXIT_OK;
		}
		return cli_usage_error(argv[0], "bad usage");
	}
	if (argc - optind < 1 || argc - optind > 2)
		return cli_usage_error(argv[0], "expected CACHE [DIR]");
	if (optind + 1 < argc) {
		*dir = path_normalize(argv[optind + 1]);
		if (*dir == NULL) {
			cli_error("%s: cannot normalise", argv[optind + 1]);
			return EXIT_USAGE;
		}
	}
	return -1;
}

int cmd_tree(int argc, char **argv)
{
	char *dir;
	int rc = parse_tree_opts(argc, argv, &dir);
	if (rc >= 0)
		return rc;
	const char *path = argv[optind];
	struct cache cache;
	if (!cli_open_cache(path, &cache)) {
		free(dir);
		return EXIT_USAGE;
	}
	struct entry_list all = { 0 }, l = { 0 };
	size_t skipped;
	bool ok = cli_load_entries(&cache, path, &all);
	cache_detach(&cache);
	ok = keep_below(&all, dir, &l, &skipped) && ok;
	entry_list_free(&all);
	print_tree(&l, dir, skipped);
	entry_list_free(&l);
	free(dir);
	return ok ? EXIT_OK : EXIT_USAGE;
}
