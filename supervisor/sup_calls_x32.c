/*
 * sup_calls_x32.c - on x86-64, the trapped system calls of the x32 ABI
 * (64-bit registers, 32-bit pointers: numbers with __X32_SYSCALL_BIT set,
 * seccomp_data.arch AUDIT_ARCH_X86_64): their own numbers
 * (asm/unistd_x32.h), which are the native ones with the bit set except
 * where x32 has a call of its own (execve 520, execveat 545; the native
 * 59 and 322 with the bit set fail ENOSYS and are not trapped).  The
 * arguments are the native ones, pointers zero-extended, so each row is
 * the native row of the same call.  The filter traps them by these
 * numbers (sup_filter.c); the supervisor handles them as the native calls
 * (sup_call_find_arch).  A kernel without x32 support fails them all with
 * ENOSYS after the filter: the records of such a call are its foreseen
 * outcome.
 *
 * Kept apart from sup_filter.c: asm/unistd_x32.h and sys/syscall.h define
 * the same __NR_ names for two ABIs.
 */
#define _GNU_SOURCE 1

#include "supervise.h"

#include <fcntl.h>

#if defined(__x86_64__)
#include <asm/unistd_x32.h>

#ifndef __X32_SYSCALL_BIT
#define __X32_SYSCALL_BIT SUP_X32_BIT
#endif

