/*
 * hook_rows.h - the rows of hooks.def as data, for the probes generated
 * from the table (efault_probe.c, rows_probe.c): each row with a path of
 * its own, its parameters (split from the text of its declaration,
 * "(int dirfd, const char *path, ...)") and the names of its path and
 * environment parameters.  A new shape of hooks.def gets its ROW_<shape>
 * here.
 */
#ifndef SHMCACHE_TEST_HOOK_ROWS_H
#define SHMCACHE_TEST_HOOK_ROWS_H

#include <ctype.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "hooks.def"

extern char **environ;

/* One row: its name, shape, return type and parameters (as written), and
 * the names of its path parameters and environment.  path1 "" is the first
 * parameter; path2 is the second path of a two-path row, or a symbolic
 * link's target (path1 being the link); envp is NULL but for the rows that
 * pass an environment on (the exec and spawn rows: the parameter holding
 * it, or "environ"). */
struct row {
	const char *name, *shape, *ret, *params, *path1, *path2, *envp;
};

#define ROW(shape, ret, name, params, ...) \
	ROW_##shape(#name, #shape, #ret, #params, __VA_ARGS__)
#define ROW_P1(n, s, r, p, args, res, fd, path, ops) \
	{ n, s, r, p, #path, NULL, NULL },
#define ROW_P1OUT ROW_P1
#define ROW_CWD ROW_P1
#define ROW_OPEN ROW_P1
#define ROW_OPENDIR ROW_P1
#define ROW_OPENV(n, s, r, p, last, args, res, fd, path, ops) \
	{ n, s, r, p, #path, NULL, NULL },
#define ROW_P2(n, s, r, p, args, res, fd1, path1, ops1, fd2, path2, ops2) \
	{ n, s, r, p, #path1, #path2, NULL },
#define ROW_SYMLINK(n, s, r, p, args, res, target, fd, linkpath) \
	{ n, s, r, p, #linkpath, #target, NULL },
#define ROW_EXEC(n, s, r, p, args, key, path, envsrc, callee, callargs) \
	{ n, s, r, p, #path, NULL, #envsrc },
#define ROW_SPAWN(n, s, r, p, args, key, path, envsrc, callargs) \
	{ n, s, r, p, #path, NULL, #envsrc },
/* execl*: the first parameter; execle's environment follows the NULL. */
#define ROW_EXECL(n, s, r, p, last, impl, envtail) \
	{ n, s, r, p, "", NULL, (envtail) ? "envp" : "environ" },
/* realpath and kin: resolved in the shim, reading the name as libc's own
 * realpath reads it. */
#define ROW_RESOLVE(n, s, r, p, args, path, resolved, own) \
	{ n, s, r, p, #path, NULL, NULL },
/* execvp, execvpe: the name searched for (their environment: the exec
 * rows). */
#define ROW_SEARCH(n, s, r, p, args, callargs) \
	{ n, s, r, p, "file", NULL, NULL },
#define ROW_TEMP(n, s, r, p, args, res, path, ops) \
	{ n, s, r, p, #path, NULL, NULL },
#define ROW_LOAD(n, s, r, p, args, file) { n, s, r, p, #file, NULL, NULL },
/* No path of the row's own (test_rows.c says why, row by row): system's
 * and popen's command is the shell's. */
#define ROW_SHELL(...)
#define ROW_TMPFILE(...)
#define ROW_DUP(...)
#define ROW_DUPV(...)
#define ROW_FDGONE(...)
#define ROW_FDGONE_VOID(...)
/* readdir, readdir64: a DIR *, no path. */
#define ROW_READDIR(...)
/* readdir_r and the listings sblist.c filters, tempnam and tmpnam,
 * execveat and fexecve: the real call outside sandbox mode, nothing
 * recorded. */
#define ROW_SBCALL(...)
/* dlerror: no path; the message of a dlopen the sandbox refused. */
#define ROW_LOADERR(...)

static const struct row rows[] = { SHIM_HOOKS_ALL(ROW) };

/* One parameter: its declaration and its name ("..." for the ellipsis). */
struct param {
	char decl[96], name[32];
};

/* Splits params into at most max parameters; returns how many.  The name
 * is the last identifier of a declaration, before any "[2]". */
static size_t split_params(const char *params, struct param *out, size_t max)
{
	size_t n = 0;
	const char *p = params + 1; /* past '(' */

	while (*p != '\0' && *p != ')' && n < max) {
		const char *s, *e, *q;
		size_t len;

		while (*p == ' ')
			p++;
		s = p;
		while (*p != ',' && *p != ')' && *p != '\0')
			p++;
		len = (size_t)(p - s);
		if (len >= sizeof out[n].decl)
			len = sizeof out[n].decl - 1;
		memcpy(out[n].decl, s, len);
		out[n].decl[len] = '\0';
		e = s + len;
		if ((q = memchr(s, '[', len)) != NULL)
			e = q;
		while (e > s && !(isalnum((unsigned char)e[-1]) || e[-1] == '_' ||
				  e[-1] == '.'))
			e--;
		q = e;
		while (q > s && (isalnum((unsigned char)q[-1]) || q[-1] == '_' ||
				 q[-1] == '.'))
			q--;
		snprintf(out[n].name, sizeof out[n].name, "%.*s", (int)(e - q), q);
		n++;
		if (*p == ',')
			p++;
	}
	return n;
}

/* A valid value for a parameter that is neither a path nor under test,
 * from its name and declaration (hooks.def lists the names): the one both
 * probes give; each probe decides mode (char *), name and len itself
 * first.  buf: a scratch buffer for any other pointer. */
static long param_value(const struct param *pr, void *buf)
{
	const char *d = pr->decl, *nm = pr->name;

	if (strcmp(nm, "arg") == 0)
		return (long)(uintptr_t)"x";
	if (strcmp(nm, "argv") == 0) {
		static char *const argv[] = { "x", NULL };
		return (long)(uintptr_t)argv;
	}
	if (strcmp(nm, "envp") == 0)
		return (long)(uintptr_t)environ;
	if (strcmp(nm, "stream") == 0)
		return (long)(uintptr_t)fopen("/dev/null", "r");
	if (strstr(d, "*") != NULL)
		return strcmp(nm, "acts") == 0 || strcmp(nm, "attr") == 0 ||
				       strcmp(nm, "times") == 0 ||
				       strcmp(nm, "tv") == 0 ||
				       strcmp(nm, "ts") == 0
			       ? 0
			       : (long)(uintptr_t)buf;
	if (strcmp(nm, "dirfd") == 0 || strcmp(nm, "fromfd") == 0 ||
	    strcmp(nm, "tofd") == 0 || strcmp(nm, "fd") == 0)
		return AT_FDCWD;
	if (strcmp(nm, "ver") == 0)
		return 1; /* _STAT_VER of x86-64 */
	if (strcmp(nm, "uid") == 0 || strcmp(nm, "gid") == 0)
		return -1; /* unchanged */
	if (strcmp(nm, "mode") == 0)
		return 0600;
	return 0;
}

#endif /* SHMCACHE_TEST_HOOK_ROWS_H */
