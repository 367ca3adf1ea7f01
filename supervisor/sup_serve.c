/*
 * sup_serve.c - the notification loop: each trapped call's paths are read
 * from the traced process, made into keys as the shim makes them, recorded
 * with the shim's operation bits and outcome, and the call is let through
 * (SECCOMP_USER_NOTIF_FLAG_CONTINUE).  In sandbox mode a call naming a
 * denied path is answered with ENOENT instead, not made (sup_sandbox.c).
 *
 * Reading the target: the path strings (and openat2's struct open_how)
 * are read with process_vm_readv (one read of a few hundred bytes, split
 * at page boundaries; a longer string takes one more, up to PATH_MAX
 * bytes); a relative path's directory is read as a link of /proc/TID and
 * looked up through it; then SECCOMP_IOCTL_NOTIF_ID_VALID confirms that
 * the call is still waiting, so that all that was read is that call's
 * task's, not a recycled pid's (sup_handle).  A string that
 * cannot be read (the kernel fails the call with EFAULT) or has no NUL in
 * PATH_MAX bytes (ENAMETOOLONG) is not recorded, as with the shim; a key
 * longer than the buffer is counted as skipped, as with the shim.
 *
 * Keys: a relative path is joined to what cwd or fd/N under /proc/TID
 * names (readlink), with cache_key_join, the shim's normaliser.  A path
 * under /proc/self or /proc/thread-self keeps its name in the key and is
 * looked up under /proc/TID.  A descriptor that names no directory path
 * (a pipe, a deleted directory: " (deleted)" and no links) gives no key.
 *
 * Outcomes.  The call is continued, so its result is never seen here; it is
 * foreseen, before the call runs, by the lookups the kernel makes for it:
 * fstatat / faccessat / readlinkat from the supervisor on the path as the
 * process named it, for a relative one through the magic link cwd or fd/N
 * of /proc/TID (/proc/TID/cwd/NAME: the same directory, even renamed or
 * deleted, without a descriptor opened and closed a call; from a
 * descriptor of that link when the name would pass PATH_MAX, or when the
 * link's count makes ELOOP), following the last symbolic link when the
 * call does.  Exact, for the calling process
 * being blocked in that very call: stat, lstat, access and readlink (the
 * same call made here), and the lookups of every other call (ENOENT,
 * ENOTDIR, ELOOP, EEXIST for the creating calls, ENOTDIR and EISDIR by the
 * file type, EACCES by faccessat with the supervisor's credentials, which
 * are the program's unless it changed them).  Not foreseen: failures that
 * no lookup shows (ENOSPC, EROFS, EMFILE, ENOTEMPTY, ETXTBSY, ENOEXEC,
 * EINTR), and a change another process makes between the notification and
 * the call: those record the foreseen outcome.
 *
 * Every record is made before the call is answered: when the program
 * exits, its records are in the cache.
 *
 * A stat is let through, not answered here with the look-up's result
 * written into the program (process_vm_writev): the write would be one
 * more system call of the supervisor's (after NOTIF_ID_VALID, as any
 * write into the task), while the program's own look-up runs inside the
 * call it has made already; the switches are the same two; and the
 * program's look-up is exact by itself (its credentials, its ABI's
 * struct).
 */
#define _GNU_SOURCE 1

#include "supervise.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <unistd.h>

/* Linux 6.6: the traced task hands its CPU to the supervisor on each
 * notification, and back, rather than waking it elsewhere (older kernels
 * refuse the flag: the loop works the same, slower; sup_wait_mode). */
#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS SECCOMP_IOW(4, __u64)
#endif
#ifndef SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
#define SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (1UL << 0)
#endif

#define SUP_KEY_CAP (2 * PATH_MAX)

/* One path of a trapped call. */
struct sup_path {
	char raw[PATH_MAX];      /* as the process named it               */
	const char *look;        /* what the supervisor looks up, from dir */
	int dir;                 /* AT_FDCWD, or a descriptor of base
				  * (closed after)                         */
	/* A path looked up through the traced task's /proc entry: base is
	 * "/proc/TID", "/proc/TID/cwd" or "/proc/TID/fd/N", rest what is
	 * looked up from there; NULL for an absolute path */
	char base[48];
	const char *rest;
	char through[PATH_MAX];  /* base/rest, when look is that          */
	char key[SUP_KEY_CAP];
	size_t keylen;           /* 0: nothing to record; CACHE_KEY_TOOLONG:
				  * counted as skipped                     */
	uint64_t decided;        /* sandbox mode: the decision bits its
				  * records carry (sup_sandbox_gate)       */
	size_t baselen;          /* the directory raw is relative to: its */
	char walkbase[SUP_KEY_CAP]; /* name (only when raw holds "..")     */
};

