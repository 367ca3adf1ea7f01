/* stat.c - the stat family: stat/lstat/fstatat (real symbols since glibc
 * 2.33), their *64 forms, statx, and the __xstat family that binaries built
 * against older glibc call.  An empty path (fstatat with AT_EMPTY_PATH) names
 * a descriptor, not a path, and records nothing. */
#include "shim.h"

SHIM_HOOKS_STAT(SHIM_GEN)
