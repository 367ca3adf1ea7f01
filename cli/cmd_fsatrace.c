/*
 * cmd_fsatrace.c - `shmcache fsatrace FLAGS OUTPUT -- CMD [ARGS...]`, the
 * command line and output of fsatrace, so that a build tool that drives
 * fsatrace (Shake, rattle, ...) switches by changing one path.
 *
 * CMD runs as under `run`, into a private cache made for it and removed
 * afterwards; the cache is then written as fsatrace's lines, one per kind
 * and path:
 *   r|PATH      read, executed, or mapped by the dynamic loader
 *   w|PATH      written, created, truncated, made (mkdir, mknod, the new
 *               name of a link or symlink)
 *   m|DST|SRC   renamed from SRC to DST (see rename_pair)
 *   d|PATH      unlinked or removed (rmdir)
 *   t|PATH      attributes changed (times, mode, owner, extended)
 *   q|PATH      examined (stat, access, readlink, opendir, chdir, the old
 *               name of a hard link), or looked up and missing
 * Only operations that succeeded give a line, as in fsatrace, except q,
 * which also names the paths looked up in vain (ENOENT, ENOTDIR): a build
 * tool can depend on their absence.
 *
 * What differs from fsatrace, because the cache holds a set, not a log:
 * lines are sorted by path (bytewise), then in the order r w m d t q, each
 * at most once ("---" is accepted and gives the same output); paths are the
 * shim's keys (absolute, '.' and '..' folded, symbolic links not
 * resolved) where fsatrace resolves them with realpath.  A path holding a
 * newline cannot be one line: it is left out and a warning says so.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

static const char *const fsatrace_help =
	"Usage: shmcache fsatrace FLAGS OUTPUT -- CMD [ARGS...]\n"
	"       fsatrace FLAGS OUTPUT -- CMD [ARGS...]   (the opt-in installed name)\n"
	"Run CMD under the shim as fsatrace runs it and write the paths it used\n"
	"to OUTPUT ('-': standard output) as fsatrace's lines.  Exits with\n"
	"CMD's status (128+N if signal N killed it; 125 if shmcache failed).\n\n"
	"FLAGS, any of:\n"
	"  r  r|PATH     read, executed, loaded\n"
	"  w  w|PATH     written, created, truncated, made\n"
	"  m  m|DST|SRC  renamed (w|DST and d|SRC when the pairs are unknown)\n"
	"  d  d|PATH     removed\n"
	"  t  t|PATH     times, mode, owner changed\n"
	"  q  q|PATH     examined, or looked up and missing\n"
	"  v  print CMD's arguments on stderr\n"
	"  e  say on stderr when CMD fails\n"
	"Lines are sorted by path, each at most once ('---' is accepted for\n"
	"'--').  shmcache(1) has the details.\n";

/* The kinds of line, in output order. */
enum {
	K_R = 1 << 0,
	K_W = 1 << 1,
	K_M = 1 << 2, /* m|DST|SRC at DST */
	K_D = 1 << 3,
	K_T = 1 << 4,
	K_Q = 1 << 5,
};
static const char kind_letter[] = "rwmdtq";

#define OPS_W                                                            \
	(CACHE_OP_WRITE | CACHE_OP_CREATE | CACHE_OP_TRUNCATE |          \
	 CACHE_OP_MKDIR | CACHE_OP_MKNOD)
#define OPS_Q                                                            \
	(CACHE_OP_STAT | CACHE_OP_ACCESS | CACHE_OP_READLINK |           \
	 CACHE_OP_OPENDIR | CACHE_OP_CHDIR | CACHE_OP_LINK)

bool entry_executed(uint64_t ops)
{
	/* EXEC is recorded before execve, which does not return when it
	 * works, and again as failed when it does not: a candidate of a
	 * PATH search that was not there has both. */
	return (cache_ops_succeeded(ops) & CACHE_OP_EXEC) &&
	       (!(cache_ops_failed(ops) & CACHE_OP_EXEC) ||
		(ops & CACHE_OP_EXISTS));
}

