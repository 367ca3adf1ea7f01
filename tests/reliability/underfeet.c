/*
 * underfeet - the cache file deleted, replaced, resized or truncated while
 * processes have it mapped, through the ctrie API.
 *
 *   underfeet DIR
 *
 * 1. deleted while mapped: the mapping keeps working (records, lookups,
 *    a forked child's records); the next attach creates a new file.
 * 2. replaced (rename over it) while mapped: the old mapping keeps working
 *    on the old file; a new attach sees the new file only.
 * 3. resized files are refused by attach (shrunk or grown): the file is
 *    sized once at creation and attach checks the size.
 * 4. truncated while mapped: the limit.  A process that already mapped the
 *    file and touches a page past the new end gets SIGBUS from the kernel;
 *    nothing in a library can turn that into an error without a SIGBUS
 *    handler in the host program.  Checked here: new attaches are refused,
 *    and the mapped process either keeps working or ends by SIGBUS, never
 *    by another signal (a wild pointer of ours would be SIGSEGV).
 * Prints one line per check; exit 0 when every check passed.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ctrie_cache.h"

static int failed;

static void check(int ok, const char *what)
{
	printf("%s: %s\n", ok ? "ok" : "FAIL", what);
	if (!ok)
		failed = 1;
}

static int rec(struct cache *c, const char *key)
{
	return cache_record(c, key, strlen(key), CACHE_OP_READ);
}

static int has(struct cache *c, const char *key)
{
	return cache_lookup(c, key, strlen(key), NULL) == 1;
}

static int attach(struct cache *c, const char *path, unsigned flags)
{
	memset(c, 0, sizeof *c);
	return cache_attach(c, path, flags);
}

static void deleted(const char *path)
{
	struct cache a, b;
	int status = -1;
	pid_t pid;

	unlink(path);
	if (attach(&a, path, CACHE_ATTACH_CREATE) != CACHE_OK) {
		check(0, "deleted: create");
		return;
	}
	rec(&a, "/before/delete");
	unlink(path);
	pid = fork();
	if (pid == 0)
		_exit(rec(&a, "/child/after/delete") == CACHE_OK ? 0 : 1);
	if (pid > 0)
		waitpid(pid, &status, 0);
	check(rec(&a, "/after/delete") == CACHE_OK && has(&a, "/before/delete") &&
	      has(&a, "/after/delete") && has(&a, "/child/after/delete") &&
	      status == 0 && cache_verify(&a, NULL, NULL) == 0,
	      "deleted while mapped: records, lookups and a child's records work");
	check(attach(&b, path, CACHE_ATTACH_CREATE) == CACHE_OK &&
	      !has(&b, "/before/delete"),
	      "deleted: the next attach creates a new, empty cache");
	cache_detach(&b);
	cache_detach(&a);
}

static void replaced(const char *path, const char *other)
{
	struct cache a, b, n;

	unlink(path);
	unlink(other);
	if (attach(&a, path, CACHE_ATTACH_CREATE) != CACHE_OK ||
	    attach(&b, other, CACHE_ATTACH_CREATE) != CACHE_OK) {
		check(0, "replaced: create");
		return;
	}
	rec(&a, "/old/file");
	rec(&b, "/new/file");
	cache_detach(&b);
	if (rename(other, path) != 0) {
		check(0, "replaced: rename");
		return;
	}
	check(rec(&a, "/old/after") == CACHE_OK && has(&a, "/old/file") &&
	      !has(&a, "/new/file") && cache_verify(&a, NULL, NULL) == 0,
	      "replaced while mapped: the old mapping keeps working on the old file");
	check(attach(&n, path, 0) == CACHE_OK && has(&n, "/new/file") &&
	      !has(&n, "/old/after"),
	      "replaced: a new attach sees the new file only");
	cache_detach(&n);
	cache_detach(&a);
}

static void resized(const char *path)
{
	struct cache a;
	struct stat st;
	int rc;

	unlink(path);
	if (attach(&a, path, CACHE_ATTACH_CREATE) != CACHE_OK ||
	    stat(path, &st) != 0) {
		check(0, "resized: create");
		return;
	}
	cache_detach(&a);
	if (truncate(path, st.st_size / 2) != 0) {
		check(0, "resized: truncate");
		return;
	}
	rc = attach(&a, path, 0);
	check(rc == CACHE_E_ARENA && a.arena_err == SHM_E_SIZE,
	      "a shrunk file is refused by attach (size check)");
	if (rc == CACHE_OK)
		cache_detach(&a);
	rc = attach(&a, path, CACHE_ATTACH_CREATE);
	check(rc == CACHE_E_ARENA && a.arena_err == SHM_E_SIZE,
	      "a shrunk file is not re-sized by a creating attach");
	if (rc == CACHE_OK)
		cache_detach(&a);
	if (truncate(path, st.st_size + 4096) != 0) {
		check(0, "resized: grow");
		return;
	}
	rc = attach(&a, path, 0);
	check(rc == CACHE_E_ARENA && a.arena_err == SHM_E_SIZE,
	      "a grown file is refused by attach (size check)");
	if (rc == CACHE_OK)
		cache_detach(&a);
}

static void truncated_while_mapped(const char *path)
{
	struct cache a, b;
	struct stat st;
	int status = 0, rc, up[2], go[2];
	char ready;
	pid_t pid;

	unlink(path);
	if (attach(&a, path, CACHE_ATTACH_CREATE) != CACHE_OK ||
	    stat(path, &st) != 0 || pipe(up) != 0 || pipe(go) != 0) {
		check(0, "truncated: create");
		return;
	}
	cache_detach(&a);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		char key[64];
		int i;

		close(up[0]);
		close(go[1]);
		if (attach(&a, path, 0) != CACHE_OK)
			_exit(2);
		ready = 1;
		if (write(up[1], &ready, 1) != 1)
			_exit(3);
		/* wait for the truncation: the parent closes its end of go */
		if (read(go[0], &ready, 1) != 0)
			_exit(4);
		for (i = 0; i < 20000; i++) {
			snprintf(key, sizeof key, "/after/truncate/%d", i);
			if (rec(&a, key) != CACHE_OK)
				_exit(5);
		}
		_exit(0);
	}
	close(up[1]);
	close(go[0]);
	if (pid < 0 || read(up[0], &ready, 1) != 1) {
		check(0, "truncated: child attach");
		return;
	}
	/* keep the header pages, drop the arena */
	if (truncate(path, 2 << 20) != 0)
		check(0, "truncated: truncate");
	close(go[1]);
	close(up[0]);
	waitpid(pid, &status, 0);
	rc = attach(&b, path, 0);
	check(rc == CACHE_E_ARENA && b.arena_err == SHM_E_SIZE,
	      "truncated while mapped: new attaches are refused");
	if (rc == CACHE_OK)
		cache_detach(&b);
	check(WIFSIGNALED(status) ? WTERMSIG(status) == SIGBUS :
	      WIFEXITED(status) && (WEXITSTATUS(status) == 0 ||
				    WEXITSTATUS(status) == 5),
	      "truncated while mapped: the mapped process works on or ends "
	      "by SIGBUS");
	(void)st;
}

int main(int argc, char **argv)
{
	char path[4096], other[4096];

	if (argc != 2) {
		fprintf(stderr, "usage: underfeet DIR\n");
		return 2;
	}
	snprintf(path, sizeof path, "%s/underfeet-%d.cache", argv[1], (int)getpid());
	snprintf(other, sizeof other, "%s/underfeet-%d.new", argv[1], (int)getpid());
	deleted(path);
	replaced(path, other);
	resized(path);
	truncated_while_mapped(path);
	unlink(path);
	unlink(other);
	return failed;
}
