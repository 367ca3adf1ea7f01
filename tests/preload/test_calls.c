/*
 * test_calls.c - calls made in controlled ways by the probe program (and a
 * few real programs): relative paths after chdir/fchdir, *at calls with
 * real directory descriptors, long paths, threads, signal handlers, fork,
 * vfork, posix_spawn, exec re-injection, and pass-through when the cache
 * cannot be used.
 */
#define _GNU_SOURCE 1 /* dl_iterate_phdr */
#include <criterion/criterion.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "e2e.h"

#define E CACHE_OP_EXISTS
#define MISSING CACHE_OP_MISSING

static struct e2e t;
static struct e2e_out o;

static void setup(void)
{
	e2e_init(&t);
	e2e_write(&t, "in.txt", "hello\n");
	e2e_write(&t, "untouched.txt", "x\n");
	e2e_write(&t, "d/a.c", "a\n");
	e2e_write(&t, "d/b/b.c", "b\n");
	e2e_write(&t, "d/b/c/c.h", "c\n");
	e2e_write(&t, "noexec.sh", "#!/bin/sh\necho hi\n");
	chmod(e2e_path(&t, "noexec.sh"), 0644);
}

static void teardown(void)
{
	e2e_fini(&t);
}

TestSuite(calls, .init = setup, .fini = teardown, .timeout = 90);

#define PROBE(...) E2E_PROBE(&t, &o, __VA_ARGS__)

Test(calls, relative_after_chdir)
{
	PROBE("chdir:d", "stat:a.c", "stat:../in.txt", "fchdir:b", "stat:b.c",
	      "open:c/c.h", "stat:./c/../../nothere");
	cr_expect(strstr(o.out, "fchdir 0 0") != NULL, "%s", o.out);
	e2e_expect(&t, e2e_path(&t, "d"), CACHE_OP_CHDIR | E);
	e2e_expect(&t, e2e_path(&t, "d/b"),
		   CACHE_OP_OPENDIR | CACHE_OP_CHDIR | E);
	e2e_expect(&t, e2e_path(&t, "d/a.c"), CACHE_OP_STAT | E);
	e2e_expect(&t, e2e_path(&t, "in.txt"), CACHE_OP_STAT | E);
	e2e_expect(&t, e2e_path(&t, "d/b/b.c"), CACHE_OP_STAT | E);
	e2e_expect(&t, e2e_path(&t, "d/b/c/c.h"), CACHE_OP_READ | E);
	e2e_expect(&t, e2e_path(&t, "d/nothere"), E2E_FAILED(CACHE_OP_STAT) | MISSING);
	e2e_absent(&t, e2e_path(&t, "a.c"));
	e2e_absent(&t, e2e_path(&t, "d/d/b"));
	e2e_absent(&t, e2e_path(&t, "b.c"));
}

Test(calls, at_calls_with_dirfds)
{
	PROBE("openat:d:a.c", "fstatat:d/b:b.c", "fstatat:d/b:../nothere",
	      "mkdirat:d:newdir", "unlinkat:d/b/c:c.h",
	      "renameat:d/b:b.c:d:moved.c", "symlinkat:../in.txt:d:lnk",
	      "openat:.:in.txt");
	e2e_expect(&t, e2e_path(&t, "d/a.c"), CACHE_OP_READ | E);
	e2e_expect(&t, e2e_path(&t, "d/b/b.c"),
		   CACHE_OP_STAT | CACHE_OP_RENAME_FROM | E);
	e2e_expect(&t, e2e_path(&t, "d/nothere"), E2E_FAILED(CACHE_OP_STAT) | MISSING);
	e2e_expect(&t, e2e_path(&t, "d/newdir"), CACHE_OP_MKDIR | E);
	e2e_expect(&t, e2e_path(&t, "d/b/c/c.h"), CACHE_OP_UNLINK | E);
	e2e_expect(&t, e2e_path(&t, "d/moved.c"), CACHE_OP_RENAME_TO | E);
	e2e_expect(&t, e2e_path(&t, "d/lnk"),
		   CACHE_OP_SYMLINK | CACHE_OP_CREATE | E);
	e2e_expect(&t, e2e_path(&t, "in.txt"), CACHE_OP_SYMLINK | CACHE_OP_READ | E);
	e2e_absent(&t, e2e_path(&t, "a.c"));
	e2e_absent(&t, e2e_path(&t, "b.c"));
	e2e_absent(&t, e2e_path(&t, "newdir"));
}

