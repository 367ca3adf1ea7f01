/*
 * cache_slots.c - claiming members of small static buffer pools, one bit
 * each in a word of flags (contract in ctrie_cache.h).
 */
#include "ctrie_cache.h"

#include <stdatomic.h>

int cache_slot_claim(_Atomic unsigned *used, unsigned slots)
{
	const unsigned all = slots >= 32 ? ~0u : (1u << slots) - 1;
	/* relaxed: the CAS below decides */
	unsigned now = atomic_load_explicit(used, memory_order_relaxed);

	while ((now & all) != all) {
		unsigned bit = (unsigned)__builtin_ctz(~now & all);
		/* acquire: the member's last user is done with it */
		if (atomic_compare_exchange_weak_explicit(
			    used, &now, now | 1u << bit, memory_order_acquire,
			    memory_order_relaxed))
			return (int)bit;
	}
	return -1;
}

void cache_slot_release(_Atomic unsigned *used, int i)
{
	/* release: this use of the member is over before another claims it */
	atomic_fetch_and_explicit(used, ~(1u << (unsigned)i),
				  memory_order_release);
}
