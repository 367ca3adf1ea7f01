/*
 * sup_prog.c - the workloads of the supervisor tests, built twice: linked
 * dynamically (traced by the shim) and statically (traced by
 * shmcache-supervise).  Both must leave the same keys and bits.
 *
 *   sup_prog calls DIR      one call of each trapped family, in DIR (empty)
 *   sup_prog fan DIR N T    N forked children and T threads, each a stat
 *   sup_prog strings DIR    stat of names placed at page edges: ending
 *                           at the last byte before an unmapped page,
 *                           crossing into a mapped one, longer than 512
 *                           bytes (ending before an unmapped page too),
 *                           and one with no NUL before an unmapped page
 *   sup_prog links DIR      relative names at the kernel's limits: a
 *                           chain of 40 symbolic links (followed) and one
 *                           of 41 (ELOOP), by stat and open, from the
 *                           cwd and from a directory descriptor; the
 *                           empty name
 *   sup_prog longname DIR   stat and open of DIR/t by a relative name of
 *                           PATH_MAX - 1 bytes ("./" repeated)
 *   sup_prog getdents DIR   prints the names DIR holds (but . and ..),
 *                           one a line, as the old getdents(2) lists them
 *                           (not getdents64: its own entry layout)
 *   sup_prog kill DIR       kills the supervisor named by
 *                           SHMCACHE_SUPERVISED, waits for its end, then
 *                           opens DIR/after: prints the errno (ENOSYS: the
 *                           listener is gone), exits 0
 *   sup_prog count ...      prints its argument count
 *   sup_prog altexec PROG N from a signal handler on an 8 KiB alternate
 *                           stack, execve(PROG, {PROG, "count", N more})
 *   sup_prog exec PROG      execve(PROG, {PROG}); prints the errno if it
 *                           returns
 */
#define _GNU_SOURCE 1

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

/* The xattr family on a name that is not there: ENOENT for the shim and
 * the supervisor alike (an existing file's outcome depends on the file
 * system's xattr support, which no lookup foresees). */
static void xattr_calls(void)
{
	char buf[64];

	getxattr("xa-none", "user.k", buf, sizeof buf);
	lgetxattr("xa-none", "user.k", buf, sizeof buf);
	listxattr("xa-none", buf, sizeof buf);
	llistxattr("xa-none", buf, sizeof buf);
	setxattr("xa-none-set", "user.k", "v", 1, 0);
	lsetxattr("xa-none-set", "user.k", "v", 1, 0);
	removexattr("xa-none-set", "user.k");
	lremovexattr("xa-none-set", "user.k");
}

/* A relative name in a deleted current directory: no key (it names no
 * path), for the shim and the supervisor alike. */
static void deleted_cwd(void)
{
	struct stat st;
	int top = open(".", O_RDONLY | O_DIRECTORY);

	mkdir("gone", 0755);
	if (top < 0 || chdir("gone") != 0 ||
	    unlinkat(top, "gone", AT_REMOVEDIR) != 0)
		exit(2);
	stat("in-deleted", &st);
	if (fchdir(top) != 0)
		exit(2);
	close(top);
}

static void calls(void)
{
	struct stat st;
	char buf[64];
	int fd, dfd;
	DIR *d;

	mkdir("d", 0755);
	mkdir("d", 0755); /* EEXIST */
	fd = open("d/f", O_WRONLY | O_CREAT | O_EXCL, 0644);
	if (write(fd, "x", 1) != 1)
		exit(2);
	close(fd);
	close(open("d/f", O_RDONLY));
	open("d/missing", O_RDONLY);
	open("nodir/x", O_WRONLY | O_CREAT, 0644);
	stat("d/f", &st);
	lstat("d", &st);
	stat("nothere", &st);
	access("d/f", R_OK);
	access("nothere", F_OK);
	symlink("f", "d/l");
	readlink("d/l", buf, sizeof buf);
	readlink("d/f", buf, sizeof buf); /* EINVAL */
	link("d/f", "d/h");
	rename("d/h", "d/h2");
	rename("nothere", "x");
	truncate("d/f", 0);
	chmod("d/f", 0600);
	utimensat(AT_FDCWD, "d/f", NULL, 0);
	dfd = open("d", O_RDONLY | O_DIRECTORY);
	fstatat(dfd, "f", &st, 0);
	close(openat(dfd, "f", O_RDONLY));
	unlinkat(dfd, "h2", 0);
	close(dfd);
	if (chdir("d") != 0)
		exit(2);
	stat("f", &st);
	stat("../d", &st);
	if (chdir("..") != 0)
		exit(2);
	mkdir("e", 0755);
	rmdir("e");
	rmdir("nothere");
	unlink("d/l");
	mknod("d/fifo", S_IFIFO | 0600, 0);
	d = opendir("d");
	if (d != NULL)
		closedir(d);
	xattr_calls();
	deleted_cwd();
	execl("./no-such-program", "no-such-program", (char *)NULL);
}

