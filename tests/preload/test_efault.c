/*
 * test_efault.c - a path the program passes that cannot be read gets
 * exactly libc's result under the shim, in every hook of hooks.def, never a
 * crash (efault_probe.c makes the calls: (char *)1, a string that runs into
 * a PROT_NONE page, and for exec an environment that cannot be read); also
 * in sandbox mode, where every path is read before the real call.
 */
#include <criterion/criterion.h>
#include <stdbool.h>
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

/* Writes a policy into t's cache before the traced run, so that the shim
 * runs in sandbox mode: every key is then made before the real call, each
 * path read without faulting first.  The rule denies a directory the probe
 * never names. */
static void store_policy(struct e2e *t)
{
	static struct cache_policy p;
	struct cache c;
	const char *why = NULL;
	int r;

	memset(&p, 0, sizeof p);
	p.dflt = CACHE_VERDICT_ALLOW;
	cr_assert_eq(cache_policy_add(&p, CACHE_VERDICT_DENY,
				      e2e_path(t, "denied"), &why),
		     0, "%s", why);
	r = cache_attach(&c, t->cache, CACHE_ATTACH_CREATE);
	cr_assert_eq(r, CACHE_OK, "%s", cache_strerror(r));
	cr_assert_eq(cache_policy_store(&c, &p), CACHE_OK);
	cache_detach(&c);
}

/* Runs the probe bare and traced (in sandbox mode with sandbox) and
 * compares their outcomes line by line. */
static void bad_paths(bool sandbox)
{
	static char bare[1 << 16], shim[1 << 16];
	const char *argv[] = { SHMCACHE_TEST_EFAULT_PROBE, "efault.out", NULL };
	struct e2e t;
	struct e2e_out o;
	char *bl, *sl, *bsave, *ssave;
	int lines = 0;
	struct cache_stats st;
	uint64_t decided = sandbox ? CACHE_DECIDED_ALLOW : 0;

	e2e_init(&t);
	e2e_mkdir(&t, "bare");
	e2e_mkdir(&t, "shim");
	if (sandbox)
		store_policy(&t);
	e2e_run(&t, E2E_BARE, "bare", argv, NULL, &o);
	cr_assert_eq(o.code, 0, "bare probe: %s", o.err);
	e2e_run(&t, E2E_SHIM, "shim", argv, NULL, &o);
	cr_assert_eq(o.code, 0, "traced probe: %s", o.err);
	/* the traced run was recorded (with its decision in sandbox mode) */
	e2e_expect(&t, e2e_path(&t, "shim/efault-done"),
		   E2E_FAILED(CACHE_OP_ACCESS) | CACHE_OP_MISSING | decided);
	e2e_expect(&t, e2e_path(&t, "shim/efault-rel"),
		   E2E_FAILED(CACHE_OP_ACCESS) | CACHE_OP_FAILED | decided);

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

Test(efault, bad_paths_get_libcs_result)
{
	bad_paths(false);
}

Test(efault, bad_paths_get_libcs_result_in_sandbox_mode)
{
	bad_paths(true);
}
