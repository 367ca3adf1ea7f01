/*
 * pathsearch.c - execvp, execvpe and execlp: the PATH search made here,
 * with the candidates glibc's (posix/execvpe.c) tries, in its order, each
 * through the real execve, so that every candidate is recorded:
 *
 *   - an empty name fails with ENOENT; a name with a slash is executed as
 *     it is;
 *   - else each entry of the process's PATH (environ's, whatever the
 *     environment handed to execvpe; "/bin:/usr/bin" when unset) is tried
 *     as "<entry>/<name>", an empty entry as the name alone (the current
 *     directory), an entry longer than the whole PATH allows as the next
 *     empty one;
 *   - a candidate that fails with ENOEXEC is run as "/bin/sh <candidate>
 *     <args...>" (E2BIG past INT_MAX - 1 arguments);
 *   - the search goes on after EACCES, ENOENT, ESTALE, ENOTDIR, ENODEV and
 *     ETIMEDOUT and stops at any other error; having seen EACCES it ends
 *     with EACCES, else with the last error.
 *
 * Each execve is recorded as the execve hook records one: EXEC before the
 * call (success does not return), EXEC and the outcome after a failure.
 * The environment regains LD_PRELOAD and SHMCACHE_FILE as with the exec
 * hooks.
 *
 * Async-signal-safe and usable in a vfork child: nothing is allocated; the
 * candidate lives in a variable-length array of at most PATH_MAX + NAME_MAX
 * + 2 bytes, as in glibc, next to the environment buffer; a candidate that
 * is not its own key (relative, or "//" in PATH) is folded in a struct
 * shim_key of a frame of its own.  Before the cache is attached, or when it
 * cannot be used, libc's own function runs instead; once recording stopped
 * on a damaged cache the search still runs here, recording nothing, so
 * that the environment is fixed as by the exec hooks.
 *
 * A name longer than NAME_MAX fails with ENAMETOOLONG before any execve;
 * glibc 2.36 reaches the same error through an execve of the name cut at
 * NAME_MAX bytes and left unterminated, which is not reproduced.
 * glibc also fails with ENAMETOOLONG when PATH and the name together exceed
 * a quarter of a thread's stack (its alloca cutoff, for threads of less
 * than 17 KiB); the search here does not: such a thread runs it.
 */
#include "shim.h"

#include <string.h>

#ifndef __APPLE__

#define PS_DEFAULT_PATH "/bin:/usr/bin" /* glibc's confstr(_CS_PATH) */
#define PS_SHELL "/bin/sh"              /* glibc's _PATH_BSHELL      */

const char *shim_env_path(void)
{
	char **e = environ;

	if (e == NULL)
		return PS_DEFAULT_PATH;
	for (; *e != NULL; e++)
		if (strncmp(*e, "PATH=", 5) == 0)
			return *e + 5;
	return PS_DEFAULT_PATH;
}

/* The general case, in a frame of its own: the key is folded. */
static __attribute__((noinline)) void ps_note_folded(const char *path,
						     uint64_t ops)
{
	struct shim_key k;

	shim_key_at(&k, AT_FDCWD, path);
	shim_record(&k, ops, 0, 0, 0);
}

/* Records path with ops (outcome bits included).  errno untouched. */
static void ps_note(const char *path, uint64_t ops)
{
	size_t n;

	if (!shim_active())
		return;
	n = strlen(path);
	if (shim_is_key(path, n))
		shim_record_bytes(path, n, ops);
	else
		ps_note_folded(path, ops);
}

/* One execve, recorded as the execve hook records it.  Returns (when it
 * failed) with errno as the call left it. */
static void ps_exec(shim_fn_execve ex, const char *path, char *const argv[],
		    char *const envp[])
{
	int e;
	uint64_t d = 0;

	if (shim_sandboxed() &&
	    (d = shim_sandbox_gate_path(path, CACHE_OP_EXEC)) == SHIM_SB_DENY) {
		errno = ENOENT; /* the candidate is absent: the search goes on */
		return;
	}
	ps_note(path, CACHE_OP_EXEC | d);
	shim_exec_call(ex, NULL, path, argv, envp);
	e = errno;
	ps_note(path, cache_call_value(CACHE_OP_EXEC, true, e));
	errno = e;
}

