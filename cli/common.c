/*
 * common.c - what every reading command shares: attaching a cache with a
 * message a person can act on, copying its entries out, and printing them.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

const char *cli_progname = "shmcache";

/* Messages name paths (the cache's, a command's): the text is escaped as
 * listings are, so that it stays one line for every reader. */
static void vmessage(const char *kind, const char *fmt, va_list ap)
{
	char small[512], *text = small;
	va_list again;
	va_copy(again, ap);
	int n = vsnprintf(small, sizeof small, fmt, ap);
	if (n >= (int)sizeof small && (text = malloc((size_t)n + 1)) != NULL)
		vsnprintf(text, (size_t)n + 1, fmt, again);
	va_end(again);
	if (text == NULL) {
		text = small;
		n = (int)strlen(small);
	}
	fflush(stdout);
	/* Built whole, then one write: stderr is unbuffered, and a line
	 * written a byte at a time interleaves with CMD's output. */
	char *line = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&line, &len);
	FILE *out = m != NULL ? m : stderr;
	fprintf(out, "%s: %s", cli_progname, kind);
	if (n > 0)
		write_escaped(out, (const unsigned char *)text, (size_t)n,
			      false);
	fputc('\n', out);
	if (m != NULL && fclose(m) == 0)
		fwrite(line, 1, len, stderr);
	free(line);
	if (text != small)
		free(text);
}

void cli_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmessage("", fmt, ap);
	va_end(ap);
}

void cli_warn(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmessage("warning: ", fmt, ap);
	va_end(ap);
}

void cli_note(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmessage("", fmt, ap);
	va_end(ap);
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmessage("", fmt, ap);
	va_end(ap);
	fprintf(stderr, "Try '%s --help'.\n", cmd);
	return EXIT_USAGE;
}

/* Why the arena layer refused the file (st: its lstat), in the words of
 * shmcache(1). */
static const char *arena_reason(int err, char *buf, size_t bufsz,
				const struct stat *st)
{
	switch (err) {
	case SHM_E_OPEN:
		return "cannot be opened";
	case SHM_E_SYMLINK:
		return "is a symbolic link (refused, never followed)";
	case SHM_E_NOTREG:
		return "not a cache file (not a regular file)";
	case SHM_E_OWNER:
		snprintf(buf, bufsz, "owned by another user (uid %lu; refused)",
			 (unsigned long)st->st_uid);
		return buf;
	case SHM_E_MODE:
		return "group- or world-writable (refused)";
	case SHM_E_LINKS:
		snprintf(buf, bufsz, "has %lu hard links: another name could "
			 "change it (refused)", (unsigned long)st->st_nlink);
		return buf;
	case SHM_E_MAGIC:
		return "not a cache file (bad magic)";
	case SHM_E_VERSION:
		return "made by an incompatible version of shmcache "
		       "(file layout version differs)";
	case SHM_E_SETTINGS:
		return "made by a shmcache built with other allocator settings";
	case SHM_E_SIZE:
		/* Smaller than the header page: never was a cache. */
		if (st->st_size < 4096) {
			snprintf(buf, bufsz, "not a cache file (%s%lld bytes)",
				 st->st_size == 0 ? "empty, " : "only ",
				 (long long)st->st_size);
			return buf;
		}
		return "corrupt: truncated or wrong size";
	case SHM_E_CORRUPT:
		return "corrupt: damaged file header (zeroed or inconsistent)";
	case SHM_E_BUSY:
		return "still being initialised by another process";
	default:
		snprintf(buf, bufsz, "cannot be used: %s", shm_strerror(err));
		return buf;
	}
}

/* Whether path can be a cache file, looked at without opening it (a
 * symbolic link is refused, a FIFO would block); says why not.  *st gets
 * its lstat. */
