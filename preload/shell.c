/*
 * shell.c - system() and popen(): glibc runs "/bin/sh -c ..." through its
 * internal posix_spawn, with environ, where no hook sees it.  Around the
 * real call the shell is recorded (EXEC, before the call: its outcome is
 * not told apart from the command's), and when environ lost LD_PRELOAD or
 * SHMCACHE_FILE (clearenv, unsetenv) environ is pointed at a copy that has
 * them again (shim_env_build), then back at the program's own vector.
 *
 * The swap is what the child sees; during the call another thread sees the
 * copy too, which holds the program's strings plus ours.  Ours are static,
 * so a setenv of another thread that copies the vector meanwhile keeps
 * valid pointers; the one string built on the stack (the user's
 * LD_PRELOAD with ours appended) would not stay valid, so that case is
 * left as it is: the shell runs untraced.  A setenv, putenv or unsetenv
 * made by another thread during the call is kept when it replaced environ
 * (environ is put back only if it is still the copy); one that changed the
 * copy in place (unsetenv) is lost when the call returns.
 *
 * Not async-signal-safe, as system and popen are not.
 */
#include "shim.h"

#include <string.h>

#ifndef __APPLE__

#define SHELL_PATH "/bin/sh" /* glibc's _PATH_BSHELL */

void shim_shell_record(void)
{
	if (shim_active())
		shim_record_bytes(SHELL_PATH, sizeof SHELL_PATH - 1,
				  CACHE_OP_EXEC);
}

size_t shim_shell_plan(struct shim_envplan *p)
{
	/* as the exec hooks: also once recording stopped (BROKEN) */
	if (shim_env_plan(environ, p) == 0 || p->preload != 0)
		return 0; /* nothing missing, or a string on the stack: above */
	return p->vec;
}

void shim_shell_enter(struct shim_shell *s, const struct shim_envplan *p,
		      char **vec)
{
	char none[1];

	s->saved = environ;
	s->vec = vec;
	environ = (char **)shim_env_build(environ, p, vec, none);
	s->swapped = 1;
}

void shim_shell_leave(struct shim_shell *s)
{
	if (s->swapped && environ == s->vec)
		environ = s->saved;
}

SHIM_HOOKS_SHELL(SHIM_GEN)

#endif /* !__APPLE__ */
