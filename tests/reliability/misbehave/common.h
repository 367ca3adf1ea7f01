/*
 * common.h - shared by the misbehaving programs: a small tree of files that
 * each program creates in its working directory, and one round of file calls
 * over it whose results are checked.
 *
 * Every program prints only what is the same with and without the preload
 * shim (no pids, no timings, no addresses), so that the runner can compare a
 * bare run with a traced one byte for byte.
 */
#ifndef MISBEHAVE_COMMON_H
#define MISBEHAVE_COMMON_H

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MB_NFILES 8

/* "data/<prefix><n>" into buf (at least 32 bytes).  Async-signal-safe:
 * snprintf is not, so the digits are written by hand. */
static inline void mb_path(char *buf, const char *prefix, unsigned n)
{
	char digits[12];
	size_t nd = 0, len = 0;
	const char *dir = "data/";

	while (*dir)
		buf[len++] = *dir++;
	while (*prefix && len < 20)
		buf[len++] = *prefix++;
	do {
		digits[nd++] = (char)('0' + n % 10);
		n /= 10;
	} while (n && nd < sizeof digits);
	while (nd)
		buf[len++] = digits[--nd];
	buf[len] = '\0';
}

/* Creates data/f0..f7, file n holding n+1 bytes of 'a'+n.  Not for signal
 * handlers.  Exits on failure: the program cannot run without its tree. */
static inline void mb_make_tree(void)
{
	char p[32];
	unsigned n;

	if (mkdir("data", 0755) != 0 && errno != EEXIST) {
		perror("mkdir data");
		exit(90);
	}
	for (n = 0; n < MB_NFILES; n++) {
		char content[MB_NFILES];
		int fd;

		mb_path(p, "f", n);
		memset(content, 'a' + (int)n, sizeof content);
		fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0 || write(fd, content, n + 1) != (ssize_t)(n + 1)) {
			perror(p);
			exit(91);
		}
		close(fd);
	}
}

/* One round of file calls on the tree, chosen by i: open+read+close of an
 * existing file, stat/lstat/access/openat of existing and missing paths.
 * Returns how many results were not as expected (0: all right).  Uses only
 * async-signal-safe calls and preserves errno, so that signal handlers,
 * vfork children and threads may call it. */
static inline int mb_file_calls(unsigned i)
{
	int saved = errno, bad = 0, fd;
	unsigned n = i % MB_NFILES;
	char p[32], c = 0;
	struct stat st;

	mb_path(p, "f", n);
	fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		bad++;
	else {
		if (read(fd, &c, 1) != 1 || c != 'a' + (int)n)
			bad++;
		close(fd);
	}
	if (stat(p, &st) != 0 || st.st_size != (off_t)(n + 1))
		bad++;
	if (lstat(p, &st) != 0 || !S_ISREG(st.st_mode))
		bad++;
	if (access("data", X_OK) != 0)
		bad++;
	fd = openat(AT_FDCWD, p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		bad++;
	else
		close(fd);

	mb_path(p, "missing", i % 64);
	if (stat(p, &st) != -1 || errno != ENOENT)
		bad++;
	if (open(p, O_RDONLY) != -1 || errno != ENOENT)
		bad++;
	if (access("data/f0/notadir", F_OK) != -1 || errno != ENOTDIR)
		bad++;
	errno = saved;
	return bad;
}

/* Writes a string with write(2): for signal handlers and for programs whose
 * stdio is closed or redirected. */
static inline void mb_write(int fd, const char *s)
{
	size_t len = strlen(s);

	while (len > 0) {
		ssize_t w = write(fd, s, len);
		if (w <= 0)
			return;
		s += w;
		len -= (size_t)w;
	}
}

#endif /* MISBEHAVE_COMMON_H */
