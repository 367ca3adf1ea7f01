/*
 * supervise.c - shmcache-supervise's start-up (see supervise.h): the fork
 * of the supervisor, the filter, the hand-over of its listener, the exec.
 *
 * Fail open: when the filter cannot be installed (no seccomp user
 * notification: kernel < 5.5 or a sandbox that forbids it) the program is
 * executed untraced and this says so on stderr.  EBUSY means a filter
 * with a listener serves this process already: when SHMCACHE_SUPERVISED
 * names a live shmcache-supervise, that one records the program and
 * nothing is said; else it is another's (a container runtime's), the
 * program runs untraced, unmarked (the shim in its dynamic children keeps
 * recording), and this says so.  When the
 * cache cannot be attached the supervisor still answers every call (and
 * says why once): a traced process never waits for a supervisor that is
 * not serving.  If the supervisor dies, the kernel fails the calls trapped
 * from then on with ENOSYS: the program sees errors, never a hang.
 */
#define _GNU_SOURCE 1

#include "supervise.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <limits.h>
#include <stdbool.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define SUP_MARK "SHMCACHE_SUPERVISED"

static void sup_warn(const char *what, const char *detail)
{
	fprintf(stderr, "shmcache-supervise: %s%s%s\n", what,
		detail ? ": " : "", detail ? detail : "");
}

/* Closes every descriptor but keep and stderr: close_range (Linux 5.9),
 * else one close a descriptor up to the limit. */
static void sup_close_all_but(int keep)
{
	long max = sysconf(_SC_OPEN_MAX);

	for (int i = 0; i < 2; i++)
		if (i != keep)
			close(i);
	if (keep < 3 ? syscall(SYS_close_range, 3u, ~0u, 0u) == 0
		     : (keep == 3 || syscall(SYS_close_range, 3u,
					     (unsigned)keep - 1u, 0u) == 0) &&
			       syscall(SYS_close_range, (unsigned)keep + 1u,
				       ~0u, 0u) == 0)
		return;
	if (max < 0 || max > 1 << 20)
		max = 1 << 20;
	for (int i = 3; i < max; i++)
		if (i != keep)
			close(i);
}

