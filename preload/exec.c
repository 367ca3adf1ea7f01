/* exec.c - the exec family and posix_spawn: the program is recorded (the
 * name posix_spawnp looks up in PATH as named: the search runs in libc's
 * child), and the environment regains LD_PRELOAD and SHMCACHE_FILE if it
 * lost them.  glibc's execl* and posix_spawn call execve internally where
 * no hook sees it, so each of ours calls the real function that takes an
 * environment.  execvp, execvpe and execlp are in pathsearch.c.
 *
 * The program is recorded before the call (success does not return), and
 * again with its outcome when the call fails: a failed exec counts twice.
 *
 * vfork children: a vfork child runs on its parent's stack and shares its
 * memory and thread-local storage.  Recording from it is safe because the
 * recursion guard is held only around our own recording, never across the
 * real exec (which, on success, would leave it set in the parent), and
 * everything it writes (cache entries, the cwd copy) is shared state built
 * to be consistent at every instruction. */
#include "shim.h"

SHIM_HOOKS_EXEC(SHIM_GEN)
