/*
 * rows_probe.c - calls every path-taking function of hooks.def once with a
 * real, valid path of its own, rows/<name>/t (and rows/<name>/u for the
 * second path of a two-path row), each call in a child process, and prints
 * one line per call: "<name> <result> <errno> <path>", result "ok" or
 * "err", path the name the call was made on relative to the directory the
 * probe runs in (for mkstemp and kin: the name the template became).
 * test_rows.c runs it under the shim and checks each row's keys and bits.
 *
 * The rows come from hooks.def through hook_rows.h, as in efault_probe.c,
 * and the arguments other than the paths are chosen from each parameter's
 * declaration.  What a call needs beforehand (a file, a directory, a
 * symbolic link, nothing) is made with raw system calls, which the shim
 * does not see: the only records under rows/<name>/ are the call's own.
 *
 * argv[1]: a shared object for dlopen and dlmopen (not loaded already).
 */
#define _GNU_SOURCE 1
#include <ctype.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hook_rows.h"

/* What the call needs at rows/<name>/t before it runs. */
enum need { N_FILE, N_NONE, N_DIR, N_LINK, N_PROGRAM, N_OBJECT };

typedef long (*fn6)(long, long, long, long, long, long);

static char scratch[1 << 16];
static const char *object; /* argv[1] */

/* The value of a parameter that is not a path: a valid one, from its
 * declaration. */
static long value_of(const struct param *pr)
{
	const char *d = pr->decl, *nm = pr->name;

	if (strcmp(nm, "mode") == 0 && strstr(d, "char"))
		return (long)(uintptr_t)"r+"; /* read and write */
	if (strcmp(nm, "name") == 0)
		return (long)(uintptr_t)"user.shmcache";
	if (strcmp(nm, "len") == 0 && strstr(d, "size_t"))
		return (long)sizeof scratch;
	return param_value(pr, scratch);
}

/* A row's flags: ones that its ops expression (if any) turns into bits
 * of their own, so that the expression is exercised. */
static long flags_of(const struct row *r)
{
	if (strncmp(r->shape, "OPEN", 4) == 0)
		return O_RDWR;
	if (strcmp(r->name, "unlinkat") == 0)
		return AT_REMOVEDIR;
	if (strcmp(r->shape, "LOAD") == 0)
		return RTLD_NOW;
	return 0;
}

static void *find(const char *name)
{
	void *f = dlsym(RTLD_DEFAULT, name);

	if (f == NULL)
		f = dlvsym(RTLD_DEFAULT, name, "GLIBC_2.2.5");
	if (f == NULL)
		f = dlvsym(RTLD_DEFAULT, name, "GLIBC_2.17");
	return f;
}

static int named(const char *name, const char *const list[])
{
	for (size_t i = 0; list[i] != NULL; i++)
		if (strcmp(name, list[i]) == 0)
			return 1;
	return 0;
}

static enum need need_of(const struct row *r)
{
	static const char *const none[] = { "mkdir", "mkdirat", "mknod",
		"mknodat", "mkfifo", "mkfifoat", NULL };
	static const char *const dir[] = { "rmdir", "opendir", "chdir",
		"fchdir", "unlinkat", NULL };
	static const char *const link[] = { "readlink", "readlinkat", NULL };
	static const char *const program[] = { "EXEC", "EXECL", "SPAWN",
		"SEARCH", NULL };

	if (named(r->name, none) || strcmp(r->shape, "SYMLINK") == 0 ||
	    strcmp(r->shape, "TEMP") == 0)
		return N_NONE;
	if (named(r->name, dir))
		return N_DIR;
	if (named(r->name, link))
		return N_LINK;
	if (named(r->shape, program))
		return N_PROGRAM;
	if (strcmp(r->shape, "LOAD") == 0)
		return N_OBJECT;
	return N_FILE;
}

/* Makes rows/<name>/ and what the call needs in it, unseen by the shim. */
static void prepare(const struct row *r, const char *dir, const char *t)
{
	long fd;

	if (syscall(SYS_mkdirat, AT_FDCWD, dir, 0700) != 0)
		exit(2);
	switch (need_of(r)) {
	case N_FILE:
		fd = syscall(SYS_openat, AT_FDCWD, t, O_WRONLY | O_CREAT, 0600);
		if (fd < 0)
			exit(2);
		/* for getxattr and kin; a file system without user
		 * attributes gives their calls an error, which the test
		 * reads from the result */
		(void)syscall(SYS_fsetxattr, fd, "user.shmcache", "x", 1, 0);
		syscall(SYS_close, fd);
		break;
	case N_DIR:
		if (syscall(SYS_mkdirat, AT_FDCWD, t, 0700) != 0)
			exit(2);
		break;
	case N_LINK:
		if (syscall(SYS_symlinkat, "x", AT_FDCWD, t) != 0)
			exit(2);
		break;
	case N_PROGRAM:
		if (syscall(SYS_symlinkat, "/bin/true", AT_FDCWD, t) != 0)
			exit(2);
		break;
	case N_OBJECT:
		if (syscall(SYS_symlinkat, object, AT_FDCWD, t) != 0)
			exit(2);
		break;
	case N_NONE:
		break;
	}
	if (strcmp(r->shape, "SYMLINK") == 0) { /* its target: a file */
		char x[300];
		snprintf(x, sizeof x, "%s/x", dir);
		fd = syscall(SYS_openat, AT_FDCWD, x, O_WRONLY | O_CREAT, 0600);
		if (fd < 0)
			exit(2);
		syscall(SYS_close, fd);
	}
}

