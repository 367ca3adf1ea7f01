/*
 * run_sandbox.c - sandbox mode for CMD's own exec: `shmcache run` starts
 * CMD itself (the shim is not in run), so each program it tries is decided
 * here as the shim's exec hooks decide theirs (cache_sandbox_decide: the
 * same stored decisions, rules and decision server).  A denied program is
 * not executed: its exec fails with ENOENT (the PATH search goes on, as
 * past a missing file) and the violation is recorded.
 */
#include "cli.h"

#include <stdio.h>
#include <string.h>

static struct cache_sandbox run_sb; /* large: static */
static int run_sb_state;            /* 0 not loaded, 1 a policy, -1 none */

/* The policy of c, loaded on first use (in CMD's child). */
static bool run_sb_on(struct cache *c)
{
	if (run_sb_state == 0) {
		int r = cache_sandbox_init(&run_sb, c);

		if (r != 1 && r != 0)
			cli_warn("the cache's policy is damaged: not enforced");
		run_sb_state = r == 1 ? 1 : -1;
	}
	return run_sb_state == 1;
}

uint64_t run_sandbox_exec_gate(struct cache *c, const char *key)
{
	const char *failure = NULL;
	size_t len = strlen(key);
	uint64_t bits;

	if (c == NULL || key[0] != '/' || !run_sb_on(c))
		return 0;
	bits = cache_sandbox_decide(&run_sb, key, len, &failure);
	if (failure != NULL)
		fprintf(stderr, "shmcache: sandbox: decision server %s%s\n",
			run_sb.policy.server, failure);
	if (!(bits & CACHE_DECIDED_DENY))
		return bits;
	cache_policy_count(c, CACHE_PC_DENIED_CALLS);
	(void)cache_record(c, key, len, cache_sandbox_violation(CACHE_OP_EXEC));
	return RUN_SB_DENY;
}
