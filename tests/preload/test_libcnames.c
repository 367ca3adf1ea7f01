/*
 * test_libcnames.c - paths that glibc names for a program through internal
 * calls, which the shim makes itself or records around the call: realpath's
 * components (compared with glibc's own realpath, result, errno and system
 * calls), the PATH search of execvp, the shell of system and popen, and the
 * names of temporary files.  Every expectation is the exact set of bits.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "e2e.h"

#define E CACHE_OP_EXISTS
#define MISSING CACHE_OP_MISSING
#define DENIED CACHE_OP_DENIED
#define FAILED CACHE_OP_FAILED
#define RL CACHE_OP_READLINK
#define X CACHE_OP_EXEC

static const char *const e2e_rpdiff = SHMCACHE_TEST_RPDIFF;

static struct e2e t;
static struct e2e_out o;

static void link_at(const char *target, const char *rel)
{
	cr_assert_eq(symlink(target, e2e_path(&t, rel)), 0, "symlink %s", rel);
}

static void setup(void)
{
	char name[64], next[64], longt[1600];
	size_t n = 0;

	e2e_init(&t);
	e2e_write(&t, "a/b/c/f.txt", "f\n");
	link_at("a/b", "l_rel");
	link_at(e2e_path(&t, "a"), "l_abs");
	link_at("../work/a/b/c", "l_up");
	link_at("loop2", "loop1");
	link_at("loop1", "loop2");
	link_at("nothere", "dangling");
	link_at("a/b/c/f.txt", "l_file");
	/* ch0 -> ch1 -> ... -> ch41 -> a: 42 links, ch2 41, ch3 40 */
	for (int i = 0; i <= 41; i++) {
		snprintf(name, sizeof name, "ch%d", i);
		snprintf(next, sizeof next, i == 41 ? "a" : "ch%d", i + 1);
		link_at(next, name);
	}
	/* a target longer than readlink's first 1023-byte buffer */
	n += (size_t)snprintf(longt, sizeof longt, "a/");
	while (n < 1500)
		n += (size_t)snprintf(longt + n, sizeof longt - n, "./");
	snprintf(longt + n, sizeof longt - n, "b");
	link_at(longt, "l_long");
	e2e_mkdir(&t, "locked/in");
	chmod(e2e_path(&t, "locked"), 0);
}

static void teardown(void)
{
	chmod(e2e_path(&t, "locked"), 0755);
	e2e_fini(&t);
}

TestSuite(libcnames, .init = setup, .fini = teardown, .timeout = 120);

static void expect_ops(const char *key, uint64_t bits)
{
	e2e_expect(&t, key, bits);
}

#define PROBE(...) E2E_PROBE(&t, &o, __VA_ARGS__)

static const char *const names[] = {
	"/", "//", "///", ".", "..", "./", "a", "a/", "a/.", "a/..",
	"a/b/c/f.txt", "a/b/c/f.txt/", "a/b/c/f.txt/.", "a/b/c/f.txt/..",
	"a/b/c/f.txt/../x", "a//b/./c/../c/f.txt", "l_rel", "l_rel/..",
	"l_rel/../b", "l_abs/b", "l_up/f.txt", "l_up/..", "loop1", "loop1/x",
	"dangling", "dangling/", "dangling/x", "ch0", "ch2", "ch3", "ch3/b/",
	"l_long", "l_long/c", "l_file", "l_file/", "nothere", "nothere/",
	"nothere/..", "a/nothere/../b", "locked", "locked/in", "locked/in/..",
	"../work/l_rel/c/", "/proc/self/exe", "/usr/bin/cc", "/dev/null/",
	"x234567890123456789012345678901234567890123456789012345678901234567"
	"89012345678901234567890123456789012345678901234567890123456789012345"
	"67890123456789012345678901234567890123456789012345678901234567890123"
	"4567890123456789012345678901234567890/y",
};

static void run_rpdiff(const char *first, const char *last)
{
	const char *argv[sizeof names / sizeof names[0] + 4];
	size_t n = 0;

	argv[n++] = e2e_rpdiff;
	if (first != NULL)
		argv[n++] = first;
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		argv[n++] = names[i];
	if (last != NULL)
		argv[n++] = last;
	argv[n] = NULL;
	e2e_run(&t, E2E_SHIM, NULL, argv, NULL, &o);
	cr_expect_eq(o.code, 0, "rpdiff: %s%s", o.out, o.err);
	cr_expect(strstr(o.out, "differences 0") != NULL, "%s", o.out);
}

