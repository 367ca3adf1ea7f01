/*
 * shm_arena.c - opening, checking, initialising and closing an arena file.
 *
 * Nothing here is async-signal-safe (mmap, open, mkstemp).  The file is
 * untrusted: its owner, mode, link count, size and every header field are
 * checked before the mapping is used, and a file this build did not make is
 * refused, never reformatted.
 *
 * Creation publishes a complete file: it is made without a name (or under
 * a private temporary one), sized, reserved and given a READY header, and
 * only then linked at its name by an operation that fails if the name
 * exists.  One creator wins; the others open the winner's file.  So a file
 * found at its name is never in the middle of its initialisation, and a
 * header that is not READY is damage, reported and never rewritten.
 */
#define _GNU_SOURCE /* MAP_FIXED_NOREPLACE, O_NOFOLLOW, O_CLOEXEC, O_TMPFILE */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "shm_layout.h"

/* Indexed by -err. */
static const char *const error_names[1 - SHM_E_LAST] = {
	[-SHM_OK] = "success",
	[-SHM_E_NOPATH] = "no file name given and none in the environment",
	[-SHM_E_OPEN] = "cannot open or create the file",
	[-SHM_E_SYMLINK] = "the path is a symbolic link",
	[-SHM_E_NOTREG] = "not a regular file",
	[-SHM_E_OWNER] = "the file is owned by another user",
	[-SHM_E_MODE] = "the file is group- or world-writable",
	[-SHM_E_MAGIC] = "not a shm_alloc file (bad magic)",
	[-SHM_E_VERSION] = "made by an incompatible layout version",
	[-SHM_E_SETTINGS] = "made by a build with other settings (block sizes, arena size or word size)",
	[-SHM_E_SIZE] = "the file is truncated or has the wrong size",
	[-SHM_E_MAP] = "cannot map the file (the address is taken, or too little address space is left under RLIMIT_AS)",
	[-SHM_E_BUSY] = "another process is still initialising the file",
	[-SHM_E_CORRUPT] = "the file header is damaged (zeroed or inconsistent)",
	[-SHM_E_ADDR] = "the requested address is not page-aligned",
	[-SHM_E_NOSPACE] = "no space for the cache file (its filesystem is full)",
	[-SHM_E_LINKS] = "the file has more than one hard link (another name could change it)",
};

const char *shm_strerror(int err)
{
	if (err > 0 || err < SHM_E_LAST)
		return "unknown shm_alloc error";
	return error_names[-err];
}

/* Checks the fixed-width prefix of a header against this build. */
static int check_prefix(const struct shm_file_header *h)
{
	if (memcmp(h->magic, SHM_LAYOUT_MAGIC, sizeof h->magic) != 0)
		return SHM_E_MAGIC;
	if (h->layout_version != SHM_LAYOUT_VERSION)
		return SHM_E_VERSION;
	if (h->word_bits != SHM_WORD_BITS || h->min_pow2 != MIN_ALLOC_POW2 ||
	    h->max_pow2 != MAX_ALLOC_POW2 ||
	    h->arena_size != (uint64_t)MAX_ALLOCATABLE_SHM_SIZE)
		return SHM_E_SETTINGS;
	if (h->mgmt_size != SHM_MGMT_SIZE ||
	    h->null_size != SHM_NULL_REGION_SIZE ||
	    h->file_size != (uint64_t)SHM_FILE_SIZE)
		return SHM_E_CORRUPT;
	return SHM_OK;
}

static void write_header(struct shm_file_header *h)
{
	memcpy(h->magic, SHM_LAYOUT_MAGIC, sizeof h->magic);
	h->layout_version = SHM_LAYOUT_VERSION;
	h->word_bits = SHM_WORD_BITS;
	h->min_pow2 = MIN_ALLOC_POW2;
	h->max_pow2 = MAX_ALLOC_POW2;
	h->arena_size = MAX_ALLOCATABLE_SHM_SIZE;
	h->mgmt_size = SHM_MGMT_SIZE;
	h->null_size = SHM_NULL_REGION_SIZE;
	h->file_size = SHM_FILE_SIZE;
}

