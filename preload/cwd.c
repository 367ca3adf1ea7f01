/*
 * cwd.c - the current directory, without a getcwd(2) per relative path.
 *
 * A process-wide copy of the cwd is kept under a sequence lock and stamped
 * with an epoch that the chdir/fchdir hooks bump after every call.  Readers
 * never wait: a copy being written (odd sequence: another thread, or this
 * thread interrupted by a signal) or a stale stamp sends them to getcwd(2),
 * after which they try to publish what they read.  Limits: a chdir made with
 * a raw system call, or a thread with its own cwd (unshare(CLONE_FS)), is not
 * seen.
 */
#include "shim.h"

#include <string.h>
#ifndef __APPLE__
#include <sys/syscall.h>
#endif

SHM_FORK_DATA static _Atomic unsigned cwd_seq;   /* odd while a writer fills the copy   */
SHM_FORK_DATA static _Atomic unsigned cwd_epoch; /* bumped after every chdir/fchdir     */
SHM_HOT_DATA static _Atomic unsigned cwd_stamp; /* epoch the copy was read at (+1: 0 = none) */
SHM_HOT_DATA static _Atomic size_t cwd_len;
static char cwd_copy[SHIM_KEY_CAP];

size_t shim_cwd(char *out, size_t cap)
{
	unsigned s = atomic_load_explicit(&cwd_seq, memory_order_acquire);
	unsigned e = atomic_load_explicit(&cwd_epoch, memory_order_acquire);
	long r;
	size_t n;

	if ((s & 1) == 0 &&
	    atomic_load_explicit(&cwd_stamp, memory_order_relaxed) == e + 1) {
		n = atomic_load_explicit(&cwd_len, memory_order_relaxed);
		if (n > 0 && n <= cap && n <= sizeof cwd_copy) {
			memcpy(out, cwd_copy, n);
			/* acquire: the copy is read before the re-check. */
			atomic_thread_fence(memory_order_acquire);
			if (atomic_load_explicit(&cwd_seq,
						 memory_order_relaxed) == s)
				return n;
		}
	}

	/* getcwd(2) returns the length with its NUL; a directory that is not
	 * reachable from our root comes back as "(unreachable)/...". */
	{
		int saved = errno, err; /* before the real call: keep it */
#ifdef __APPLE__
		r = getcwd(out, cap) != NULL ? (long)strlen(out) + 1 : -1;
#else
		r = syscall(SYS_getcwd, out, cap);
#endif
		err = errno;
		errno = saved;
		if (r < 0 && err == ERANGE)
			return CACHE_KEY_TOOLONG;
	}
	if (r <= 1 || out[0] != '/')
		return 0;
	n = (size_t)r - 1;

	/* Publish, unless someone else is writing: then just leave. */
	if ((s & 1) == 0 && n <= sizeof cwd_copy &&
	    atomic_compare_exchange_strong_explicit(&cwd_seq, &s, s + 1,
						    memory_order_relaxed,
						    memory_order_relaxed)) {
		/* release: the odd sequence is visible before the data. */
		atomic_thread_fence(memory_order_release);
		memcpy(cwd_copy, out, n);
		atomic_store_explicit(&cwd_len, n, memory_order_relaxed);
		atomic_store_explicit(&cwd_stamp, e + 1, memory_order_relaxed);
		/* release: the data is complete before the even sequence. */
		atomic_store_explicit(&cwd_seq, s + 2, memory_order_release);
	}
	return n;
}

void shim_cwd_changed(void)
{
	/* release: a reader that sees the new epoch also sees the call done. */
	atomic_fetch_add_explicit(&cwd_epoch, 1, memory_order_release);
}

SHIM_HOT void shim_cwd_after_fork(void)
{
	unsigned s = atomic_load_explicit(&cwd_seq, memory_order_relaxed);

	/* The writing thread does not exist in the child. */
	if (s & 1)
		atomic_store_explicit(&cwd_seq, s + 1, memory_order_relaxed);
	shim_cwd_changed();
}
