/*
 * cmd_depfile.c - `shmcache depfile [OPTIONS] CACHE`: the run's inputs as
 * a Make/Ninja dependency file, `TARGET: INPUT...`, as a compiler's -MD
 * writes one, but for any command.
 *
 * Inputs: the paths the run read, executed or had the dynamic loader map,
 * with success, that it never changed (those are its outputs), other than
 * a target, regular files now, and not in the pseudo file systems /proc,
 * /sys and /dev, whose times say nothing about their contents.
 *
 * Missing paths (the lookups that found nothing and would find something
 * if the file appeared, as a header earlier on the include path) cannot be
 * written so that both tools rebuild exactly when one appears: a
 * nonexistent prerequisite makes Ninja rebuild every time and Make stop
 * ("No rule to make target"), and an empty rule for it makes Make rebuild
 * every time.  So there are two forms:
 *  --missing       each missing path as a prerequisite, with an empty rule
 *                  and marked .SECONDARY: GNU make then takes it as
 *                  up to date while it does not exist, and as new when it
 *                  appears.  Make only (Ninja refuses the .SECONDARY line).
 *  --missing-dirs  the nearest existing directory of each missing path:
 *                  creating the file changes that directory's time, for
 *                  Make and Ninja alike; any other entry made or removed
 *                  there does too, so this rebuilds more often.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

static const char *const depfile_help =
	"Usage: shmcache depfile [OPTIONS] CACHE\n"
	"Write the inputs of the run recorded in CACHE as a Make/Ninja\n"
	"dependency file: 'TARGET: INPUT...', with Make's escaping.  Inputs are\n"
	"the files the run read, executed or loaded, never changed, that are\n"
	"regular files now (not under /proc, /sys, /dev).\n\n"
	"  -t, --target T     the target as written (repeat for more); default:\n"
	"                     the files the run wrote that exist now, relative\n"
	"                     to the current directory when below it\n"
	"  -o, --output FILE  write to FILE (default: standard output)\n"
	"      --missing      also the paths looked up in vain, each with an\n"
	"                     empty rule marked .SECONDARY: a rebuild when one\n"
	"                     appears (GNU make only)\n"
	"      --missing-dirs also the nearest existing directory of each path\n"
	"                     looked up in vain (Make and Ninja; rebuilds when\n"
	"                     anything is made or removed there)\n"
	"  -h, --help         this help\n";

#define OPS_CHANGED                                                     \
	(CACHE_OP_WRITE | CACHE_OP_CREATE | CACHE_OP_TRUNCATE |         \
	 CACHE_OP_RENAME_TO | CACHE_OP_MKDIR | CACHE_OP_MKNOD |         \
	 CACHE_OP_CHATTR | CACHE_OP_UNLINK | CACHE_OP_RMDIR |           \
	 CACHE_OP_RENAME_FROM)
#define OPS_LOOKUP                                                      \
	(CACHE_OP_READ | CACHE_OP_EXEC | CACHE_OP_LOAD | CACHE_OP_STAT |  \
	 CACHE_OP_ACCESS | CACHE_OP_OPENDIR | CACHE_OP_READLINK |        \
	 CACHE_OP_CHDIR)

enum missing_form { MISSING_NONE, MISSING_MAKE, MISSING_DIRS };

struct depfile_opts {
	char **targets;
	size_t ntargets;
	const char *output;
	enum missing_form missing;
};

/* A list of malloc'd strings. */
struct strs {
	char **v;
	size_t n, cap;
};

static bool strs_add(struct strs *s, const char *p, size_t len)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		char **v = realloc(s->v, cap * sizeof *v);
		if (v == NULL)
			return false;
		s->v = v;
		s->cap = cap;
	}
	char *c = malloc(len + 1);
	if (c == NULL)
		return false;
	memcpy(c, p, len);
	c[len] = '\0';
	s->v[s->n++] = c;
	return true;
}

