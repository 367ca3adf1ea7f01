/* exec.c - the exec family and posix_spawn: the program is recorded (a name
 * that libc looks up in PATH as named), and the environment regains
 * LD_PRELOAD and SHMCACHE_FILE if it lost them.  glibc's execl*, execvp and
 * posix_spawn call execve internally where no hook sees it, so each of ours
 * calls the real function that takes an environment. */
#include "shim.h"

SHIM_HOOKS_EXEC(SHIM_GEN)