/* realpath, canonicalize_file_name and __realpath_chk give what glibc's
 * own give, byte for byte and errno for errno, with and without a buffer;
 * as root, then as an unprivileged user (EACCES and partial results), then
 * from a removed directory and from one deeper than PATH_MAX (ENAMETOOLONG
 * with a buffer). */
Test(libcnames, realpath_same_as_glibc)
{
	run_rpdiff(NULL, "@rmcwd");
	run_rpdiff(NULL, "@deep");
	run_rpdiff("nobody", NULL);
	/* and the probes were recorded: the shim resolved.  A link to root;
	 * to nobody, who cannot pass the 0700 scratch directory, denied to
	 * readlink and to the directory check "l_rel/.." asks for. */
	expect_ops(e2e_path(&t, "l_rel"),
		   RL | E | DENIED | E2E_FAILED(RL | CACHE_OP_ACCESS));
}

/* Each component probed is recorded with the outcome of its readlink (and
 * of the directory check a trailing slash or ".." asks for). */
Test(libcnames, realpath_records_components)
{
	char want[600];

	PROBE("realpath:l_up/f.txt", "realpath:dangling/x",
	      "realpath:nothere/..", "realpath:l_file/", "realpath:loop1");
	snprintf(want, sizeof want,
		 "resolved %s\nrealpath 0 0\n"
		 "resolved (null)\nrealpath -1 2\n"
		 "resolved (null)\nrealpath -1 2\n"
		 "resolved (null)\nrealpath -1 20\n"
		 "resolved (null)\nrealpath -1 40\n",
		 e2e_path(&t, "a/b/c/f.txt"));
	cr_expect_str_eq(o.out, want);
	/* relative names start from getcwd: above work, only what "../work"
	 * in l_up's target names is probed */
	e2e_absent(&t, t.root);
	expect_ops(t.work, E2E_FAILED(RL) | FAILED);
	expect_ops(e2e_path(&t, "l_up"), RL | E);
	expect_ops(e2e_path(&t, "a"), E2E_FAILED(RL) | FAILED);
	expect_ops(e2e_path(&t, "a/b/c"), E2E_FAILED(RL) | FAILED);
	/* no link; then (l_file/) no directory: ENOTDIR */
	expect_ops(e2e_path(&t, "a/b/c/f.txt"),
		   E2E_FAILED(RL | CACHE_OP_ACCESS) | FAILED | MISSING);
	expect_ops(e2e_path(&t, "dangling"), RL | E);
	/* nothere: missing to readlink (twice) and to the directory check */
	expect_ops(e2e_path(&t, "nothere"), E2E_FAILED(RL | CACHE_OP_ACCESS) | MISSING);
	expect_ops(e2e_path(&t, "l_file"), RL | E);
	expect_ops(e2e_path(&t, "loop1"), RL | E);
	expect_ops(e2e_path(&t, "loop2"), RL | E);
	cr_expect_eq(e2e_count(&t, e2e_path(&t, "loop1")), 21);
	e2e_absent(&t, e2e_path(&t, "dangling/x"));
	e2e_absent(&t, e2e_path(&t, "nothere/x"));
}

/* The system calls a realpath makes (from its first to its last, between
 * two markers) are glibc's, argument for argument. */
static void strace_of(const char *which, const char *name, char *out,
		      size_t cap)
{
	char log[400], line[4096];
	const char *argv[] = { "strace", "-o", log, "-e",
			       "trace=%file,getcwd,getppid", e2e_rpdiff,
			       "one", which, name, NULL };
	FILE *f;
	int marks = 0;
	size_t n = 0;

	snprintf(log, sizeof log, "%s/strace.%s", t.root, which);
	e2e_run(&t, E2E_SHIM, NULL, argv, NULL, &o);
	cr_assert_eq(o.code, 0, "strace: %s", o.err);
	f = fopen(log, "r");
	cr_assert_not_null(f);
	out[0] = '\0';
	while (fgets(line, sizeof line, f) != NULL && marks < 2) {
		char *p = line, *q = line;
		if (strncmp(line, "getppid", 7) == 0) {
			marks++;
			continue;
		}
		if (marks != 1)
			continue;
		/* buffer addresses differ between the two: dropped */
		while (*p != '\0') {
			if (p[0] == '0' && p[1] == 'x') {
				p += 2;
				while ((*p >= '0' && *p <= '9') ||
				       (*p >= 'a' && *p <= 'f'))
					p++;
				*q++ = 'A';
			} else {
				*q++ = *p++;
			}
		}
		*q = '\0';
		n += (size_t)snprintf(out + n, n < cap ? cap - n : 0, "%s",
				      line);
	}
	fclose(f);
	cr_assert_eq(marks, 2, "markers missing in %s", log);
	cr_assert(n < cap);
}

