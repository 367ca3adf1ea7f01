/*
 * sbexec.c - sandbox mode's decisions of what an exec or a spawn names
 * beside the program its row keys:
 *
 *   - posix_spawn's file actions (posix_spawn_file_actions_addopen,
 *     _addchdir_np): each path is decided before the spawn, as the open
 *     or chdir the child makes with it, from the current directory the
 *     actions before it leave (a chdir, an fchdir).  A denied one fails
 *     the spawn with ENOENT, as the child's call on a missing path does,
 *     and no child is made.  glibc keeps the actions in an array of
 *     struct __spawn_action (its spawn_int.h, not installed), mirrored
 *     here; an array that does not look like one is not decided.
 *   - execveat and fexecve (SBCALL rows): the program is execveat's path
 *     from its directory, or for fexecve and AT_EMPTY_PATH what the
 *     descriptor names (shim_fd_path, /proc/self/fd/N).  These rows keep
 *     the environment as the program passed it and record only the
 *     decision.
 *
 * An allowed path's record carries its decision, with no operation: the
 * child's own calls are not seen.  Everything here is async-signal-safe.
 */
#include "shim.h"

#include <spawn.h>
#include <string.h>

#if defined(__GLIBC__) && !defined(__APPLE__)

/* glibc's struct __spawn_action: the tag, then the action's arguments. */
struct sbx_action {
	int tag;
	union {
		struct {
			int fd;
		} close_action;
		struct {
			int fd, newfd;
		} dup2_action;
		struct {
			int fd;
			char *path;
			int oflag;
			mode_t mode;
		} open_action;
		struct {
			char *path;
		} chdir_action;
		struct {
			int fd;
		} fchdir_action;
	} action;
};
enum {
	SBX_CLOSE = 0,
	SBX_DUP2 = 1,
	SBX_OPEN = 2,
	SBX_CHDIR = 3,
	SBX_FCHDIR = 4,
	SBX_CLOSEFROM = 5, /* its first descriptor where close's is */
	SBX_TAGS = 7
};

/* Whether an action of a[0..j) changes what descriptor fd is in the
 * child: the parent's fd then does not tell. */
static int sbx_fd_changed(const struct sbx_action *a, int j, int fd)
{
	for (int m = 0; m < j; m++) {
		if ((a[m].tag == SBX_OPEN &&
		     a[m].action.open_action.fd == fd) ||
		    (a[m].tag == SBX_DUP2 &&
		     a[m].action.dup2_action.newfd == fd) ||
		    (a[m].tag == SBX_CLOSE &&
		     a[m].action.close_action.fd == fd) ||
		    (a[m].tag == SBX_CLOSEFROM &&
		     a[m].action.close_action.fd <= fd))
			return 1;
	}
	return 0;
}

/* Puts into k->buf the current directory the actions a[0..i) leave the
 * child in; returns its length, 0 or CACHE_KEY_TOOLONG when unknown. */
static size_t sbx_cwd_at(struct shim_key *k, const struct sbx_action *a,
			 int i)
{
	size_t n = shim_cwd(k->buf, sizeof k->buf);

	for (int j = 0; j < i; j++) {
		if (a[j].tag == SBX_FCHDIR &&
		    sbx_fd_changed(a, j, a[j].action.fchdir_action.fd))
			n = 0;
		else if (a[j].tag == SBX_FCHDIR)
			n = shim_fd_path(a[j].action.fchdir_action.fd, k->buf,
					 sizeof k->buf);
		else if (a[j].tag == SBX_CHDIR && n != 0 &&
			 n != CACHE_KEY_TOOLONG &&
			 a[j].action.chdir_action.path != NULL)
			n = cache_key_join(k->buf, sizeof k->buf, n,
					   a[j].action.chdir_action.path);
	}
	return n;
}