/* The supervisor's end: waits for the listener, then serves it. */
static int sup_child_serve(int sock, pid_t prog)
{
	char byte;
	char ctl[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { &byte, 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1,
			    .msg_control = ctl, .msg_controllen = sizeof ctl };
	struct cmsghdr *cm;
	struct cache cache, *c = NULL;
	const char *file = getenv("SHMCACHE_FILE");
	int fd, r;

	if (recvmsg(sock, &m, MSG_CMSG_CLOEXEC) != 1 ||
	    (cm = CMSG_FIRSTHDR(&m)) == NULL || cm->cmsg_type != SCM_RIGHTS)
		return 0; /* no filter: the program runs untraced */
	memcpy(&fd, CMSG_DATA(cm), sizeof fd);
	close(sock);
	/* Only the listener and stderr stay open: a pipe the program
	 * writes to must see its end when the program's own copies close. */
	sup_close_all_but(fd);
	if (file == NULL || file[0] == '\0')
		sup_warn("SHMCACHE_FILE is not set: nothing is recorded", NULL);
	else if ((r = cache_attach(&cache, file, 0)) != CACHE_OK)
		sup_warn(file, r == CACHE_E_ARENA
				       ? shm_strerror(cache.arena_err)
				       : cache_strerror(r));
	else
		c = &cache;
	(void)sup_sandbox_start(c);
	r = sup_serve(fd, c, prog);
	if (r != 0) {
		int e = errno;

		/* closed first: a call left unanswered fails with ENOSYS */
		close(fd);
		sup_warn("the seccomp listener failed, the program's path "
			 "calls fail with ENOSYS from here on", strerror(e));
	}
	return r == 0 ? 0 : 1;
}

/* Forks the supervisor as a grandchild (the program never has it as a
 * child to wait for) that is not traced itself; *sup gets its pid. */
static int sup_fork_supervisor(int sock[2], pid_t prog, pid_t *sup_pid)
{
	pid_t mid = fork(), gone;
	int st;

	if (mid < 0)
		return -1;
	if (mid == 0) {
		pid_t sup = fork();

		if (sup == 0) {
			/* A terminal's signals are for the program; the
			 * supervisor ends when the program's tree does. */
			signal(SIGINT, SIG_IGN);
			signal(SIGQUIT, SIG_IGN);
			signal(SIGHUP, SIG_IGN);
			signal(SIGTSTP, SIG_IGN);
			signal(SIGPIPE, SIG_IGN);
			close(sock[0]);
			_exit(sup_child_serve(sock[1], prog));
		}
		_exit(sup < 0 || write(sock[1], &sup, sizeof sup) != sizeof sup);
	}
	close(sock[1]);
	while ((gone = waitpid(mid, &st, 0)) < 0 && errno == EINTR)
		;
	if (gone != mid || !WIFEXITED(st) || WEXITSTATUS(st) != 0 ||
	    read(sock[0], sup_pid, sizeof *sup_pid) != sizeof *sup_pid)
		return -1;
	return 0;
}

static int sup_send_fd(int sock, int fd)
{
	char byte = 0;
	char ctl[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { &byte, 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1,
			    .msg_control = ctl, .msg_controllen = sizeof ctl };
	struct cmsghdr *cm;

	memset(ctl, 0, sizeof ctl);
	cm = CMSG_FIRSTHDR(&m);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof fd);
	return sendmsg(sock, &m, MSG_NOSIGNAL) == 1 ? 0 : -1;
}

/* Whether SHMCACHE_SUPERVISED names a live shmcache-supervise (the same
 * executable as this one): a supervisor of ours above. */
static bool sup_marked_above(void)
{
	const char *m = getenv(SUP_MARK);
	char link[64], them[PATH_MAX], me[PATH_MAX];
	ssize_t a, b;
	char *end;
	long pid;

	if (m == NULL || m[0] == '\0')
		return false;
	errno = 0;
	pid = strtol(m, &end, 10);
	if (errno != 0 || *end != '\0' || pid <= 1)
		return false;
	snprintf(link, sizeof link, "/proc/%ld/exe", pid);
	a = readlink(link, them, sizeof them);
	b = readlink("/proc/self/exe", me, sizeof me);
	return a > 0 && a == b && memcmp(them, me, (size_t)a) == 0;
}

/* sup_start's answer when the filter could not be installed (errno e):
 * 1 below a supervisor of ours, which serves the program; else -1, said. */
static int sup_install_failed(int e)
{
	if (e == EBUSY && sup_marked_above())
		return 1;
	if (e == EBUSY) {
		sup_warn("another seccomp supervisor (not shmcache's) serves "
			 "this process, the program runs untraced",
			 strerror(e));
		unsetenv(SUP_MARK);
		return -1;
	}
	sup_warn("no seccomp user notification here, the program runs "
		 "untraced", strerror(e));
	return -1;
}

/* Installs the filter and hands its listener over.  Returns 0 when the
 * program will be traced by it, 1 when a supervisor above traces it
 * already (EBUSY), -1 when it runs untraced. */
static int sup_start(void)
{
	int sock[2], fd, e, r;
	pid_t sup;
	char mark[32];
	void (*old_chld)(int);

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sock) != 0) {
		sup_warn("cannot make a socket pair", strerror(errno));
		return -1;
	}
	/* SIGCHLD inherited as SIG_IGN reaps the middle child unseen
	 * (waitpid: ECHILD); what the program inherits is restored */
	old_chld = signal(SIGCHLD, SIG_DFL);
	r = sup_fork_supervisor(sock, getpid(), &sup);
	e = errno;
	if (old_chld != SIG_ERR)
		signal(SIGCHLD, old_chld);
	if (r != 0) {
		sup_warn("cannot start the supervisor", strerror(e));
		close(sock[0]);
		return -1;
	}
	/* sandbox mode traps getdents64 too; below a supervisor of ours (the
	 * marker: the install fails with EBUSY) the cache is not looked at,
	 * which that supervisor would record */
	fd = sup_filter_install(getenv(SUP_MARK) == NULL &&
				sup_sandbox_in_file(getenv("SHMCACHE_FILE")));
	e = errno;
	if (fd < 0) {
		close(sock[0]); /* the supervisor sees no listener and ends */
		return sup_install_failed(e);
	}
	if (sup_send_fd(sock[0], fd) != 0) {
		/* The filter stays: with its listener closed, trapped calls
		 * fail with ENOSYS.  Nothing serves it, so say so. */
		sup_warn("cannot hand the listener to the supervisor",
			 strerror(errno));
	}
	close(fd);
	close(sock[0]);
	/* Yama's ptrace_scope 1 lets only an ancestor read the program's
	 * memory (process_vm_readv); the supervisor is none */
	(void)prctl(PR_SET_PTRACER, (unsigned long)sup, 0, 0, 0);
	/* the marker names the supervisor (for diagnostics and tests) */
	snprintf(mark, sizeof mark, "%d", (int)sup);
	setenv(SUP_MARK, mark, 1);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 4 || strcmp(argv[1], "--") != 0) {
		fputs("usage: shmcache-supervise -- PATH ARGV0 [ARGS...]\n"
		      "(started by libshmcache.so and `shmcache run` for "
		      "programs that bypass libc)\n", stderr);
		return 125;
	}
	(void)sup_start();
	execv(argv[2], argv + 3);
	int e = errno;
	fprintf(stderr, "shmcache-supervise: %s: %s\n", argv[2], strerror(e));
	return e == ENOENT ? 127 : 126;
}
