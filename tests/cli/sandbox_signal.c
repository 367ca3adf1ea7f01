/*
 * sandbox_signal.c - built and run under `shmcache run` by
 * test_cli_sandbox.py: sandbox decisions made inside a signal handler on a
 * small alternate stack (interrupting a decision of the main thread), and
 * in a vfork child.
 *
 *   sandbox_signal DENIED ASKED
 *
 * Prints "handler: <stat DENIED> <open ASKED>" and "vfork: <stat DENIED>",
 * each result "ok" or the errno's number.
 */
#define _DEFAULT_SOURCE 1
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *denied, *asked;
static volatile sig_atomic_t h_stat = -1, h_open = -1, fired;

static int result(int r)
{
	return r >= 0 ? 0 : errno;
}

static void on_alarm(int sig)
{
	struct stat st;
	int e = errno, fd;

	(void)sig;
	h_stat = result(stat(denied, &st));
	fd = open(asked, O_RDONLY);
	h_open = result(fd);
	if (fd >= 0)
		close(fd);
	fired = 1;
	errno = e;
}

int main(int argc, char **argv)
{
	static char altstack[16384];
	stack_t ss = { .ss_sp = altstack, .ss_size = sizeof altstack };
	struct sigaction sa;
	struct stat st;
	pid_t pid;
	int status;

	if (argc != 3)
		return 2;
	denied = argv[1];
	asked = argv[2];
	if (sigaltstack(&ss, NULL) != 0)
		return 2;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_alarm;
	sa.sa_flags = SA_ONSTACK;
	sigaction(SIGALRM, &sa, NULL);
	/* The handler is raised from inside the loop of stats of the main
	 * program: raise() is itself a call between two decisions. */
	for (int i = 0; i < 100 && !fired; i++) {
		(void)stat(denied, &st);
		if (i == 50)
			raise(SIGALRM);
	}
	printf("handler: %s %s\n",
	       h_stat == 0 ? "ok" : h_stat == ENOENT ? "ENOENT" : "other",
	       h_open == 0 ? "ok" : h_open == ENOENT ? "ENOENT" : "other");
	fflush(stdout);
	pid = vfork();
	if (pid == 0)
		_exit(stat(denied, &st) == 0 ? 0 : errno == ENOENT ? 3 : 4);
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return 2;
	printf("vfork: %s\n", WEXITSTATUS(status) == 3 ? "ENOENT"
			      : WEXITSTATUS(status) == 0 ? "ok"
							 : "other");
	return 0;
}
