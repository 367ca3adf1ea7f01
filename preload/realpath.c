/*
 * realpath.c - realpath, __realpath_chk and canonicalize_file_name resolved
 * here, with the calls glibc's own resolution makes (stdlib/canonicalize.c
 * of glibc 2.35 and later), in the same order and with the same arguments,
 * so that every component it probes can be recorded without one system call
 * more:
 *
 *   - a relative name starts from getcwd(buf, 1024), retried with a buffer
 *     twice as large while it fails with ERANGE;
 *   - each component other than "." and ".." is appended to the path
 *     resolved so far, which is probed with readlink into a buffer of 1023
 *     bytes (2047, 4095... while the target fills it); a link's target is
 *     put in front of the rest of the name and resolution goes on from the
 *     root or from the link's directory; after 40 links, ELOOP;
 *   - a component that is no link (or failed), followed in the name by a
 *     trailing "/", "/." or "/..", must be a directory: faccessat(AT_FDCWD,
 *     "<path>/", F_OK, AT_EACCESS) decides;
 *   - with a caller's buffer the result, or the part resolved when the
 *     failure is ENOENT or EACCES, is copied into it when it fits in
 *     PATH_MAX bytes (else ENAMETOOLONG); without one it is malloc'd.
 *
 * What is recorded: each readlink as the readlink hook records a call
 * (READLINK and its outcome: EXISTS for a link, FAILED for EINVAL, i.e. a
 * file or directory that is no link, MISSING, DENIED), each directory check
 * as the faccessat hook records one (ACCESS and its outcome).  The path
 * resolved so far is absolute and normalised by construction: it is its own
 * key, recorded in place.  In sandbox mode a denied component ends the
 * resolution with ENOENT, as one that does not exist (rp_denied).
 *
 * Contract: as libc's realpath, this is not async-signal-safe: a path longer
 * than the 1 KiB buffers on the stack, a long link target, and the result
 * when the caller passes no buffer are malloc'd, as libc does.  The stack
 * holds the three 1 KiB buffers libc holds, and no struct shim_key.  A name
 * that is not readable memory faults here as in libc, which reads it first.
 * Before the cache is attached, or when it cannot be used, libc's own
 * function runs instead.
 */
#include "shim.h"

#include <string.h>

#ifndef __APPLE__

enum {
	/* glibc's scratch buffer: the first sizes given to getcwd and
	 * readlink follow from it, and strace shows them. */
	RP_SCRATCH = 1024,
	/* glibc's __eloop_threshold() on Linux: sysconf(_SC_SYMLOOP_MAX) is
	 * -1 there, and the threshold is at least 40. */
	RP_MAX_LINKS = 40,
	RP_PATH_MAX = 4096,
};

/* Written after a component to check it is a directory. */
static const char rp_dir_suffix[] = "/";
/* Room kept after a component in the resolved path (glibc's: the
 * allocation sizes, never seen by a system call, follow it). */
#define RP_ROOM 4

/* A buffer on the stack, moved to the heap when it must grow. */
struct rp_buf {
	char *data;
	size_t len;
	char space[RP_SCRATCH];
};

struct rp_bufs {
	struct rp_buf rname; /* the path resolved so far          */
	struct rp_buf link;  /* a link's target, as readlink gave it */
	struct rp_buf extra; /* the target followed by the rest      */
};

static void rp_init(struct rp_buf *b)
{
	b->data = b->space;
	b->len = sizeof b->space;
}

static void rp_free(struct rp_buf *b)
{
	if (b->data != b->space)
		free(b->data);
	rp_init(b);
}

/* Doubles b; its bytes are kept when keep.  -1 with errno ENOMEM. */
static int rp_grow(struct rp_buf *b, int keep)
{
	size_t n = b->len * 2;
	char *p;

	if (n < b->len) {
		errno = ENOMEM;
		return -1;
	}
	if (keep && b->data != b->space) {
		p = realloc(b->data, n);
		if (p == NULL)
			return -1;
	} else {
		p = malloc(n);
		if (p == NULL)
			return -1;
		if (keep)
			memcpy(p, b->data, b->len);
		rp_free(b);
	}
	b->data = p;
	b->len = n;
	return 0;
}

