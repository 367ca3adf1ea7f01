/*
 * probe.c - a small program that makes the calls the end-to-end tests ask
 * for, one argument per call ("op:arg:arg"), so that the tests can check
 * what the shim recorded for calls that no common program makes in a
 * controlled way (*at with real descriptors, threads, signals, vfork...).
 * Prints one line per call: "op rc errno".
 */
#define _GNU_SOURCE 1
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/syscall.h>
#include <unistd.h>

extern char **environ;

static char *field(char **rest)
{
	char *s = *rest, *c;

	if (s == NULL)
		return NULL;
	c = strchr(s, ':');
	if (c != NULL) {
		*c = '\0';
		*rest = c + 1;
	} else {
		*rest = NULL;
	}
	return s;
}

static int dirfd_of(const char *d)
{
	return strcmp(d, ".") == 0 ? AT_FDCWD
				   : open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

/* threads:N:COUNT:SHARED:PREFIX - N threads, each stats SHARED and
 * PREFIX<i> COUNT times. */
struct thr {
	const char *shared;
	char own[256];
	long count;
};

static void *thr_main(void *arg)
{
	struct thr *t = arg;
	struct stat st;

	for (long i = 0; i < t->count; i++) {
		(void)stat(t->shared, &st);
		(void)stat(t->own, &st);
	}
	return NULL;
}

static void run_threads(int n, long count, const char *shared,
			const char *prefix)
{
	pthread_t tid[64];
	struct thr t[64];

	for (int i = 0; i < n && i < 64; i++) {
		t[i].shared = shared;
		snprintf(t[i].own, sizeof t[i].own, "%s%d", prefix, i);
		t[i].count = count;
		pthread_create(&tid[i], NULL, thr_main, &t[i]);
	}
	for (int i = 0; i < n && i < 64; i++)
		pthread_join(tid[i], NULL);
}

/* signals:N:PATH_MAIN:PATH_HANDLER - another thread sends N SIGUSR1 to the
 * main thread, whose handler opens and stats PATH_HANDLER; the main thread
 * loops on open/stat of PATH_MAIN until every signal was handled. */
static const char *sig_path;
static volatile sig_atomic_t sig_seen;

static void on_usr1(int sig)
{
	struct stat st;
	int fd = open(sig_path, O_RDONLY);

	(void)sig;
	if (fd >= 0)
		close(fd);
	(void)stat(sig_path, &st);
	sig_seen++;
}

struct killer {
	pthread_t target;
	long n;
};

static void *killer_main(void *arg)
{
	struct killer *k = arg;

	for (long i = 0; i < k->n; i++) {
		long before = sig_seen;
		pthread_kill(k->target, SIGUSR1);
		while (sig_seen == before)
			sched_yield();
	}
	return NULL;
}

static long run_signals(long n, const char *main_path, const char *hpath)
{
	struct sigaction sa;
	struct killer k = { pthread_self(), n };
	pthread_t tid;
	long loops = 0;
	struct stat st;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_usr1;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sigaction(SIGUSR1, &sa, NULL);
	sig_path = hpath;
	pthread_create(&tid, NULL, killer_main, &k);
	while (sig_seen < n) {
		int fd = open(main_path, O_RDONLY);
		if (fd >= 0)
			close(fd);
		(void)stat(main_path, &st);
		loops++;
	}
	pthread_join(tid, NULL);
	return loops;
}

static int wait_child(pid_t pid)
{
	int status = 0;

	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

/* vfork:PROG:ARG - vfork + execv, the parent waits.  In a function of its
 * own, so that no caller variable lives across the vfork. */
static __attribute__((noinline)) int run_vfork(const char *prog,
					       const char *arg)
{
	char *const av[] = { (char *)prog, (char *)arg, NULL };
	pid_t pid = vfork();

	if (pid == 0) {
		execv(av[0], av);
		_exit(127);
	}
	return wait_child(pid);
}

/* vforkp:NAME:ARG - vfork + execvp (the PATH search in the child, on the
 * parent's stack), the parent waits. */
static __attribute__((noinline)) int run_vforkp(const char *name,
						const char *arg)
{
	char *const av[] = { (char *)name, (char *)arg, NULL };
	pid_t pid = vfork();

	if (pid == 0) {
		execvp(av[0], av);
		_exit(127);
	}
	return wait_child(pid);
}

#ifdef PROBE_NEEDS_USERLIB
int userlib_linked(void);
#endif

int main(int argc, char **argv)
{
	int held = -1; /* a descriptor kept between ops (hold, atheld...) */

#ifdef PROBE_NEEDS_USERLIB
	held = userlib_linked() - 1;
#endif
	for (int i = 1; i < argc; i++) {
		/* all after "op:", colons kept (setpath, system, popen) */
		static char tail[8192];
		const char *colon = strchr(argv[i], ':');
		char *rest = argv[i];
		const char *op;

		snprintf(tail, sizeof tail, "%s", colon ? colon + 1 : "");
		op = field(&rest);
		const char *a = field(&rest), *b = field(&rest);
		const char *c = field(&rest), *d = field(&rest);
		struct stat st;
		long rc = 0;

		errno = 0;
		if (strcmp(op, "stat") == 0) {
			rc = stat(a, &st);
		} else if (strcmp(op, "lstat") == 0) {
			rc = lstat(a, &st);
		} else if (strcmp(op, "open") == 0) {
			rc = open(a, O_RDONLY);
			if (rc >= 0)
				close((int)rc);
		} else if (strcmp(op, "alloc") == 0) {
			/* a MiB of address space, written: as a program
			 * that allocates close to its RLIMIT_AS */
			size_t n = (size_t)strtoul(a, NULL, 10) << 20;
			char *p = malloc(n);
			rc = p != NULL ? 0 : -1;
			if (p != NULL)
				memset(p, 1, n);
			free(p);
		} else if (strcmp(op, "create") == 0) {
			rc = open(a, O_WRONLY | O_CREAT | O_TRUNC, 0644);
			if (rc >= 0)
				close((int)rc);
		} else if (strcmp(op, "access") == 0) {
			rc = access(a, R_OK);
		} else if (strcmp(op, "chdir") == 0) {
			rc = chdir(a);
		} else if (strcmp(op, "fchdir") == 0) {
			int fd = open(a, O_RDONLY | O_DIRECTORY);
			rc = fchdir(fd);
			close(fd);
		} else if (strcmp(op, "openat") == 0) {
			int dfd = dirfd_of(a);
			rc = openat(dfd, b, O_RDONLY);
			if (rc >= 0)
				close((int)rc);
		} else if (strcmp(op, "fstatat") == 0) {
			int dfd = dirfd_of(a);
			rc = fstatat(dfd, b, &st, AT_SYMLINK_NOFOLLOW);
		} else if (strcmp(op, "mkdirat") == 0) {
			rc = mkdirat(dirfd_of(a), b, 0755);
		} else if (strcmp(op, "unlinkat") == 0) {
			rc = unlinkat(dirfd_of(a), b, 0);
		} else if (strcmp(op, "renameat") == 0) {
			rc = renameat(dirfd_of(a), b, dirfd_of(c), d);
		} else if (strcmp(op, "readlinkself") == 0) {
			/* the path's own buffer receives the target (as some
			 * programs do; hidden from the compiler, which rightly
			 * calls it undefined) */
			char buf[PATH_MAX];
			char *volatile out = buf;
			snprintf(buf, sizeof buf, "%s", a);
			rc = readlink(buf, out, sizeof buf);
		} else if (strcmp(op, "symlinkat") == 0) {
			rc = symlinkat(a, dirfd_of(b), c);
		} else if (strcmp(op, "hold") == 0 || strcmp(op, "holddir") == 0) {
			rc = held = open(a, O_RDONLY | (op[4] ? O_DIRECTORY : 0));
		} else if (strcmp(op, "atheld") == 0) {
			rc = fstatat(held, a, &st, 0);
		} else if (strcmp(op, "closeheld") == 0) {
			rc = close(held);
		} else if (strcmp(op, "dup2held") == 0) {
			/* the held number now names a directory */
			int fd = open(a, O_RDONLY | O_DIRECTORY);
			rc = dup2(fd, held);
			close(fd);
		} else if (strcmp(op, "dupstale") == 0) {
			/* dupstale:D1:D2:NAME - number 40 names D1 (dup2, then
			 * an fstatat that looks it up), is closed unseen (raw
			 * system call), and comes back from F_DUPFD of D2:
			 * fstatat(40, NAME) is under D2.  Then dup of it. */
			int f1 = open(a, O_RDONLY | O_DIRECTORY), f2, g;
			rc = -1;
			if (f1 >= 0 && dup2(f1, 40) == 40) {
				(void)fstatat(40, "probe-stale", &st, 0);
				(void)syscall(SYS_close, 40);
				f2 = open(b, O_RDONLY | O_DIRECTORY);
				g = fcntl(f2, F_DUPFD_CLOEXEC, 40);
				rc = g == 40 ? fstatat(g, c, &st, 0) : -1;
				close(f2);
				(void)syscall(SYS_close, 41);
				g = dup(40); /* 41: was never seen */
				if (g >= 0)
					(void)fstatat(g, "probe-dup", &st, 0);
				close(g);
				close(40);
			}
			if (f1 >= 0)
				close(f1);
		} else if (strcmp(op, "opendirat") == 0) {
			/* opendir:D then fstatat(dirfd, NAME), closedir */
			DIR *dir = opendir(a);
			rc = dir ? fstatat(dirfd(dir), b, &st, 0) : -1;
			if (dir)
				closedir(dir);
		} else if (strcmp(op, "threads") == 0) {
			run_threads(atoi(a), atol(b), c, d);
		} else if (strcmp(op, "signals") == 0) {
			rc = run_signals(atol(a), b, c);
		} else if (strcmp(op, "fork") == 0) {
			/* fork:CHILD_PATH - the child stats it and exits */
			pid_t pid = fork();
			if (pid == 0)
				_exit(stat(a, &st) == 0 ? 0 : 1);
			rc = wait_child(pid);
		} else if (strcmp(op, "vfork") == 0) {
			rc = run_vfork(a, b);
		} else if (strcmp(op, "spawn-noenv") == 0) {
			/* spawn-noenv:PROG:ARG - posix_spawn with an empty env */
			char *av[] = { (char *)a, (char *)b, NULL };
			char *ev[] = { NULL };
			pid_t pid;
			rc = posix_spawn(&pid, a, NULL, NULL, av, ev);
			if (rc == 0)
				rc = wait_child(pid);
		} else if (strcmp(op, "exec-env") == 0) {
			/* exec-env:PROG:ARG:VAR=VAL - execve with only that */
			char *av[] = { (char *)a, (char *)b, NULL };
			char *ev[] = { (char *)c, NULL };
			fflush(stdout);
			execve(a, av, c != NULL ? ev : ev + 1);
			rc = -1;
		} else if (strcmp(op, "execlp") == 0) {
			fflush(stdout);
			execlp(a, a, b, (char *)NULL);
			rc = -1;
		} else if (strcmp(op, "dlopen") == 0) {
			/* dlopen:NAME - RTLD_NOW; rc 0, or -1 (dlerror on stderr) */
			void *h = dlopen(a, RTLD_NOW);
			rc = h != NULL ? 0 : -1;
			if (h == NULL)
				fprintf(stderr, "probe: %s\n", dlerror());
		} else if (strcmp(op, "execvp") == 0) {
			/* execvp:NAME:ARG */
			char *av[] = { (char *)a, (char *)b, NULL };
			fflush(stdout);
			execvp(a, av);
			rc = -1;
		} else if (strcmp(op, "vforkp") == 0) {
			fflush(stdout);
			rc = run_vforkp(a, b);
		} else if (strcmp(op, "clearenv") == 0) {
			rc = clearenv();
		} else if (strcmp(op, "setpath") == 0) {
			rc = setenv("PATH", tail, 1);
		} else if (strcmp(op, "system") == 0) {
			fflush(stdout);
			rc = system(tail);
		} else if (strcmp(op, "popen") == 0) {
			/* popen:CMD - its output is copied to ours */
			FILE *f;
			char line[512];
			fflush(stdout);
			f = popen(tail, "r");
			rc = -1;
			if (f != NULL) {
				while (fgets(line, sizeof line, f) != NULL)
					fputs(line, stdout);
				rc = pclose(f);
			}
		} else if (strcmp(op, "mkstemp") == 0 ||
			   strcmp(op, "mkostemps") == 0 ||
			   strcmp(op, "mkdtemp") == 0) {
			/* mk*temp:TEMPLATE - prints the name it leaves */
			char tmpl[PATH_MAX];
			snprintf(tmpl, sizeof tmpl, "%s", a);
			if (op[2] == 'd')
				rc = mkdtemp(tmpl) != NULL ? 0 : -1;
			else if (op[2] == 'o')
				rc = mkostemps(tmpl, 2, O_CLOEXEC);
			else
				rc = mkstemp(tmpl);
			printf("name %s\n", tmpl);
			if (rc > 0)
				close((int)rc);
		} else if (strcmp(op, "tmpfile") == 0) {
			FILE *f = tmpfile();
			rc = f != NULL ? 0 : -1;
			if (f != NULL)
				fclose(f);
		} else if (strcmp(op, "realpath") == 0) {
			char *r = realpath(a, NULL);
			rc = r != NULL ? 0 : -1;
			printf("resolved %s\n", r != NULL ? r : "(null)");
			free(r);
		} else if (strcmp(op, "showenv") == 0) {
			/* what a child got: the two variables, and a stat */
			const char *p = getenv("LD_PRELOAD");
			const char *f = getenv("SHMCACHE_FILE");
			printf("LD_PRELOAD=%s\nSHMCACHE_FILE=%s\n",
			       p ? p : "(unset)", f ? f : "(unset)");
			rc = stat("showenv.txt", &st);
		} else {
			fprintf(stderr, "probe: unknown op %s\n", op);
			return 2;
		}
		printf("%s %ld %d\n", op, rc, rc < 0 ? errno : 0);
		fflush(stdout);
	}
	return 0;
}
