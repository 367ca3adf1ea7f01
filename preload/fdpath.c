/*
 * fdpath.c - what a directory descriptor names, without a readlink of
 * /proc/self/fd/N for every *at call (find and fts make one per entry).
 *
 * (macOS: fcntl F_GETPATH instead of /proc.)
 *
 * A slot per descriptor number below FDPATH_SLOTS holds the path it was
 * opened with (open* with O_DIRECTORY, opendir), that the descriptor it
 * duplicates had (dup, fcntl F_DUPFD: fts duplicates every directory it
 * opens), or that /proc gave the first time.  Every way a number loses its meaning in this process goes through a
 * hook that forgets the slot after the real call: close, closedir, fclose,
 * dup2, dup3, close_range, closefrom.  A slot is a small sequence lock whose
 * word also counts forgettings, so a publication that raced with one is
 * dropped; readers never wait.  The name kept is the one the directory had
 * when it was opened (a later rename of it is not seen, as with any lexical
 * key).  Limit: a descriptor closed by a raw system call is not seen.
 */
#include "shim.h"

#include <string.h>
#ifndef __APPLE__
#include <sys/resource.h>
#include <sys/syscall.h>
#endif

#define FDPATH_SLOTS 256
#define FDPATH_MAX 244

/* state: (generation << 1) | writing.  valid: the state at which the data
 * was completed; the slot is valid while state == valid. */
struct fdpath_slot {
	_Atomic unsigned state;
	_Atomic unsigned valid;
	_Atomic unsigned len;
	char path[FDPATH_MAX];
};

static struct fdpath_slot fdpath_slots[FDPATH_SLOTS];

/* Returns the slot's state to publish from later, or 1 (odd: do not). */
static unsigned fdpath_read(int fd, char *out, size_t cap, size_t *len)
{
	struct fdpath_slot *s = &fdpath_slots[fd];
	unsigned st = atomic_load_explicit(&s->state, memory_order_acquire);
	size_t n;

	*len = 0;
	if (st & 1)
		return 1;
	if (atomic_load_explicit(&s->valid, memory_order_relaxed) != st)
		return st;
	n = atomic_load_explicit(&s->len, memory_order_relaxed);
	if (n == 0 || n > FDPATH_MAX || n > cap)
		return st;
	memcpy(out, s->path, n);
	/* acquire: the copy is done before the state is checked again. */
	atomic_thread_fence(memory_order_acquire);
	if (atomic_load_explicit(&s->state, memory_order_relaxed) == st)
		*len = n;
	return st;
}

/* Stores path in the slot if its state is still from (no forgetting or
 * other publication since); else leaves it. */
static void fdpath_publish(int fd, unsigned from, const char *path, size_t n)
{
	struct fdpath_slot *s;
	unsigned mid;

	if (fd < 0 || fd >= FDPATH_SLOTS || (from & 1) || n == 0 ||
	    n > FDPATH_MAX)
		return;
	s = &fdpath_slots[fd];
	mid = from;
	if (!atomic_compare_exchange_strong_explicit(&s->state, &mid, from + 1,
						     memory_order_relaxed,
						     memory_order_relaxed))
		return;
	/* release: the odd state is visible before the data changes. */
	atomic_thread_fence(memory_order_release);
	memcpy(s->path, path, n);
	atomic_store_explicit(&s->len, (unsigned)n, memory_order_relaxed);
	atomic_store_explicit(&s->valid, from + 2, memory_order_relaxed);
	mid = from + 1;
	/* release: the data is complete before the even state.  A forgetting
	 * meanwhile moved the state on: then end on a state != valid. */
	if (!atomic_compare_exchange_strong_explicit(&s->state, &mid, from + 2,
						     memory_order_release,
						     memory_order_relaxed))
		atomic_fetch_add_explicit(&s->state, 1, memory_order_release);
}

size_t shim_fd_path(int fd, char *out, size_t cap)
{
	char link[32] = "/proc/self/fd/";
	char digits[12];
	size_t n = 0, len = 14;
	unsigned from = 1;
	long r;
	int saved;

	if (fd < 0)
		return 0;
	if (fd < FDPATH_SLOTS) {
		from = fdpath_read(fd, out, cap, &n);
		if (n != 0)
			return n;
	}
	saved = errno; /* before the real call: keep it intact */
#ifdef __APPLE__
	(void)link;
	(void)digits;
	(void)len;
	r = cap >= PATH_MAX && fcntl(fd, F_GETPATH, out) != -1
		    ? (long)strlen(out)
		    : -1;
#else
	n = 0;
	for (int v = fd; n == 0 || v > 0; v /= 10)
		digits[n++] = (char)('0' + v % 10);
	while (n > 0)
		link[len++] = digits[--n];
	link[len] = '\0';
	r = syscall(SYS_readlinkat, AT_FDCWD, link, out, cap);
#endif
	errno = saved;
	if (r <= 0 || out[0] != '/')
		return 0; /* not a path (pipe:, anon_inode:) */
	if ((size_t)r >= cap)
		return CACHE_KEY_TOOLONG; /* readlink filled out: maybe cut */
	fdpath_publish(fd, from, out, (size_t)r);
	return (size_t)r;
}

