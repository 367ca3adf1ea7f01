/*
 * sigopen - a timer fires thousands of times; its handler opens, reads and
 * stats files while the main loop does the same.  The shim's hooks then run
 * inside a signal handler that interrupted another hook of the same thread.
 */
#define _GNU_SOURCE
#include "alarm.h"

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
	long main_bad;

	mb_make_tree();
	main_bad = mb_calls_under_alarm(on_alarm, 0, 100, &fired, TARGET);
	if (main_bad < 0)
		return 2;
	printf("sigopen: handler ran at least %d times, bad in handler %d, "
	       "bad in main loop %ld\n", TARGET, (int)handler_bad, main_bad);
	return handler_bad == 0 && main_bad == 0 ? 0 : 1;
}
