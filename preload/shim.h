/*
 * shim.h - private header of the preload shim (libshmcache.so): the state
 * shared by the hook families, the key and recording helpers, and the
 * generator that turns rows of hooks.def into wrappers.
 *
 * Every hook source includes this header first: it must see the libc
 * declarations without large-file redirects (with _FILE_OFFSET_BITS=64,
 * glibc renames stat to stat64 and open to open64 at the assembler level,
 * and each of our wrappers must define the symbol its row names).
 *
 * Contract of everything declared here, unless its comment says otherwise
 * (as start-up's and the system/popen helpers' do): it runs inside hooks,
 * so it is async-signal-safe and thread-safe (no malloc, stdio, locks,
 * dlsym or getenv), and a failure (a key too long, a full or damaged
 * cache) costs the record, never the real call's result; errno is the
 * hook's to keep (each hook gives the program the real call's).
 */
#ifndef SHMCACHE_SHIM_H
#define SHMCACHE_SHIM_H

#undef _FILE_OFFSET_BITS
#undef _FORTIFY_SOURCE
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1 /* RTLD_NEXT, execvpe, renameat2, statx, *64 calls */
#endif

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>
#include <utime.h>

#ifndef __APPLE__
#include <sys/statfs.h> /* the glibc rows: statfs, statvfs, xattrs */
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <fts.h> /* the SBLIST rows: fts, nftw, glob */
#include <ftw.h>
#include <glob.h>
#endif

#include "ctrie_cache.h"
#include "shm_hot.h" /* SHM_HOT_DATA */

#ifdef __APPLE__
#include <crt_externs.h>
#define environ (*_NSGetEnviron())
#else
extern char **environ;
#endif

#define SHIM_HIDDEN __attribute__((visibility("hidden")))
/* Wrappers and what they call on every record are "hot": the compiler keeps
 * them together in .text.hot, so that the few lines of code a hook runs after
 * a system call (which leaves the caches cold) are adjacent.  Measured: an
 * open+close pair costs ~20 ns less than with the code spread out. */
#define SHIM_HOT __attribute__((hot))
#define SHIM_EXPORT __attribute__((visibility("default"))) SHIM_HOT

/* ---- process state --------------------------------------------------- */

enum shim_state {
	SHIM_UNSTARTED = 0, /* nothing has run start-up yet                */
	SHIM_ATTACHED = 1,  /* recording                                   */
	SHIM_BROKEN = 2,    /* damage seen in the cache: recording stopped */
	SHIM_STARTING = 3,  /* one thread runs start-up: others pass through */
	SHIM_OFF = 4,       /* start-up done without a cache: pass-through */
};

extern SHIM_HIDDEN _Atomic int shim_state;
/* Non-zero while this thread attaches the cache: the allocator's own calls
 * (open, fstat) made from inside it pass through unrecorded.  Hooks do not
 * set it: they make raw system calls only, so they cannot recurse, and a
 * signal handler that longjmps out of one must not leave it set.
 * Initial-exec TLS: no allocation, no lock, usable in signal handlers. */
extern SHIM_HIDDEN _Thread_local int shim_busy
	__attribute__((tls_model("initial-exec")));

/* Start-up, run exactly once by whichever comes first: our constructor or
 * the first hooked call (another library's constructor runs before ours).
 * The caller that moves the state from UNSTARTED to STARTING runs it; any
 * other caller (another thread, a signal handler that interrupts start-up,
 * the hooks start-up itself reaches) returns at once with STARTING and
 * passes through unrecorded: nobody waits, so nothing can deadlock.
 * Returns the state.  errno is kept.  Not async-signal-safe in the caller
 * that wins (getenv, dlsym, mmap): a hooked call before start-up is still
 * start-up. */
SHIM_HIDDEN int shim_start(void) __attribute__((cold, noinline));

