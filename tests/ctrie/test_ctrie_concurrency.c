/*
 * test_ctrie_concurrency.c - the path cache under concurrency: 8 threads
 * and 8 processes recording overlapping key sets (union present, every hit
 * counter exact), processes SIGKILLed at random moments (verify clean, every
 * acknowledged record found), a signal handler recording in the middle of a
 * record of the same thread, a signal handler forking in the middle of one,
 * and iteration while another process inserts.
 */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS */
#include <criterion/criterion.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <sys/wait.h>

#include "ctrie_test_util.h"

TestSuite(ctrie, .timeout = 300);

/* With the weak hash (4096 distinct values) every insert copies an L-node
 * of dozens of keys: fewer keys keep the arena and the time small. */
#ifdef CTRIE_WEAK_HASH
#define KEY_SCALE 8
#else
#define KEY_SCALE 1
#endif

#ifdef CTRIE_TEST_L4
/* The variant with the level-4 index in use from the first key of every
 * cache (it is used by itself only past a million keys). */
static int attach_l4(struct cache *c, const char *p, unsigned flags)
{
	int r = cache_attach(c, p, flags);
	if (r == CACHE_OK)
		(void)cache_l4_start(c); /* CACHE_E_RDONLY read-only */
	return r;
}
#define cache_attach attach_l4
#endif

static struct cache C;
static char path[512];

/* ---- 8 workers over overlapping key ranges ----------------------------- */

#define WORKERS 8
#define SPAN 3000u
#define STEP 1000u

static size_t overlap_key(char *k, unsigned i)
{
	return (size_t)sprintf(k, "/overlap/dir%03u/file-%u.o", i % 211, i);
}

static int work(struct cache *c, unsigned w)
{
	char k[64];
	unsigned i;
	for (i = w * STEP; i < w * STEP + SPAN; i++)
		if (cache_record(c, k, overlap_key(k, i), 1u << w) != CACHE_OK)
			return 1;
	return 0;
}

static void check_overlap(struct cache *c)
{
	char k[64];
	unsigned i, w, total = (WORKERS - 1) * STEP + SPAN;
	struct cache_stats st;

	for (i = 0; i < total; i++) {
		struct cache_entry e;
		uint32_t ops = 0;
		uint64_t n = 0;
		for (w = 0; w < WORKERS; w++) {
			if (i >= w * STEP && i < w * STEP + SPAN) {
				ops |= 1u << w;
				n++;
			}
		}
		cr_assert_eq(cache_lookup(c, k, overlap_key(k, i), &e), 1,
			     "key %u missing", i);
		cr_assert_eq(e.count, n, "key %u: count %llu, expected %llu", i,
			     (unsigned long long)e.count, (unsigned long long)n);
		cr_assert_eq(e.ops, ops, "key %u: ops %llx, expected %x", i,
			     (unsigned long long)e.ops, ops);
	}
	cr_assert_eq(cache_stats(c, &st, true), CACHE_OK);
	cr_assert_eq(st.entries, total);
	cr_assert_eq(st.records, (uint64_t)WORKERS * SPAN);
	/* lost races counted every node they built as retired or slack */
	cr_assert_eq(bytes_unaccounted(c), 0);
	cr_assert_eq(cache_verify(c, print_problem, NULL), 0);
}

static void *thread_main(void *arg)
{
	return (void *)(intptr_t)work(&C, (unsigned)(uintptr_t)arg);
}

Test(ctrie, eight_threads_overlapping_sets)
{
	pthread_t t[WORKERS];
	unsigned w;
	void *r;

	test_path(path, sizeof path, "threads");
	cr_assert_eq(cache_attach(&C, path, CACHE_ATTACH_CREATE), CACHE_OK);
	for (w = 0; w < WORKERS; w++)
		cr_assert_eq(pthread_create(&t[w], NULL, thread_main,
					    (void *)(uintptr_t)w), 0);
	for (w = 0; w < WORKERS; w++) {
		pthread_join(t[w], &r);
		cr_assert_null(r, "worker %u failed", w);
	}
	check_overlap(&C);
	cache_detach(&C);
	unlink(path);
}

