/*
 * test_resolve.c - the real functions found in one pass (preload/resolve.c)
 * are dlsym(RTLD_NEXT)'s, and an interposer preloaded after the shim still
 * comes between the shim and libc.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "e2e.h"
#include "hooks.def"

static const char *const rows[] = { SHIM_HOOKS_ALL(SHIM_ROW_NAME) };
#define NROWS (sizeof rows / sizeof rows[0])

static const char *const resolvecheck_lib = SHMCACHE_TEST_RESOLVECHECK;
static const char *const interposer_lib = SHMCACHE_TEST_INTERPOSER;

/* Runs argv with resolvecheck preloaded (preload: the whole LD_PRELOAD)
 * and returns its summary: walk result and counts. */
static void check_run(struct e2e *t, const char *const argv[],
		      const char *preload, int *walk, size_t *fast)
{
	char env[1024];
	const char *extra[] = { env, NULL };
	struct e2e_out o;
	size_t rows_seen = 0, bad = 1;
	const char *line;

	snprintf(env, sizeof env, "LD_PRELOAD=%s", preload);
	e2e_run(t, E2E_BARE, NULL, argv, extra, &o);
	cr_assert_eq(o.code, 0, "%s: exit %d, stderr %s", argv[0], o.code,
		     o.err);
	line = strstr(o.err, "resolvecheck: walk ");
	cr_assert_not_null(line, "%s: no summary in %s", argv[0], o.err);
	cr_assert_eq(sscanf(line, "resolvecheck: walk %d rows %zu one-pass %zu "
				  "mismatched %zu",
			    walk, &rows_seen, fast, &bad),
		     4, "%s", line);
	cr_expect_eq(rows_seen, NROWS);
	cr_expect_eq(bad, 0, "%s: %s", argv[0], o.err);
}

Test(resolve, one_pass_gives_dlsyms_answer)
{
	struct e2e t;
	const char *const progs[][3] = {
		{ "true", NULL, NULL },
		{ "ls", "/", NULL },
		{ "sh", "-c", "ls / >/dev/null" },
		{ e2e_probe_early, NULL, NULL },
	};

	e2e_init(&t);
	for (size_t i = 0; i < sizeof progs / sizeof progs[0]; i++) {
		int walk = -2;
		size_t fast = 0;

		check_run(&t, progs[i], resolvecheck_lib, &walk, &fast);
		/* the walk vouches for initial objects and finds nearly
		 * every row in libc (the rest: IFUNCs, rows libc lacks) */
		cr_expect_eq(walk, 0, "%s", progs[i][0]);
		cr_expect_gt(fast, NROWS / 2, "%s: %zu", progs[i][0], fast);
	}
	e2e_fini(&t);
}

Test(resolve, a_library_preloaded_after_leaves_it_to_dlsym)
{
	struct e2e t;
	const char *const argv[] = { "true", NULL };
	char preload[1024];
	int walk = -2;
	size_t fast = 1;

	e2e_init(&t);
	snprintf(preload, sizeof preload, "%s:%s", resolvecheck_lib,
		 interposer_lib);
	check_run(&t, argv, preload, &walk, &fast);
	cr_expect_eq(walk, -1);
	cr_expect_eq(fast, 0);
	e2e_fini(&t);
}

Test(resolve, an_interposer_after_the_shim_still_wins)
{
	struct e2e t;
	char preload[1024], mark[400], arg[400];
	const char *extra[] = { preload, mark, NULL };
	const char *argv[] = { e2e_probe, arg, NULL };
	struct e2e_out o;

	e2e_init(&t);
	e2e_write(&t, "f", "x");
	snprintf(preload, sizeof preload, "LD_PRELOAD=%s:%s", e2e_shim,
		 interposer_lib);
	snprintf(mark, sizeof mark, "SHMCACHE_TEST_MARK=%s",
		 e2e_path(&t, "marked"));
	snprintf(arg, sizeof arg, "access:%s", e2e_path(&t, "f"));
	e2e_run(&t, E2E_SHIM, NULL, argv, extra, &o);
	cr_assert_eq(o.code, 0, "%s", o.err);
	cr_expect_eq(access(e2e_path(&t, "marked"), F_OK), 0,
		     "the interposer's access did not run");
	e2e_expect(&t, e2e_path(&t, "f"), CACHE_OP_ACCESS | CACHE_OP_EXISTS);
	e2e_fini(&t);
}