/* Decides path, the i-th action's (ops); 1 when it is denied. */
static int sbx_action_denied(struct shim_key *k, const struct sbx_action *a,
			     int i, const char *path, uint32_t ops)
{
	size_t base = 0;
	uint64_t d;

	k->key = k->buf;
	k->walk_denied = 0;
	if (path == NULL || path[0] == '\0')
		return 0;
	if (path[0] != '/') {
		base = sbx_cwd_at(k, a, i);
		if (base == 0 || base == CACHE_KEY_TOOLONG)
			return 0;
	}
	shim_key_join(k, base, path);
	d = shim_sandbox_gate(k, ops);
	if (d == SHIM_SB_DENY)
		return 1;
	if (d != 0)
		shim_record(k, d, 0, 0, 0);
	return 0;
}

int shim_spawn_acts_denied(struct shim_key *k,
			   const posix_spawn_file_actions_t *acts)
{
	const struct sbx_action *a;
	int n;

	if (acts == NULL)
		return 0;
	a = (const struct sbx_action *)(const void *)acts->__actions;
	n = acts->__used;
	if (a == NULL || n <= 0 || n > acts->__allocated)
		return 0;
	for (int i = 0; i < n; i++)
		if ((unsigned)a[i].tag >= SBX_TAGS)
			return 0; /* not glibc's array as known here */
	for (int i = 0; i < n; i++) {
		if (a[i].tag == SBX_OPEN &&
		    sbx_action_denied(k, a, i, a[i].action.open_action.path,
				      cache_open_ops(
					      a[i].action.open_action.oflag)))
			return 1;
		if (a[i].tag == SBX_CHDIR &&
		    sbx_action_denied(k, a, i, a[i].action.chdir_action.path,
				      CACHE_OP_CHDIR))
			return 1;
	}
	return 0;
}

/* ---- execveat, fexecve -------------------------------------------------- */

/* Decides the program named by (fd, path) (path NULL: fd itself); its
 * decision recorded when allowed.  1 when it is denied. */
static __attribute__((noinline)) int sbx_exec_denied(int fd,
						    const char *path)
{
	struct shim_key k;
	uint64_t d;

	k.len = 0;
	if (path != NULL)
		shim_key_at_copied(&k, fd, path);
	if (path == NULL) {
		k.key = k.buf;
		k.walk_denied = 0;
		k.len = shim_fd_path(fd, k.buf, sizeof k.buf);
	}
	d = shim_sandbox_gate(&k, CACHE_OP_EXEC);
	if (d == SHIM_SB_DENY)
		return 1;
	if (d != 0)
		shim_record(&k, d, 0, 0, 0);
	return 0;
}

/* Whether execveat's path is empty (AT_EMPTY_PATH: the descriptor is the
 * program), read without faulting. */
static int sbx_empty(const char *path)
{
	char c = 1;

	return path != NULL && shim_read_self(&c, path, 1) == 1 && c == '\0';
}

static int sbcall_execveat(shim_fn_execveat fn, int dirfd, const char *path,
			   char *const argv[], char *const envp[], int flags)
{
	int empty;

	if (path == NULL) /* the kernel's EFAULT, not a decision */
		return fn(dirfd, path, argv, envp, flags);
	empty = (flags & AT_EMPTY_PATH) && sbx_empty(path);

	if (sbx_exec_denied(dirfd, empty ? NULL : path))
		return SHIM_DENIED_RI;
	return fn(dirfd, path, argv, envp, flags);
}

static int sbcall_fexecve(shim_fn_fexecve fn, int fd, char *const argv[],
			  char *const envp[])
{
	if (sbx_exec_denied(fd, NULL))
		return SHIM_DENIED_RI;
	return fn(fd, argv, envp);
}

SHIM_HOOKS_SBEXEC(SHIM_GEN)

#else /* not glibc, or macOS: no actions read */

int shim_spawn_acts_denied(struct shim_key *k,
			   const posix_spawn_file_actions_t *acts)
{
	(void)k;
	(void)acts;
	return 0;
}

#endif
