/*
 * shm_alloc.h - lock-free allocator over a shared, file-backed mapping.
 *
 * Two layers share this header:
 *
 *  1. The process-wide API (shm_init, shm_malloc, shm_calloc, shm_free,
 *     the ptr_* variants and the getters; shm_malloc(3)), acting on one
 *     process-wide mapping.
 *
 *  2. The arena API (struct shm_arena, shm_arena_*), acting on a mapping the
 *     caller owns.  The contract layer is a thin wrapper over one global
 *     arena.  The path cache, the CLI (read-only inspection) and the fuzzer
 *     (an image in ordinary memory) use this layer.
 *
 * Offsets (shm_offt) are relative to the arena's user base, which is the
 * start of a read-only region: SHM_NULL (0) lies in it, so a write through a
 * null offset faults instead of corrupting data.  Offsets read back from the
 * shared file are untrusted: check them with shm_arena_offset_ok() before use.
 *
 * Signal safety: shm_malloc, shm_calloc, shm_free (and the arena versions),
 * the getters and the macros are async-signal-safe and lock-free; a process
 * killed at any instruction inside them leaves the arena consistent (at worst
 * the block it was taking leaks).  shm_init, shm_deinit, shm_arena_open,
 * shm_arena_close and shm_arena_stats are not async-signal-safe.
 */
#ifndef SHM_ALLOC_H
#define SHM_ALLOC_H

#include <limits.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- build-time settings ------------------------------------------------
 * MIN_ALLOC_POW2, MAX_ALLOC_POW2, MAX_ALLOCATABLE_SHM_SIZE and
 * SHM_PATH_ENV_NAME come from shm_config.h, generated from the meson options
 * and installed beside this header.  A test build that compiles the sources
 * with other settings generates its own header from the same template and
 * names it in SHM_CONFIG_HEADER. */
#ifdef SHM_CONFIG_HEADER
#include SHM_CONFIG_HEADER
#else
#include "shm_config.h"
#endif

/* ---- the offset type ---------------------------------------------------- */

#if ATOMIC_LONG_LOCK_FREE == 2
typedef unsigned long shm_offt;
#define PRIu_shm_offt "lu"
#define SHM_OFFT_MAX ULONG_MAX
#elif ATOMIC_INT_LOCK_FREE == 2
typedef unsigned int shm_offt;
#define PRIu_shm_offt "u"
#define SHM_OFFT_MAX UINT_MAX
#else
#error "shm_alloc needs a lock-free atomic unsigned long or unsigned int"
#endif

#define SHM_NULL ((shm_offt)0)

/* One bitmap word per max-size block holds its whole buddy tree:
 * 2^(D+1) - 1 bits for D = MAX - MIN levels below the top. */
#define SHM_BITMAP_BITS (sizeof(shm_offt) * CHAR_BIT)

#if MIN_ALLOC_POW2 < 3
#error "MIN_ALLOC_POW2 must be at least 3: blocks hold 8-byte-aligned data"
#endif
#if MAX_ALLOC_POW2 < MIN_ALLOC_POW2
#error "MAX_ALLOC_POW2 must not be smaller than MIN_ALLOC_POW2"
#endif
#if ATOMIC_LONG_LOCK_FREE == 2 && ULONG_MAX > 0xffffffffUL
#if MAX_ALLOC_POW2 - MIN_ALLOC_POW2 > 5
#error "MAX_ALLOC_POW2 - MIN_ALLOC_POW2 must be <= 5 with a 64-bit bitmap word (a buddy tree of 2^(D+1)-1 bits must fit in one word)"
#endif
#else
#if MAX_ALLOC_POW2 - MIN_ALLOC_POW2 > 4
#error "MAX_ALLOC_POW2 - MIN_ALLOC_POW2 must be <= 4 with a 32-bit bitmap word (e.g. -m32): a buddy tree of 2^(D+1)-1 bits must fit in one word"
#endif
#endif
#if (MAX_ALLOCATABLE_SHM_SIZE) % (1UL << MAX_ALLOC_POW2) != 0
#error "MAX_ALLOCATABLE_SHM_SIZE must be a multiple of the maximum block size"
#endif

