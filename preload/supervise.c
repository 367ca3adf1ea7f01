/*
 * supervise.c - the exec hooks' choice of running a program under
 * shmcache-supervise (shim_supervise.h).
 */
#include "shim.h"

#include <string.h>

#include "../supervisor/elfkind.h"

#ifndef __APPLE__

#define SUP_MAX_ARGS 8192 /* more: run untraced (the vector is a VLA) */

static char sup_helper[PATH_MAX];
static char sup_patterns[1024];
static int sup_on;

void shim_supervise_init(void)
{
	const char *h = getenv("SHMCACHE_SUPERVISOR");
	const char *p = getenv("SHMCACHE_SUPERVISE_PATTERNS");
	const char *m = getenv("SHMCACHE_SUPERVISED");

	if ((m != NULL && m[0] != '\0') || h == NULL || h[0] != '/' ||
	    strlen(h) >= sizeof sup_helper)
		return;
	memcpy(sup_helper, h, strlen(h) + 1);
	if (p != NULL && strlen(p) < sizeof sup_patterns)
		memcpy(sup_patterns, p, strlen(p) + 1);
	sup_on = 1;
}

/* Whether glob (glen bytes; '*' any run, '?' one byte) matches s. */
static int sup_glob(const char *g, size_t glen, const char *s, size_t slen)
{
	size_t gi = 0, si = 0, star = (size_t)-1, mark = 0;

	while (si < slen) {
		if (gi < glen && (g[gi] == '?' || g[gi] == s[si])) {
			gi++;
			si++;
		} else if (gi < glen && g[gi] == '*') {
			star = gi++;
			mark = si;
		} else if (star != (size_t)-1) {
			gi = star + 1;
			si = ++mark;
		} else {
			return 0;
		}
	}
	while (gi < glen && g[gi] == '*')
		gi++;
	return gi == glen;
}

/* Whether a pattern names the program (name: its key or path). */
static int sup_pattern_hit(const char *name, size_t len)
{
	const char *base = name + len;

	while (base > name && base[-1] != '/')
		base--;
	for (const char *p = sup_patterns; *p != '\0';) {
		const char *end = strchrnul(p, ':');
		size_t n = (size_t)(end - p);

		if (n > 0 && (memchr(p, '/', n) != NULL
				      ? sup_glob(p, n, name, len)
				      : sup_glob(p, n, base,
						 len - (size_t)(base - name))))
			return 1;
		p = *end != '\0' ? end + 1 : end;
	}
	return 0;
}

static int sup_wanted(const struct shim_key *k, const char *path)
{
	if (!sup_on)
		return 0;
	if (k != NULL && (k->len == 0 || k->len == CACHE_KEY_TOOLONG))
		return 0;
	if (sup_patterns[0] != '\0' &&
	    sup_pattern_hit(k != NULL ? k->key : path,
			    k != NULL ? k->len : strlen(path)))
		return 1;
	return elf_kind_bypasses_libc(elf_kind_path(path));
}

/* argv's length, read without faulting; -1 when it cannot be read or is
 * too long for the helper's vector. */
static long sup_argc(char *const argv[])
{
	long n = 0;

	if (argv == NULL)
		return -1;
	for (;; n++) {
		char *a;

		if (n >= SUP_MAX_ARGS ||
		    shim_read_self(&a, argv + n, sizeof a) != (long)sizeof a)
			return -1;
		if (a == NULL)
			return n;
	}
}

/* {helper, "--", path, argv..., NULL} into v (argc + 4 slots). */
static void sup_vector(char **v, const char *path, char *const argv[],
		       long argc)
{
	v[0] = sup_helper;
	v[1] = (char *)"--";
	v[2] = (char *)path;
	memcpy(v + 3, argv, (size_t)(argc + 1) * sizeof *argv);
}

int shim_exec_call(shim_fn_execve fn, const struct shim_key *k,
		   const char *path, char *const argv[], char *const envp[])
{
	long argc;

	if (!sup_wanted(k, path) || (argc = sup_argc(argv)) < 1)
		return fn(path, argv, envp);
	{
		char *v[argc + 4];

		sup_vector(v, path, argv, argc);
		fn(sup_helper, v, envp);
	}
	return fn(path, argv, envp);
}

int shim_spawn_call(shim_fn_posix_spawn fn, const struct shim_key *k,
		    pid_t *pid, const char *path,
		    const posix_spawn_file_actions_t *acts,
		    const posix_spawnattr_t *attr, char *const argv[],
		    char *const envp[])
{
	long argc;

	if (k == NULL || k->len == 0 || k->len == CACHE_KEY_TOOLONG ||
	    strchr(path, '/') == NULL || !sup_wanted(k, path) ||
	    (argc = sup_argc(argv)) < 1)
		return fn(pid, path, acts, attr, argv, envp);
	{
		char *v[argc + 4];
		int r;

		sup_vector(v, path, argv, argc);
		r = fn(pid, sup_helper, acts, attr, v, envp);
		if (r == 0)
			return 0;
	}
	return fn(pid, path, acts, attr, argv, envp);
}

#else /* __APPLE__: no seccomp */

void shim_supervise_init(void)
{
}

int shim_exec_call(shim_fn_execve fn, const struct shim_key *k,
		   const char *path, char *const argv[], char *const envp[])
{
	(void)k;
	return fn(path, argv, envp);
}

#endif
