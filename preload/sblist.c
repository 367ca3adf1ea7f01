/*
 * sblist.c - sandbox mode: the directory listings that glibc reads through
 * calls no readdir hook sees (its internal __opendir, __readdir64 and
 * __getdents64), and the public readers that take a buffer of the
 * caller's.  Outside sandbox mode every row here is the real call, nothing
 * recorded.  In sandbox mode (sandbox.h) an entry whose own path the
 * policy denies is left out, as the readdir hook leaves it out:
 *
 *   - readdir_r, readdir64_r: the next entry that is not hidden;
 *   - getdents64 (glibc >= 2.30): the hidden records are taken out of the
 *     caller's buffer; a buffer left empty is filled again;
 *   - scandir, scandirat and their *64: the directory itself is decided as
 *     opendir decides it (a denied one fails with ENOENT, not listed);
 *     then libc's scandir runs with a filter of ours that drops the hidden
 *     entries before the caller's filter sees them;
 *   - nftw, ftw and their *64: the top is decided as opendir's path (a
 *     denied one fails with ENOENT); the caller's function is not called
 *     for a hidden path (with FTW_ACTIONRETVAL, a hidden directory's
 *     subtree is skipped);
 *   - fts_read, fts_children and their *64: a hidden entry is not returned
 *     (a hidden directory is not entered); a hidden top is returned as fts
 *     returns one that does not exist (FTS_NS, ENOENT);
 *   - glob, glob64: the hidden paths are taken out of the result (freed,
 *     as globfree would); none left is GLOB_NOMATCH.
 *
 * An entry is hidden when its own path is denied.  A prefix rule, and a
 * link into a denied tree, deny everything below it as well; below a
 * directory that only the decision server denies, each path is the
 * server's to decide, as it is for open.
 *
 * The callbacks handed to libc (scandir's filter, nftw's function) find
 * the call they serve through a thread-local pointer to a context in the
 * hook's frame, saved and restored around the real call, so that a
 * callback or a signal handler that lists a directory in turn gets its
 * own.  scandir, nftw, fts and glob allocate and are not async-signal-safe
 * themselves; the freeing of hidden results here (free, as fts and glob
 * do) runs only inside them.  readdir_r and getdents64 are signal-safe
 * here as everywhere in the shim.
 *
 * glibc's nftw (FTW_CHDIR) and fts (without FTS_NOCHDIR) change the
 * current directory with calls no hook sees: the shim's copy of the cwd is
 * marked stale around them.
 */
#include "shim.h"

#include <fts.h>
#include <ftw.h>
#include <glob.h>
#include <stdlib.h>
#include <string.h>

#ifndef __APPLE__

/* ---- deciding one entry ------------------------------------------------ */

/* Whether the entry name of the directory (dirfd, dir) is hidden. */
static __attribute__((noinline)) int sbl_hides_at(int dirfd, const char *dir,
						 const char *name)
{
	struct shim_key k;
	size_t n;

	if (name[0] == '.' &&
	    (name[1] == '\0' || (name[1] == '.' && name[2] == '\0')))
		return 0;
	shim_key_at(&k, dirfd, dir);
	if (k.len == 0 || k.len == CACHE_KEY_TOOLONG)
		return 0;
	if (k.key != k.buf)
		memcpy(k.buf, k.key, k.len);
	n = cache_key_join(k.buf, sizeof k.buf, k.len, name);
	return n != 0 && n != CACHE_KEY_TOOLONG &&
	       shim_sandbox_hides_key(k.buf, n);
}

/* Whether path (relative to dirfd) is hidden. */
static __attribute__((noinline)) int sbl_hides_path(int dirfd,
						   const char *path)
{
	struct shim_key k;

	shim_key_at(&k, dirfd, path);
	return k.len != 0 && k.len != CACHE_KEY_TOOLONG &&
	       shim_sandbox_hides_key(k.key, k.len);
}

/* Whether the directory (dirfd, path) is denied, as opendir decides it
 * (the violation recorded); path may be unreadable (then not denied). */