#define X32_ROW(n, k, fo, f1, p1, f2, p2, fl, mo, fx)                        \
	{ __NR_##n, #n, SUP_##k, SUP_##fo, f1, p1, f2, p2, fl, mo, fx },

const struct sup_call sup_calls_x32[] = {
#ifdef __NR_open
	X32_ROW(open, OPEN, FOLLOW, -1, 0, -1, -1, 1, -1, 0)
#endif
	X32_ROW(openat, OPEN, FOLLOW, 0, 1, -1, -1, 2, -1, 0)
#ifdef __NR_openat2
	X32_ROW(openat2, OPENAT2, FOLLOW, 0, 1, -1, -1, 2, -1, 0)
#endif
#ifdef __NR_creat
	X32_ROW(creat, OPEN, FOLLOW, -1, 0, -1, -1, -1, -1,
		O_CREAT | O_WRONLY | O_TRUNC)
#endif
#ifdef __NR_stat
	X32_ROW(stat, STAT, FOLLOW, -1, 0, -1, -1, -1, -1, 0)
#endif
#ifdef __NR_lstat
	X32_ROW(lstat, STAT, NOFOLLOW, -1, 0, -1, -1, -1, -1, 0)
#endif
#ifdef __NR_newfstatat
	X32_ROW(newfstatat, STAT, FOLLOW_UNLESS, 0, 1, -1, -1, 3, -1, 0)
#endif
#ifdef __NR_statx
	X32_ROW(statx, STAT, FOLLOW_UNLESS, 0, 1, -1, -1, 2, -1, 0)
#endif
#ifdef __NR_statfs
	X32_ROW(statfs, STAT, FOLLOW, -1, 0, -1, -1, -1, -1, 0)
#endif
	/* the shim's bits: the getters a stat, the setters an attribute */
	X32_ROW(getxattr, STAT, FOLLOW, -1, 0, -1, -1, -1, -1, 0)
	X32_ROW(lgetxattr, STAT, NOFOLLOW, -1, 0, -1, -1, -1, -1, 0)
	X32_ROW(listxattr, STAT, FOLLOW, -1, 0, -1, -1, -1, -1, 0)
	X32_ROW(llistxattr, STAT, NOFOLLOW, -1, 0, -1, -1, -1, -1, 0)
	X32_ROW(setxattr, CHATTR, FOLLOW, -1, 0, -1, -1, -1, -1, 0)
	X32_ROW(lsetxattr, CHATTR, NOFOLLOW, -1, 0, -1, -1, -1, -1, 0)
	X32_ROW(removexattr, CHATTR, FOLLOW, -1, 0, -1, -1, -1, -1, 0)
	X32_ROW(lremovexattr, CHATTR, NOFOLLOW, -1, 0, -1, -1, -1, -1, 0)
#ifdef __NR_access
	X32_ROW(access, ACCESS, FOLLOW, -1, 0, -1, -1, -1, 1, 0)
#endif
	X32_ROW(faccessat, ACCESS, FOLLOW, 0, 1, -1, -1, -1, 2, 0)
#ifdef __NR_faccessat2
	X32_ROW(faccessat2, ACCESS, FOLLOW_UNLESS, 0, 1, -1, -1, 3, 2, 0)
#endif
#ifdef __NR_readlink
	X32_ROW(readlink, READLINK, NOFOLLOW, -1, 0, -1, -1, -1, -1, 0)
#endif
	X32_ROW(readlinkat, READLINK, NOFOLLOW, 0, 1, -1, -1, -1, -1, 0)
	X32_ROW(execve, EXEC, FOLLOW, -1, 0, -1, -1, -1, -1, 0)
#ifdef __NR_execveat
	X32_ROW(execveat, EXEC, FOLLOW_UNLESS, 0, 1, -1, -1, 4, -1, 0)
#endif
#ifdef __NR_mkdir
	X32_ROW(mkdir, MKDIR, NOFOLLOW, -1, 0, -1, -1, -1, -1, 0)
#endif
	X32_ROW(mkdirat, MKDIR, NOFOLLOW, 0, 1, -1, -1, -1, -1, 0)
#ifdef __NR_rmdir
	X32_ROW(rmdir, RMDIR, NOFOLLOW, -1, 0, -1, -1, -1, -1, 0)
#endif
#ifdef __NR_unlink
	X32_ROW(unlink, UNLINK, NOFOLLOW, -1, 0, -1, -1, -1, -1, 0)
#endif
	X32_ROW(unlinkat, UNLINK, NOFOLLOW, 0, 1, -1, -1, 2, -1, 0)
#ifdef __NR_rename
	X32_ROW(rename, RENAME, NOFOLLOW, -1, 0, -1, 1, -1, -1, 0)
#endif
#ifdef __NR_renameat
	X32_ROW(renameat, RENAME, NOFOLLOW, 0, 1, 2, 3, -1, -1, 0)
#endif
#ifdef __NR_renameat2
	X32_ROW(renameat2, RENAME, NOFOLLOW, 0, 1, 2, 3, -1, -1, 0)
#endif
#ifdef __NR_link
	X32_ROW(link, LINK, NOFOLLOW, -1, 0, -1, 1, -1, -1, 0)
#endif
	X32_ROW(linkat, LINK, FOLLOW_IF, 0, 1, 2, 3, 4, -1, 0)
#ifdef __NR_symlink
	X32_ROW(symlink, SYMLINK, NOFOLLOW, -1, 1, -1, 0, -1, -1, 0)
#endif
	X32_ROW(symlinkat, SYMLINK, NOFOLLOW, 1, 2, -1, 0, -1, -1, 0)
	X32_ROW(chdir, CHDIR, FOLLOW, -1, 0, -1, -1, -1, -1, 0)
	X32_ROW(fchdir, FCHDIR, FOLLOW, 0, -1, -1, -1, -1, -1, 0)
	X32_ROW(truncate, TRUNCATE, FOLLOW, -1, 0, -1, -1, -1, -1, 0)
#ifdef __NR_chmod
	X32_ROW(chmod, CHATTR, FOLLOW, -1, 0, -1, -1, -1, -1, 0)
#endif
	X32_ROW(fchmodat, CHATTR, FOLLOW, 0, 1, -1, -1, -1, -1, 0)
#ifdef __NR_fchmodat2
	X32_ROW(fchmodat2, CHATTR, FOLLOW_UNLESS, 0, 1, -1, -1, 3, -1, 0)
#endif
#ifdef __NR_chown
	X32_ROW(chown, CHATTR, FOLLOW, -1, 0, -1, -1, -1, -1, 0)
#endif
#ifdef __NR_lchown
	X32_ROW(lchown, CHATTR, NOFOLLOW, -1, 0, -1, -1, -1, -1, 0)
#endif
	X32_ROW(fchownat, CHATTR, FOLLOW_UNLESS, 0, 1, -1, -1, 4, -1, 0)
#ifdef __NR_utime
	X32_ROW(utime, CHATTR, FOLLOW, -1, 0, -1, -1, -1, -1, 0)
#endif
#ifdef __NR_utimes
	X32_ROW(utimes, CHATTR, FOLLOW, -1, 0, -1, -1, -1, -1, 0)
#endif
	X32_ROW(utimensat, CHATTR, FOLLOW_UNLESS, 0, 1, -1, -1, 3, -1, 0)
#ifdef __NR_futimesat
	X32_ROW(futimesat, CHATTR, FOLLOW, 0, 1, -1, -1, -1, -1, 0)
#endif
#ifdef __NR_mknod
	X32_ROW(mknod, MKNOD, NOFOLLOW, -1, 0, -1, -1, -1, -1, 0)
#endif
	X32_ROW(mknodat, MKNOD, NOFOLLOW, 0, 1, -1, -1, -1, -1, 0)
};
const unsigned sup_ncalls_x32 = sizeof sup_calls_x32 / sizeof sup_calls_x32[0];
_Static_assert(__X32_SYSCALL_BIT == SUP_X32_BIT, "the x32 bit");
_Static_assert(sizeof sup_calls_x32 / sizeof sup_calls_x32[0] <= 64,
	       "SUP_PROG_MAX holds one jump a call");
const int sup_x32_newfstatat = __NR_newfstatat;
const int sup_x32_statx = __NR_statx;
const int sup_x32_getdents64 = __NR_getdents64;
const int sup_x32_getdents = __NR_getdents;

#endif /* __x86_64__ */
