/*
 * test_rows.c - every row of hooks.def, called with a real valid path under
 * the shim (rows_probe.c, one call per row on rows/<name>/t), records
 * exactly its keys with exactly its bits.
 *
 * The expected operations come from the table below, written by hand and
 * keyed by the row's name, not from hooks.def's ops column: a row whose ops
 * column is wrong fails here.  A row of hooks.def that the table does not
 * know fails too (each new hooked call brings its expectation, or a reason
 * why it has no path of its own).  The outcome bit follows the call's
 * result as the probe saw it (EXISTS on success); the rows that must
 * succeed say so.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "e2e.h"
#include "hooks.def"

#ifndef SHMCACHE_TEST_ROWS_PROBE
#error "meson passes the probe's path"
#endif

#define R CACHE_OP_READ
#define W CACHE_OP_WRITE
#define C CACHE_OP_CREATE
#define TR CACHE_OP_TRUNCATE
#define ST CACHE_OP_STAT
#define AC CACHE_OP_ACCESS
#define X CACHE_OP_EXEC
#define RL CACHE_OP_READLINK
#define OD CACHE_OP_OPENDIR
#define MK CACHE_OP_MKDIR
#define RM CACHE_OP_RMDIR
#define UL CACHE_OP_UNLINK
#define RF CACHE_OP_RENAME_FROM
#define RT CACHE_OP_RENAME_TO
#define LN CACHE_OP_LINK
#define SL CACHE_OP_SYMLINK
#define CH CACHE_OP_CHATTR
#define CD CACHE_OP_CHDIR
#define MN CACHE_OP_MKNOD
#define LD CACHE_OP_LOAD

enum how {
	ANY = 1,     /* success depends on the file system (user attributes) */
	BEFORE = 2,  /* key1 recorded before a call that does not return on
		      * success (exec), without an outcome; the program it
		      * starts records the exec as succeeded (EXISTS) */
	NOOUT2 = 4,  /* key2 never has an outcome (a symlink's target: the
		      * call says nothing of its existence) */
	EINVAL1 = 8, /* key1's own probe fails (realpath's readlink of a
		      * file: EINVAL) while the call succeeds */
};

/* A row's expectation: up to two keys (name relative to rows/<row>/, "t"
 * being the name the probe passed) and their operations; `how`: where
 * their outcome differs from the call's result; `none`: no path of the
 * row's own, and why. */
struct expect {
	const char *row;
	const char *key1;
	uint32_t ops1;
	const char *key2;
	uint32_t ops2;
	int how;
	const char *none;
};