static void *thread_stat(void *arg)
{
	char name[64];
	struct stat st;

	snprintf(name, sizeof name, "thread-%ld", (long)(intptr_t)arg);
	stat(name, &st);
	return NULL;
}

static int fan(int n, int t)
{
	pthread_t th[64];
	char name[64];
	struct stat st;

	for (int i = 0; i < n; i++) {
		pid_t p = fork();
		if (p < 0)
			return 2;
		if (p == 0) {
			snprintf(name, sizeof name, "child-%d", i);
			stat(name, &st);
			_exit(0);
		}
	}
	for (int i = 0; i < n; i++)
		wait(NULL);
	if (t > 64)
		t = 64;
	for (int i = 0; i < t; i++)
		pthread_create(&th[i], NULL, thread_stat, (void *)(intptr_t)i);
	for (int i = 0; i < t; i++)
		pthread_join(th[i], NULL);
	return 0;
}

/* name copied so that its NUL is the last byte of the page at base
 * (or that it starts `back` bytes before the page's end); stat of it. */
static void stat_at(char *page, const char *name, size_t back)
{
	size_t n = strlen(name) + 1, pg = (size_t)sysconf(_SC_PAGESIZE);
	char *at = back != 0 ? page + pg - back : page + pg - n;
	struct stat st;

	memcpy(at, name, n);
	stat(at, &st);
}

static int page_edges(void)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	char *m = mmap(NULL, 3 * pg, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char lng[700];
	struct stat st;
	int i = 0;

	if (m == MAP_FAILED || munmap(m + 2 * pg, pg) != 0)
		return 3;
	/* m: two mapped pages, then one that is not */
	stat_at(m + pg, "edge-end", 0);
	stat_at(m, "edge-cross", 5);
	for (; i < 300; i++)
		memcpy(lng + 2 * i, "./", 2);
	strcpy(lng + 2 * i, "edge-long");
	stat_at(m + pg, lng, 0);
	lng[2 * i] = 'x'; /* another name, from the first page on */
	stat_at(m, lng, 100);
	memset(m + pg, 'a', pg);
	memcpy(m + 2 * pg - 8, "edge-no", 7); /* its NUL is not mapped */
	stat(m + 2 * pg - 8, &st);
	return 0;
}

/* A chain of n links lN_0 -> lN_1 -> ... -> lN_{n-1} -> t. */
static void link_chain(int n)
{
	char from[32], to[32];

	for (int i = 0; i < n; i++) {
		snprintf(from, sizeof from, "l%d_%d", n, i);
		if (i + 1 < n)
			snprintf(to, sizeof to, "l%d_%d", n, i + 1);
		else
			snprintf(to, sizeof to, "t");
		if (symlink(to, from) != 0)
			exit(3);
	}
}

static int limits(void)
{
	struct stat st;
	int dfd;

	close(open("t", O_WRONLY | O_CREAT, 0644));
	link_chain(40); /* MAXSYMLINKS: followed */
	link_chain(41); /* one more: ELOOP */
	stat("l40_0", &st);
	close(open("l40_0", O_RDONLY));
	stat("l41_0", &st);
	open("l41_0", O_RDONLY);
	dfd = open(".", O_RDONLY | O_DIRECTORY);
	fstatat(dfd, "l40_0", &st, 0);
	fstatat(dfd, "l41_0", &st, 0);
	close(dfd);
	stat("", &st);
	return 0;
}

