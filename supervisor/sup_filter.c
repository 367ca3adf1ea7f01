/*
 * sup_filter.c - the trapped system calls (sup_calls) and the seccomp BPF
 * program that sends them to the supervisor.
 *
 * The program checks the architecture first: a call made through another
 * ABI (i386's int 0x80 on x86-64, x32 numbers) is allowed untraced.
 * newfstatat and statx with AT_EMPTY_PATH are fstat on a descriptor (what
 * libc's fstat makes of it): allowed without a notification.
 */
#define _GNU_SOURCE 1

#include "supervise.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__x86_64__)
#define SUP_ARCH AUDIT_ARCH_X86_64
#define SUP_X32_BIT 0x40000000u
#elif defined(__aarch64__)
#define SUP_ARCH AUDIT_ARCH_AARCH64
#elif defined(__i386__)
#define SUP_ARCH AUDIT_ARCH_I386
#elif defined(__riscv) && __riscv_xlen == 64
#define SUP_ARCH AUDIT_ARCH_RISCV64
#else
#error "shmcache-supervise: unknown architecture for the seccomp filter"
#endif

/* Rows: X(name, kind, follow, fd1, path1, fd2, path2, flags, mode, fixed) */
#define SUP_ROW(n, k, fo, f1, p1, f2, p2, fl, mo, fx)                        \
	{ SYS_##n, #n, SUP_##k, SUP_##fo, f1, p1, f2, p2, fl, mo, fx },

const struct sup_call sup_calls[] = {
#ifdef SYS_open
	SUP_ROW(open, OPEN, FOLLOW, -1, 0, -1, -1, 1, -1, 0)
#endif
	SUP_ROW(openat, OPEN, FOLLOW, 0, 1, -1, -1, 2, -1, 0)
#ifdef SYS_openat2
	SUP_ROW(openat2, OPENAT2, FOLLOW, 0, 1, -1, -1, 2, -1, 0)
#endif
#ifdef SYS_creat
	SUP_ROW(creat, OPEN, FOLLOW, -1, 0, -1, -1, -1, -1,
		O_CREAT | O_WRONLY | O_TRUNC)
#endif
#ifdef SYS_stat
	SUP_ROW(stat, STAT, FOLLOW, -1, 0, -1, -1, -1, -1, 0)
#endif
#ifdef SYS_lstat
	SUP_ROW(lstat, STAT, NOFOLLOW, -1, 0, -1, -1, -1, -1, 0)
#endif
#ifdef SYS_newfstatat
	SUP_ROW(newfstatat, STAT, FOLLOW_UNLESS, 0, 1, -1, -1, 3, -1, 0)
#endif
#ifdef SYS_fstatat64
	SUP_ROW(fstatat64, STAT, FOLLOW_UNLESS, 0, 1, -1, -1, 3, -1, 0)
#endif
#ifdef SYS_statx
	SUP_ROW(statx, STAT, FOLLOW_UNLESS, 0, 1, -1, -1, 2, -1, 0)
#endif
#ifdef SYS_statfs
	SUP_ROW(statfs, STAT, FOLLOW, -1, 0, -1, -1, -1, -1, 0)
#endif
	/* the shim's bits: the getters a stat, the setters an attribute */
	SUP_ROW(getxattr, STAT, FOLLOW, -1, 0, -1, -1, -1, -1, 0)
	SUP_ROW(lgetxattr, STAT, NOFOLLOW, -1, 0, -1, -1, -1, -1, 0)
	SUP_ROW(listxattr, STAT, FOLLOW, -1, 0, -1, -1, -1, -1, 0)
	SUP_ROW(llistxattr, STAT, NOFOLLOW, -1, 0, -1, -1, -1, -1, 0)
	SUP_ROW(setxattr, CHATTR, FOLLOW, -1, 0, -1, -1, -1, -1, 0)
	SUP_ROW(lsetxattr, CHATTR, NOFOLLOW, -1, 0, -1, -1, -1, -1, 0)
	SUP_ROW(removexattr, CHATTR, FOLLOW, -1, 0, -1, -1, -1, -1, 0)
	SUP_ROW(lremovexattr, CHATTR, NOFOLLOW, -1, 0, -1, -1, -1, -1, 0)
#ifdef SYS_access
	SUP_ROW(access, ACCESS, FOLLOW, -1, 0, -1, -1, -1, 1, 0)
#endif
	SUP_ROW(faccessat, ACCESS, FOLLOW, 0, 1, -1, -1, -1, 2, 0)
#ifdef SYS_faccessat2
	SUP_ROW(faccessat2, ACCESS, FOLLOW_UNLESS, 0, 1, -1, -1, 3, 2, 0)
#endif
#ifdef SYS_readlink
	SUP_ROW(readlink, READLINK, NOFOLLOW, -1, 0, -1, -1, -1, -1, 0)
#endif
	SUP_ROW(readlinkat, READLINK, NOFOLLOW, 0, 1, -1, -1, -1, -1, 0)
	SUP_ROW(execve, EXEC, FOLLOW, -1, 0, -1, -1, -1, -1, 0)
#ifdef SYS_execveat
	SUP_ROW(execveat, EXEC, FOLLOW_UNLESS, 0, 1, -1, -1, 4, -1, 0)
#endif
#ifdef SYS_mkdir
	SUP_ROW(mkdir, MKDIR, NOFOLLOW, -1, 0, -1, -1, -1, -1, 0)
#endif
	SUP_ROW(mkdirat, MKDIR, NOFOLLOW, 0, 1, -1, -1, -1, -1, 0)
#ifdef SYS_rmdir
	SUP_ROW(rmdir, RMDIR, NOFOLLOW, -1, 0, -1, -1, -1, -1, 0)
#endif
#ifdef SYS_unlink
	SUP_ROW(unlink, UNLINK, NOFOLLOW, -1, 0, -1, -1, -1, -1, 0)
#endif
	SUP_ROW(unlinkat, UNLINK, NOFOLLOW, 0, 1, -1, -1, 2, -1, 0)
#ifdef SYS_rename
	SUP_ROW(rename, RENAME, NOFOLLOW, -1, 0, -1, 1, -1, -1, 0)
#endif
#ifdef SYS_renameat
	SUP_ROW(renameat, RENAME, NOFOLLOW, 0, 1, 2, 3, -1, -1, 0)
#endif
#ifdef SYS_renameat2
	SUP_ROW(renameat2, RENAME, NOFOLLOW, 0, 1, 2, 3, -1, -1, 0)
#endif
#ifdef SYS_link
	SUP_ROW(link, LINK, NOFOLLOW, -1, 0, -1, 1, -1, -1, 0)
#endif
	SUP_ROW(linkat, LINK, FOLLOW_IF, 0, 1, 2, 3, 4, -1, 0)
#ifdef SYS_symlink
	SUP_ROW(symlink, SYMLINK, NOFOLLOW, -1, 1, -1, 0, -1, -1, 0)
#endif
	SUP_ROW(symlinkat, SYMLINK, NOFOLLOW, 1, 2, -1, 0, -1, -1, 0)
	SUP_ROW(chdir, CHDIR, FOLLOW, -1, 0, -1, -1, -1, -1, 0)
	SUP_ROW(fchdir, FCHDIR, FOLLOW, 0, -1, -1, -1, -1, -1, 0)
	SUP_ROW(truncate, TRUNCATE, FOLLOW, -1, 0, -1, -1, -1, -1, 0)
#ifdef SYS_chmod
	SUP_ROW(chmod, CHATTR, FOLLOW, -1, 0, -1, -1, -1, -1, 0)
#endif
	SUP_ROW(fchmodat, CHATTR, FOLLOW, 0, 1, -1, -1, -1, -1, 0)
#ifdef SYS_fchmodat2
	SUP_ROW(fchmodat2, CHATTR, FOLLOW_UNLESS, 0, 1, -1, -1, 3, -1, 0)
#endif
#ifdef SYS_chown
	SUP_ROW(chown, CHATTR, FOLLOW, -1, 0, -1, -1, -1, -1, 0)
#endif
#ifdef SYS_lchown
	SUP_ROW(lchown, CHATTR, NOFOLLOW, -1, 0, -1, -1, -1, -1, 0)
#endif
	SUP_ROW(fchownat, CHATTR, FOLLOW_UNLESS, 0, 1, -1, -1, 4, -1, 0)
#ifdef SYS_utime
	SUP_ROW(utime, CHATTR, FOLLOW, -1, 0, -1, -1, -1, -1, 0)
#endif
#ifdef SYS_utimes
	SUP_ROW(utimes, CHATTR, FOLLOW, -1, 0, -1, -1, -1, -1, 0)
#endif
	SUP_ROW(utimensat, CHATTR, FOLLOW_UNLESS, 0, 1, -1, -1, 3, -1, 0)
#ifdef SYS_futimesat
	SUP_ROW(futimesat, CHATTR, FOLLOW, 0, 1, -1, -1, -1, -1, 0)
#endif
#ifdef SYS_mknod
	SUP_ROW(mknod, MKNOD, NOFOLLOW, -1, 0, -1, -1, -1, -1, 0)
#endif
	SUP_ROW(mknodat, MKNOD, NOFOLLOW, 0, 1, -1, -1, -1, -1, 0)
};
const unsigned sup_ncalls = sizeof sup_calls / sizeof sup_calls[0];

const struct sup_call *sup_call_find(int nr)
{
	for (unsigned i = 0; i < sup_ncalls; i++)
		if (sup_calls[i].nr == nr)
			return &sup_calls[i];
	return NULL;
}

#define SUP_LD(off) BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (off))
#define SUP_RET(v) BPF_STMT(BPF_RET | BPF_K, (v))
#define SUP_ARG_LO(i) (offsetof(struct seccomp_data, args) + 8 * (i) +     \
		       (__BYTE_ORDER__ == __ORDER_BIG_ENDIAN__ ? 4 : 0))

