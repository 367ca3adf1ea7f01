/*
 * env.c - putting LD_PRELOAD and SHMCACHE_FILE back into an environment that
 * lost them (env -i, sanitised environments of build tools), so that the
 * whole process tree stays traced.  Nothing is allocated: the new vector and
 * the one string that may need building live in the caller's shim_envbuf.
 * The program's vector and strings are read only through shim_readv_self:
 * a bad pointer in them is the kernel's to refuse (EFAULT), not ours to
 * fault on.
 */
#include "shim.h"

#include <string.h>

#define PRELOAD_VAR "LD_PRELOAD="
#define FILE_VAR "SHMCACHE_FILE="

static char env_preload[sizeof PRELOAD_VAR + SHIM_KEY_CAP]; /* LD_PRELOAD=<us> */
static char env_file[sizeof FILE_VAR + SHIM_KEY_CAP];       /* SHMCACHE_FILE=.. */
static const char *env_self;    /* our path, inside env_preload */
static size_t env_self_len;
static const char *env_self_base; /* its last component */
static size_t env_self_base_len;
static int env_saved;

static int env_put(char *dst, size_t cap, const char *var, const char *val)
{
	size_t a = strlen(var), b = strlen(val);

	if (a + b + 1 > cap)
		return -1;
	memcpy(dst, var, a);
	memcpy(dst + a, val, b + 1);
	return 0;
}

int shim_env_save(const char *file, const char *libpath)
{
	const char *slash;

	if (libpath[0] == '\0' ||
	    env_put(env_preload, sizeof env_preload, PRELOAD_VAR, libpath) ||
	    env_put(env_file, sizeof env_file, FILE_VAR, file))
		return -1;
	env_self = env_preload + strlen(PRELOAD_VAR);
	env_self_len = strlen(env_self);
	slash = strrchr(env_self, '/');
	env_self_base = slash ? slash + 1 : env_self;
	env_self_base_len = strlen(env_self_base);
	env_saved = 1;
	return 0;
}

/* Whether the LD_PRELOAD list (separated by ':' or ' ') names us: our path,
 * or a bare name equal to our file name (found through the loader's path). */
static int env_names_us(const char *list)
{
	const char *p = list;

	while (*p != '\0') {
		const char *s;
		size_t n;

		while (*p == ':' || *p == ' ')
			p++;
		s = p;
		while (*p != '\0' && *p != ':' && *p != ' ')
			p++;
		n = (size_t)(p - s);
		if (n == env_self_len && memcmp(s, env_self, n) == 0)
			return 1;
		if (n == env_self_base_len && memchr(s, '/', n) == NULL &&
		    memcmp(s, env_self_base, n) == 0)
			return 1;
	}
	return 0;
}

#define ENV_PEEK SHIM_ENV_PEEK
#define ENV_BATCH SHIM_ENV_BATCH
_Static_assert(ENV_PEEK >= sizeof FILE_VAR - 1 &&
		       ENV_PEEK >= sizeof PRELOAD_VAR - 1,
	       "a peek holds either name");
/* The smallest page size: a readable byte makes the rest of its 4 KiB
 * block readable, so no peek that stays inside one can stop the read. */
#define ENV_BLOCK 4096u

/* Copies the vector envp into vec and returns its length, or SIZE_MAX when
 * it cannot be read or has no end within SHIM_ENV_MAX entries. */
static size_t env_copy_vec(long pid, char *const *envp, char **vec)
{
	struct iovec local = { vec, SHIM_ENV_MAX * sizeof *vec };
	struct iovec remote = { (void *)envp, SHIM_ENV_MAX * sizeof *vec };
	long r = shim_readv_self(pid, &local, 1, &remote, 1);

	for (size_t i = 0; r > 0 && i < (size_t)r / sizeof *vec; i++)
		if (vec[i] == NULL)
			return i;
	return SIZE_MAX;
}

/* Whether the string whose first len bytes are peek begins with var (vlen
 * bytes): 1, 0, or -1 when those bytes do not tell. */
static int env_match(const char *peek, size_t len, const char *var,
		     size_t vlen)
{
	size_t k = strnlen(peek, len);

	if (k >= vlen)
		return memcmp(peek, var, vlen) == 0;
	if (k < len)
		return 0; /* ends before var does */
	return memcmp(peek, var, k) == 0 ? -1 : 0;
}

/* The kind of a string from its first len bytes: 1 LD_PRELOAD, 2
 * SHMCACHE_FILE, 0 another; a peek cut short by a 4 KiB boundary that does
 * not tell is read again in full; -1 when that cannot be read. */
