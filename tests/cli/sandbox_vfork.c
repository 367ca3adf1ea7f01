/*
 * sandbox_vfork.c - built and run under `shmcache run` by
 * test_cli_sandbox.py: the decision server's connection across vfork, fork
 * and exec.  Each ASK is a new path of an `ask` prefix (a question):
 *
 *   sandbox_vfork ASK1 ASK2 ASK3 ASK4
 *
 * asks ASK1 (the process's connection opens), ASK2 in a vfork child, ASK3
 * in the parent again, ASK4 in a forked child, and prints
 *
 *   vfork: <open descriptors after the child, then after ASK3, each
 *           against those after ASK1: "+0 +0">
 *   fork: <the forked child's, after ASK4, against its parent's>
 *   cloexec: <"yes" when every socket open is close-on-exec>
 */
#define _DEFAULT_SOURCE 1
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		exit(2);
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static int sockets_cloexec(void)
{
	int ok = 1;

	for (int fd = 0; fd < 1024; fd++) {
		struct stat st;
		if (fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode))
			ok &= (fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0;
	}
	return ok;
}

int main(int argc, char **argv)
{
	struct stat st;
	int n0, n1, n2, p[2], status;
	pid_t pid;

	if (argc != 5)
		return 2;
	(void)stat(argv[1], &st);
	n0 = count_fds();
	pid = vfork();
	if (pid == 0) {
		(void)stat(argv[2], &st);
		_exit(0);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return 2;
	n1 = count_fds();
	(void)stat(argv[3], &st);
	n2 = count_fds();
	printf("vfork: %+d %+d\n", n1 - n0, n2 - n0);
	fflush(stdout);
	if (pipe(p) != 0)
		return 2;
	pid = fork();
	if (pid == 0) {
		int before = count_fds();
		(void)stat(argv[4], &st);
		dprintf(p[1], "fork: %+d\n", count_fds() - before);
		_exit(0);
	}
	close(p[1]);
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return 2;
	{
		char buf[64];
		ssize_t r = read(p[0], buf, sizeof buf);
		if (r > 0)
			fwrite(buf, 1, (size_t)r, stdout);
	}
	printf("cloexec: %s\n", sockets_cloexec() ? "yes" : "no");
	return 0;
}
