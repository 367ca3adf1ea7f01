/* attr.c - chdir/fchdir (which also invalidate the cwd copy), truncate,
 * chmod, chown, utime*, mknod, mkfifo and their *at forms. */
#include "shim.h"

SHIM_HOOKS_ATTR(SHIM_GEN)
