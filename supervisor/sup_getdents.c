/*
 * sup_getdents.c - sandbox mode: a traced program's directory listings
 * (getdents64 and getdents, of each ABI) without the entries the policy
 * denies, as the shim's readdir skips them.
 *
 * The filter traps the listings only when the cache holds a policy.  The
 * supervisor then makes the call itself, in the caller's ABI (an x32
 * number, or int 0x80 for i386, into a buffer below 4 GiB: a file
 * system hands a compat caller 32-bit directory offsets, and i386's
 * getdents its own entry layout), on the program's own open file
 * (pidfd_getfd: the same open file description, so the directory's
 * position moves as if the program had made the call), drops the denied
 * entries (cache_sandbox_listed: the decisions stored in the entries, the
 * rules, the server), writes what is left into the program's buffer
 * (process_vm_writev) and answers with its length.  A batch whose every
 * entry is hidden is followed by the next, so that 0 still means the end.
 * The buffer is read at most 64 KiB at a time (a shorter listing per call,
 * as the kernel may give).
 *
 * Order of the checks: /proc/TID is opened, the descriptor duplicated,
 * then SECCOMP_IOCTL_NOTIF_ID_VALID confirms that the call is still
 * waiting (the descriptor is that task's); the program's buffer is written
 * just before the answer.  When the descriptor cannot be had (no
 * pidfd_getfd: Linux < 5.6, or a descriptor that is no directory of a
 * path) the call is let through unfiltered; the first time, this is said.
 */
#define _GNU_SOURCE 1

#include "supervise.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL /* Linux 6.9: a pidfd of a thread */
#endif

#define SUP_DENTS_MAX 65536

static char sup_dents_native[SUP_DENTS_MAX], sup_dents_out[SUP_DENTS_MAX];

static void sup_dents_say(const char *why)
{
	static bool said;

	if (said)
		return;
	said = true;
	fprintf(stderr, "shmcache: sandbox: directory listings of supervised "
			"programs are not filtered: %s\n", why);
}

/* A descriptor of this process for the traced task's descriptor fd (the
 * same open file description), or -1. */
static int sup_task_fd(pid_t tid, int fd)
{
	long pidfd = syscall(SYS_pidfd_open, tid, PIDFD_THREAD);
	long dup;

	if (pidfd < 0 && errno == EINVAL) {
		pid_t tgid = sup_task_tgid(tid);

		pidfd = tgid > 0 ? syscall(SYS_pidfd_open, tgid, 0) : -1;
	}
	if (pidfd < 0) {
		sup_dents_say(strerror(errno));
		return -1;
	}
	dup = syscall(SYS_pidfd_getfd, (int)pidfd, fd, 0);
	if (dup < 0 && errno == ENOSYS)
		sup_dents_say("no pidfd_getfd (Linux 5.6)");
	close((int)pidfd);
	return (int)dup;
}

/* The entries of in[0..n), laid out as l says, that are not hidden,
 * copied to out; their length.  key holds the directory's key (base
 * bytes). */
static size_t sup_dents_keep(struct cache *c, struct cache_hint *h,
			     pid_t tid, const struct sup_listing *l,
			     char *key, size_t cap, size_t base,
			     const char *in, size_t n, char *out)
{
	size_t at = 0, kept = 0;

	while (at + l->name_at + 1u <= n) {
		const char *d = in + at, *name = d + l->name_at;
		unsigned short reclen;
		size_t len;
		bool hide = false;

		memcpy(&reclen, d + l->reclen_at, sizeof reclen);
		if (reclen < l->name_at + 1u || reclen > n - at ||
		    memchr(name, '\0', reclen - l->name_at) == NULL)
			break; /* not the kernel's: kept as it is below */
		if (strcmp(name, ".") != 0 && strcmp(name, "..") != 0) {
			len = cache_key_join(key, cap, base, name);
			hide = len != 0 && len != CACHE_KEY_TOOLONG &&
			       sup_sandbox_hides(c, h, tid, key, len);
		}
		if (!hide) {
			memcpy(out + kept, d, reclen);
			kept += reclen;
		}
		at += reclen;
	}
	return kept;
}

