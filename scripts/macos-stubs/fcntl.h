/* Stub of Darwin's <fcntl.h> for scripts/check-macos: the host's header
 * plus the Darwin-only command shmcache uses (value as in the macOS SDK). */
#pragma GCC system_header
#include_next <fcntl.h>
#ifndef F_GETPATH
#define F_GETPATH 50
#endif