struct sup_req {
	const struct seccomp_notif *n;
	const struct sup_call *c;
	char proc[24];           /* "/proc/TID" of the calling task       */
	int flags, mode;
	struct sup_path p1, p2;
};

/* ---- reading the traced process ---------------------------------------- */

/* Says once when no memory of the traced program can be read (e:
 * process_vm_readv's errno, EPERM). */
static void sup_unreadable(int e)
{
	static bool warned;

	if (e == EPERM && !warned) {
		/* Yama's ptrace_scope (2, 3; or 1 without the helper's
		 * PR_SET_PTRACER) forbids the read: nothing is recorded */
		warned = true;
		fprintf(stderr, "shmcache-supervise: cannot read the traced "
				"program's memory (%s): its paths are not "
				"recorded (see /proc/sys/kernel/yama/"
				"ptrace_scope)\n", strerror(e));
	}
}

static int sup_read_mem(pid_t pid, uint64_t addr, void *buf, size_t len)
{
	struct iovec l = { buf, len }, r = { (void *)(uintptr_t)addr, len };

	if (process_vm_readv(pid, &l, 1, &r, 1, 0) == (ssize_t)len)
		return 0;
	sup_unreadable(errno);
	return -1;
}

/* The remote iovecs for up to len bytes at addr, one a page, so that a
 * page that is not mapped ends the read there (a partial read), not the
 * whole read; the bytes they cover. */
static size_t sup_page_iovecs(struct iovec *r, unsigned *n, unsigned max,
			      uint64_t addr, size_t len)
{
	const size_t page = 4096;
	size_t covered = 0;

	for (*n = 0; covered < len && *n < max; (*n)++) {
		size_t chunk = page - (size_t)((addr + covered) % page);

		if (chunk > len - covered)
			chunk = len - covered;
		r[*n].iov_base = (void *)(uintptr_t)(addr + covered);
		r[*n].iov_len = chunk;
		covered += chunk;
	}
	return covered;
}

/* The NUL-terminated string at addr: 0, or -1 when it cannot be read or
 * has no NUL in cap bytes.  The first process_vm_readv, of SUP_STR_FIRST
 * bytes, holds nearly every path; a longer one takes one more. */
#define SUP_STR_FIRST 512
static int sup_read_str(pid_t pid, uint64_t addr, char *buf, size_t cap)
{
	size_t got = 0;

	if (addr == 0)
		return -1;
	while (got < cap) {
		struct iovec l, r[3];
		unsigned nr;
		size_t want = got == 0 && cap > SUP_STR_FIRST ? SUP_STR_FIRST
							      : cap - got;
		ssize_t n;

		want = sup_page_iovecs(r, &nr, 3, addr + got, want);
		l = (struct iovec){ buf + got, want };
		n = process_vm_readv(pid, &l, 1, r, nr, 0);
		if (n <= 0) {
			sup_unreadable(n < 0 ? errno : EFAULT);
			return -1;
		}
		if (memchr(buf + got, '\0', (size_t)n) != NULL)
			return 0;
		got += (size_t)n;
		if ((size_t)n < want)
			return -1; /* the next page is not mapped: EFAULT */
	}
	return -1;
}

/* ---- keys ----------------------------------------------------------------- */

/* Whether the directory link of n bytes in key names a deleted directory
 * (its readlink ends in " (deleted)"). */
static bool sup_deleted_name(const char *key, size_t n)
{
	static const char tag[] = " (deleted)";

	return n >= sizeof tag - 1 &&
	       memcmp(key + n - (sizeof tag - 1), tag, sizeof tag - 1) == 0;
}

/* The length of a "/proc/self" or "/proc/thread-self" prefix of path
 * (a whole component), or 0: looked up here, it would name the
 * supervisor. */
static size_t sup_proc_self(const char *path)
{
	static const char *const names[] = { "/proc/self",
					     "/proc/thread-self" };

	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		size_t n = strlen(names[i]);

		if (strncmp(path, names[i], n) == 0 &&
		    (path[n] == '/' || path[n] == '\0'))
			return n;
	}
	return 0;
}

/* p looked up from a descriptor of p->base: 0, or -1 when base cannot be
 * opened (no such descriptor of the task: no key). */
