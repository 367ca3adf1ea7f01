/*
 * sup_filter.c - the trapped system calls (sup_calls) and the seccomp BPF
 * program that sends them to the supervisor.
 *
 * The program checks the architecture first: the native ABI's calls are
 * trapped by sup_calls, on x86-64 the x32 ABI's (the native architecture,
 * numbers with __X32_SYSCALL_BIT) by sup_calls_x32 and the i386 ABI's
 * (int 0x80, a 32-bit program) by sup_calls_i386; a call of another ABI
 * is allowed untraced.
 * Each ABI's block is made from its table, the rows of sup_calls.def: an
 * fstat-like row (newfstatat, fstatat64 and statx with AT_EMPTY_PATH are
 * fstat on a descriptor, what libc's fstat makes of it) is allowed
 * without a notification in that form.
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

#define SUP_TABLE sup_calls
#define SUP_NTABLE sup_ncalls
#define SUP_ROW_I386(...)
#include "sup_calls_abi.h"

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

/* The block of one ABI's calls (its table; its listings, a number below
 * 0: none): the fstat-like rows' blocks, the listings, the jumps.  The
 * accumulator holds nr. */
static unsigned sup_abi_block(struct sock_filter *p, unsigned n,
			      const struct sup_call *calls, unsigned count,
			      bool sandbox, int dents64, int dents)
{
	for (unsigned i = 0; i < count; i++)
		if (calls[i].trap == SUP_TRAP_UNLESS_EMPTY_PATH)
			n = sup_empty_path_block(p, n, calls[i].nr,
						 calls[i].flags);
	n = sup_listing_block(p, n, sandbox, dents64, dents);
	return sup_jumps(p, n, calls, count);
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
	return sup_abi_block(p, n, sup_calls_i386, sup_ncalls_i386, sandbox,
			     sup_i386_getdents64, sup_i386_getdents);
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
#ifdef SYS_getdents
	n = sup_abi_block(p, n, sup_calls, sup_ncalls, sandbox, SYS_getdents64,
			  SYS_getdents);
#else
	n = sup_abi_block(p, n, sup_calls, sup_ncalls, sandbox, SYS_getdents64,
			  -1);
#endif
#ifdef SUP_X32_BIT
	p[x32].jt = (unsigned char)(n - x32 - 1);
	n = sup_abi_block(p, n, sup_calls_x32, sup_ncalls_x32, sandbox,
			  sup_x32_getdents64, sup_x32_getdents);
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
