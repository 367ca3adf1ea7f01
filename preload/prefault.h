/*
 * prefault.h - this library's code and read-only data mapped in with one
 * system call instead of one page fault per 64 KiB touched.
 */
#ifndef SHMCACHE_PREFAULT_H
#define SHMCACHE_PREFAULT_H

/* Maps in every page of this library's read-only segments after its ELF
 * headers (code, read-only data) from the page cache.  A process touches
 * several 64 KiB windows of them at start-up; each first touch is a page
 * fault, a trap that costs several µs in a VM, where one populating
 * madvise maps them all.  Best effort: without the linker's __ehdr_start,
 * or on a kernel without MADV_POPULATE_READ (Linux < 5.14), the pages
 * fault in as they are touched; elsewhere than Linux it does nothing.
 * Async-signal-safe (getauxval and madvise only); errno unchanged. */
void shim_prefault_text(void);

#endif
