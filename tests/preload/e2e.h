/*
 * e2e.h - helpers of the preload end-to-end tests: a scratch directory, a
 * cache file, running a real program bare or under the built libshmcache.so,
 * and checking what the cache holds afterwards through the ctrie_cache API.
 */
#ifndef SHMCACHE_TEST_E2E_H
#define SHMCACHE_TEST_E2E_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ctrie_cache.h"

struct e2e {
	char root[256];  /* scratch directory (removed at the end)   */
	char work[300];  /* root/work: where programs run            */
	char cache[300]; /* root/c.cache: outside of work            */
	struct cache c;
	bool attached;
};

/* The result of a run: exit code (128+N for a signal), output files. */
struct e2e_out {
	int code;
	char out[8192];
	char err[8192];
	size_t out_len, err_len;
};

enum e2e_mode {
	E2E_BARE,     /* no shim                                        */
	E2E_SHIM,     /* LD_PRELOAD + SHMCACHE_FILE = the test's cache  */
};

/* Skips the calling test when preloading cannot work (ASan build). */
void e2e_skip_if_asan(void);
/* Creates the scratch directory; skips under ASan. */
void e2e_init(struct e2e *t);
void e2e_fini(struct e2e *t);

/* An absolute path under work (rel relative to it); a rotating set of
 * static buffers, valid for a few calls. */
const char *e2e_path(struct e2e *t, const char *rel);
/* Writes a file (creating parent directories) under work. */
void e2e_write(struct e2e *t, const char *rel, const char *text);
void e2e_mkdir(struct e2e *t, const char *rel);

/* Runs argv (argv[0] searched in PATH) in work/subdir (NULL: work).  extra
 * are "VAR=VALUE" strings added to (or, with VAR=, removing from) the
 * environment; NULL-terminated, or NULL. */
void e2e_run(struct e2e *t, enum e2e_mode mode, const char *subdir,
	     const char *const argv[], const char *const extra[],
	     struct e2e_out *o);
/* sh -c cmd, for short. */
void e2e_sh(struct e2e *t, enum e2e_mode mode, const char *cmd,
	    struct e2e_out *o);

/* The cache as recorded: ops of key (0 when absent), its hit count. */
uint64_t e2e_ops(struct e2e *t, const char *key);
uint64_t e2e_count(struct e2e *t, const char *key);
void e2e_stats(struct e2e *t, struct cache_stats *st);
/* Asserts: key present with exactly these bits (operations and
 * outcomes); key absent. */
void e2e_expect(struct e2e *t, const char *key, uint64_t bits);
/* Operation bits of calls that failed, for e2e_expect. */
#define E2E_FAILED(bits) ((uint64_t)(bits) << CACHE_OP_FAILED_SHIFT)
void e2e_absent(struct e2e *t, const char *key);

/* Paths of what meson built. */
extern const char *const e2e_shim;  /* libshmcache.so */
extern const char *const e2e_probe; /* the probe program */
/* The probe linked with userlib, whose constructor runs before ours. */
extern const char *const e2e_probe_early;
extern const char *const e2e_userlib;

/* Runs the probe under the shim with the given arguments (tp: the test's
 * struct e2e, op: its struct e2e_out) and expects it to exit 0, saying
 * its stderr otherwise.  For Criterion tests (cr_expect_eq). */
#define E2E_PROBE(tp, op, ...)                                              \
	do {                                                                \
		const char *argv_[] = { e2e_probe, __VA_ARGS__, NULL };     \
		e2e_run((tp), E2E_SHIM, NULL, argv_, NULL, (op));           \
		cr_expect_eq((op)->code, 0, "probe: %s", (op)->err);        \
	} while (0)

#endif
