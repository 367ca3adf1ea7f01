/*
 * vforkopen - vfork children that open a file and _exit, that exec this
 * program, and that exec a missing program; the hooks then run in a child
 * sharing the parent's memory and stack.
 */
#define _GNU_SOURCE
#include <sys/wait.h>

#include "common.h"

#define ROUNDS 300

/* In its own function so that the vfork child touches no variable of the
 * caller's frame (which the parent resumes). */
static __attribute__((noinline)) pid_t spawn(unsigned i, const char *self)
{
	pid_t pid = vfork();

	if (pid != 0)
		return pid;
	if (i % 3 == 0) {
		char arg[24];
		mb_path(arg, "", i);   /* any distinct argument */
		execl(self, self, "child", arg, (char *)NULL);
		_exit(120);
	}
	if (i % 5 == 0) {
		execl("data/no-such-program", "x", (char *)NULL);
		_exit(errno == ENOENT ? 7 : 121);
	}
	{
		char p[32];
		int fd;

		mb_path(p, "f", i % MB_NFILES);
		fd = open(p, O_RDONLY);
		if (fd < 0)
			_exit(122);
		close(fd);
		_exit(mb_file_calls(i) == 0 ? 3 : 123);
	}
}

int main(int argc, char **argv)
{
	long sum = 0, expect = 0;
	int status, failed = 0;
	unsigned i;

	if (argc > 2 && strcmp(argv[1], "child") == 0)
		return mb_file_calls(5) == 0 ? 5 : 124;
	mb_make_tree();
	fflush(stdout);
	for (i = 0; i < ROUNDS; i++) {
		pid_t pid = spawn(i, "/proc/self/exe");

		if (pid < 0 || waitpid(pid, &status, 0) != pid ||
		    !WIFEXITED(status)) {
			failed++;
			continue;
		}
		sum += WEXITSTATUS(status);
		expect += i % 3 == 0 ? 5 : i % 5 == 0 ? 7 : 3;
	}
	printf("vforkopen: %d vfork children, sum of exit codes %ld "
	       "(expected %ld), %d failed\n", ROUNDS, sum, expect, failed);
	return sum == expect && failed == 0 ? 0 : 1;
}
