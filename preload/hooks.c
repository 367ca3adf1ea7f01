/*
 * hooks.c - the wrappers of the families whose rows need no helper code
 * of their own: every row of these lists becomes its wrapper through
 * SHIM_GEN (hook_gen.h).  What each family holds, and why, is said above
 * its rows in hooks.def.  The other families are expanded beside their
 * helpers: realpath.c, pathsearch.c, shell.c, tmpfile.c, loader.c.
 */
#include "shim.h"

SHIM_HOOKS_OPEN(SHIM_GEN)
SHIM_HOOKS_STAT(SHIM_GEN)
SHIM_HOOKS_ACCESS(SHIM_GEN)
SHIM_HOOKS_DIROPS(SHIM_GEN)
SHIM_HOOKS_ATTR(SHIM_GEN)
SHIM_HOOKS_EXEC(SHIM_GEN)
