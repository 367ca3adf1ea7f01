/* access.c - questions about a path: access, faccessat, euidaccess, eaccess,
 * readlink, readlinkat, realpath (recorded as a stat of the path named). */
#include "shim.h"

SHIM_HOOKS_ACCESS(SHIM_GEN)
