/*
 * supervise.h - shmcache-supervise, the seccomp supervisor: the programs
 * that bypass libc (static, Go; see elfkind.h) are started under it, and it
 * records the paths their system calls name into the cache the shim fills,
 * with the shim's keys (cache_key_join) and operation bits.
 *
 *   shmcache-supervise -- PATH ARGV0 [ARGS...]
 *
 * The process keeps its pid and becomes PATH: it forks the supervisor (a
 * grandchild, so that the program never sees it as a child), installs a
 * seccomp filter that returns SECCOMP_RET_USER_NOTIF for the path-taking
 * system calls (sup_calls below) and allows every other call, hands the
 * listener to the supervisor over a socketpair (SCM_RIGHTS) and executes
 * PATH with ARGV0 ARGS and the environment it was given, plus
 * SHMCACHE_SUPERVISED=PID, the supervisor's (the shim then starts no
 * second supervisor; a later helper that meets EBUSY checks that PID is a
 * shmcache-supervise).
 * Children inherit the filter: one supervisor serves the whole tree.
 *
 * Files: supervise.c (start-up), sup_calls.def (the trapped calls, one
 * row each, expanded per ABI by sup_calls_abi.h), sup_filter.c (the BPF
 * program),
 * sup_serve.c (the notification loop, keys, outcomes, records),
 * sup_sandbox.c (sandbox mode: the policy applied to trapped calls).
 *
 * The supervisor is one single-threaded process that installs no signal
 * handler: the functions below are neither thread-safe nor
 * async-signal-safe unless they say so.
 */
#ifndef SHMCACHE_SUPERVISE_H
#define SHMCACHE_SUPERVISE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#include "ctrie_cache.h"

/* The architecture of this build's own system calls, as seccomp names it. */
#if defined(__x86_64__)
#define SUP_ARCH_NATIVE AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define SUP_ARCH_NATIVE AUDIT_ARCH_AARCH64
#elif defined(__i386__)
#define SUP_ARCH_NATIVE AUDIT_ARCH_I386
#elif defined(__riscv) && __riscv_xlen == 64
#define SUP_ARCH_NATIVE AUDIT_ARCH_RISCV64
#else
#error "shmcache-supervise: unknown architecture for the seccomp filter"
#endif

/* What a trapped call does to its path(s): selects the ops and how its
 * outcome is foreseen (sup_serve.c). */
enum sup_kind {
	SUP_OPEN,     /* flags in arg `flags` (creat: fixed)            */
	SUP_OPENAT2,  /* struct open_how at arg `flags`                 */
	SUP_STAT,     /* stat family, statfs                            */
	SUP_ACCESS,   /* mode in arg `mode`                             */
	SUP_READLINK,
	SUP_EXEC,
	SUP_MKDIR,
	SUP_RMDIR,
	SUP_UNLINK,   /* unlinkat: AT_REMOVEDIR in `flags` makes it rmdir */
	SUP_RENAME,
	SUP_LINK,
	SUP_SYMLINK,  /* path2 is the target, path1 the new link        */
	SUP_CHDIR,
	SUP_FCHDIR,   /* fd1 names the directory                        */
	SUP_TRUNCATE,
	SUP_CHATTR,   /* chmod, chown, utimes and kin                   */
	SUP_MKNOD,
};

/* Whether the last component's symbolic link is followed. */
enum sup_follow {
	SUP_FOLLOW,         /* always                                    */
	SUP_NOFOLLOW,       /* never (lstat, lchown, unlink, rename...)  */
	SUP_FOLLOW_UNLESS,  /* unless AT_SYMLINK_NOFOLLOW in `flags`     */
	SUP_FOLLOW_IF,      /* only with AT_SYMLINK_FOLLOW in `flags`    */
};

/* When the filter traps a call. */
enum sup_trap {
	SUP_TRAP_ALWAYS,
	SUP_TRAP_UNLESS_EMPTY_PATH, /* AT_EMPTY_PATH in `flags`: an fstat */
};

/* One trapped system call: a row of sup_calls.def.  Argument indexes: -1
 * when absent (fd: the current directory).  path1/fd1 is the first path,
 * path2/fd2 the second (rename, link: the new name; symlink: the target,
 * fd2 unused). */
struct sup_call {
	int nr;
	const char *name;
	uint8_t kind, follow, trap;
	int8_t fd1, path1, fd2, path2, flags, mode;
	/* flags a variant without a flags argument has (creat) */
	int fixed_flags;
};

/* The trapped calls of this architecture, and how many.  Calls whose
 * number this system's headers lack are left out. */
extern const struct sup_call sup_calls[];
extern const unsigned sup_ncalls;
/* The row for system call nr, or NULL.  A table look-up:
 * async-signal-safe, as is sup_call_find_arch. */
const struct sup_call *sup_call_find(int nr);

#if defined(__x86_64__)
/* The x32 ABI's numbers have this bit set (__X32_SYSCALL_BIT). */
#define SUP_X32_BIT 0x40000000u
/* The i386 ABI's trapped calls (sup_calls_i386.c): made with int 0x80,
 * by a 32-bit program below a supervised one.  At most 64 rows. */
extern const struct sup_call sup_calls_i386[];
extern const unsigned sup_ncalls_i386;
/* The x32 ABI's trapped calls (sup_calls_x32.c): the native calls by x32
 * numbers (__X32_SYSCALL_BIT set), execve and execveat by x32's own.  At
 * most 64 rows. */
