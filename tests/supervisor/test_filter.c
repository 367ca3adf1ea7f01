/*
 * test_filter.c - the supervisor's BPF program (sup_filter_build), run by a
 * classic-BPF interpreter of its own over crafted seccomp_data: every row
 * of the native table and, on x86-64, of the x32 and i386 tables is
 * notified; other calls, fstat-like AT_EMPTY_PATH forms and other ABIs
 * are allowed; in sandbox mode the listings (getdents64) are notified.
 * The x32 and i386 rows matter on hosts that cannot run such a program
 * (no x32 support, no IA32 emulation), where no end-to-end test can make
 * such a call.  And sup_call_find_arch gives each ABI's number its own
 * row.
 * Exits 0 when every check holds, else 1 naming each that did not.
 */
#define _GNU_SOURCE 1

#include <fcntl.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>

#include "supervise.h"

static int failures;

/* The program's verdict on d: the subset of cBPF the filter uses (LD W
 * ABS, JEQ K, JSET K, RET K); -1 for anything else or a jump out. */
static long run(const struct sock_filter *p, unsigned len,
		const struct seccomp_data *d)
{
	uint32_t a = 0;
	unsigned pc = 0;

	while (pc < len) {
		const struct sock_filter *i = &p[pc++];

		switch (i->code) {
		case BPF_LD | BPF_W | BPF_ABS:
			if (i->k + 4 > sizeof *d)
				return -1;
			memcpy(&a, (const char *)d + i->k, 4);
			break;
		case BPF_JMP | BPF_JEQ | BPF_K:
			pc += a == i->k ? i->jt : i->jf;
			break;
		case BPF_JMP | BPF_JSET | BPF_K:
			pc += (a & i->k) ? i->jt : i->jf;
			break;
		case BPF_RET | BPF_K:
			return i->k;
		default:
			return -1;
		}
	}
	return -1;
}

static long verdict_of(bool sandbox, uint32_t arch, int nr, int arg,
		       uint64_t val)
{
	static struct sock_filter p[2][SUP_PROG_MAX];
	static unsigned len[2];
	struct seccomp_data d;

	if (len[sandbox] == 0)
		len[sandbox] = sup_filter_build(p[sandbox], sandbox);
	memset(&d, 0, sizeof d);
	d.arch = arch;
	d.nr = nr;
	if (arg >= 0)
		d.args[arg] = val;
	return run(p[sandbox], len[sandbox], &d);
}

static long verdict(uint32_t arch, int nr, int arg, uint64_t val)
{
	return verdict_of(false, arch, nr, arg, val);
}

static void expect(const char *what, const char *name, long got, long want)
{
	if (got != want) {
		fprintf(stderr, "FAIL %s %s: got %#lx, want %#lx\n", what, name,
			got, want);
		failures++;
	}
}

/* In sandbox mode: the same verdict for every row; the listings
 * (getdents64, then getdents; a number below 0: none) notified there and
 * allowed outside it, each with its entries' layout. */
static void sandbox_table(const char *abi, uint32_t arch,
			  const struct sup_call *t, unsigned n,
			  const int dents[2], const uint8_t layout[2][2])
{
	for (unsigned i = 0; i < n; i++)
		expect(abi, t[i].name, verdict_of(true, arch, t[i].nr, -1, 0),
		       SECCOMP_RET_USER_NOTIF);
	for (int i = 0; i < 2; i++) {
		const char *name = i == 0 ? "getdents64" : "getdents";
		struct sup_listing l;

		if (dents[i] < 0)
			continue;
		expect(abi, name, verdict_of(true, arch, dents[i], -1, 0),
		       SECCOMP_RET_USER_NOTIF);
		expect(abi, name, verdict(arch, dents[i], -1, 0),
		       SECCOMP_RET_ALLOW);
		expect(abi, name, sup_listing_of(arch, dents[i], &l), 1);
		expect(abi, name, l.nr == dents[i] &&
				  l.reclen_at == layout[i][0] &&
				  l.name_at == layout[i][1], 1);
	}
}

static void table(const char *abi, uint32_t arch, const struct sup_call *t,
		  unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		const struct sup_call *f = sup_call_find_arch(arch, t[i].nr);

		expect(abi, t[i].name, verdict(arch, t[i].nr, -1, 0),
		       SECCOMP_RET_USER_NOTIF);
		expect(abi, t[i].name, f != NULL && strcmp(f->name, t[i].name) == 0,
		       1);
	}
}