static int sup_by_descriptor(struct sup_path *p)
{
	p->dir = open(p->base, O_PATH | O_CLOEXEC);
	p->look = p->rest;
	return p->dir >= 0 ? 0 : -1;
}

/* p looked up through the path name base/rest: a magic link of /proc
 * followed in the walk, as a descriptor of it would be, without opening
 * and closing one.  An empty rest (the call's own ENOENT) or a name that
 * would pass PATH_MAX takes the descriptor instead. */
static int sup_by_name(struct sup_path *p)
{
	size_t b = strlen(p->base), r = strlen(p->rest);

	if (r == 0 || b + 1 + r >= sizeof p->through)
		return sup_by_descriptor(p);
	memcpy(p->through, p->base, b);
	p->through[b] = '/';
	memcpy(p->through + b + 1, p->rest, r + 1);
	p->look = p->through;
	return 0;
}

/* Fills p->look, p->dir and p->key for p->raw named relative to fd (a
 * descriptor of the task q->proc, or AT_FDCWD). */
static void sup_make_key(struct sup_path *p, const struct sup_req *q, int fd)
{
	ssize_t n = 0;
	size_t self;
	struct stat st;

	p->keylen = 0;
	p->look = p->raw;
	p->dir = AT_FDCWD;
	p->rest = NULL;
	if (p->raw[0] == '/' && (self = sup_proc_self(p->raw)) != 0) {
		snprintf(p->base, sizeof p->base, "%s", q->proc);
		p->rest = p->raw[self] == '/' && p->raw[self + 1] != '\0'
				  ? p->raw + self + 1 : ".";
	} else if (p->raw[0] != '/') {
		if (fd == AT_FDCWD)
			snprintf(p->base, sizeof p->base, "%s/cwd", q->proc);
		else
			snprintf(p->base, sizeof p->base, "%s/fd/%d", q->proc,
				 fd);
		p->rest = p->raw;
		n = readlink(p->base, p->key, sizeof p->key - 1);
		if (n <= 0 || p->key[0] != '/')
			return; /* no such descriptor, or not a path: no key */
		/* a deleted directory (no links left): no key */
		if (sup_deleted_name(p->key, (size_t)n) &&
		    (sup_by_descriptor(p) != 0 ||
		     (fstat(p->dir, &st) == 0 && st.st_nlink == 0)))
			return;
		if (n == 1)
			n = 0; /* the root: cache_key_join's empty base */
	}
	if (p->rest != NULL && p->dir == AT_FDCWD && sup_by_name(p) != 0)
		return;
	p->baselen = (size_t)n;
	if (strstr(p->raw, "..") != NULL)
		memcpy(p->walkbase, p->key, p->baselen);
	p->keylen = cache_key_join(p->key, sizeof p->key, (size_t)n, p->raw);
}

/* symlink's target, as the shim keys it: relative to the link's
 * directory (lexically), unless absolute. */
static void sup_make_target_key(struct sup_path *t, const struct sup_path *l)
{
	size_t dir = l->keylen;

	t->keylen = 0;
	if (l->keylen == 0 || t->raw[0] == '\0')
		return;
	if (l->keylen == CACHE_KEY_TOOLONG) {
		t->keylen = CACHE_KEY_TOOLONG;
		return;
	}
	if (t->raw[0] != '/') {
		while (dir > 0 && l->key[dir - 1] != '/')
			dir--;
		if (dir > 1)
			dir--; /* drop the slash, except the root's */
		memcpy(t->key, l->key, dir);
	} else {
		dir = 0;
	}
	t->keylen = cache_key_join(t->key, sizeof t->key, dir, t->raw);
}

/* ---- operation bits: the shim's ------------------------------------------ */

static uint32_t sup_ops(const struct sup_req *q)
{
	switch ((enum sup_kind)q->c->kind) {
	case SUP_OPEN:
	case SUP_OPENAT2:
		return cache_open_ops(q->flags);
	case SUP_STAT: return CACHE_OP_STAT;
	case SUP_ACCESS: return CACHE_OP_ACCESS;
	case SUP_READLINK: return CACHE_OP_READLINK;
	case SUP_EXEC: return CACHE_OP_EXEC;
	case SUP_MKDIR: return CACHE_OP_MKDIR;
	case SUP_RMDIR: return CACHE_OP_RMDIR;
	case SUP_UNLINK:
		return (q->flags & AT_REMOVEDIR) ? CACHE_OP_RMDIR
						 : CACHE_OP_UNLINK;
	case SUP_RENAME: return CACHE_OP_RENAME_FROM;
	case SUP_LINK: return CACHE_OP_LINK;
	case SUP_SYMLINK: return CACHE_OP_SYMLINK | CACHE_OP_CREATE;
	case SUP_CHDIR:
	case SUP_FCHDIR: return CACHE_OP_CHDIR;
	case SUP_TRUNCATE: return CACHE_OP_WRITE | CACHE_OP_TRUNCATE;
	case SUP_CHATTR: return CACHE_OP_CHATTR;
	case SUP_MKNOD: return CACHE_OP_MKNOD | CACHE_OP_CREATE;
	}
	return 0;
}