Test(ctrie, eight_processes_overlapping_sets)
{
	pid_t pid[WORKERS];
	unsigned w;

	test_path(path, sizeof path, "procs");
	/* every child attaches (and races to format) the fresh file itself */
	for (w = 0; w < WORKERS; w++) {
		pid[w] = fork();
		cr_assert_neq(pid[w], -1);
		if (pid[w] == 0) {
			struct cache c;
			if (cache_attach(&c, path, CACHE_ATTACH_CREATE) != CACHE_OK)
				_exit(2);
			_exit(work(&c, w));
		}
	}
	for (w = 0; w < WORKERS; w++) {
		int st;
		cr_assert_eq(waitpid(pid[w], &st, 0), pid[w]);
		cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0,
			  "child %u: status %d", w, st);
	}
	cr_assert_eq(cache_attach(&C, path, 0), CACHE_OK);
	check_overlap(&C);
	cache_detach(&C);
	unlink(path);
}

/* ---- SIGKILL at random moments ----------------------------------------- */

#define KILL_CHILDREN 2

struct acks {
	_Atomic uint64_t acked[KILL_CHILDREN];
};

static size_t kill_key(char *k, unsigned round, unsigned child, uint64_t i)
{
	return (size_t)sprintf(k, "/kill/r%u/c%u/%llu", round, child,
			       (unsigned long long)i);
}

/* New keys a child records at most: well past the largest kill target, but
 * bounded, so that a parent descheduled for long on a loaded machine cannot
 * let the children fill the arena.  Past it a child only merges. */
#define KILL_MAX_KEYS (4 * 300 / KEY_SCALE)

static void killed_child(struct acks *a, unsigned round, unsigned child)
{
	struct cache c;
	char k[64];
	uint64_t i;

	if (cache_attach(&c, path, 0) != CACHE_OK)
		_exit(2);
	for (i = 0;; i++) {
		/* a shared key too, so that kills land in merges and races */
		if (cache_record(&c, k, (size_t)sprintf(k, "/kill/common/%llu",
			(unsigned long long)(i % 64)), CACHE_OP_STAT) != CACHE_OK)
			_exit(3);
		if (i >= KILL_MAX_KEYS) {
			i--;
			continue;
		}
		if (cache_record(&c, k, kill_key(k, round, child, i),
				 CACHE_OP_READ) != CACHE_OK)
			_exit(3);
		/* release: the parent reads it after the record returned */
		atomic_store_explicit(&a->acked[child], i + 1,
				      memory_order_release);
	}
}

Test(ctrie, sigkill_at_random_moments)
{
	const char *env = getenv("CTRIE_KILL_ROUNDS");
	unsigned rounds = env ? (unsigned)atoi(env) : 200 / KEY_SCALE, r, ch;
	struct acks *a = mmap(NULL, rounds * sizeof *a, PROT_READ | PROT_WRITE,
			      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	uint64_t seed = 0x51ed270b27ee1d9bu, total = 0;
	char k[64];

	cr_assert_neq(a, MAP_FAILED);
	test_path(path, sizeof path, "kill");
	cr_assert_eq(cache_attach(&C, path, CACHE_ATTACH_CREATE), CACHE_OK);
	for (r = 0; r < rounds; r++) {
		pid_t pid[KILL_CHILDREN];
		for (ch = 0; ch < KILL_CHILDREN; ch++) {
			pid[ch] = fork();
			cr_assert_neq(pid[ch], -1);
			if (pid[ch] == 0)
				killed_child(&a[r], r, ch);
		}
		for (ch = 0; ch < KILL_CHILDREN; ch++) {
			/* kill after a random number of acknowledged records:
			 * the kill lands anywhere in the records after it */
			uint64_t target = test_rand(&seed) % (300 / KEY_SCALE);
			int st;
			while (atomic_load(&a[r].acked[ch]) < target) {
				cr_assert_eq(waitpid(pid[ch], &st, WNOHANG), 0,
					     "child died on its own: %d", st);
				sched_yield();
			}
			kill(pid[ch], SIGKILL);
		}
		for (ch = 0; ch < KILL_CHILDREN; ch++) {
			int st;
			cr_assert_eq(waitpid(pid[ch], &st, 0), pid[ch]);
			cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL,
				  "round %u child %u: status %d", r, ch, st);
		}
	}
	cr_assert_eq(cache_verify(&C, print_problem, NULL), 0);
	for (r = 0; r < rounds; r++) {
		for (ch = 0; ch < KILL_CHILDREN; ch++) {
			uint64_t i, n = atomic_load(&a[r].acked[ch]);
			for (i = 0; i < n; i++) {
				struct cache_entry e;
				cr_assert_eq(cache_lookup(&C, k, kill_key(k, r, ch, i),
							  &e), 1,
					     "round %u child %u record %llu lost",
					     r, ch, (unsigned long long)i);
				cr_assert_eq(e.count, 1);
			}
			total += n;
		}
	}
	cr_assert(total > 0);
	/* the cache is still fully usable */
	cr_assert_eq(cache_record(&C, "/after/kills", 12, CACHE_OP_READ),
		     CACHE_OK);
	cr_assert_eq(cache_lookup(&C, "/after/kills", 12, NULL), 1);
	cr_assert_eq(cache_verify(&C, print_problem, NULL), 0);
	cache_detach(&C);
	unlink(path);
	munmap(a, rounds * sizeof *a);
}