static bool all_zero(const void *p, size_t n)
{
	const unsigned char *c = p;
	for (size_t i = 0; i < n; i++)
		if (c[i] != 0)
			return false;
	return true;
}

/* The header of a file found at its name.  Creation publishes a file only
 * once its header is READY, so any other state, and a zeroed header on a
 * file of the right size, is damage: it is reported at once and never
 * rewritten. */
static int check_header(struct shm_file_header *h)
{
	/* relaxed: the header was written before the file got its name, and
	 * the open that found the name orders that write before this read */
	uint32_t s = atomic_load_explicit(&h->init_state,
					  memory_order_relaxed);
	int err = check_prefix(h);
	if (err == SHM_E_MAGIC && all_zero(h->magic, sizeof h->magic))
		return SHM_E_CORRUPT;
	if (err != SHM_OK)
		return err;
	return s == SHM_STATE_READY ? SHM_OK : SHM_E_CORRUPT;
}

/* Reads the header prefix of a file of the wrong size to say why. */
static int why_wrong_size(int fd, off_t size)
{
	struct shm_file_header h;
	if (size < (off_t)sizeof h ||
	    pread(fd, &h, sizeof h, 0) != (ssize_t)sizeof h)
		return SHM_E_SIZE;
	int err = check_prefix(&h);
	return err == SHM_OK || err == SHM_E_CORRUPT ? SHM_E_SIZE : err;
}

/* fstat.  On Linux, fstatat of an empty name of ours: glibc's fstat passes
 * the kernel an empty name in libc's read-only data, a page that a short
 * process does not otherwise touch (its first touch a page fault). */
static int stat_fd(int fd, struct stat *st)
{
#ifdef AT_EMPTY_PATH
	static const char empty[1] = { '\0' };
	return fstatat(fd, empty, st, AT_EMPTY_PATH);
#else
	return fstat(fd, st);
#endif
}

static int check_file(int fd)
{
	struct stat st;
	if (stat_fd(fd, &st) != 0)
		return SHM_E_OPEN;
	if (!S_ISREG(st.st_mode))
		return SHM_E_NOTREG;
	if (st.st_uid != geteuid())
		return SHM_E_OWNER;
	if (st.st_mode & (S_IWGRP | S_IWOTH))
		return SHM_E_MODE;
	/* Another name for the file (a hard link someone else made to one
	 * of ours, say) is a way to change or replace what we map. */
	if (st.st_nlink > 1)
		return SHM_E_LINKS;
	if ((uintmax_t)st.st_size != (uintmax_t)SHM_FILE_SIZE)
		return why_wrong_size(fd, st.st_size);
	return SHM_OK;
}

/* O_NONBLOCK: a FIFO planted at the path must not hang the host program
 * in open(); it is refused as not regular afterwards. */
static int open_existing(const char *path, bool ro)
{
	return open(path, (ro ? O_RDONLY : O_RDWR) | O_NOFOLLOW | O_CLOEXEC |
			  O_NONBLOCK);
}

/* Makes the unpublished file at fd a complete arena file: 0600 whatever
 * the umask, its full size, the pages written at attach reserved (so that
 * a full filesystem refuses the creation instead of raising SIGBUS later),
 * and a READY header.  Keeps errno of a failure. */
static int format_new(int fd)
{
	struct shm_file_header h;
	if (fchmod(fd, 0600) != 0 || ftruncate(fd, (off_t)SHM_FILE_SIZE) != 0)
		return SHM_E_OPEN;
#ifndef __APPLE__
	int err = posix_fallocate(fd, 0, (off_t)SHM_SUMMARY_OFF);
	if (err != 0) {
		errno = err;
		return SHM_E_NOSPACE;
	}
#endif
	memset(&h, 0, sizeof h);
	write_header(&h);
	atomic_init(&h.init_state, SHM_STATE_READY);
	if (pwrite(fd, &h, sizeof h, 0) != (ssize_t)sizeof h)
		return SHM_E_OPEN;
	return SHM_OK;
}