/* ---- outcomes: the kernel's lookups, made here ------------------------- */

static int sup_look(int dir, const char *path, bool follow, struct stat *st)
{
	return fstatat(dir, path, st, follow ? 0 : AT_SYMLINK_NOFOLLOW) == 0
		       ? 0 : errno;
}

static int sup_may(int dir, const char *path, int mode)
{
	return faccessat(dir, path, mode, AT_EACCESS) == 0 ? 0 : errno;
}

/* A name about to be made: its directory exists, is searchable and
 * writable.  Taken lexically from what is looked up. */
static int sup_parent_ok(int dir, const char *look)
{
	char parent[PATH_MAX];
	size_t n = strlen(look);
	struct stat st;
	int e;

	if (n == 0)
		return 0;
	while (n > 1 && look[n - 1] == '/')
		n--;
	while (n > 0 && look[n - 1] != '/')
		n--;
	if (n == 0)
		parent[n++] = '.';
	else
		memcpy(parent, look, n);
	parent[n] = '\0';
	if ((e = sup_look(dir, parent, true, &st)) != 0)
		return e;
	if (!S_ISDIR(st.st_mode))
		return ENOTDIR;
	return sup_may(dir, parent, W_OK | X_OK);
}

/* The outcome of a name about to be made (mkdir, mknod, symlink, the
 * new name of link): EEXIST when it is there. */
static int sup_make_name(int dir, const char *look)
{
	struct stat st;
	int e = sup_look(dir, look, false, &st);

	if (e == 0)
		return EEXIST;
	return e == ENOENT ? sup_parent_ok(dir, look) : e;
}

static bool sup_follows(const struct sup_req *q)
{
	switch ((enum sup_follow)q->c->follow) {
	case SUP_FOLLOW: return true;
	case SUP_NOFOLLOW: return false;
	case SUP_FOLLOW_UNLESS: return !(q->flags & AT_SYMLINK_NOFOLLOW);
	case SUP_FOLLOW_IF: return (q->flags & AT_SYMLINK_FOLLOW) != 0;
	}
	return true;
}

/* open of an existing file st: the checks made after the lookup. */
static int sup_open_existing(int dir, const char *look, int flags,
			     const struct stat *st)
{
	int acc = flags & O_ACCMODE, mode = 0;

	if ((flags & O_DIRECTORY) && !S_ISDIR(st->st_mode))
		return ENOTDIR;
	if (flags & O_PATH)
		return 0;
	if ((flags & O_NOFOLLOW) && S_ISLNK(st->st_mode))
		return ELOOP;
	if (S_ISDIR(st->st_mode) && (acc != O_RDONLY || (flags & O_CREAT)))
		return EISDIR;
	if (acc == O_RDONLY || acc == O_RDWR)
		mode |= R_OK;
	if (acc == O_WRONLY || acc == O_RDWR || (flags & O_TRUNC))
		mode |= W_OK;
	return mode != 0 ? sup_may(dir, look, mode) : 0;
}

static int sup_foresee_open(int dir, const char *look, int flags)
{
	struct stat st;
	bool excl = (flags & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL);
	int e = sup_look(dir, look, !(flags & O_NOFOLLOW) && !excl, &st);

	if ((flags & O_TMPFILE) == O_TMPFILE) {
		if (e != 0)
			return e;
		return S_ISDIR(st.st_mode) ? sup_may(dir, look, W_OK | X_OK)
					   : ENOTDIR;
	}
	if (e == 0)
		return excl ? EEXIST : sup_open_existing(dir, look, flags, &st);
	if (e == ENOENT && (flags & O_CREAT))
		return sup_parent_ok(dir, look);
	return e;
}

static int sup_foresee_exec(int dir, const char *look)
{
	struct stat st;
	int e = sup_look(dir, look, true, &st);

	if (e != 0)
		return e;
	if (!S_ISREG(st.st_mode))
		return EACCES;
	return sup_may(dir, look, X_OK);
}

