/*
 * altstack - signal handlers that run on a small alternate signal stack
 * (with a guard page below it) and there make the calls whose hooks have
 * the largest frames: rename, link, symlink (two keys each) and, in a
 * forked child, execve with an empty environment (a key and the
 * environment the re-injection builds).  The stack is as small as the
 * running kernel allows a handler that calls the hooks: its own signal
 * frame (AT_MINSIGSTKSZ: ~3.4 KiB with AVX-512, ~1 KiB without), plus the
 * hooks' stack budget (SHIM_STACK_BUDGET, checked from the call graph by
 * the stack-budget test), plus HANDLER_BYTES for this handler and the
 * libc functions it calls.  A hook that uses more hits the guard page and
 * the program dies, which its bare run does not.
 */
#define _GNU_SOURCE
#include <sys/auxv.h>
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
#define EXEC_EVERY 0
#else
#define EXEC_EVERY 100
#endif
#ifndef SHIM_STACK_BUDGET
#error "SHIM_STACK_BUDGET: the hooks' stack budget, from preload/meson.build"
#endif
/* The handler's frame and those of rename, fork, waitpid... in libc. */
#define HANDLER_BYTES 1024

/* The smallest stack this kernel's signal frame leaves room in. */
static size_t stack_bytes(void)
{
	unsigned long frame = getauxval(AT_MINSIGSTKSZ);

#ifdef MB_ASAN
	return 65536;
#endif
	if (frame == 0)
		frame = MINSIGSTKSZ; /* a kernel that does not say: 2 KiB */
	return (size_t)frame + SHIM_STACK_BUDGET + HANDLER_BYTES;
}
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
	size_t bytes = stack_bytes();
	unsigned char *mem;
	stack_t ss;
	long main_bad;

	mb_make_tree();
	/* A guard page right below the stack: an overflow faults at once.
	 * The stack grows down from ss_sp + ss_size; the rest of its last
	 * page, above that, is never used. */
	mem = mmap(NULL, (size_t)page + bytes, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED || mprotect(mem, (size_t)page, PROT_NONE) != 0)
		return 2;
	ss.ss_sp = mem + page;
	ss.ss_size = bytes;
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
	printf("altstack: handler ran at least %d times on a %zu-byte stack, "
	       "bad in handler %d, bad in main loop %ld\n", TARGET, bytes,
	       (int)bad, main_bad);
	return bad == 0 && main_bad == 0 ? 0 : 1;
}
