/*
 * shm_global.c - the seed's contract: one process-wide arena.
 *
 * shm_init publishes the arena with a CAS on a state word and the base with
 * a release store, so shm_malloc in any thread sees either no arena (and
 * fails) or a complete one.  A forked child inherits the mapping and the
 * state.  shm_deinit is not safe against concurrent use of the arena.
 */
#include <errno.h>
#include <stdlib.h>

#include "shm_layout.h"

enum { G_NONE, G_OPENING, G_READY };

static struct shm_arena g_arena;
static _Atomic int g_state;
static _Atomic(unsigned char *) g_base;
static _Atomic int g_last_error;
static _Atomic int g_last_errno;

bool shm_init(void *optional_addr, const char *shm_filename)
{
	int s = G_NONE;
	if (atomic_load(&g_state) == G_READY)
		return true;
	if (!atomic_compare_exchange_strong(&g_state, &s, G_OPENING))
		return s == G_READY; /* another thread is opening it */
	if (shm_filename == NULL)
		shm_filename = getenv(SHM_PATH_ENV_NAME);
	struct shm_arena a;
	int err = SHM_E_NOPATH;
	if (shm_filename != NULL)
		err = shm_arena_open(&a, shm_filename, SHM_OPEN_CREATE,
				     optional_addr);
	/* relaxed: read back only by this process's diagnostics */
	atomic_store_explicit(&g_last_errno, errno, memory_order_relaxed);
	atomic_store_explicit(&g_last_error, err, memory_order_relaxed);
	if (err != SHM_OK) {
		atomic_store(&g_state, G_NONE);
		return false;
	}
	g_arena = a;
	/* release: the arena fields before the base that announces them */
	atomic_store_explicit(&g_base, a.base, memory_order_release);
	atomic_store(&g_state, G_READY);
	return true;
}

void shm_deinit(void)
{
	int s = G_READY;
	if (!atomic_compare_exchange_strong(&g_state, &s, G_OPENING))
		return;
	atomic_store(&g_base, NULL);
	shm_arena_close(&g_arena);
	atomic_store(&g_state, G_NONE);
}

int shm_last_error(void)
{
	return atomic_load_explicit(&g_last_error, memory_order_relaxed);
}

int shm_last_errno(void)
{
	return atomic_load_explicit(&g_last_errno, memory_order_relaxed);
}

struct shm_arena *shm_global_arena(void)
{
	/* acquire: pairs with the release in shm_init */
	return atomic_load_explicit(&g_base, memory_order_acquire) ? &g_arena
								   : NULL;
}

void *get_shm_user_base(void)
{
	/* acquire: pairs with the release in shm_init */
	return atomic_load_explicit(&g_base, memory_order_acquire);
}

shm_offt shm_malloc(size_t n)
{
	return shm_arena_malloc(shm_global_arena(), n);
}

shm_offt shm_calloc(size_t count, size_t size)
{
	return shm_arena_calloc(shm_global_arena(), count, size);
}

void shm_free(shm_offt off)
{
	shm_arena_free(shm_global_arena(), off);
}

void *ptr_malloc(size_t n)
{
	struct shm_arena *a = shm_global_arena();
	shm_offt off = shm_arena_malloc(a, n);
	return off == SHM_NULL ? NULL : a->base + off;
}

void *ptr_calloc(size_t count, size_t size)
{
	struct shm_arena *a = shm_global_arena();
	shm_offt off = shm_arena_calloc(a, count, size);
	return off == SHM_NULL ? NULL : a->base + off;
}

void ptr_free(void *p)
{
	struct shm_arena *a = shm_global_arena();
	if (p == NULL || a == NULL)
		return;
	/* An address outside the arena becomes an out-of-range offset,
	 * which shm_arena_free counts as a bad free. */
	uintptr_t u = (uintptr_t)p, base = (uintptr_t)a->base;
	shm_arena_free(a, u < base ? (shm_offt)SHM_OFFT_MAX
				   : (shm_offt)(u - base));
}

size_t get_shm_max_allocatable_size(void)
{
	return SHM_MAX_BLOCK;
}

size_t get_shm_min_allocatable_size(void)
{
	return SHM_MIN_BLOCK;
}

size_t get_sizeof_block_header(void)
{
	return 0;
}

size_t get_mapping_size_needed_by_shm(void)
{
	return SHM_FILE_SIZE;
}