/* ---- errors ------------------------------------------------------------- */

/* Why an arena could not be opened.  shm_strerror() names each.  Errors
 * are negative, as the cache's (enum cache_error in ctrie_cache.h): 0 is
 * success and a result below 0 is a failure, in both layers. */
enum shm_error {
	SHM_OK = 0,
	SHM_E_NOPATH = -1,    /* no file name given and the environment has none */
	SHM_E_OPEN = -2,      /* open/create failed (errno in shm_last_errno())  */
	SHM_E_SYMLINK = -3,   /* the path is a symbolic link                     */
	SHM_E_NOTREG = -4,    /* not a regular file                              */
	SHM_E_OWNER = -5,     /* owned by another user                           */
	SHM_E_MODE = -6,      /* group- or world-writable                        */
	SHM_E_MAGIC = -7,     /* not a shm_alloc file (bad magic)                */
	SHM_E_VERSION = -8,   /* made by an incompatible layout version          */
	SHM_E_SETTINGS = -9,  /* made by a build with other settings             */
	SHM_E_SIZE = -10,     /* truncated or wrong size                         */
	SHM_E_MAP = -11,      /* mmap/mprotect failed, or address not available  */
	SHM_E_BUSY = -12,     /* another process is still initialising the header */
	SHM_E_CORRUPT = -13,  /* header fields are inconsistent                  */
	SHM_E_ADDR = -14,     /* optional_addr is not page-aligned               */
	SHM_E_NOSPACE = -15,  /* the filesystem has no room for the file's header
			       * and client area (errno in shm_last_errno())   */
	SHM_E_LINKS = -16,    /* the file has more than one hard link            */
	SHM_E_LAST = SHM_E_LINKS
};

/* A static string for an enum shm_error value.  Async-signal-safe. */
const char *shm_strerror(int err);

/* ---- the arena API ------------------------------------------------------ */

/* One mapping of an arena in this process.  Fields are private; the struct
 * is public only so that callers can hold one without malloc. */
struct shm_arena {
	unsigned char *map;     /* start of the mapping (file offset 0)        */
	size_t map_size;        /* bytes mapped                                */
	unsigned char *base;    /* user base: address of offset SHM_NULL       */
	void *hdr;              /* struct shm_file_header * (shm_layout.h)     */
	bool owns_mapping;      /* shm_arena_close munmaps                     */
	bool read_only;         /* mapped PROT_READ: allocation fails          */
	/* The header's watermark: max-size blocks [0, *reserved) have their
	 * pages reserved and may be in use; see shm_arena_reserved_ok. */
	const _Atomic shm_offt *reserved;
	/* Max-size blocks of the arena this mapping covers: all of them
	 * (SHM_ARENA_BLOCKS), unless an address-space limit made it map a prefix (see
	 * shm_arena_open). */
	shm_offt mapped_blocks;
};

/* Max-size blocks in the arena. */
#define SHM_ARENA_BLOCKS \
	((shm_offt)(MAX_ALLOCATABLE_SHM_SIZE >> MAX_ALLOC_POW2))

enum shm_open_flags {
	SHM_OPEN_CREATE = 1 << 0, /* create the file (0600) if missing        */
	SHM_OPEN_RDONLY = 1 << 1, /* map read-only; never write the file        */
};

/* Opens (and with SHM_OPEN_CREATE creates) the arena file at path and maps
 * it, at exactly addr when addr is not NULL.  Under a finite RLIMIT_AS only
 * a prefix of the file is mapped (a->mapped_blocks says how much): blocks
 * past it are never handed out here (allocation fails as full, counted in
 * failed_allocs) and shm_arena_reserved_ok is false for them.  Refuses
 * symlinks, files of other users, group/world-writable files, files with
 * more than one hard link, and files whose header does not match this build; a damaged
 * (e.g. zeroed) header is SHM_E_CORRUPT at once and is never rewritten.
 * Creation publishes the file at path only once it is complete, with an
 * operation that fails if path exists: of concurrent creators one wins and
 * the others open its file; an existing file is never replaced.  Creation
 * may leave a temporary "PATH.XXXXXX" beside path if the process dies in
 * it, where the system cannot create a file without a name (O_TMPFILE).
 * No descriptor is left open.
 * Returns SHM_OK or an enum shm_error; a->map is NULL on failure.
 * Not async-signal-safe. */