static int env_kind(long pid, const char *peek, size_t len, const char *str)
{
	const size_t plen = strlen(PRELOAD_VAR), flen = strlen(FILE_VAR);
	char more[ENV_PEEK];
	int p = env_match(peek, len, PRELOAD_VAR, plen);
	int f = env_match(peek, len, FILE_VAR, flen);
	struct iovec local = { more, sizeof more }, remote = { (void *)str, 0 };
	long r;

	if (p >= 0 && f >= 0)
		return p ? 1 : f ? 2 : 0;
	remote.iov_len = sizeof more;
	r = shim_readv_self(pid, &local, 1, &remote, 1);
	if (r <= 0)
		return -1;
	p = env_match(more, (size_t)r, PRELOAD_VAR, plen);
	f = env_match(more, (size_t)r, FILE_VAR, flen);
	if (p < 0 || f < 0)
		return -1; /* runs into an unreadable page */
	return p ? 1 : f ? 2 : 0;
}

/* Finds the last LD_PRELOAD and whether SHMCACHE_FILE is in b->vec[0..n),
 * reading the strings' first bytes without faulting, ENV_BATCH strings a
 * read, in b->scan (the request too: nothing on a signal stack).  Returns
 * 0, or -1 when a string cannot be read. */
static int env_scan(long pid, struct shim_envbuf *b, size_t n,
		    size_t *preload_at, int *has_file)
{
	char *const *vec = b->vec;
	struct iovec *remote = b->scan.remote;
	char *scratch = &b->scan.peek[0][0];

	for (size_t i = 0; i < n; i += ENV_BATCH) {
		size_t m = n - i < ENV_BATCH ? n - i : ENV_BATCH, total = 0;
		struct iovec local;

		for (size_t j = 0; j < m; j++) {
			uintptr_t a = (uintptr_t)vec[i + j];
			size_t len = ENV_BLOCK - (a % ENV_BLOCK);

			remote[j].iov_base = vec[i + j];
			remote[j].iov_len = len < ENV_PEEK ? len : ENV_PEEK;
			total += remote[j].iov_len;
		}
		local.iov_base = scratch;
		local.iov_len = total;
		if (shim_readv_self(pid, &local, 1, remote, m) != (long)total)
			return -1;
		total = 0;
		for (size_t j = 0; j < m; j++) {
			int kind = env_kind(pid, scratch + total,
					    remote[j].iov_len, vec[i + j]);
			if (kind < 0)
				return -1;
			if (kind == 1)
				*preload_at = i + j;
			else if (kind == 2)
				*has_file = 1;
			total += remote[j].iov_len;
		}
	}
	return 0;
}

char *const *shim_env_fix(char *const *envp, struct shim_envbuf *b)
{
	const size_t plen = strlen(PRELOAD_VAR);
	size_t n = 0, u = 0, preload_at = SIZE_MAX;
	int has_file = 0;
	long pid;

	if (!env_saved ||
	    atomic_load_explicit(&shim_state, memory_order_relaxed) == SHIM_OFF)
		return envp;
	pid = shim_self_pid();
	if (envp != NULL) {
		n = env_copy_vec(pid, envp, b->vec);
		if (n == SIZE_MAX)
			return envp; /* unreadable, or too long to add to */
	}
	if (env_scan(pid, b, n, &preload_at, &has_file) != 0)
		return envp;
	if (preload_at != SIZE_MAX) {
		/* The user's list, copied where ours is appended to it. */
		struct iovec local = { b->preload, sizeof b->preload };
		struct iovec remote = { b->vec[preload_at], sizeof b->preload };
		long r = shim_readv_self(pid, &local, 1, &remote, 1);

		/* strnlen, as in shim_key_copy_in */
		u = r > 0 ? strnlen(b->preload, (size_t)r) : 0;
		if (r <= 0 || u == (size_t)r)
			return envp; /* unreadable, or longer than we keep */
		if (has_file && env_names_us(b->preload + plen))
			return envp;
	}
	if (n + 3 > SHIM_ENV_MAX)
		return envp; /* does not fit: left as the program made it */
	if (preload_at == SIZE_MAX) {
		b->vec[n++] = env_preload;
	} else if (!env_names_us(b->preload + plen)) {
		/* The user's list is kept, ours appended. */
		if (u + 1 + env_self_len + 1 > sizeof b->preload)
			return envp;
		b->preload[u] = ':';
		memcpy(b->preload + u + 1, env_self, env_self_len + 1);
		b->vec[preload_at] = b->preload;
	}
	if (!has_file)
		b->vec[n++] = env_file;
	b->vec[n] = NULL;
	return b->vec;
}
