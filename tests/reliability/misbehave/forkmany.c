/*
 * forkmany - forks hundreds of children at once (and some grandchildren),
 * each doing file calls; the parent sums their exit codes.  With the shim
 * every one of them records into the one cache, concurrently.
 */
#define _GNU_SOURCE
#include <sys/wait.h>

#include "common.h"

#define NCHILDREN 300

static int child(unsigned i)
{
	int bad = 0, status;
	unsigned j;

	for (j = 0; j < 20; j++)
		bad += mb_file_calls(i + j);
	if (i % 10 == 0) {
		pid_t g = fork();
		if (g == 0)
			_exit(mb_file_calls(i) == 0 ? 1 : 100);
		if (g < 0 || waitpid(g, &status, 0) != g || !WIFEXITED(status))
			return 100;
		bad += WEXITSTATUS(status) - 1;
	}
	return bad ? 100 : (int)(i % 50);
}

int main(void)
{
	pid_t pids[NCHILDREN];
	long sum = 0, expect = 0;
	int failed = 0, status;
	unsigned i;

	mb_make_tree();
	fflush(stdout);
	for (i = 0; i < NCHILDREN; i++) {
		pids[i] = fork();
		if (pids[i] == 0)
			_exit(child(i));
		if (pids[i] < 0) {
			perror("fork");
			return 2;
		}
		expect += i % 50;
	}
	for (i = 0; i < NCHILDREN; i++) {
		if (waitpid(pids[i], &status, 0) != pids[i] || !WIFEXITED(status))
			failed++;
		else
			sum += WEXITSTATUS(status);
	}
	printf("forkmany: %d children, sum of exit codes %ld (expected %ld), "
	       "%d failed\n", NCHILDREN, sum, expect, failed);
	return sum == expect && failed == 0 ? 0 : 1;
}