int shm_arena_open(struct shm_arena *a, const char *path, unsigned flags,
		   void *addr);

/* Uses len bytes at image (e.g. a file image read into memory, or a fuzz
 * input) as an arena, after the same header checks as shm_arena_open.  With
 * init true the image is first formatted as a fresh arena: zeroed whole, as
 * a new file is (a block is zero the first time it is handed out).  The
 * null region is not write-protected.  Returns SHM_OK or an enum shm_error
 * (SHM_E_SIZE: len is not SHM_FILE_SIZE; SHM_E_ADDR: image is not 64-byte
 * aligned).  Not async-signal-safe. */
int shm_arena_from_memory(struct shm_arena *a, void *image, size_t len,
			  bool init);

/* Unmaps what shm_arena_open mapped (an image of shm_arena_from_memory
 * stays the caller's).  Never deletes the file; cannot fail; a closed
 * arena may be closed again.  Not async-signal-safe, and no other thread
 * may use a during or after it. */
void shm_arena_close(struct shm_arena *a);

/* Lock-free and async-signal-safe.  SHM_NULL on failure (full, too large,
 * read-only).  n == 0 allocates a minimum-size block.  The block holds
 * shm_arena_block_size(n) bytes.  A block is zero when it is first handed
 * out: the file is made sparse (zero) and the allocator never writes into
 * a block (its bookkeeping lives in the bitmaps, outside the region).  A
 * block freed and handed out again holds what its last user left in it: a
 * client that relies on zero blocks zeroes a block before freeing it, or
 * never frees.  "Full" includes a
 * filesystem that cannot supply the pages of the next 64 KiB of arena: they
 * are reserved (MADV_POPULATE_WRITE) before first use, so a full tmpfs
 * makes allocation fail instead of raising SIGBUS (Linux >= 5.14; see
 * shm_layout.h for older kernels and other systems). */
shm_offt shm_arena_malloc(struct shm_arena *a, size_t n);
/* shm_arena_malloc of count * size bytes, zeroed; SHM_NULL as well when
 * the product overflows.  Lock-free and async-signal-safe. */
shm_offt shm_arena_calloc(struct shm_arena *a, size_t count, size_t size);

/* Frees a block.  An offset that is not the start of a live block (out of
 * range, misaligned, already free, interior) changes nothing and is counted
 * in the bad_frees statistic.  SHM_NULL is ignored.  Lock-free and
 * async-signal-safe. */
void shm_arena_free(struct shm_arena *a, shm_offt off);

/* True when [off, off+len) lies inside the allocatable region and off is a
 * multiple of align (a power of two).  Async-signal-safe. */
static inline bool shm_arena_offset_ok(const struct shm_arena *a, shm_offt off,
				       size_t len, size_t align);

/* Address of an offset in this process (no check: see shm_arena_offset_ok). */
#define SHM_ARENA_ADDR(a, off) ((void *)((a)->base + (off)))

/* A region of the file header reserved for the arena's client (the path
 * cache keeps its header and its top table there).  SHM_CLIENT_AREA_SIZE
 * bytes, zero in a fresh file, 64-byte aligned.  Async-signal-safe. */
#define SHM_CLIENT_AREA_SIZE (1024UL * 1024UL)
void *shm_arena_client_area(const struct shm_arena *a);

/* A token for "no room since": non-zero while the allocator has some size
 * of block marked exhausted, and different after any room is seen again
 * or another size is marked (see "Full levels" in shm_layout.h).  A client
 * refused an allocation may take the same non-zero token later as "still
 * no room" and skip asking; it is a hint read from the untrusted file, so
 * trusting it can only cost a refusal.  Async-signal-safe. */