/* Records the path resolved so far, rname[0..len), with ops and the outcome
 * of the call that probed it, and the sandbox's decision bits (0 outside
 * sandbox mode), so that the next call anywhere finds the decision in the
 * entry.  errno untouched. */
static void rp_note(const char *rname, size_t len, uint32_t ops, int failed,
		    int err, uint64_t decided)
{
	if (rname[0] != '/')
		return; /* getcwd gave no absolute path: nothing to name */
	shim_record_bytes(rname, len,
			  cache_call_value(ops, failed != 0, err) | decided);
	errno = err;
}

/* Whether the rest of the name, from end, ends in "/", "/." or "/..", or
 * has a ".." further on: the component before it must be a directory. */
static int rp_needs_dir(const char *end)
{
	while (*end == '/') {
		while (*end == '/')
			end++;
		if (*end == '\0')
			return 1;
		if (*end++ != '.')
			return 0;
		if (*end == '\0' ||
		    (*end == '.' && (end[1] == '\0' || end[1] == '/')))
			return 1;
	}
	return 0;
}

/* The directory check: "<rname>/" must be reachable.  dest is the end of
 * the path resolved so far; the buffer has room for the suffix. */
static int rp_dir_check(char *rname, char *dest, shim_fn_faccessat fa)
{
	int r;

	memcpy(dest, rp_dir_suffix, sizeof rp_dir_suffix);
	r = fa(AT_FDCWD, rname, F_OK, AT_EACCESS);
	rp_note(rname, (size_t)(dest - rname), CACHE_OP_ACCESS, r != 0, errno,
		0);
	return r == 0;
}

/* readlink of rname into b, as large as the target needs; its record
 * carries decided (rp_denied).  The length, or -1 with errno (ENOMEM when b
 * cannot grow: *nomem set). */
static ssize_t rp_readlink(const char *rname, size_t len, struct rp_buf *b,
			   shim_fn_readlink rl, int *nomem, uint64_t decided)
{
	for (;;) {
		ssize_t n = rl(rname, b->data, b->len - 1);
		rp_note(rname, len, CACHE_OP_READLINK, n < 0, errno, decided);
		if (n < (ssize_t)(b->len - 1))
			return n;
		if (rp_grow(b, 0) != 0) {
			*nomem = 1;
			return -1;
		}
	}
}

/* Sandbox mode: whether the component resolved so far, rname[0..len), is
 * denied (then errno is ENOENT, as for a component that does not exist,
 * and the violation is recorded): a name that passes through a denied
 * directory and leaves it by ".." is not resolved either.  *decided gets
 * the decision bits for the component's readlink record (0 outside sandbox
 * mode). */
static int rp_denied(const char *rname, size_t len, uint64_t *decided)
{
	*decided = 0;
	if (rname[0] != '/' || !shim_sandboxed())
		return 0;
	*decided = shim_sandbox_gate_bytes(rname, len, CACHE_OP_STAT);
	if (*decided != SHIM_SB_DENY)
		return 0;
	errno = ENOENT;
	return 1;
}

/* Puts the n-byte target of a link in front of the rest of the name (at
 * *end, perhaps inside the extra buffer already); *end then points at the
 * new name, in the extra buffer.  -1 with ENOMEM. */
static int rp_splice(struct rp_buf *x, const char *target, size_t n,
		     const char **end, int *in_extra)
{
	size_t rest = strlen(*end);
	size_t at = *in_extra ? (size_t)(*end - x->data) : 0;

	if (rest > SIZE_MAX - 1 - n) {
		errno = ENOMEM;
		return -1;
	}
	while (x->len <= rest + n)
		if (rp_grow(x, 1) != 0)
			return -1;
	if (*in_extra)
		*end = x->data + at;
	memmove(x->data + n, *end, rest + 1);
	memcpy(x->data, target, n);
	*end = x->data;
	*in_extra = 1;
	return 0;
}

/* Back to the previous component, not above the root. */
static char *rp_up(char *rname, char *dest)
{
	if (dest > rname + 1)
		for (--dest; dest > rname && dest[-1] != '/'; --dest)
			continue;
	return dest;
}