Test(calls, reused_descriptors)
{
	/* A descriptor number that closes and comes back (or is dup2'd over)
	 * names its new directory, whichever way it was opened. */
	PROBE("holddir:d", "atheld:a.c", "closeheld", "holddir:d/b",
	      "atheld:b.c", "dup2held:d/b/c", "atheld:c.h", "closeheld",
	      "hold:d", "atheld:x1", "closeheld", "opendirat:d/b:y2",
	      "holddir:.", "atheld:in.txt", "opendirat:d:y3", "atheld:x4");
	e2e_expect(&t, e2e_path(&t, "d/a.c"), CACHE_OP_STAT | E);
	e2e_expect(&t, e2e_path(&t, "d/b/b.c"), CACHE_OP_STAT | E);
	e2e_expect(&t, e2e_path(&t, "d/b/c/c.h"), CACHE_OP_STAT | E);
	e2e_expect(&t, e2e_path(&t, "d/x1"), E2E_FAILED(CACHE_OP_STAT) | MISSING);
	e2e_expect(&t, e2e_path(&t, "d/b/y2"), E2E_FAILED(CACHE_OP_STAT) | MISSING);
	e2e_expect(&t, e2e_path(&t, "in.txt"), CACHE_OP_STAT | E);
	e2e_expect(&t, e2e_path(&t, "d/y3"), E2E_FAILED(CACHE_OP_STAT) | MISSING);
	e2e_expect(&t, e2e_path(&t, "x4"), E2E_FAILED(CACHE_OP_STAT) | MISSING);
	e2e_absent(&t, e2e_path(&t, "d/b.c"));
	e2e_absent(&t, e2e_path(&t, "d/b/c.h"));
	e2e_absent(&t, e2e_path(&t, "d/b/c/x1"));
	e2e_absent(&t, e2e_path(&t, "d/b/c/y2"));
	e2e_absent(&t, e2e_path(&t, "d/in.txt"));
}

Test(calls, duplicated_descriptors)
{
	/* F_DUPFD and dup give a number the meaning of the descriptor
	 * duplicated, even where the number's slot was left stale by a close
	 * the shim could not see. */
	PROBE("dupstale:d:d/b:b.c");
	e2e_expect(&t, e2e_path(&t, "d/probe-stale"), E2E_FAILED(CACHE_OP_STAT) | MISSING);
	e2e_expect(&t, e2e_path(&t, "d/b/b.c"), CACHE_OP_STAT | E);
	e2e_expect(&t, e2e_path(&t, "d/b/probe-dup"), E2E_FAILED(CACHE_OP_STAT) | MISSING);
	e2e_absent(&t, e2e_path(&t, "d/b.c"));
	e2e_absent(&t, e2e_path(&t, "d/probe-dup"));
}

/* A relative path under work whose absolute key is exactly total bytes
 * long, made of components of at most 200 bytes. */
static void long_rel(char *out, size_t total, char fill)
{
	size_t base = strlen(t.work) + 1, n = 0;

	cr_assert(total > base + 2);
	while (base + n < total) {
		size_t left = total - base - n;
		size_t c = left > 200 ? 200 : left;
		if (n > 0) {
			out[n++] = '/';
			c = left - 1 > 200 ? 200 : left - 1;
			if (c == 0) { /* never end on a slash */
				out[n - 1] = fill;
				break;
			}
		}
		memset(out + n, fill, c);
		n += c;
	}
	out[n] = '\0';
	cr_assert_eq(base + n, total);
}

/* readlink handed the path's own buffer to write the target into: the key
 * is the link, made before the call overwrote it. */
