/*
 * run_progress.c - `run --progress`: one line of live status on stderr
 * (entries, records per second, processes seen) while CMD runs, as watch
 * shows a cache.  A small process of its own draws it, so that run keeps
 * waiting for CMD as it does without: it reads the cache read-only and
 * writes only to stderr, never CMD's output.  On a terminal the line is
 * redrawn in place and cleared at the end; elsewhere (--progress given)
 * each refresh is a line of its own.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"

/* Refresh period. */
#define PROGRESS_MS 500

static bool run_progress_wanted(enum run_progress_mode mode)
{
	if (mode == PROGRESS_AUTO)
		return isatty(STDERR_FILENO) == 1;
	return mode == PROGRESS_ON;
}

/* Writes all of buf to stderr. */
static void put(const char *buf, size_t n)
{
	while (n > 0) {
		ssize_t w = write(STDERR_FILENO, buf, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		buf += w;
		n -= (size_t)w;
	}
}

static void draw(bool tty, const struct live_sample *first,
		 const struct live_sample *prev, const struct live_sample *cur)
{
	char line[160];
	uint64_t procs = cur->attaches >= first->attaches
				 ? cur->attaches - first->attaches : 0;
	int n = snprintf(line, sizeof line,
			 "%sshmcache: progress: %llu entries, %.0f records/s, "
			 "%llu process%s%s",
			 tty ? "\r\033[K" : "",
			 (unsigned long long)cur->entries,
			 live_rate(prev, cur), (unsigned long long)procs,
			 procs == 1 ? "" : "es", tty ? "" : "\n");
	if (n > 0)
		put(line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}

/* The drawing process: until run closes the other end of fd (or ends),
 * a refresh every PROGRESS_MS. */
static void progress_loop(const char *path, int fd, bool tty,
			  const uint64_t *attaches_before)
{
	struct cache c;
	struct live_sample first, prev, cur;
	if (cache_attach(&c, path, CACHE_ATTACH_RDONLY) != CACHE_OK ||
	    !live_sample(&c, &first))
		return;
	if (attaches_before != NULL)
		first.attaches = *attaches_before;
	prev = first;
	for (;;) {
		struct pollfd p = { fd, POLLIN, 0 };
		int r = poll(&p, 1, PROGRESS_MS);
		if (r > 0 || (r < 0 && errno != EINTR))
			break;
		if (r < 0 || !live_sample(&c, &cur))
			continue;
		draw(tty, &first, &prev, &cur);
		prev = cur;
	}
	if (tty)
		put("\r\033[K", 4);
	cache_detach(&c);
}

void run_progress_start(struct run_progress *p, const char *cache,
			struct cache *attached, enum run_progress_mode mode)
{
	int fds[2];
	struct cache_stats st;
	/* The processes are counted from here, before CMD starts, not from
	 * whenever the drawing process first looks: it may be scheduled
	 * after CMD's first processes have attached. */
	bool counted = attached != NULL &&
		       cache_stats(attached, &st, false) == CACHE_OK;
	p->pid = -1;
	p->fd = -1;
	if (!run_progress_wanted(mode) || pipe(fds) != 0)
		return;
	/* CMD must not hold the write end: the drawing stops when run
	 * closes it, whatever CMD leaves running. */
	fcntl(fds[1], F_SETFD, FD_CLOEXEC);
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		close(fds[1]);
		progress_loop(cache, fds[0], isatty(STDERR_FILENO) == 1,
			      counted ? &st.attaches : NULL);
		_exit(0);
	}
	close(fds[0]);
	if (pid < 0) {
		cli_warn("no progress line: cannot fork: %s", strerror(errno));
		close(fds[1]);
		return;
	}
	p->pid = pid;
	p->fd = fds[1];
}

void run_progress_stop(struct run_progress *p)
{
	if (p->pid <= 0)
		return;
	close(p->fd);
	while (waitpid(p->pid, NULL, 0) < 0 && errno == EINTR)
		;
	p->pid = -1;
	p->fd = -1;
}
