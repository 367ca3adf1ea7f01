/*
 * ctrie_fork.c - knowing that the process forked in the middle of a record.
 *
 * A signal handler may fork while the thread it interrupted is inside
 * cache_record.  Parent and child then both finish that record, from its
 * half-built state: nodes built for a CAS that either of them may publish,
 * an S-node either may use, a new chunk either may install.  A record
 * never frees or gives back anything, and sets the fields of a node that
 * change later from zero, so that a twin's late write cannot undo a change
 * (ctrie_insert.c says why).  What is left is counting: both would count
 * the insert, or the garbage.  So a fork handler bumps a process-local
 * count in the child, and a record there that sees it change since it
 * began counts nothing: the parent, whose count is unchanged, counts it
 * once.  Only the child: a write in the parent would copy the page that
 * holds the count there too, a page fault per fork in every process that
 * forks under the shim (a shell).  A fork between that check and a count
 * still counts twice (a few instructions' window), and a fork that runs no
 * handlers (_Fork, a raw clone) is not seen: either puts them ahead.  Both
 * only skew the statistics.
 * The statistics that count a process's own failures or padding (lost
 * races, skipped records, the slack of a carve) are not checked at all: a
 * fork right after the event counts it twice, which skews them the same
 * way.
 */
#include <pthread.h>

#include "ctrie_layout.h"
#include "shm_hot.h"

static SHM_FORK_DATA _Atomic unsigned long forks;
static SHM_HOT_DATA atomic_flag registered = ATOMIC_FLAG_INIT;

/* hot: a forked child runs it, with the hooks it calls next (close,
 * exec), on pages it must fault in again */
__attribute__((hot)) static void forked(void)
{
	/* relaxed: read back only by the child's thread after the fork,
	 * which the fork itself orders */
	atomic_fetch_add_explicit(&forks, 1, memory_order_relaxed);
}

void ctrie_fork_watch(void)
{
	if (!atomic_flag_test_and_set(&registered) &&
	    pthread_atfork(NULL, NULL, forked) != 0)
		atomic_flag_clear(&registered);
}

unsigned long ctrie_forks(void)
{
	/* relaxed: see forked */
	return atomic_load_explicit(&forks, memory_order_relaxed);
}