Test(calls, readlink_into_the_paths_own_buffer)
{
	char arg[PATH_MAX + 32];

	cr_assert_eq(symlink("no/such/target-of-lnk", e2e_path(&t, "lnk")), 0);
	snprintf(arg, sizeof arg, "readlinkself:%s", e2e_path(&t, "lnk"));
	PROBE(arg);
	cr_expect(strncmp(o.out, "readlinkself 21 0\n", 18) == 0, "%s", o.out);
	e2e_expect(&t, e2e_path(&t, "lnk"), CACHE_OP_READLINK | E);
	e2e_absent(&t, e2e_path(&t, "no/such/target-of-lnk"));
}

/* The cache counted want keys as too long to record. */
static void expect_skipped(uint64_t want)
{
	struct cache_stats st;

	e2e_stats(&t, &st);
	cr_expect_eq(st.skipped_toolong, want, "skipped %llu, want %llu",
		     (unsigned long long)st.skipped_toolong,
		     (unsigned long long)want);
}

Test(calls, long_paths)
{
	static char p4000[4200], pmax[4200], pover[4200], arg[3][4300];
	size_t max = cache_max_key();
	char cmd[9000];

	cr_assert(max + 1 < 4000);
	long_rel(p4000, strlen(t.work) + 1 + 4000, 'a');
	long_rel(pmax, max, 'b');
	long_rel(pover, max + 1, 'c');
	/* The directories of the 4000-byte path exist (mkdir -p does it one
	 * level at a time); its leaf is created by the probe. */
	snprintf(cmd, sizeof cmd, "cd '%s' && mkdir -p \"$(dirname '%s')\"",
		 t.work, p4000);
	cr_assert_eq(system(cmd), 0);
	snprintf(arg[0], sizeof arg[0], "create:%s", p4000);
	snprintf(arg[1], sizeof arg[1], "stat:%s", pover);
	snprintf(arg[2], sizeof arg[2], "stat:%s", pmax);
	PROBE(arg[0], arg[1], arg[2]);
	/* The calls worked (create), or failed as without us (stat). */
	cr_expect(strncmp(o.out, "create 3 0\nstat -1 2\nstat -1 2\n", 40) == 0,
		  "%s", o.out);
	expect_skipped(2);
	e2e_expect(&t, e2e_path(&t, pmax), E2E_FAILED(CACHE_OP_STAT) | MISSING);
	e2e_absent(&t, e2e_path(&t, pover));
}

/* A current directory deeper than any key: a relative path under it cannot
 * be keyed, and is counted as skipped, not silently dropped; an absolute
 * path there is recorded as usual. */
Test(calls, deep_cwd_counts_skipped)
{
	static char deep[2400], arg[3][2500];
	size_t max = cache_max_key();
	char cmd[5200];

	if (max + 100 >= 2000)
		cr_skip_test("keys of %zu bytes: a 2000-byte directory is not "
			     "deeper", max);
	long_rel(deep, strlen(t.work) + 1 + 2000, 'd');
	snprintf(cmd, sizeof cmd, "cd '%s' && mkdir -p '%s'", t.work, deep);
	cr_assert_eq(system(cmd), 0);
	e2e_write(&t, "short", "");
	snprintf(arg[0], sizeof arg[0], "chdir:%s", deep);
	snprintf(arg[1], sizeof arg[1], "stat:relative-here");
	snprintf(arg[2], sizeof arg[2], "stat:%s", e2e_path(&t, "short"));
	PROBE(arg[0], arg[1], arg[2]);
	cr_expect(strncmp(o.out, "chdir 0 0\nstat -1 2\nstat 0 0\n", 30) == 0,
		  "%s", o.out);
	expect_skipped(2); /* the chdir's own path and the relative stat */
	e2e_expect(&t, e2e_path(&t, "short"), CACHE_OP_STAT | E);
}

