/*
 * sup_calls_i386.c - on x86-64, the trapped system calls of the i386 ABI
 * (int 0x80, or a 32-bit program started below a supervised one): their
 * own numbers (asm/unistd_32.h), the same arguments in the same order
 * (seccomp_data holds them zero-extended), so each row is the 64-bit row
 * of the same call, plus the calls only i386 has (stat64, truncate64,
 * chown32...).  The filter traps them by these numbers when the
 * architecture is AUDIT_ARCH_I386 (sup_filter.c); the supervisor handles
 * them as the 64-bit calls (sup_call_find_arch).
 *
 * Kept apart from sup_filter.c: asm/unistd_32.h and sys/syscall.h define
 * the same __NR_ names for two ABIs.
 */
#define _GNU_SOURCE 1

#include "supervise.h"

#include <fcntl.h>

#if defined(__x86_64__)
#include <asm/unistd_32.h>

#define I386_ROW(n, k, fo, f1, p1, f2, p2, fl, mo, fx)                       \
	{ __NR_##n, #n, SUP_##k, SUP_##fo, f1, p1, f2, p2, fl, mo, fx },

const struct sup_call sup_calls_i386[] = {
	I386_ROW(open, OPEN, FOLLOW, -1, 0, -1, -1, 1, -1, 0)
	I386_ROW(openat, OPEN, FOLLOW, 0, 1, -1, -1, 2, -1, 0)
	I386_ROW(openat2, OPENAT2, FOLLOW, 0, 1, -1, -1, 2, -1, 0)
	I386_ROW(creat, OPEN, FOLLOW, -1, 0, -1, -1, -1, -1,
		 O_CREAT | O_WRONLY | O_TRUNC)
	I386_ROW(oldstat, STAT, FOLLOW, -1, 0, -1, -1, -1, -1, 0)
	I386_ROW(oldlstat, STAT, NOFOLLOW, -1, 0, -1, -1, -1, -1, 0)
	I386_ROW(stat, STAT, FOLLOW, -1, 0, -1, -1, -1, -1, 0)
	I386_ROW(lstat, STAT, NOFOLLOW, -1, 0, -1, -1, -1, -1, 0)
	I386_ROW(stat64, STAT, FOLLOW, -1, 0, -1, -1, -1, -1, 0)
	I386_ROW(lstat64, STAT, NOFOLLOW, -1, 0, -1, -1, -1, -1, 0)
	I386_ROW(fstatat64, STAT, FOLLOW_UNLESS, 0, 1, -1, -1, 3, -1, 0)
	I386_ROW(statx, STAT, FOLLOW_UNLESS, 0, 1, -1, -1, 2, -1, 0)
	I386_ROW(statfs, STAT, FOLLOW, -1, 0, -1, -1, -1, -1, 0)
	I386_ROW(statfs64, STAT, FOLLOW, -1, 0, -1, -1, -1, -1, 0)
	I386_ROW(getxattr, STAT, FOLLOW, -1, 0, -1, -1, -1, -1, 0)
	I386_ROW(lgetxattr, STAT, NOFOLLOW, -1, 0, -1, -1, -1, -1, 0)
	I386_ROW(listxattr, STAT, FOLLOW, -1, 0, -1, -1, -1, -1, 0)
	I386_ROW(llistxattr, STAT, NOFOLLOW, -1, 0, -1, -1, -1, -1, 0)
	I386_ROW(setxattr, CHATTR, FOLLOW, -1, 0, -1, -1, -1, -1, 0)
	I386_ROW(lsetxattr, CHATTR, NOFOLLOW, -1, 0, -1, -1, -1, -1, 0)
	I386_ROW(removexattr, CHATTR, FOLLOW, -1, 0, -1, -1, -1, -1, 0)
	I386_ROW(lremovexattr, CHATTR, NOFOLLOW, -1, 0, -1, -1, -1, -1, 0)
	I386_ROW(access, ACCESS, FOLLOW, -1, 0, -1, -1, -1, 1, 0)
	I386_ROW(faccessat, ACCESS, FOLLOW, 0, 1, -1, -1, -1, 2, 0)
	I386_ROW(faccessat2, ACCESS, FOLLOW_UNLESS, 0, 1, -1, -1, 3, 2, 0)
	I386_ROW(readlink, READLINK, NOFOLLOW, -1, 0, -1, -1, -1, -1, 0)
	I386_ROW(readlinkat, READLINK, NOFOLLOW, 0, 1, -1, -1, -1, -1, 0)
	I386_ROW(execve, EXEC, FOLLOW, -1, 0, -1, -1, -1, -1, 0)
	I386_ROW(execveat, EXEC, FOLLOW_UNLESS, 0, 1, -1, -1, 4, -1, 0)
	I386_ROW(mkdir, MKDIR, NOFOLLOW, -1, 0, -1, -1, -1, -1, 0)
	I386_ROW(mkdirat, MKDIR, NOFOLLOW, 0, 1, -1, -1, -1, -1, 0)
	I386_ROW(rmdir, RMDIR, NOFOLLOW, -1, 0, -1, -1, -1, -1, 0)
	I386_ROW(unlink, UNLINK, NOFOLLOW, -1, 0, -1, -1, -1, -1, 0)
	I386_ROW(unlinkat, UNLINK, NOFOLLOW, 0, 1, -1, -1, 2, -1, 0)
	I386_ROW(rename, RENAME, NOFOLLOW, -1, 0, -1, 1, -1, -1, 0)
	I386_ROW(renameat, RENAME, NOFOLLOW, 0, 1, 2, 3, -1, -1, 0)
	I386_ROW(renameat2, RENAME, NOFOLLOW, 0, 1, 2, 3, -1, -1, 0)
	I386_ROW(link, LINK, NOFOLLOW, -1, 0, -1, 1, -1, -1, 0)
	I386_ROW(linkat, LINK, FOLLOW_IF, 0, 1, 2, 3, 4, -1, 0)
	I386_ROW(symlink, SYMLINK, NOFOLLOW, -1, 1, -1, 0, -1, -1, 0)
	I386_ROW(symlinkat, SYMLINK, NOFOLLOW, 1, 2, -1, 0, -1, -1, 0)
	I386_ROW(chdir, CHDIR, FOLLOW, -1, 0, -1, -1, -1, -1, 0)
	I386_ROW(fchdir, FCHDIR, FOLLOW, 0, -1, -1, -1, -1, -1, 0)
	I386_ROW(truncate, TRUNCATE, FOLLOW, -1, 0, -1, -1, -1, -1, 0)
	I386_ROW(truncate64, TRUNCATE, FOLLOW, -1, 0, -1, -1, -1, -1, 0)
	I386_ROW(chmod, CHATTR, FOLLOW, -1, 0, -1, -1, -1, -1, 0)
	I386_ROW(fchmodat, CHATTR, FOLLOW, 0, 1, -1, -1, -1, -1, 0)
#ifdef __NR_fchmodat2
	I386_ROW(fchmodat2, CHATTR, FOLLOW_UNLESS, 0, 1, -1, -1, 3, -1, 0)
#endif
	I386_ROW(chown, CHATTR, FOLLOW, -1, 0, -1, -1, -1, -1, 0)
	I386_ROW(lchown, CHATTR, NOFOLLOW, -1, 0, -1, -1, -1, -1, 0)
	I386_ROW(chown32, CHATTR, FOLLOW, -1, 0, -1, -1, -1, -1, 0)
	I386_ROW(lchown32, CHATTR, NOFOLLOW, -1, 0, -1, -1, -1, -1, 0)
	I386_ROW(fchownat, CHATTR, FOLLOW_UNLESS, 0, 1, -1, -1, 4, -1, 0)
	I386_ROW(utime, CHATTR, FOLLOW, -1, 0, -1, -1, -1, -1, 0)
	I386_ROW(utimes, CHATTR, FOLLOW, -1, 0, -1, -1, -1, -1, 0)
	I386_ROW(utimensat, CHATTR, FOLLOW_UNLESS, 0, 1, -1, -1, 3, -1, 0)
	I386_ROW(futimesat, CHATTR, FOLLOW, 0, 1, -1, -1, -1, -1, 0)
	I386_ROW(mknod, MKNOD, NOFOLLOW, -1, 0, -1, -1, -1, -1, 0)
	I386_ROW(mknodat, MKNOD, NOFOLLOW, 0, 1, -1, -1, -1, -1, 0)
};
const unsigned sup_ncalls_i386 =
	sizeof sup_calls_i386 / sizeof sup_calls_i386[0];
_Static_assert(sizeof sup_calls_i386 / sizeof sup_calls_i386[0] <= 64,
	       "SUP_PROG_MAX holds one jump a call");
const int sup_i386_fstatat64 = __NR_fstatat64;
const int sup_i386_statx = __NR_statx;
const int sup_i386_getdents64 = __NR_getdents64;
const int sup_i386_getdents = __NR_getdents;

#endif /* __x86_64__ */

const struct sup_call *sup_call_find_arch(uint32_t arch, int nr)
{
#if defined(__x86_64__)
	const struct sup_call *t = NULL;
	unsigned n = 0;

	if (arch == AUDIT_ARCH_I386) {
		t = sup_calls_i386;
		n = sup_ncalls_i386;
	} else if (arch == AUDIT_ARCH_X86_64 && ((unsigned)nr & SUP_X32_BIT)) {
		t = sup_calls_x32;
		n = sup_ncalls_x32;
	}
	for (unsigned i = 0; i < n; i++)
		if (t[i].nr == nr)
			return &t[i];
	if (t != NULL)
		return NULL;
#endif
	return arch == SUP_ARCH_NATIVE ? sup_call_find(nr) : NULL;
}
