/*
 * test_identity.c - the shim changes nothing a program can see: the same
 * command lines, successes and failures (missing files, permission denied,
 * wrong kinds), give byte-identical output, errors and exit codes bare and
 * under the shim.
 */
#include <criterion/criterion.h>
#include <string.h>
#include <sys/stat.h>

#include "e2e.h"

static const char *const commands[] = {
	"cat in.txt nothere.txt",
	"cat d",
	"ls -la d nothere; echo rc=$?",
	"ls -R d",
	"mkdir d",
	"mkdir -p d/b && echo ok",
	"rm nothere",
	"rmdir d",
	"./noexec.sh",
	"./nothere.sh",
	"find d -name '*.c' | sort",
	"find d nothere -type f | sort",
	"tar tf nothere.tar",
	"stat -c '%n %s %F' in.txt d nothere",
	"ln -s in.txt in.txt",
	"cp nothere x",
	"mv nothere y",
	"touch /proc/nothere",
	"readlink -f d/../in.txt",
	"realpath nothere/x",
	"test -r in.txt && echo readable",
	"sh -c 'exit 7'",
	"python3 -c 'import os; print(sorted(os.listdir(\"d\"))); open(\"nothere\")'",
	"cd nothere",
	"cd d/b && pwd && ls ../..",
};

Test(identity, same_output_and_status, .timeout = 120)
{
	static struct e2e t;
	static struct e2e_out bare, shim;

	e2e_init(&t);
	e2e_write(&t, "in.txt", "hello\n");
	e2e_write(&t, "d/a.c", "a\n");
	e2e_write(&t, "d/b/b.c", "b\n");
	e2e_write(&t, "noexec.sh", "#!/bin/sh\necho hi\n");
	chmod(e2e_path(&t, "noexec.sh"), 0644);
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
		e2e_sh(&t, E2E_BARE, commands[i], &bare);
		e2e_sh(&t, E2E_SHIM, commands[i], &shim);
		cr_expect_eq(shim.code, bare.code, "%s: exit %d vs %d",
			     commands[i], shim.code, bare.code);
		cr_expect(shim.out_len == bare.out_len &&
				  memcmp(shim.out, bare.out, bare.out_len) == 0,
			  "%s: stdout differs:\n%s---\n%s", commands[i],
			  bare.out, shim.out);
		cr_expect(shim.err_len == bare.err_len &&
				  memcmp(shim.err, bare.err, bare.err_len) == 0,
			  "%s: stderr differs:\n%s---\n%s", commands[i],
			  bare.err, shim.err);
	}
	/* The failures were recorded with their class: d was read (cat),
	 * stat-ed, tested (access), resolved (readlink -f), listed, made
	 * (EEXIST: there), removed (ENOTEMPTY: failed) and entered. */
	e2e_expect(&t, e2e_path(&t, "noexec.sh"),
		   CACHE_OP_EXEC | E2E_FAILED(CACHE_OP_EXEC) | CACHE_OP_DENIED);
	e2e_expect(&t, e2e_path(&t, "nothere.txt"),
		   E2E_FAILED(CACHE_OP_READ) | CACHE_OP_MISSING);
	e2e_expect(&t, e2e_path(&t, "d"),
		   CACHE_OP_READ | CACHE_OP_STAT | CACHE_OP_ACCESS |
			   CACHE_OP_OPENDIR | CACHE_OP_CHDIR |
			   CACHE_OP_EXISTS | CACHE_OP_FAILED |
			   E2E_FAILED(CACHE_OP_STAT | CACHE_OP_READLINK |
				      CACHE_OP_MKDIR | CACHE_OP_RMDIR));
	e2e_fini(&t);
}
