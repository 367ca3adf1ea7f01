/*
 * supervise.c - the exec hooks' choice of running a program under
 * shmcache-supervise (shim_supervise.h).
 */
#include "shim.h"

#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "../supervisor/elfkind.h"

#ifndef __APPLE__

#define SUP_MAX_ARGS 8192 /* more: run untraced (argv is read a pointer
			     at a time; this bounds the hook's work)   */
/* The helper's vector lives on the hook's stack up to this many arguments
 * (68 pointers: 544 bytes on LP64), else in pages mapped for the one exec: exec
 * hooks run on small signal stacks and in vfork children. */
#define SUP_STACK_ARGS 64

static char sup_helper[PATH_MAX];
static char sup_patterns[1024];
SHM_HOT_DATA static int sup_on;
SHM_HOT_DATA static int sup_debug; /* SHMCACHE_DEBUG set: an unsupervised run is said */

int shim_supervised(void)
{
	const char *m = shim_getenv("SHMCACHE_SUPERVISED");

	return m != NULL && m[0] != '\0';
}

void shim_supervise_init(void)
{
	const char *h = shim_getenv("SHMCACHE_SUPERVISOR");
	const char *p = shim_getenv("SHMCACHE_SUPERVISE_PATTERNS");
	const char *d = shim_getenv("SHMCACHE_DEBUG");

	sup_debug = d != NULL && d[0] != '\0';

	if (shim_supervised() || h == NULL || h[0] != '/' ||
	    strlen(h) >= sizeof sup_helper)
		return;
	memcpy(sup_helper, h, strlen(h) + 1);
	if (p != NULL && strlen(p) < sizeof sup_patterns)
		memcpy(sup_patterns, p, strlen(p) + 1);
	sup_on = 1;
}

static int sup_wanted(const struct shim_key *k, const char *path)
{
	if (!sup_on)
		return 0;
	if (k != NULL && (k->len == 0 || k->len == CACHE_KEY_TOOLONG))
		return 0;
	if (sup_patterns[0] != '\0' &&
	    elf_patterns_match(sup_patterns, k != NULL ? k->key : path,
			       k != NULL ? k->len : strlen(path)))
		return 1;
	return elf_kind_bypasses_libc(elf_kind_path(path));
}

/* Under SHMCACHE_DEBUG: path, which bypasses libc, runs untraced.
 * errno preserved. */
static void sup_say_untraced(const char *path, const char *why)
{
	const char *parts[] = { "shmcache: ", path,
				": runs unsupervised (untraced): ", why };

	int e = errno;

	if (sup_debug)
		shim_say_line(parts, sizeof parts / sizeof parts[0]);
	errno = e;
}

/* argv's length, read without faulting; -1 when it cannot be read or is
 * too long for the helper's vector. */
static long sup_argc(char *const argv[])
{
	long n = 0;

	if (argv == NULL)
		return -1;
	for (;; n++) {
		char *a;

		if (n >= SUP_MAX_ARGS ||
		    shim_read_self(&a, argv + n, sizeof a) != (long)sizeof a)
			return -1;
		if (a == NULL)
			return n;
	}
}

/* {helper, "--", path, argv..., NULL} into v (argc + 4 slots). */
static void sup_vector(char **v, const char *path, char *const argv[],
		       long argc)
{
	v[0] = sup_helper;
	v[1] = (char *)"--";
	v[2] = (char *)path;
	memcpy(v + 3, argv, (size_t)(argc + 1) * sizeof *argv);
}

/* Room for the helper's vector of argc arguments: stack (argc within
 * SUP_STACK_ARGS), or fresh anonymous pages (mmap is a system call,
 * async-signal-safe); NULL when they cannot be had.  errno preserved. */
static char **sup_room(char **stack, long argc, size_t *mapped)
{
	int e = errno;
	void *m;

	*mapped = 0;
	if (argc <= SUP_STACK_ARGS)
		return stack;
	m = mmap(NULL, (size_t)(argc + 4) * sizeof(char *),
		 PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED) {
		errno = e;
		return NULL;
	}
	*mapped = (size_t)(argc + 4) * sizeof(char *);
	return m;
}

/* Gives back sup_room's pages after a failed exec or a spawn.  A vfork
 * child whose exec succeeds leaves them in the parent (the two share one
 * address space until then): argc * 8 bytes, rounded up to a page, for
 * each such exec of a supervised program with more than SUP_STACK_ARGS
 * arguments. */
static void sup_unroom(char **v, size_t mapped)
{
	if (mapped != 0)
		munmap(v, mapped);
}

/* The helper's argument vector for path and argv, in stack (room for
 * SUP_STACK_ARGS) or in pages sup_room maps (*mapped); NULL, said under
 * debug, when the program must run untraced.  errno untouched. */
static char **sup_helper_argv(char **stack, const char *path,
			      char *const argv[], size_t *mapped)
{
	long argc = sup_argc(argv);
	char **v;

	if (argc < 1 || (v = sup_room(stack, argc, mapped)) == NULL) {
		sup_say_untraced(path, argc < 1 ? "argv unreadable, empty or "
					"too long" : "no memory for its argv");
		return NULL;
	}
	sup_vector(v, path, argv, argc);
	return v;
}