static void strs_free(struct strs *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	*s = (struct strs){ 0 };
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorts and drops repeats. */
static void strs_uniq(struct strs *s)
{
	if (s->n < 2)
		return;
	qsort(s->v, s->n, sizeof *s->v, str_cmp);
	size_t k = 1;
	for (size_t i = 1; i < s->n; i++) {
		if (strcmp(s->v[i], s->v[k - 1]) == 0)
			free(s->v[i]);
		else
			s->v[k++] = s->v[i];
	}
	s->n = k;
}

static bool pseudo_fs(const struct entry *e)
{
	static const char *const dirs[] = { "/proc", "/sys", "/dev" };
	for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++)
		if (path_under(e->path, e->len, dirs[i]))
			return true;
	return false;
}

/* A path Make and Ninja can both read back: no newline, no colon (Make
 * takes one for a rule's), no backslash before a '#' (Make takes 2N+1
 * backslashes and a '#' for N and a '#', Ninja for 2N: no one spelling
 * reads back the same in both). */
static bool writable_path(const char *p)
{
	const char *hash = p;
	while ((hash = strchr(hash, '#')) != NULL) {
		if (hash > p && hash[-1] == '\\')
			return false;
		hash++;
	}
	return strpbrk(p, "\n:") == NULL;
}

/* A target the depfile can name: a writable path, and without '%' but in
 * the Make-only form (--missing), where '\%' keeps it from being a
 * pattern; Ninja reads '\%' as two characters, and a target that does
 * not match the build's output makes it rebuild every time. */
static bool writable_target(const char *p, enum missing_form form)
{
	return writable_path(p) && (form == MISSING_MAKE || !strchr(p, '%'));
}

