/*
 * resolve.h - the real functions behind the hooks, found in one pass over
 * the loader's objects instead of one dlsym(RTLD_NEXT) per name.
 */
#ifndef SHMCACHE_RESOLVE_H
#define SHMCACHE_RESOLVE_H

#include <stddef.h>
#include <stdint.h>

/* The i-th of n names is the string at names + at[i] (an array of chars
 * and offsets, which need no relocation: hooks.def's SHIM_ROW_OFFSET).
 * For each, sets out[i] to what dlsym(RTLD_NEXT, name)
 * called from the object that contains self gives, when the symbol tables
 * alone can say so: the objects after that one in the initial search
 * order, each name's first definition there (defined, global or weak, the
 * unversioned or the one default version, hidden versions skipped).  out[i]
 * is NULL where they cannot: not found, an IFUNC (its resolver is the
 * loader's to call), a unique symbol; the caller asks dlsym for those.
 * Returns 0 with *self_name the file name the loader gave that object (as
 * dladdr's dli_fname), or -1 with every out[i] and *self_name NULL when the
 * set of loaded objects is one this walk cannot vouch for (an object loaded
 * by dlopen or not needed by one before it, another namespace, an unloaded
 * object, an auditor, a table it does not read): then dlsym must answer
 * for every name.
 * audit is LD_AUDIT's value (NULL when unset): an auditor set there sends
 * every name to dlsym.
 * Start-up only: dl_iterate_phdr takes the loader's lock; no
 * allocation; about 2.5 KiB of stack. */
int shim_resolve_next(const void *self, const char *names,
		      const uint16_t *at, size_t n,
		      const char *audit, void **out, const char **self_name);

#endif
