/* Stub of Darwin's <crt_externs.h> for scripts/check-macos: the one
 * declaration shmcache uses, as the macOS SDK declares it. */
#ifndef SHMCACHE_STUB_CRT_EXTERNS_H
#define SHMCACHE_STUB_CRT_EXTERNS_H
#pragma GCC system_header
extern char ***_NSGetEnviron(void);
#endif