static bool cache_file_plausible(const char *path, struct stat *st)
{
	if (lstat(path, st) != 0) {
		if (errno == ENOENT)
			cli_error("%s: missing: no such file", path);
		else
			cli_error("%s: %s", path, strerror(errno));
		return false;
	}
	if (S_ISLNK(st->st_mode)) {
		cli_error("%s: is a symbolic link (refused, never followed)",
			  path);
		return false;
	}
	if (!S_ISREG(st->st_mode)) {
		/* Never opened: opening a FIFO would block. */
		cli_error("%s: not a cache file (%s)", path,
			  S_ISDIR(st->st_mode) ? "a directory" :
			  S_ISFIFO(st->st_mode) ? "a FIFO" :
			  "not a regular file");
		return false;
	}
	if (st->st_size == 0) {
		cli_error("%s: not a cache file (empty)", path);
		return false;
	}
	return true;
}

/* Says why cache_attach of path failed with r (attach_errno: its errno). */
static void attach_error(const char *path, const struct cache *c, int r,
			 int attach_errno, const struct stat *st)
{
	char buf[160];
	switch (r) {
	case CACHE_E_ARENA:
		if (c->arena_err == SHM_E_OPEN && attach_errno != 0)
			cli_error("%s: cannot be opened: %s", path,
				  strerror(attach_errno));
		else
			cli_error("%s: %s", path,
				  arena_reason(c->arena_err, buf, sizeof buf,
					       st));
		break;
	case CACHE_E_NOTCACHE:
		cli_error("%s: not a cache file (a shared-memory arena "
			  "without a path cache)", path);
		break;
	case CACHE_E_VERSION:
		cli_error("%s: made by an incompatible version of shmcache "
			  "(cache format version differs)", path);
		break;
	case CACHE_E_CORRUPT:
		cli_error("%s: corrupt: %s (try 'shmcache verify')", path,
			  cache_strerror(r));
		break;
	default:
		cli_error("%s: cannot be used: %s", path, cache_strerror(r));
		break;
	}
}

bool cli_open_cache(const char *path, struct cache *c)
{
	struct stat st;
	if (!cache_file_plausible(path, &st))
		return false;
	errno = 0;
	int r = cache_attach(c, path, CACHE_ATTACH_RDONLY);
	int attach_errno = errno;
	if (r == CACHE_OK)
		return true;
	attach_error(path, c, r, attach_errno, &st);
	return false;
}

bool entry_list_add(struct entry_list *l, const unsigned char *key,
		    size_t len, uint64_t ops, uint64_t count)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 256;
		struct entry *v = realloc(l->v, cap * sizeof *v);
		if (v == NULL)
			return false;
		l->v = v;
		l->cap = cap;
	}
	unsigned char *p = malloc(len + 1);
	if (p == NULL)
		return false;
	memcpy(p, key, len);
	p[len] = '\0';
	l->v[l->n++] = (struct entry){ p, len, ops, count };
	return true;
}

static int entry_cmp(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->path, y->path, n);
	if (c != 0)
		return c;
	return (x->len > y->len) - (x->len < y->len);
}

void entry_list_sort(struct entry_list *l)
{
	if (l->n > 1)
		qsort(l->v, l->n, sizeof *l->v, entry_cmp);
}

void entry_list_free(struct entry_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].path);
	free(l->v);
	*l = (struct entry_list){ 0 };
}

static int collect(const struct cache_entry *e, void *arg)
{
	return entry_list_add(arg, e->key, e->len, e->ops, e->count) ? 0 : 1;
}

bool cli_load_entries(struct cache *c, const char *path, struct entry_list *l)
{
	int r = cache_iterate(c, collect, l);
	entry_list_sort(l);
	if (r == CACHE_E_STOP) {
		cli_error("%s: out of memory reading the cache", path);
		return false;
	}
	if (r != CACHE_OK) {
		cli_error("%s: corrupt: %s after %zu entries (try 'shmcache "
			  "verify')", path, cache_strerror(r), l->n);
		return false;
	}
	return true;
}