/* ---- a signal handler recording inside a record ------------------------ */

static volatile sig_atomic_t in_record;

/* Installs fn for sig, restarting the calls it interrupts. */
static void handle(int sig, void (*fn)(int))
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = fn;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	cr_assert_eq(sigaction(sig, &sa, NULL), 0);
}
static volatile sig_atomic_t handler_calls, handler_inside, handler_fail;
static _Atomic int stop_sender;

static size_t sig_key(char *k, unsigned n)
{
	/* async-signal-safe formatting */
	char d[16];
	size_t l = 0, j = 0;
	memcpy(k, "/signal/", 8);
	do
		d[j++] = (char)('0' + n % 10);
	while ((n /= 10) != 0);
	while (j > 0)
		k[8 + l++] = d[--j];
	return 8 + l;
}

static void on_signal(int sig)
{
	char k[32];
	(void)sig;
	if (in_record)
		handler_inside++;
	if (cache_record(&C, k, sig_key(k, (unsigned)handler_calls),
			 CACHE_OP_WRITE) != CACHE_OK ||
	    cache_record(&C, "/shared", 7, CACHE_OP_WRITE) != CACHE_OK)
		handler_fail++;
	handler_calls++;
}

static void *sender(void *arg)
{
	pthread_t target = *(pthread_t *)arg;
	while (!atomic_load(&stop_sender)) {
		pthread_kill(target, SIGUSR1);
		sched_yield();
	}
	return NULL;
}

