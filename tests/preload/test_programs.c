/*
 * test_programs.c - real, unmodified programs run under libshmcache.so: the
 * cache must hold the paths each one names, with the operation and outcome
 * bits the calls imply, and not hold paths it never touches.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "e2e.h"

#define R CACHE_OP_READ
#define W CACHE_OP_WRITE
#define C CACHE_OP_CREATE
#define T CACHE_OP_TRUNCATE
#define S CACHE_OP_STAT
#define X CACHE_OP_EXEC
#define D CACHE_OP_OPENDIR
#define E CACHE_OP_EXISTS
#define MISSING CACHE_OP_MISSING
#define LNK CACHE_OP_READLINK
#define FAILED CACHE_OP_FAILED

static struct e2e t;
static struct e2e_out o;

static void setup(void)
{
	e2e_init(&t);
	e2e_write(&t, "in.txt", "hello\nworld\n");
	e2e_write(&t, "untouched.txt", "never read\n");
	e2e_write(&t, "d/a.c", "int a;\n");
	e2e_write(&t, "d/b/b.c", "int b;\n");
	e2e_write(&t, "d/b/c/c.h", "int c;\n");
}

static void teardown(void)
{
	e2e_fini(&t);
}

TestSuite(programs, .init = setup, .fini = teardown, .timeout = 60);

#define RUN(...)                                                            \
	do {                                                                \
		const char *argv_[] = { __VA_ARGS__, NULL };                \
		e2e_run(&t, E2E_SHIM, NULL, argv_, NULL, &o);               \
	} while (0)

Test(programs, cat)
{
	RUN("cat", "in.txt", "nothere.txt");
	cr_expect_eq(o.code, 1);
	cr_expect_str_eq(o.out, "hello\nworld\n");
	e2e_expect(&t, e2e_path(&t, "in.txt"), R | E);
	e2e_expect(&t, e2e_path(&t, "nothere.txt"), E2E_FAILED(R) | MISSING);
	e2e_absent(&t, e2e_path(&t, "untouched.txt"));
	e2e_absent(&t, e2e_path(&t, "d/a.c"));
}

Test(programs, ls_recursive)
{
	RUN("ls", "-R", "d");
	cr_expect_eq(o.code, 0);
	cr_expect(strstr(o.out, "c.h") != NULL);
	e2e_expect(&t, e2e_path(&t, "d"), S | D | E);
	e2e_expect(&t, e2e_path(&t, "d/b"), D | E);
	e2e_expect(&t, e2e_path(&t, "d/b/c"), D | E);
	e2e_absent(&t, e2e_path(&t, "in.txt"));
	e2e_absent(&t, e2e_path(&t, "untouched.txt"));
}

Test(programs, cp_recursive)
{
	RUN("cp", "-r", "d", "copy");
	cr_expect_eq(o.code, 0, "%s", o.err);
	e2e_expect(&t, e2e_path(&t, "d/b/b.c"), S | R | E);
	e2e_expect(&t, e2e_path(&t, "d/b/c/c.h"), S | R | E);
	e2e_expect(&t, e2e_path(&t, "copy/b/c/c.h"), W | C | E); /* O_EXCL */
	e2e_expect(&t, e2e_path(&t, "copy/b"), S | CACHE_OP_MKDIR | E);
	e2e_absent(&t, e2e_path(&t, "untouched.txt"));
}

Test(programs, mv)
{
	RUN("mv", "in.txt", "moved.txt");
	cr_expect_eq(o.code, 0, "%s", o.err);
	e2e_expect(&t, e2e_path(&t, "in.txt"), CACHE_OP_RENAME_FROM | E);
	e2e_expect(&t, e2e_path(&t, "moved.txt"), CACHE_OP_RENAME_TO | E);
	e2e_absent(&t, e2e_path(&t, "untouched.txt"));
}

