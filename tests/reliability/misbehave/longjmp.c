/*
 * longjmp - a timer's handler siglongjmps out of whatever the main loop was
 * doing, often from inside open/stat (and so from inside the shim's hooks),
 * two thousand times.  Afterwards file calls still work, and the runner
 * expects data/after-longjmp in the cache: a hook abandoned by a longjmp
 * must not leave this thread unable to record.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <sys/time.h>
#include <sys/wait.h>

#include "common.h"

#define JUMPS 2000

static sigjmp_buf jump_to;
static volatile sig_atomic_t armed;

static void on_alarm(int sig)
{
	(void)sig;
	if (armed) {
		armed = 0;
		siglongjmp(jump_to, 1);
	}
}

/* After the jumps: file calls work and this thread (and a child) record. */
static int afterwards(void)
{
	struct stat st;
	int bad = 0, status, i;
	pid_t pid;

	for (i = 0; i < 100; i++)
		bad += mb_file_calls((unsigned)i);
	stat("data/after-longjmp", &st);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		stat("data/after-longjmp-child", &st);
		_exit(mb_file_calls(1) == 0 ? 0 : 1);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return 3;
	printf("longjmp: %d jumps out of file calls; afterwards bad %d, "
	       "child exit %d\n", JUMPS, bad,
	       WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	return bad == 0 ? 0 : 1;
}

int main(void)
{
	struct sigaction sa;
	struct itimerval it = { { 0, 50 }, { 0, 50 } };
	static volatile unsigned jumps, rounds;

	mb_make_tree();
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_alarm;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGALRM, &sa, NULL) != 0 ||
	    setitimer(ITIMER_REAL, &it, NULL) != 0)
		return 2;
	if (sigsetjmp(jump_to, 1) != 0)
		jumps++;
	while (jumps < JUMPS) {
		armed = 1;
		mb_file_calls(rounds++);
	}
	armed = 0;
	memset(&it, 0, sizeof it);
	setitimer(ITIMER_REAL, &it, NULL);
	return afterwards();
}
