/*
 * sup_calls_x32.c - on x86-64, the trapped system calls of the x32 ABI
 * (64-bit registers, 32-bit pointers: numbers with __X32_SYSCALL_BIT set,
 * seccomp_data.arch AUDIT_ARCH_X86_64): their own numbers
 * (asm/unistd_x32.h), which are the native ones with the bit set except
 * where x32 has a call of its own (execve 520, execveat 545; the native
 * 59 and 322 with the bit set fail ENOSYS and are not trapped).  The
 * arguments are the native ones, pointers zero-extended, so each row is
 * the native row of the same call: the rows of sup_calls.def, by
 * asm/unistd_x32.h's numbers.  The filter traps them by these numbers
 * (sup_filter.c); the supervisor handles them as the native calls
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

#define SUP_TABLE sup_calls_x32
#define SUP_NTABLE sup_ncalls_x32
#define SUP_ROW_I386(...)
#include "sup_calls_abi.h"

_Static_assert(__X32_SYSCALL_BIT == SUP_X32_BIT, "the x32 bit");
const int sup_x32_getdents64 = __NR_getdents64;
const int sup_x32_getdents = __NR_getdents;

#endif /* __x86_64__ */