static const struct expect table[] = {
	/* OPEN: the probe's flags are O_RDWR, its fopen mode "r+" */
	{ "open", "t", R | W, NULL, 0, 0, NULL },
	{ "openat", "t", R | W, NULL, 0, 0, NULL },
	{ "open64", "t", R | W, NULL, 0, 0, NULL },
	{ "openat64", "t", R | W, NULL, 0, 0, NULL },
	{ "__open_2", "t", R | W, NULL, 0, 0, NULL },
	{ "__open64_2", "t", R | W, NULL, 0, 0, NULL },
	{ "__openat_2", "t", R | W, NULL, 0, 0, NULL },
	{ "__openat64_2", "t", R | W, NULL, 0, 0, NULL },
	/* a plain O_CREAT does not prove a creation: a write */
	{ "creat", "t", W | TR, NULL, 0, 0, NULL },
	{ "creat64", "t", W | TR, NULL, 0, 0, NULL },
	{ "fopen", "t", R | W, NULL, 0, 0, NULL },
	{ "fopen64", "t", R | W, NULL, 0, 0, NULL },
	{ "freopen", "t", R | W, NULL, 0, 0, NULL },
	{ "freopen64", "t", R | W, NULL, 0, 0, NULL },
	{ "opendir", "t", OD, NULL, 0, 0, NULL },
	{ "close", NULL, 0, NULL, 0, 0, "a descriptor, no path" },
	{ "closedir", NULL, 0, NULL, 0, 0, "a DIR *, no path" },
	{ "fclose", NULL, 0, NULL, 0, 0, "a FILE *, no path" },
	{ "dup2", NULL, 0, NULL, 0, 0, "descriptors, no path" },
	{ "dup3", NULL, 0, NULL, 0, 0, "descriptors, no path" },
	{ "dup", NULL, 0, NULL, 0, 0, "a descriptor, no path" },
	{ "fcntl", NULL, 0, NULL, 0, 0, "a descriptor, no path" },
	{ "fcntl64", NULL, 0, NULL, 0, 0, "a descriptor, no path" },
	{ "close_range", NULL, 0, NULL, 0, 0, "descriptors, no path" },
	{ "closefrom", NULL, 0, NULL, 0, 0, "descriptors, no path" },
	/* STAT */
	{ "stat", "t", ST, NULL, 0, 0, NULL },
	{ "lstat", "t", ST, NULL, 0, 0, NULL },
	{ "fstatat", "t", ST, NULL, 0, 0, NULL },
	{ "stat64", "t", ST, NULL, 0, 0, NULL },
	{ "lstat64", "t", ST, NULL, 0, 0, NULL },
	{ "fstatat64", "t", ST, NULL, 0, 0, NULL },
	{ "__xstat", "t", ST, NULL, 0, 0, NULL },
	{ "__lxstat", "t", ST, NULL, 0, 0, NULL },
	{ "__xstat64", "t", ST, NULL, 0, 0, NULL },
	{ "__lxstat64", "t", ST, NULL, 0, 0, NULL },
	{ "__fxstatat", "t", ST, NULL, 0, 0, NULL },
	{ "__fxstatat64", "t", ST, NULL, 0, 0, NULL },
	{ "statx", "t", ST, NULL, 0, 0, NULL },
	{ "statfs", "t", ST, NULL, 0, 0, NULL },
	{ "statfs64", "t", ST, NULL, 0, 0, NULL },
	{ "statvfs", "t", ST, NULL, 0, 0, NULL },
	{ "statvfs64", "t", ST, NULL, 0, 0, NULL },
	{ "getxattr", "t", ST, NULL, 0, ANY, NULL },
	{ "lgetxattr", "t", ST, NULL, 0, ANY, NULL },
	{ "listxattr", "t", ST, NULL, 0, 0, NULL },
	{ "llistxattr", "t", ST, NULL, 0, 0, NULL },
	/* ACCESS */
	{ "access", "t", AC, NULL, 0, 0, NULL },
	{ "faccessat", "t", AC, NULL, 0, 0, NULL },
	{ "euidaccess", "t", AC, NULL, 0, 0, NULL },
	{ "eaccess", "t", AC, NULL, 0, 0, NULL },
	{ "readlink", "t", RL, NULL, 0, 0, NULL },
	{ "readlinkat", "t", RL, NULL, 0, 0, NULL },
	/* RESOLVE: a readlink per component; t is a file (EINVAL) */
	{ "realpath", "t", RL, NULL, 0, EINVAL1, NULL },
	{ "canonicalize_file_name", "t", RL, NULL, 0, EINVAL1, NULL },
	{ "__realpath_chk", "t", RL, NULL, 0, EINVAL1, NULL },
	/* DIROPS */
	{ "mkdir", "t", MK, NULL, 0, 0, NULL },
	{ "mkdirat", "t", MK, NULL, 0, 0, NULL },
	{ "rmdir", "t", RM, NULL, 0, 0, NULL },
	{ "unlink", "t", UL, NULL, 0, 0, NULL },
	/* the probe's flags: AT_REMOVEDIR, on a directory */
	{ "unlinkat", "t", RM, NULL, 0, 0, NULL },
	{ "rename", "t", RF, "u", RT, 0, NULL },
	{ "renameat", "t", RF, "u", RT, 0, NULL },
	{ "renameat2", "t", RF, "u", RT, 0, NULL },
	{ "link", "t", LN, "u", LN | C, 0, NULL },
	{ "linkat", "t", LN, "u", LN | C, 0, NULL },
	{ "symlink", "t", SL | C, "x", SL, NOOUT2, NULL },
	{ "symlinkat", "t", SL | C, "x", SL, NOOUT2, NULL },
	/* ATTR */
	{ "chdir", "t", CD, NULL, 0, 0, NULL },
	/* the probe opens the directory (O_DIRECTORY) for fchdir */
	{ "fchdir", "t", OD | CD, NULL, 0, 0, NULL },
	{ "truncate", "t", W | TR, NULL, 0, 0, NULL },
	{ "truncate64", "t", W | TR, NULL, 0, 0, NULL },
	{ "chmod", "t", CH, NULL, 0, 0, NULL },
	{ "fchmodat", "t", CH, NULL, 0, 0, NULL },
	{ "chown", "t", CH, NULL, 0, 0, NULL },
	{ "lchown", "t", CH, NULL, 0, 0, NULL },
	{ "fchownat", "t", CH, NULL, 0, 0, NULL },
	{ "utime", "t", CH, NULL, 0, 0, NULL },
	{ "utimes", "t", CH, NULL, 0, 0, NULL },
	{ "utimensat", "t", CH, NULL, 0, 0, NULL },
	{ "lutimes", "t", CH, NULL, 0, 0, NULL },
	{ "futimesat", "t", CH, NULL, 0, 0, NULL },
	{ "mknod", "t", MN | C, NULL, 0, 0, NULL },
	{ "mknodat", "t", MN | C, NULL, 0, 0, NULL },
	{ "mkfifo", "t", MN | C, NULL, 0, 0, NULL },
	{ "mkfifoat", "t", MN | C, NULL, 0, 0, NULL },
	{ "setxattr", "t", CH, NULL, 0, ANY, NULL },
	{ "lsetxattr", "t", CH, NULL, 0, ANY, NULL },
	{ "removexattr", "t", CH, NULL, 0, ANY, NULL },
	{ "lremovexattr", "t", CH, NULL, 0, ANY, NULL },
	/* EXEC, SEARCH: t is a link to /bin/true */
	{ "execve", "t", X, NULL, 0, BEFORE, NULL },
	{ "execv", "t", X, NULL, 0, BEFORE, NULL },
	{ "execl", "t", X, NULL, 0, BEFORE, NULL },
	{ "execle", "t", X, NULL, 0, BEFORE, NULL },
	{ "execlp", "t", X, NULL, 0, BEFORE, NULL },
	{ "execvp", "t", X, NULL, 0, BEFORE, NULL },
	{ "execvpe", "t", X, NULL, 0, BEFORE, NULL },
	{ "posix_spawn", "t", X, NULL, 0, 0, NULL },
	{ "posix_spawnp", "t", X, NULL, 0, 0, NULL },
	/* SHELL */
	{ "system", NULL, 0, NULL, 0, 0,
	  "records /bin/sh, shared by every call: test_calls.c" },
	{ "popen", NULL, 0, NULL, 0, 0,
	  "records /bin/sh, shared by every call: test_calls.c" },
	/* TEMP: t is the name the template became (O_RDWR|O_CREAT|
	 * O_EXCL, the probe's flags 0) */
	{ "mkstemp", "t", R | W | C, NULL, 0, 0, NULL },
	{ "mkstemp64", "t", R | W | C, NULL, 0, 0, NULL },
	{ "mkostemp", "t", R | W | C, NULL, 0, 0, NULL },
	{ "mkostemp64", "t", R | W | C, NULL, 0, 0, NULL },
	{ "mkstemps", "t", R | W | C, NULL, 0, 0, NULL },
	{ "mkstemps64", "t", R | W | C, NULL, 0, 0, NULL },
	{ "mkostemps", "t", R | W | C, NULL, 0, 0, NULL },
	{ "mkostemps64", "t", R | W | C, NULL, 0, 0, NULL },
	{ "mkdtemp", "t", MK, NULL, 0, 0, NULL },
	{ "tmpfile", NULL, 0, NULL, 0, 0,
	  "no name of the caller's: libc's temporary directory" },
	{ "tmpfile64", NULL, 0, NULL, 0, 0,
	  "no name of the caller's: libc's temporary directory" },
	{ "tempnam", NULL, 0, NULL, 0, 0,
	  "a name only, no file: records nothing (tmpfile.c)" },
	{ "tmpnam", NULL, 0, NULL, 0, 0,
	  "a name only, no file: records nothing (tmpfile.c)" },
	{ "tmpnam_r", NULL, 0, NULL, 0, 0,
	  "a name only, no file: records nothing (tmpfile.c)" },
	/* LOADER: t is a link to the test's shared object */
	{ "dlopen", "t", LD, NULL, 0, 0, NULL },
	{ "dlmopen", "t", LD, NULL, 0, 0, NULL },
	{ "dlerror", NULL, 0, NULL, 0, 0,
	  "no path: a message; in sandbox mode a refused dlopen's (loader.c)" },
	/* SANDBOX */
	{ "readdir", NULL, 0, NULL, 0, 0,
	  "a DIR *, no path; records nothing (sandbox.c hides entries)" },
	{ "readdir64", NULL, 0, NULL, 0, 0,
	  "a DIR *, no path; records nothing (sandbox.c hides entries)" },
	/* SBLIST */
	{ "readdir_r", NULL, 0, NULL, 0, 0,
	  "records nothing; in sandbox mode hides entries (sblist.c)" },
	{ "readdir64_r", NULL, 0, NULL, 0, 0,
	  "records nothing; in sandbox mode hides entries (sblist.c)" },
	{ "getdents64", NULL, 0, NULL, 0, 0,
	  "records nothing; in sandbox mode hides entries (sblist.c)" },
	{ "scandir", NULL, 0, NULL, 0, 0,
	  "records nothing; in sandbox mode hides entries (sblist.c)" },
	{ "scandir64", NULL, 0, NULL, 0, 0,
	  "records nothing; in sandbox mode hides entries (sblist.c)" },
	{ "scandirat", NULL, 0, NULL, 0, 0,
	  "records nothing; in sandbox mode hides entries (sblist.c)" },
	{ "scandirat64", NULL, 0, NULL, 0, 0,
	  "records nothing; in sandbox mode hides entries (sblist.c)" },
	{ "nftw", NULL, 0, NULL, 0, 0,
	  "records nothing; in sandbox mode hides entries (sblist.c)" },
	{ "nftw64", NULL, 0, NULL, 0, 0,
	  "records nothing; in sandbox mode hides entries (sblist.c)" },
	{ "ftw", NULL, 0, NULL, 0, 0,
	  "records nothing; in sandbox mode hides entries (sblist.c)" },
	{ "ftw64", NULL, 0, NULL, 0, 0,
	  "records nothing; in sandbox mode hides entries (sblist.c)" },
	{ "fts_read", NULL, 0, NULL, 0, 0,
	  "records nothing; in sandbox mode hides entries (sblist.c)" },
	{ "fts64_read", NULL, 0, NULL, 0, 0,
	  "records nothing; in sandbox mode hides entries (sblist.c)" },
	{ "fts_children", NULL, 0, NULL, 0, 0,
	  "records nothing; in sandbox mode hides entries (sblist.c)" },
	{ "fts64_children", NULL, 0, NULL, 0, 0,
	  "records nothing; in sandbox mode hides entries (sblist.c)" },
	{ "glob", NULL, 0, NULL, 0, 0,
	  "records nothing; in sandbox mode hides entries (sblist.c)" },
	{ "glob64", NULL, 0, NULL, 0, 0,
	  "records nothing; in sandbox mode hides entries (sblist.c)" },
	/* SBEXEC */
	{ "execveat", NULL, 0, NULL, 0, 0,
	  "records nothing; in sandbox mode decides its program (sbexec.c)" },
	{ "fexecve", NULL, 0, NULL, 0, 0,
	  "records nothing; in sandbox mode decides its program (sbexec.c)" },
};
#define NTABLE (sizeof table / sizeof table[0])

