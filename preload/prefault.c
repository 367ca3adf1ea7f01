/*
 * prefault.c - shim_prefault_text (prefault.h).  Our program headers are
 * found through the ELF header the linker names __ehdr_start (GNU ld,
 * gold, lld): no loader call, so this runs first in start-up.
 */
#define _GNU_SOURCE 1 /* MADV_POPULATE_READ where the headers have it */
#include "prefault.h"

#ifdef __linux__

#include <errno.h>
#include <link.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/auxv.h>
#include <sys/mman.h>

/* The Linux 5.14 value, for older headers: an older kernel refuses it. */
#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif

/* Our own ELF header, mapped with the first segment; weak: a linker that
 * does not define it leaves its address 0. */
extern const ElfW(Ehdr) __ehdr_start __attribute__((weak, visibility("hidden")));

/* [*lo, *hi): the non-writable segments, page-aligned; 0 when the headers
 * do not say.  The one holding the ELF header is included: linked with
 * -z noseparate-code it holds our text too (pages the loader has mapped
 * already cost the madvise almost nothing). */
static __attribute__((cold)) int prefault_bounds(uintptr_t page, uintptr_t *lo,
						 uintptr_t *hi)
{
	const ElfW(Ehdr) *e = &__ehdr_start;
	const ElfW(Phdr) *ph;
	uintptr_t bias = 0;
	int have_bias = 0;

	if (e == NULL || e->e_phentsize != sizeof *ph)
		return 0;
	ph = (const ElfW(Phdr) *)(const void *)((const char *)e + e->e_phoff);
	for (ElfW(Half) i = 0; i < e->e_phnum; i++)
		if (ph[i].p_type == PT_LOAD && ph[i].p_offset == 0) {
			bias = (uintptr_t)e - (uintptr_t)ph[i].p_vaddr;
			have_bias = 1;
		}
	if (!have_bias)
		return 0;
	*lo = UINTPTR_MAX;
	*hi = 0;
	for (ElfW(Half) i = 0; i < e->e_phnum; i++) {
		uintptr_t a = bias + (uintptr_t)ph[i].p_vaddr;

		if (ph[i].p_type != PT_LOAD || (ph[i].p_flags & PF_W))
			continue;
		if (a < *lo)
			*lo = a;
		if (a + ph[i].p_memsz > *hi)
			*hi = a + ph[i].p_memsz;
	}
	if (*lo >= *hi)
		return 0;
	*lo &= ~(page - 1);
	*hi = (*hi + page - 1) & ~(page - 1);
	return 1;
}

__attribute__((cold)) void shim_prefault_text(void)
{
	uintptr_t page = (uintptr_t)getauxval(AT_PAGESZ);
	uintptr_t lo, hi;
	int e = errno;

	if (page == 0 || (page & (page - 1)) != 0)
		page = 4096;
	/* best effort: refused, the pages fault in as they are touched */
	if (prefault_bounds(page, &lo, &hi))
		(void)madvise((void *)lo, hi - lo, MADV_POPULATE_READ);
	errno = e;
}
#else
void shim_prefault_text(void)
{
}
#endif
