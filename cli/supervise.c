/*
 * supervise.c - run's side of the seccomp supervisor (supervisor/): finding
 * shmcache-supervise, checking once that the kernel lets a filter notify
 * (so that a failure is said once, here, rather than by every program),
 * and starting CMD under it when CMD bypasses libc.
 */
#define _GNU_SOURCE 1 /* realpath, syscall */
/* Linux only: seccomp */

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "../supervisor/elfkind.h"

#ifndef SHMCACHE_LIBEXECDIR
#define SHMCACHE_LIBEXECDIR "/usr/local/libexec"
#endif
#define SUP_NAME "shmcache-supervise"

static char *sup_helper;           /* set up: the helper's path */
static const char *sup_patterns;   /* --supervise patterns, or NULL */

/* $SHMCACHE_SUPERVISOR, else beside this program (the build tree, an
 * installed layout), else the configured libexecdir. */
static char *find_helper(void)
{
	const char *given = getenv("SHMCACHE_SUPERVISOR");
	if (given != NULL && given[0] != '\0')
		return cli_regular_file(given, X_OK) ? realpath(given, NULL)
						     : NULL;
	static const char *const rel[] = {
		"/../supervisor/" SUP_NAME,
		"/../libexec/" SUP_NAME,
		"/../libexec/shmcache/" SUP_NAME,
	};
	return cli_locate(rel, sizeof rel / sizeof rel[0],
			  SHMCACHE_LIBEXECDIR "/" SUP_NAME, X_OK);
}

/* In the probe's child, which the filter traces: a grandchild makes the
 * trapped call, the child answers it with CONTINUE.  The exit status is 0,
 * or the error of the answer (EINVAL: a kernel before 5.5). */
static int probe_continue(int listener)
{
	pid_t pid = fork();
	if (pid < 0)
		return errno;
	if (pid == 0)
		_exit(syscall(SYS_getppid) > 0 ? 0 : 1);
	struct seccomp_notif n;
	struct seccomp_notif_resp r;
	int e = 0;
	memset(&n, 0, sizeof n);
	while (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, &n) != 0)
		if (errno != EINTR)
			return errno;
	memset(&r, 0, sizeof r);
	r.id = n.id;
	r.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
	if (ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &r) != 0)
		e = errno;
	/* an unanswered call fails with ENOSYS once the listener closes */
	close(listener);
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return errno;
	if (e == 0 && !(WIFEXITED(st) && WEXITSTATUS(st) == 0))
		e = ENOSYS;
	return e;
}

/* 0 when a child can install a filter with a listener and answer a trapped
 * call with CONTINUE (Linux 5.5), else the error: EBUSY when a filter with
 * a listener (ours or another's) serves this process already. */
static int probe_user_notif(void)
{
	pid_t pid = fork();
	if (pid < 0)
		return errno;
	if (pid == 0) {
		struct sock_filter trap[] = {
			BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
				 offsetof(struct seccomp_data, nr)),
			BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getppid, 0, 1),
			BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
			BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		};
		struct sock_fprog prog = { sizeof trap / sizeof trap[0], trap };
		long fd;
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
			_exit(errno & 0xff);
		fd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
			     SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
		_exit(fd < 0 ? errno & 0xff : probe_continue((int)fd) & 0xff);
	}
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return errno;
	return WIFEXITED(st) ? WEXITSTATUS(st) : EINVAL;
}

static bool supervise_off(bool loud, bool debug, const char *why,
			  const char *detail)
{
	unsetenv("SHMCACHE_SUPERVISOR");
	unsetenv("SHMCACHE_SUPERVISE_PATTERNS");
	if (why != NULL && (loud || debug))
		cli_warn("%s%s%s: programs that bypass libc (static, Go) "
			 "run untraced",
			 why, detail ? ": " : "", detail ? detail : "");
	return false;
}

void run_supervise_nested_warn(const char *cache)
{
	const char *m = getenv("SHMCACHE_SUPERVISED");
	char link[64], exe[PATH_MAX];
	ssize_t n;
	size_t k = strlen(SUP_NAME);
	char *end;
	long pid;

	if (m == NULL || m[0] == '\0')
		return;
	errno = 0;
	pid = strtol(m, &end, 10);
	if (errno != 0 || *end != '\0' || pid <= 1)
		return;
	snprintf(link, sizeof link, "/proc/%ld/exe", pid);
	n = readlink(link, exe, sizeof exe);
	if (n <= (ssize_t)k || exe[n - (ssize_t)k - 1] != '/' ||
	    memcmp(exe + n - (ssize_t)k, SUP_NAME, k) != 0)
		return;
	cli_warn("this run is below a program traced by " SUP_NAME
		 " (pid %ld), whose seccomp filter every process inherits: "
		 "that supervisor records the path calls of this run's "
		 "programs into its own cache, not into %s (only one "
		 "supervisor can serve a process)", pid,
		 cache != NULL ? cache : "this run's cache");
}

bool run_supervise_setup(bool off, const char *patterns, bool loud,
			 bool debug)
{
	if (off)
		return supervise_off(loud, debug, NULL, NULL);
	char *helper = find_helper();
	if (helper == NULL)
		return supervise_off(loud, debug, "cannot find " SUP_NAME
				     " (name it with SHMCACHE_SUPERVISOR)",
				     NULL);
	int e = probe_user_notif();
	/* EBUSY with the marker set: our supervisor above serves CMD; without
	 * it, another's listener (a container runtime's) forbids ours */
	if (e == EBUSY && getenv("SHMCACHE_SUPERVISED") != NULL)
		e = 0;
	if (e == EBUSY) {
		free(helper);
		return supervise_off(loud, debug,
				     "another seccomp supervisor serves this "
				     "process", strerror(e));
	}
	if (e != 0) {
		free(helper);
		return supervise_off(loud, debug,
				     "no seccomp user notification here",
				     strerror(e));
	}
	if (setenv("SHMCACHE_SUPERVISOR", helper, 1) != 0 ||
	    (patterns != NULL &&
	     setenv("SHMCACHE_SUPERVISE_PATTERNS", patterns, 1) != 0)) {
		free(helper);
		return supervise_off(loud, debug, "cannot set the environment",
				     strerror(errno));
	}
	if (patterns == NULL)
		unsetenv("SHMCACHE_SUPERVISE_PATTERNS");
	sup_helper = helper;
	sup_patterns = patterns;
	return true;
}

char **run_supervise_argv(const char *path, char **argv)
{
	if (elf_foreign_path(path))
		cli_warn("%s is built for another ABI: neither the shim nor the "
			 "supervisor sees its own file accesses, which are not "
			 "recorded (programs it starts still are)", path);
	if (sup_helper == NULL)
		return NULL;
	/* the key the shim matches patterns against */
	char *key = sup_patterns != NULL ? path_normalize(path) : NULL;
	bool hit = key != NULL &&
		   elf_patterns_match(sup_patterns, key, strlen(key));
	free(key);
	if (!hit && !file_bypasses_libc(path))
		return NULL;
	size_t n = 0;
	while (argv[n] != NULL)
		n++;
	char **v = malloc((n + 4) * sizeof *v);
	if (v == NULL)
		return NULL;
	v[0] = sup_helper;
	v[1] = "--";
	v[2] = (char *)path;
	memcpy(v + 3, argv, (n + 1) * sizeof *v);
	return v;
}
