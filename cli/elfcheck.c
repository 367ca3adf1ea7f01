/*
 * elfcheck.c - does the command `run` starts bypass libc?  A program
 * without a PT_INTERP program header is not started by the dynamic loader,
 * so LD_PRELOAD never reaches it; a Go program makes its system calls
 * itself.  The ELF reading is supervisor/elfkind.c's, which the shim uses
 * too; here "#!" interpreters are followed as well.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "../supervisor/elfkind.h"

/* The file execvp would run for cmd, as a malloc'd path, or NULL. */
static char *resolve(const char *cmd)
{
	if (strchr(cmd, '/') != NULL)
		return strdup(cmd);
	const char *path = getenv("PATH");
	if (path == NULL)
		path = "/bin:/usr/bin";
	size_t clen = strlen(cmd);
	for (const char *p = path;; ) {
		const char *e = strchr(p, ':');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		char *cand = malloc(n + clen + 3);
		if (cand == NULL)
			return NULL;
		if (n == 0) {
			cand[0] = '.'; /* an empty PATH element is "." */
			n = 1;
		} else {
			memcpy(cand, p, n);
		}
		cand[n] = '/';
		memcpy(cand + n + 1, cmd, clen + 1);
		struct stat st;
		if (stat(cand, &st) == 0 && S_ISREG(st.st_mode) &&
		    access(cand, X_OK) == 0)
			return cand;
		free(cand);
		if (e == NULL)
			return NULL;
		p = e + 1;
	}
}

/* Opens file for a look at its headers: only a regular file that this
 * process may execute (as execve would: the exec error is then the
 * program's own, not the helper's), without blocking on a FIFO or device;
 * -1 otherwise. */
static int open_program(const char *file)
{
	struct stat st;
	int fd;

	if (access(file, X_OK) != 0)
		return -1;
	fd = open(file, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Follows "#!" interpreters up to depth levels. */
static bool file_is_static(const char *file, int depth)
{
	int fd = open_program(file);
	if (fd < 0)
		return false;
	enum elf_kind kind = elf_kind_fd(fd);
	if (kind != ELF_KIND_OTHER) {
		close(fd);
		return elf_kind_bypasses_libc(kind);
	}
	char line[256];
	ssize_t n = pread(fd, line, sizeof line - 1, 0);
	close(fd);
	if (depth == 0 || n < 3 || line[0] != '#' || line[1] != '!')
		return false;
	line[n] = '\0';
	char *s = line + 2;
	while (*s == ' ' || *s == '\t')
		s++;
	size_t k = strcspn(s, " \t\n");
	if (k == 0)
		return false;
	s[k] = '\0';
	return file_is_static(s, depth - 1);
}

bool file_bypasses_libc(const char *file)
{
	return file_is_static(file, 2);
}

bool elf_program_is_static(const char *cmd, char **resolved)
{
	*resolved = resolve(cmd);
	return *resolved != NULL && file_is_static(*resolved, 2);
}
