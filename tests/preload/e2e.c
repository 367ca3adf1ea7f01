/* e2e.c - see e2e.h. */
#define _GNU_SOURCE 1
#include "e2e.h"
#include "../ops_letters.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

const char *const e2e_shim = SHMCACHE_TEST_SHIM;
const char *const e2e_probe = SHMCACHE_TEST_PROBE;
const char *const e2e_probe_early = SHMCACHE_TEST_PROBE_EARLY;
const char *const e2e_userlib = SHMCACHE_TEST_USERLIB;

extern char **environ;

void e2e_skip_if_asan(void)
{
#ifdef SHMCACHE_TEST_ASAN
	cr_skip_test("an ASan-instrumented shim cannot be preloaded into "
		     "uninstrumented programs");
#endif
}

void e2e_init(struct e2e *t)
{
	e2e_skip_if_asan();
	memset(t, 0, sizeof *t);
	strcpy(t->root, "/tmp/shmcache-e2e-XXXXXX");
	cr_assert_not_null(mkdtemp(t->root));
	snprintf(t->work, sizeof t->work, "%s/work", t->root);
	snprintf(t->cache, sizeof t->cache, "%s/c.cache", t->root);
	cr_assert_eq(mkdir(t->work, 0755), 0);
}

void e2e_fini(struct e2e *t)
{
	char cmd[400];

	if (t->attached)
		cache_detach(&t->c);
	t->attached = false;
	if (t->root[0] != '\0') {
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", t->root);
		if (system(cmd) != 0)
			cr_log_warn("could not remove %s", t->root);
	}
}

const char *e2e_path(struct e2e *t, const char *rel)
{
	static char bufs[8][8192];
	static unsigned next;
	char *b = bufs[next++ % 8];

	snprintf(b, sizeof bufs[0], "%s/%s", t->work, rel);
	return b;
}

void e2e_mkdir(struct e2e *t, const char *rel)
{
	char cmd[9000];

	snprintf(cmd, sizeof cmd, "mkdir -p '%s'", e2e_path(t, rel));
	cr_assert_eq(system(cmd), 0);
}

void e2e_write(struct e2e *t, const char *rel, const char *text)
{
	const char *p = e2e_path(t, rel);
	char dir[8192];
	char *slash;
	FILE *f;

	snprintf(dir, sizeof dir, "%s", p);
	slash = strrchr(dir, '/');
	*slash = '\0';
	if (strcmp(dir, t->work) != 0) {
		char cmd[9000];
		snprintf(cmd, sizeof cmd, "mkdir -p '%s'", dir);
		cr_assert_eq(system(cmd), 0);
	}
	f = fopen(p, "w");
	cr_assert_not_null(f, "cannot write %s", p);
	fputs(text, f);
	fclose(f);
}

static size_t slurp(int fd, char *buf, size_t cap)
{
	size_t n = 0;
	ssize_t r;

	lseek(fd, 0, SEEK_SET);
	while (n + 1 < cap && (r = read(fd, buf + n, cap - 1 - n)) > 0)
		n += (size_t)r;
	buf[n] = '\0';
	return n;
}

static void env_apply(const char *const extra[])
{
	for (size_t i = 0; extra != NULL && extra[i] != NULL; i++) {
		const char *eq = strchr(extra[i], '=');
		char name[128];
		size_t n = (size_t)(eq - extra[i]);

		memcpy(name, extra[i], n);
		name[n] = '\0';
		if (eq[1] == '\0')
			unsetenv(name);
		else
			setenv(name, eq + 1, 1);
	}
}

void e2e_run(struct e2e *t, enum e2e_mode mode, const char *subdir,
	     const char *const argv[], const char *const extra[],
	     struct e2e_out *o)
{
	FILE *fo = tmpfile(), *fe = tmpfile();
	int status = 0;
	pid_t pid;

	cr_assert(fo != NULL && fe != NULL);
	fflush(NULL);
	pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		const char *dir = subdir ? e2e_path(t, subdir) : t->work;
		int devnull = open("/dev/null", O_RDONLY);
		if (chdir(dir) != 0)
			_exit(126);
		dup2(devnull, 0);
		dup2(fileno(fo), 1);
		dup2(fileno(fe), 2);
		unsetenv("LD_PRELOAD");
		unsetenv("SHMCACHE_FILE");
		unsetenv("SHMCACHE_DEBUG");
		setenv("LC_ALL", "C", 1);
		if (mode == E2E_SHIM) {
			setenv("LD_PRELOAD", e2e_shim, 1);
			setenv("SHMCACHE_FILE", t->cache, 1);
		}
		env_apply(extra);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		cr_assert_eq(errno, EINTR);
	o->code = WIFEXITED(status) ? WEXITSTATUS(status)
				    : 128 + WTERMSIG(status);
	o->out_len = slurp(fileno(fo), o->out, sizeof o->out);
	o->err_len = slurp(fileno(fe), o->err, sizeof o->err);
	fclose(fo);
	fclose(fe);
	/* The file may have been created by this run: attach afresh. */
	if (t->attached) {
		cache_detach(&t->c);
		t->attached = false;
	}
}

void e2e_sh(struct e2e *t, enum e2e_mode mode, const char *cmd,
	    struct e2e_out *o)
{
	const char *argv[] = { "sh", "-c", cmd, NULL };

	e2e_run(t, mode, NULL, argv, NULL, o);
}

static void attach(struct e2e *t)
{
	int r;

	if (t->attached)
		return;
	r = cache_attach(&t->c, t->cache, CACHE_ATTACH_RDONLY);
	cr_assert_eq(r, CACHE_OK, "cannot attach %s: %s", t->cache,
		     cache_strerror(r));
	t->attached = true;
}

static int lookup(struct e2e *t, const char *key, struct cache_entry *e)
{
	int r;

	attach(t);
	r = cache_lookup(&t->c, key, strlen(key), e);
	cr_assert(r >= 0, "lookup %s: %s", key, cache_strerror(r));
	return r;
}

uint64_t e2e_ops(struct e2e *t, const char *key)
{
	struct cache_entry e;

	return lookup(t, key, &e) == 1 ? e.ops : 0;
}

uint64_t e2e_count(struct e2e *t, const char *key)
{
	struct cache_entry e;

	return lookup(t, key, &e) == 1 ? e.count : 0;
}

void e2e_stats(struct e2e *t, struct cache_stats *st)
{
	attach(t);
	cr_assert_eq(cache_stats(&t->c, st, false), CACHE_OK);
}

void e2e_expect(struct e2e *t, const char *key, uint64_t bits)
{
	uint64_t ops = e2e_ops(t, key);
	char have[80], want[80];

	ops_letters(ops, have);
	ops_letters(bits, want);
	cr_expect(ops == bits, "%s: recorded [%s], expected exactly [%s]",
		  key, ops ? have : "absent", want);
}

void e2e_absent(struct e2e *t, const char *key)
{
	uint64_t ops = e2e_ops(t, key);
	char have[80];

	ops_letters(ops, have);
	cr_expect_eq(ops, 0, "%s: should be absent, recorded [%s]", key, have);
}