size_t ops_letters(uint64_t ops, char *buf)
{
	const uint32_t done = (uint32_t)ops, failed = cache_ops_failed(ops);
	size_t n = 0;
#define OP_LETTER(name, bit, letter, str) \
	buf[n++] = (done & (1u << (bit))) ? (letter) : '-';
	CACHE_OPS(OP_LETTER)
#undef OP_LETTER
	buf[n++] = ' ';
#define OP_FAILED(name, bit, letter, str)                          \
	if ((1u << (bit)) & CACHE_OPS_ACTIONS)                     \
		buf[n++] = (failed & (1u << (bit))) ? (letter) : '-';
	CACHE_OPS(OP_FAILED)
#undef OP_FAILED
	buf[n] = '\0';
	return n;
}

void print_path_escaped(FILE *f, const unsigned char *p, size_t len)
{
	write_escaped(f, p, len, false);
}

int count_width(const struct entry_list *l)
{
	uint64_t max = 0;
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].count > max)
			max = l->v[i].count;
	int w = 1;
	while (max >= 10) {
		max /= 10;
		w++;
	}
	return w;
}

void print_entry_line(FILE *f, const struct entry *e, int width)
{
	char letters[OPS_LETTERS_MAX];
	ops_letters(e->ops, letters);
	fprintf(f, "%s %*llu ", letters, width, (unsigned long long)e->count);
	print_path_escaped(f, e->path, e->len);
	fputc('\n', f);
}

char *path_normalize(const char *path)
{
	size_t plen = strlen(path);
	char *cwd = NULL;
	size_t clen = 0;
	if (path[0] != '/') {
		size_t sz = 256;
		for (;;) {
			char *b = realloc(cwd, sz);
			if (b == NULL) {
				free(cwd);
				return NULL;
			}
			cwd = b;
			if (getcwd(cwd, sz) != NULL)
				break;
			if (errno != ERANGE) {
				free(cwd);
				return NULL;
			}
			sz *= 2;
		}
		clen = strlen(cwd);
	}
	/* The key is at most as long as the cwd, a slash and the path. */
	size_t cap = clen + plen + 2;
	char *out = malloc(cap + 1);
	if (out == NULL) {
		free(cwd);
		return NULL;
	}
	if (clen == 1 && cwd[0] == '/')
		clen = 0;
	if (clen > 0)
		memcpy(out, cwd, clen);
	free(cwd);
	size_t n = cache_key_join(out, cap, clen, plen > 0 ? path : ".");
	if (n == CACHE_KEY_TOOLONG || n == 0) {
		free(out);
		return NULL;
	}
	out[n] = '\0';
	return out;
}

bool path_under(const unsigned char *path, size_t len, const char *dir)
{
	size_t dlen = strlen(dir);
	if (dlen == 1 && dir[0] == '/')
		return len > 0 && path[0] == '/';
	if (len < dlen || memcmp(path, dir, dlen) != 0)
		return false;
	return len == dlen || path[dlen] == '/';
}

void cli_print_name(FILE *f, const char *path, const char *fmt, ...)
{
	va_list ap;
	print_path_escaped(f, (const unsigned char *)path, strlen(path));
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
}

int cli_json_opts(int argc, char **argv, const char *help, bool *json)
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
	return -1;
}

int cli_simple_opts(int argc, char **argv, const char *help, bool *json)
{
	int rc = cli_json_opts(argc, argv, help, json);
	if (rc != -1)
		return rc;
	if (optind + 1 != argc)
		return cli_usage_error(argv[0], "expected one CACHE argument");
	return -1;
}

/* Where temporary caches go: $XDG_RUNTIME_DIR, /dev/shm, $TMPDIR, /tmp. */
const char *cli_runtime_dir(void)
{
	const char *cands[] = { getenv("XDG_RUNTIME_DIR"), "/dev/shm",
				getenv("TMPDIR"), "/tmp" };
	for (size_t i = 0; i < sizeof cands / sizeof cands[0]; i++) {
		struct stat st;
		const char *d = cands[i];
		if (d != NULL && d[0] == '/' && stat(d, &st) == 0 &&
		    S_ISDIR(st.st_mode) && access(d, W_OK | X_OK) == 0)
			return d;
	}
	return "/tmp";
}