/* A file the kernel does not know how to run: the shell runs it. */
static void ps_script(shim_fn_execve ex, const char *file, char *const argv[],
		      char *const envp[])
{
	size_t argc;

	for (argc = 0; argv[argc] != NULL; argc++) {
		if (argc == INT_MAX - 1) {
			errno = E2BIG;
			return;
		}
	}
	{
		char *sh_argv[argc > 1 ? 2 + argc : 3];

		sh_argv[0] = (char *)PS_SHELL;
		sh_argv[1] = (char *)file;
		if (argc > 1)
			memcpy(sh_argv + 2, argv + 1, argc * sizeof *argv);
		else
			sh_argv[2] = NULL;
		ps_exec(ex, PS_SHELL, sh_argv, envp);
	}
}

int shim_path_search_goes_on(int err)
{
	switch (err) {
	case EACCES:
	case ENOENT:
	case ESTALE:
	case ENOTDIR:
	case ENODEV:
	case ETIMEDOUT:
		return 1;
	default:
		return 0;
	}
}

bool shim_path_candidate(char *buf, size_t cap, const char *entry,
			 size_t elen, const char *name, size_t nlen)
{
	if (elen + 1 + nlen >= cap)
		return false;
	memcpy(buf, entry, elen);
	buf[elen] = '/';
	memcpy(buf + elen + (elen > 0), name, nlen);
	buf[elen + (elen > 0) + nlen] = '\0';
	return true;
}

/* Every candidate, file (flen bytes with its NUL) under each entry of path
 * (plen: its length with the NUL, at most PATH_MAX). */
static int ps_search(shim_fn_execve ex, const char *file, size_t flen,
		     const char *path, size_t plen, char *const argv[],
		     char *const envp[])
{
	char cand[plen + flen + 1];
	int denied = 0;
	const char *p, *end;

	for (p = path;; p = end) {
		size_t n;

		end = strchrnul(p, ':');
		n = (size_t)(end - p);
		if (n >= plen) {
			if (*end == '\0')
				break;
			continue;
		}
		/* fits: n < plen */
		(void)shim_path_candidate(cand, sizeof cand, p, n, file,
					  flen - 1);
		ps_exec(ex, cand, argv, envp);
		if (errno == ENOEXEC)
			ps_script(ex, cand, argv, envp);
		if (!shim_path_search_goes_on(errno))
			return -1;
		denied |= errno == EACCES;
		if (*end++ == '\0')
			break;
	}
	if (denied)
		errno = EACCES;
	return -1;
}

/* The search with env, the environment already fixed. */
static int ps_run(shim_fn_execve ex, const char *file, char *const argv[],
		  char *const env[])
{
	const char *path;
	size_t flen, plen;

	if (file[0] == '\0') {
		errno = ENOENT;
		return -1;
	}
	if (strchr(file, '/') != NULL) {
		ps_exec(ex, file, argv, env);
		if (errno == ENOEXEC)
			ps_script(ex, file, argv, env);
		return -1;
	}
	path = shim_env_path();
	flen = strnlen(file, NAME_MAX + 1) + 1;
	plen = strnlen(path, PATH_MAX - 1) + 1;
	if (flen - 1 > NAME_MAX) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return ps_search(ex, file, flen, path, plen, argv, env);
}

int shim_exec_search(const char *file, char *const argv[],
		     char *const envp[])
{
	shim_fn_execve ex = shim_get_execve();
	struct shim_envplan ep;

	if (ex == NULL) {
		errno = ENOSYS;
		return -1;
	}
	/* The re-injected environment, sized to the one at hand, only when
	 * something is missing (as the exec hooks build it). */
	if (shim_env_plan(envp, &ep) != 0) {
		char *vec[ep.vec], pre[ep.preload + 1];
		return ps_run(ex, file, argv,
			      shim_env_build(envp, &ep, vec, pre));
	}
	return ps_run(ex, file, argv, envp);
}

SHIM_HOOKS_SEARCH(SHIM_GEN)

#endif /* !__APPLE__ */
