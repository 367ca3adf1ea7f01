/*
 * resolvecheck.c - a test library, preloaded into a program, that compares
 * for every row of hooks.def what shim_resolve_next (preload/resolve.c,
 * compiled in here: the shim exports nothing but its hooks) gives with
 * what dlsym(RTLD_NEXT) gives from the same object.  Its constructor
 * prints one line per disagreement and a summary:
 *   resolvecheck: walk W rows N one-pass F mismatched M
 * (a wrong name of its own object counts as a mismatch;
 * W: 0 when the walk vouched for the loaded objects, -1 when it left
 * every name to dlsym).
 */
#define _GNU_SOURCE 1
#include <dlfcn.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "hooks.def"
#include "resolve.h"

static const char *const names[] = { SHIM_HOOKS_ALL(SHIM_ROW_NAME) };
struct shim_row_names {
	SHIM_HOOKS_ALL(SHIM_ROW_FIELD)
};
static const struct shim_row_names packed = { SHIM_HOOKS_ALL(SHIM_ROW_NAME) };
static const uint16_t packed_at[] = { SHIM_HOOKS_ALL(SHIM_ROW_OFFSET) };
#define NROWS (sizeof names / sizeof names[0])

__attribute__((constructor)) static void resolvecheck(void)
{
	void *fast[NROWS];
	size_t nfast = 0, bad = 0;
	const char *self = NULL;
	Dl_info info;
	int walk = shim_resolve_next((const void *)resolvecheck,
				     (const char *)&packed, packed_at, NROWS,
				     getenv("LD_AUDIT"), fast, &self);

	for (size_t i = 0; i < NROWS; i++) {
		void *slow = dlsym(RTLD_NEXT, names[i]);

		if (fast[i] == NULL)
			continue;
		nfast++;
		if (fast[i] != slow) {
			bad++;
			fprintf(stderr, "resolvecheck: %s one-pass %p dlsym %p\n",
				names[i], fast[i], slow);
		}
	}
	if (walk == 0 && (dladdr((const void *)resolvecheck, &info) == 0 ||
			  info.dli_fname != self)) {
		bad++;
		fprintf(stderr, "resolvecheck: own name %s, dladdr's %s\n",
			self, info.dli_fname);
	}
	fprintf(stderr, "resolvecheck: walk %d rows %zu one-pass %zu mismatched %zu\n",
		walk, NROWS, nfast, bad);
}
