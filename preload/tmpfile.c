/*
 * tmpfile.c - temporary files that glibc creates through internal calls no
 * hook sees (sysdeps/posix/tempname.c, stdio-common/tmpfile.c):
 *
 *   - mkstemp and kin open a name made from the template with O_RDWR |
 *     O_CREAT | O_EXCL (and mkostemp's flags), trying other names while
 *     one exists; mkdtemp makes a directory the same way.  The template
 *     then holds the name created, or after a failure the last name tried:
 *     it is recorded, after the call, as the open (or mkdir) hook records
 *     that call.  EINVAL (a template without its "XXXXXX") made no file
 *     operation and records nothing.  Earlier names that existed are not
 *     seen.
 *   - tmpfile opens P_tmpdir ("/tmp") with O_TMPFILE: recorded as the open
 *     hook records that call, when it succeeded.  Where the file system
 *     refuses O_TMPFILE, glibc creates and unlinks a named file instead:
 *     that name is not seen, "/tmp" is recorded all the same.
 *
 * In sandbox mode the template is decided before the call, as the path
 * that the open (or mkdir) of the name made from it would decide: a
 * template in a denied directory makes no file and fails with ENOENT.  So
 * does tmpfile when "/tmp" is denied (glibc's fallback looks in no other
 * directory).
 *
 * tempnam and tmpnam make a name, no file, in the first directory of
 * glibc's search (stdio-common/tempname.c, __path_search) that exists:
 * for tempnam TMPDIR (unless the program runs set-id), then its dir
 * argument, then P_tmpdir; for tmpnam P_tmpdir alone.  In sandbox mode a
 * denied directory is absent to that search (its violation recorded).
 * When none was skipped, libc's function runs; else the name is made here
 * as glibc makes it ("<dir>/<pfx, 5 bytes at most, "file" when
 * none>XXXXXX", the X's replaced by the real mktemp, which probes as
 * tempnam does) and returned in malloc'd memory, as tempnam's is: like
 * libc's, these are not async-signal-safe.
 */
#include "shim.h"

#include <string.h>
#include <sys/auxv.h>

#ifndef __APPLE__

#define TMP_DIR "/tmp" /* glibc's P_tmpdir */

void shim_tmpfile_note(void)
{
	if (shim_active())
		shim_record_bytes(TMP_DIR, sizeof TMP_DIR - 1,
				  cache_open_ops(O_RDWR | O_EXCL | O_TMPFILE) |
					  CACHE_OP_EXISTS);
}

int shim_temp_denied(struct shim_key *k, const char *tmpl, uint32_t ops)
{
	shim_key_at_copied(k, AT_FDCWD, tmpl);
	/* a walk through a denied directory: the key is that directory */
	if (k->walk_denied)
		return shim_sandbox_gate(k, ops) == SHIM_SB_DENY;
	/* the six X's are in the key unless the template is invalid */
	if (k->len == 0 || k->len == CACHE_KEY_TOOLONG ||
	    memmem(k->key, k->len, "XXXXXX", 6) == NULL)
		return 0;
	return shim_sandbox_gate(k, ops) == SHIM_SB_DENY;
}

int shim_tmpdir_denied(void)
{
	return shim_sandbox_gate_path(TMP_DIR, cache_open_ops(O_RDWR | O_EXCL |
							       O_TMPFILE)) ==
	       SHIM_SB_DENY;
}

/* TMPDIR from environ, without getenv; NULL for a set-id program, as
 * secure_getenv. */
static const char *tmp_env_dir(void)
{
	char **e = environ;

	if (e == NULL || getauxval(AT_SECURE) != 0)
		return NULL;
	for (; *e != NULL; e++)
		if (strncmp(*e, "TMPDIR=", 7) == 0)
			return *e + 7;
	return NULL;
}

/* glibc's direxists: stat (the real one) says a directory. */
static int tmp_dir_exists(const char *dir)
{
	shim_fn_stat st = shim_get_stat();
	struct stat s;

	return st != NULL && st(dir, &s) == 0 && S_ISDIR(s.st_mode);
}

/* One candidate of the search: 1 to use it, 0 to go on (*skipped set when
 * the policy denies one that exists). */
static int tmp_candidate(const char *dir, int *skipped)
{
	if (dir == NULL || !tmp_dir_exists(dir))
		return 0;
	if (shim_sandbox_gate_path(dir, CACHE_OP_STAT) == SHIM_SB_DENY) {
		*skipped = 1;
		return 0;
	}
	return 1;
}

/* The name glibc's tempnam makes in dir; malloc'd, or NULL with errno. */
static char *tmp_name_in(const char *dir, const char *pfx)
{
	size_t dlen = strlen(dir), plen;
	char *name;

	if (pfx == NULL || pfx[0] == '\0')
		pfx = "file";
	plen = strnlen(pfx, 5);
	while (dlen > 1 && dir[dlen - 1] == '/')
		dlen--;
	name = malloc(dlen + 1 + plen + 7);
	if (name == NULL)
		return NULL;
	memcpy(name, dir, dlen);
	name[dlen] = '/';
	memcpy(name + dlen + 1, pfx, plen);
	memcpy(name + dlen + 1 + plen, "XXXXXX", 7);
	mktemp(name);
	if (name[0] == '\0') {
		free(name);
		return NULL;
	}
	return name;
}

static char *sbcall_tempnam(shim_fn_tempnam fn, const char *dir,
			    const char *pfx)
{
	const char *env = tmp_env_dir(), *use;
	int skipped = 0;

	use = tmp_candidate(env, &skipped)   ? env
	      : tmp_candidate(dir, &skipped) ? dir
	      : tmp_candidate(TMP_DIR, &skipped) ? TMP_DIR
						 : NULL;
	if (!skipped)
		return fn(dir, pfx);
	if (use == NULL) {
		errno = ENOENT;
		return NULL;
	}
	return tmp_name_in(use, pfx);
}

static char *sbcall_tmpnam(shim_fn_tmpnam fn, char buf[L_tmpnam])
{
	if (shim_tmpdir_denied()) {
		errno = ENOENT;
		return NULL;
	}
	return fn(buf);
}

static char *sbcall_tmpnam_r(shim_fn_tmpnam_r fn, char buf[L_tmpnam])
{
	return sbcall_tmpnam((shim_fn_tmpnam)fn, buf);
}

SHIM_HOOKS_TEMP(SHIM_GEN)

#endif /* !__APPLE__ */
