/*
 * env.c - putting LD_PRELOAD and SHMCACHE_FILE back into an environment that
 * lost them (env -i, sanitised environments of build tools), so that the
 * whole process tree stays traced, all of it naming one cache file.  Nothing
 * is allocated: the new vector and the one string that may need building
 * live in a block of the exec hook sized by shim_env_plan.  The program's
 * vector and strings are read through shim_readv_self until they are known
 * readable: a bad pointer in them is the kernel's to refuse (EFAULT), not
 * ours to fault on.
 */
#include "shim.h"

#include <string.h>

#define PRELOAD_VAR "LD_PRELOAD="
#define FILE_VAR "SHMCACHE_FILE="
#define AUDIT_VAR "LD_AUDIT="
#define AUDIT_FLAG_VAR "SHMCACHE_AUDIT="
#define AUDIT_LIB "libshmcache-audit.so"

/* LD_PRELOAD=<us> and SHMCACHE_FILE=<file>, written by every process at
 * start-up: in the hot section when they fit its short buffers (the usual
 * names), else in buffers of full length out of it, so that the hot
 * section stays one page (shm_hot.h). */
#define ENV_SHORT 192
SHM_HOT_DATA static char env_preload_short[ENV_SHORT];
SHM_HOT_DATA static char env_file_short[ENV_SHORT];
static char env_preload_long[sizeof PRELOAD_VAR + SHIM_KEY_CAP];
static char env_file_long[sizeof FILE_VAR + SHIM_KEY_CAP];
SHM_HOT_DATA static char *env_preload; /* one of the two, once saved */
SHM_HOT_DATA static char *env_file;
SHM_HOT_DATA static const char *env_self;   /* our path, inside env_preload */
SHM_HOT_DATA static size_t env_self_len;
SHM_HOT_DATA static const char *env_self_base;/* its last component */
SHM_HOT_DATA static size_t env_self_base_len;
SHM_HOT_DATA static int env_saved;
/* SHMCACHE_AUDIT was set: LD_AUDIT=<our directory>/AUDIT_LIB goes on too. */
static char env_audit[sizeof AUDIT_VAR + SHIM_KEY_CAP + sizeof AUDIT_LIB];
static char env_audit_flag[] = AUDIT_FLAG_VAR "1";
SHM_HOT_DATA static int env_audit_on;
/* SHMCACHE_FILE as this process found it, when relative (else empty). */
static char env_orig[SHIM_KEY_CAP];
SHM_HOT_DATA static size_t env_orig_len;

static int env_put(char *dst, size_t cap, const char *var, const char *val)
{
	size_t a = strlen(var), b = strlen(val);

	if (a + b + 1 > cap)
		return -1;
	memcpy(dst, var, a);
	memcpy(dst + a, val, b + 1);
	return 0;
}

/* environ's SHMCACHE_FILE entry, when its name is relative, is remembered
 * (env_orig) and pointed at env_file: children started where no hook sees
 * it (by libc's own spawns) inherit the absolute name.  The old string stays
 * valid, and the entry is one aligned pointer: a thread reading the
 * environment meanwhile sees either value, both the same file. */
static void env_publish_file(void)
{
	const size_t flen = strlen(FILE_VAR);

	if (environ == NULL)
		return;
	for (char **e = environ; *e != NULL; e++) {
		const char *v = *e;
		size_t n;

		if (strncmp(v, FILE_VAR, flen) != 0)
			continue;
		v += flen;
		n = strlen(v);
		if (v[0] == '/' || n == 0 || n >= sizeof env_orig)
			return;
		memcpy(env_orig, v, n + 1);
		env_orig_len = n;
		/* relaxed: a single pointer; each value names a valid string */
		__atomic_store_n(e, env_file, __ATOMIC_RELAXED);
		return;
	}
}

/* With SHMCACHE_AUDIT set (non-empty) in environ, prepares env_audit. */
static void env_save_audit(void)
{
	const size_t alen = strlen(AUDIT_FLAG_VAR);
	size_t dir = (size_t)(env_self_base - env_self);

	for (char **e = environ; e != NULL && *e != NULL; e++) {
		if (strncmp(*e, AUDIT_FLAG_VAR, alen) != 0 || (*e)[alen] == '\0')
			continue;
		if (strlen(AUDIT_VAR) + dir + sizeof AUDIT_LIB > sizeof env_audit)
			return;
		memcpy(env_audit, AUDIT_VAR, strlen(AUDIT_VAR));
		memcpy(env_audit + strlen(AUDIT_VAR), env_self, dir);
		memcpy(env_audit + strlen(AUDIT_VAR) + dir, AUDIT_LIB,
		       sizeof AUDIT_LIB);
		env_audit_on = 1;
		return;
	}
}