static int long_name(void)
{
	static char lng[PATH_MAX];
	struct stat st;
	int i = 0;

	close(open("t", O_WRONLY | O_CREAT, 0644));
	/* "./" up to PATH_MAX - 1 bytes in all, the last name "t" */
	for (; 2 * i + 1 < PATH_MAX - 1; i++)
		memcpy(lng + 2 * i, "./", 2);
	memcpy(lng + 2 * i - 1, "/t", 3);
	if (strlen(lng) != PATH_MAX - 1 || stat(lng, &st) != 0)
		return 3;
	close(open(lng, O_RDONLY));
	return 0;
}

static int list_getdents(void)
{
#ifdef SYS_getdents
	/* struct linux_dirent: ino, off, reclen, name; the type last */
	static char buf[512]; /* small: several calls for a few names */
	int fd = open(".", O_RDONLY | O_DIRECTORY);
	long n;

	if (fd < 0)
		return 3;
	while ((n = syscall(SYS_getdents, fd, buf, sizeof buf)) > 0) {
		for (long at = 0; at < n;) {
			unsigned short reclen;
			const char *name = buf + at + 18;

			memcpy(&reclen, buf + at + 16, sizeof reclen);
			if (strcmp(name, ".") != 0 && strcmp(name, "..") != 0)
				printf("%s\n", name);
			at += reclen;
		}
	}
	close(fd);
	return n < 0 ? 4 : 0;
#else
	return 77;
#endif
}

static int kill_supervisor(void)
{
	const char *m = getenv("SHMCACHE_SUPERVISED");
	int pid = m ? atoi(m) : 0, pfd, fd;
	struct pollfd p;

	if (pid <= 1)
		return 3;
	pfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pfd < 0 || kill(pid, SIGKILL) != 0)
		return 4;
	p.fd = pfd;
	p.events = POLLIN;
	if (poll(&p, 1, -1) != 1) /* readable: the supervisor has ended */
		return 5;
	fd = open("after", O_WRONLY | O_CREAT, 0644);
	printf("%s\n", fd >= 0 ? "opened" : strerror(errno));
	return 0;
}

#define ALT_MAX_ARGS 4096

static char *alt_argv[ALT_MAX_ARGS + 3];

static void alt_handler(int sig)
{
	extern char **environ;

	(void)sig;
	execve(alt_argv[0], alt_argv, environ);
	_exit(127);
}

/* The exec from a handler on a small alternate stack: the shim's exec
 * hook and its supervisor vector must fit there. */
static int altexec(const char *prog, int n)
{
	static char stack[8192];
	stack_t ss = { .ss_sp = stack, .ss_size = sizeof stack };
	struct sigaction sa = { .sa_handler = alt_handler,
				.sa_flags = SA_ONSTACK };

	if (n < 0 || n > ALT_MAX_ARGS || sigaltstack(&ss, NULL) != 0 ||
	    sigaction(SIGUSR1, &sa, NULL) != 0)
		return 3;
	alt_argv[0] = (char *)prog;
	alt_argv[1] = (char *)"count";
	for (int i = 0; i < n; i++)
		alt_argv[2 + i] = (char *)"arg";
	raise(SIGUSR1);
	return 4;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "count") == 0) {
		printf("%d\n", argc);
		return 0;
	}
	if (argc == 4 && strcmp(argv[1], "altexec") == 0)
		return altexec(argv[2], atoi(argv[3]));
	if (argc == 3 && strcmp(argv[1], "exec") == 0) {
		char *v[] = { argv[2], NULL };

		execv(argv[2], v);
		printf("%d\n", errno);
		return 0;
	}
	if (argc < 3 || chdir(argv[2]) != 0)
		return 2;
	if (strcmp(argv[1], "calls") == 0) {
		calls();
		return 0;
	}
	if (strcmp(argv[1], "fan") == 0 && argc == 5)
		return fan(atoi(argv[3]), atoi(argv[4]));
	if (strcmp(argv[1], "strings") == 0)
		return page_edges();
	if (strcmp(argv[1], "links") == 0)
		return limits();
	if (strcmp(argv[1], "longname") == 0)
		return long_name();
	if (strcmp(argv[1], "kill") == 0)
		return kill_supervisor();
	if (strcmp(argv[1], "getdents") == 0)
		return list_getdents();
	return 2;
}