static __attribute__((noinline)) int sbl_dir_denied(int dirfd,
						   const char *path)
{
	struct shim_key k;

	shim_key_at_copied(&k, dirfd, path);
	return shim_sandbox_gate(&k, CACHE_OP_OPENDIR) == SHIM_SB_DENY;
}

/* ---- readdir_r ---------------------------------------------------------- */

#define SBL_READDIR_R(name, ent)                                              \
	static __attribute__((noinline)) int sbcall_##name(                      \
		shim_fn_##name fn, DIR *dir, struct ent *entry,               \
		struct ent **result)                                          \
	{                                                                     \
		int r;                                                        \
		while ((r = fn(dir, entry, result)) == 0 && *result != NULL &&\
		       shim_sandbox_hides(dir, (*result)->d_name))            \
			;                                                     \
		return r;                                                     \
	}
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
SBL_READDIR_R(readdir_r, dirent)
SBL_READDIR_R(readdir64_r, dirent64)
#pragma GCC diagnostic pop

/* ---- getdents64 --------------------------------------------------------- */

/* The kernel's record (struct linux_dirent64). */
struct sbl_dirent64 {
	uint64_t ino;
	int64_t off;
	unsigned short reclen;
	unsigned char type;
	char name[];
};

/* Takes the hidden records out of buf[0..n); returns what is left. */
static __attribute__((noinline)) ssize_t sbl_squeeze(int fd, char *buf,
						    ssize_t n)
{
	struct shim_key k;
	size_t base = shim_fd_path(fd, k.buf, sizeof k.buf);
	ssize_t in = 0, out = 0;

	if (base == 0 || base == CACHE_KEY_TOOLONG)
		return n;
	while (in < n) {
		struct sbl_dirent64 *d = (struct sbl_dirent64 *)(buf + in);
		unsigned short len = d->reclen;
		const char *name = d->name;
		int hide = 0;

		if (len == 0 || len > n - in)
			break; /* not the kernel's: left as it is */
		if (!(name[0] == '.' && (name[1] == '\0' ||
					 (name[1] == '.' && name[2] == '\0')))) {
			size_t kl = cache_key_join(k.buf, sizeof k.buf, base,
						   name);
			hide = kl != 0 && kl != CACHE_KEY_TOOLONG &&
			       shim_sandbox_hides_key(k.buf, kl);
		}
		if (!hide) {
			if (out != in)
				memmove(buf + out, buf + in, len);
			out += len;
		}
		in += len;
	}
	if (in < n) { /* a tail not understood is kept */
		memmove(buf + out, buf + in, (size_t)(n - in));
		out += n - in;
	}
	return out;
}

static __attribute__((noinline)) ssize_t sbcall_getdents64(shim_fn_getdents64 fn,
						       int fd, void *buf,
						       size_t len)
{
	ssize_t r;
	int e = errno;

	do {
		r = fn(fd, buf, len);
		if (r <= 0)
			return r;
		e = errno;
		r = sbl_squeeze(fd, buf, r);
		errno = e;
	} while (r == 0);
	return r;
}

/* ---- scandir ------------------------------------------------------------ */

struct sbl_scan {
	int dirfd;
	const char *dir;
	int (*filter)(const struct dirent *);
	int (*filter64)(const struct dirent64 *);
};
static _Thread_local struct sbl_scan *sbl_scan_now
	__attribute__((tls_model("initial-exec")));

/* The filter libc calls: the entry left out when hidden, else the
 * caller's filter (field) decides. */
#define SBL_KEEP(keep, ENT_T, field)                                          \
	static int keep(const struct ENT_T *e)                                \
	{                                                                     \
		struct sbl_scan *s = sbl_scan_now;                            \
		int err = errno;                                              \
		if (s != NULL && sbl_hides_at(s->dirfd, s->dir, e->d_name)) { \
			errno = err;                                          \
			return 0;                                             \
		}                                                             \
		errno = err;                                                  \
		return s == NULL || s->field == NULL || s->field(e);          \
	}

SBL_KEEP(sbl_keep, dirent, filter)
SBL_KEEP(sbl_keep64, dirent64, filter64)

/* scandir and scandirat (params: the directory's parameters, dirfd its
 * descriptor, args what is passed on before the list): a denied directory
 * fails as an absent one; else libc's scandir with sbl_keep as the
 * filter. */