static const char *const hooked[] = { SHIM_HOOKS_ALL(SHIM_ROW_NAME) };
#define NHOOKED (sizeof hooked / sizeof hooked[0])

static const struct expect *expect_of(const char *row)
{
	for (size_t i = 0; i < NTABLE; i++)
		if (strcmp(table[i].row, row) == 0)
			return &table[i];
	return NULL;
}

/* The probe's line for one row. */
struct called {
	char row[64], result[16], path[300];
	int err;
	int checked;
};

static struct called calls[NHOOKED];
static size_t ncalls;

/* The value a call of ops records: in the succeeded half with EXISTS, or
 * in the failed half with its failure class. */
static uint64_t value_of(uint32_t ops, const struct called *k);

static uint32_t outcome_of(const struct called *k)
{
	if (strcmp(k->result, "ok") == 0)
		return CACHE_OP_EXISTS;
	if (k->err == ENOENT || k->err == ENOTDIR)
		return CACHE_OP_MISSING;
	if (k->err == EACCES || k->err == EPERM)
		return CACHE_OP_DENIED;
	return CACHE_OP_FAILED;
}

static uint64_t value_of(uint32_t ops, const struct called *k)
{
	if (strcmp(k->result, "ok") == 0)
		return ops | CACHE_OP_EXISTS;
	return E2E_FAILED(ops) | outcome_of(k);
}