static int sup_foresee_chdir(int dir, const char *look)
{
	struct stat st;
	int e = sup_look(dir, look, true, &st);

	if (e != 0)
		return e;
	return S_ISDIR(st.st_mode) ? sup_may(dir, look, X_OK) : ENOTDIR;
}

static int sup_foresee_remove(int dir, const char *look, bool want_dir)
{
	struct stat st;
	int e = sup_look(dir, look, false, &st);

	if (e != 0)
		return e;
	if (want_dir)
		return S_ISDIR(st.st_mode) ? 0 : ENOTDIR;
	return S_ISDIR(st.st_mode) ? EISDIR : 0;
}

static int sup_foresee_access(const struct sup_req *q)
{
	int fl = 0;

	if (q->c->flags >= 0)
		fl = q->flags & (AT_EACCESS | AT_SYMLINK_NOFOLLOW);
	return faccessat(q->p1.dir, q->p1.look, q->mode, fl) == 0 ? 0 : errno;
}

/* The error the call is foreseen to fail with, or 0. */
static int sup_foresee(const struct sup_req *q)
{
	const char *look = q->p1.look;
	int dir = q->p1.dir;
	struct stat st;
	char one;
	int e;

	switch ((enum sup_kind)q->c->kind) {
	case SUP_OPEN:
	case SUP_OPENAT2:
		return sup_foresee_open(dir, look, q->flags);
	case SUP_STAT:
	case SUP_CHATTR:
		return sup_look(dir, look, sup_follows(q), &st);
	case SUP_ACCESS:
		return sup_foresee_access(q);
	case SUP_READLINK:
		return readlinkat(dir, look, &one, 1) >= 0 ? 0 : errno;
	case SUP_EXEC:
		return sup_foresee_exec(dir, look);
	case SUP_CHDIR:
	case SUP_FCHDIR:
		return sup_foresee_chdir(dir, look);
	case SUP_TRUNCATE:
		e = sup_look(dir, look, true, &st);
		if (e == 0 && S_ISDIR(st.st_mode))
			return EISDIR;
		return e != 0 ? e : sup_may(dir, look, W_OK);
	case SUP_MKDIR:
	case SUP_MKNOD:
	case SUP_SYMLINK:
		return sup_make_name(dir, look);
	case SUP_RMDIR:
		return sup_foresee_remove(dir, look, true);
	case SUP_UNLINK:
		return sup_foresee_remove(dir, look,
					  (q->flags & AT_REMOVEDIR) != 0);
	case SUP_RENAME:
		e = sup_look(dir, look, false, &st);
		return e != 0 ? e : sup_parent_ok(q->p2.dir, q->p2.look);
	case SUP_LINK:
		e = sup_look(dir, look, sup_follows(q), &st);
		return e != 0 ? e : sup_make_name(q->p2.dir, q->p2.look);
	}
	return 0;
}

/* ---- one notification -------------------------------------------------- */

static void sup_record(struct cache *c, struct cache_hint *h,
		       const struct sup_path *p, uint64_t value)
{
	size_t len = p->keylen;

	if (c == NULL || len == 0)
		return;
	if (len == CACHE_KEY_TOOLONG) {
		/* the whole buffer, longer than any key: counted as skipped,
		 * as the shim counts it */
		if (sizeof p->key <= cache_max_key())
			return;
		len = sizeof p->key;
	}
	cache_record_hinted(c, p->key, len, value | p->decided, h);
}

static void sup_record_all(struct cache *c, struct cache_hint *h,
			   const struct sup_req *q, int err)
{
	uint32_t ops = sup_ops(q);
	bool failed = err != 0;

	switch ((enum sup_kind)q->c->kind) {
	case SUP_EXEC:
		/* the shim's exec: EXEC before the call, again with the
		 * outcome when it fails */
		sup_record(c, h, &q->p1, CACHE_OP_EXEC);
		if (failed)
			sup_record(c, h, &q->p1,
				   cache_call_value(CACHE_OP_EXEC, true, err));
		return;
	case SUP_SYMLINK:
		sup_record(c, h, &q->p1, cache_call_value(ops, failed, err));
		sup_record(c, h, &q->p2,
			   failed ? (uint64_t)CACHE_OP_SYMLINK
					    << CACHE_OP_FAILED_SHIFT
				  : CACHE_OP_SYMLINK);
		return;
	case SUP_RENAME:
		sup_record(c, h, &q->p1, cache_call_value(ops, failed, err));
		sup_record(c, h, &q->p2,
			   cache_call_value(CACHE_OP_RENAME_TO, failed, err));
		return;
	case SUP_LINK:
		sup_record(c, h, &q->p1, cache_call_value(ops, failed, err));
		sup_record(c, h, &q->p2,
			   cache_call_value(CACHE_OP_LINK | CACHE_OP_CREATE,
					    failed, err));
		return;
	default:
		sup_record(c, h, &q->p1, cache_call_value(ops, failed, err));
		return;
	}
}