Test(ctrie, signal_handler_records_inside_a_record)
{
	pthread_t self = pthread_self(), t;
	unsigned i, main_shared = 0;
	char k[64];
	struct cache_entry e;
	sigset_t block;

	test_path(path, sizeof path, "signal");
	cr_assert_eq(cache_attach(&C, path, CACHE_ATTACH_CREATE), CACHE_OK);
	handle(SIGUSR1, on_signal);
	cr_assert_eq(pthread_create(&t, NULL, sender, &self), 0);
	for (i = 0; i < 400000 / KEY_SCALE && handler_inside < 300; i++) {
		size_t l = (size_t)sprintf(k, "/main/%u", i);
		int r1, r2 = CACHE_OK;
		in_record = 1;
		r1 = cache_record(&C, k, l, CACHE_OP_READ);
		if (i % 4 == 0) {
			r2 = cache_record(&C, "/shared", 7, CACHE_OP_READ);
			main_shared++;
		}
		in_record = 0;
		cr_assert_eq(r1, CACHE_OK);
		cr_assert_eq(r2, CACHE_OK);
	}
	atomic_store(&stop_sender, 1);
	pthread_join(t, NULL);
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigprocmask(SIG_BLOCK, &block, NULL);
	cr_assert(handler_inside > 0, "no signal landed inside a record "
		  "(%u records, %d signals)", i, (int)handler_calls);
	cr_assert_eq(handler_fail, 0);
	cr_assert_eq(cache_verify(&C, print_problem, NULL), 0);
	/* a record interrupted by one of its own thread's counts everything
	 * it built: nothing is given back, so no byte is left unexplained */
	cr_assert_eq(bytes_unaccounted(&C), 0);
	for (unsigned j = 0; j < i; j++) {
		cr_assert_eq(cache_lookup(&C, k, (size_t)sprintf(k, "/main/%u", j),
					  &e), 1);
		cr_assert_eq(e.count, 1);
	}
	for (unsigned j = 0; j < (unsigned)handler_calls; j++) {
		cr_assert_eq(cache_lookup(&C, k, sig_key(k, j), &e), 1);
		cr_assert_eq(e.count, 1);
	}
	cr_assert_eq(cache_lookup(&C, "/shared", 7, &e), 1);
	cr_assert_eq(e.count, main_shared + (unsigned)handler_calls);
	cr_assert_eq(e.ops, CACHE_OP_READ | CACHE_OP_WRITE);
	cache_detach(&C);
	unlink(path);
}

/* ---- iteration while another process inserts --------------------------- */

struct once {
	struct ref_map *base;
	struct ref_map all;
	int twice;
};

static int visit_once(const struct cache_entry *e, void *arg)
{
	struct once *o = arg;
	struct ref_ent *b = ref_find(o->base, e->key, e->len, 0);
	if (ref_find(&o->all, e->key, e->len, 1)->seen++ != 0)
		o->twice++;
	if (b != NULL)
		b->seen++;
	return 0;
}