int shim_exec_call(shim_fn_execve fn, const struct shim_key *k,
		   const char *path, char *const argv[], char *const envp[])
{
	char *stack[SUP_STACK_ARGS + 4], **v;
	size_t mapped;

	if (!sup_wanted(k, path))
		return fn(path, argv, envp);
	if ((v = sup_helper_argv(stack, path, argv, &mapped)) == NULL)
		return fn(path, argv, envp);
	fn(sup_helper, v, envp);
	sup_unroom(v, mapped);
	return fn(path, argv, envp);
}

/* posix_spawnp's PATH search for file (no slash), made here only to know
 * which program it will start: the first "<entry>/<file>" (an empty entry:
 * file alone) this process may execute, one raw faccessat(X_OK) per
 * candidate, in pages mapped for the call (*mapped bytes).  NULL when no
 * candidate is executable or no pages could be had.  errno preserved. */
static char *sup_spawn_find(const char *file, size_t *mapped)
{
	const size_t cap = PATH_MAX + NAME_MAX + 2;
	const char *p = shim_env_path();
	size_t flen = strlen(file);
	int e = errno;
	char *buf;

	*mapped = 0;
	if (flen == 0 || flen > NAME_MAX)
		return NULL;
	buf = mmap(NULL, cap, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED) {
		errno = e;
		return NULL;
	}
	for (;;) {
		const char *end = strchrnul(p, ':');
		size_t dlen = (size_t)(end - p);

		if (shim_path_candidate(buf, cap, p, dlen, file, flen) &&
		    syscall(SYS_faccessat, AT_FDCWD, buf, X_OK) == 0) {
			*mapped = cap;
			errno = e;
			return buf;
		}
		if (*end == '\0')
			break;
		p = end + 1;
	}
	munmap(buf, cap);
	errno = e;
	return NULL;
}

/* fn started on the helper for path; else (it cannot be executed, or the
 * vector cannot be made) fn(name) after all, so that a failure is the
 * program's own. */
static int sup_spawn_helper(shim_fn_posix_spawn fn, pid_t *pid,
			    const char *path, const char *name,
			    const posix_spawn_file_actions_t *acts,
			    const posix_spawnattr_t *attr, char *const argv[],
			    char *const envp[])
{
	char *stack[SUP_STACK_ARGS + 4], **v;
	size_t mapped;
	int r;

	if ((v = sup_helper_argv(stack, path, argv, &mapped)) == NULL)
		return fn(pid, name, acts, attr, argv, envp);
	r = fn(pid, sup_helper, acts, attr, v, envp);
	sup_unroom(v, mapped);
	if (r == 0)
		return 0;
	return fn(pid, name, acts, attr, argv, envp);
}

/* posix_spawnp of a name without a slash: the program its search finds,
 * supervised when it is to be. */
static __attribute__((noinline)) int
sup_spawn_named(shim_fn_posix_spawn fn, pid_t *pid, const char *file,
		const posix_spawn_file_actions_t *acts,
		const posix_spawnattr_t *attr, char *const argv[],
		char *const envp[])
{
	size_t mapped;
	char *cand = sup_on ? sup_spawn_find(file, &mapped) : NULL;
	int r;

	if (cand == NULL)
		return fn(pid, file, acts, attr, argv, envp);
	if (sup_wanted(NULL, cand))
		r = sup_spawn_helper(fn, pid, cand, file, acts, attr, argv,
				     envp);
	else
		r = fn(pid, file, acts, attr, argv, envp);
	munmap(cand, mapped);
	return r;
}

int shim_spawn_call(shim_fn_posix_spawn fn, const struct shim_key *k,
		    pid_t *pid, const char *path,
		    const posix_spawn_file_actions_t *acts,
		    const posix_spawnattr_t *attr, char *const argv[],
		    char *const envp[])
{
	if (k != NULL && (k->len == 0 || k->len == CACHE_KEY_TOOLONG))
		return fn(pid, path, acts, attr, argv, envp);
	if (strchr(path, '/') == NULL)
		return sup_spawn_named(fn, pid, path, acts, attr, argv, envp);
	if (!sup_wanted(k, path))
		return fn(pid, path, acts, attr, argv, envp);
	return sup_spawn_helper(fn, pid, path, path, acts, attr, argv, envp);
}

#else /* __APPLE__: no seccomp */

int shim_supervised(void)
{
	return 0;
}

void shim_supervise_init(void)
{
}

int shim_exec_call(shim_fn_execve fn, const struct shim_key *k,
		   const char *path, char *const argv[], char *const envp[])
{
	(void)k;
	return fn(path, argv, envp);
}

int shim_spawn_call(shim_fn_posix_spawn fn, const struct shim_key *k,
		    pid_t *pid, const char *path,
		    const posix_spawn_file_actions_t *acts,
		    const posix_spawnattr_t *attr, char *const argv[],
		    char *const envp[])
{
	(void)k;
	return fn(pid, path, acts, attr, argv, envp);
}

#endif