static int sup_arg_fd(const struct seccomp_notif *n, int idx)
{
	return idx < 0 ? AT_FDCWD : (int)n->data.args[idx];
}

/* Reads the call's strings and arguments.  -1: nothing to record. */
static int sup_read_call(struct sup_req *q)
{
	const struct seccomp_notif *n = q->n;
	const struct sup_call *c = q->c;
	pid_t pid = (pid_t)n->pid;

	q->flags = c->flags >= 0 ? (int)n->data.args[c->flags] : c->fixed_flags;
	q->mode = c->mode >= 0 ? (int)n->data.args[c->mode] : F_OK;
	if (c->kind == SUP_OPENAT2) {
		struct open_how how;

		if (sup_read_mem(pid, n->data.args[2], &how, sizeof how.flags))
			return -1;
		q->flags = (int)how.flags;
	}
	if (c->kind == SUP_FCHDIR) {
		q->p1.raw[0] = '.';
		q->p1.raw[1] = '\0';
	} else if (sup_read_str(pid, n->data.args[c->path1], q->p1.raw,
				sizeof q->p1.raw) != 0) {
		return -1;
	}
	if (c->path2 >= 0 && sup_read_str(pid, n->data.args[c->path2],
					  q->p2.raw, sizeof q->p2.raw) != 0)
		return -1;
	return 0;
}

/* The program's own start: its first execve, recorded by whoever
 * started it (the shim's exec hook, or `shmcache run`). */
static bool sup_is_own_start(const struct sup_req *q, pid_t *prog)
{
	if (*prog == 0 || (pid_t)q->n->pid != *prog || q->c->kind != SUP_EXEC)
		return false;
	*prog = 0;
	return true;
}

static void sup_close_dir(int dir)
{
	if (dir >= 0)
		close(dir);
}

/* Sandbox mode: whether p walks through a denied directory before a
 * `..` (the violation recorded). */
static bool sup_walk_denied(struct cache *c, struct cache_hint *h, pid_t tid,
			    struct sup_path *p)
{
	return p->keylen != 0 && p->keylen != CACHE_KEY_TOOLONG &&
	       sup_sandbox_walk_denied(c, h, tid, p->walkbase,
				       sizeof p->walkbase,
				       p->baselen, p->raw);
}

/* Sandbox mode: decides the call's paths as the shim's hooks do (both
 * paths of rename and link, symlink's new name; fchdir names a directory
 * already open).  Returns ENOENT when the call must not be made (the
 * violation is recorded), else 0 with each path's decision bits set. */
static int sup_gate(struct cache *c, struct cache_hint *h, struct sup_req *q)
{
	uint32_t ops2 = q->c->kind == SUP_RENAME ? CACHE_OP_RENAME_TO
						 : CACHE_OP_LINK | CACHE_OP_CREATE;
	pid_t tid = (pid_t)q->n->pid;

	if (c == NULL || q->c->kind == SUP_FCHDIR)
		return 0;
	if (sup_walk_denied(c, h, tid, &q->p1) ||
	    ((q->c->kind == SUP_RENAME || q->c->kind == SUP_LINK) &&
	     sup_walk_denied(c, h, tid, &q->p2)))
		return ENOENT;
	q->p1.decided = sup_sandbox_gate(c, h, tid, q->p1.key, q->p1.keylen,
					 sup_ops(q));
	if (q->p1.decided == SUP_SB_DENY)
		return ENOENT;
	if (q->c->kind != SUP_RENAME && q->c->kind != SUP_LINK)
		return 0;
	q->p2.decided = sup_sandbox_gate(c, h, tid, q->p2.key, q->p2.keylen,
					 ops2);
	return q->p2.decided == SUP_SB_DENY ? ENOENT : 0;
}

/* The keys of the call's paths. */
static void sup_make_keys(struct sup_req *q)
{
	const struct seccomp_notif *n = q->n;

	sup_make_key(&q->p1, q, sup_arg_fd(n, q->c->fd1));
	if (q->c->kind == SUP_SYMLINK)
		sup_make_target_key(&q->p2, &q->p1);
	else if (q->c->path2 >= 0)
		sup_make_key(&q->p2, q, sup_arg_fd(n, q->c->fd2));
}