int main(void)
{
	const uint32_t native = SUP_ARCH_NATIVE;

	table("native", native, sup_calls, sup_ncalls);
	expect("native", "getpid", verdict(native, SYS_getpid, -1, 0),
	       SECCOMP_RET_ALLOW);
	expect("native", "close", verdict(native, SYS_close, -1, 0),
	       SECCOMP_RET_ALLOW);
	expect("native", "statx AT_EMPTY_PATH",
	       verdict(native, SYS_statx, 2, AT_EMPTY_PATH), SECCOMP_RET_ALLOW);
	expect("native", "statx", verdict(native, SYS_statx, 2, 0),
	       SECCOMP_RET_USER_NOTIF);
#if defined(__x86_64__)
	table("i386", AUDIT_ARCH_I386, sup_calls_i386, sup_ncalls_i386);
	/* i386 5 is open, x86-64 5 fstat; i386 20 getpid, 300 fstatat64 */
	expect("i386", "open is 5", verdict(AUDIT_ARCH_I386, 5, -1, 0),
	       SECCOMP_RET_USER_NOTIF);
	expect("i386", "row of 5",
	       strcmp(sup_call_find_arch(AUDIT_ARCH_I386, 5)->name, "open"), 0);
	expect("i386", "getpid", verdict(AUDIT_ARCH_I386, 20, -1, 0),
	       SECCOMP_RET_ALLOW);
	expect("i386", "fstatat64 AT_EMPTY_PATH",
	       verdict(AUDIT_ARCH_I386, 300, 3, AT_EMPTY_PATH),
	       SECCOMP_RET_ALLOW);
	expect("i386", "fstatat64", verdict(AUDIT_ARCH_I386, 300, 3, 0),
	       SECCOMP_RET_USER_NOTIF);
	expect("x86-64", "fstat is 5", verdict(native, 5, -1, 0),
	       SECCOMP_RET_ALLOW);
	table("x32", native, sup_calls_x32, sup_ncalls_x32);
	/* x32 2 is open; execve is x32's own 520, its 59 (the native
	 * execve, 64-bit only) fails ENOSYS untrapped; 39 getpid */
	expect("x32", "open", verdict(native, SUP_X32_BIT | 2, -1, 0),
	       SECCOMP_RET_USER_NOTIF);
	expect("x32", "row of open",
	       strcmp(sup_call_find_arch(native, SUP_X32_BIT | 2)->name,
		      "open"), 0);
	expect("x32", "execve is 520",
	       verdict(native, SUP_X32_BIT | 520, -1, 0),
	       SECCOMP_RET_USER_NOTIF);
	expect("x32", "row of 520",
	       strcmp(sup_call_find_arch(native, SUP_X32_BIT | 520)->name,
		      "execve"), 0);
	expect("x32", "59", verdict(native, SUP_X32_BIT | 59, -1, 0),
	       SECCOMP_RET_ALLOW);
	expect("x32", "row of 59",
	       sup_call_find_arch(native, SUP_X32_BIT | 59) == NULL, 1);
	expect("x32", "getpid", verdict(native, SUP_X32_BIT | 39, -1, 0),
	       SECCOMP_RET_ALLOW);
	expect("x32", "newfstatat AT_EMPTY_PATH",
	       verdict(native, SUP_X32_BIT | 262, 3, AT_EMPTY_PATH),
	       SECCOMP_RET_ALLOW);
	expect("x32", "newfstatat", verdict(native, SUP_X32_BIT | 262, 3, 0),
	       SECCOMP_RET_USER_NOTIF);
	{
		/* x32 217 getdents64, 78 getdents: the native layouts; i386
		 * 220 getdents64 the same, 141 getdents its own */
		const int x32[2] = { (int)(SUP_X32_BIT | 217),
				     (int)(SUP_X32_BIT | 78) },
			  i386[2] = { 220, 141 };
		const uint8_t x32_at[2][2] = { { 16, 19 }, { 16, 18 } },
			      i386_at[2][2] = { { 16, 19 }, { 8, 10 } };
		struct sup_listing l;

		sandbox_table("x32", native, sup_calls_x32, sup_ncalls_x32,
			      x32, x32_at);
		sandbox_table("i386", AUDIT_ARCH_I386, sup_calls_i386,
			      sup_ncalls_i386, i386, i386_at);
		expect("i386", "listing's ABI",
		       sup_listing_of(AUDIT_ARCH_I386, 141, &l) &&
			       l.abi == SUP_ABI_I386, 1);
		expect("x32", "listing's ABI",
		       sup_listing_of(native, x32[0], &l) &&
			       l.abi == SUP_ABI_X32, 1);
		expect("x86-64", "217 | x32 bit is no native listing",
		       sup_listing_of(native, 217, &l) &&
			       l.abi == SUP_ABI_NATIVE, 1);
		expect("i386", "getpid is no listing",
		       sup_listing_of(AUDIT_ARCH_I386, 20, &l), 0);
	}
#endif
	{
		const int dents[2] = { SYS_getdents64,
#ifdef SYS_getdents
				       SYS_getdents
#else
				       -1
#endif
		};
		const uint8_t at[2][2] = { { 16, 19 }, { 16, 18 } };

		sandbox_table("native", native, sup_calls, sup_ncalls, dents,
			      at);
	}
	expect("another ABI", "any", verdict(0x12345678, 2, -1, 0),
	       SECCOMP_RET_ALLOW);
	expect("another ABI", "row",
	       sup_call_find_arch(0x12345678, 2) == NULL, 1);
	if (failures == 0)
		printf("ok: %u native rows%s\n", sup_ncalls,
#if defined(__x86_64__)
		       ", the x32 and i386 rows"
#else
		       ""
#endif
		);
	return failures != 0;
}