/* The kinds of one entry's lines, renames aside. */
static unsigned entry_kinds(uint64_t ops)
{
	const uint32_t done = cache_ops_succeeded(ops);
	unsigned k = 0;
	if ((done & (CACHE_OP_READ | CACHE_OP_LOAD)) || entry_executed(ops))
		k |= K_R;
	if (done & OPS_W)
		k |= K_W;
	if (done & (CACHE_OP_UNLINK | CACHE_OP_RMDIR))
		k |= K_D;
	if (done & CACHE_OP_CHATTR)
		k |= K_T;
	if ((done & OPS_Q) || (ops & CACHE_OP_MISSING))
		k |= K_Q;
	return k;
}

/* The renames as fsatrace's m|DST|SRC needs them: the cache keeps
 * rename-from and rename-to per path, not which source went where.  The
 * pair is known only when the run renamed from exactly one path to
 * exactly one path and no record was dropped; then *src and *dst are set.
 * Otherwise each destination is written (w|DST) and each source removed
 * (d|SRC), which is what a move does to each. */
static bool rename_pair(const struct entry_list *l, bool dropped,
			const struct entry **src, const struct entry **dst)
{
	size_t nfrom = 0, nto = 0;
	for (size_t i = 0; i < l->n; i++) {
		const uint32_t done = cache_ops_succeeded(l->v[i].ops);
		if (done & CACHE_OP_RENAME_FROM) {
			nfrom++;
			*src = &l->v[i];
		}
		if (done & CACHE_OP_RENAME_TO) {
			nto++;
			*dst = &l->v[i];
		}
	}
	return nfrom == 1 && nto == 1 && !dropped;
}

static void put_line(FILE *f, char kind, const struct entry *e,
		     const struct entry *src)
{
	fputc(kind, f);
	fputc('|', f);
	fwrite(e->path, 1, e->len, f);
	if (src != NULL) {
		fputc('|', f);
		fwrite(src->path, 1, src->len, f);
	}
	fputc('\n', f);
}

/* Writes the lines of l selected by flags (a set of K_*). */
static void write_lines(FILE *f, const struct entry_list *l, unsigned flags,
			bool dropped)
{
	const struct entry *src = NULL, *dst = NULL;
	bool paired = rename_pair(l, dropped, &src, &dst);
	size_t skipped = 0;
	for (size_t i = 0; i < l->n; i++) {
		const struct entry *e = &l->v[i];
		const uint32_t done = cache_ops_succeeded(e->ops);
		unsigned k = entry_kinds(e->ops) & flags;
		if (flags & K_M) {
			if (paired && e == dst)
				k |= K_M;
			if (!paired && (done & CACHE_OP_RENAME_TO))
				k |= K_W;
			if (!paired && (done & CACHE_OP_RENAME_FROM))
				k |= K_D;
		}
		if (k == 0)
			continue;
		if (memchr(e->path, '\n', e->len) != NULL) {
			skipped++;
			continue;
		}
		for (unsigned b = 0; kind_letter[b] != '\0'; b++)
			if (k & (1u << b))
				put_line(f, kind_letter[b], e,
					 (1u << b) == K_M ? src : NULL);
	}
	if (skipped > 0)
		cli_warn("%zu paths holding a newline are left out: an "
			 "fsatrace line cannot hold one", skipped);
}

static unsigned parse_flags(const char *s, bool *verbose_args,
			    bool *verbose_errors)
{
	unsigned flags = 0;
	for (; *s != '\0'; s++) {
		const char *k = strchr(kind_letter, *s);
		if (k != NULL)
			flags |= 1u << (k - kind_letter);
		*verbose_args |= *s == 'v';
		*verbose_errors |= *s == 'e';
		/* other characters are ignored, as fsatrace ignores them */
	}
	return flags;
}

/* A directory of its own for the cache (0700, mkdtemp), so that nobody
 * else can name the cache; *dir and *cache are malloc'd. */
static bool make_private_dir(char **dir, char **cache)
{
	const char *base = cli_runtime_dir();
	size_t dsz = strlen(base) + sizeof "/shmcache-fsatrace-XXXXXX";
	*dir = malloc(dsz);
	*cache = malloc(dsz + sizeof "/cache");
	if (*dir == NULL || *cache == NULL) {
		cli_error("out of memory");
	} else {
		snprintf(*dir, dsz, "%s/shmcache-fsatrace-XXXXXX", base);
		if (mkdtemp(*dir) != NULL) {
			snprintf(*cache, dsz + sizeof "/cache", "%s/cache", *dir);
			return true;
		}
		cli_error("%s: cannot create a private directory for the "
			  "cache: %s", *dir, strerror(errno));
	}
	free(*dir);
	free(*cache);
	return false;
}