shm_offt shm_arena_full_token(const struct shm_arena *a);

/* Statistics, read from the shared file by any process.  The per-class
 * figures are computed by scanning the bitmaps (costs a pass over the used
 * part of the arena); the counters are kept live. */
#define SHM_NCLASSES (MAX_ALLOC_POW2 - MIN_ALLOC_POW2 + 1)
struct shm_stats {
	size_t arena_size;                  /* allocatable bytes            */
	size_t file_size;                   /* bytes of the file            */
	size_t block_size[SHM_NCLASSES];    /* class i: 2^(MIN+i) bytes     */
	size_t blocks_in_use[SHM_NCLASSES]; /* live blocks of each class    */
	size_t bytes_in_use;                /* sum over classes             */
	size_t max_blocks_total;            /* max-size blocks in the arena */
	size_t max_blocks_touched;          /* ... ever used (high water)   */
	size_t max_blocks_full;             /* ... with no free min block   */
	uint64_t failed_allocs;             /* malloc returned SHM_NULL     */
	uint64_t bad_frees;                 /* frees refused as invalid     */
};
/* Fills st.  Returns SHM_OK, or SHM_E_CORRUPT if the header is damaged.
 * Safe on a read-only or corrupt arena. */
int shm_arena_stats(const struct shm_arena *a, struct shm_stats *st);

/* ---- the process-wide API (one arena per process) ---------------------- */

/* Maps the shared file; see shm_malloc(3).
 * shm_filename NULL: the path is taken from getenv(SHM_PATH_ENV_NAME).
 * On failure shm_last_error() tells why.  Not async-signal-safe. */
bool shm_init(void *optional_addr, const char *shm_filename);
/* Unmaps; never deletes the file.  Not async-signal-safe. */
void shm_deinit(void);
/* Why the last shm_init in this process failed (enum shm_error).
 * Async-signal-safe, as is shm_last_errno. */
int shm_last_error(void);
/* The errno of the system call behind the last shm_init failure (for
 * SHM_E_OPEN and SHM_E_MAP). */
int shm_last_errno(void);

/* Lock-free, async-signal-safe.  shm_malloc(0) returns a minimum-size block
 * (as glibc malloc(0) returns a unique pointer). */
shm_offt shm_malloc(size_t n);
shm_offt shm_calloc(size_t count, size_t size);
void shm_free(shm_offt off);

/* The same with addresses in this process's mapping instead of offsets:
 * NULL on failure and before shm_init.  Lock-free, async-signal-safe. */
void *ptr_malloc(size_t n);
void *ptr_calloc(size_t count, size_t size);
void ptr_free(void *p);

/* NULL before a successful shm_init.  Async-signal-safe. */
void *get_shm_user_base(void);
/* The process-wide arena (NULL before shm_init), for the arena API.
 * Async-signal-safe. */
struct shm_arena *shm_global_arena(void);

/* Constants of this build, in bytes: the largest and smallest block, the
 * header in a block (0: the allocator keeps its bookkeeping outside the
 * blocks), the size of the shared file.  Async-signal-safe. */
size_t get_shm_max_allocatable_size(void);
size_t get_shm_min_allocatable_size(void);
size_t get_sizeof_block_header(void);
size_t get_mapping_size_needed_by_shm(void);

#define SHM_OFFT_TO_ADDR(off) \
	((void *)((unsigned char *)get_shm_user_base() + (off)))
#define SHM_ADDR_TO_OFFT(addr) \
	((shm_offt)((unsigned char *)(addr) - \
		    (unsigned char *)get_shm_user_base()))

/* ---- inline definitions ------------------------------------------------- */

/* The allocatable region is [SHM_NULL_REGION_SIZE, SHM_NULL_REGION_SIZE +
 * MAX_ALLOCATABLE_SHM_SIZE) in offsets: the null region comes first. */
#define SHM_NULL_REGION_SIZE 65536UL