Test(programs, rm_recursive)
{
	RUN("rm", "-r", "d");
	cr_expect_eq(o.code, 0, "%s", o.err);
	e2e_expect(&t, e2e_path(&t, "d/b/c/c.h"), CACHE_OP_UNLINK | E);
	e2e_expect(&t, e2e_path(&t, "d/a.c"), CACHE_OP_UNLINK | E);
	e2e_expect(&t, e2e_path(&t, "d/b/c"), S | D | CACHE_OP_RMDIR | E);
	e2e_expect(&t, e2e_path(&t, "d"), S | D | CACHE_OP_RMDIR | E);
	e2e_absent(&t, e2e_path(&t, "in.txt"));
}

Test(programs, mkdir_parents)
{
	/* GNU mkdir -p creates each level relative to the last (chdir or
	 * *at calls): the keys must still be absolute and right. */
	RUN("mkdir", "-p", "x/y/z", "d/b/new");
	cr_expect_eq(o.code, 0, "%s", o.err);
	e2e_expect(&t, e2e_path(&t, "x"), CACHE_OP_MKDIR | D | CACHE_OP_CHDIR | E);
	e2e_expect(&t, e2e_path(&t, "x/y"), CACHE_OP_MKDIR | D | CACHE_OP_CHDIR | E);
	e2e_expect(&t, e2e_path(&t, "x/y/z"), CACHE_OP_MKDIR | E);
	e2e_expect(&t, e2e_path(&t, "d/b/new"), CACHE_OP_MKDIR | E);
	e2e_absent(&t, e2e_path(&t, "z"));
	e2e_absent(&t, e2e_path(&t, "y/z"));
}

Test(programs, ln_symbolic)
{
	RUN("ln", "-s", "in.txt", "d/link");
	cr_expect_eq(o.code, 0, "%s", o.err);
	e2e_expect(&t, e2e_path(&t, "d/link"), CACHE_OP_SYMLINK | C | E);
	/* A relative target is relative to the link's directory. */
	e2e_expect(&t, e2e_path(&t, "d/in.txt"), CACHE_OP_SYMLINK);
	e2e_absent(&t, e2e_path(&t, "in.txt"));
}

Test(programs, touch)
{
	RUN("touch", "new.txt", "in.txt");
	cr_expect_eq(o.code, 0, "%s", o.err);
	e2e_expect(&t, e2e_path(&t, "new.txt"), W | E);
	e2e_expect(&t, e2e_path(&t, "in.txt"), W | E);
	e2e_absent(&t, e2e_path(&t, "untouched.txt"));
}

Test(programs, sh_pipeline)
{
	e2e_sh(&t, E2E_SHIM,
	       "cat in.txt | wc -l > count.txt; test -e nothere || "
	       "cat count.txt >> log.txt; cd d && cat ../in.txt > /dev/null",
	       &o);
	cr_expect_eq(o.code, 0, "%s", o.err);
	e2e_expect(&t, e2e_path(&t, "in.txt"), R | E);
	e2e_expect(&t, e2e_path(&t, "count.txt"), R | W | T | E);
	e2e_expect(&t, e2e_path(&t, "log.txt"), W | E);
	e2e_expect(&t, e2e_path(&t, "nothere"), E2E_FAILED(S) | MISSING);
	e2e_expect(&t, e2e_path(&t, "d"), CACHE_OP_CHDIR | E);
	e2e_expect(&t, "/usr/bin/wc", S | X | E);
	e2e_absent(&t, e2e_path(&t, "d/in.txt"));
	e2e_absent(&t, e2e_path(&t, "untouched.txt"));
}

Test(programs, find)
{
	RUN("find", "d", "-name", "*.h");
	cr_expect_eq(o.code, 0, "%s", o.err);
	cr_expect_str_eq(o.out, "d/b/c/c.h\n");
	e2e_expect(&t, e2e_path(&t, "d"), S | D | E);
	e2e_expect(&t, e2e_path(&t, "d/b"), S | D | E);
	e2e_expect(&t, e2e_path(&t, "d/b/c"), S | D | E);
	e2e_absent(&t, e2e_path(&t, "in.txt"));
	e2e_absent(&t, e2e_path(&t, "d/b/c/c.h/x"));
}

