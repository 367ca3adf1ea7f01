/*
 * dup2low - puts files over descriptors 0, 1 and 2 and over the low
 * descriptors 3..12 with dup2, does file calls in that state, restores, and
 * prints what open() returned and what went where.  A shim that kept a
 * descriptor, or wrote to fd 2 on its own, would change the output.
 */
#define _GNU_SOURCE
#include <sys/wait.h>

#include "common.h"

static void show_file(const char *label, const char *path)
{
	char buf[256];
	int fd = open(path, O_RDONLY);
	ssize_t got = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);

	if (fd >= 0)
		close(fd);
	if (got < 0)
		got = 0;
	buf[got] = '\0';
	printf("%s: [%s]\n", label, buf);
}

int main(void)
{
	int bad = 0, fd, saved_out, saved_err, saved_in, i, status;
	char c = 0;
	pid_t pid;

	mb_make_tree();

	/* stdin from a file */
	saved_in = dup(0);
	fd = open("data/f5", O_RDONLY);
	if (fd < 0 || dup2(fd, 0) != 0)
		return 2;
	close(fd);
	if (read(0, &c, 1) != 1)
		return 3;
	printf("stdin now reads '%c'\n", c);

	/* stdout and stderr into files; file calls in that state */
	fflush(stdout);
	saved_out = dup(1);
	saved_err = dup(2);
	fd = open("data/captured-out", O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || dup2(fd, 1) != 1)
		return 4;
	close(fd);
	fd = open("data/captured-err", O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || dup2(fd, 2) != 2)
		return 4;
	close(fd);
	for (i = 0; i < 50; i++)
		bad += mb_file_calls((unsigned)i);
	printf("to the captured stdout, bad %d\n", bad);
	fflush(stdout);
	fprintf(stderr, "to the captured stderr\n");
	dup2(saved_out, 1);
	dup2(saved_err, 2);
	dup2(saved_in, 0);
	close(saved_out);
	close(saved_err);
	close(saved_in);

	/* every descriptor 3..12 taken by dup2, then open() gets 13 */
	fd = open("data/f6", O_RDONLY);
	for (i = 3; i <= 12; i++)
		if (i != fd && dup2(fd, i) != i)
			return 5;
	for (i = 0; i < 50; i++)
		bad += mb_file_calls((unsigned)i);
	fd = open("data/f7", O_RDONLY);
	printf("with 3..12 taken by dup2: open gave %d, bad %d\n", fd, bad);
	for (i = 3; i <= 13; i++)
		close(i);

	/* a child whose 0-2 are files runs the workload and execs sh */
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		fd = open("data/child-out", O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0)
			_exit(8);
		dup2(fd, 1);
		dup2(fd, 2);
		close(fd);
		fd = open("/dev/null", O_RDONLY);
		dup2(fd, 0);
		close(fd);
		execl("/bin/sh", "sh", "-c",
		      "cat data/f2 data/nosuchfile; echo \" exit $?\"", (char *)NULL);
		_exit(9);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return 6;
	printf("child exit %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	show_file("captured stdout", "data/captured-out");
	show_file("captured stderr", "data/captured-err");
	show_file("child output", "data/child-out");
	return bad == 0 ? 0 : 1;
}
