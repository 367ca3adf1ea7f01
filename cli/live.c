/*
 * live.c - figures of a cache being filled, sampled over time: what
 * `watch` shows and `run --progress` prints on its status line.
 */
#include <errno.h>
#include <time.h>

#include "cli.h"

double live_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void live_sleep(double seconds)
{
	struct timespec ts = { (time_t)seconds,
			       (long)((seconds - (double)(time_t)seconds) *
				      1e9) };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

bool live_sample(struct cache *c, struct live_sample *s)
{
	struct cache_stats st;
	/* records is the sum of the hit counters: it needs the walk. */
	if (cache_stats(c, &st, true) != CACHE_OK)
		return false;
	s->t = live_now();
	s->entries = st.entries;
	s->records = st.records;
	s->attaches = st.attaches;
	s->skipped = st.skipped_full + st.skipped_toolong;
	return true;
}

double live_rate(const struct live_sample *prev, const struct live_sample *cur)
{
	if (prev == NULL || cur->t <= prev->t || cur->records < prev->records)
		return 0;
	return (double)(cur->records - prev->records) / (cur->t - prev->t);
}