/* What a key under work/rows/ must be: its row and its name in the row's
 * directory, expected or not. */
struct walk {
	struct e2e *t;
	size_t prefix; /* strlen of work/rows/ */
	const char *rows;
	int extra;
};

static const struct called *called_of(const char *row)
{
	for (size_t i = 0; i < ncalls; i++)
		if (strcmp(calls[i].row, row) == 0)
			return &calls[i];
	return NULL;
}

/* The name of a row's key: key1 "t" is the path the probe called with. */
static void key_of(struct e2e *t, const struct called *k, const char *rel,
		   char *out, size_t cap)
{
	char *slash;

	snprintf(out, cap, "%s", e2e_path(t, k->path));
	if (strcmp(rel, "t") == 0)
		return;
	slash = strrchr(out, '/');
	snprintf(slash + 1, cap - (size_t)(slash + 1 - out), "%s", rel);
}

static int visit(const struct cache_entry *e, void *arg)
{
	struct walk *w = arg;
	char key[600], row[64], want[600];
	const char *rest, *slash;
	const struct expect *x;
	const struct called *k;

	if (e->len >= sizeof key)
		return 0;
	memcpy(key, e->key, e->len);
	key[e->len] = '\0';
	if (strncmp(key, w->rows, w->prefix) != 0)
		return 0;
	rest = key + w->prefix;
	slash = strchr(rest, '/');
	if (slash == NULL)
		return 0; /* rows/<row>: a component realpath resolves */
	snprintf(row, sizeof row, "%.*s", (int)(slash - rest), rest);
	x = expect_of(row);
	k = called_of(row);
	if (x != NULL && k != NULL && x->key1 != NULL) {
		key_of(w->t, k, x->key1, want, sizeof want);
		if (strcmp(want, key) == 0)
			return 0;
		if (x->key2 != NULL) {
			key_of(w->t, k, x->key2, want, sizeof want);
			if (strcmp(want, key) == 0)
				return 0;
		}
	}
	cr_expect(0, "row %s recorded a key it has no expectation for: %s",
		  row, key);
	w->extra++;
	return 0;
}

