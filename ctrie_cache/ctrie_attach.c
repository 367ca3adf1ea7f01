/*
 * ctrie_attach.c - attaching a cache file, and formatting a fresh one.
 *
 * Formatting is claimed with a CAS on the header's state word (0 ->
 * CTRIE_FORMATTING | pid) so that concurrent first attachers format once;
 * the others wait, bounded, for the state to become CTRIE_MAGIC (stored with
 * release after every other field).  A formatter that died half-way is
 * detected by its pid and replaced.
 */
#include <errno.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include "ctrie_layout.h"

#define CTRIE_ATTACH_WAIT_MS 2000

/* The trie of a fresh file is its top table, all zero (empty) as the
 * allocator's client area is in a fresh file; a formatter that died wrote
 * nothing to it.  No node is allocated until the first insert. */
static void format(struct ctrie_header *H)
{
	H->version = CTRIE_FORMAT_VERSION;
	H->header_size = (uint32_t)sizeof *H;
	H->max_key = (uint32_t)CACHE_KEY_MAX;
	H->level_bits = CTRIE_BITS;
	H->top_level = CTRIE_TOP_LEVEL;
	atomic_store_explicit(&H->state, CTRIE_MAGIC, memory_order_release);
}

static int check_formatted(struct ctrie_header *H)
{
	if (H->version != CTRIE_FORMAT_VERSION ||
	    H->header_size != sizeof *H || H->max_key != CACHE_KEY_MAX ||
	    H->level_bits != CTRIE_BITS || H->top_level != CTRIE_TOP_LEVEL)
		return CACHE_E_VERSION;
	return CACHE_OK;
}

static bool formatter_alive(uint64_t state)
{
	pid_t pid = (pid_t)(state & 0xffffffffu);
	int saved = errno;
	bool alive = pid == getpid() || kill(pid, 0) == 0 || errno != ESRCH;
	errno = saved;
	return alive;
}

/* Binds c to its checked header; a writable attach is counted. */
static void bound(struct cache *c, struct ctrie_header *H)
{
	c->hdr = H;
	if (!c->read_only)
		/* relaxed: a statistic; the file's mapping is shared */
		atomic_fetch_add_explicit(&H->attaches, 1,
					  memory_order_relaxed);
}

/* Checks (and with create, formats) the cache header of an open arena. */
static int bind_header(struct cache *c, bool create)
{
	struct ctrie_header *H = shm_arena_client_area(&c->arena);
	const struct timespec ms = { 0, 1000000 };
	int waited;

	if (H == NULL)
		return CACHE_E_NOTCACHE;
	for (waited = 0; waited < CTRIE_ATTACH_WAIT_MS; waited++) {
		/* acquire: pairs with the release store ending format() */
		uint64_t st = atomic_load_explicit(&H->state,
						   memory_order_acquire);
		uint64_t mine;
		int r;

		if (st == CTRIE_MAGIC) {
			r = check_formatted(H);
			if (r == CACHE_OK)
				bound(c, H);
			return r;
		}
		if (st != 0 && (st & ~UINT64_C(0xffffffff)) != CTRIE_FORMATTING)
			return CACHE_E_NOTCACHE;
		if (!create || c->read_only)
			return CACHE_E_NOTCACHE;
		if (st == 0 || !formatter_alive(st)) {
			/* the pid only where formatting is claimed: attaching
			 * to a formatted file makes no system call here */
			mine = CTRIE_FORMATTING | (uint32_t)getpid();
			if (atomic_compare_exchange_strong(&H->state, &st, mine)) {
				format(H);
				bound(c, H);
				return CACHE_OK;
			}
			continue;
		}
		nanosleep(&ms, NULL);
	}
	return CACHE_E_NOTCACHE;
}

static void handle_init(struct cache *c, unsigned flags)
{
	ctrie_fork_watch();
	memset(&c->arena, 0, sizeof c->arena);
	c->hdr = NULL;
	c->arena_err = 0;
	atomic_store(&c->broken, 0);
	c->read_only = (flags & CACHE_ATTACH_RDONLY) != 0;
}

int cache_attach(struct cache *c, const char *path, unsigned flags)
{
	unsigned of = 0;
	int r;

	handle_init(c, flags);
	if (flags & CACHE_ATTACH_CREATE)
		of |= SHM_OPEN_CREATE;
	if (flags & CACHE_ATTACH_RDONLY)
		of |= SHM_OPEN_RDONLY;
	c->arena_err = shm_arena_open(&c->arena, path, of, NULL);
	if (c->arena_err != SHM_OK)
		return CACHE_E_ARENA;
	r = bind_header(c, (flags & CACHE_ATTACH_CREATE) != 0);
	if (r != CACHE_OK)
		shm_arena_close(&c->arena);
	return r;
}

int cache_attach_memory(struct cache *c, void *image, size_t len,
			unsigned flags)
{
	const bool create = (flags & CACHE_ATTACH_CREATE) != 0;
	int r;

	handle_init(c, flags);
	c->arena_err = shm_arena_from_memory(&c->arena, image, len, create);
	if (c->arena_err != SHM_OK)
		return CACHE_E_ARENA;
	r = bind_header(c, create);
	if (r != CACHE_OK)
		shm_arena_close(&c->arena);
	return r;
}

void cache_detach(struct cache *c)
{
	if (c->arena.map != NULL)
		shm_arena_close(&c->arena);
	c->hdr = NULL;
}
