/*
 * hostile_api - damaged caches through the ctrie API: each iteration makes
 * a real cache, damages it as a hostile writer would (scribble.h: random
 * words, links out of range, cycles, huge lengths, a bent header, bit
 * flips, or all of it), then a child attaches it and runs lookup, record,
 * iterate, stats, recent and verify.  Errors are the expected answers; a
 * crash or a hang (60 s alarm) fails the test, and so does a verify that
 * finds nothing after every link was pointed out of range.
 *
 *   hostile_api [-i ITERATIONS] [-k KEYS] [-s SEED] DIR
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ctrie_cache.h"
#include "scribble.h"

#define KEY_CAP 4096
#define ALL_OUT_OF_RANGE SCRIBBLE_NKINDS     /* kind 6: every link      */
#define MIXED (SCRIBBLE_NKINDS + 1)          /* kind 7: many of each    */
#define NMODES (SCRIBBLE_NKINDS + 2)

struct outcome {
	long verify;                 /* problems reported                 */
	long lookup[3];              /* present, absent, error            */
	long wrong;                  /* found, but another key's entry    */
	long record_ok, record_err;
	long iterated;
	int iterate_rc, stats_rc;
};

static size_t max_key;

static int visit(const struct cache_entry *e, void *arg)
{
	struct outcome *o = arg;
	volatile unsigned char sum = 0;
	size_t i;

	for (i = 0; i < e->len; i++)
		sum = (unsigned char)(sum + e->key[i]);
	return ++o->iterated > 10000000;
}

static void count_report(const char *problem, void *arg)
{
	(void)problem;
	(void)arg;
}

/* In the child: every operation on the damaged file. */
static void exercise(const char *path, uint32_t nkeys, struct outcome *o)
{
	struct cache c;
	struct cache_entry e, recent[8];
	struct cache_stats st;
	char key[KEY_CAP];
	uint32_t k;

	memset(&c, 0, sizeof c);
	if (cache_attach(&c, path, 0) != CACHE_OK) {
		o->verify = -1;
		return;
	}
	for (k = 0; k < nkeys; k++) {
		size_t len = stress_key(k, key, sizeof key, max_key);
		int r = cache_lookup(&c, key, len, &e);
		o->lookup[r == 1 ? 0 : r == 0 ? 1 : 2]++;
		if (r == 1 && (e.len != len || memcmp(e.key, key, len) != 0))
			o->wrong++;
	}
	for (k = 0; k < 200; k++) {
		size_t len = stress_key(k * 7 + nkeys / 2, key, sizeof key,
					max_key);
		if (cache_record(&c, key, len, CACHE_OP_READ) == CACHE_OK)
			o->record_ok++;
		else
			o->record_err++;
	}
	cache_detach(&c);
	memset(&c, 0, sizeof c);
	if (cache_attach(&c, path, CACHE_ATTACH_RDONLY) != CACHE_OK) {
		o->verify = -1;
		return;
	}
	o->iterate_rc = cache_iterate(&c, visit, o);
	o->stats_rc = cache_stats(&c, &st, true);
	cache_recent(&c, recent, 8);
	o->verify = cache_verify(&c, count_report, NULL);
	cache_detach(&c);
}

static int make_cache(const char *path, uint32_t nkeys,
		      struct scribble_target *t, struct cache *c)
{
	char key[KEY_CAP];
	uint32_t k;

	unlink(path);
	memset(c, 0, sizeof *c);
	if (cache_attach(c, path, CACHE_ATTACH_CREATE) != CACHE_OK)
		return -1;
	for (k = 0; k < nkeys; k++) {
		size_t len = stress_key(k, key, sizeof key, max_key);
		if (cache_record(c, key, len, 1u << (k % 19)) != CACHE_OK)
			return -1;
	}
	return scribble_target_of(t, &c->arena);
}

