/*
 * sigopen - a timer fires thousands of times; its handler opens, reads and
 * stats files while the main loop does the same.  The shim's hooks then run
 * inside a signal handler that interrupted another hook of the same thread.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <sys/time.h>

#include "common.h"

#define TARGET 3000

static volatile sig_atomic_t fired, handler_bad;

static void on_alarm(int sig)
{
	(void)sig;
	handler_bad += mb_file_calls((unsigned)fired);
	fired++;
}

int main(void)
{
	struct sigaction sa;
	struct itimerval it = { { 0, 100 }, { 0, 100 } };
	long main_bad = 0;
	unsigned i = 0;

	mb_make_tree();
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_alarm;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGALRM, &sa, NULL) != 0 ||
	    setitimer(ITIMER_REAL, &it, NULL) != 0)
		return 2;
	while (fired < TARGET)
		main_bad += mb_file_calls(i++);
	memset(&it, 0, sizeof it);
	setitimer(ITIMER_REAL, &it, NULL);
	printf("sigopen: handler ran at least %d times, bad in handler %d, "
	       "bad in main loop %ld\n", TARGET, (int)handler_bad, main_bad);
	return handler_bad == 0 && main_bad == 0 ? 0 : 1;
}