/* The largest block (usable in #if; unsigned long is as wide as size_t),
 * and the allocatable region's end in offsets.  The
 * region's start (SHM_NULL_REGION_SIZE) and end are multiples of
 * SHM_BLOCK_MAX, and no block crosses a multiple of it. */
#define SHM_BLOCK_MAX (1UL << MAX_ALLOC_POW2)
#define SHM_REGION_END \
	((uint64_t)SHM_NULL_REGION_SIZE + MAX_ALLOCATABLE_SHM_SIZE)
_Static_assert(SHM_NULL_REGION_SIZE % SHM_BLOCK_MAX == 0 &&
		       MAX_ALLOCATABLE_SHM_SIZE % SHM_BLOCK_MAX == 0,
	       "the region's ends are multiples of the largest block");

/* Bytes of the block shm_arena_malloc hands out for n bytes (n at most
 * SHM_BLOCK_MAX): the power of two at or above n, at least the smallest
 * block.  Async-signal-safe. */
static inline size_t shm_arena_block_size(size_t n)
{
	const size_t min = (size_t)1 << MIN_ALLOC_POW2;
	if (n <= min)
		return min;
	return (size_t)2 << (sizeof(unsigned long) * CHAR_BIT - 1 -
			     (unsigned)__builtin_clzl((unsigned long)(n - 1)));
}

/* Whether off lies in the allocatable region (no alignment, no extent:
 * see shm_arena_offset_ok), as one unsigned compare.  Async-signal-safe. */
static inline bool shm_arena_in_region(shm_offt off)
{
	return off - (shm_offt)SHM_NULL_REGION_SIZE <
	       (shm_offt)MAX_ALLOCATABLE_SHM_SIZE;
}

static inline bool shm_arena_offset_ok(const struct shm_arena *a, shm_offt off,
				       size_t len, size_t align)
{
	const shm_offt hi = SHM_NULL_REGION_SIZE + MAX_ALLOCATABLE_SHM_SIZE;
	if (a == NULL || a->base == NULL)
		return false;
	if (!shm_arena_in_region(off) || (off & (align - 1)) != 0)
		return false;
	return len <= (size_t)(hi - off);
}

/* True when off lies in a max-size block whose pages are reserved and
 * mapped here: blocks above the watermark have never been used, and
 * touching one (even reading, on tmpfs) may allocate a page and raise
 * SIGBUS on a full file system; blocks past a prefix mapping are not
 * mapped.  Clients that follow offsets read from the file check this too
 * (and tell the two apart with shm_arena_beyond_mapping).  One relaxed
 * load; async-signal-safe. */
static inline bool shm_arena_reserved_ok(const struct shm_arena *a,
					 shm_offt off)
{
	shm_offt b = (off - (shm_offt)SHM_NULL_REGION_SIZE) >> MAX_ALLOC_POW2;
	/* relaxed: the watermark only grows, and a block below it has its
	 * pages reserved before the watermark is raised past it */
	return b < atomic_load_explicit(a->reserved, memory_order_relaxed) &&
	       b < a->mapped_blocks;
}

/* True when the file holds blocks in use past this process's prefix
 * mapping: an offset that fails shm_arena_reserved_ok may then be sound,
 * only out of reach here.  Async-signal-safe. */
static inline bool shm_arena_beyond_mapping(const struct shm_arena *a)
{
	/* relaxed: see shm_arena_reserved_ok.  A whole mapping is never
	 * short: a watermark past the arena there is damage. */
	return a->mapped_blocks < SHM_ARENA_BLOCKS &&
	       atomic_load_explicit(a->reserved, memory_order_relaxed) >
		       a->mapped_blocks;
}

/* Bytes of the allocatable region whose pages are reserved: every block
 * ever handed out lies in them.  It only grows.  Async-signal-safe. */
static inline size_t shm_arena_reserved_bytes(const struct shm_arena *a)
{
	/* relaxed: see shm_arena_reserved_ok */
	return (size_t)atomic_load_explicit(a->reserved, memory_order_relaxed)
	       << MAX_ALLOC_POW2;
}

#ifdef __cplusplus
}
#endif
#endif /* SHM_ALLOC_H */
