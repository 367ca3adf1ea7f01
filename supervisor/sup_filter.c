/*
 * sup_filter.c - the trapped system calls (sup_calls) and the seccomp BPF
 * program that sends them to the supervisor.
 *
 * The program checks the architecture first: the native ABI's calls are
 * trapped by sup_calls, on x86-64 the x32 ABI's (the native architecture,
 * numbers with __X32_SYSCALL_BIT) by sup_calls_x32 and the i386 ABI's
 * (int 0x80, a 32-bit program) by sup_calls_i386; a call of another ABI
 * is allowed untraced.
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

#define SUP_ARCH SUP_ARCH_NATIVE

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

bool sup_listing_of(uint32_t arch, int nr, struct sup_listing *l)
{
	/* linux_dirent64: ino, off (8 each), reclen, type, name; the old
	 * linux_dirent: ino, off, reclen, name, then the type last; i386's:
	 * the same with 4-byte ino and off */
	static const uint8_t d64[2] = { 16, 19 }, d[2] = { 16, 18 },
			     d32[2] = { 8, 10 };
	const uint8_t *at = NULL;

	l->nr = nr;
	l->abi = SUP_ABI_NATIVE;
	if (arch == SUP_ARCH_NATIVE) {
#if defined(__x86_64__)
		if ((unsigned)nr & SUP_X32_BIT) {
			l->abi = SUP_ABI_X32;
			at = nr == sup_x32_getdents64 ? d64
			     : nr == sup_x32_getdents ? d : NULL;
		} else
#endif
		if (nr == SYS_getdents64)
			at = d64;
#ifdef SYS_getdents
		else if (nr == SYS_getdents)
			at = d;
#endif
	}
#if defined(__x86_64__)
	else if (arch == AUDIT_ARCH_I386) {
		l->abi = SUP_ABI_I386;
		at = nr == sup_i386_getdents64 ? d64
		     : nr == sup_i386_getdents ? d32 : NULL;
	}
#endif
	if (at == NULL)
		return false;
	l->reclen_at = at[0];
	l->name_at = at[1];
	return true;
}

#define SUP_LD(off) BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (off))
#define SUP_RET(v) BPF_STMT(BPF_RET | BPF_K, (v))
#define SUP_ARG_LO(i) (offsetof(struct seccomp_data, args) + 8 * (i) +     \
		       (__BYTE_ORDER__ == __ORDER_BIG_ENDIAN__ ? 4 : 0))

/* arch, nr, the x32 test; per ABI up to three fstat-like blocks, the
 * sandbox's listing traps (3), a jump a call and two returns */
_Static_assert(4 + 3 * (3 * 5 + 3 + 64 + 2) + 3 <= SUP_PROG_MAX,
	       "SUP_PROG_MAX holds the three ABIs' blocks");
/* the arch test's jump over the native and x32 blocks fits in jf */
_Static_assert(2 + 2 * (3 * 5 + 3 + 64 + 2) <= 255,
	       "the jump to the i386 block fits in 8 bits");

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

/* In sandbox mode, the two listing calls of an ABI (a number below 0:
 * none): notified.  The accumulator holds nr. */
static unsigned sup_listing_block(struct sock_filter *p, unsigned n,
				  bool sandbox, int dents64, int dents)
{
	if (!sandbox)
		return n;
	p[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
					      (unsigned)dents64, 1, 0);
	p[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
					      (unsigned)dents, 0, 1);
	p[n++] = (struct sock_filter)SUP_RET(SECCOMP_RET_USER_NOTIF);
	return n;
}

/* One jump a call of calls, each to the USER_NOTIF return past the rest
 * and the ALLOW, then the two returns.  The accumulator holds nr. */