Test(calls, threads_counters_exact)
{
	char name[32];

	e2e_write(&t, "shared", "");
	PROBE("threads:16:10000:shared:own");
	cr_expect_eq(e2e_count(&t, e2e_path(&t, "shared")), 160000);
	e2e_expect(&t, e2e_path(&t, "shared"), CACHE_OP_STAT | E);
	for (int i = 0; i < 16; i++) {
		snprintf(name, sizeof name, "own%d", i);
		cr_expect_eq(e2e_count(&t, e2e_path(&t, name)), 10000, "%s",
			     name);
		e2e_expect(&t, e2e_path(&t, name), E2E_FAILED(CACHE_OP_STAT) | MISSING);
	}
}

Test(calls, signal_handler_calls)
{
	long loops = 0;
	uint64_t h;

	e2e_write(&t, "main.txt", "");
	e2e_write(&t, "handler.txt", "");
	PROBE("signals:3000:main.txt:handler.txt");
	cr_assert_eq(sscanf(o.out, "signals %ld", &loops), 1, "%s", o.out);
	/* Every call is recorded, open + stat per loop and per handler run,
	 * also when the handler interrupts a recording in progress. */
	cr_expect_eq(e2e_count(&t, e2e_path(&t, "main.txt")), 2 * (uint64_t)loops);
	h = e2e_count(&t, e2e_path(&t, "handler.txt"));
	cr_expect_eq(h, 6000, "handler records %llu", (unsigned long long)h);
}

Test(calls, fork_and_vfork)
{
	PROBE("fork:child.txt", "vfork:/bin/cat:in.txt", "stat:after.txt");
	cr_expect(strstr(o.out, "hello\n") != NULL, "%s", o.out);
	e2e_expect(&t, e2e_path(&t, "child.txt"), E2E_FAILED(CACHE_OP_STAT) | MISSING);
	e2e_expect(&t, e2e_path(&t, "in.txt"), CACHE_OP_READ | E);
	e2e_expect(&t, "/bin/cat", CACHE_OP_EXEC | E);
	/* The parent still records after its vfork child exec'd. */
	e2e_expect(&t, e2e_path(&t, "after.txt"), E2E_FAILED(CACHE_OP_STAT) | MISSING);
}

Test(calls, posix_spawn_empty_env)
{
	PROBE("spawn-noenv:/bin/cat:in.txt");
	cr_expect(strstr(o.out, "hello\n") != NULL, "%s", o.out);
	e2e_expect(&t, "/bin/cat", CACHE_OP_EXEC | E);
	e2e_expect(&t, e2e_path(&t, "in.txt"), CACHE_OP_READ | E);
}

Test(calls, env_i_reinjection)
{
	const char *argv[] = { "env", "-i", "/bin/cat", "in.txt", NULL };

	e2e_run(&t, E2E_SHIM, NULL, argv, NULL, &o);
	cr_expect_eq(o.code, 0);
	cr_expect_str_eq(o.out, "hello\n");
	e2e_expect(&t, e2e_path(&t, "in.txt"), CACHE_OP_READ | E);
}

Test(calls, user_preload_kept)
{
	char var[600];

	snprintf(var, sizeof var, "LD_PRELOAD=%s", e2e_userlib);
	/* An empty environment gets both variables back. */
	PROBE("exec-env:" SHMCACHE_TEST_PROBE ":showenv");
	{
		char want[1200];
		snprintf(want, sizeof want, "LD_PRELOAD=%s\nSHMCACHE_FILE=%s\nshowenv -1 2\n",
			 e2e_shim, t.cache);
		cr_expect_str_eq(o.out, want);
	}
	{
		char a[900];
		const char *argv[] = { e2e_probe, a, NULL };
		snprintf(a, sizeof a, "exec-env:%s:showenv:%s", e2e_probe, var);
		e2e_run(&t, E2E_SHIM, NULL, argv, NULL, &o);
	}
	{
		char want[1200];
		snprintf(want, sizeof want, "LD_PRELOAD=%s:%s\nSHMCACHE_FILE=%s\nshowenv -1 2\n",
			 e2e_userlib, e2e_shim, t.cache);
		cr_expect_str_eq(o.out, want);
	}
	e2e_expect(&t, e2e_path(&t, "showenv.txt"), E2E_FAILED(CACHE_OP_STAT) | MISSING);
}