extern const struct sup_call sup_calls_x32[];
extern const unsigned sup_ncalls_x32;
/* x32 numbers of the listings */
extern const int sup_x32_getdents64, sup_x32_getdents;
/* i386 numbers of the listings */
extern const int sup_i386_getdents64, sup_i386_getdents;
#endif
/* The row for system call nr of the ABI arch (seccomp_data.arch): the
 * native table, on x86-64 the x32 one (nr with __X32_SYSCALL_BIT) or the
 * i386 one; NULL for another ABI. */
const struct sup_call *sup_call_find_arch(uint32_t arch, int nr);
/* A directory listing call, trapped in sandbox mode: getdents64 and
 * getdents of each ABI.  The supervisor makes it in the caller's own ABI
 * (the file system's directory offsets are 32-bit for a compat caller). */
enum sup_abi { SUP_ABI_NATIVE, SUP_ABI_X32, SUP_ABI_I386 };
struct sup_listing {
	int nr;                     /* the call's number in its ABI        */
	uint8_t abi;                /* enum sup_abi                        */
	uint8_t reclen_at, name_at; /* offsets of d_reclen and d_name in an
				     * entry: linux_dirent64 16, 19;
				     * linux_dirent 16, 18; i386's 8, 10   */
};
/* Whether nr of the ABI arch is a listing call; *l its description. */
bool sup_listing_of(uint32_t arch, int nr, struct sup_listing *l);

/* Writes the filter's BPF program into p (cap instructions at least
 * SUP_PROG_MAX) and returns its length: for the native ABI and, on
 * x86-64, the x32 and i386 ones, each trapped call returns
 * SECCOMP_RET_USER_NOTIF and every other call SECCOMP_RET_ALLOW; so does
 * every call of another ABI.  With sandbox, the listings (getdents64,
 * getdents) are trapped as well, in each ABI.  Cannot fail;
 * async-signal-safe (it writes p only). */
#define SUP_PROG_MAX 320
unsigned sup_filter_build(struct sock_filter *p, bool sandbox);

/* Installs the filter in the calling thread (and its future children),
 * with getdents64 trapped too when sandbox (sup_getdents):
 * without no_new_privs first (a process with CAP_SYS_ADMIN keeps the
 * set-user-ID bits of what it runs), else with it.  Returns the listener
 * descriptor, or -1 with errno (EBUSY: a filter with a listener, ours or
 * another's, already serves this process; ENOSYS/EINVAL: no seccomp user
 * notification here). */
int sup_filter_install(bool sandbox);

/* Serves the listener until no process uses the filter any more: each
 * notification is recorded into c (when c is not NULL) and answered with
 * SECCOMP_USER_NOTIF_FLAG_CONTINUE (in sandbox mode, a call naming a
 * denied path with ENOENT: sup_sandbox_gate).  The first execve of prog (the
 * program's own start, recorded by whoever started it) is not recorded.
 * Returns 0, or -1 with errno when the listener fails or refuses an
 * answer (a kernel before 5.5 has no CONTINUE): the caller then closes the
 * listener, and the kernel fails the pending calls with ENOSYS (never a
 * hang). */
int sup_serve(int listener, struct cache *c, pid_t prog);

/* Sandbox mode (sup_sandbox.c): loads c's policy, if any.  Returns whether
 * there is one to enforce (a damaged one is said and not enforced). */
bool sup_sandbox_start(struct cache *c);

/* What sup_sandbox_gate returns for a denied key. */
#define SUP_SB_DENY UINT64_MAX

/* Decides key[0..len) for a call with the operations ops, as the shim's
 * gate: the decision bits its record carries (0: no policy, or nothing to
 * decide), or SUP_SB_DENY when the call must not be made (it fails with
 * ENOENT; the violation is recorded here).  tid is the calling task:
 * /proc/self in the links of a path being decided is its. */
uint64_t sup_sandbox_gate(struct cache *c, struct cache_hint *h, pid_t tid,
			  const char *key, size_t len, uint32_t ops);

/* The directories raw (relative to the normalised directory
 * base[0..baselen), as for cache_key_join) walks through and leaves by
 * `..`, decided as sup_sandbox_gate decides a key (cache_sandbox_walk):
 * true when one is denied (the call must not be made; its violation, as a
 * stat, is recorded here).  base is overwritten. */
bool sup_sandbox_walk_denied(struct cache *c, struct cache_hint *h,
			     pid_t tid, char *base, size_t cap,
			     size_t baselen, const char *raw);

/* The thread group of task tid (/proc/TID/status), or -1. */
pid_t sup_task_tgid(pid_t tid);

/* Whether a directory listing's entry key[0..len) is hidden (denied);
 * a decision the server made is recorded (cache_sandbox_listed). */
bool sup_sandbox_hides(struct cache *c, struct cache_hint *h, pid_t tid,
		       const char *key, size_t len);

/* Whether the cache file holds a policy (attached read-only for the look):
 * the helper's question before it builds the filter.  Not signal-safe. */
bool sup_sandbox_in_file(const char *file);

/* Sandbox mode, the listings (sup_getdents.c): makes the call for the traced
 * task with the denied entries left out.  Returns 1 when it was made
 * (answer with *val: a length, or -errno), 0 when the call is to be let
 * through as it is. */
int sup_getdents(int listener, struct cache *c, struct cache_hint *h,
		 const struct seccomp_notif *n, const struct sup_listing *l,
		 int64_t *val);

#endif /* SHMCACHE_SUPERVISE_H */
