/*
 * alarm.h - for the misbehaving programs whose signal handler makes file
 * calls: the main loop makes the same calls while a timer keeps firing.
 * Include after common.h, with _GNU_SOURCE defined (setitimer).
 */
#ifndef MISBEHAVE_ALARM_H
#define MISBEHAVE_ALARM_H

#include <signal.h>
#include <sys/time.h>

#include "common.h"

/* Installs handler for SIGALRM with flags (SA_RESTART is added), fires it
 * every usec microseconds, and makes rounds of mb_file_calls until the
 * handler has counted *fired up to target; then stops the timer.  Returns
 * the main loop's wrong results, or -1 if the handler or the timer could not
 * be set. */
static inline long mb_calls_under_alarm(void (*handler)(int), int flags,
					long usec,
					volatile sig_atomic_t *fired,
					int target)
{
	struct sigaction sa;
	struct itimerval it = { { 0, usec }, { 0, usec } };
	long bad = 0;
	unsigned i = 0;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = handler;
	sa.sa_flags = SA_RESTART | flags;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGALRM, &sa, NULL) != 0 ||
	    setitimer(ITIMER_REAL, &it, NULL) != 0)
		return -1;
	while (*fired < target)
		bad += mb_file_calls(i++);
	memset(&it, 0, sizeof it);
	setitimer(ITIMER_REAL, &it, NULL);
	return bad;
}

#endif /* MISBEHAVE_ALARM_H */