static unsigned sup_jumps(struct sock_filter *p, unsigned n,
			  const struct sup_call *calls, unsigned count)
{
	unsigned first = n;

	for (unsigned i = 0; i < count; i++) {
		unsigned left = count - (n - first) - 1;
		p[n++] = (struct sock_filter)BPF_JUMP(
			BPF_JMP | BPF_JEQ | BPF_K, (unsigned)calls[i].nr,
			(unsigned char)(left + 1), 0);
	}
	p[n++] = (struct sock_filter)SUP_RET(SECCOMP_RET_ALLOW);
	p[n++] = (struct sock_filter)SUP_RET(SECCOMP_RET_USER_NOTIF);
	return n;
}

/* The i386 block, reached with the arch in the accumulator; on other
 * hosts, ALLOW. */
static unsigned sup_build_i386(struct sock_filter *p, unsigned n,
			       bool sandbox)
{
#if defined(__x86_64__)
	p[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
					      AUDIT_ARCH_I386, 1, 0);
	p[n++] = (struct sock_filter)SUP_RET(SECCOMP_RET_ALLOW);
	p[n++] = (struct sock_filter)SUP_LD(offsetof(struct seccomp_data, nr));
	n = sup_empty_path_block(p, n, sup_i386_fstatat64, 3);
	n = sup_empty_path_block(p, n, sup_i386_statx, 2);
	n = sup_listing_block(p, n, sandbox, sup_i386_getdents64,
			      sup_i386_getdents);
	return sup_jumps(p, n, sup_calls_i386, sup_ncalls_i386);
#else
	(void)sandbox;
	p[n++] = (struct sock_filter)SUP_RET(SECCOMP_RET_ALLOW);
	return n;
#endif
}

/* The x32 block, reached with nr (its bit set) in the accumulator. */
static unsigned sup_build_x32(struct sock_filter *p, unsigned n, bool sandbox)
{
#if defined(__x86_64__)
	n = sup_empty_path_block(p, n, sup_x32_newfstatat, 3);
	n = sup_empty_path_block(p, n, sup_x32_statx, 2);
	n = sup_listing_block(p, n, sandbox, sup_x32_getdents64,
			      sup_x32_getdents);
	return sup_jumps(p, n, sup_calls_x32, sup_ncalls_x32);
#else
	(void)sandbox;
	p[n++] = (struct sock_filter)SUP_RET(SECCOMP_RET_ALLOW);
	return n;
#endif
}

unsigned sup_filter_build(struct sock_filter *p, bool sandbox)
{
	unsigned n = 0, other;
#ifdef SUP_X32_BIT
	unsigned x32;
#endif

	p[n++] = (struct sock_filter)SUP_LD(offsetof(struct seccomp_data, arch));
	other = n;
	/* jf: to the other ABI's block, patched below */
	p[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
					      SUP_ARCH, 0, 0);
	p[n++] = (struct sock_filter)SUP_LD(offsetof(struct seccomp_data, nr));
#ifdef SUP_X32_BIT
	x32 = n;
	/* jt: to the x32 block, patched below */
	p[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K,
					      SUP_X32_BIT, 0, 0);
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
#ifdef SYS_getdents
	n = sup_listing_block(p, n, sandbox, SYS_getdents64, SYS_getdents);
#else
	n = sup_listing_block(p, n, sandbox, SYS_getdents64, -1);
#endif
	n = sup_jumps(p, n, sup_calls, sup_ncalls);
#ifdef SUP_X32_BIT
	p[x32].jt = (unsigned char)(n - x32 - 1);
	n = sup_build_x32(p, n, sandbox);
#endif
	p[other].jf = (unsigned char)(n - other - 1);
	return sup_build_i386(p, n, sandbox);
}

static int sup_seccomp(struct sock_fprog *prog)
{
	return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
			    SECCOMP_FILTER_FLAG_NEW_LISTENER, prog);
}

int sup_filter_install(bool sandbox)
{
	struct sock_filter p[SUP_PROG_MAX];
	struct sock_fprog prog;
	int fd;

	_Static_assert(sizeof sup_calls / sizeof sup_calls[0] <= 64,
		       "SUP_PROG_MAX holds one jump a call");
	prog.len = (unsigned short)sup_filter_build(p, sandbox);
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