static int exec_shape(const char *shape)
{
	return strcmp(shape, "EXEC") == 0 || strcmp(shape, "EXECL") == 0 ||
	       strcmp(shape, "SEARCH") == 0;
}

/* The call, in the child: writes its result to fd (an exec row: its
 * program's exit is the result). */
static void call(const struct row *r, const char *t, const char *u, int out)
{
	struct param ps[8];
	size_t n = split_params(r->params, ps, 8), k = 0;
	long a[6] = { 0 }, v;
	char tmpl[300], line[400];
	int ok, err;
	void *f = find(r->name);

	snprintf(tmpl, sizeof tmpl, "%s", t);
	for (size_t i = 0; i < n && k < 6; i++) {
		const char *nm = ps[i].name;
		if (strcmp(nm, "...") == 0)
			break;
		if (strcmp(nm, r->path1) == 0 || (i == 0 && !r->path1[0]))
			a[k++] = (long)(uintptr_t)(strcmp(r->shape, "TEMP") == 0
							   ? tmpl
							   : t);
		else if (r->path2 != NULL && strcmp(nm, r->path2) == 0)
			a[k++] = (long)(uintptr_t)u;
		else if (strcmp(nm, "flags") == 0)
			a[k++] = flags_of(r);
		else if (strcmp(nm, "fd") == 0) /* fchdir: the directory */
			a[k++] = open(t, O_RDONLY | O_DIRECTORY);
		else
			a[k++] = value_of(&ps[i]);
	}
	if (strcmp(r->shape, "EXECL") == 0) { /* the list ends after "x" */
		a[k++] = 0;
		a[k++] = (long)(uintptr_t)environ; /* execle's environment */
	}
	if (f == NULL)
		_exit(4);
	errno = 0;
	v = ((fn6)f)(a[0], a[1], a[2], a[3], a[4], a[5]);
	err = errno;
	if (strchr(r->ret, '*') != NULL)
		ok = v != 0;
	else if (strcmp(r->shape, "SPAWN") == 0) {
		int status;
		ok = v == 0 && wait(&status) > 0 && WIFEXITED(status) &&
		     WEXITSTATUS(status) == 0;
		err = (int)v;
	} else
		ok = v >= 0;
	if (exec_shape(r->shape))
		_exit(5); /* the exec failed */
	snprintf(line, sizeof line, "%s %s %d %s\n", r->name, ok ? "ok" : "err",
		 ok ? 0 : err, strcmp(r->shape, "TEMP") == 0 ? tmpl : t);
	if (write(out, line, strlen(line)) < 0)
		_exit(3);
}

int main(int argc, char **argv)
{
	if (argc != 2)
		return 2;
	object = argv[1];
	if (syscall(SYS_mkdirat, AT_FDCWD, "rows", 0700) != 0)
		return 2;
	fflush(stdout);
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		const struct row *r = &rows[i];
		char dir[200], t[260], u[260];
		int status;
		pid_t pid;

		snprintf(dir, sizeof dir, "rows/%s", r->name);
		snprintf(t, sizeof t, "%s/%s", dir,
			 strcmp(r->shape, "TEMP") == 0 ? "tXXXXXX" : "t");
		snprintf(u, sizeof u, "%s/u", dir);
		if (strcmp(r->shape, "SYMLINK") == 0)
			snprintf(u, sizeof u, "x"); /* relative to the link */
		prepare(r, dir, t);
		pid = fork();
		if (pid < 0)
			return 2;
		if (pid == 0) {
			call(r, t, u, 1);
			_exit(0);
		}
		while (waitpid(pid, &status, 0) < 0)
			;
		/* an exec row's program ran: its exit is the result */
		if (exec_shape(r->shape))
			printf("%s %s %d %s\n", r->name,
			       WIFEXITED(status) && WEXITSTATUS(status) == 0
				       ? "ok"
				       : "err",
			       0, t);
		else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			printf("%s crashed %d %s\n", r->name, status, t);
		fflush(stdout);
	}
	return 0;
}