Test(libcnames, realpath_same_system_calls)
{
	static const char *const some[] = {
		"l_up/f.txt", "dangling/", "ch2", "ch3/b/", "l_long/c",
		"a/b/c/f.txt/..", "nothere/..", "/usr/bin/cc", "locked/in/..",
	};
	static char bare[65536], ours[65536];

	if (system("strace -V >/dev/null 2>&1") != 0)
		cr_skip_test("strace is not installed");
	for (size_t i = 0; i < sizeof some / sizeof some[0]; i++) {
		strace_of("libc", some[i], bare, sizeof bare);
		strace_of("hooked", some[i], ours, sizeof ours);
		cr_expect(bare[0] != '\0', "%s: no system call seen", some[i]);
		cr_expect_str_eq(ours, bare, "%s", some[i]);
	}
}

/* execvp searches PATH in the shim: every candidate is recorded with its
 * outcome, the one that ran with EXEC alone. */
Test(libcnames, execvp_candidates)
{
	char path[1200];

	e2e_write(&t, "d1/tool", "#!/bin/sh\necho d1\n");
	chmod(e2e_path(&t, "d1/tool"), 0644);
	e2e_write(&t, "d3/tool", "#!/bin/sh\necho d3\n");
	chmod(e2e_path(&t, "d3/tool"), 0755);
	snprintf(path, sizeof path, "setpath:%s:%s:%s", e2e_path(&t, "d1"),
		 e2e_path(&t, "nothere"), e2e_path(&t, "d3"));
	PROBE(path, "execvp:tool:x");
	cr_expect_str_eq(o.out, "setpath 0 0\nd3\n");
	expect_ops(e2e_path(&t, "d1/tool"), X | E2E_FAILED(X) | DENIED);
	expect_ops(e2e_path(&t, "nothere/tool"), X | E2E_FAILED(X) | MISSING);
	/* ran (EXEC alone), then read by the shell its "#!" names */
	expect_ops(e2e_path(&t, "d3/tool"), X | CACHE_OP_READ | E);
	e2e_absent(&t, "tool");
}

/* The same search from a vfork child, on its parent's stack, with an
 * environment that lost the shim's variables. */
Test(libcnames, execvp_in_vfork_child)
{
	char path[1200], want[1600];

	e2e_write(&t, "d3/tool", "#!/bin/sh\nexec \"$1\" showenv\n");
	chmod(e2e_path(&t, "d3/tool"), 0755);
	snprintf(path, sizeof path, "setpath:%s:%s", e2e_path(&t, "nothere"),
		 e2e_path(&t, "d3"));
	PROBE(path, "clearenv", path, "vforkp:tool:" SHMCACHE_TEST_PROBE);
	snprintf(want, sizeof want,
		 "setpath 0 0\nclearenv 0 0\nsetpath 0 0\n"
		 "LD_PRELOAD=%s\nSHMCACHE_FILE=%s\nshowenv -1 2\nvforkp 0 0\n",
		 e2e_shim, t.cache);
	cr_expect_str_eq(o.out, want);
	expect_ops(e2e_path(&t, "nothere/tool"), X | E2E_FAILED(X) | MISSING);
	expect_ops(e2e_path(&t, "d3/tool"), X | CACHE_OP_READ | E);
	expect_ops(e2e_path(&t, "showenv.txt"), E2E_FAILED(CACHE_OP_STAT) | MISSING);
}

/* A file the kernel cannot run (no "#!") is run by /bin/sh; a name found
 * nowhere fails with EACCES when a candidate was denied. */
Test(libcnames, execvp_script_and_denied)
{
	char setpath[1200];

	e2e_write(&t, "d2/scr", "echo script ran\n");
	chmod(e2e_path(&t, "d2/scr"), 0755);
	e2e_write(&t, "d1/scr", "x\n");
	chmod(e2e_path(&t, "d1/scr"), 0644);
	snprintf(setpath, sizeof setpath, "setpath:%s:%s",
		 e2e_path(&t, "d2"), e2e_path(&t, "d1"));
	PROBE(setpath, "execvp:scr");
	cr_expect_str_eq(o.out, "setpath 0 0\nscript ran\n");
	/* ENOEXEC, then read by the shell */
	expect_ops(e2e_path(&t, "d2/scr"),
		   X | FAILED | CACHE_OP_READ | E | E2E_FAILED(X));
	expect_ops("/bin/sh", X | E);
	snprintf(setpath, sizeof setpath, "setpath:%s:%s",
		 e2e_path(&t, "d1"), e2e_path(&t, "nothere"));
	PROBE(setpath, "execvp:scr");
	cr_expect_str_eq(o.out, "setpath 0 0\nexecvp -1 13\n");
	expect_ops(e2e_path(&t, "d1/scr"), X | E2E_FAILED(X) | DENIED);
	expect_ops(e2e_path(&t, "nothere/scr"), X | E2E_FAILED(X) | MISSING);
}

