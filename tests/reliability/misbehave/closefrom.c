/*
 * closefrom - closes every descriptor it has, in three ways, and keeps
 * working: closefrom(3) in the process, a close() loop over every possible
 * descriptor including 0-2 in a child, and an exec of itself with 0-2
 * closed.  The descriptor numbers that open() returns afterwards are printed:
 * a shim that kept a descriptor of its own would shift them.
 */
#define _GNU_SOURCE
#include <sys/resource.h>
#include <sys/wait.h>

#include "common.h"

/* Runs after an exec with descriptors 0-2 closed: the first open gets 0. */
static int after_exec(void)
{
	int bad = 0, fd, out;
	char line[64];
	unsigned i;

	for (i = 0; i < 50; i++)
		bad += mb_file_calls(i);
	fd = open("data/f3", O_RDONLY);
	out = open("data/after-closefrom-exec", O_WRONLY | O_CREAT | O_TRUNC,
		   0644);
	if (fd < 0 || out < 0)
		return 3;
	snprintf(line, sizeof line, "exec child: first fd %d, out fd %d, bad %d\n",
		 fd, out, bad);
	mb_write(out, line);
	return 0;
}

static int open_fds(int upto)
{
	int fd, n = 0;

	for (fd = 0; fd < upto; fd++)
		if (fcntl(fd, F_GETFD) != -1)
			n++;
	return n;
}

int main(int argc, char **argv)
{
	struct rlimit rl;
	int bad = 0, fd, status, i;
	pid_t pid;
	char buf[128];
	ssize_t got;

	if (argc > 1 && strcmp(argv[1], "after-exec") == 0)
		return after_exec();
	mb_make_tree();

	/* Fill some low descriptors, then closefrom(3). */
	for (i = 0; i < 10; i++)
		if (open("data/f1", O_RDONLY) < 0)
			return 2;
	closefrom(3);
	printf("after closefrom(3): %d descriptors open below 1024\n",
	       open_fds(1024));
	for (i = 0; i < 100; i++)
		bad += mb_file_calls((unsigned)i);
	fd = open("data/f2", O_RDONLY);
	printf("first open after closefrom: fd %d, bad %d\n", fd, bad);
	close(fd);
	fflush(stdout);

	/* A child closes everything, 0-2 included, by a loop over the limit. */
	pid = fork();
	if (pid == 0) {
		int first, cbad = 0;
		unsigned j;

		if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
			_exit(4);
		for (fd = 0; fd < (int)rl.rlim_cur; fd++)
			close(fd);
		for (j = 0; j < 100; j++)
			cbad += mb_file_calls(j);
		first = open("data/f4", O_RDONLY);
		_exit(first == 0 && cbad == 0 ? 0 : 5);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return 6;
	printf("child after closing all: exit %d\n",
	       WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));

	/* A child closes 0-2 and every other descriptor, then execs itself. */
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		close_range(0, ~0U, 0);
		execl("/proc/self/exe", argv[0], "after-exec", (char *)NULL);
		_exit(7);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return 6;
	printf("exec child with 0-2 closed: exit %d\n",
	       WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	fd = open("data/after-closefrom-exec", O_RDONLY);
	got = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);
	if (got > 0) {
		buf[got] = '\0';
		printf("%s", buf);
	} else {
		printf("exec child wrote nothing\n");
	}
	return 0;
}
