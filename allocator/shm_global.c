/*
 * shm_global.c - the process-wide API (shm_init, shm_malloc, ptr_*, the
 * getters): one arena per process, over the arena API.
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

struct shm_arena shm_g_arena;
static _Atomic int g_state;
_Atomic(unsigned char *) shm_g_base;
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
	shm_g_arena = a;
	/* release: the arena fields before the base that announces them */
	atomic_store_explicit(&shm_g_base, a.base, memory_order_release);
	atomic_store(&g_state, G_READY);
	return true;
}

void shm_deinit(void)
{
	int s = G_READY;
	if (!atomic_compare_exchange_strong(&g_state, &s, G_OPENING))
		return;
	atomic_store(&shm_g_base, NULL);
	shm_arena_close(&shm_g_arena);
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


void *get_shm_user_base(void)
{
	/* acquire: pairs with the release in shm_init */
	return atomic_load_explicit(&shm_g_base, memory_order_acquire);
}

shm_offt shm_calloc(size_t count, size_t size)
{
	return shm_arena_calloc(shm_global_arena(), count, size);
}

void *ptr_calloc(size_t count, size_t size)
{
	struct shm_arena *a = shm_global_arena();
	shm_offt off = shm_arena_calloc(a, count, size);
	return off == SHM_NULL ? NULL : a->base + off;
}

size_t get_shm_max_allocatable_size(void)
{
	return SHM_BLOCK_MAX;
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
