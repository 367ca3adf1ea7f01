/*
 * sandbox_exec.c - built and run under `shmcache run` by
 * test_cli_sandbox.py: the calls that name a file for a program to run or
 * load beside the program itself, one line each ("OP: result"):
 *
 *   spawn-open:PATH      posix_spawn of /bin/true with an addopen action
 *   spawn-create:PATH    the same, the action creating PATH
 *   spawn-chdir:DIR      an addchdir_np action
 *   spawn-chdir-open:DIR:NAME   addchdir_np then addopen of NAME
 *   spawnp-open:PATH     posix_spawnp of "true" with an addopen action
 *   execveat:PATH        execveat(AT_FDCWD, PATH) in a child
 *   execveat-at:DIR:NAME execveat from a descriptor of DIR
 *   execveat-fd:FD       execveat(FD, "", AT_EMPTY_PATH) in a child
 *   fexecve:FD           fexecve(FD) in a child
 *   dlopen:PATH          dlopen(PATH): "ok", or dlerror's message and
 *                        whether a second dlerror gives NULL
 *
 * A spawn or exec that ran its program prints "ok" (its exit status 0),
 * else the errno's name.
 */
#define _GNU_SOURCE 1
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static const char *err_name(int e)
{
	switch (e) {
	case 0:
		return "ok";
	case ENOENT:
		return "ENOENT";
	case EACCES:
		return "EACCES";
	case EBADF:
		return "EBADF";
	case ENOSYS:
		return "ENOSYS";
	default:
		return "other";
	}
}

/* A spawn's result: its error, or the child's exit status. */
static int waited(int r, pid_t pid)
{
	int st;

	if (r != 0)
		return r;
	if (waitpid(pid, &st, 0) != pid)
		return errno;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : EIO;
}

static int spawn(const char *dir, const char *open_path, int oflag, int p)
{
	posix_spawn_file_actions_t fa;
	char *argv[] = { "true", NULL };
	pid_t pid;
	int r;

	posix_spawn_file_actions_init(&fa);
	if (dir != NULL)
		posix_spawn_file_actions_addchdir_np(&fa, dir);
	if (open_path != NULL)
		posix_spawn_file_actions_addopen(&fa, 20, open_path, oflag,
						 0644);
	r = p ? posix_spawnp(&pid, "true", &fa, NULL, argv, environ)
	      : posix_spawn(&pid, "/bin/true", &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	return waited(r, pid);
}

/* Runs an exec in a child: the child's errno comes back as its status. */
static int in_child(int (*ex)(const char *, const char *), const char *a,
		    const char *b)
{
	pid_t pid = fork();
	int st;

	if (pid == 0) {
		ex(a, b);
		_exit(100 + errno);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return EIO;
	st = WEXITSTATUS(st);
	return st >= 100 ? st - 100 : st == 0 ? 0 : EIO;
}

static char *const run_argv[] = { "true", NULL };

static int ex_at(const char *path, const char *unused)
{
	(void)unused;
	return execveat(AT_FDCWD, path, run_argv, environ, 0);
}

static int ex_at_dir(const char *dir, const char *name)
{
	int fd = open(dir, O_PATH | O_DIRECTORY);

	if (fd < 0)
		return -1;
	return execveat(fd, name, run_argv, environ, 0);
}

static int ex_at_fd(const char *fd, const char *unused)
{
	(void)unused;
	return execveat(atoi(fd), "", run_argv, environ, AT_EMPTY_PATH);
}

static int ex_fexecve(const char *fd, const char *unused)
{
	(void)unused;
	return fexecve(atoi(fd), run_argv, environ);
}

static void load(const char *path)
{
	void *h = dlopen(path, RTLD_NOW);
	const char *m;

	if (h != NULL) {
		printf("dlopen: ok\n");
		return;
	}
	/* the message lives until the next dlerror */
	m = dlerror();
	printf("dlopen: %s|", m != NULL ? m : "(null)");
	printf("%s\n", dlerror() == NULL ? "then NULL" : "then more");
}

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		char *op = argv[i], *a = strchr(op, ':'), *b;
		int r;

		if (a == NULL)
			return 2;
		*a++ = '\0';
		b = strchr(a, ':');
		if (b != NULL)
			*b++ = '\0';
		if (strcmp(op, "dlopen") == 0) {
			load(a);
			continue;
		}
		if (strcmp(op, "spawn-open") == 0)
			r = spawn(NULL, a, O_RDONLY, 0);
		else if (strcmp(op, "spawn-create") == 0)
			r = spawn(NULL, a, O_WRONLY | O_CREAT, 0);
		else if (strcmp(op, "spawn-chdir") == 0)
			r = spawn(a, NULL, 0, 0);
		else if (strcmp(op, "spawn-chdir-open") == 0)
			r = spawn(a, b, O_RDONLY, 0);
		else if (strcmp(op, "spawnp-open") == 0)
			r = spawn(NULL, a, O_RDONLY, 1);
		else if (strcmp(op, "execveat") == 0)
			r = in_child(ex_at, a, NULL);
		else if (strcmp(op, "execveat-at") == 0)
			r = in_child(ex_at_dir, a, b);
		else if (strcmp(op, "execveat-fd") == 0)
			r = in_child(ex_at_fd, a, NULL);
		else if (strcmp(op, "fexecve") == 0)
			r = in_child(ex_fexecve, a, NULL);
		else
			return 2;
		printf("%s: %s\n", op, err_name(r));
		fflush(stdout);
	}
	return 0;
}
