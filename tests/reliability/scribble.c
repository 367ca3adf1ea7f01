/*
 * scribble - a hostile writer: attaches a cache file and damages it (see
 * scribble.h) while other processes use it, one damage every DELAY
 * microseconds, until COUNT damages are done or SIGTERM arrives.  Then it
 * puts back the first line of the cache header (magic, version, settings:
 * random damage may have made the file unrecognisable, which attach and the
 * CLI rightly call "not a cache") and points every link out of range, so
 * that the file is certainly a damaged cache; prints how many damages it
 * did, and exits.
 *
 *   scribble [-s SEED] [-n COUNT] [-d DELAY_US] CACHE
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "ctrie_cache.h"
#include "scribble.h"

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	struct scribble_target t;
	struct sigaction sa;
	struct cache c;
	uint64_t seed = 1, rs, done = 0, count = 0;
	unsigned char prefix[64];
	long delay = 200;
	int opt;

	while ((opt = getopt(argc, argv, "s:n:d:")) != -1) {
		switch (opt) {
		case 's': seed = strtoull(optarg, NULL, 10); break;
		case 'n': count = strtoull(optarg, NULL, 10); break;
		case 'd': delay = atol(optarg); break;
		default: goto usage;
		}
	}
	if (optind + 1 != argc)
		goto usage;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_term;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	memset(&c, 0, sizeof c);
	if (cache_attach(&c, argv[optind], 0) != CACHE_OK ||
	    scribble_target_of(&t, &c.arena) != 0) {
		fprintf(stderr, "scribble: cannot attach %s\n", argv[optind]);
		return 2;
	}
	rs = seed * 2 + 1;
	memcpy(prefix, t.map + t.client, sizeof prefix);
	/* tell the runner the writer is attached and at work */
	printf("scribbling\n");
	fflush(stdout);
	while (!stop && (count == 0 || done < count)) {
		struct timespec ts = { 0, delay * 1000L };
		scribble_one(&t, &rs, (unsigned)stress_rand(&rs));
		done++;
		if (delay > 0)
			nanosleep(&ts, NULL);
	}
	memcpy(t.map + t.client, prefix, sizeof prefix);
	scribble_all_links(&t);
	printf("scribble: %" PRIu64 " damages, then every link out of range\n",
	       done);
	cache_detach(&c);
	return 0;

usage:
	fprintf(stderr, "usage: scribble [-s SEED] [-n COUNT] [-d DELAY_US] CACHE\n");
	return 2;
}