#define SBL_SCANDIR(name, ENT_T, keep, field, params, dirfd, args)           \
	static __attribute__((noinline)) int sbcall_##name(                      \
		shim_fn_##name fn, SHIM_UNPACK params, struct ENT_T ***list,   \
		int (*filter)(const struct ENT_T *),                          \
		int (*cmp)(const struct ENT_T **, const struct ENT_T **))     \
	{                                                                     \
		struct sbl_scan s = { dirfd, dir, NULL, NULL }, *saved;       \
		int r;                                                        \
		s.field = filter;                                             \
		if (sbl_dir_denied(dirfd, dir))                               \
			return SHIM_DENIED_RI;                                \
		saved = sbl_scan_now;                                         \
		sbl_scan_now = &s;                                            \
		r = fn(SHIM_UNPACK args, list, keep, cmp);                    \
		sbl_scan_now = saved;                                         \
		return r;                                                     \
	}

SBL_SCANDIR(scandir, dirent, sbl_keep, filter, (const char *dir), AT_FDCWD,
	    (dir))
SBL_SCANDIR(scandir64, dirent64, sbl_keep64, filter64, (const char *dir),
	    AT_FDCWD, (dir))
SBL_SCANDIR(scandirat, dirent, sbl_keep, filter,
	    (int dirfd, const char *dir), dirfd, (dirfd, dir))
SBL_SCANDIR(scandirat64, dirent64, sbl_keep64, filter64,
	    (int dirfd, const char *dir), dirfd, (dirfd, dir))

/* ---- nftw and ftw ------------------------------------------------------- */

typedef int (*sbl_nftw_fn)(const char *, const struct stat *, int,
			   struct FTW *);
typedef int (*sbl_nftw64_fn)(const char *, const struct stat64 *, int,
			     struct FTW *);
typedef int (*sbl_ftw_fn)(const char *, const struct stat *, int);
typedef int (*sbl_ftw64_fn)(const char *, const struct stat64 *, int);

struct sbl_walk {
	int flags;
	sbl_nftw_fn nftw;
	sbl_nftw64_fn nftw64;
	sbl_ftw_fn ftw;
	sbl_ftw64_fn ftw64;
};
static _Thread_local struct sbl_walk *sbl_walk_now
	__attribute__((tls_model("initial-exec")));

/* Whether the walk's path is hidden.  A relative path under FTW_CHDIR is
 * taken from its own directory, the current one when libc calls back. */
static int sbl_walk_hides(const struct sbl_walk *w, const char *path,
			  const struct FTW *f)
{
	int err = errno, r;

	if (path[0] != '/' && (w->flags & FTW_CHDIR)) {
		shim_cwd_changed();
		path += f->base;
	}
	r = sbl_hides_path(AT_FDCWD, path);
	errno = err;
	return r;
}

/* The value that walks on past a hidden path. */
static int sbl_walk_past(const struct sbl_walk *w, int type)
{
	if (!(w->flags & FTW_ACTIONRETVAL))
		return 0;
	return type == FTW_D ? FTW_SKIP_SUBTREE : FTW_CONTINUE;
}

static int sbl_walk_one(const char *path, const struct stat *st, int type,
			struct FTW *f)
{
	struct sbl_walk *w = sbl_walk_now;

	if (w == NULL)
		return 0;
	if (sbl_walk_hides(w, path, f))
		return sbl_walk_past(w, type);
	return w->nftw != NULL ? w->nftw(path, st, type, f)
			       : w->ftw(path, st, type);
}

static int sbl_walk_one64(const char *path, const struct stat64 *st,
			  int type, struct FTW *f)
{
	struct sbl_walk *w = sbl_walk_now;

	if (w == NULL)
		return 0;
	if (sbl_walk_hides(w, path, f))
		return sbl_walk_past(w, type);
	return w->nftw64 != NULL ? w->nftw64(path, st, type, f)
				 : w->ftw64(path, st, type);
}

/* ftw is nftw with FTW_PHYS unset and no struct FTW for the function:
 * glibc's ftw is that nftw. */
