/*
 * crash_stress - crash consistency of the shared cache under SIGKILL.
 *
 *   crash_stress [-n PROCS] [-r ROUNDS] [-k KEYS] [-s SEED] CACHE_FILE
 *
 * Each round forks PROCS workers that attach CACHE_FILE and record random,
 * overlapping keys with random operation bits.  After each cache_record that
 * returned CACHE_OK a worker acknowledges it in shared memory (key and bits,
 * then a release store of the count).  The parent kills every worker with
 * SIGKILL, each at a random moment (after a random number of its records
 * plus a random spin, so that most kills land inside cache_record or the
 * allocator).  After each round: cache_verify must be clean, and every
 * acknowledged record so far must be found, with at least its operation bits
 * and a hit count at least the number of its acknowledgements.
 * Exit 0 when every round passed; 1 with the round, seed and problem.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ctrie_cache.h"
#include "stress_keys.h"

#define ACK_MAX 4096
#define MAX_PROCS 64
#define KEY_CAP 4096

struct ack_slot {
	_Atomic uint32_t n;            /* acknowledged records            */
	_Atomic int ready;             /* attached, about to record       */
	uint32_t key[ACK_MAX];
	uint32_t ops[ACK_MAX];
};

struct expect {
	uint32_t ops;
	uint64_t count;
};

static size_t max_key;

static uint32_t random_ops(uint64_t *rs)
{
	uint64_t r = stress_rand(rs);
	uint32_t ops = 1u << (r % 19);

	if (r & (1u << 20))
		ops |= CACHE_OP_EXISTS;
	if (r & (1u << 21))
		ops |= CACHE_OP_MISSING;
	return ops;
}

/* A worker: records until killed; once its slot is full it goes on
 * recording without acknowledging, so that a kill always finds it busy. */
static void worker(const char *path, struct ack_slot *slot, uint32_t nkeys,
		   uint64_t seed)
{
	struct cache c;
	char key[KEY_CAP];
	uint64_t rs = seed | 1;
	uint32_t n = 0;

	memset(&c, 0, sizeof c);
	if (cache_attach(&c, path, 0) != CACHE_OK)
		_exit(10);
	atomic_store_explicit(&slot->ready, 1, memory_order_release);
	for (;;) {
		uint32_t k = (uint32_t)(stress_rand(&rs) % nkeys);
		uint32_t ops = random_ops(&rs);
		size_t len = stress_key(k, key, sizeof key, max_key);
		int rc = cache_record(&c, key, len, ops);

		if (rc != CACHE_OK)
			_exit(rc == CACHE_E_FULL ? 11 : 12);
		if (n == ACK_MAX)
			continue;
		slot->key[n] = k;
		slot->ops[n] = ops;
		/* release: the key and bits are visible before the count */
		atomic_store_explicit(&slot->n, ++n, memory_order_release);
	}
}

static void report_problem(const char *problem, void *arg)
{
	(void)arg;
	printf("  verify: %s\n", problem);
}

/* Spins for about us microseconds (a random moment, not a wait for
 * anything: the kill lands wherever the worker then is). */
static void spin_us(unsigned us)
{
	struct timespec a, b;

	clock_gettime(CLOCK_MONOTONIC, &a);
	do
		clock_gettime(CLOCK_MONOTONIC, &b);
	while ((b.tv_sec - a.tv_sec) * 1000000L + (b.tv_nsec - a.tv_nsec) / 1000 <
	       (long)us);
}

/* Waits until the worker has acknowledged target records, or has exited
 * (*status set). */
static int wait_progress(pid_t pid, struct ack_slot *slot, uint32_t target,
			 int *status)
{
	for (;;) {
		if (atomic_load_explicit(&slot->n, memory_order_acquire) >= target)
			return 0;
		if (waitpid(pid, status, WNOHANG) == pid)
			return 1;
		sched_yield();
	}
}

static int check_round(struct cache *c, struct expect *exp, uint32_t nkeys,
		       int round, uint64_t seed)
{
	char key[KEY_CAP];
	long problems = cache_verify(c, report_problem, NULL);
	int bad = 0;
	uint32_t k;

	if (problems != 0) {
		printf("round %d (seed %" PRIu64 "): verify found %ld problems\n",
		       round, seed, problems);
		bad = 1;
	}
	for (k = 0; k < nkeys; k++) {
		struct cache_entry e;
		size_t len;
		int rc;

		if (exp[k].count == 0)
			continue;
		len = stress_key(k, key, sizeof key, max_key);
		rc = cache_lookup(c, key, len, &e);
		if (rc != 1) {
			printf("round %d (seed %" PRIu64 "): acknowledged key %u "
			       "%s\n", round, seed, k,
			       rc == 0 ? "absent" : cache_strerror(rc));
			bad = 1;
		} else if ((e.ops & exp[k].ops) != exp[k].ops ||
			   e.count < exp[k].count) {
			printf("round %d (seed %" PRIu64 "): key %u has ops %#llx "
			       "count %" PRIu64 ", acknowledged ops %#x count %"
			       PRIu64 "\n", round, seed, k,
			       (unsigned long long)e.ops, e.count,
			       exp[k].ops, exp[k].count);
			bad = 1;
		}
		if (bad > 0 && bad++ > 10)
			break;
	}
	return bad;
}