#if defined(__x86_64__)
/* An i386 system call from this 64-bit process (int 0x80: IA32
 * emulation, which a traced i386 task proves present). */
static long sup_int80(long nr, long a, long b, long c)
{
	long r;

	__asm__ volatile("int $0x80"
			 : "=a"(r)
			 : "a"(nr), "b"(a), "c"(b), "d"(c)
			 : "cc", "memory", "r8", "r9", "r10", "r11");
	return r;
}
#endif

/* A buffer for the call: below 4 GiB for a compat ABI (mapped once), or
 * NULL when none can be had. */
static char *sup_dents_buffer(const struct sup_listing *l)
{
#if defined(__x86_64__)
	static char *low;

	if (l->abi == SUP_ABI_NATIVE)
		return sup_dents_native;
	if (low == NULL) {
		void *m = mmap(NULL, SUP_DENTS_MAX, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);

		low = m != MAP_FAILED ? m : NULL;
	}
	return low;
#else
	(void)l;
	return sup_dents_native;
#endif
}

/* The listing call l on fd into buf, in l's ABI: its length, or -errno. */
static long sup_dents_call(const struct sup_listing *l, int fd, char *buf,
			   size_t count)
{
	long r;

#if defined(__x86_64__)
	if (l->abi == SUP_ABI_I386)
		return sup_int80(l->nr, fd, (long)(uintptr_t)buf, (long)count);
#endif
	r = syscall(l->nr, fd, buf, count); /* x32: the number says so */
	return r < 0 ? -errno : r;
}

/* The directory key of the task's fd, into key; its length, or 0. */
static size_t sup_dents_base(int proc, int fd, char *key, size_t cap)
{
	char name[32];
	ssize_t n;

	snprintf(name, sizeof name, "fd/%d", fd);
	n = readlinkat(proc, name, key, cap - 1);
	if (n <= 0 || key[0] != '/')
		return 0;
	return (size_t)n; /* 1: "/", which the caller joins as the root */
}

int sup_getdents(int listener, struct cache *c, struct cache_hint *h,
		 const struct seccomp_notif *n, const struct sup_listing *l,
		 int64_t *val)
{
	static char key[2 * PATH_MAX];
	pid_t tid = (pid_t)n->pid;
	int fd = (int)n->data.args[0], proc, dup, made = 0;
	uint64_t buf = n->data.args[1];
	size_t count = (size_t)(unsigned)n->data.args[2], base, kept = 0;
	char name[32], *in = sup_dents_buffer(l);

	snprintf(name, sizeof name, "/proc/%d", (int)tid);
	proc = in != NULL ? open(name, O_PATH | O_DIRECTORY | O_CLOEXEC) : -1;
	if (proc < 0)
		return 0;
	base = sup_dents_base(proc, fd, key, sizeof key);
	dup = base != 0 ? sup_task_fd(tid, fd) : -1;
	if (base == 1)
		base = 0; /* the root: cache_key_join's empty base */
	if (dup >= 0 && ioctl(listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &n->id) == 0) {
		if (count > SUP_DENTS_MAX)
			count = SUP_DENTS_MAX;
		made = 1;
		*val = 0;
		for (;;) {
			long r = sup_dents_call(l, dup, in, count);

			if (r <= 0) {
				*val = r;
				break;
			}
			kept = sup_dents_keep(c, h, tid, l, key, sizeof key,
					      base, in, (size_t)r,
					      sup_dents_out);
			if (kept != 0)
				break;
		}
		if (kept != 0) {
			struct iovec l = { sup_dents_out, kept };
			struct iovec rv = { (void *)(uintptr_t)buf, kept };

			*val = process_vm_writev(tid, &l, 1, &rv, 1, 0) ==
					       (ssize_t)kept
				       ? (int64_t)kept
				       : -EFAULT;
		}
	}
	if (dup >= 0)
		close(dup);
	close(proc);
	return made;
}