Test(calls, execlp_search_and_denied)
{
	PROBE("setpath:/nonexistent-shmcache:/bin", "execlp:cat:in.txt");
	cr_expect_str_eq(o.out, "setpath 0 0\nhello\n");
	/* The PATH search is the shim's: each candidate, not the name. */
	e2e_expect(&t, "/nonexistent-shmcache/cat",
		   CACHE_OP_EXEC | E2E_FAILED(CACHE_OP_EXEC) | MISSING);
	e2e_expect(&t, "/bin/cat", CACHE_OP_EXEC | E);
	e2e_absent(&t, "cat");
	e2e_expect(&t, e2e_path(&t, "in.txt"), CACHE_OP_READ | E);
	PROBE("exec-env:./noexec.sh:x");
	cr_expect_str_eq(o.out, "exec-env -1 13\n");
	e2e_expect(&t, e2e_path(&t, "noexec.sh"),
		   CACHE_OP_EXEC | E2E_FAILED(CACHE_OP_EXEC) | CACHE_OP_DENIED);
}

static void run_cat(const char *const extra[])
{
	const char *argv[] = { "cat", "in.txt", NULL };

	e2e_run(&t, E2E_SHIM, NULL, argv, extra, &o);
	cr_expect_eq(o.code, 0);
	cr_expect_str_eq(o.out, "hello\n");
}

Test(calls, pass_through)
{
	struct stat st;
	char junk[400], var[450];
	const char *unset[] = { "SHMCACHE_FILE=", "SHMCACHE_DEBUG=1", NULL };
	const char *nodir[] = { "SHMCACHE_FILE=/nonexistent-dir/x.cache", NULL };
	const char *nodir_dbg[] = { "SHMCACHE_FILE=/nonexistent-dir/x.cache",
				    "SHMCACHE_DEBUG=1", NULL };
	const char *bad[] = { var, NULL };

	/* Unset: nothing said even with the debug knob, nothing created. */
	run_cat(unset);
	cr_expect_str_eq(o.err, "");
	cr_expect_neq(stat(t.cache, &st), 0);
	/* A file that cannot be made: silent, unless asked. */
	run_cat(nodir);
	cr_expect_str_eq(o.err, "");
	run_cat(nodir_dbg);
	cr_expect(strncmp(o.err, "shmcache: ", 10) == 0 &&
		  strchr(o.err, '\n') == o.err + strlen(o.err) - 1,
		  "one line expected: [%s]", o.err);
	/* A file that is not a cache: left as it was. */
	snprintf(junk, sizeof junk, "%s/junk", t.root);
	snprintf(var, sizeof var, "SHMCACHE_FILE=%s", junk);
	{
		FILE *f = fopen(junk, "w");
		cr_assert_not_null(f);
		for (int i = 0; i < 1000; i++)
			fputs("not a cache file\n", f);
		fclose(f);
		chmod(junk, 0600);
	}
	run_cat(bad);
	cr_expect_str_eq(o.err, "");
	cr_expect_eq(stat(junk, &st), 0);
	cr_expect_eq(st.st_size, 17000);
}

Test(calls, hook_before_constructor)
{
	char preload[900], open_var[400];
	const char *extra[] = { preload, open_var, NULL };
	const char *argv[] = { "cat", "in.txt", NULL };

	/* The last library of LD_PRELOAD is initialised first. */
	snprintf(preload, sizeof preload, "LD_PRELOAD=%s:%s", e2e_shim,
		 e2e_userlib);
	snprintf(open_var, sizeof open_var, "USERLIB_OPEN=%s",
		 e2e_path(&t, "early.txt"));
	e2e_write(&t, "early.txt", "x\n");
	e2e_run(&t, E2E_SHIM, NULL, argv, extra, &o);
	cr_expect_eq(o.code, 0, "%s", o.err);
	cr_expect_str_eq(o.out, "early-open-ok\nhello\n");
	/* The first hooked call starts the shim: nothing is lost. */
	cr_expect_eq(e2e_ops(&t, e2e_path(&t, "early.txt")),
		     CACHE_OP_READ | E);
	e2e_expect(&t, e2e_path(&t, "in.txt"), CACHE_OP_READ | E);
}

