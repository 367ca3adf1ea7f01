/* dirops.c - calls that change the namespace: mkdir, rmdir, unlink, rename,
 * link, symlink and their *at forms.  Two-path calls record both paths with
 * the call's outcome; a symlink's target is recorded as what it points to. */
#include "shim.h"

SHIM_HOOKS_DIROPS(SHIM_GEN)
