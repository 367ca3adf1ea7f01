/*
 * interposer.c - a test library preloaded after libshmcache.so: its access
 * creates the file named by SHMCACHE_TEST_MARK (with raw system calls, so
 * that the shim records nothing of it) and calls the next access, which
 * RTLD_NEXT finds after this library.
 */
#define _GNU_SOURCE 1
#include <dlfcn.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

__attribute__((visibility("default"))) int access(const char *path, int amode)
{
	int (*next)(const char *, int) =
		(int (*)(const char *, int))dlsym(RTLD_NEXT, "access");
	const char *mark = getenv("SHMCACHE_TEST_MARK");

	if (mark != NULL) {
		long fd = syscall(SYS_openat, AT_FDCWD, mark,
				  O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
		if (fd >= 0)
			syscall(SYS_close, fd);
	}
	return next != NULL ? next(path, amode) : -1;
}
