/*
 * spawnsearch.c - posix_spawnp of a name without a slash, in sandbox mode:
 * the PATH search made here, so that a denied directory on PATH is absent
 * as it is for execvp's search (pathsearch.c).  Outside sandbox mode, and
 * for a name with a slash, libc searches in its child as usual.
 *
 * The candidates are glibc's (posix/execvpe.c, which the child of
 * posix_spawnp runs): each entry of the process's PATH ("/bin:/usr/bin"
 * when unset; the environment handed to posix_spawnp is the child's, not
 * the search's), "<entry>/<name>", an empty entry meaning the name alone.
 * In order, for each:
 *
 *   - a denied candidate is absent (its violation recorded, as execvp's
 *     search records it) and the search goes on;
 *   - an allowed one is probed with the real faccessat(X_OK, AT_EACCESS),
 *     as the exec checks the effective ids: a failure
 *     (ENOENT, EACCES, ...) goes on to the next, as the exec would;
 *   - else the real posix_spawn runs it; an error after which glibc's
 *     search goes on (EACCES, ENOENT, ESTALE, ENOTDIR, ENODEV, ETIMEDOUT)
 *     goes on here, any other is the result.
 *
 * The search ends with EACCES if a candidate gave it, else ENOENT.  The
 * probe is a file operation libc's search does not make (as the readlinks
 * of sandbox mode, sandbox.c): it keeps the caller's file actions from
 * running once per absent candidate.  Each candidate spawned is recorded
 * as an exec with its outcome.  A candidate longer than a key leaves the
 * search to libc.  Async-signal-safe: nothing is allocated.
 */
#include "shim.h"

#include <string.h>

#ifndef __APPLE__

/* A candidate and its key: too large for a signal handler's stack beside
 * the hook's own key, they come from a small static pool, each pair
 * claimed with an atomic bit (cache_slot_claim).  When
 * every pair is in use the search is left to libc. */
#define SP_SLOTS 8
struct sp_bufs {
	char cand[SHIM_KEY_CAP];
	char key[SHIM_KEY_CAP];
};
static struct sp_bufs sp_pool[SP_SLOTS];
static _Atomic unsigned sp_pool_used;

static struct sp_bufs *sp_claim(void)
{
	int i = cache_slot_claim(&sp_pool_used, SP_SLOTS);

	return i < 0 ? NULL : &sp_pool[i];
}

static void sp_release(struct sp_bufs *b)
{
	cache_slot_release(&sp_pool_used, (int)(b - sp_pool));
}

/* B->cand's key into B->key; its length, or 0. */
static size_t sp_key(struct sp_bufs *B)
{
	size_t base = 0, n;

	if (B->cand[0] != '/') {
		base = shim_cwd(B->key, sizeof B->key);
		if (base == 0 || base == CACHE_KEY_TOOLONG)
			return 0;
	}
	n = cache_key_join(B->key, sizeof B->key, base, B->cand);
	return n == CACHE_KEY_TOOLONG ? 0 : n;
}

/* One candidate, B->cand: 0 (spawned), an error number, or -1 when the
 * candidate is absent or not runnable (the search goes on; *eacces
 * set). */
static int sp_try(struct sp_bufs *B, pid_t *pid,
		  const posix_spawn_file_actions_t *acts,
		  const posix_spawnattr_t *attr, char *const argv[],
		  char *const envp[], int *eacces)
{
	shim_fn_faccessat ac = shim_get_faccessat();
	shim_fn_posix_spawn sp = shim_get_posix_spawn();
	size_t klen = sp_key(B);
	uint64_t d = 0;
	int r;

	if (sp == NULL || ac == NULL)
		return ENOSYS;
	if (klen != 0 &&
	    (d = shim_sandbox_gate_bytes(B->key, klen, CACHE_OP_EXEC)) ==
		    SHIM_SB_DENY)
		return -1;
	if (ac(AT_FDCWD, B->cand, X_OK, AT_EACCESS) != 0) {
		*eacces |= errno == EACCES;
		return -1;
	}
	r = shim_spawn_call(sp, NULL, pid, B->cand, acts, attr, argv, envp);
	if (klen != 0)
		shim_record_bytes(B->key, klen,
				  cache_call_value(CACHE_OP_EXEC, r != 0, r) |
					  d);
	if (r != 0 && shim_path_search_goes_on(r)) {
		*eacces |= r == EACCES;
		return -1;
	}
	return r;
}

/* The search for the name (n bytes); -2 when it is left to libc. */
static int sp_search(struct sp_bufs *B, const char *name, size_t n,
		     pid_t *pid, const posix_spawn_file_actions_t *acts,
		     const posix_spawnattr_t *attr, char *const argv[],
		     char *const envp[])
{
	const char *path = shim_env_path(), *p, *end;
	int eacces = 0, e = errno, r;

	for (p = path;; p = end + 1) {
		size_t len;

		end = strchrnul(p, ':');
		len = (size_t)(end - p);
		if (!shim_path_candidate(B->cand, sizeof B->cand, p, len, name,
					 n))
			return -2;
		r = sp_try(B, pid, acts, attr, argv, envp, &eacces);
		if (r >= 0) {
			errno = e;
			return r;
		}
		if (*end == '\0')
			break;
	}
	errno = e;
	return eacces ? EACCES : ENOENT;
}

int shim_spawn_run(shim_fn_posix_spawn fn, const struct shim_key *k,
		   pid_t *pid, const char *path,
		   const posix_spawn_file_actions_t *acts,
		   const posix_spawnattr_t *attr, char *const argv[],
		   char *const envp[])
{
	if (k->len != 0 && k->len != CACHE_KEY_TOOLONG && k->key[0] != '/' &&
	    k->len <= NAME_MAX &&
	    fn == (shim_fn_posix_spawn)shim_get_posix_spawnp() &&
	    shim_sandboxed()) {
		struct sp_bufs *B = sp_claim();
		int r = B == NULL ? -2
				  : sp_search(B, k->key, k->len, pid, acts,
					      attr, argv, envp);
		if (B != NULL)
			sp_release(B);
		if (r != -2)
			return r;
	}
	return shim_spawn_call(fn, k, pid, path, acts, attr, argv, envp);
}

#else /* __APPLE__: libc searches */

int shim_spawn_run(shim_fn_posix_spawn fn, const struct shim_key *k,
		   pid_t *pid, const char *path,
		   const posix_spawn_file_actions_t *acts,
		   const posix_spawnattr_t *attr, char *const argv[],
		   char *const envp[])
{
	return shim_spawn_call(fn, k, pid, path, acts, attr, argv, envp);
}

#endif /* !__APPLE__ */