/* Whether this call is to be recorded: the cache is attached (start-up
 * is run first if nothing has run it) and this thread is not inside the
 * shim's own attach.  Async-signal-safe but for the caller that runs
 * start-up (shim_start). */
static inline int shim_active(void)
{
	/* acquire: pairs with start-up's release store, so that the cache
	 * handle is seen initialised once the state says attached. */
	int s = atomic_load_explicit(&shim_state, memory_order_acquire);

	if (__builtin_expect(s == SHIM_UNSTARTED, 0))
		s = shim_start();
	return s == SHIM_ATTACHED && !shim_busy;
}

/* ---- keys ------------------------------------------------------------- */

/* Room for one key: a little more than the cache's longest key
 * (CACHE_KEY_MAX).  A longer normalised path is passed to
 * cache_record with this whole length, so that the cache counts it as
 * skipped.  Kept small: hooks run on signal stacks too (SIGSTKSZ is 8 KiB,
 * and the exec hooks hold a key, an environment buffer and the supervisor's
 * argument vector: on the stack up to 64 arguments, 544 bytes, else in
 * pages mapped for the one exec; preload/supervise.c). */
#if CACHE_KEY_MAX + 32u < 4096u
#define SHIM_KEY_CAP (CACHE_KEY_MAX + 32u)
#else
#define SHIM_KEY_CAP 4096u
#endif

struct shim_key {
	size_t len; /* 0: nothing to record; else the key or CACHE_KEY_TOOLONG */
	/* The key's bytes: buf, or the stored key in the mapping when the
	 * path was this thread's last key. */
	const char *key;
	/* Sandbox mode: the key is that of a directory the path walks
	 * through and leaves by `..`, which the policy denies (sandbox.h,
	 * shim_sandbox_walk); the call is not to be made. */
	unsigned char walk_denied;
	char buf[SHIM_KEY_CAP];
};

/* Fills k with the key for path named relative to dirfd (AT_FDCWD: the
 * current directory), or k->len = 0 when not recording.  A NULL or empty
 * path, or a base that cannot be found, also gives 0.  path must be
 * readable up to its NUL or its first SHIM_KEY_CAP + 1 bytes (see
 * shim_path_was_read); nothing past them is read.  Signal-safe. */
SHIM_HIDDEN void shim_key_at(struct shim_key *k, int dirfd, const char *path);
/* k's key of path relative to the directory k->buf[0..base) (a key, or
 * 0 for the root; ignored for an absolute path), as cache_key_join makes
 * it, with k->key = k->buf already.  In sandbox mode a denied directory
 * that path walks through before a `..` becomes the key instead, marked
 * walk_denied (shim_sandbox_walk).  The key makers of the paths a call
 * looks up come here.
 * Signal-safe. */
SHIM_HIDDEN void shim_key_join(struct shim_key *k, size_t base,
			       const char *path);
/* Whether s (n bytes) is an absolute, normalised path: its own key, which
 * shim_record_bytes may take in place.  Reads s only; signal-safe. */
SHIM_HIDDEN int shim_is_key(const char *s, size_t n);
/* shim_key_at for a path that may not be readable (the real call has not
 * shown it, or has not run yet): the string is first copied into the end of
 * k->buf with a read that cannot fault (process_vm_readv on ourselves).  A
 * path that cannot be read, that has no NUL within SHIM_KEY_CAP bytes, or
 * when the copy is unavailable (seccomp, not Linux) gives CACHE_KEY_TOOLONG: the
 * cache counts it as skipped.  One or two system calls more than
 * shim_key_at.  Signal-safe, errno untouched. */
SHIM_HIDDEN void shim_key_at_copied(struct shim_key *k, int dirfd,
				    const char *path);
/* The key of exec's program name, as shim_key_at_copied (it is made before
 * the call); shim_key_search for the name that execvp/execlp/posix_spawnp
 * look up in PATH: a name without a slash is recorded as named (the search
 * happens inside libc). */
