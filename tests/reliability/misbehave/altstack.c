/*
 * altstack - signal handlers that run on a small alternate signal stack
 * (8 KiB, the usual SIGSTKSZ, with a guard page below it) and there make
 * the calls whose hooks have the largest frames: rename, link, symlink
 * (two keys each) and, in a forked child, execve with an empty environment
 * (a key and the environment buffer of the re-injection).  A hook frame
 * too large for the stack hits the guard page and the program dies, which
 * its bare run does not.
 */
#define _GNU_SOURCE
#include <sys/mman.h>
#include <sys/wait.h>

#include "alarm.h"

/* AddressSanitizer puts redzones around every frame (its own and the
 * shim's): there the stack is larger, and the size check is the normal
 * build's.  Nor can a program execed with an empty environment start there:
 * the re-injected shim needs the sanitizer runtime loaded first. */
#if defined(__SANITIZE_ADDRESS__)
#define MB_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MB_ASAN 1
#endif
#endif
#ifdef MB_ASAN
#define STACK_BYTES 65536
#define EXEC_EVERY 0
#else
#define STACK_BYTES 8192
#define EXEC_EVERY 100
#endif
#define TARGET 500

static volatile sig_atomic_t fired, bad;

static void on_alarm(int sig)
{
	int saved = errno;
	struct stat st;

	(void)sig;
	if (rename("data/f1", "data/renamed") != 0 ||
	    rename("data/renamed", "data/f1") != 0)
		bad++;
	if (link("data/f2", "data/hardlink") != 0 || unlink("data/hardlink") != 0)
		bad++;
	if (symlink("f3", "data/symlink") != 0 || unlink("data/symlink") != 0)
		bad++;
	if (stat("data/missing-in-handler", &st) == 0 || errno != ENOENT)
		bad++;
	bad += mb_file_calls((unsigned)fired);
	if (EXEC_EVERY != 0 && fired % EXEC_EVERY == 0) {
		/* fork and execve are async-signal-safe; the child runs on a
		 * copy of this alternate stack */
		char *argv[] = { "true", NULL }, *envp[] = { NULL };
		pid_t pid = fork();
		int status;

		if (pid == 0) {
			execve("/bin/true", argv, envp);
			_exit(127);
		}
		if (pid < 0 || waitpid(pid, &status, 0) != pid ||
		    !WIFEXITED(status) || WEXITSTATUS(status) != 0)
			bad++;
	}
	fired++;
	errno = saved;
}

int main(void)
{
	long page = sysconf(_SC_PAGESIZE);
	unsigned char *mem;
	stack_t ss;
	long main_bad;

	mb_make_tree();
	/* a guard page below the stack: an overflow faults at once */
	mem = mmap(NULL, (size_t)page + STACK_BYTES, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED || mprotect(mem, (size_t)page, PROT_NONE) != 0)
		return 2;
	ss.ss_sp = mem + page;
	ss.ss_size = STACK_BYTES;
	ss.ss_flags = 0;
	if (sigaltstack(&ss, NULL) != 0)
		return 2;
	main_bad = mb_calls_under_alarm(on_alarm, SA_ONSTACK, 200, &fired,
					TARGET);
	if (main_bad < 0)
		return 2;
	{
		int fd = open("data/after-altstack", O_WRONLY | O_CREAT | O_TRUNC |
						O_CLOEXEC, 0644);
		if (fd >= 0)
			close(fd);
	}
	printf("altstack: handler ran at least %d times on an %d-byte stack, "
	       "bad in handler %d, bad in main loop %ld\n", TARGET, STACK_BYTES,
	       (int)bad, main_bad);
	return bad == 0 && main_bad == 0 ? 0 : 1;
}
