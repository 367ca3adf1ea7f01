/*
 * sandbox_procs.c - built and run under `shmcache run` by
 * test_cli_sandbox.py: sandbox decisions in every kind of process that can
 * share or copy this one's memory.  In sandbox mode the shim reads each
 * path through a pid it keeps (preload/selfread.c); a pid that is not this
 * process's reads another memory, the key is wrong or missing, and the call
 * on the denied path is made.  So each check stats the denied path from a
 * buffer that, in the memory a wrong pid names, holds the allowed path (or
 * nothing), and an allowed path that must still succeed.
 *
 *   sandbox_procs DENIED ALLOWED   (both existing files)
 *
 * Prints one line per kind, "KIND: ENOENT ok" when the denied path looks
 * absent and the allowed one is there:
 *   vfork-first  a vfork child makes the process's first read, then runs
 *                sleep (its pid then names another memory);
 *   parent       the parent meanwhile;
 *   fork, clone  a fork child, and one made with a raw clone system call;
 *   clone-vm     a child sharing the memory (clone with CLONE_VM);
 *   threads      eight threads at once.
 */
#define _GNU_SOURCE 1
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *denied, *allowed;
static char buf[4096];

/* 0 when the denied path (written into buf by this process just before
 * the call) looks absent and the allowed one is there; else bit 1 for the
 * denied one, bit 2 for the allowed one. */
static int check_in(char *b)
{
	struct stat st;
	int d, a;

	strcpy(b, denied);
	d = stat(b, &st) == 0 ? 0 : errno;
	strcpy(b, allowed);
	a = stat(b, &st) == 0 ? 0 : errno;
	return (d == ENOENT ? 0 : 1) | (a == 0 ? 0 : 2);
}

static int check(void)
{
	return check_in(buf);
}

static void say(const char *kind, int code)
{
	printf("%s: %s %s\n", kind, code & 1 ? "made" : "ENOENT",
	       code & 2 ? "missing" : "ok");
	fflush(stdout);
}

static int child_code(pid_t pid)
{
	int status;

	if (pid < 0)
		return 4;
	while (waitpid(pid, &status, __WALL) < 0)
		if (errno != EINTR)
			return 4;
	/* killed: the vfork child that went on to run sleep */
	if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
		return 0;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 4;
}

static int in_clone(void *arg)
{
	(void)arg;
	return check();
}

static void *in_thread(void *arg)
{
	char mine[4096];
	int code = 0;

	(void)arg;
	for (int i = 0; i < 200; i++)
		code |= check_in(mine);
	return (void *)(long)code;
}

int main(int argc, char **argv)
{
	static char stack[65536];
	pthread_t th[8];
	pid_t pid, sleeper;
	int code = 0;

	if (argc != 3)
		return 2;
	denied = argv[1];
	allowed = argv[2];

	/* The vfork child shares this memory and reads first; then it runs
	 * sleep, whose pid names a memory of its own. */
	sleeper = vfork();
	if (sleeper == 0) {
		int c = check();
		if (c != 0)
			_exit(c);
		execl("/bin/sleep", "sleep", "60", (char *)NULL);
		_exit(4);
	}
	/* The child has run sleep (or exited): this process's reads now
	 * find the child's pid kept, which names sleep's memory. */
	code = check();
	kill(sleeper, SIGKILL);
	say("vfork-first", child_code(sleeper));
	say("parent", code);
	code = 0;

	/* A fork child's buffer differs from the parent's (which holds the
	 * allowed path): a read of the parent's memory names that. */
	strcpy(buf, allowed);
	pid = fork();
	if (pid == 0)
		_exit(check());
	say("fork", child_code(pid));

	strcpy(buf, allowed);
	pid = (pid_t)syscall(SYS_clone, (long)SIGCHLD, 0L, 0L, 0L, 0L);
	if (pid == 0)
		_exit(check());
	say("clone", child_code(pid));

	pid = clone(in_clone, stack + sizeof stack, CLONE_VM | SIGCHLD, NULL);
	say("clone-vm", child_code(pid));
	say("parent-again", check());

	for (int i = 0; i < 8; i++)
		if (pthread_create(&th[i], NULL, in_thread, NULL) != 0)
			return 2;
	for (int i = 0; i < 8; i++) {
		void *r;
		pthread_join(th[i], &r);
		code |= (int)(long)r;
	}
	say("threads", code);
	return 0;
}