SHIM_HIDDEN void shim_key_cwd(struct shim_key *k, const char *path);
SHIM_HIDDEN void shim_key_search(struct shim_key *k, const char *file);
/* The key of a symlink's target: a relative target is taken relative to the
 * directory of the link (already in link), which is what it points to.
 * target readable as for shim_key_at; shim_key_target_copied as
 * shim_key_at_copied. */
SHIM_HIDDEN void shim_key_target(struct shim_key *k, const struct shim_key *link,
				 const char *target);
SHIM_HIDDEN void shim_key_target_copied(struct shim_key *k,
					const struct shim_key *link,
					const char *target);

/* Whether a system call that took a path and returned (failed, err) has
 * read the whole string, so that the hook may read it after the call: on
 * success, and on the errors of path lookup, which the kernel returns only
 * after getname() has copied the string to its NUL.  ENAMETOOLONG also
 * comes from a string with no NUL in its first PATH_MAX bytes, all of which
 * were read: it counts where a key is shorter than that (shim_key_at and
 * the hint never read more than SHIM_KEY_CAP + 1 bytes).  Anything else
 * (EFAULT, EINVAL for bad flags, ENOSYS, an error a seccomp filter makes up)
 * may come before the path was looked at. */
#if SHIM_KEY_CAP < PATH_MAX
#define SHIM_TOOLONG_WAS_READ 1
#else
#define SHIM_TOOLONG_WAS_READ 0
#endif
static inline int shim_path_was_read(int failed, int err)
{
	if (!failed)
		return 1;
	switch (err) {
	case ENOENT:
	case ENOTDIR:
	case EACCES:
	case ELOOP:
	case EEXIST:
	case EISDIR:
		return 1;
	case ENAMETOOLONG:
		return SHIM_TOOLONG_WAS_READ;
	default:
		return 0;
	}
}

/* Writes the parts (NULL or empty ones skipped) and a newline to stderr
 * in one write, cut at 511 bytes.  Async-signal-safe. */
SHIM_HIDDEN void shim_say_line(const char *const *parts, size_t count);

/* Records k with the word of one call (cache_call_value): ops as succeeded with
 * EXISTS, or as failed with the class of err.  outcome false: ops is
 * recorded as it is (succeeded operations and outcome bits).  Signal-safe;
 * errno is not touched here (cache_record preserves it) and the wrappers
 * restore it anyway. */
SHIM_HIDDEN void shim_record(const struct shim_key *k, uint64_t ops,
			     int failed, int err, int outcome);

/* Records key[0..len), an absolute normalised path (the caller vouches for
 * it; a longer one than the cache takes is counted as skipped), with ops
 * (a value word: cache_call_value, or succeeded operations and outcome bits).
 * For callers that hold such a path already and
 * need no struct shim_key (realpath's components, PATH candidates): no
 * copy, little stack.  Signal-safe, errno untouched. */
SHIM_HIDDEN void shim_record_bytes(const char *key, size_t len, uint64_t ops);

/* After the real call: makes the key of path (relative to dirfd) in k and
 * records it with ops and the call's outcome, as shim_key_at then
 * shim_record.  Returns whether a key was made (k->len != 0).  Signal-safe,
 * errno untouched. */
SHIM_HIDDEN int shim_note(struct shim_key *k, int dirfd, const char *path,
			  uint32_t ops, int failed, int err);
/* shim_note with shim_key_at_copied, for a call that has not shown path
 * readable (!shim_path_was_read). */
SHIM_HIDDEN int shim_note_copied(struct shim_key *k, int dirfd,
				 const char *path, uint32_t ops, int failed,
				 int err);

/* The cache, and this thread's last key (a build stats one header many
 * times, a program opens what it just stat-ed): a repeat skips the key's
 * folding, hash and search.  Initial-exec TLS, as shim_busy. */