Test(programs, tar_create_extract)
{
	e2e_mkdir(&t, "out");
	RUN("tar", "cf", "a.tar", "d");
	cr_expect_eq(o.code, 0, "%s", o.err);
	e2e_expect(&t, e2e_path(&t, "a.tar"), W | T | E);
	e2e_expect(&t, e2e_path(&t, "d/b/c/c.h"), S | R | E);
	RUN("tar", "xf", "a.tar", "-C", "out");
	cr_expect_eq(o.code, 0, "%s", o.err);
	e2e_expect(&t, e2e_path(&t, "a.tar"), R | W | T | E);
	e2e_expect(&t, e2e_path(&t, "out/d/b/c/c.h"), W | C | E); /* O_EXCL */
	e2e_expect(&t, e2e_path(&t, "out/d/b"), CACHE_OP_MKDIR | CACHE_OP_CHATTR | E);
	e2e_absent(&t, e2e_path(&t, "untouched.txt"));
	e2e_absent(&t, e2e_path(&t, "out/in.txt"));
}

Test(programs, make_gcc)
{
	e2e_write(&t, "proj/inc/defs.h", "#define ANSWER 42\n");
	e2e_write(&t, "proj/main.c",
		  "#include <stdio.h>\n#include \"defs.h\"\n"
		  "int main(void) { printf(\"%d\\n\", ANSWER); return 0; }\n");
	e2e_write(&t, "proj/util.c", "#include \"defs.h\"\nint util(void) { return ANSWER; }\n");
	e2e_mkdir(&t, "proj/nope"); /* exists, without the header */
	e2e_write(&t, "proj/Makefile",
		  "all: main.o util.o\n"
		  "%.o: %.c\n\tgcc -Igone -Inope -Iinc -c $< -o $@\n");
	{
		const char *argv[] = { "make", "-s", NULL };
		e2e_run(&t, E2E_SHIM, "proj", argv, NULL, &o);
	}
	cr_expect_eq(o.code, 0, "%s", o.err);
	e2e_expect(&t, e2e_path(&t, "proj/Makefile"), S | R | E);
	/* gcc resolves its inputs and outputs with realpath: a readlink of
	 * each, failing with EINVAL (not a link) */
	e2e_expect(&t, e2e_path(&t, "proj/main.c"),
		   S | R | E | FAILED | E2E_FAILED(LNK));
	e2e_expect(&t, e2e_path(&t, "proj/inc/defs.h"), R | E);
	/* The header search misses, that build tools care about. */
	e2e_expect(&t, e2e_path(&t, "proj/nope/defs.h"), E2E_FAILED(R) | MISSING);
	e2e_expect(&t, e2e_path(&t, "proj/gone"), E2E_FAILED(S) | MISSING);
	e2e_expect(&t, e2e_path(&t, "proj/main.o"),
		   R | W | T | S | E | MISSING | E2E_FAILED(S | LNK));
	e2e_expect(&t, e2e_path(&t, "proj/util.o"),
		   R | W | T | S | E | MISSING | E2E_FAILED(S | LNK));
	e2e_expect(&t, "/usr/include/stdio.h", R | E | FAILED | E2E_FAILED(LNK));
	e2e_absent(&t, e2e_path(&t, "proj/inc/main.c"));
	e2e_absent(&t, e2e_path(&t, "untouched.txt"));
}