/* Turns a path looked up through a /proc name into one looked up from a
 * descriptor of its base: whether it was one. */
static bool sup_to_descriptor(struct sup_path *p)
{
	if (p->look != p->through || p->dir != AT_FDCWD)
		return false;
	(void)sup_by_descriptor(p); /* -1: the look-up fails, EBADF */
	return true;
}

/* The outcome foreseen.  A /proc magic link followed on the way counts
 * as one of the 40 links a walk may follow: ELOOP there is checked again
 * from descriptors, as the call itself walks. */
static int sup_foresee_exactly(struct sup_req *q)
{
	int err = sup_foresee(q);
	bool again;

	if (err != ELOOP)
		return err;
	again = sup_to_descriptor(&q->p1);
	if (sup_to_descriptor(&q->p2))
		again = true;
	return again ? sup_foresee(q) : err;
}

/* Returns the error to answer the call with, or 0 to let it through;
 * -1 when it was made here (sandbox mode's listings), *made its
 * result.
 *
 * Everything about the calling task is read before NOTIF_ID_VALID: its
 * memory (process_vm_readv), the links of /proc/TID naming its current
 * directory and descriptors, and the look-ups made through them (by path
 * name, /proc/TID/cwd/NAME; or from a descriptor of /proc/TID/... for a
 * name too long or a deleted directory).  When NOTIF_ID_VALID then says
 * that the call is still waiting, the task has been blocked in it since
 * the notification: it is alive, so TID named it and no other all along,
 * and what was read is its.  Only then is anything recorded (or, in
 * sandbox mode, decided), always before the call is answered: when the
 * call returns to the program, its records are in the cache.
 *
 * NOTIF_SEND's own ENOENT would prove the same, but only after the call
 * was let through: a record made after it could reach the cache after
 * the program has seen its call return (or has exited), and a record
 * made before it cannot be taken back (the cache merges operation bits
 * into keys that others record into too).  A time bound proves nothing:
 * pids are handed out cyclically, so with the pid space nearly full a
 * dead task's pid is given out again at once.  So the check stays: one
 * ioctl a call. */
static int sup_handle(int fd, struct cache *c, struct cache_hint *h,
		      const struct seccomp_notif *n, pid_t *prog,
		      struct sup_req *q, int64_t *made)
{
	int foreseen = 0, denied = 0;
	struct sup_listing listing;

	if (sup_listing_of(n->data.arch, n->data.nr, &listing))
		return sup_getdents(fd, c, h, n, &listing, made) ? -1 : 0;

	q->n = n;
	q->c = sup_call_find_arch(n->data.arch, n->data.nr);
	q->p1.keylen = q->p2.keylen = 0;
	q->p1.dir = q->p2.dir = -1;
	q->p1.look = q->p2.look = "";
	q->p1.decided = q->p2.decided = 0;
	if (q->c == NULL || sup_read_call(q) != 0)
		return 0;
	snprintf(q->proc, sizeof q->proc, "/proc/%d", (int)n->pid);
	sup_make_keys(q);
	if (q->p1.keylen != 0)
		foreseen = sup_foresee_exactly(q);
	if (ioctl(fd, SECCOMP_IOCTL_NOTIF_ID_VALID, &n->id) == 0 &&
	    !sup_is_own_start(q, prog)) {
		denied = sup_gate(c, h, q);
		if (q->p1.keylen != 0 && !denied)
			sup_record_all(c, h, q, foreseen);
	}
	sup_close_dir(q->p1.dir);
	sup_close_dir(q->p2.dir);
	return denied;
}

/* How the loop waits for the next notification. */
enum sup_wait {
	SUP_WAIT_POLL, /* poll for POLLIN or POLLHUP, then RECV           */
	SUP_WAIT_RECV, /* RECV alone: it returns (ENOENT) once no task
			* uses the filter (Linux 6.11), poll tells which   */
};

/* Whether the running kernel is release major.minor or later. */
static bool sup_kernel_at_least(int major, int minor)
{
	struct utsname u;
	int ma = 0, mi = 0;

	if (uname(&u) != 0 || sscanf(u.release, "%d.%d", &ma, &mi) != 2)
		return false;
	return ma > major || (ma == major && mi >= minor);
}