/* A relative SHMCACHE_FILE names one file for the whole job: the first
 * process makes it absolute in its environment, so a child that starts in
 * another directory, and the environment an exec re-injects after env -i,
 * name the same file. */
Test(calls, relative_cache_file_after_cd)
{
	const char *extra[] = { "SHMCACHE_FILE=../c.cache", NULL };
	const char *argv[] = {
		"sh", "-c",
		"cd d && cat ../in.txt >/dev/null && printenv SHMCACHE_FILE && "
		"env -i /bin/sh -c 'cat a.c >/dev/null; printenv SHMCACHE_FILE'",
		NULL
	};
	char want[700];
	struct stat st;

	e2e_run(&t, E2E_SHIM, NULL, argv, extra, &o);
	cr_expect_eq(o.code, 0, "%s", o.err);
	/* made absolute, not folded: the kernel resolves ".." after links */
	snprintf(want, sizeof want, "%s/../c.cache\n%s/../c.cache\n", t.work,
		 t.work);
	cr_expect_str_eq(o.out, want);
	cr_expect_neq(stat(e2e_path(&t, "c.cache"), &st), 0,
		      "a second cache file was made in the work directory");
	e2e_expect(&t, e2e_path(&t, "in.txt"), CACHE_OP_READ | E);
	e2e_expect(&t, e2e_path(&t, "d/a.c"), CACHE_OP_READ | E);
}

/* A program that execs with the relative name it was started with (an
 * environment of its own making) passes on the absolute name. */
Test(calls, relative_cache_file_in_own_environment)
{
	const char *extra[] = { "SHMCACHE_FILE=../c.cache", NULL };
	const char *argv[] = {
		e2e_probe, "chdir:d",
		"exec-env:/usr/bin/printenv:SHMCACHE_FILE:SHMCACHE_FILE=../c.cache",
		NULL
	};
	char want[700];

	e2e_run(&t, E2E_SHIM, NULL, argv, extra, &o);
	cr_expect_eq(o.code, 0, "%s", o.err);
	snprintf(want, sizeof want, "chdir 0 0\n%s/../c.cache\n", t.work);
	cr_expect_str_eq(o.out, want);
	e2e_expect(&t, "/usr/bin/printenv", CACHE_OP_EXEC | E);
}

/* Another cache file the program names itself is left as it is, when only
 * LD_PRELOAD is put back. */
Test(calls, own_cache_file_kept)
{
	char op[700], want[700];
	const char *argv[] = { e2e_probe, op, NULL };

	snprintf(op, sizeof op,
		 "exec-env:/usr/bin/printenv:SHMCACHE_FILE:SHMCACHE_FILE=%s",
		 e2e_path(&t, "other.cache"));
	e2e_run(&t, E2E_SHIM, NULL, argv, NULL, &o);
	cr_expect_eq(o.code, 0, "%s", o.err);
	snprintf(want, sizeof want, "%s\n", e2e_path(&t, "other.cache"));
	cr_expect_str_eq(o.out, want);
}

/* The name of the first object in this process whose name holds part:
 * the probe links the same libc. */
static int find_object(struct dl_phdr_info *info, size_t size, void *data)
{
	const char **want = data;

	(void)size;
	if (info->dlpi_name != NULL && strstr(info->dlpi_name, want[0])) {
		want[1] = info->dlpi_name;
		return 1;
	}
	return 0;
}

/* The objects the loader maps are recorded with load: at start-up (libc),
 * after a dlopen by path, and (a bare name, which the wrapper passes on as
 * a tail call so that the probe's own RUNPATH finds it) at exit.  Nothing
 * of the shim itself is recorded. */