#define SBL_WALK(real, cb, walk)                                              \
	do {                                                                  \
		struct sbl_walk *saved_;                                      \
		int r_;                                                       \
		if (sbl_dir_denied(AT_FDCWD, dir))                            \
			return SHIM_DENIED_RI;                                \
		saved_ = sbl_walk_now;                                        \
		sbl_walk_now = &(walk);                                       \
		r_ = real;                                                    \
		sbl_walk_now = saved_;                                        \
		if ((walk).flags & FTW_CHDIR)                                 \
			shim_cwd_changed();                                   \
		return r_;                                                    \
	} while (0)

static __attribute__((noinline)) int sbcall_nftw(shim_fn_nftw fn,
					     const char *dir, sbl_nftw_fn cb,
					     int fds, int flags)
{
	struct sbl_walk w = { flags, cb, NULL, NULL, NULL };

	SBL_WALK(fn(dir, sbl_walk_one, fds, flags), cb, w);
}

static __attribute__((noinline)) int sbcall_nftw64(shim_fn_nftw64 fn,
					       const char *dir,
					       sbl_nftw64_fn cb, int fds,
					       int flags)
{
	struct sbl_walk w = { flags, NULL, cb, NULL, NULL };

	SBL_WALK(fn(dir, sbl_walk_one64, fds, flags), cb, w);
}

/* ftw runs as nftw without FTW_PHYS, which is what glibc's ftw is. */
static __attribute__((noinline)) int sbcall_ftw(shim_fn_ftw fn, const char *dir,
					    sbl_ftw_fn cb, int fds)
{
	struct sbl_walk w = { 0, NULL, NULL, cb, NULL };
	shim_fn_nftw nf = shim_get_nftw();

	(void)fn;
	if (nf == NULL)
		return SHIM_ENOSYS_RI;
	SBL_WALK(nf(dir, sbl_walk_one, fds, 0), cb, w);
}

static __attribute__((noinline)) int sbcall_ftw64(shim_fn_ftw64 fn,
					      const char *dir,
					      sbl_ftw64_fn cb, int fds)
{
	struct sbl_walk w = { 0, NULL, NULL, NULL, cb };
	shim_fn_nftw64 nf = shim_get_nftw64();

	(void)fn;
	if (nf == NULL)
		return SHIM_ENOSYS_RI;
	SBL_WALK(nf(dir, sbl_walk_one64, fds, 0), cb, w);
}

/* ---- fts ---------------------------------------------------------------- */

/* Whether fts's entry p is hidden: its name for the current directory
 * (fts_accpath), which fts may have changed. */
#define SBL_FTS_HIDES(sp, p)                                                  \
	(((sp)->fts_options & FTS_NOCHDIR) ? 0 : (shim_cwd_changed(), 0),     \
	 sbl_hides_path(AT_FDCWD, (p)->fts_accpath))

#define SBL_FTS(name, FTS_T, ENT_T)                                           \
	static __attribute__((noinline)) ENT_T *sbcall_##name(shim_fn_##name fn, \
							    FTS_T *sp)        \
	{                                                                     \
		int e = errno;                                                \
		ENT_T *p;                                                     \
		while ((p = fn(sp)) != NULL) {                                \
			e = errno;                                            \
			if (!SBL_FTS_HIDES(sp, p))                            \
				break;                                        \
			if (p->fts_level == FTS_ROOTLEVEL &&                  \
			    p->fts_info != FTS_DP) {                          \
				/* a top that does not exist */               \
				p->fts_info = FTS_NS;                         \
				p->fts_errno = ENOENT;                        \
				if (p->fts_statp != NULL)                     \
					memset(p->fts_statp, 0,               \
					       sizeof *p->fts_statp);         \
				break;                                        \
			}                                                     \
			if (p->fts_info == FTS_D)                             \
				p->fts_instr = FTS_SKIP;                      \
		}                                                             \
		errno = e;                                                    \
		return p;                                                     \
	}

/* Whether the child p of the directory fts returned last (cur) is hidden.
 * A child's own path is not complete before fts_read returns it: its name
 * is taken in cur's directory.  cur's path lives in fts's buffer, which
 * may hold more after it (a child's name): it is cut at cur's length for
 * the call, and mended. */
