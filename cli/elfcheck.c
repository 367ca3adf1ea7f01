/*
 * elfcheck.c - does the command `run` starts bypass libc?  A program
 * without a PT_INTERP program header is not started by the dynamic loader,
 * so LD_PRELOAD never reaches it; a Go program makes its system calls
 * itself.  The reading of ELF headers and "#!" lines is elf_kind_path's
 * (supervisor/elfkind.c), the one the shim decides with; here only the
 * PATH search is added.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h> /* X_OK */

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
		if (cli_regular_file(cand, X_OK))
			return cand;
		free(cand);
		if (e == NULL)
			return NULL;
		p = e + 1;
	}
}

bool file_bypasses_libc(const char *file)
{
	return elf_kind_bypasses_libc(elf_kind_path(file));
}

bool elf_program_is_static(const char *cmd, char **resolved)
{
	*resolved = resolve(cmd);
	return *resolved != NULL && file_bypasses_libc(*resolved);
}
