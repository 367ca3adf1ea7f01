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
 */
#include "shim.h"

#include <string.h>

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

SHIM_HOOKS_TEMP(SHIM_GEN)

#endif /* !__APPLE__ */