extern SHIM_HIDDEN struct cache shim_cache;
extern SHIM_HIDDEN _Thread_local struct cache_hint shim_hint
	__attribute__((tls_model("initial-exec")));

/* shim_note's common case, inline in every wrapper: an absolute path that
 * was this thread's last key is its own key, already normalised, so it is
 * matched and counted in place, neither folded, copied nor hashed (k->key
 * then points at the stored key).  The shim stores absolute keys only from
 * cache_key_join, so a match is a normalised path (a hostile writer of the file
 * could store others, as it can make the cache say anything; nothing here
 * depends on it).  Returns 1 when recorded so, else 0 and nothing is done.
 * Signal-safe, errno untouched. */
static inline int shim_note_hinted(struct shim_key *k, const char *path,
				   uint32_t ops, int failed, int err)
{
	const unsigned char *stored;
	size_t n;

	if (path == NULL || path[0] != '/' || !shim_active())
		return 0;
	n = cache_hint_record(&shim_cache, &shim_hint, path,
			      cache_call_value(ops, failed != 0, err), &stored);
	if (n == 0)
		return 0;
	k->key = (const char *)stored;
	k->len = n;
	return 1;
}

/* Operation bits of open flags / fopen modes / unlinkat flags. */
SHIM_HIDDEN uint32_t shim_fopen_ops(const char *mode);
SHIM_HIDDEN uint32_t shim_unlinkat_ops(int flags);

/* Whether open's variadic mode argument is present. */
static inline int shim_open_has_mode(int flags)
{
#ifdef O_TMPFILE
	if ((flags & O_TMPFILE) == O_TMPFILE)
		return 1;
#endif
	return (flags & O_CREAT) != 0;
}

/* ---- the current directory (cwd.c) ----------------------------------- */

/* Copies the absolute current directory into out (cap bytes) and returns its
 * length, CACHE_KEY_TOOLONG when it is longer than cap, or 0 when it cannot be
 * had.  Served from an in-process copy kept
 * valid by the chdir/fchdir hooks, else from getcwd(2).  Signal-safe. */
SHIM_HIDDEN size_t shim_cwd(char *out, size_t cap);
/* Called after chdir/fchdir: the copy is stale. */
SHIM_HIDDEN void shim_cwd_changed(void);
/* In a fork child: a copy being written by another thread is abandoned. */
SHIM_HIDDEN void shim_cwd_after_fork(void);

/* ---- directory descriptors (fdpath.c) ------------------------------- */

/* Copies the absolute path directory descriptor fd names into out and
 * returns its length, CACHE_KEY_TOOLONG when it is longer than cap, or 0 (not a
 * path, bad fd).  From the slot
 * kept for fd, else from readlink of /proc/self/fd/N.  Signal-safe. */
SHIM_HIDDEN size_t shim_fd_path(int fd, char *out, size_t cap);
/* After an open hook returned fd: remember k's path if flags say it is a
 * directory, else forget whatever the number meant. */
SHIM_HIDDEN void shim_fd_opened(int fd, int flags, const struct shim_key *k);
/* The state word of fd's slot (odd: none), taken before a dup. */
SHIM_HIDDEN unsigned shim_fd_state(long fd);
/* After dup/F_DUPFD made newfd from oldfd: newfd names what oldfd named
 * if its slot is still in state before, else it is forgotten.  errno
 * untouched. */
SHIM_HIDDEN void shim_fd_dup(int oldfd, unsigned before, int newfd);
/* After descriptors first..last lost their meaning (close, dup2...). */
SHIM_HIDDEN void shim_fd_forget(long first, long last);
/* close_range and closefrom for a libc that lacks them (glibc < 2.34),
 * whose wrappers are exported all the same: a program that finds ours must
 * get its descriptors closed.  The close_range system call (Linux >= 5.9);
 * closefrom falls back to closing each number below RLIMIT_NOFILE.
 * Signal-safe; closefrom leaves errno as it was. */
