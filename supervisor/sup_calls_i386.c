/*
 * sup_calls_i386.c - on x86-64, the trapped system calls of the i386 ABI
 * (int 0x80, or a 32-bit program started below a supervised one): their
 * own numbers (asm/unistd_32.h), the same arguments in the same order
 * (seccomp_data holds them zero-extended), so each row is the 64-bit row
 * of the same call, plus the calls only i386 has (stat64, truncate64,
 * chown32...): the rows of sup_calls.def, by asm/unistd_32.h's numbers.
 * The filter traps them by these numbers when the architecture is
 * AUDIT_ARCH_I386 (sup_filter.c); the supervisor handles them as the
 * 64-bit calls (sup_call_find_arch).
 *
 * Kept apart from sup_filter.c: asm/unistd_32.h and sys/syscall.h define
 * the same __NR_ names for two ABIs.
 */
#define _GNU_SOURCE 1

#include "supervise.h"

#include <fcntl.h>

#if defined(__x86_64__)
#include <asm/unistd_32.h>

#define SUP_TABLE sup_calls_i386
#define SUP_NTABLE sup_ncalls_i386
#define SUP_ROW_I386(...) __VA_ARGS__
#include "sup_calls_abi.h"

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