static bool is_regular(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static bool is_input(const struct entry *e)
{
	const uint32_t done = cache_ops_succeeded(e->ops);
	if ((done & OPS_CHANGED) || pseudo_fs(e))
		return false;
	return ((done & (CACHE_OP_READ | CACHE_OP_LOAD)) &&
		(e->ops & CACHE_OP_EXISTS)) || entry_executed(e->ops);
}

static bool is_missing(const struct entry *e)
{
	struct stat st;
	return (e->ops & CACHE_OP_MISSING) && !(e->ops & CACHE_OP_EXISTS) &&
	       !(cache_ops_succeeded(e->ops) & OPS_CHANGED) &&
	       (cache_ops_failed(e->ops) & OPS_LOOKUP) && !pseudo_fs(e) &&
	       lstat((const char *)e->path, &st) != 0;
}

/* The nearest existing directory above path (a missing path's). */
static bool add_nearest_dir(struct strs *dirs, const char *path)
{
	size_t len = strlen(path);
	char *d = malloc(len + 1);
	if (d == NULL)
		return false;
	memcpy(d, path, len + 1);
	bool ok = true;
	for (;;) {
		char *slash = strrchr(d, '/');
		if (slash == NULL)
			break;
		if (slash == d)
			slash[1] = '\0';
		else
			*slash = '\0';
		struct stat st;
		if (stat(d, &st) == 0 && S_ISDIR(st.st_mode)) {
			ok = strs_add(dirs, d, strlen(d));
			break;
		}
		if (slash == d)
			break;
	}
	free(d);
	return ok;
}

/* The default targets: the files the run wrote that exist now, named
 * relative to the current directory when below it, as a build file
 * written there names them. */
static bool default_targets(const struct entry_list *l, struct strs *t)
{
	char *cwd = path_normalize(".");
	size_t clen = cwd != NULL ? strlen(cwd) : 0;
	bool ok = cwd != NULL;
	for (size_t i = 0; ok && i < l->n; i++) {
		const struct entry *e = &l->v[i];
		const char *p = (const char *)e->path;
		if (!(cache_ops_succeeded(e->ops) & OPS_CHANGED) ||
		    pseudo_fs(e) || !is_regular(p))
			continue;
		if (clen > 1 && path_under(e->path, e->len, cwd) &&
		    e->len > clen)
			p += clen + 1;
		ok = strs_add(t, p, strlen(p));
	}
	free(cwd);
	return ok;
}

/* Make's escaping, which Ninja's depfile reader shares: a backslash
 * before a space or a tab, a space, a tab and '#' take a backslash; '$'
 * is doubled (writable_path leaves out a backslash before '#').  In the
 * target of a rule of Make's alone (rule true), '%' takes a backslash
 * too, else the rule is a pattern rule. */
static void put_escaped_as(FILE *f, const char *p, bool rule)
{
	for (const char *s = p; *s != '\0'; s++) {
		if (*s == '\\') {
			size_t n = strspn(s, "\\");
			bool before_blank = s[n] == ' ' || s[n] == '\t';
			for (size_t i = 0; i < n * (before_blank ? 2 : 1); i++)
				fputc('\\', f);
			s += n - 1;
		} else if (*s == ' ' || *s == '\t' || *s == '#' ||
			   (rule && *s == '%')) {
			fputc('\\', f);
			fputc(*s, f);
		} else if (*s == '$') {
			fputs("$$", f);
		} else {
			fputc(*s, f);
		}
	}
}

static void put_escaped(FILE *f, const char *p)
{
	put_escaped_as(f, p, false);
}

static void put_list(FILE *f, const struct strs *s)
{
	for (size_t i = 0; i < s->n; i++) {
		fputs(" \\\n ", f);
		put_escaped(f, s->v[i]);
	}
}

static void write_depfile(FILE *f, const struct strs *targets,
			  const struct strs *inputs,
			  const struct strs *missing, enum missing_form form)
{
	for (size_t i = 0; i < targets->n; i++) {
		if (i > 0)
			fputc(' ', f);
		put_escaped_as(f, targets->v[i], form == MISSING_MAKE);
	}
	fputc(':', f);
	put_list(f, inputs);
	put_list(f, missing);
	fputc('\n', f);
	if (form != MISSING_MAKE || missing->n == 0)
		return;
	/* An empty .SECONDARY: would make every target secondary. */
	for (size_t i = 0; i < missing->n; i++) {
		put_escaped_as(f, missing->v[i], true);
		fputs(":\n", f);
	}
	fputs(".SECONDARY:", f);
	put_list(f, missing);
	fputc('\n', f);
}

static bool is_target(const struct strs *keys, const char *p)
{
	for (size_t i = 0; i < keys->n; i++)
		if (strcmp(keys->v[i], p) == 0)
			return true;
	return false;
}

/* Chooses the inputs and missing paths of l; false when out of memory.
 * *left_out counts the paths no depfile can hold. */
static bool choose(const struct entry_list *l, const struct strs *target_keys,
		   enum missing_form form, struct strs *inputs,
		   struct strs *missing, size_t *left_out)
{
	for (size_t i = 0; i < l->n; i++) {
		const struct entry *e = &l->v[i];
		const char *p = (const char *)e->path;
		if (memchr(e->path, '\0', e->len) != NULL)
			continue;
		bool in = is_input(e) && is_regular(p) &&
			  !is_target(target_keys, p);
		bool miss = !in && form != MISSING_NONE && is_missing(e);
		if (!in && !miss)
			continue;
		if (!writable_path(p)) {
			++*left_out;
			continue;
		}
		bool ok = in ? strs_add(inputs, p, e->len) :
			  form == MISSING_DIRS ? add_nearest_dir(missing, p) :
			  strs_add(missing, p, e->len);
		if (!ok)
			return false;
	}
	strs_uniq(missing);
	return true;
}

static int parse_opts(int argc, char **argv, struct depfile_opts *o)
{
	static const struct option longopts[] = {
		{ "target", required_argument, NULL, 't' },
		{ "output", required_argument, NULL, 'o' },
		{ "missing", no_argument, NULL, 'm' },
		{ "missing-dirs", no_argument, NULL, 'D' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	while ((c = getopt_long(argc, argv, "t:o:h", longopts, NULL)) != -1) {
		switch (c) {
		case 't': {
			char **v = realloc(o->targets,
					   (o->ntargets + 1) * sizeof *v);
			if (v == NULL)
				return cli_usage_error(argv[0], "out of memory");
			o->targets = v;
			o->targets[o->ntargets++] = optarg;
			break;
		}
		case 'o': o->output = optarg; break;
		case 'm': o->missing = MISSING_MAKE; break;
		case 'D': o->missing = MISSING_DIRS; break;
		case 'h':
			fputs(depfile_help, stdout);
			return EXIT_OK;
		default:
			return cli_usage_error(argv[0], "bad usage");
		}
	}
	if (optind + 1 != argc)
		return cli_usage_error(argv[0], "expected one CACHE argument");
	return -1;
}

/* Leaves out of t the targets the depfile cannot name, with a warning
 * that names each. */
static void drop_unwritable_targets(struct strs *t, enum missing_form form)
{
	size_t kept = 0;
	for (size_t i = 0; i < t->n; i++) {
		if (writable_target(t->v[i], form)) {
			t->v[kept++] = t->v[i];
			continue;
		}
		cli_warn("target '%s' is left out: a depfile cannot name it%s",
			 t->v[i], strchr(t->v[i], '%') != NULL &&
			 writable_path(t->v[i]) ? " but with --missing (Make "
			 "only)" : "");
		free(t->v[i]);
	}
	t->n = kept;
}

/* The targets to write (as given, or the default, less those the depfile
 * cannot name) and the keys of all, to leave them out of the inputs. */
static bool make_targets(const struct depfile_opts *o,
			 const struct entry_list *l, struct strs *targets,
			 struct strs *keys)
{
	if (o->ntargets == 0 && !default_targets(l, targets))
		return false;
	for (size_t i = 0; i < o->ntargets; i++)
		if (!strs_add(targets, o->targets[i], strlen(o->targets[i])))
			return false;
	for (size_t i = 0; i < targets->n; i++) {
		char *k = path_normalize(targets->v[i]);
		bool ok = k != NULL && strs_add(keys, k, strlen(k));
		free(k);
		if (!ok)
			return false;
	}
	drop_unwritable_targets(targets, o->missing);
	return true;
}

static int emit(const struct depfile_opts *o, const struct strs *targets,
		const struct strs *inputs, const struct strs *missing)
{
	FILE *f = stdout;
	if (o->output != NULL && (f = fopen(o->output, "w")) == NULL) {
		cli_error("%s: %s", o->output, strerror(errno));
		return EXIT_USAGE;
	}
	write_depfile(f, targets, inputs, missing, o->missing);
	if (fflush(f) != 0 || ferror(f) || (f != stdout && fclose(f) != 0)) {
		cli_error("%s: %s", o->output ? o->output : "standard output",
			  strerror(errno));
		return EXIT_USAGE;
	}
	return EXIT_OK;
}

int cmd_depfile(int argc, char **argv)
{
	struct depfile_opts o = { .missing = MISSING_NONE };
	int rc = parse_opts(argc, argv, &o);
	if (rc >= 0) {
		free(o.targets);
		return rc;
	}
	const char *path = argv[optind];
	struct cache c;
	if (!cli_open_cache(path, &c)) {
		free(o.targets);
		return EXIT_USAGE;
	}
	struct entry_list l = { 0 };
	struct strs targets = { 0 }, keys = { 0 }, inputs = { 0 },
		    missing = { 0 };
	size_t left_out = 0;
	rc = EXIT_USAGE;
	if (!cli_load_entries(&c, path, &l))
		goto out;
	if (!make_targets(&o, &l, &targets, &keys) ||
	    !choose(&l, &keys, o.missing, &inputs, &missing, &left_out)) {
		cli_error("out of memory");
		goto out;
	}
	if (targets.n == 0) {
		cli_error("%s: the run wrote no file that exists now: name the "
			  "target with --target", path);
		goto out;
	}
	if (left_out > 0)
		cli_warn("%zu paths holding a newline, a colon or a backslash "
			 "before '#' are left out: a depfile cannot hold them",
			 left_out);
	rc = emit(&o, &targets, &inputs, &missing);
out:
	strs_free(&targets);
	strs_free(&keys);
	strs_free(&inputs);
	strs_free(&missing);
	entry_list_free(&l);
	cache_detach(&c);
	free(o.targets);
	return rc;
}
