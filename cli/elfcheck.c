/*
 * elfcheck.c - is the command `run` starts statically linked?  A program
 * without a PT_INTERP program header is not started by the dynamic loader,
 * so LD_PRELOAD never reaches it.  The file is untrusted input: every read
 * is bounds-checked and any surprise means "not known to be static".
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

#define PT_INTERP_TYPE 3u
#define MAX_PHNUM 4096u

static uint64_t get_uint(const unsigned char *p, size_t n, bool big)
{
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++)
		v |= (uint64_t)p[big ? n - 1 - i : i] << (8 * i);
	return v;
}

static bool read_at(int fd, void *buf, size_t n, uint64_t off)
{
	if (off > (uint64_t)INT64_MAX)
		return false;
	ssize_t r = pread(fd, buf, n, (off_t)off);
	return r == (ssize_t)n;
}

/* 1: ELF without PT_INTERP; 0: ELF with one; -1: not ELF. */
static int elf_is_static(int fd)
{
	unsigned char h[64];
	if (!read_at(fd, h, 52, 0) || memcmp(h, "\177ELF", 4) != 0)
		return -1;
	bool is64 = h[4] == 2, big = h[5] == 2;
	if ((h[4] != 1 && h[4] != 2) || (h[5] != 1 && h[5] != 2))
		return -1;
	if (is64 && !read_at(fd, h, 64, 0))
		return -1;
	uint64_t phoff = is64 ? get_uint(h + 32, 8, big) : get_uint(h + 28, 4, big);
	size_t phentsize = (size_t)get_uint(h + (is64 ? 54 : 42), 2, big);
	size_t phnum = (size_t)get_uint(h + (is64 ? 56 : 44), 2, big);
	size_t need = is64 ? 56 : 32;
	if (phnum == 0 || phnum > MAX_PHNUM || phentsize < need)
		return phnum == 0 ? 1 : -1;
	unsigned char ph[64];
	for (size_t i = 0; i < phnum; i++) {
		if (!read_at(fd, ph, 4, phoff + (uint64_t)i * phentsize))
			return -1;
		if (get_uint(ph, 4, big) == PT_INTERP_TYPE)
			return 0;
	}
	return 1;
}

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

/* Follows "#!" interpreters up to depth levels. */
static bool file_is_static(const char *file, int depth)
{
	int fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	int r = elf_is_static(fd);
	if (r >= 0) {
		close(fd);
		return r == 1;
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

bool elf_program_is_static(const char *cmd, char **resolved)
{
	*resolved = resolve(cmd);
	return *resolved != NULL && file_is_static(*resolved, 2);
}
