/*
 * rlimit - runs with few descriptors and little address space: in the
 * process (limits lowered after start-up) and in children that exec with the
 * limits already low (the shim's start-up then cannot open or map the cache
 * and must pass through).  Prints how many descriptors open() gave before
 * EMFILE and which allocations succeeded.
 */
#define _GNU_SOURCE
#include <sys/resource.h>
#include <sys/wait.h>

#include "common.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define UNDER_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define UNDER_SANITIZER 1
#endif
#endif

static int opens_until_emfile(void)
{
	int n = 0, fd, err;

	for (;;) {
		fd = open("data/f1", O_RDONLY);
		if (fd < 0)
			break;
		n++;
	}
	err = errno;
	for (fd = 3; fd < 64; fd++)
		close(fd);
	return err == EMFILE ? n : -1;
}

/* Tries to allocate and touch n MiB: 1 on success, 0 on ENOMEM. */
static int try_alloc(size_t mib)
{
	char *p = malloc(mib << 20);

	if (p == NULL)
		return 0;
	memset(p, 1, mib << 20);
	free(p);
	return 1;
}

#ifndef UNDER_SANITIZER
static size_t vm_size_bytes(void)
{
	unsigned long pages = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f != NULL) {
		if (fscanf(f, "%lu", &pages) != 1)
			pages = 0;
		fclose(f);
	}
	return (size_t)pages * (size_t)sysconf(_SC_PAGESIZE);
}


static int run_child(const char *self, const char *mode, int res, rlim_t lim)
{
	int status;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		struct rlimit rl = { lim, lim };
		if (setrlimit(res, &rl) != 0)
			_exit(50);
		execl("/proc/self/exe", self, mode, (char *)NULL);
		_exit(51);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
#endif

int main(int argc, char **argv)
{
	struct rlimit rl;
	int bad = 0, r;
	unsigned i;

	if (argc > 1 && strcmp(argv[1], "nofile") == 0) {
		/* exec'd with RLIMIT_NOFILE 4: the loader (and the shim's
		 * start-up) had one spare descriptor, now the program has */
		int first = open("data/f1", O_RDONLY);
		r = open("data/f2", O_RDONLY);
		printf("nofile child: open gave %d then %d (%s), access %d\n",
		       first, r, r < 0 && errno == EMFILE ? "EMFILE" : "?",
		       access("data/f1", R_OK));
		return 0;
	}
	if (argc > 1 && strcmp(argv[1], "as") == 0) {
		/* exec'd with RLIMIT_AS 96 MiB */
		for (i = 0; i < 20; i++)
			bad += mb_file_calls(i);
		printf("as child: 4 MiB %d, 512 MiB %d, bad %d\n",
		       try_alloc(4), try_alloc(512), bad);
		return 0;
	}

	mb_make_tree();
	/* In the process: 16 descriptors. */
	rl.rlim_cur = 16;
	rl.rlim_max = 16;
	getrlimit(RLIMIT_NOFILE, &rl);
	rl.rlim_cur = 16;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
		return 2;
	printf("with 16 descriptors: %d opens before EMFILE\n",
	       opens_until_emfile());
	for (i = 0; i < 50; i++)
		bad += mb_file_calls(i);
	rl.rlim_cur = 4;
	setrlimit(RLIMIT_NOFILE, &rl);
	printf("with 4 descriptors: %d opens before EMFILE, bad %d\n",
	       opens_until_emfile(), bad);
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);

#ifdef UNDER_SANITIZER
	/* the sanitizer runtimes need descriptors and address space of their
	 * own: these limits would stop them, not the program */
	printf("exec with low limits: skipped under a sanitizer\n");
#else
	printf("exec with 4 descriptors: exit %d\n",
	       run_child(argv[0], "nofile", RLIMIT_NOFILE, 4));
	printf("exec with 96 MiB of address space: exit %d\n",
	       run_child(argv[0], "as", RLIMIT_AS, (rlim_t)96 << 20));
	/* In the process: 64 MiB more than what is mapped now. */
	rl.rlim_cur = vm_size_bytes() + ((size_t)64 << 20);
	rl.rlim_max = RLIM_INFINITY;
	if (setrlimit(RLIMIT_AS, &rl) != 0)
		return 3;
	for (i = 0; i < 50; i++)
		bad += mb_file_calls(i);
	printf("in-process limit: 16 MiB %d, 256 MiB %d, bad %d\n",
	       try_alloc(16), try_alloc(256), bad);
#endif
	return bad == 0 ? 0 : 1;
}
