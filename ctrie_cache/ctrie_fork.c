/*
 * ctrie_fork.c - knowing that the process forked in the middle of a record.
 *
 * A signal handler may fork while the thread it interrupted is inside
 * cache_record.  Parent and child then both hold that record's half-built
 * state: nodes built for a CAS that either of them may publish, an S-node
 * either may give back, a new chunk either may install.  Freeing or giving
 * back any of it, or counting an insert that the twin counts too, would
 * damage the shared file.  So fork handlers bump a process-local count in
 * both processes, and a record that sees it change since it began leaks
 * instead (see ctrie_insert.c).  A fork that runs no handlers (_Fork, a raw
 * clone) is not seen.
 */
#include <pthread.h>

#include "ctrie_layout.h"

static _Atomic unsigned long forks;
static atomic_flag registered = ATOMIC_FLAG_INIT;

static void forked(void)
{
	/* relaxed: read back only by this process's threads after the fork,
	 * which the fork itself orders */
	atomic_fetch_add_explicit(&forks, 1, memory_order_relaxed);
}

void ctrie_fork_watch(void)
{
	if (!atomic_flag_test_and_set(&registered) &&
	    pthread_atfork(NULL, forked, forked) != 0)
		atomic_flag_clear(&registered);
}

unsigned long ctrie_forks(void)
{
	/* relaxed: see forked */
	return atomic_load_explicit(&forks, memory_order_relaxed);
}
