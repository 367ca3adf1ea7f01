/*
 * shm_reserve.c - reserving the file pages of blocks before first use.
 *
 * A sparse page that the filesystem cannot supply raises SIGBUS in the
 * process that touches it.  MADV_POPULATE_WRITE (Linux >= 5.14) faults the
 * pages in for writing from inside the kernel and reports the same failure
 * as an error instead (EFAULT, ENOMEM), so the allocator can treat it as
 * "full".  It is a plain system call: async-signal-safe, no locks.  See
 * "Reserved pages" in shm_layout.h.
 */
#define _DEFAULT_SOURCE /* madvise, MADV_* */

#include <errno.h>
#include <sys/mman.h>
#ifdef __linux__
#include <sys/auxv.h> /* getauxval */
#endif
#include <unistd.h>

#include "shm_hot.h"
#include "shm_layout.h"

#if !defined(MADV_POPULATE_WRITE) && defined(__linux__)
#define MADV_POPULATE_WRITE 23 /* older C library headers */
#endif

/* Page size, set by every open before the arena is used; 4096 until then
 * (a smaller rounding than the real page size only makes madvise refuse
 * with EINVAL, which is taken as "cannot reserve"). */
static _Atomic size_t page_size = 4096;

/* The page size: from the auxiliary vector on Linux, where sysconf's code
 * and tables are libc pages a short process would not otherwise touch
 * (each first touch a page fault). */
static long system_page_size(void)
{
#ifdef __linux__
	unsigned long p = getauxval(AT_PAGESZ);

	if (p != 0)
		return (long)p;
#endif
	return sysconf(_SC_PAGESIZE);
}

void shm_reserve_setup(void)
{
	long ps = system_page_size();
	if (ps > 0 && (ps & (ps - 1)) == 0)
		/* relaxed: the same value in every thread, published with the
		 * arena that needs it */
		atomic_store_explicit(&page_size, (size_t)ps,
				      memory_order_relaxed);
}

#ifdef MADV_POPULATE_WRITE
/* 0, or the errno of madvise on the pages covering [p, end) but those
 * that also cover [.., done): the metadata of the blocks below the
 * watermark, reserved already (so a chunk whose bitmap words share a page
 * with the previous chunk's costs no call for them). */
static int populate(unsigned char *p, unsigned char *end, unsigned char *done)
{
	/* relaxed: see shm_reserve_setup */
	uintptr_t ps = atomic_load_explicit(&page_size, memory_order_relaxed);
	uintptr_t lo = (uintptr_t)p & ~(ps - 1);
	uintptr_t hi = ((uintptr_t)end + ps - 1) & ~(ps - 1);
	uintptr_t have = ((uintptr_t)done + ps - 1) & ~(ps - 1);
	if (done != NULL && have > lo)
		lo = have;
	if (lo >= hi || madvise((void *)lo, hi - lo, MADV_POPULATE_WRITE) == 0)
		return 0;
	return errno;
}
#endif

/* Mappings of a prefix of the file (see "Address-space limit" in
 * shm_arena.c): past their end lies memory that is not the file, which
 * must never be reserved (populated) as if it were.  A few slots: a
 * process maps a file once, and an open that finds no free slot maps the
 * whole file or fails. */
#define SHM_WINDOW_SLOTS 4
static struct {
	_Atomic(unsigned char *) map;
	_Atomic shm_offt blocks;
} windows[SHM_WINDOW_SLOTS];
static SHM_HOT_DATA _Atomic unsigned windows_used;

bool shm_window_add(unsigned char *map, shm_offt blocks)
{
	for (unsigned i = 0; i < SHM_WINDOW_SLOTS; i++) {
		unsigned char *none = NULL;
		/* acq_rel: claims the slot; its bound and the count are
		 * stored next, before the opener publishes the arena that
		 * uses them (with release) */
		if (atomic_compare_exchange_strong_explicit(
			    &windows[i].map, &none, map, memory_order_acq_rel,
			    memory_order_relaxed)) {
			/* relaxed: see the claim */
			atomic_store_explicit(&windows[i].blocks, blocks,
					      memory_order_relaxed);
			/* relaxed: only makes shm_window_blocks look */
			atomic_fetch_add_explicit(&windows_used, 1,
						  memory_order_relaxed);
			return true;
		}
	}
	return false;
}

void shm_window_remove(unsigned char *map)
{
	for (unsigned i = 0; i < SHM_WINDOW_SLOTS; i++) {
		unsigned char *m = map;
		/* acq_rel: releases the slot */
		if (atomic_compare_exchange_strong_explicit(
			    &windows[i].map, &m, NULL, memory_order_acq_rel,
			    memory_order_relaxed)) {
			/* relaxed: see shm_window_add */
			atomic_fetch_sub_explicit(&windows_used, 1,
						  memory_order_relaxed);
			return;
		}
	}
}

shm_offt shm_window_blocks(const unsigned char *map)
{
	/* relaxed: a window is registered before its arena is published,
	 * and the allocations that read it follow that publication */
	if (atomic_load_explicit(&windows_used, memory_order_relaxed) == 0)
		return SHM_NBLOCKS;
	for (unsigned i = 0; i < SHM_WINDOW_SLOTS; i++)
		/* acquire: pairs with the claim in shm_window_add */
		if (atomic_load_explicit(&windows[i].map,
					 memory_order_acquire) == map)
			/* relaxed: stored before the claim */
			return atomic_load_explicit(&windows[i].blocks,
						    memory_order_relaxed);
	return SHM_NBLOCKS;
}

bool shm_reserve_blocks(unsigned char *map, shm_offt b0, shm_offt b1)
{
	/* Beyond a prefix mapping: not the file; fails as full. */
	if (b1 > shm_window_blocks(map))
		return false;
#ifdef MADV_POPULATE_WRITE
	if (b0 >= b1)
		return true;
	int saved = errno, err = 0;
	unsigned char *sum = map + SHM_SUMMARY_OFF;
	unsigned char *words = (unsigned char *)shm_words(map);
	unsigned char *arena = map + SHM_MGMT_SIZE + SHM_NULL_REGION_SIZE;
	size_t l0 = (size_t)b0 / SHM_WORD_BITS;
	size_t l1 = (size_t)(b1 - 1) / SHM_WORD_BITS + 1;
	bool first = b0 == 0;
	/* The metadata first: a block is never taken without its word. */
	err = populate(sum + l0 * 64, sum + l1 * 64,
		       first ? NULL : sum + ((size_t)(b0 - 1) / SHM_WORD_BITS + 1) * 64);
	if (err == 0)
		err = populate(words + (size_t)b0 * sizeof(shm_offt),
			       words + (size_t)b1 * sizeof(shm_offt),
			       first ? NULL : words + (size_t)b0 * sizeof(shm_offt));
	if (err == 0)
		err = populate(arena + (size_t)b0 * SHM_BLOCK_MAX,
			       arena + (size_t)b1 * SHM_BLOCK_MAX,
			       first ? NULL : arena + (size_t)b0 * SHM_BLOCK_MAX);
	errno = saved;
	/* EINVAL: a kernel older than the advice; nothing can be reserved,
	 * the pages are used as they come (the limit in shm_layout.h). */
	return err == 0 || err == EINVAL;
#else
	(void)map;
	(void)b0;
	(void)b1;
	return true;
#endif
}