/* The resolution, into b->rname.  Returns the result for the caller, or
 * NULL with errno. */
static char *rp_resolve(const char *name, char *resolved, struct rp_bufs *b,
			shim_fn_readlink rl, shim_fn_faccessat fa)
{
	char *rname = b->rname.data, *dest;
	const char *start, *end;
	int links = 0, in_extra = 0, failed = 1, nomem = 0;
	uint64_t decided;

	if (name == NULL) {
		errno = EINVAL;
		return NULL;
	}
	if (name[0] == '\0') {
		errno = ENOENT;
		return NULL;
	}
	if (name[0] != '/') {
		while (getcwd(b->rname.data, b->rname.len) == NULL) {
			if (errno != ERANGE) {
				dest = rname = b->rname.data;
				goto done;
			}
			if (rp_grow(&b->rname, 0) != 0)
				return NULL;
		}
		rname = b->rname.data;
		dest = rname + strlen(rname);
	} else {
		rname[0] = '/';
		dest = rname + 1;
	}

	for (start = name; *start != '\0'; start = end) {
		size_t len;
		ssize_t n;

		while (*start == '/')
			start++;
		for (end = start; *end != '\0' && *end != '/'; end++)
			continue;
		len = (size_t)(end - start);
		if (len == 0)
			break;
		if (len == 1 && start[0] == '.')
			continue;
		if (len == 2 && start[0] == '.' && start[1] == '.') {
			dest = rp_up(rname, dest);
			continue;
		}
		if (dest[-1] != '/')
			*dest++ = '/';
		while ((size_t)(rname + b->rname.len - dest) <
		       len + RP_ROOM) {
			size_t off = (size_t)(dest - rname);
			if (rp_grow(&b->rname, 1) != 0)
				return NULL;
			rname = b->rname.data;
			dest = rname + off;
		}
		memcpy(dest, start, len);
		dest += len;
		*dest = '\0';

		if (rp_denied(rname, (size_t)(dest - rname), &decided))
			goto done;
		n = rp_readlink(rname, (size_t)(dest - rname), &b->link, rl,
				&nomem, decided);
		if (nomem)
			return NULL;
		if (n >= 0) {
			if (++links > RP_MAX_LINKS) {
				errno = ELOOP;
				goto done;
			}
			b->link.data[n] = '\0';
			if (rp_splice(&b->extra, b->link.data, (size_t)n, &end,
				      &in_extra) != 0)
				return NULL;
			if (b->link.data[0] == '/') {
				dest = rname;
				*dest++ = '/';
			} else {
				dest = rp_up(rname, dest);
			}
		} else if (!(rp_needs_dir(end) ? rp_dir_check(rname, dest, fa)
					       : errno == EINVAL)) {
			goto done;
		}
	}
	if (dest > rname + 1 && dest[-1] == '/')
		--dest;
	failed = 0;

done:
	*dest++ = '\0';
	if (resolved != NULL) {
		if ((!failed || errno == ENOENT || errno == EACCES) &&
		    dest - rname <= RP_PATH_MAX) {
			strcpy(resolved, rname);
			return failed ? NULL : resolved;
		}
		if (!failed)
			errno = ENAMETOOLONG;
		return NULL;
	}
	return failed ? NULL : strdup(rname);
}

char *shim_realpath(const char *name, char *resolved)
{
	shim_fn_readlink rl = shim_get_readlink();
	shim_fn_faccessat fa = shim_get_faccessat();
	struct rp_bufs b;
	char *r;
	int e;

	if (!shim_active() || rl == NULL || fa == NULL) {
		shim_fn_realpath real = shim_get_realpath();
		if (real == NULL) {
			errno = ENOSYS;
			return NULL;
		}
		return real(name, resolved);
	}
	rp_init(&b.rname);
	rp_init(&b.link);
	rp_init(&b.extra);
	r = rp_resolve(name, resolved, &b, rl, fa);
	e = errno;
	rp_free(&b.rname);
	rp_free(&b.link);
	rp_free(&b.extra);
	errno = e;
	return r;
}

SHIM_HOOKS_RESOLVE(SHIM_GEN)

#endif /* !__APPLE__ */
