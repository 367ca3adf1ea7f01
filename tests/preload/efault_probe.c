/*
 * efault_probe.c - calls every path-taking function of hooks.def with a
 * path that cannot be read, one call per child process, and writes one line
 * per call to the file named by argv[1]: "name param kind: outcome".  Run
 * bare and under the shim, the two files must be identical (test_efault.c):
 * the shim gives the program libc's result, never a crash of its own.
 *
 * The bad paths (kinds):
 *   one   (char *)1
 *   page  a page of 'a' with no NUL, followed by a PROT_NONE page
 *         (the kernel reads PATH_MAX bytes: ENAMETOOLONG)
 *   edge  the last 100 bytes of that page (EFAULT)
 * and, for the exec and spawn rows, an environment that cannot be read
 * with an existing program (envp, envstr, envedge: the vector, one string,
 * a string that runs into the PROT_NONE page).
 *
 * The arguments other than the bad one are chosen from each parameter's
 * declaration in the row (a valid relative name, a scratch buffer, AT_FDCWD,
 * 0...), and the function is called through a pointer taking six words
 * (the x86-64 and AArch64 calling conventions pass them all in registers;
 * variadic callees read them from there too).  The function is found with
 * dlsym (the shim's wrapper when preloaded) or, for a symbol libc keeps only
 * at its base version (__xstat...), dlvsym; one libc does not have is
 * written as "absent" in both runs.
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
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hook_rows.h"

typedef long (*fn6)(long, long, long, long, long, long);

static char *bad_page; /* 'a' to its end; the next page is PROT_NONE */
static long page_size;
static char scratch[1 << 16];

/* The value a parameter gets when it is not the one under test. */
static long value_of(const struct param *pr, const char *path1,
		     const char *path2, const char *good)
{
	const char *d = pr->decl, *nm = pr->name;

	if (strcmp(nm, path1) == 0 || (path2 && strcmp(nm, path2) == 0))
		return (long)(uintptr_t)good;
	if (strcmp(nm, "mode") == 0 && strstr(d, "char"))
		return (long)(uintptr_t)"r";
	if (strcmp(nm, "len") == 0 && strstr(d, "size_t"))
		return 64;
	return param_value(pr, scratch);
}

static void *find(const char *name)
{
	static void *libc;
	void *f;

	if (libc == NULL)
		libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
	if (libc == NULL ||
	    (dlsym(libc, name) == NULL &&
	     dlvsym(libc, name, "GLIBC_2.2.5") == NULL &&
	     dlvsym(libc, name, "GLIBC_2.17") == NULL))
		return NULL;
	f = dlsym(RTLD_DEFAULT, name);
	if (f == NULL)
		f = dlvsym(RTLD_DEFAULT, name, "GLIBC_2.2.5");
	if (f == NULL)
		f = dlvsym(RTLD_DEFAULT, name, "GLIBC_2.17");
	return f;
}

/* Runs one call in a child and writes its outcome. */
static void one(FILE *out, const struct row *r, const char *param,
		const char *kind, long a[6])
{
	int fds[2], status;
	long res[2] = { 0, 0 };
	pid_t pid;
	void *f = find(r->name);

	fprintf(out, "%s %s %s: ", r->name, param, kind);
	if (f == NULL) {
		fprintf(out, "absent\n");
		return;
	}
	fflush(out);
	if (pipe(fds) != 0)
		exit(2);
	pid = fork();
	if (pid == 0) {
		long v;
		close(fds[0]);
		errno = 0;
		v = ((fn6)f)(a[0], a[1], a[2], a[3], a[4], a[5]);
		/* What the result says, not which descriptor or address */
		if (strchr(r->ret, '*') != NULL)
			res[0] = v != 0 ? 1 : -1; /* a pointer, or NULL */
		else if (strncmp(r->name, "posix_spawn", 11) == 0)
			res[0] = (int)v; /* an error number */
		else if (strstr(r->ret, "ssize_t") != NULL)
			res[0] = v < 0 ? v : 0;
		else
			res[0] = (int)v < 0 ? (int)v : (int)v > 0 ? 1 : 0;
		res[1] = errno;
		if (write(fds[1], res, sizeof res) != (ssize_t)sizeof res)
			_exit(3);
		_exit(0);
	}
	close(fds[1]);
	if (read(fds[0], res, sizeof res) != (ssize_t)sizeof res)
		res[0] = res[1] = 0;
	close(fds[0]);
	while (waitpid(pid, &status, 0) < 0)
		;
	if (WIFSIGNALED(status)) {
		fprintf(out, "signal %d\n", WTERMSIG(status));
	} else if (strncmp(r->name, "posix_spawn", 11) == 0) {
		/* an error number: errno is not part of the result */
		fprintf(out, "returned %ld exit %d\n", res[0],
			WEXITSTATUS(status));
	} else {
		fprintf(out, "returned %ld errno %ld exit %d\n", res[0],
			res[0] < 0 ? res[1] : 0L, WEXITSTATUS(status));
	}
}