/* statvfs, the xattr calls: what python's os module calls them through. */
Test(programs, python3_statvfs_xattr)
{
	RUN("python3", "-c",
	    "import os\n"
	    "os.statvfs('in.txt')\n"
	    "try:\n"
	    "    os.statvfs('nothere.vfs')\n"
	    "except FileNotFoundError:\n"
	    "    pass\n"
	    "os.listxattr('d')\n"
	    "try:\n"
	    "    os.getxattr('untouched.txt', 'user.none')\n"
	    "except OSError as e:\n"
	    "    print('get', e.errno)\n"
	    "try:\n"
	    "    os.setxattr('d/a.c', 'user.k', b'v')\n"
	    "    print('set')\n"
	    "except OSError as e:\n"
	    "    print('noset', e.errno)\n");
	cr_expect_eq(o.code, 0, "%s", o.err);
	e2e_expect(&t, e2e_path(&t, "in.txt"), S | E);
	e2e_expect(&t, e2e_path(&t, "nothere.vfs"), E2E_FAILED(S) | MISSING);
	e2e_expect(&t, e2e_path(&t, "d"), S | E);
	/* ENODATA, or ENOTSUP where the file system has no user xattrs:
	 * the call failed on a file that exists */
	cr_expect(strncmp(o.out, "get ", 4) == 0, "%s", o.out);
	e2e_expect(&t, e2e_path(&t, "untouched.txt"),
		   E2E_FAILED(S) | CACHE_OP_FAILED);
	e2e_expect(&t, e2e_path(&t, "d/a.c"),
		   CACHE_OP_CHATTR |
			   (strstr(o.out, "\nset\n") != NULL ? E
							       : CACHE_OP_FAILED));
}

Test(programs, python3)
{
	RUN("python3", "-c",
	    "import os\n"
	    "open('in.txt').read()\n"
	    "open('py-out.txt', 'w').write('x')\n"
	    "print(os.path.exists('nothere.py'), os.path.isdir('d'))\n");
	cr_expect_eq(o.code, 0, "%s", o.err);
	cr_expect_str_eq(o.out, "False True\n");
	e2e_expect(&t, e2e_path(&t, "in.txt"), R | E);
	e2e_expect(&t, e2e_path(&t, "py-out.txt"), W | T | E);
	e2e_expect(&t, e2e_path(&t, "nothere.py"), E2E_FAILED(S) | MISSING);
	e2e_expect(&t, e2e_path(&t, "d"), S | E);
	e2e_absent(&t, e2e_path(&t, "untouched.txt"));
}

/* An address-space limit that the program lives within bare: traced, it
 * runs the same and its paths are recorded (the cache is mapped in part).
 * 300 MiB is less than the whole cache file. */
Test(programs, address_space_limit_c)
{
	char cmd[1200];

	e2e_write(&t, "in.txt", "hello\n");
	snprintf(cmd, sizeof cmd,
		 "ulimit -v 307200 && exec %s alloc:220 open:in.txt", e2e_probe);
	e2e_sh(&t, E2E_BARE, cmd, &o);
	cr_assert_eq(o.code, 0, "%s", o.err);
	cr_assert_str_eq(o.out, "alloc 0 0\nopen 3 0\n");
	e2e_sh(&t, E2E_SHIM, cmd, &o);
	cr_expect_eq(o.code, 0, "%s", o.err);
	cr_expect_str_eq(o.out, "alloc 0 0\nopen 3 0\n");
	cr_expect_eq(e2e_ops(&t, e2e_path(&t, "in.txt")), R | E);
}

Test(programs, address_space_limit_python)
{
	const char *cmd = "ulimit -v 540000 && exec python3 -c "
			  "'print(open(\"in.txt\").read(), end=\"\")'";

	e2e_write(&t, "in.txt", "hello\n");
	e2e_sh(&t, E2E_BARE, cmd, &o);
	cr_assert_eq(o.code, 0, "%s", o.err);
	cr_assert_str_eq(o.out, "hello\n");
	e2e_sh(&t, E2E_SHIM, cmd, &o);
	cr_expect_eq(o.code, 0, "%s", o.err);
	cr_expect_str_eq(o.out, "hello\n");
	cr_expect_str_eq(o.err, "");
	cr_expect_eq(e2e_ops(&t, e2e_path(&t, "in.txt")), R | E);
}