#ifndef __APPLE__
SHIM_HIDDEN int shim_raw_close_range(unsigned first, unsigned last, int flags);
SHIM_HIDDEN void shim_raw_closefrom(int lowfd);
#endif
/* The descriptor of a DIR / FILE (-1 for NULL), errno untouched. */
SHIM_HIDDEN long shim_dir_fd(DIR *d);
SHIM_HIDDEN long shim_file_fd(FILE *f);

/* ---- reading without faulting (shim.c) --------------------------------- */

/* process_vm_readv(2) on this process: copies what the remote iovecs name
 * into the local ones, stopping where an unreadable page begins (a partial
 * count), or -1 when nothing could be read or the call is refused (seccomp)
 * or missing (not Linux).  pid is shim_self_pid(), asked once per use (a
 * forked or vforked child is another process).  Signal-safe, errno
 * untouched. */
SHIM_HIDDEN long shim_self_pid(void);
SHIM_HIDDEN long shim_readv_self(long pid, const struct iovec *local,
				 unsigned long nlocal,
				 const struct iovec *remote,
				 unsigned long nremote);
/* One buffer: up to cap bytes at src into dst, as shim_readv_self
 * (selfread.c: one system call where shim_selfread_start ran, the pid kept
 * in a page that proves it is this process's memory at every read). */
SHIM_HIDDEN long shim_read_self(void *dst, const void *src, size_t cap);
/* Maps the identity page that lets shim_read_self skip getpid.  Start-up
 * only (sandbox mode, where every hook reads this way); without it, or
 * where it cannot be mapped, every read asks getpid. */
SHIM_HIDDEN void shim_selfread_start(void);

/* ---- exec environment (env.c) ----------------------------------------- */

/* Bounds of a re-injected environment: one of more variables, or with a
 * longer LD_PRELOAD, is passed on as it is.  The vector and the LD_PRELOAD
 * string are sized to the environment at hand, in a block of the exec hook
 * entered only when something is missing: the hooks' frames stay small on
 * signal stacks, and the common exec (nothing missing) uses none of it. */
#define SHIM_ENV_MAX 256
#define SHIM_PRELOAD_MAX 1024
/* What an environment needs: vec slots of the new vector (0: nothing to
 * do, envp is passed on as it is) and preload bytes of a new LD_PRELOAD
 * string (0: none is built). */
struct shim_envplan {
	size_t vec;
	size_t preload;
	size_t preload_at; /* index of envp's LD_PRELOAD, or SIZE_MAX */
	size_t file_at;    /* index of envp's SHMCACHE_FILE, or SIZE_MAX */
	int names_us;      /* envp's LD_PRELOAD names our library */
	int file_orig;     /* envp's SHMCACHE_FILE is our relative start name */
	size_t n;          /* envp's variables */
	int add_audit;     /* SHMCACHE_AUDIT is on and envp lacks LD_AUDIT */
	int add_audit_flag; /* ... and lacks SHMCACHE_AUDIT */
};
/* Plans the re-injection of LD_PRELOAD (our library appended to the user's
 * list) and SHMCACHE_FILE into envp where it lost them (and, when this
 * process started with SHMCACHE_AUDIT set, of SHMCACHE_AUDIT and of an
 * LD_AUDIT naming libshmcache-audit.so beside us), or where its
 * SHMCACHE_FILE is the relative name this process started with (made
 * absolute: a child in another directory must name the same file).
 * Returns p->vec: 0 when nothing is to be done (nothing missing, the shim
 * not attached, or the result would not fit).  Signal-safe. */
SHIM_HIDDEN size_t shim_env_plan(char *const *envp, struct shim_envplan *p);
/* Builds the environment p planned into vec (p->vec slots) and preload
 * (p->preload bytes) and returns vec.  Signal-safe. */
SHIM_HIDDEN char *const *shim_env_build(char *const *envp,
					const struct shim_envplan *p,
					char **vec, char *preload);