int main(int argc, char **argv)
{
	int nprocs = 4, rounds = 30, opt, round, i, failed = 0;
	uint32_t nkeys = 3000;
	uint64_t seed = (uint64_t)time(NULL), rs;
	uint64_t acked = 0, kills = 0, in_attach = 0;
	struct ack_slot *slots;
	struct expect *exp;
	struct cache c;
	const char *path;
	int rc;

	while ((opt = getopt(argc, argv, "n:r:k:s:")) != -1) {
		switch (opt) {
		case 'n': nprocs = atoi(optarg); break;
		case 'r': rounds = atoi(optarg); break;
		case 'k': nkeys = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 's': seed = strtoull(optarg, NULL, 10); break;
		default: goto usage;
		}
	}
	if (optind + 1 != argc || nprocs < 1 || nprocs > MAX_PROCS || nkeys < 1)
		goto usage;
	path = argv[optind];
	rs = seed * 2 + 1;

	slots = mmap(NULL, sizeof *slots * (size_t)nprocs, PROT_READ | PROT_WRITE,
		     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	exp = calloc(nkeys, sizeof *exp);
	if (slots == MAP_FAILED || exp == NULL)
		return 2;
	unlink(path);
	memset(&c, 0, sizeof c);
	rc = cache_attach(&c, path, CACHE_ATTACH_CREATE);
	if (rc != CACHE_OK) {
		printf("cannot create %s: %s\n", path, cache_strerror(rc));
		return 2;
	}
	max_key = cache_max_key();
	if (max_key > KEY_CAP - 1)
		max_key = KEY_CAP - 1;

	for (round = 1; round <= rounds && !failed; round++) {
		pid_t pids[MAX_PROCS];

		memset(slots, 0, sizeof *slots * (size_t)nprocs);
		for (i = 0; i < nprocs; i++) {
			uint64_t wseed = stress_rand(&rs);
			pids[i] = fork();
			if (pids[i] == 0)
				worker(path, &slots[i], nkeys, wseed);
			if (pids[i] < 0) {
				perror("fork");
				return 2;
			}
		}
		/* Kill each at a random moment: after 0..ACK_MAX/2 records,
		 * plus 0..40 us; one in eight right away (maybe in attach). */
		for (i = 0; i < nprocs; i++) {
			uint64_t r = stress_rand(&rs);
			int status = 0;

			if (r % 8 != 0 &&
			    wait_progress(pids[i], &slots[i],
					  (uint32_t)((r >> 8) % (ACK_MAX / 2)),
					  &status)) {
				printf("round %d: worker %d exited on its own "
				       "(status %#x)\n", round, i, status);
				failed = 1;
				pids[i] = 0;
				continue;
			}
			spin_us((unsigned)((r >> 24) % 40));
			kill(pids[i], SIGKILL);
			kills++;
		}
		for (i = 0; i < nprocs; i++) {
			int status;
			uint32_t n, j;

			if (pids[i] != 0 &&
			    waitpid(pids[i], &status, 0) == pids[i] &&
			    !(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)) {
				printf("round %d: worker %d ended with status "
				       "%#x, not by the kill\n", round, i, status);
				failed = 1;
			}
			if (!atomic_load(&slots[i].ready))
				in_attach++;
			n = atomic_load_explicit(&slots[i].n, memory_order_acquire);
			for (j = 0; j < n; j++) {
				exp[slots[i].key[j]].ops |= slots[i].ops[j];
				exp[slots[i].key[j]].count++;
			}
			acked += n;
		}
		if (check_round(&c, exp, nkeys, round, seed))
			failed = 1;
	}
	round--;
	printf("crash_stress: %d rounds of %d processes (seed %" PRIu64 "): "
	       "%" PRIu64 " SIGKILLs (%" PRIu64 " before or during attach), "
	       "%" PRIu64 " acknowledged records; %s\n", round, nprocs, seed,
	       kills, in_attach, acked,
	       failed ? "FAILED" : "verify clean and every record found "
	       "after every round");
	cache_detach(&c);
	free(exp);
	if (!failed)
		unlink(path);
	return failed;

usage:
	fprintf(stderr, "usage: crash_stress [-n PROCS] [-r ROUNDS] [-k KEYS] "
		"[-s SEED] CACHE_FILE\n");
	return 2;
}
