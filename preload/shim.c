/*
 * shim.c - start-up of the preload shim and what every hook shares: the
 * cache handle, keys, recording, and the classification of outcomes.
 *
 * Start-up (shim_start, run once by our constructor or by the first hooked
 * call, whichever comes first): resolve every real function once, read
 * SHMCACHE_FILE and SHMCACHE_DEBUG, attach the cache (creating the file if
 * need be), save what exec must re-inject.  Until that succeeds every hook
 * is a pure pass-through.
 */
#include "shim.h"
#include "prefault.h"
#include "resolve.h"

#include <dlfcn.h>
#include <limits.h>
#include <pthread.h>
#include <string.h>
#include <sys/syscall.h>
#ifdef __linux__
#include <sys/auxv.h> /* getauxval(AT_EXECFN) */
#endif

#define SHIM_DEFINE_REAL(shape, ret, name, params, ...) \
	SHIM_HIDDEN SHM_HOT_DATA _Atomic shim_fn_##name shim_real_##name;
#ifndef __APPLE__
SHIM_HOOKS_ALL(SHIM_DEFINE_REAL)
#endif

SHIM_HIDDEN SHM_HOT_DATA _Atomic int shim_state;
SHIM_HIDDEN _Thread_local int shim_busy __attribute__((tls_model("initial-exec")));
SHIM_HIDDEN _Thread_local struct cache_hint shim_hint
	__attribute__((tls_model("initial-exec")));
SHIM_HIDDEN SHM_HOT_DATA struct cache shim_cache;
SHM_HOT_DATA static size_t shim_max_key; /* cache_max_key(), read once */
SHM_HOT_DATA static int shim_debug; /* SHMCACHE_DEBUG set: one line per failure */

/* ---- debug output: write(2) only, never stdio ------------------------- */

/* "shmcache: <a><b>[: <c>]" and a newline, in one write. */
void shim_say_line(const char *const *parts, size_t count)
{
	char line[512];
	size_t n = 0;

	for (size_t i = 0; i < count; i++)
		for (const char *p = parts[i]; p != NULL && *p != '\0' &&
					       n < sizeof line - 1; p++)
			line[n++] = *p;
	line[n++] = '\n';
	if (write(2, line, n) < 0)
		return; /* nothing better to do with a failed diagnostic */
}

static void shim_say(const char *a, const char *b, const char *c)
{
	const char *parts[] = { "shmcache: ", a, b, c != NULL && *c ? ": " : "", c };

	shim_say_line(parts, sizeof parts / sizeof parts[0]);
}

/* Under an address-space limit the cache is mapped in part: a record that
 * falls past that part is dropped, which the debug output says once. */
static void shim_say_window_once(void)
{
	static _Atomic int said;

	/* relaxed: only decides who prints */
	if (shim_debug && !atomic_exchange_explicit(&said, 1,
						    memory_order_relaxed))
		shim_say("address-space limit: the cache is mapped in part; "
			 "records past that part are dropped", "", NULL);
}

/* ---- the environment at start-up ---------------------------------------- */

/* getenv's answer, from environ read in place with byte compares: no call
 * into libc, whose getenv and strncmp are pages a short process would not
 * otherwise touch (each first touch a page fault). */
const char *shim_getenv(const char *name)
{
	char **e = environ;

	if (e == NULL)
		return NULL;
	for (; *e != NULL; e++) {
		const char *v = *e, *n = name;

		while (*n != '\0' && *v == *n) {
			v++;
			n++;
		}
		if (*n == '\0' && *v == '=')
			return v + 1;
	}
	return NULL;
}

/* ---- real functions ------------------------------------------------------ */

void *shim_resolve(const char *name)
{
#ifdef __APPLE__
	(void)name;
	return NULL;
#else
	return dlsym(RTLD_NEXT, name);
#endif
}