Test(calls, loaded_objects)
{
	const char *libc[2] = { "libc.so", NULL };
	char bypath[600];
	const char *base = strrchr(e2e_userlib, '/') + 1;

	dl_iterate_phdr(find_object, libc);
	cr_assert_not_null(libc[1]);
	snprintf(bypath, sizeof bypath, "dlopen:%s", e2e_userlib);
	PROBE(bypath);
	cr_expect_str_eq(o.out, "dlopen 0 0\n", "%s", o.err);
	e2e_expect(&t, libc[1], CACHE_OP_LOAD | E);
	e2e_expect(&t, e2e_userlib, CACHE_OP_LOAD | E);
	e2e_absent(&t, e2e_shim);
	e2e_fini(&t);
	e2e_init(&t);
	{
		char bare[300];
		snprintf(bare, sizeof bare, "dlopen:%s", base);
		PROBE(bare);
	}
	cr_expect_str_eq(o.out, "dlopen 0 0\n", "%s", o.err);
	e2e_expect(&t, e2e_userlib, CACHE_OP_LOAD | E);
}

/* With the audit module (run --audit-loader), the places the loader tried
 * in vain are recorded too: an empty LD_LIBRARY_PATH directory comes before
 * the probe's RUNPATH, which has the object. */
Test(calls, loader_search_audited)
{
	char audit[600], ldaudit[620], libpath[400], bare[300], miss[500];
	const char *extra[] = { ldaudit, libpath, NULL };
	const char *base = strrchr(e2e_userlib, '/') + 1;
	const char *argv[] = { e2e_probe, bare, NULL };

	snprintf(audit, sizeof audit, "%.*s/libshmcache-audit.so",
		 (int)(strrchr(e2e_shim, '/') - e2e_shim), e2e_shim);
	snprintf(ldaudit, sizeof ldaudit, "LD_AUDIT=%s", audit);
	snprintf(libpath, sizeof libpath, "LD_LIBRARY_PATH=%s",
		 e2e_path(&t, "d"));
	snprintf(bare, sizeof bare, "dlopen:%s", base);
	snprintf(miss, sizeof miss, "%s/%s", e2e_path(&t, "d"), base);
	e2e_run(&t, E2E_SHIM, NULL, argv, extra, &o);
	cr_expect_str_eq(o.out, "dlopen 0 0\n", "%s", o.err);
	e2e_expect(&t, miss, E2E_FAILED(CACHE_OP_LOAD) | MISSING);
	e2e_expect(&t, e2e_userlib, CACHE_OP_LOAD | E);
}

/* SHMCACHE_AUDIT: an exec with an environment that lost LD_AUDIT gets it
 * back (with SHMCACHE_AUDIT), naming the audit module beside the shim. */
Test(calls, audit_reinjected)
{
	const char *extra[] = { "SHMCACHE_AUDIT=1", NULL };
	const char *argv[] = {
		e2e_probe, "exec-env:/usr/bin/printenv:LD_AUDIT:X=1", NULL
	};
	char want[700];

	e2e_run(&t, E2E_SHIM, NULL, argv, extra, &o);
	cr_expect_eq(o.code, 0, "%s", o.err);
	snprintf(want, sizeof want, "%.*s/libshmcache-audit.so\n",
		 (int)(strrchr(e2e_shim, '/') - e2e_shim), e2e_shim);
	cr_expect_str_eq(o.out, want);
}

/* A library the program needs is initialised before the preloaded shim
 * (libselinux reads /etc/selinux/config so in ls, cp, git). */
Test(calls, needed_library_constructor)
{
	char open_var[400];
	const char *extra[] = { open_var, NULL };
	const char *argv[] = { e2e_probe_early, "stat:in.txt", NULL };

	snprintf(open_var, sizeof open_var, "USERLIB_OPEN=%s",
		 e2e_path(&t, "early.txt"));
	e2e_write(&t, "early.txt", "x\n");
	e2e_run(&t, E2E_SHIM, NULL, argv, extra, &o);
	cr_expect_eq(o.code, 0, "%s", o.err);
	cr_expect_str_eq(o.out, "early-open-ok\nstat 0 0\n");
	cr_expect_eq(e2e_ops(&t, e2e_path(&t, "early.txt")),
		     CACHE_OP_READ | E);
	cr_expect_eq(e2e_ops(&t, e2e_path(&t, "in.txt")), CACHE_OP_STAT | E);
}