static void read_calls(const char *out)
{
	char *line, *save = NULL, buf[sizeof ((struct e2e_out *)0)->out];

	snprintf(buf, sizeof buf, "%s", out);
	for (line = strtok_r(buf, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		struct called *k = &calls[ncalls];
		cr_assert_lt(ncalls, NHOOKED, "more calls than rows");
		cr_assert_eq(sscanf(line, "%63s %15s %d %299s", k->row,
				    k->result, &k->err, k->path),
			     4, "probe line: %s", line);
		cr_expect_neq(strcmp(k->result, "crashed"), 0, "%s", line);
		ncalls++;
	}
}

Test(rows, every_row_records_its_key_and_bits)
{
	const char *argv[] = { SHMCACHE_TEST_ROWS_PROBE, e2e_userlib, NULL };
	struct e2e t;
	struct e2e_out o;
	struct cache_stats st;
	char rows[400];
	struct walk w;

	e2e_init(&t);
	e2e_run(&t, E2E_SHIM, NULL, argv, NULL, &o);
	cr_assert_eq(o.code, 0, "probe: %s", o.err);
	cr_assert_lt(o.out_len, sizeof o.out - 1, "probe output truncated");
	read_calls(o.out);

	/* every row of hooks.def is known: an expectation or a reason */
	for (size_t i = 0; i < NHOOKED; i++) {
		const struct expect *x = expect_of(hooked[i]);
		const struct called *k = called_of(hooked[i]);
		char key[600];
		uint64_t want, got;

		cr_expect_not_null(x, "row %s of hooks.def: no expectation",
				   hooked[i]);
		if (x == NULL)
			continue;
		if (x->none != NULL) {
			cr_expect_null(k, "row %s has no path (%s) but was "
					  "called", hooked[i], x->none);
			continue;
		}
		cr_expect_not_null(k, "row %s was not called", hooked[i]);
		if (k == NULL)
			continue;
		if (!(x->how & ANY))
			cr_expect_str_eq(k->result, "ok", "row %s: %s errno %d",
					 k->row, k->result, k->err);
		key_of(&t, k, x->key1, key, sizeof key);
		want = value_of(x->ops1, k);
		if (x->how & BEFORE)
			want = x->ops1 | CACHE_OP_EXISTS;
		if (x->how & EINVAL1)
			want = E2E_FAILED(x->ops1) | CACHE_OP_FAILED;
		got = e2e_ops(&t, key);
		cr_expect_eq(got, want,
			     "row %s: %s has %#llx, expected %#llx", k->row,
			     key, (unsigned long long)got,
			     (unsigned long long)want);
		if (x->key2 != NULL) {
			key_of(&t, k, x->key2, key, sizeof key);
			want = x->how & NOOUT2 ? x->ops2 : value_of(x->ops2, k);
			got = e2e_ops(&t, key);
			cr_expect_eq(got, want,
				     "row %s: %s has %#llx, expected %#llx",
				     k->row, key, (unsigned long long)got,
				     (unsigned long long)want);
		}
	}
	/* and no key under rows/<row>/ that the row does not expect */
	e2e_stats(&t, &st);
	snprintf(rows, sizeof rows, "%s/", e2e_path(&t, "rows"));
	w.t = &t;
	w.rows = rows;
	w.prefix = strlen(rows);
	w.extra = 0;
	cr_expect_eq(cache_iterate(&t.c, visit, &w), CACHE_OK);
	cr_expect_eq(w.extra, 0);
	e2e_fini(&t);
}
