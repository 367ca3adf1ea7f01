/*
 * shm_hot.h - one section for the variables that a short process writes.
 *
 * Every page of a library's .data and .bss that a process first touches is
 * a page fault (a trap: several µs in a VM), in each process and again in
 * each forked child that writes it.  A process started under the shim
 * writes a few hundred bytes of state (the real functions, the cache
 * handle, the strings saved for exec, the fork count) while large tables
 * (the fd-path table, the sandbox's policy) stay untouched until used.
 * SHM_HOT_DATA puts a variable in the section "shmcache_hot": the linker
 * gathers it from every object into one output section after .data and
 * before .bss, next to the GOT that relocation writes anyway, so that the
 * hot state shares the pages the loader has faulted in already.
 *
 * Small, with nothing in it that a short process does not write: the
 * shim's share (~1.8 KiB) fits, with the GOT's tail and the start of .bss,
 * in the one page that relocation and the loader's clearing of .bss touch
 * anyway; each KiB more may cost every process a page fault (the start-up
 * benchmark counts them; test preload-hot-page fails when the page
 * overflows).
 *
 * SHM_FORK_DATA is for what the fork handlers write in the child: a
 * section of its own (the linker keeps it after shmcache_hot), so that a
 * fork copies one page for them, not one per object they come from.
 *
 * Only for writable variables, never _Thread_local or const ones (one
 * section has one set of flags).  Elsewhere than ELF it is nothing.
 */
#ifndef SHM_HOT_H
#define SHM_HOT_H

#if defined(__ELF__)
#define SHM_HOT_DATA __attribute__((section("shmcache_hot")))
#define SHM_FORK_DATA __attribute__((section("shmcache_hot_fork")))
#else
#define SHM_HOT_DATA
#define SHM_FORK_DATA
#endif

#endif