/* Fills a[] for row r with bad in place of parameter `param` (or, with
 * param NULL, the environment). */
static size_t args_of(const struct row *r, const char *param, long bad,
		      const char *good, long a[6])
{
	struct param ps[8];
	size_t n = split_params(r->params, ps, 8), k = 0;
	const char *p1 = r->path1[0] ? r->path1 : ps[0].name;

	memset(a, 0, 6 * sizeof *a);
	for (size_t i = 0; i < n && k < 6; i++) {
		if (strcmp(ps[i].name, "...") == 0)
			break;
		if (param != NULL && strcmp(ps[i].name, param) == 0)
			a[k++] = bad;
		else if (param == NULL && strcmp(ps[i].name, "envp") == 0)
			a[k++] = bad;
		else
			a[k++] = value_of(&ps[i], p1, r->path2, good);
	}
	/* execl*: the list ends after "x"; execle's environment follows. */
	if (strncmp(r->name, "execl", 5) == 0 && k < 5) {
		a[k++] = 0;
		a[k++] = param == NULL ? bad : (long)(uintptr_t)environ;
	}
	return k;
}

int main(int argc, char **argv)
{
	FILE *out;
	static char *bad_env[] = { "A=1", (char *)1, NULL };
	static char *edge_env[] = { "A=1", NULL, NULL };

	if (argc != 2 || (out = fopen(argv[1], "w")) == NULL)
		return 2;
	page_size = sysconf(_SC_PAGESIZE);
	bad_page = mmap(NULL, 2 * (size_t)page_size, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (bad_page == MAP_FAILED ||
	    mprotect(bad_page + page_size, (size_t)page_size, PROT_NONE) != 0)
		return 2;
	memset(bad_page, 'a', (size_t)page_size);
	/* "LD_PR" with no end, the last bytes before the PROT_NONE page */
	memcpy(bad_page + page_size - 5, "LD_PR", 5);
	edge_env[1] = bad_page + page_size - 5;

	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		const struct row *r = &rows[i];
		struct param ps[8];
		const char *params[2];
		long a[6];
		int exec = r->envp != NULL;

		split_params(r->params, ps, 8);
		params[0] = r->path1[0] ? r->path1 : ps[0].name;
		params[1] = r->path2;
		for (int j = 0; j < 2 && params[j] != NULL; j++) {
			/* the other path a valid name, or a program for exec */
			const char *good = exec ? "/bin/true" : "efault-x";
			args_of(r, params[j], 1, good, a);
			one(out, r, params[j], "one", a);
			args_of(r, params[j], (long)(uintptr_t)bad_page, good, a);
			one(out, r, params[j], "page", a);
			args_of(r, params[j],
				(long)(uintptr_t)(bad_page + page_size - 100),
				good, a);
			one(out, r, params[j], "edge", a);
		}
		if (exec && (strcmp(r->envp, "envp") == 0)) {
			args_of(r, NULL, 1, "/bin/true", a);
			one(out, r, "envp", "envp", a);
			args_of(r, NULL, (long)(uintptr_t)bad_env, "/bin/true",
				a);
			one(out, r, "envp", "envstr", a);
			args_of(r, NULL, (long)(uintptr_t)edge_env, "/bin/true",
				a);
			one(out, r, "envp", "envedge", a);
		}
	}
	/* A mark that this run recorded (when traced), and a relative path
	 * whose call fails before looking at it (EINVAL for bad flags): the
	 * hook copies it and records the key all the same. */
	(void)access("efault-done", F_OK);
	(void)faccessat(AT_FDCWD, "efault-sub/../efault-rel", F_OK, 0x7fff);
	return fclose(out) == 0 ? 0 : 2;
}