Test(ctrie, iteration_sees_each_present_key_once_during_inserts)
{
	struct ref_map base = { 0 };
	char k[64];
	unsigned i, round;
	int go[2];
	pid_t pid;

	test_path(path, sizeof path, "iter");
	cr_assert_eq(cache_attach(&C, path, CACHE_ATTACH_CREATE), CACHE_OK);
	for (i = 0; i < 20000; i++) {
		size_t l = (size_t)sprintf(k, "/base/%u/%u", i % 97, i);
		cr_assert_eq(cache_record(&C, k, l, CACHE_OP_READ), CACHE_OK);
		ref_find(&base, (unsigned char *)k, l, 1);
	}
	cr_assert_eq(pipe(go), 0);
	pid = fork();
	cr_assert_neq(pid, -1);
	if (pid == 0) {
		struct cache c;
		if (cache_attach(&c, path, 0) != CACHE_OK)
			_exit(2);
		if (write(go[1], "g", 1) != 1)
			_exit(2);
		for (i = 0; i < 200000; i++)
			if (cache_record(&c, k, (size_t)sprintf(k, "/new/%u/%u",
				i % 89, i), CACHE_OP_WRITE) != CACHE_OK)
				_exit(3);
		_exit(0);
	}
	cr_assert_eq(read(go[0], k, 1), 1);
	for (round = 0; round < 5; round++) {
		struct once o = { &base, { 0 }, 0 };
		size_t j;
		for (j = 0; j < base.cap; j++)
			base.t[j].seen = 0;
		cr_assert_eq(cache_iterate(&C, visit_once, &o), CACHE_OK);
		cr_assert_eq(o.twice, 0, "%d keys seen twice", o.twice);
		for (j = 0; j < base.cap; j++)
			if (base.t[j].key != NULL)
				cr_assert_eq(base.t[j].seen, 1);
		ref_free(&o.all);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	cr_assert_eq(cache_verify(&C, print_problem, NULL), 0);
	ref_free(&base);
	cache_detach(&C);
	unlink(path);
}

/* ---- a signal handler forks in the middle of a record ------------------- */

#define TWIN_FORKS (2000 / KEY_SCALE)
/* Keys of one cache file: a fifth of the arena.  Rounds on new files go on
 * until TWIN_FORKS forks. */
#define TWIN_KEYS (100000u / KEY_SCALE)

static volatile sig_atomic_t twin_child, twin_forks; /* and in_record */

static void fork_twin(int sig)
{
	pid_t p;
	(void)sig;
	if (!in_record || twin_child || twin_forks >= TWIN_FORKS)
		return;
	p = fork();
	if (p == 0)
		twin_child = 1;
	else if (p > 0)
		twin_forks++;
}

static size_t twin_key(char *k, unsigned i)
{
	return (size_t)sprintf(k, "/twin/d%u/file-%u.c", i % 97, i);
}

/* verify's reports but those of the header's counters (see below). */
static void structural_problem(const char *p, void *arg)
{
	print_problem(p, NULL);
	if (strncmp(p, "header counts ", 14) != 0)
		++*(long *)arg;
}

/* The child returns from the handler and finishes the interrupted record
 * too: both processes hold its half-built nodes.  The trie stays sound,
 * every key is found, and every child finishes its record.  Leaks are
 * allowed.  The counters are only statistics here: a record forked in the
 * middle counts in the parent only, and a fork between the check for it and
 * a count counts twice, so each fork may put the entry count one off, either way
 * (and the byte counters too: bytes_unaccounted may go either way).
 *
 * One cache file: records new keys while the timer forks, until TWIN_KEYS
 * keys or the last fork; then reaps the children and checks the file. */
static void twin_round(void)
{
	struct itimerval on = { { 0, 300 }, { 0, 300 } }, off = { { 0, 0 },
								   { 0, 0 } };
	const int forks_before = twin_forks;
	unsigned i, n;
	char k[64];
	long damage = 0;
	struct cache_stats st;
	int status, twin_failed = 0, forks;

	unlink(path);
	cr_assert_eq(cache_attach(&C, path, CACHE_ATTACH_CREATE), CACHE_OK);
	cr_assert_eq(setitimer(ITIMER_REAL, &on, NULL), 0);
	for (n = 0; twin_forks < TWIN_FORKS && n < TWIN_KEYS; n++) {
		size_t len = twin_key(k, n);
		int r;
		in_record = 1;
		r = cache_record(&C, k, len, CACHE_OP_READ);
		in_record = 0;
		if (twin_child)
			_exit(r == CACHE_OK ? 0 : 1);
		cr_assert_eq(r, CACHE_OK, "record %u: %s", n,
			     cache_strerror(r));
		while (waitpid(-1, &status, WNOHANG) > 0)
			twin_failed += !WIFEXITED(status) ||
				       WEXITSTATUS(status) != 0;
	}
	setitimer(ITIMER_REAL, &off, NULL);
	while (wait(&status) > 0)
		twin_failed += !WIFEXITED(status) || WEXITSTATUS(status) != 0;
	forks = twin_forks - forks_before;
	/* each child finished the record it was forked in */
	cr_assert_eq(twin_failed, 0, "%d children failed", twin_failed);
	cache_verify(&C, structural_problem, &damage);
	cr_assert_eq(damage, 0);
	cr_assert_eq(cache_stats(&C, &st, false), CACHE_OK);
	cr_assert(st.entries + (unsigned)forks >= n &&
			  st.entries <= n + (unsigned)forks,
		  "%llu entries counted, %u inserted, %d forks",
		  (unsigned long long)st.entries, n, forks);
	for (i = 0; i < n; i++)
		cr_assert_eq(cache_lookup(&C, k, twin_key(k, i), NULL), 1,
			     "key %u of %u lost", i, n);
	cache_detach(&C);
	unlink(path);
}

Test(ctrie, fork_from_a_signal_handler_in_the_middle_of_a_record)
{
	unsigned round;

	test_path(path, sizeof path, "twin");
	handle(SIGALRM, fork_twin);
	for (round = 0; round < 100 && twin_forks < TWIN_FORKS; round++)
		twin_round();
	cr_assert_eq(twin_forks, TWIN_FORKS, "%d forks in %u rounds",
		     (int)twin_forks, round);
}
