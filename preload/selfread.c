/*
 * selfread.c - shim_read_self: a read of this process's memory that cannot
 * fault, made with one system call where the process reads often (sandbox
 * mode makes every key before the real call, so every hook reads the
 * caller's string this way).
 *
 * process_vm_readv(2) names the memory it reads by a pid.  Asking getpid
 * for every read doubles its cost; a pid kept in ordinary memory would be
 * wrong in a forked child (it would read its parent's copy).  The pid is
 * kept instead in an identity page (struct sr_id) that belongs to one
 * address space:
 *
 *   - the page is private, anonymous and MADV_WIPEONFORK: a child with an
 *     address space of its own (fork, clone without CLONE_VM, through libc
 *     or not) finds it zeroed and asks getpid;
 *   - a child that shares the address space (vfork, posix_spawn's child,
 *     clone with CLONE_VM) and a thread find a pid whose memory is theirs:
 *     reading through it reads the memory meant;
 *   - every read proves it: the same call first reads the page's mark, a
 *     random word set once per address space and never changed, from the
 *     memory the pid names, and compares it with the mark seen here.  A
 *     pid whose memory is another (its process gone and the number
 *     reused, or a vfork child's pid left in the page after it exec'd)
 *     gives no mark or another one; the read is then made again through
 *     getpid's pid.  Another address space holds the same word at the same
 *     address only as a forked copy, whose page is wiped.
 *
 * Where the page cannot be had (MADV_WIPEONFORK needs Linux 4.14), every
 * read asks getpid.  Everything here is async-signal-safe: loads, one
 * compare-and-swap, getpid, getrandom and process_vm_readv.
 */
#include "shim.h"

#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>

/* The identity page's contents. */
struct sr_id {
	/* 0 until set, then constant for the life of the address space. */
	_Atomic uint64_t mark;
	/* A process of this address space (a hint, proved by the mark). */
	_Atomic long pid;
};

static struct sr_id *_Atomic sr_page;

void shim_selfread_start(void)
{
#if defined(MADV_WIPEONFORK) && defined(SYS_process_vm_readv)
	long page = sysconf(_SC_PAGESIZE);
	void *p;

	if (page <= 0 ||
	    atomic_load_explicit(&sr_page, memory_order_relaxed) != NULL)
		return;
	p = mmap(NULL, (size_t)page, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (p == MAP_FAILED)
		return;
	if (madvise(p, (size_t)page, MADV_WIPEONFORK) != 0) {
		munmap(p, (size_t)page);
		return;
	}
	/* release: the page is mapped and advised before a reader uses it */
	atomic_store_explicit(&sr_page, (struct sr_id *)p,
			      memory_order_release);
#endif
}

/* A mark for this address space: random, never 0; where getrandom is
 * refused, the pid (unique among live processes) and the clock. */
static uint64_t sr_new_mark(long pid)
{
	uint64_t m = 0;
	struct timespec t = { 0, 0 };

#ifdef SYS_getrandom
	{
		int e = errno;
		if (syscall(SYS_getrandom, &m, sizeof m, 1 /* GRND_NONBLOCK */) !=
		    (long)sizeof m)
			m = 0;
		errno = e;
	}
#endif
	(void)clock_gettime(CLOCK_MONOTONIC, &t);
	m ^= ((uint64_t)pid << 32) ^ (uint64_t)t.tv_sec * 1000000000u ^
	     (uint64_t)t.tv_nsec;
	/* splitmix64's finaliser: a bijection, so distinct inputs stay
	 * distinct */
	m = (m ^ (m >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	m = (m ^ (m >> 27)) * UINT64_C(0x94d049bb133111eb);
	m ^= m >> 31;
	return m != 0 ? m : 1;
}

/* The page's mark, set now if it has none. */
static uint64_t sr_mark(struct sr_id *id, long pid)
{
	uint64_t m = 0, fresh = sr_new_mark(pid);

	/* relaxed: the mark is the whole datum, compared by value; the
	 * first setter wins and the mark never changes afterwards */
	if (atomic_compare_exchange_strong_explicit(&id->mark, &m, fresh,
						    memory_order_relaxed,
						    memory_order_relaxed))
		return fresh;
	return m;
}

#define SR_NOT_OURS (-2L)

/* Reads len bytes at src into dst through pid, after the mark.  Returns
 * the bytes of src read, -1 when none could be, or SR_NOT_OURS when pid's
 * memory does not hold mark (another address space, or no process). */
static long sr_read(long pid, struct sr_id *id, uint64_t mark, void *dst,
		    const void *src, size_t len)
{
	uint64_t seen = 0;
	struct iovec local[2] = { { &seen, sizeof seen }, { dst, len } };
	struct iovec remote[2] = { { (void *)&id->mark, sizeof seen },
				   { (void *)(uintptr_t)src, len } };
	long r = shim_readv_self(pid, local, 2, remote, 2);

	if (r < (long)sizeof seen || seen != mark)
		return SR_NOT_OURS;
	return r > (long)sizeof seen ? r - (long)sizeof seen : -1;
}

long shim_read_self(void *dst, const void *src, size_t cap)
{
	/* A range that would wrap around the address space is cut short. */
	uintptr_t room = UINTPTR_MAX - (uintptr_t)src;
	size_t len = cap < room ? cap : room;
	struct iovec local = { dst, len };
	struct iovec remote = { (void *)(uintptr_t)src, len };
	/* acquire: pairs with the release that published the page */
	struct sr_id *id = atomic_load_explicit(&sr_page, memory_order_acquire);
	uint64_t mark;
	long pid, r;

	if (id != NULL && len != 0) {
		/* relaxed: both are hints that sr_read proves */
		mark = atomic_load_explicit(&id->mark, memory_order_relaxed);
		pid = atomic_load_explicit(&id->pid, memory_order_relaxed);
		if (mark != 0 && pid > 0 &&
		    (r = sr_read(pid, id, mark, dst, src, len)) != SR_NOT_OURS)
			return r;
	}
	pid = shim_self_pid();
	if (id != NULL && len != 0 && pid > 0) {
		mark = sr_mark(id, pid);
		/* relaxed: a hint, proved by the mark at every use */
		atomic_store_explicit(&id->pid, pid, memory_order_relaxed);
		r = sr_read(pid, id, mark, dst, src, len);
		if (r != SR_NOT_OURS)
			return r;
	}
	return shim_readv_self(pid, &local, 1, &remote, 1);
}