/* Saves the values to re-inject (start-up only; file is absolute), and
 * points environ's SHMCACHE_FILE entry at the absolute name when it was
 * relative, so that every child (also those libc starts where no hook
 * sees it) names the same file.  Returns 0 or -1. */
SHIM_HIDDEN int shim_env_save(const char *file, const char *libpath);

/* ---- shared objects (loader.c) ----------------------------------------- */

/* Records every object in the dynamic loader's list not recorded yet (the
 * main program, whose exec was recorded, and this library excepted), with
 * CACHE_OP_LOAD: the names the loader opened, no file operation of ours.
 * Called once attached, and after each dlopen/dlmopen that loaded
 * something.  Takes the loader's lock: not for signal handlers (nor is
 * dlopen). */
SHIM_HIDDEN void shim_loader_record_all(void);
/* ---- resolution (realpath.c) ------------------------------------------ */

/* realpath(name, resolved) with glibc's algorithm and calls, recording each
 * component probed; libc's realpath when not recording.  Not
 * async-signal-safe (malloc, as libc's). */
SHIM_HIDDEN char *shim_realpath(const char *name, char *resolved);

/* ---- PATH search (pathsearch.c) ---------------------------------------- */

/* execvpe(file, argv, envp) with glibc's candidates, each through the real
 * execve with the environment fixed (shim_env_fix) and recorded.  Returns
 * -1 with errno, as execvpe.  Async-signal-safe, no allocation. */
SHIM_HIDDEN int shim_exec_search(const char *file, char *const argv[],
				 char *const envp[]);
/* The PATH libc's searches use: environ's, read in place (no getenv),
 * else glibc's default "/bin:/usr/bin".  Async-signal-safe. */
SHIM_HIDDEN const char *shim_env_path(void);
/* Whether a PATH candidate's error err lets the search go on to the next
 * (glibc's execvpe and posix_spawnp: EACCES, ENOENT, ESTALE, ENOTDIR,
 * ENODEV, ETIMEDOUT).  Pure. */
SHIM_HIDDEN int shim_path_search_goes_on(int err);
/* A PATH candidate, as glibc's execvpe and posix_spawnp make it: the name
 * (nlen bytes) under the entry [entry, entry + elen), "<entry>/<name>", an
 * empty entry the name alone (the current directory), with its NUL, into
 * buf.  False, buf untouched, when elen + nlen + 2 bytes exceed cap.
 * Async-signal-safe. */
SHIM_HIDDEN bool shim_path_candidate(char *buf, size_t cap, const char *entry,
				     size_t elen, const char *name,
				     size_t nlen);

/* ---- system and popen (shell.c), temporary files (tmpfile.c) ---------- */

/* Around a system/popen call: the shell is recorded (shim_shell_record),
 * and when environ lost our variables and a new vector of p->vec slots
 * holds them (shim_shell_plan non-zero), environ points at that vector,
 * built in vec, for the call (shim_shell_enter), then back
 * (shim_shell_leave).  Not async-signal-safe, as system and popen. */
struct shim_shell {
	char **saved;
	char **vec;
	int swapped;
};
SHIM_HIDDEN void shim_shell_record(void);
SHIM_HIDDEN size_t shim_shell_plan(struct shim_envplan *p);
SHIM_HIDDEN void shim_shell_enter(struct shim_shell *s,
				  const struct shim_envplan *p, char **vec);
SHIM_HIDDEN void shim_shell_leave(struct shim_shell *s);
/* After tmpfile succeeded: its directory, as the O_TMPFILE open. */
SHIM_HIDDEN void shim_tmpfile_note(void);
/* Sandbox mode, before mkstemp and kin: whether the template (copied
 * without faulting into k, the hook's key) names a path the policy denies,
 * as the open of the name made from it would be (the violation recorded
 * with ops).  A template without "XXXXXX" is left to libc's EINVAL.
 * Signal-safe, errno untouched. */
