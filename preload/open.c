/* open.c - the open family: open*, __open*_2 (fortified callers), creat*,
 * fopen*, freopen*, opendir.  open's flags decide the bits (shim_open_ops):
 * read / write / create (O_CREAT is recorded as intent: knowing whether the
 * file existed before would take an extra stat) / truncate / opendir. */
#include "shim.h"

SHIM_HOOKS_OPEN(SHIM_GEN)
