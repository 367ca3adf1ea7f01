/*
 * test_stress.c - concurrency: 8 threads, 8 processes, allocation from a
 * signal handler, and a child killed mid-stress.  Every block carries a
 * pattern that is checked before it is freed, so two live blocks that
 * overlap are caught.  Iteration counts are small enough for CI; set
 * SHM_STRESS_SCALE=N to run N times longer.
 */
#define _DEFAULT_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <sys/time.h>
#include <time.h>
#include <signal.h>
#include <sys/wait.h>

#include "alloc_test_util.h"

static char path[256];

static void setup(void)
{
	tmp_path(path, sizeof path, "arena");
	cr_assert(shm_init(NULL, path));
}

static void teardown(void)
{
	shm_deinit();
	tmp_cleanup(path);
}

TestSuite(stress, .init = setup, .fini = teardown, .timeout = 60);

static unsigned scale(void)
{
	const char *s = getenv("SHM_STRESS_SCALE");
	return s && atoi(s) > 0 ? (unsigned)atoi(s) : 1;
}

static unsigned rnd(unsigned *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

#define LIVE 64

/* Random sizes 1..max, a pattern per block; returns the number of
 * corrupted blocks seen.  Frees everything it allocated. */
static unsigned churn(unsigned seed, unsigned rounds)
{
	shm_offt off[LIVE] = {0};
	size_t len[LIVE] = {0};
	unsigned tag[LIVE] = {0}, bad = 0, s = seed * 2654435761u + 1;
	size_t max = get_shm_max_allocatable_size();
	for (unsigned r = 0; r < rounds; r++) {
		unsigned i = rnd(&s) % LIVE;
		if (off[i] != SHM_NULL) {
			if (!pattern_ok(SHM_OFFT_TO_ADDR(off[i]), len[i], tag[i]))
				bad++;
			shm_free(off[i]);
			off[i] = SHM_NULL;
		}
		len[i] = 1 + rnd(&s) % max;
		tag[i] = seed * 1000003u + r;
		off[i] = shm_malloc(len[i]);
		if (off[i] == SHM_NULL)
			return bad + 1000000;
		/* the whole rounded block is ours */
		len[i] = rounded(len[i]);
		pattern_fill(SHM_OFFT_TO_ADDR(off[i]), len[i], tag[i]);
	}
	for (unsigned i = 0; i < LIVE; i++)
		if (off[i] != SHM_NULL) {
			if (!pattern_ok(SHM_OFFT_TO_ADDR(off[i]), len[i], tag[i]))
				bad++;
			shm_free(off[i]);
		}
	return bad;
}

static void assert_empty_and_sound(void)
{
	struct shm_stats st;
	shm_arena_stats(shm_global_arena(), &st);
	cr_assert_eq(st.bytes_in_use, 0);
	cr_assert_eq(st.bad_frees, 0);
	cr_assert_eq(bitmap_violations(shm_global_arena()), 0);
}

static void *thread_main(void *arg)
{
	unsigned seed = (unsigned)(uintptr_t)arg;
	return (void *)(uintptr_t)churn(seed, 20000 * scale());
}

Test(stress, eight_threads)
{
	pthread_t t[8];
	for (uintptr_t i = 0; i < 8; i++)
		cr_assert_eq(pthread_create(&t[i], NULL, thread_main, (void *)(i + 1)), 0);
	for (int i = 0; i < 8; i++) {
		void *r;
		pthread_join(t[i], &r);
		cr_assert_eq((uintptr_t)r, 0, "thread %d saw %zu bad blocks", i,
			     (size_t)(uintptr_t)r);
	}
	assert_empty_and_sound();
}

Test(stress, eight_processes)
{
	pid_t pids[8];
	for (unsigned i = 0; i < 8; i++) {
		pids[i] = fork();
		if (pids[i] == 0)
			_exit(churn(i + 100, 20000 * scale()) ? 1 : 0);
	}
	for (int i = 0; i < 8; i++) {
		int st;
		waitpid(pids[i], &st, 0);
		cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "process %d", i);
	}
	assert_empty_and_sound();
}

static _Atomic unsigned handled, handler_bad;

static void on_signal(int sig)
{
	(void)sig;
	int e = errno;
	shm_offt o[4];
	for (unsigned i = 0; i < 4; i++) {
		o[i] = shm_malloc(32u << i);
		if (o[i] == SHM_NULL) {
			handler_bad++;
			continue;
		}
		pattern_fill(SHM_OFFT_TO_ADDR(o[i]), 32u << i, i + 77);
	}
	for (unsigned i = 0; i < 4; i++) {
		if (o[i] == SHM_NULL)
			continue;
		if (!pattern_ok(SHM_OFFT_TO_ADDR(o[i]), 32u << i, i + 77))
			handler_bad++;
		shm_free(o[i]);
	}
	atomic_fetch_add(&handled, 1);
	errno = e;
}

Test(stress, signal_handler_allocates)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGALRM, &sa, NULL);
	/* a signal every 50 us, landing anywhere in the main loop */
	struct itimerval it = {{0, 50}, {0, 50}};
	setitimer(ITIMER_REAL, &it, NULL);
	unsigned bad = 0, rounds = 0;
	struct timespec t0, tn;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		bad += churn(rounds + 7, 2000);
		rounds++;
		clock_gettime(CLOCK_MONOTONIC, &tn);
	} while (atomic_load(&handled) < 3000 * scale() &&
		 tn.tv_sec - t0.tv_sec < 20);
	struct itimerval off = {{0, 0}, {0, 0}};
	setitimer(ITIMER_REAL, &off, NULL);
	cr_assert_eq(bad, 0);
	cr_assert_eq(handler_bad, 0);
	cr_assert_geq(handled, 3000 * scale(), "only %u signals handled", handled);
	assert_empty_and_sound();
}

Test(stress, killed_child_leaves_usable_arena)
{
	int ready[2];
	cr_assert_eq(pipe(ready), 0);
	pid_t victim = fork();
	if (victim == 0) {
		close(ready[0]);
		unsigned s = 99;
		shm_offt live[LIVE] = {0};
		for (unsigned r = 0;; r++) {
			unsigned i = rnd(&s) % LIVE;
			shm_free(live[i]);
			live[i] = shm_malloc(1 + rnd(&s) % 1024);
			if (r == 10000 && write(ready[1], "x", 1) != 1)
				_exit(1);
		}
	}
	close(ready[1]);
	pid_t survivors[4];
	for (unsigned i = 0; i < 4; i++) {
		survivors[i] = fork();
		if (survivors[i] == 0)
			_exit(churn(i + 300, 30000 * scale()) ? 1 : 0);
	}
	char c;
	cr_assert_eq(read(ready[0], &c, 1), 1, "victim never got going");
	kill(victim, SIGKILL);
	int st;
	waitpid(victim, &st, 0);
	cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	for (int i = 0; i < 4; i++) {
		waitpid(survivors[i], &st, 0);
		cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "survivor %d", i);
	}
	cr_assert_eq(bitmap_violations(shm_global_arena()), 0);
	/* the victim's blocks leak (at most LIVE of them); all else works */
	struct shm_stats sst;
	shm_arena_stats(shm_global_arena(), &sst);
	cr_assert_leq(sst.bytes_in_use, (size_t)(LIVE + 1) * 1024);
	cr_assert_eq(sst.bad_frees, 0);
	cr_assert_eq(churn(5, 20000), 0);
}