int shim_env_save(const char *file, const char *libpath)
{
	const char *slash;

	if (libpath[0] == '\0')
		return -1;
	env_preload = env_put(env_preload_short, sizeof env_preload_short,
			      PRELOAD_VAR, libpath) == 0
			      ? env_preload_short
			      : env_preload_long;
	env_file = env_put(env_file_short, sizeof env_file_short, FILE_VAR,
			   file) == 0
			   ? env_file_short
			   : env_file_long;
	if ((env_preload == env_preload_long &&
	     env_put(env_preload_long, sizeof env_preload_long, PRELOAD_VAR,
		     libpath)) ||
	    (env_file == env_file_long &&
	     env_put(env_file_long, sizeof env_file_long, FILE_VAR, file)))
		return -1;
	env_self = env_preload + strlen(PRELOAD_VAR);
	env_self_len = strlen(env_self);
	slash = strrchr(env_self, '/');
	env_self_base = slash ? slash + 1 : env_self;
	env_self_base_len = strlen(env_self_base);
	env_publish_file();
	env_save_audit();
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

/* Whether the SHMCACHE_FILE=... entry e is the relative name this process
 * started with (env_orig), which a child in another directory would
 * resolve to another file. */
static int env_is_orig(const char *e)
{
	return env_orig_len != 0 && strcmp(e + strlen(FILE_VAR), env_orig) == 0;
}

/* How many bytes of each string are looked at to classify it (the longest
 * name, SHMCACHE_AUDIT=, has 15), and how many strings a read looks at. */
#define ENV_PEEK 16
#define ENV_BATCH 16
/* The smallest page size: a peek that stays inside one 4 KiB block cannot
 * be cut short by a page its string does not reach. */
#define ENV_BLOCK 4096u

enum env_kind { ENV_OTHER, ENV_PRELOAD, ENV_FILE, ENV_AUDIT, ENV_AUDIT_FLAG };

/* Whether the string whose first len bytes are peek begins with var: 1, 0,
 * or -1 when those bytes do not tell (the peek stopped at a block's end). */
static int env_match(const char *peek, size_t len, const char *var)
{
	size_t vlen = strlen(var), k = strnlen(peek, len);

	if (k >= vlen)
		return memcmp(peek, var, vlen) == 0;
	if (k < len)
		return 0; /* the string ends before var does */
	return memcmp(peek, var, k) == 0 ? -1 : 0;
}

/* The kind of str from its first len bytes in peek; a peek that does not
 * tell is read again across the block's end.  -1: unreadable. */
static int env_kind_of(long pid, const char *peek, size_t len,
		       const char *str)
{
	static const char *const vars[] = { PRELOAD_VAR, FILE_VAR, AUDIT_VAR,
					    AUDIT_FLAG_VAR };
	char more[ENV_PEEK];
	int again = 0;

	for (size_t v = 0; v < sizeof vars / sizeof vars[0]; v++) {
		int m = env_match(peek, len, vars[v]);
		if (m > 0)
			return (int)v + 1;
		again |= m < 0;
	}
	if (!again)
		return ENV_OTHER;
	struct iovec local = { more, sizeof more };
	struct iovec remote = { (void *)(uintptr_t)str, sizeof more };
	long r = shim_readv_self(pid, &local, 1, &remote, 1);
	if (r <= 0)
		return -1;
	for (size_t v = 0; v < sizeof vars / sizeof vars[0]; v++) {
		int m = env_match(more, (size_t)r, vars[v]);
		if (m < 0)
			return -1; /* runs into an unreadable page */
		if (m > 0)
			return (int)v + 1;
	}
	return ENV_OTHER;
}

/* Classifies the m strings of one batch.  Returns 0, or -1 when one cannot
 * be read. */
static int env_classify_batch(long pid, char *const *batch, size_t m,
			      size_t first, struct shim_envplan *p)
{
	struct iovec remote[ENV_BATCH], local;
	char peek[ENV_BATCH * ENV_PEEK];
	size_t total = 0;

	for (size_t j = 0; j < m; j++) {
		size_t room = ENV_BLOCK - (uintptr_t)batch[j] % ENV_BLOCK;
		remote[j].iov_base = batch[j];
		remote[j].iov_len = room < ENV_PEEK ? room : ENV_PEEK;
		total += remote[j].iov_len;
	}
	local.iov_base = peek;
	local.iov_len = total;
	if (shim_readv_self(pid, &local, 1, remote, m) != (long)total)
		return -1;
	total = 0;
	for (size_t j = 0; j < m; j++) {
		switch (env_kind_of(pid, peek + total, remote[j].iov_len,
				    batch[j])) {
		case -1:
			return -1;
		case ENV_PRELOAD:
			p->preload_at = first + j;
			break;
		case ENV_FILE:
			p->file_at = first + j;
			break;
		case ENV_AUDIT:
			p->add_audit = 0; /* the user's, or ours */
			break;
		case ENV_AUDIT_FLAG:
			p->add_audit_flag = 0;
			break;
		default:
			break;
		}
		total += remote[j].iov_len;
	}
	return 0;
}

/* Reads the vector envp a batch at a time and classifies its strings into
 * p (p->n, the indexes, the audit flags).  Returns 0, or -1 when the vector
 * or a string cannot be read, or the vector has no end within SHIM_ENV_MAX
 * entries (too long to re-inject into: left as it is). */
static int env_classify(long pid, char *const *envp, struct shim_envplan *p)
{
	char *batch[ENV_BATCH];
	size_t n = 0;

	if (envp == NULL)
		return 0;
	for (;;) {
		struct iovec local = { batch, sizeof batch };
		struct iovec remote = { (void *)(uintptr_t)(envp + n),
					sizeof batch };
		long r = shim_readv_self(pid, &local, 1, &remote, 1);
		size_t m = 0, got;

		if (r < (long)sizeof *batch)
			return -1;
		got = (size_t)r / sizeof *batch;
		while (m < got && batch[m] != NULL)
			m++;
		if (env_classify_batch(pid, batch, m, n, p) != 0)
			return -1;
		n += m;
		if (m < got)
			break; /* the NULL that ends it */
		if (n >= SHIM_ENV_MAX)
			return -1;
	}
	p->n = n;
	return 0;
}

/* The length of str if it is readable to its NUL within max bytes, else
 * SIZE_MAX.  Read a small piece at a time, without faulting. */
static size_t env_len_checked(long pid, const char *str, size_t max)
{
	char piece[64];
	size_t off = 0;

	while (off < max) {
		size_t want = max - off < sizeof piece ? max - off : sizeof piece;
		struct iovec local = { piece, want };
		struct iovec remote = { (void *)(uintptr_t)(str + off), want };
		long r = shim_readv_self(pid, &local, 1, &remote, 1);
		size_t k;

		if (r <= 0)
			return SIZE_MAX;
		/* strnlen: bound early by every key (see shim_key_copy_in) */
		k = strnlen(piece, (size_t)r);
		if (k < (size_t)r)
			return off + k;
		off += (size_t)r;
	}
	return SIZE_MAX;
}

size_t shim_env_plan(char *const *envp, struct shim_envplan *p)
{
	const size_t plen = strlen(PRELOAD_VAR), flen = strlen(FILE_VAR);
	long pid;
	size_t n;
	int state;

	p->vec = 0;
	p->preload = 0;
	p->preload_at = SIZE_MAX;
	p->file_at = SIZE_MAX;
	p->names_us = 0;
	p->file_orig = 0;
	p->n = 0;
	p->add_audit = env_audit_on;
	p->add_audit_flag = env_audit_on;
	/* acquire: pairs with start-up's release store, after which the
	 * saved values (env_saved) are complete. */
	state = atomic_load_explicit(&shim_state, memory_order_acquire);
	if ((state != SHIM_ATTACHED && state != SHIM_BROKEN) || !env_saved)
		return 0;
	pid = shim_self_pid();
	if (env_classify(pid, envp, p) != 0)
		return 0;
	n = p->n;
	if (p->preload_at != SIZE_MAX) {
		/* read whole below (names_us, the copy): checked first */
		size_t u = env_len_checked(pid, envp[p->preload_at],
					   SHIM_PRELOAD_MAX);
		if (u == SIZE_MAX)
			return 0;
		p->names_us = env_names_us(envp[p->preload_at] + plen);
	}
	if (p->file_at != SIZE_MAX &&
	    env_len_checked(pid, envp[p->file_at], flen + sizeof env_orig) !=
		    SIZE_MAX)
		p->file_orig = env_is_orig(envp[p->file_at]);
	if (p->file_at != SIZE_MAX && !p->file_orig && p->names_us &&
	    !p->add_audit && !p->add_audit_flag)
		return 0;
	if (n + 5 > SHIM_ENV_MAX)
		return 0; /* does not fit: left as the program made it */
	if (p->preload_at != SIZE_MAX && !p->names_us) {
		/* The user's list is kept, ours appended. */
		size_t u = strlen(envp[p->preload_at]);
		if (u + 1 + env_self_len + 1 > SHIM_PRELOAD_MAX)
			return 0;
		p->preload = u + 1 + env_self_len + 1;
	}
	p->vec = n + 5;
	return p->vec;
}

char *const *shim_env_build(char *const *envp, const struct shim_envplan *p,
			    char **vec, char *preload)
{
	size_t n = p->n;

	if (n > 0)
		memcpy(vec, envp, n * sizeof *envp);
	if (p->preload_at == SIZE_MAX) {
		vec[n++] = env_preload;
	} else if (!p->names_us) {
		size_t u = strlen(envp[p->preload_at]);
		memcpy(preload, envp[p->preload_at], u);
		preload[u] = ':';
		memcpy(preload + u + 1, env_self, env_self_len + 1);
		vec[p->preload_at] = preload;
	}
	if (p->file_at == SIZE_MAX)
		vec[n++] = env_file;
	else if (p->file_orig)
		vec[p->file_at] = env_file; /* the relative name, made absolute */
	if (p->add_audit)
		vec[n++] = env_audit;
	if (p->add_audit_flag)
		vec[n++] = env_audit_flag;
	vec[n] = NULL;
	return vec;
}