#define SBL_FTS_CHILD_HIDES(sp, cur, p)                                       \
	(((sp)->fts_options & FTS_NOCHDIR) ? 0 : (shim_cwd_changed(), 0),     \
	 sbl_hides_child((cur)->fts_accpath,                                  \
			 (cur)->fts_accpath == (cur)->fts_path                \
				 ? (cur)->fts_pathlen                         \
				 : strlen((cur)->fts_accpath),                \
			 (p)->fts_name))

static int sbl_hides_child(char *dir, size_t len, const char *name)
{
	char c = dir[len];
	int r;

	dir[len] = '\0';
	r = sbl_hides_at(AT_FDCWD, dir, name);
	dir[len] = c;
	return r;
}

#define SBL_FTS_CHILDREN(name, FTS_T, ENT_T)                                  \
	static __attribute__((noinline)) ENT_T *sbcall_##name(                   \
		shim_fn_##name fn, FTS_T *sp, int opts)                       \
	{                                                                     \
		ENT_T *head = fn(sp, opts), **at = &head, *p,                 \
		      *cur = sp->fts_cur;                                     \
		int e = errno;                                                \
		while (cur != NULL && (p = *at) != NULL) {                    \
			if (SBL_FTS_CHILD_HIDES(sp, cur, p)) {                \
				*at = p->fts_link;                            \
				free(p);                                      \
			} else {                                              \
				at = &p->fts_link;                            \
			}                                                     \
		}                                                             \
		if (sp->fts_child != NULL)                                    \
			sp->fts_child = head;                                 \
		errno = e;                                                    \
		return head;                                                  \
	}

SBL_FTS(fts_read, FTS, FTSENT)
SBL_FTS(fts64_read, FTS64, FTSENT64)
SBL_FTS_CHILDREN(fts_children, FTS, FTSENT)
SBL_FTS_CHILDREN(fts64_children, FTS64, FTSENT64)

/* ---- glob --------------------------------------------------------------- */

/* glob's result when every match is hidden, as libc's when nothing
 * matches: the pattern itself under GLOB_NOCHECK (and GLOB_NOMAGIC, for a
 * pattern without a metacharacter), added at v[*n], which the hidden
 * matches left free; else GLOB_NOMATCH.  The copy is malloc'd, as libc's
 * (glob allocates; it is not async-signal-safe). */
static int sbl_glob_none(char **v, size_t *n, const char *pat, int flags)
{
	if (!(flags & GLOB_NOCHECK) &&
	    !((flags & GLOB_NOMAGIC) && strpbrk(pat, "*?[") == NULL))
		return GLOB_NOMATCH;
	v[*n] = strdup(pat);
	if (v[*n] == NULL)
		return GLOB_NOSPACE;
	(*n)++;
	return 0;
}

#define SBL_GLOB(name, GLOB_T)                                                \
	static __attribute__((noinline)) int sbcall_##name(                      \
		shim_fn_##name fn, const char *pat, int flags,                \
		int (*err)(const char *, int), GLOB_T *g)                     \
	{                                                                     \
		size_t before = (flags & GLOB_APPEND) ? g->gl_pathc : 0;      \
		size_t offs = (flags & GLOB_DOOFFS) ? g->gl_offs : 0, i, n;   \
		int r = fn(pat, flags, err, g), e = errno;                    \
		char **v;                                                     \
		if (r != 0)                                                   \
			return r;                                             \
		v = g->gl_pathv + offs;                                       \
		for (i = n = before; i < g->gl_pathc; i++) {                  \
			if (sbl_hides_path(AT_FDCWD, v[i]))                   \
				free(v[i]);                                   \
			else                                                  \
				v[n++] = v[i];                                \
		}                                                             \
		if (n == before && g->gl_pathc > before)                      \
			r = sbl_glob_none(v, &n, pat, flags);                 \
		v[n] = NULL;                                                  \
		g->gl_pathc = n;                                              \
		errno = e;                                                    \
		return r;                                                     \
	}

SBL_GLOB(glob, glob_t)
SBL_GLOB(glob64, glob64_t)

SHIM_HOOKS_SBLIST(SHIM_GEN)

#endif /* !__APPLE__ */
