/*
 * test_exports.c - libshmcache.so exports exactly the hooked functions of
 * hooks.def (nm -D --defined-only): nothing of ours, of the path cache or
 * of the allocator enters the host program's namespace.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "e2e.h"
#include "hooks.def"

static const char *const hooked[] = { SHIM_HOOKS_ALL(SHIM_ROW_NAME) };
#define NHOOKED (sizeof hooked / sizeof hooked[0])

Test(exports, only_the_hooks)
{
	char cmd[600], line[512];
	int seen[NHOOKED] = { 0 };
	FILE *p;

	snprintf(cmd, sizeof cmd, "nm -D --defined-only '%s'", e2e_shim);
	p = popen(cmd, "r");
	cr_assert_not_null(p);
	while (fgets(line, sizeof line, p) != NULL) {
		char addr[64], type[8], name[256];
		size_t i;

		if (sscanf(line, "%63s %7s %255s", addr, type, name) != 3)
			continue;
		for (i = 0; i < NHOOKED; i++)
			if (strcmp(name, hooked[i]) == 0)
				break;
		cr_expect(i < NHOOKED, "exported but not a hook: %s", name);
		if (i < NHOOKED) {
			cr_expect_str_eq(type, "T", "%s", name);
			seen[i]++;
		}
	}
	cr_expect_eq(pclose(p), 0);
	for (size_t i = 0; i < NHOOKED; i++)
		cr_expect_eq(seen[i], 1, "hook %s exported %d times", hooked[i],
			     seen[i]);
}