/* OUTPUT: '-' is standard output; a file is created or truncated. */
static FILE *open_output(const char *name)
{
	if (strcmp(name, "-") == 0)
		return stdout;
	int fd = open(name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (f == NULL) {
		cli_error("%s: %s", name, strerror(errno));
		if (fd >= 0)
			close(fd);
	}
	return f;
}

/* Reads the cache CMD filled and writes OUTPUT.  False when either
 * fails (said why). */
static bool write_trace(const char *cache, const char *output,
			unsigned flags)
{
	struct cache c;
	if (!cli_open_cache(cache, &c))
		return false;
	struct entry_list l = { 0 };
	bool ok = cli_load_entries(&c, cache, &l);
	struct cache_stats st;
	bool dropped = cache_stats(&c, &st, false) != CACHE_OK ||
		       st.skipped_full > 0 || st.skipped_toolong > 0;
	cache_detach(&c);
	FILE *f = open_output(output);
	if (f != NULL) {
		write_lines(f, &l, flags, dropped);
		if (fflush(f) != 0 || ferror(f) ||
		    (f != stdout && fclose(f) != 0)) {
			cli_error("%s: %s", output, strerror(errno));
			ok = false;
		}
	}
	entry_list_free(&l);
	return ok && f != NULL;
}

/* Runs CMD through `run -o CACHE --no-progress -- CMD`: run's signal
 * forwarding, exec records and warnings, with a cache nobody else names,
 * and no status line (fsatrace draws none).  A signal that comes while
 * CMD is not running (before it starts, after it ends) ends this process
 * inside run, which removes only a temporary cache of its own: the
 * private directory is then left behind. */
static int run_private(char **cmd, int ncmd, const char *cache)
{
	char **av = calloc((size_t)ncmd + 6, sizeof *av);
	if (av == NULL) {
		cli_error("out of memory");
		return EXIT_RUN_ERROR;
	}
	av[0] = (char *)"shmcache fsatrace";
	av[1] = (char *)"-o";
	av[2] = (char *)cache;
	av[3] = (char *)"--no-progress";
	av[4] = (char *)"--";
	memcpy(av + 5, cmd, (size_t)ncmd * sizeof *av);
	int rc = cmd_run(ncmd + 5, av);
	free(av);
	return rc;
}

int cmd_fsatrace(int argc, char **argv)
{
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 ||
			  strcmp(argv[1], "-h") == 0)) {
		fputs(fsatrace_help, stdout);
		return EXIT_OK;
	}
	if (argc < 5 || (strcmp(argv[3], "--") != 0 &&
			 strcmp(argv[3], "---") != 0))
		return cli_usage_error(argv[0], "expected FLAGS OUTPUT -- CMD");
	bool vargs = false, verrs = false;
	unsigned flags = parse_flags(argv[1], &vargs, &verrs);
	const char *output = argv[2];
	char **cmd = argv + 4;
	int ncmd = argc - 4;
	if (vargs)
		for (int i = 0; i < ncmd; i++)
			fprintf(stderr, "argv[%d]=%s\n", i, cmd[i]);

	char *dir = NULL, *cache = NULL;
	if (!make_private_dir(&dir, &cache))
		return EXIT_RUN_ERROR;
	int rc = run_private(cmd, ncmd, cache);
	/* No cache: run failed before CMD ran (said why, status 125), and
	 * OUTPUT is left as it is, as fsatrace leaves it when it cannot
	 * allocate its shared memory. */
	struct stat st;
	if (lstat(cache, &st) == 0) {
		if (!write_trace(cache, output, flags) && rc == EXIT_OK)
			rc = EXIT_RUN_ERROR;
		unlink(cache);
	}
	rmdir(dir);
	if (verrs && rc != EXIT_OK)
		cli_note("%s: command failed with code %d", cmd[0], rc);
	free(dir);
	free(cache);
	return rc;
}
