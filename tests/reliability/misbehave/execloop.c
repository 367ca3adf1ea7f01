/*
 * execloop - execs itself N times in a chain, each step through another
 * member of the exec family, some with an empty environment (as `env -i`
 * does), doing file calls at every step.  The last step stats
 * data/bottom-reached, which the runner expects in the cache: the shim must
 * have followed the whole chain, empty environments included.
 *   execloop [STEPS [BAD_SO_FAR]]
 */
#define _GNU_SOURCE
#include "common.h"

extern char **environ;

int main(int argc, char **argv)
{
	long steps = argc > 1 ? strtol(argv[1], NULL, 10) : 200;
	long bad = argc > 2 ? strtol(argv[2], NULL, 10) : 0;
	char s_steps[24], s_bad[24];
	char *args[4];
	char *empty_env[] = { NULL };
	struct stat st;
	unsigned i;

	if (argc <= 1)
		mb_make_tree();
	for (i = 0; i < 5; i++)
		bad += mb_file_calls((unsigned)steps + i);
	if (steps <= 0) {
		stat("data/bottom-reached", &st);
		printf("execloop: reached the bottom, bad %ld\n", bad);
		return bad == 0 ? 0 : 1;
	}
	snprintf(s_steps, sizeof s_steps, "%ld", steps - 1);
	snprintf(s_bad, sizeof s_bad, "%ld", bad);
	args[0] = argv[0];
	args[1] = s_steps;
	args[2] = s_bad;
	args[3] = NULL;
	switch (steps % 5) {
	case 0:
		execv("/proc/self/exe", args);
		break;
	case 1:
		execve("/proc/self/exe", args, environ);
		break;
	case 2:
		execve("/proc/self/exe", args, empty_env);
		break;
	case 3:
		execl("/proc/self/exe", argv[0], s_steps, s_bad, (char *)NULL);
		break;
	default:
		execvpe("/proc/self/exe", args, empty_env);
		break;
	}
	perror("exec");
	return 2;
}