/* The directory part of path in buf ("." for a bare name). */
static bool dir_of(const char *path, char *buf, size_t cap)
{
	const char *slash = strrchr(path, '/');
	size_t n = slash == NULL ? 1 : slash == path ? 1 : (size_t)(slash - path);
	if (n >= cap)
		return false;
	memcpy(buf, slash == NULL ? "." : path, n);
	buf[n] = '\0';
	return true;
}

/* Links the unnamed file fd (O_TMPFILE) at path.  0, or -1 with errno
 * (EEXIST: another creator won). */
static int publish_unnamed(int fd, const char *path)
{
	char proc[64];
	snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
	return linkat(AT_FDCWD, proc, AT_FDCWD, path, AT_SYMLINK_FOLLOW);
}

/* Moves the temporary file tmp to path unless path exists.  0, or -1 with
 * errno (EEXIST: another creator won).  Where the kernel cannot rename
 * without replacing, link and unlink do it: the file has two names for an
 * instant, and an opener that sees that is refused (SHM_E_LINKS) once. */
static int publish_named(const char *tmp, const char *path)
{
#if defined(SYS_renameat2)
	if (syscall(SYS_renameat2, AT_FDCWD, tmp, AT_FDCWD, path,
		    1 /* RENAME_NOREPLACE */) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
#endif
	if (link(tmp, path) != 0)
		return -1;
	unlink(tmp);
	return 0;
}

/* Creates the file at path, complete before it has that name, or opens
 * the file another creator published there first.  Returns a descriptor
 * or -1 with errno (*err says why when it is not SHM_E_OPEN). */
static int create_published(const char *path, int *err)
{
	char tmp[PATH_MAX + 16];
	int fd = -1, r;
	*err = SHM_E_OPEN;
#ifdef O_TMPFILE
	if (dir_of(path, tmp, sizeof tmp))
		fd = open(tmp, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0) {
		if ((*err = format_new(fd)) != SHM_OK)
			goto fail;
		if (publish_unnamed(fd, path) == 0)
			return fd;
		if (errno == EEXIST)
			goto lost;
		/* no /proc: the named way below */
		close(fd);
	}
#endif
	if (snprintf(tmp, sizeof tmp, "%s.XXXXXX", path) >= (int)sizeof tmp) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = mkstemp(tmp);
	if (fd < 0)
		return -1;
	if ((*err = format_new(fd)) != SHM_OK) {
		unlink(tmp);
		goto fail;
	}
	r = publish_named(tmp, path);
	if (r == 0) {
		(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
		return fd;
	}
	unlink(tmp);
	if (errno == EEXIST)
		goto lost;
fail:
	r = errno;
	close(fd);
	errno = r;
	return -1;
lost:
	close(fd);
	*err = SHM_E_OPEN;
	return open_existing(path, false);
}

/* The existing file first (every process of a build but the first finds
 * it: one system call), else a new one published at path; losing that race
 * to another creator opens theirs. */
static int open_file(const char *path, unsigned flags, int *err)
{
	bool ro = flags & SHM_OPEN_RDONLY;
	int fd = open_existing(path, ro);

	*err = SHM_E_OPEN;
	if (fd >= 0 || errno != ENOENT || !(flags & SHM_OPEN_CREATE) || ro)
		return fd;
	return create_published(path, err);
}

/*
 * Address-space limit.  The whole file (518 MiB by default) counts against
 * RLIMIT_AS, so a program that sets `ulimit -v` or setrlimit would run out
 * of address space early under the shim.  With an unlimited RLIMIT_AS the
 * whole file is mapped, and with one of 16 times the file or more too (the
 * file is then a small share of it).  With a smaller one only a prefix is: the
 * management region and the null region (all of them: the allocator
 * reads every bitmap word and summary below the watermark) and the first
 * blocks of the arena, as many as the blocks in use (the watermark; the
 * used part of the file is a prefix) plus SHM_WINDOW_HEADROOM, but never
 * more than an eighth of the address space left under the limit.  In that
 * process, allocation never hands out a block past the prefix (it fails
 * as full, counted in failed_allocs; the reservation of pages stops at the
 * prefix's end), and shm_arena_reserved_ok is false for such blocks, which
 * clients take as a miss when shm_arena_beyond_mapping says the file has
 * grown past the prefix.  A prefix too small for the management region
 * and one chunk of arena fails the open (SHM_E_MAP): the program runs
 * untraced.  The prefix does not grow while the process runs, and a limit
 * the program sets after the open (setrlimit in its own code) is not seen.
 */
#define SHM_WINDOW_HEADROOM ((size_t)32 << 20)

/* Bytes of address space in use by this process (VmSize), or 0. */
static size_t address_space_used(void)
{
	char buf[64];
	int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
	ssize_t n;
	size_t pages = 0;

	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	for (ssize_t i = 0; i < n && buf[i] >= '0' && buf[i] <= '9'; i++)
		pages = pages * 10 + (size_t)(buf[i] - '0');
	return pages * (size_t)sysconf(_SC_PAGESIZE);
}

/* Bytes of the file to map: all of it under an unlimited RLIMIT_AS, else a
 * prefix as above (a multiple of the max block after the null region), or
 * 0 when even the smallest prefix would not fit. */
static size_t map_length(int fd)
{
	const size_t fixed = SHM_MGMT_SIZE + SHM_NULL_REGION_SIZE;
	const size_t least = fixed + (size_t)SHM_CHUNK_BLOCKS * SHM_BLOCK_MAX;
	struct rlimit rl;
	shm_offt touched = 0;
	size_t len, left, used;

	if (getrlimit(RLIMIT_AS, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY ||
	    rl.rlim_cur / 2 >= (rlim_t)SHM_FILE_SIZE * 8)
		return SHM_FILE_SIZE;
	if (pread(fd, &touched, sizeof touched,
		  offsetof(struct shm_file_header, touched)) !=
	    (ssize_t)sizeof touched)
		touched = 0;
	if (touched > SHM_NBLOCKS)
		touched = SHM_NBLOCKS;
	len = fixed + (size_t)touched * SHM_BLOCK_MAX + SHM_WINDOW_HEADROOM;
	used = address_space_used();
	left = (size_t)rl.rlim_cur > used ? (size_t)rl.rlim_cur - used : 0;
	if (len > left / 8)
		len = left / 8;
	if (len >= SHM_FILE_SIZE)
		return SHM_FILE_SIZE;
	len = fixed + (len > fixed ? (len - fixed) / SHM_BLOCK_MAX : 0) *
			      SHM_BLOCK_MAX;
	return len >= least ? len : 0;
}

static void *map_file(int fd, void *addr, bool ro, size_t len)
{
	int prot = ro ? PROT_READ : PROT_READ | PROT_WRITE;
	int mflags = MAP_SHARED;
	if (len == 0) {
		errno = ENOMEM;
		return NULL;
	}
#ifdef MAP_FIXED_NOREPLACE
	if (addr != NULL)
		mflags |= MAP_FIXED_NOREPLACE;
#endif
	void *m = mmap(addr, len, prot, mflags, fd, 0);
	if (m == MAP_FAILED)
		return NULL;
	if (addr != NULL && m != addr) {
		/* An old kernel took the flag as a hint: never clobber, refuse. */
		munmap(m, len);
		errno = EEXIST;
		return NULL;
	}
	return m;
}

/* Fills a for a mapping of len bytes whose header is checked; protects the
 * null page; registers a prefix mapping with the reservation. */
static int finish(struct shm_arena *a, unsigned char *map, size_t len,
		  bool ro, bool owns)
{
	a->map = map;
	a->map_size = len;
	a->base = map + SHM_MGMT_SIZE;
	a->hdr = map;
	a->reserved = &((struct shm_file_header *)map)->touched.v;
	a->mapped_blocks = (shm_offt)((len - SHM_MGMT_SIZE -
				       SHM_NULL_REGION_SIZE) >>
				      MAX_ALLOC_POW2);
	a->owns_mapping = owns;
	a->read_only = ro;
	if (a->mapped_blocks < SHM_NBLOCKS &&
	    !shm_window_add(map, a->mapped_blocks)) {
		errno = EBUSY;
		return SHM_E_MAP;
	}
	if (owns && !ro &&
	    mprotect(a->base, SHM_NULL_REGION_SIZE, PROT_READ) != 0) {
		if (a->mapped_blocks < SHM_NBLOCKS)
			shm_window_remove(map);
		return SHM_E_MAP;
	}
	return SHM_OK;
}

int shm_arena_open(struct shm_arena *a, const char *path, unsigned flags,
		   void *addr)
{
	bool ro = flags & SHM_OPEN_RDONLY;
	int err, e;
	memset(a, 0, sizeof *a);
	shm_reserve_setup();
	if (path == NULL || path[0] == '\0')
		return SHM_E_NOPATH;
	if (addr != NULL && ((uintptr_t)addr % (uintptr_t)sysconf(_SC_PAGESIZE)))
		return SHM_E_ADDR;
	int fd = open_file(path, flags, &err);
	if (fd < 0) {
		if (errno == ELOOP)
			return SHM_E_SYMLINK;
		return err;
	}
	err = check_file(fd);
	unsigned char *map = NULL;
	size_t len = 0;
	if (err == SHM_OK) {
		len = map_length(fd);
		map = map_file(fd, addr, ro, len);
		if (map == NULL)
			err = SHM_E_MAP;
	}
	e = errno;
	close(fd);
	errno = e;
	if (err != SHM_OK)
		return err;
	err = check_header(shm_hdr(map));
	if (err == SHM_OK)
		err = finish(a, map, len, ro, true);
	if (err != SHM_OK) {
		e = errno;
		munmap(map, len);
		memset(a, 0, sizeof *a);
		errno = e;
	}
	return err;
}

int shm_arena_from_memory(struct shm_arena *a, void *image, size_t len,
			  bool init)
{
	memset(a, 0, sizeof *a);
	shm_reserve_setup();
	if (image == NULL || len != SHM_FILE_SIZE)
		return SHM_E_SIZE;
	if ((uintptr_t)image % 64 != 0)
		return SHM_E_ADDR;
	unsigned char *map = image;
	if (init) {
		/* all of it, as a new file is: clients may rely on a block
		 * being zero the first time it is handed out */
		memset(map, 0, len);
		write_header(shm_hdr(map));
		atomic_store_explicit(&shm_hdr(map)->init_state,
				      SHM_STATE_READY, memory_order_release);
	} else {
		/* acquire: pairs with the initialiser's release */
		if (atomic_load_explicit(&shm_hdr(map)->init_state,
					 memory_order_acquire) != SHM_STATE_READY)
			return check_prefix(shm_hdr(map)) != SHM_OK
				? check_prefix(shm_hdr(map)) : SHM_E_BUSY;
		int err = check_prefix(shm_hdr(map));
		if (err != SHM_OK)
			return err;
	}
	return finish(a, map, len, false, false);
}

void shm_arena_close(struct shm_arena *a)
{
	if (a == NULL)
		return;
	if (a->map != NULL && a->mapped_blocks < SHM_NBLOCKS)
		shm_window_remove(a->map);
	if (a->map != NULL && a->owns_mapping)
		munmap(a->map, a->map_size);
	memset(a, 0, sizeof *a);
}

void *shm_arena_client_area(const struct shm_arena *a)
{
	if (a == NULL || a->map == NULL)
		return NULL;
	return a->map + SHM_CLIENT_OFF;
}