/* Sets the listener's mode and chooses the wait.  SYNC_WAKE_UP (Linux
 * 6.6): the traced task wakes the supervisor on its own CPU, and is woken
 * on the supervisor's, as a hand-over rather than two wake-ups elsewhere.
 * A blocking RECV saves a poll a call, but before Linux 6.11 it never
 * returns once the traced tree is gone: poll there.  Said under
 * SHMCACHE_DEBUG. */
static enum sup_wait sup_wait_mode(int fd, bool debug)
{
	bool sync = ioctl(fd, SECCOMP_IOCTL_NOTIF_SET_FLAGS,
			  SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP) == 0;
	int e = sync ? 0 : errno; /* EINVAL, ENOTTY: an older kernel */
	enum sup_wait w = sup_kernel_at_least(6, 11) ? SUP_WAIT_RECV
						     : SUP_WAIT_POLL;

	if (debug)
		fprintf(stderr, "shmcache-supervise: notifications: %s, %s\n",
			sync ? "synchronous wake-up (on the caller's CPU)"
			     : strerror(e),
			w == SUP_WAIT_RECV ? "blocking receive"
					   : "poll, then receive");
	return w;
}

/* Whether no process uses the filter any more (POLLHUP), without
 * waiting. */
static bool sup_orphaned(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, 0) == 1 && !(p.revents & POLLIN) &&
	       (p.revents & (POLLHUP | POLLERR));
}

/* The next notification into n: 1, 0 when no process uses the filter any
 * more, -1 when the listener fails. */
static int sup_next(int fd, enum sup_wait w, struct seccomp_notif *n)
{
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		if (w == SUP_WAIT_POLL) {
			if (poll(&p, 1, -1) < 0) {
				if (errno == EINTR)
					continue;
				return -1;
			}
			if (!(p.revents & POLLIN)) {
				/* POLLHUP: no process uses the filter */
				return (p.revents & (POLLHUP | POLLERR)) ? 0
									 : -1;
			}
		}
		memset(n, 0, sizeof *n);
		if (ioctl(fd, SECCOMP_IOCTL_NOTIF_RECV, n) == 0)
			return 1;
		if (errno == ENOENT && w == SUP_WAIT_RECV && sup_orphaned(fd))
			return 0;
		if (errno != EINTR && errno != ENOENT)
			return -1;
		/* ENOENT: the caller went away (or, blocking, no caller
		 * is left: sup_orphaned said which) */
	}
}

/* Under SHMCACHE_DEBUG, at the end: how many calls were served and the
 * supervisor's CPU time, the cost a traced tree adds beside its own. */
static void sup_say_cost(unsigned long served)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return;
	fprintf(stderr, "shmcache-supervise: %lu calls served, CPU %.1f ms "
			"(user %.1f, system %.1f)\n", served,
		(double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
			(double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) /
				1e3,
		(double)ru.ru_utime.tv_sec * 1e3 +
			(double)ru.ru_utime.tv_usec / 1e3,
		(double)ru.ru_stime.tv_sec * 1e3 +
			(double)ru.ru_stime.tv_usec / 1e3);
}

int sup_serve(int fd, struct cache *c, pid_t prog)
{
	static struct sup_req q; /* large: kept off the stack */
	static struct cache_hint hint; /* zero: unused yet */
	const char *d = getenv("SHMCACHE_DEBUG");
	bool debug = d != NULL && d[0] != '\0';
	enum sup_wait w = sup_wait_mode(fd, debug);
	unsigned long served = 0;

	for (;;) {
		struct seccomp_notif n;
		struct seccomp_notif_resp r;
		int64_t made = 0;
		int err, got = sup_next(fd, w, &n);

		if (got <= 0) {
			if (debug)
				sup_say_cost(served);
			return got;
		}
		served++;
		err = sup_handle(fd, c, &hint, &n, &prog, &q, &made);
		memset(&r, 0, sizeof r);
		r.id = n.id;
		/* a denied call is not made: it fails with err; one made
		 * here has its result */
		if (err < 0 && made < 0)
			r.error = (int32_t)made;
		else if (err < 0)
			r.val = made;
		else
			r.error = -err;
		r.flags = err ? 0 : SECCOMP_USER_NOTIF_FLAG_CONTINUE;
		/* ENOENT: the call was interrupted meanwhile (it restarts).
		 * Any other error (EINVAL: a kernel before 5.5 refuses
		 * CONTINUE) leaves the call waiting for an answer that never
		 * comes: the caller closes the listener, and the kernel fails
		 * the pending calls with ENOSYS. */
		if (ioctl(fd, SECCOMP_IOCTL_NOTIF_SEND, &r) != 0 &&
		    errno != ENOENT)
			return -1;
	}
}
