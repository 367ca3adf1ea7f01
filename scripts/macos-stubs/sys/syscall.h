/* Stub of Darwin's <sys/syscall.h> for scripts/check-macos: the host's
 * header without the Linux-only numbers our sources might reach for
 * (Darwin has SYS_pread, not SYS_pread64). */
#pragma GCC system_header
#include_next <sys/syscall.h>
#undef SYS_pread64