SHIM_HOT void shim_fd_opened(int fd, int flags, const struct shim_key *k)
{
	unsigned st;

	if (fd < 0 || fd >= FDPATH_SLOTS)
		return;
	if (!(flags & O_DIRECTORY) || k->len == 0 || k->len == CACHE_KEY_TOOLONG) {
		shim_fd_forget(fd, fd);
		return;
	}
	st = atomic_load_explicit(&fdpath_slots[fd].state, memory_order_relaxed);
	fdpath_publish(fd, st, k->key, k->len);
}

unsigned shim_fd_state(long fd)
{
	if (fd < 0 || fd >= FDPATH_SLOTS)
		return 1;
	/* acquire: pairs with a publication's release, as in fdpath_read */
	return atomic_load_explicit(&fdpath_slots[fd].state,
				    memory_order_acquire);
}

void shim_fd_dup(int oldfd, unsigned before, int newfd)
{
	char path[FDPATH_MAX];
	size_t n = 0;
	unsigned st;

	if (newfd < 0 || newfd >= FDPATH_SLOTS)
		return;
	st = atomic_load_explicit(&fdpath_slots[newfd].state,
				  memory_order_relaxed);
	/* oldfd's slot is used only if it has not changed since before the
	 * call: else another thread may have closed and reused the number
	 * meanwhile, and what it names now is not what was duplicated. */
	if (!(before & 1) && fdpath_read(oldfd, path, sizeof path, &n) != before)
		n = 0;
	if (n == 0 || (st & 1)) {
		shim_fd_forget(newfd, newfd);
		return;
	}
	fdpath_publish(newfd, st, path, n);
}

#ifndef __APPLE__
#ifndef SYS_close_range
#define SYS_close_range 436 /* the same number on every architecture */
#endif

int shim_raw_close_range(unsigned first, unsigned last, int flags)
{
	return (int)syscall(SYS_close_range, first, last, flags);
}

void shim_raw_closefrom(int lowfd)
{
	int saved = errno;
	struct { uint64_t cur, max; } rl; /* the kernel's struct rlimit64 */
	long top = 1L << 20;

	if (lowfd < 0)
		lowfd = 0;
	if (syscall(SYS_close_range, (unsigned)lowfd, ~0u, 0) != 0) {
		/* An older kernel: one close per number that can be open
		 * (prlimit64, a raw call: getrlimit is not listed as
		 * async-signal-safe). */
		if (syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, NULL, &rl) == 0 &&
		    rl.cur < (uint64_t)top)
			top = (long)rl.cur;
		for (long fd = lowfd; fd < top; fd++)
			(void)syscall(SYS_close, fd);
	}
	errno = saved;
}
#endif

long shim_dir_fd(DIR *d)
{
	return d != NULL ? dirfd(d) : -1;
}

long shim_file_fd(FILE *f)
{
	int saved = errno, fd = f != NULL ? fileno(f) : -1;

	errno = saved;
	return fd;
}

SHIM_HOT void shim_fd_forget(long first, long last)
{
	if (first < 0)
		return;
	if (last >= FDPATH_SLOTS)
		last = FDPATH_SLOTS - 1;
	for (long fd = first; fd <= last; fd++) {
		struct fdpath_slot *s = &fdpath_slots[fd];
		/* A slot that holds nothing and is not being written needs
		 * no locked write (most closes are of files).  A publication
		 * racing with this one could only come from a call that uses
		 * the descriptor while it is being closed.  acquire: pairs
		 * with a publication's release, so that its valid word is
		 * seen with its state. */
		unsigned st = atomic_load_explicit(&s->state,
						   memory_order_acquire);
		if ((st & 1) == 0 &&
		    atomic_load_explicit(&s->valid, memory_order_relaxed) != st)
			continue;
		/* release: ordered after the real close that made this
		 * necessary. */
		atomic_fetch_add_explicit(&s->state, 2, memory_order_release);
	}
}
