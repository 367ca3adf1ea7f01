/*
 * locate.c - where `run` finds the files it starts programs with (the
 * shim, shmcache-supervise): beside this program first (a build tree, an
 * installed layout), then in the directory configured at build time.
 */
/* realpath is XSI */
#define _XOPEN_SOURCE 700

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

bool cli_regular_file(const char *p, int mode)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISREG(st.st_mode) && access(p, mode) == 0;
}

char *cli_locate(const char *const *rel, size_t nrel, const char *fallback,
		 int mode)
{
	char exe[4096];
	ssize_t n = -1;
#ifndef __APPLE__
	n = readlink("/proc/self/exe", exe, sizeof exe - 1);
#endif
	if (n > 0) {
		exe[n] = '\0';
		char *slash = strrchr(exe, '/');
		if (slash != NULL)
			*slash = '\0';
		for (size_t i = 0; i < nrel; i++) {
			char cand[4096 + 128];
			snprintf(cand, sizeof cand, "%s%s", exe, rel[i]);
			if (cli_regular_file(cand, mode))
				return realpath(cand, NULL);
		}
	}
	if (fallback != NULL && cli_regular_file(fallback, mode))
		return realpath(fallback, NULL);
	return NULL;
}