#ifndef __APPLE__
struct shim_row_names {
	SHIM_HOOKS_ALL(SHIM_ROW_FIELD)
};
static const struct shim_row_names shim_real_names = {
	SHIM_HOOKS_ALL(SHIM_ROW_NAME)
};
static const uint16_t shim_real_name_at[] = { SHIM_HOOKS_ALL(SHIM_ROW_OFFSET) };
#define SHIM_ROWS (sizeof shim_real_name_at / sizeof shim_real_name_at[0])
_Static_assert(sizeof(struct shim_row_names) <= UINT16_MAX,
	       "every name's offset fits its uint16_t");
#endif

/* Our file name as the loader gave it, when the walk below found it. */
SHM_HOT_DATA static const char *shim_self_name;

/* Every row's real function: the symbol tables in one pass where they can
 * answer (resolve.h), dlsym for the rest. */
void shim_resolve_all(void)
{
#ifndef __APPLE__
	void *found[SHIM_ROWS];
	size_t i = 0;

	(void)shim_resolve_next((const void *)shim_resolve_all,
				(const char *)&shim_real_names,
				shim_real_name_at, SHIM_ROWS,
				shim_getenv("LD_AUDIT"), found,
				&shim_self_name);
#define SHIM_RESOLVE_ROW(shape, ret, name, params, ...)                     \
	if (atomic_load_explicit(&shim_real_##name, memory_order_relaxed) == \
	    NULL) {                                                          \
		void *p_ = found[i] != NULL ? found[i] : shim_resolve(#name); \
		atomic_store_explicit(&shim_real_##name,                     \
				      (shim_fn_##name)(p_ != NULL            \
							? (uintptr_t)p_      \
							: SHIM_MISSING),     \
				      memory_order_relaxed);                 \
	}                                                                    \
	i++;
	SHIM_HOOKS_ALL(SHIM_RESOLVE_ROW)
#undef SHIM_RESOLVE_ROW
#endif
}

/* ---- reading without faulting ------------------------------------------ */

long shim_self_pid(void)
{
#ifdef SYS_getpid
	return syscall(SYS_getpid);
#else
	return -1;
#endif
}

long shim_readv_self(long pid, const struct iovec *local, unsigned long nlocal,
		     const struct iovec *remote, unsigned long nremote)
{
#ifdef SYS_process_vm_readv
	int saved = errno;
	long r = syscall(SYS_process_vm_readv, pid, local, nlocal, remote,
			 nremote, 0UL);

	errno = saved;
	return r;
#else
	(void)pid;
	(void)local;
	(void)nlocal;
	(void)remote;
	(void)nremote;
	return -1;
#endif
}

/* ---- keys ------------------------------------------------------------------ */

/* Makes k's key of path relative to dirfd; the directory's name may take
 * the first room bytes of k->buf (path may be a copy after them). */
static void shim_key_make(struct shim_key *k, int dirfd, const char *path,
			  size_t room)
{
	size_t base = 0;

	/* No busy flag here: key building makes raw system calls only, so it
	 * cannot recurse into a hook, and a signal handler that longjmps out
	 * of it must not leave this thread unrecorded. */
	if (path[0] != '/') {
		base = dirfd == AT_FDCWD ? shim_cwd(k->buf, room)
					 : shim_fd_path(dirfd, k->buf, room);
		if (base == 0)
			return;
		if (base == CACHE_KEY_TOOLONG) {
			/* a directory deeper than any key: counted as skipped */
			k->len = CACHE_KEY_TOOLONG;
			return;
		}
	}
	shim_key_join(k, base, path);
}

void shim_key_join(struct shim_key *k, size_t base, const char *path)
{
	k->len = shim_sandbox_walk(k->buf, sizeof k->buf, base, path);
	if (k->len != 0) {
		k->walk_denied = 1;
		return;
	}
	k->len = cache_key_join(k->buf, sizeof k->buf, base, path);
}

void shim_key_at(struct shim_key *k, int dirfd, const char *path)
{
	k->len = 0;
	k->key = k->buf;
	k->walk_denied = 0;
	if (!shim_active() || path == NULL || path[0] == '\0')
		return;
	shim_key_make(k, dirfd, path, sizeof k->buf);
}

/* Copies the string at path, its NUL included, to the end of k->buf with
 * shim_read_self and returns the copy; or NULL with k->len = CACHE_KEY_TOOLONG
 * when it cannot be read or has no NUL within the buffer. */
static const char *shim_key_copy_in(struct shim_key *k, const char *path)
{
	long r = shim_read_self(k->buf, path, sizeof k->buf);
	/* strnlen, not memchr: every key calls it, so its lazy binding is
	 * done before an exec in a signal handler, where resolving a first
	 * call costs more stack than a small alternate stack has left. */
	size_t n = r > 0 ? strnlen(k->buf, (size_t)r) : 0;

	if (r <= 0 || n == (size_t)r) {
		k->len = CACHE_KEY_TOOLONG;
		return NULL;
	}
	n++; /* the NUL */
	memmove(k->buf + sizeof k->buf - n, k->buf, n);
	return k->buf + sizeof k->buf - n;
}

/* What lies before the copy p in k->buf, less the slash cache_key_join puts
 * between the directory and p. */
static size_t shim_key_room(const struct shim_key *k, const char *p)
{
	size_t before = (size_t)(p - k->buf);

	return before > 0 ? before - 1 : 0;
}

/* Empties k; then, when `make` holds and path is not NULL, copies path
 * into k->buf (shim_key_copy_in) and returns the copy.  NULL when there is
 * no key to make: k->len is CACHE_KEY_TOOLONG for a string that cannot be
 * read or has no NUL within the buffer, else 0 (an empty path names
 * nothing). */
static const char *shim_key_copy_start(struct shim_key *k, const char *path,
				       int make)
{
	const char *p;

	k->len = 0;
	k->key = k->buf;
	k->walk_denied = 0;
	if (!make || path == NULL)
		return NULL;
	p = shim_key_copy_in(k, path);
	return p != NULL && p[0] != '\0' ? p : NULL;
}

void shim_key_at_copied(struct shim_key *k, int dirfd, const char *path)
{
	const char *p = shim_key_copy_start(k, path, shim_active());

	if (p != NULL)
		shim_key_make(k, dirfd, p, shim_key_room(k, p));
}

void shim_key_cwd(struct shim_key *k, const char *path)
{
	shim_key_at_copied(k, AT_FDCWD, path);
}

void shim_key_search(struct shim_key *k, const char *file)
{
	const char *p = shim_key_copy_start(k, file, shim_active());
	size_t n;

	if (p == NULL)
		return;
	if (strchr(p, '/') != NULL) {
		shim_key_make(k, AT_FDCWD, p, shim_key_room(k, p));
		return;
	}
	n = strlen(p);
	memmove(k->buf, p, n);
	k->len = n;
}

/* The target's key from link's directory; target may be a copy in k->buf
 * after its first room bytes. */
static void shim_key_target_make(struct shim_key *k,
				 const struct shim_key *link,
				 const char *target, size_t room)
{
	size_t dir;

	if (target[0] == '/') {
		k->len = cache_key_join(k->buf, sizeof k->buf, 0, target);
		return;
	}
	dir = link->len;
	while (dir > 0 && link->key[dir - 1] != '/')
		dir--;
	if (dir > 1)
		dir--; /* drop the slash, except the root's */
	if (dir > room) {
		k->len = CACHE_KEY_TOOLONG;
		return;
	}
	memcpy(k->buf, link->key, dir);
	k->len = cache_key_join(k->buf, sizeof k->buf, dir, target);
}

void shim_key_target(struct shim_key *k, const struct shim_key *link,
		     const char *target)
{
	k->len = 0;
	k->key = k->buf;
	k->walk_denied = 0;
	if (link->len == 0 || link->len == CACHE_KEY_TOOLONG || target == NULL ||
	    target[0] == '\0')
		return;
	shim_key_target_make(k, link, target, sizeof k->buf);
}

void shim_key_target_copied(struct shim_key *k, const struct shim_key *link,
			    const char *target)
{
	const char *p = shim_key_copy_start(
		k, target, link->len != 0 && link->len != CACHE_KEY_TOOLONG);

	if (p != NULL)
		shim_key_target_make(k, link, p, shim_key_room(k, p));
}

/* ---- recording -------------------------------------------------------------- */

int shim_is_key(const char *s, size_t n)
{
	if (n == 0 || s[0] != '/')
		return 0;
	if (n == 1)
		return 1;
	for (size_t i = 0; i < n; i++) {
		const char *c = s + i + 1;
		size_t rest = n - i - 1;

		if (s[i] != '/')
			continue;
		if (rest == 0 || c[0] == '/')
			return 0; /* trailing or doubled slash */
		if (c[0] == '.' && (rest == 1 || c[1] == '/'))
			return 0; /* "." */
		if (c[0] == '.' && c[1] == '.' && (rest == 2 || c[2] == '/'))
			return 0; /* ".." */
	}
	return 1;
}


void shim_record(const struct shim_key *k, uint64_t ops, int failed, int err,
		 int outcome)
{
	size_t len = k->len;

	/* A key is only made while attached; the state may have become
	 * BROKEN since, which cache_record would report again.  A key
	 * marked walk_denied names the denied directory, whose violation
	 * the gate records: the call's own operations are not its. */
	if (len == 0 || k->walk_denied ||
	    atomic_load_explicit(&shim_state, memory_order_relaxed) !=
		    SHIM_ATTACHED)
		return;
	if (len == CACHE_KEY_TOOLONG) {
		/* The whole buffer, longer than any key: counted as skipped. */
		if (sizeof k->buf <= shim_max_key)
			return;
		len = sizeof k->buf;
	}
	shim_record_bytes(k->key, len,
			  outcome ? cache_call_value((uint32_t)ops, failed != 0, err) : ops);
}

void shim_record_bytes(const char *key, size_t len, uint64_t ops)
{
	int r;

	/* relaxed: a stale ATTACHED costs one record, which the cache
	 * checks on its own. */
	if (len == 0 ||
	    atomic_load_explicit(&shim_state, memory_order_relaxed) !=
		    SHIM_ATTACHED)
		return;
	/* cache_record calls nothing that is hooked and is safe to re-enter
	 * from a signal handler: no busy flag, which a handler's longjmp
	 * would leave set. */
	r = cache_record_hinted(&shim_cache, key, len, ops, &shim_hint);
	if ((r == CACHE_E_UNMAPPED || r == CACHE_E_FULL) &&
	    shim_cache.arena.mapped_blocks < SHM_ARENA_BLOCKS)
		shim_say_window_once();
	else if (r == CACHE_E_CORRUPT) {
		int was = SHIM_ATTACHED;
		/* One process-wide transition: the winner says it once. */
		if (atomic_compare_exchange_strong(&shim_state, &was,
						   SHIM_BROKEN) &&
		    shim_debug)
			shim_say("damaged cache file, recording stopped", "",
				 NULL);
	}
}

int shim_note(struct shim_key *k, int dirfd, const char *path, uint32_t ops,
	      int failed, int err)
{
	if (!shim_active() || path == NULL || path[0] == '\0') {
		k->len = 0;
		return 0;
	}
	shim_key_at(k, dirfd, path);
	shim_record(k, ops, failed, err, 1);
	return k->len != 0;
}

/* Out of line: the wrappers reach it only after an unusual error. */
__attribute__((noinline)) int shim_note_copied(struct shim_key *k, int dirfd,
					       const char *path, uint32_t ops,
					       int failed, int err)
{
	shim_key_at_copied(k, dirfd, path);
	shim_record(k, ops, failed, err, 1);
	return k->len != 0;
}

uint32_t shim_fopen_ops(const char *mode)
{
	uint32_t ops;
	int plus = 0, excl = 0;

	if (mode == NULL)
		return CACHE_OP_READ;
	for (const char *m = mode + 1; *m != '\0' && *m != ','; m++) {
		plus |= *m == '+';
		excl |= *m == 'x';
	}
	switch (mode[0]) {
	case 'w':
		ops = CACHE_OP_WRITE | CACHE_OP_TRUNCATE;
		break;
	case 'a':
		ops = CACHE_OP_WRITE;
		break;
	default:
		ops = CACHE_OP_READ;
		break;
	}
	if (plus)
		ops |= CACHE_OP_READ | CACHE_OP_WRITE;
	if (excl && (ops & CACHE_OP_WRITE))
		ops |= CACHE_OP_CREATE; /* glibc's 'x': O_EXCL */
	return ops;
}

uint32_t shim_unlinkat_ops(int flags)
{
	return (flags & AT_REMOVEDIR) ? CACHE_OP_RMDIR : CACHE_OP_UNLINK;
}

/* ---- execl* argument lists ---------------------------------------------- */

size_t shim_va_count(const char *arg, va_list *ap)
{
	size_t n = 0;

	if (arg == NULL)
		return 0;
	for (n = 1; va_arg(*ap, const char *) != NULL; n++)
		;
	return n;
}

char *const *shim_va_fill(char **argv, const char *arg, va_list *ap,
			  int envtail)
{
	size_t i = 0;

	argv[0] = (char *)arg;
	if (arg != NULL)
		while ((argv[++i] = va_arg(*ap, char *)) != NULL)
			;
	return envtail ? va_arg(*ap, char *const *) : environ;
}

/* ---- start-up ------------------------------------------------------------ */

/* Our own file name, absolute, so that children in other directories find
 * it when it is re-injected: the loader's name when it is absolute (as
 * `shmcache run` gives it), else its real path made in buf (PATH_MAX
 * bytes, written only then).  NULL when there is none. */
static const char *shim_self_path(char *buf)
{
	Dl_info info;
	shim_fn_realpath rp;
	/* the loader's name for us: from the resolving walk, else dladdr */
	const char *name = shim_self_name;

	if (name == NULL) {
		if (dladdr((void *)shim_self_path, &info) == 0)
			return NULL;
		name = info.dli_fname;
	}
	if (name == NULL)
		return NULL;
	if (name[0] == '/')
		return name;
	rp = shim_get_realpath();
	return rp != NULL ? rp(name, buf) : NULL;
}

/* Start-up proper: resolves the real functions, reads the environment,
 * attaches the cache.  Returns the state to publish. */
static int shim_startup(void)
{
	/* Written only for a relative name: a process that never needs them
	 * never touches their pages. */
	static char self_buf[PATH_MAX];
	static struct shim_key file;
	const char *env_file, *env_debug, *path, *self;
	size_t base = 0;
	int r;

	shim_resolve_all();
	env_debug = shim_getenv("SHMCACHE_DEBUG");
	shim_debug = env_debug != NULL && env_debug[0] != '\0';
	env_file = shim_getenv("SHMCACHE_FILE");
	if (env_file == NULL || env_file[0] == '\0')
		return SHIM_OFF;
	if (shim_supervised()) {
		/* shmcache-supervise's filter sees every call of this process
		 * and records it: recording here too would count each twice */
		if (shim_debug)
			shim_say("under shmcache-supervise: its filter records "
				 "this process", "", NULL);
		return SHIM_OFF;
	}
	/* Relative names are made absolute (not folded: the kernel resolves
	 * symlinks before "..") so that every process names one file; an
	 * absolute one is used where it is, in the environment. */
	path = env_file;
	if (env_file[0] != '/') {
		base = shim_cwd(file.buf, sizeof file.buf - 1);
		if (base == 0 || base == CACHE_KEY_TOOLONG ||
		    base + 1 + strlen(env_file) >= sizeof file.buf) {
			if (shim_debug)
				shim_say("cannot make SHMCACHE_FILE absolute: ",
					 env_file, NULL);
			return SHIM_OFF;
		}
		file.buf[base++] = '/';
		memcpy(file.buf + base, env_file, strlen(env_file) + 1);
		path = file.buf;
	} else if (strlen(env_file) >= sizeof file.buf) {
		if (shim_debug)
			shim_say("SHMCACHE_FILE too long", "", NULL);
		return SHIM_OFF;
	}

	shim_busy = 1; /* the allocator's own open/stat are not recorded */
	r = cache_attach(&shim_cache, path, CACHE_ATTACH_CREATE);
	shim_busy = 0;
	if (r != CACHE_OK) {
		if (shim_debug)
			shim_say("cannot use ", path,
				 r == CACHE_E_ARENA
					 ? shm_strerror(shim_cache.arena_err)
					 : cache_strerror(r));
		return SHIM_OFF;
	}
	shim_max_key = cache_max_key();
	shim_sandbox_start();
	if (shim_debug && shim_cache.arena.mapped_blocks < SHM_ARENA_BLOCKS)
		shim_say("address-space limit: mapping the first part of ",
			 path, NULL);
	self = shim_self_path(self_buf);
	if (self == NULL || shim_env_save(path, self) != 0) {
		if (shim_debug)
			shim_say("cannot save the environment for exec", "",
				 NULL);
	}
	shim_supervise_init();
	pthread_atfork(NULL, NULL, shim_cwd_after_fork);
	return SHIM_ATTACHED;
}

/* A successful exec does not return to the process that made it, so the
 * program it started records it: the name execve was given (AT_EXECFN,
 * relative to the cwd, which exec keeps) was executed and exists.  An
 * absolute, normalised name (what a PATH search gives) is recorded in
 * place; another is folded into a key of its own, not on the stack (only
 * the start-up's winner writes it) and out of the hot pages. */
static void shim_record_own_exec(void)
{
#ifdef AT_EXECFN
	static struct shim_key self_exec;
	const char *fn = (const char *)getauxval(AT_EXECFN);
	size_t n = 0;

	if (fn == NULL || fn[0] == '\0')
		return;
	while (fn[n] != '\0') /* no libc strlen: a page of its own */
		n++;
	if (shim_is_key(fn, n)) {
		shim_record_bytes(fn, n,
				  cache_call_value(CACHE_OP_EXEC, false, 0));
		return;
	}
	shim_key_at(&self_exec, AT_FDCWD, fn);
	shim_record(&self_exec, CACHE_OP_EXEC, 0, 0, 1);
#endif
}

int shim_start(void)
{
	int s = SHIM_UNSTARTED, e = errno;

	/* acquire on failure: a finished start-up's handle is then visible;
	 * acq_rel on success orders nothing yet, it only claims the work. */
	if (!atomic_compare_exchange_strong_explicit(
		    &shim_state, &s, SHIM_STARTING, memory_order_acq_rel,
		    memory_order_acquire))
		return s;
	s = shim_startup();
	/* release: the handle above is complete before any hook sees it. */
	atomic_store_explicit(&shim_state, s, memory_order_release);
	if (s == SHIM_ATTACHED)
		shim_record_own_exec();
	errno = e;
	return s;
}

/* Our code mapped in before any other constructor of this library runs,
 * crtbegin's frame_dummy included (a constructor with a priority runs
 * first): each is on a text page that would otherwise fault in on its own.
 * Cold, as code run once is: placed among the first text pages, which the
 * loader's call of _init has touched already. */
__attribute__((constructor(101), cold)) static void shim_init_pages(void)
{
	shim_prefault_text();
}

/* The objects the loader mapped are recorded here, in the constructor,
 * never in a start-up run by a hook: their list takes the loader's lock,
 * which a hook in a signal handler may interrupt. */
__attribute__((constructor)) static void shim_init(void)
{
	if (shim_start() == SHIM_ATTACHED)
		shim_loader_record_all();
}