/* Unset PATH: glibc's default, "/bin:/usr/bin".  Empty PATH: the current
 * directory. */
Test(libcnames, execvp_default_and_empty_path)
{
	const char *argv[] = { e2e_probe, "execvp:true", NULL };
	const char *unset[] = { "PATH=", NULL };

	e2e_run(&t, E2E_SHIM, NULL, argv, unset, &o);
	cr_expect_eq(o.code, 0, "%s", o.out);
	expect_ops("/bin/true", X | E);
	e2e_absent(&t, "/usr/bin/true");
	e2e_write(&t, "hello", "#!/bin/sh\necho hello here\n");
	chmod(e2e_path(&t, "hello"), 0755);
	PROBE("setpath:", "execvp:hello");
	cr_expect_str_eq(o.out, "setpath 0 0\nhello here\n");
	expect_ops(e2e_path(&t, "hello"), X | CACHE_OP_READ | E);
}

/* system and popen: the shell is recorded, and after clearenv the shell
 * (and what it runs) is still traced. */
Test(libcnames, system_and_popen)
{
	char cmd[600], want[1600];

	snprintf(cmd, sizeof cmd, "system:exec %s showenv", e2e_probe);
	PROBE("clearenv", cmd);
	snprintf(want, sizeof want,
		 "clearenv 0 0\nLD_PRELOAD=%s\nSHMCACHE_FILE=%s\nshowenv -1 2\n"
		 "system 0 0\n",
		 e2e_shim, t.cache);
	cr_expect_str_eq(o.out, want);
	expect_ops("/bin/sh", X | E);
	expect_ops(e2e_path(&t, "showenv.txt"), E2E_FAILED(CACHE_OP_STAT) | MISSING);
	snprintf(cmd, sizeof cmd, "popen:exec %s stat:in-popen", e2e_probe);
	PROBE("clearenv", cmd);
	cr_expect_str_eq(o.out, "clearenv 0 0\nstat -1 2\npopen 0 0\n");
	expect_ops(e2e_path(&t, "in-popen"), E2E_FAILED(CACHE_OP_STAT) | MISSING);
	/* each shell: recorded by system or popen, and by itself */
	cr_expect_eq(e2e_count(&t, "/bin/sh"), 4);
}

static void name_of(char *out, size_t cap)
{
	const char *p = strstr(o.out, "name ");
	size_t n;

	cr_assert_not_null(p, "%s", o.out);
	p += 5;
	n = strcspn(p, "\n");
	cr_assert(n < cap);
	memcpy(out, p, n);
	out[n] = '\0';
}

/* The name a temporary file got, with the bits of the open or mkdir that
 * made it. */
Test(libcnames, temporary_files)
{
	const uint32_t made = CACHE_OP_READ | CACHE_OP_WRITE | CACHE_OP_CREATE;
	char name[600], tmpl[600];

	PROBE("mkstemp:ms-XXXXXX");
	name_of(name, sizeof name);
	cr_expect_neq(strcmp(name, "ms-XXXXXX"), 0);
	expect_ops(e2e_path(&t, name), made | E);
	PROBE("mkostemps:mo-XXXXXX.c");
	name_of(name, sizeof name);
	expect_ops(e2e_path(&t, name), made | E);
	PROBE("mkdtemp:md-XXXXXX");
	name_of(name, sizeof name);
	expect_ops(e2e_path(&t, name), CACHE_OP_MKDIR | E);
	/* a template without XXXXXX: no file operation, nothing recorded */
	PROBE("mkstemp:bad");
	cr_expect_str_eq(o.out, "name bad\nmkstemp -1 22\n");
	e2e_absent(&t, e2e_path(&t, "bad"));
	/* a directory that is not there: the name tried, missing */
	snprintf(tmpl, sizeof tmpl, "mkstemp:%s", e2e_path(&t, "nodir/t-XXXXXX"));
	PROBE(tmpl);
	name_of(name, sizeof name);
	expect_ops(name, E2E_FAILED(made) | MISSING);
	PROBE("tmpfile");
	cr_expect_str_eq(o.out, "tmpfile 0 0\n");
	expect_ops("/tmp", CACHE_OP_WRITE | CACHE_OP_CREATE | CACHE_OP_OPENDIR |
				   E);
}