int main(int argc, char **argv)
{
	static const char *mode_name[NMODES] = {
		"random words", "links out of range", "cycles", "huge lengths",
		"cache header", "bit flips", "every link out of range", "mixed",
	};
	long runs[NMODES] = { 0 }, detected[NMODES] = { 0 };
	long lookups[3] = { 0 }, rec_ok = 0, rec_err = 0;
	int iters = 160, opt, it, failed = 0;
	uint32_t nkeys = 400;
	uint64_t seed = (uint64_t)time(NULL), rs;
	char path[4096];
	unsigned m;

	while ((opt = getopt(argc, argv, "i:k:s:")) != -1) {
		switch (opt) {
		case 'i': iters = atoi(optarg); break;
		case 'k': nkeys = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 's': seed = strtoull(optarg, NULL, 10); break;
		default: goto usage;
		}
	}
	if (optind + 1 != argc)
		goto usage;
	snprintf(path, sizeof path, "%s/hostile-%d.cache", argv[optind],
		 (int)getpid());
	max_key = cache_max_key() < KEY_CAP - 1 ? cache_max_key() : KEY_CAP - 1;
	rs = seed * 2 + 1;

	for (it = 0; it < iters; it++) {
		struct scribble_target t;
		struct outcome o;
		struct cache c;
		unsigned mode = (unsigned)it % NMODES;
		int fds[2], status = 0;
		pid_t pid;
		long n;

		if (make_cache(path, nkeys, &t, &c) != 0) {
			printf("iteration %d: cannot make the cache\n", it);
			return 2;
		}
		if (mode == ALL_OUT_OF_RANGE) {
			scribble_all_links(&t);
		} else {
			unsigned writes = mode == MIXED ? 200 :
					  1 + (unsigned)(stress_rand(&rs) % 40);
			while (writes--)
				scribble_one(&t, &rs, mode == MIXED
					     ? (unsigned)stress_rand(&rs) : mode);
		}
		cache_detach(&c);

		memset(&o, 0, sizeof o);
		if (pipe(fds) != 0)
			return 2;
		fflush(stdout);
		pid = fork();
		if (pid == 0) {
			close(fds[0]);
			alarm(60);
			exercise(path, nkeys, &o);
			_exit(write(fds[1], &o, sizeof o) == sizeof o ? 0 : 3);
		}
		close(fds[1]);
		n = pid < 0 ? -1 : read(fds[0], &o, sizeof o);
		close(fds[0]);
		if (pid < 0 || waitpid(pid, &status, 0) != pid ||
		    !WIFEXITED(status) || WEXITSTATUS(status) != 0 ||
		    n != (long)sizeof o) {
			printf("iteration %d (seed %" PRIu64 ", %s): child %s %d\n",
			       it, seed, mode_name[mode],
			       WIFSIGNALED(status) ? "killed by signal" : "exit",
			       WIFSIGNALED(status) ? WTERMSIG(status)
						   : WEXITSTATUS(status));
			failed = 1;
			continue;
		}
		runs[mode]++;
		detected[mode] += o.verify != 0;
		if (o.wrong != 0) {
			printf("iteration %d (seed %" PRIu64 ", %s): %ld lookups "
			       "returned another key's entry\n", it, seed,
			       mode_name[mode], o.wrong);
			failed = 1;
		}
		if (mode == ALL_OUT_OF_RANGE && o.verify == 0) {
			printf("iteration %d (seed %" PRIu64 "): every link out of "
			       "range, verify found nothing\n", it, seed);
			failed = 1;
		}
		for (m = 0; m < 3; m++)
			lookups[m] += o.lookup[m];
		rec_ok += o.record_ok;
		rec_err += o.record_err;
	}
	unlink(path);
	printf("hostile_api: %d damaged caches (seed %" PRIu64 "), %s\n", iters,
	       seed, failed ? "FAILED" : "no crash, no hang");
	for (m = 0; m < NMODES; m++)
		printf("  %-24s verify reported damage in %ld of %ld\n",
		       mode_name[m], detected[m], runs[m]);
	printf("  lookups: %ld found, %ld absent, %ld errors; records: %ld ok, "
	       "%ld refused\n", lookups[0], lookups[1], lookups[2], rec_ok,
	       rec_err);
	return failed;

usage:
	fprintf(stderr, "usage: hostile_api [-i ITERATIONS] [-k KEYS] [-s SEED] DIR\n");
	return 2;
}
