/*
 * test_efault.c - a path the program passes that cannot be read gets
 * exactly libc's result under the shim, in every hook of hooks.def, never a
 * crash (efault_probe.c makes the calls: (char *)1, a string that runs into
 * a PROT_NONE page, and for exec an environment that cannot be read).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "e2e.h"

#ifndef SHMCACHE_TEST_EFAULT_PROBE
#error "meson passes the probe's path"
#endif

/* Reads the whole file into buf (NUL-terminated); returns its length. */
static size_t slurp_file(const char *path, char *buf, size_t cap)
{
	FILE *f = fopen(path, "r");
	size_t n;

	cr_assert_not_null(f, "%s", path);
	n = fread(buf, 1, cap - 1, f);
	cr_assert(feof(f), "%s is larger than the test's buffer", path);
	fclose(f);
	buf[n] = '\0';
	return n;
}

Test(efault, bad_paths_get_libcs_result)
{
	static char bare[1 << 16], shim[1 << 16];
	const char *argv[] = { SHMCACHE_TEST_EFAULT_PROBE, "efault.out", NULL };
	struct e2e t;
	struct e2e_out o;
	char *bl, *sl, *bsave, *ssave;
	int lines = 0;
	struct cache_stats st;

	e2e_init(&t);
	e2e_mkdir(&t, "bare");
	e2e_mkdir(&t, "shim");
	e2e_run(&t, E2E_BARE, "bare", argv, NULL, &o);
	cr_assert_eq(o.code, 0, "bare probe: %s", o.err);
	e2e_run(&t, E2E_SHIM, "shim", argv, NULL, &o);
	cr_assert_eq(o.code, 0, "traced probe: %s", o.err);
	/* the traced run was recorded */
	e2e_expect(&t, e2e_path(&t, "shim/efault-done"),
		   E2E_FAILED(CACHE_OP_ACCESS) | CACHE_OP_MISSING);
	e2e_expect(&t, e2e_path(&t, "shim/efault-rel"),
		   E2E_FAILED(CACHE_OP_ACCESS) | CACHE_OP_FAILED);

	slurp_file(e2e_path(&t, "bare/efault.out"), bare, sizeof bare);
	slurp_file(e2e_path(&t, "shim/efault.out"), shim, sizeof shim);
	bl = strtok_r(bare, "\n", &bsave);
	sl = strtok_r(shim, "\n", &ssave);
	while (bl != NULL && sl != NULL) {
		cr_expect_str_eq(sl, bl, "traced: %s, bare: %s", sl, bl);
		lines++;
		bl = strtok_r(NULL, "\n", &bsave);
		sl = strtok_r(NULL, "\n", &ssave);
	}
	cr_expect(bl == NULL && sl == NULL, "the runs made different calls");
	/* Every path row is there: three kinds of bad path each. */
	cr_expect_gt(lines, 150, "only %d calls made", lines);
	/* A path that cannot be read is counted as a record lost. */
	e2e_stats(&t, &st);
	cr_expect_gt(st.skipped_toolong, 0);
	e2e_fini(&t);
}