SHIM_HIDDEN int shim_temp_denied(struct shim_key *k, const char *tmpl,
				 uint32_t ops);
/* Sandbox mode, before tmpfile: whether libc's temporary directory is
 * denied (the violation recorded).  Signal-safe, errno untouched. */
SHIM_HIDDEN int shim_tmpdir_denied(void);

/* getenv(name) read from environ in place, calling nothing in libc.
 * Start-up only (environ may change under a running program). */
SHIM_HIDDEN const char *shim_getenv(const char *name);

/* ---- real functions ---------------------------------------------------- */

/* dlsym(RTLD_NEXT, name): done for every row by start-up (shim_start), and on
 * first use by a hook that runs before it (the hook that runs start-up, or
 * one in another thread meanwhile; the loader's lock is recursive, so this
 * is safe inside another library's constructor).  Start-up
 * remembers a function this libc lacks as SHIM_MISSING, so that no later
 * call (in a signal handler, say) looks it up again; one found missing
 * before it is looked up again by start-up.  (A library loaded later
 * with dlopen that defines it, libbsd's closefrom say, is not seen.) */
SHIM_HIDDEN void *shim_resolve(const char *name);
SHIM_HIDDEN void shim_resolve_all(void);

/* Not a function: the value a missing real function is remembered as. */
#define SHIM_MISSING ((uintptr_t)1)

#include "hooks.def"

/* One function-pointer type and one pointer per row.  The pointer is atomic
 * (relaxed: it is the whole datum, and every thread that resolves it finds
 * the same value).  On macOS the interposing library's own calls reach the
 * real functions, so the "pointer" is the function itself. */
#ifdef __APPLE__
#define SHIM_DECLARE_REAL(shape, ret, name, params, ...)                  \
	typedef ret (*shim_fn_##name) params;                              \
	static inline shim_fn_##name shim_get_##name(void)                 \
	{                                                                  \
		return name;                                               \
	}
#else
#define SHIM_DECLARE_REAL(shape, ret, name, params, ...)                  \
	typedef ret (*shim_fn_##name) params;                              \
	extern SHIM_HIDDEN _Atomic shim_fn_##name shim_real_##name;        \
	static inline shim_fn_##name shim_get_##name(void)                 \
	{                                                                  \
		shim_fn_##name f = atomic_load_explicit(                   \
			&shim_real_##name, memory_order_relaxed);          \
		if (f == NULL) {                                           \
			f = (shim_fn_##name)shim_resolve(#name);           \
			if (f != NULL)                                     \
				atomic_store_explicit(&shim_real_##name, f,\
						      memory_order_relaxed);\
		}                                                          \
		return f == (shim_fn_##name)SHIM_MISSING ? NULL : f;       \
	}
#endif
SHIM_HOOKS_ALL(SHIM_DECLARE_REAL)

#include "sandbox.h"
#include "shim_supervise.h"

/* Sandbox mode: whether a path of posix_spawn's file actions acts (an
 * open, a chdir) is denied, its violation recorded (sbexec.c); k is the
 * row's key, used as a buffer before it is made.  Signal-safe. */
SHIM_HIDDEN int shim_spawn_acts_denied(struct shim_key *k,
				       const posix_spawn_file_actions_t *acts);

/* posix_spawn and posix_spawnp: shim_spawn_call, but for posix_spawnp of a
 * name without a slash in sandbox mode, searched in PATH here with denied
 * candidates absent (spawnsearch.c).  k is the row's key.  Signal-safe. */
SHIM_HIDDEN int shim_spawn_run(shim_fn_posix_spawn fn,
			       const struct shim_key *k, pid_t *pid,
			       const char *path,
			       const posix_spawn_file_actions_t *acts,
			       const posix_spawnattr_t *attr,
			       char *const argv[], char *const envp[]);

#include "hook_gen.h"

#endif /* SHMCACHE_SHIM_H */