/* The size of the program: the header, two fstat blocks, one jump a call,
 * the two returns. */
#define SUP_PROG_MAX (8 + 2 * 5 + 64 + 2)

/* A block for call nr whose argument arg holding AT_EMPTY_PATH makes it
 * an fstat: allowed; else notified.  The accumulator holds nr and keeps it
 * when the call is another. */
static unsigned sup_empty_path_block(struct sock_filter *p, unsigned n,
				     int nr, int arg)
{
	p[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
					      (unsigned)nr, 0, 4);
	p[n++] = (struct sock_filter)SUP_LD(SUP_ARG_LO(arg));
	p[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K,
					      AT_EMPTY_PATH, 0, 1);
	p[n++] = (struct sock_filter)SUP_RET(SECCOMP_RET_ALLOW);
	p[n++] = (struct sock_filter)SUP_RET(SECCOMP_RET_USER_NOTIF);
	return n;
}

static unsigned sup_build(struct sock_filter *p)
{
	unsigned n = 0, first;

	p[n++] = (struct sock_filter)SUP_LD(offsetof(struct seccomp_data, arch));
	p[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
					      SUP_ARCH, 1, 0);
	p[n++] = (struct sock_filter)SUP_RET(SECCOMP_RET_ALLOW);
	p[n++] = (struct sock_filter)SUP_LD(offsetof(struct seccomp_data, nr));
#ifdef SUP_X32_BIT
	p[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K,
					      SUP_X32_BIT, 0, 1);
	p[n++] = (struct sock_filter)SUP_RET(SECCOMP_RET_ALLOW);
#endif
#ifdef SYS_newfstatat
	n = sup_empty_path_block(p, n, SYS_newfstatat, 3);
#endif
#ifdef SYS_fstatat64
	n = sup_empty_path_block(p, n, SYS_fstatat64, 3);
#endif
#ifdef SYS_statx
	n = sup_empty_path_block(p, n, SYS_statx, 2);
#endif
	first = n;
	/* jeq nr: to the USER_NOTIF return past the rest and the ALLOW */
	for (unsigned i = 0; i < sup_ncalls; i++) {
		unsigned left = sup_ncalls - (n - first) - 1;
		p[n++] = (struct sock_filter)BPF_JUMP(
			BPF_JMP | BPF_JEQ | BPF_K, (unsigned)sup_calls[i].nr,
			(unsigned char)(left + 1), 0);
	}
	p[n++] = (struct sock_filter)SUP_RET(SECCOMP_RET_ALLOW);
	p[n++] = (struct sock_filter)SUP_RET(SECCOMP_RET_USER_NOTIF);
	return n;
}

static int sup_seccomp(struct sock_fprog *prog)
{
	return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
			    SECCOMP_FILTER_FLAG_NEW_LISTENER, prog);
}

int sup_filter_install(void)
{
	struct sock_filter p[SUP_PROG_MAX];
	struct sock_fprog prog;
	int fd;

	_Static_assert(sizeof sup_calls / sizeof sup_calls[0] <= 64,
		       "SUP_PROG_MAX holds one jump a call");
	prog.len = (unsigned short)sup_build(p);
	prog.filter = p;
	fd = sup_seccomp(&prog);
	if (fd < 0 && errno == EACCES) {
		/* no CAP_SYS_ADMIN: the kernel asks for no_new_privs */
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
			return -1;
		fd = sup_seccomp(&prog);
	}
	return fd;
}
