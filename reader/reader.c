/*
 * reader.c - libshmcache-reader: the public reader interface
 * (shmcache_reader.h) over the path cache's own read API (ctrie_cache.h):
 * a read-only attach, the walk, the lookup, the structure check.  The
 * library's error codes are its own, stable across the cache's internal
 * ones, which reader_error maps.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctrie_cache.h"
#include "shmcache_reader.h"

#define API __attribute__((visibility("default")))

struct shmcache {
	struct cache cache;
};

API const char *shmcache_strerror(int err)
{
	switch (err) {
	case SHMCACHE_OK: return "success";
	case SHMCACHE_E_SYSTEM: return "cannot be opened or mapped (see errno)";
	case SHMCACHE_E_REFUSED:
		return "refused: a symbolic link, not a regular file, another "
		       "user's, group- or world-writable, or hard-linked";
	case SHMCACHE_E_NOTCACHE: return "not a cache file";
	case SHMCACHE_E_VERSION:
		return "made by an incompatible version or build of shmcache";
	case SHMCACHE_E_CORRUPT: return "the cache is damaged";
	case SHMCACHE_E_BUSY:
		return "still being created by another process";
	case SHMCACHE_E_NOMEM: return "out of memory";
	case SHMCACHE_E_INVAL: return "invalid argument";
	case SHMCACHE_E_STOP: return "stopped by the callback";
	default: return "unknown error";
	}
}

/* The allocator's reason for refusing a file, as a public code. */
static int arena_error(int arena_err, const char *path)
{
	struct stat st;
	switch (arena_err) {
	case SHM_E_OPEN:
	case SHM_E_MAP:
	case SHM_E_NOSPACE:
		return SHMCACHE_E_SYSTEM;
	case SHM_E_SYMLINK:
	case SHM_E_NOTREG:
	case SHM_E_OWNER:
	case SHM_E_MODE:
	case SHM_E_LINKS:
		return SHMCACHE_E_REFUSED;
	case SHM_E_VERSION:
	case SHM_E_SETTINGS:
		return SHMCACHE_E_VERSION;
	case SHM_E_BUSY:
		return SHMCACHE_E_BUSY;
	case SHM_E_CORRUPT:
		return SHMCACHE_E_CORRUPT;
	case SHM_E_SIZE:
		/* Smaller than the header page: never was a cache. */
		if (lstat(path, &st) == 0 && st.st_size < 4096)
			return SHMCACHE_E_NOTCACHE;
		return SHMCACHE_E_CORRUPT;
	default:
		return SHMCACHE_E_NOTCACHE;
	}
}

/* A result of the cache's API as a public code. */
static int cache_error(int r)
{
	switch (r) {
	case CACHE_OK: return SHMCACHE_OK;
	case CACHE_E_NOTCACHE: return SHMCACHE_E_NOTCACHE;
	case CACHE_E_VERSION: return SHMCACHE_E_VERSION;
	case CACHE_E_STOP: return SHMCACHE_E_STOP;
	/* Past this process's mapping (an address-space limit): the file
	 * is sound, the process ran out of room for it. */
	case CACHE_E_UNMAPPED: return SHMCACHE_E_NOMEM;
	case CACHE_E_NOMEM: return SHMCACHE_E_NOMEM;
	default: return SHMCACHE_E_CORRUPT;
	}
}

API shmcache *shmcache_open(const char *path, int *err)
{
	int dummy, e;
	if (err == NULL)
		err = &dummy;
	if (path == NULL || path[0] == '\0') {
		*err = SHMCACHE_E_INVAL;
		return NULL;
	}
	shmcache *c = calloc(1, sizeof *c);
	if (c == NULL) {
		*err = SHMCACHE_E_NOMEM;
		return NULL;
	}
	errno = 0;
	int r = cache_attach(&c->cache, path, CACHE_ATTACH_RDONLY);
	e = errno;
	if (r == CACHE_OK) {
		*err = SHMCACHE_OK;
		return c;
	}
	*err = r == CACHE_E_ARENA ? arena_error(c->cache.arena_err, path)
				  : cache_error(r);
	free(c);
	errno = e;
	return NULL;
}

API void shmcache_close(shmcache *c)
{
	if (c == NULL)
		return;
	cache_detach(&c->cache);
	free(c);
}

struct visit {
	shmcache_visit_fn fn;
	void *arg;
	char *buf;     /* the NUL-terminated copy of each key */
	size_t cap;    /* cache_max_key(): buf holds cap + 1 bytes */
	bool too_long; /* a key longer than any key can be: damage */
};

static int visit_one(const struct cache_entry *ce, void *arg)
{
	struct visit *v = arg;
	/* cache_iterate delivers no key longer than cache_max_key(); the
	 * check keeps the copy in bounds whatever it delivers. */
	if (ce->len > v->cap) {
		v->too_long = true;
		return 1;
	}
	memcpy(v->buf, ce->key, ce->len);
	v->buf[ce->len] = '\0';
	struct shmcache_entry e = { v->buf, ce->len, ce->ops, ce->count };
	return v->fn(&e, v->arg);
}

API int shmcache_foreach(shmcache *c, shmcache_visit_fn fn, void *arg)
{
	if (c == NULL || fn == NULL)
		return SHMCACHE_E_INVAL;
	struct visit v = { fn, arg, malloc(cache_max_key() + 1),
			   cache_max_key(), false };
	if (v.buf == NULL)
		return SHMCACHE_E_NOMEM;
	int r = cache_iterate(&c->cache, visit_one, &v);
	free(v.buf);
	return v.too_long ? SHMCACHE_E_CORRUPT : cache_error(r);
}

/* The current directory as a key base: its length in out, or a negative
 * code. */
static long cwd_base(char *out, size_t cap)
{
	if (getcwd(out, cap) == NULL)
		return errno == ERANGE ? SHMCACHE_E_NOMEM : SHMCACHE_E_SYSTEM;
	size_t n = strlen(out);
	/* "/" is the empty base of cache_key_join. */
	return n == 1 ? 0 : (long)n;
}

/* The key of path, made as the shim makes it, into key (cap bytes, and a
 * byte more for getcwd's NUL): its length, or a negative code. */
static long make_key(const char *path, char *key, size_t cap)
{
	long base = path[0] == '/' ? 0 : cwd_base(key, cap + 1);
	if (base < 0)
		return base;
	size_t n = cache_key_join(key, cap, (size_t)base, path);
	/* longer than any key the cache holds */
	if (n == CACHE_KEY_TOOLONG || n == 0)
		return SHMCACHE_E_NOMEM;
	return (long)n;
}

API int shmcache_lookup(shmcache *c, const char *path,
			struct shmcache_entry *e)
{
	if (c == NULL || path == NULL || path[0] == '\0')
		return SHMCACHE_E_INVAL;
	size_t cap = cache_max_key();
	char *key = malloc(cap + 1);
	if (key == NULL)
		return SHMCACHE_E_NOMEM;
	long n = make_key(path, key, cap);
	struct cache_entry ce;
	int r = n < 0 ? (int)n : cache_lookup(&c->cache, key, (size_t)n, &ce);
	free(key);
	/* The cache's contract: a key past the mapping is a miss. */
	if (n >= 0 && r == CACHE_E_UNMAPPED)
		return 0;
	if (n >= 0 && r < 0)
		return cache_error(r);
	if (r == 1 && e != NULL)
		*e = (struct shmcache_entry){ NULL, 0, ce.ops, ce.count };
	return r;
}

API int64_t shmcache_count(shmcache *c)
{
	if (c == NULL)
		return SHMCACHE_E_INVAL;
	struct cache_stats st;
	int r = cache_stats(&c->cache, &st, false);
	if (r != CACHE_OK)
		return cache_error(r);
	return st.entries > INT64_MAX ? INT64_MAX : (int64_t)st.entries;
}

API long shmcache_verify(shmcache *c, shmcache_problem_fn report, void *arg)
{
	if (c == NULL)
		return SHMCACHE_E_INVAL;
	long r = cache_verify(&c->cache, report, arg);
	return r < 0 ? cache_error((int)r) : r;
}

API uint32_t shmcache_op_bit(const char *name)
{
	uint32_t bits = 0;
	const char *bad = NULL;
	/* cache_ops_parse takes a list: a single name holds no comma. */
	if (name == NULL || strchr(name, ',') != NULL ||
	    cache_ops_parse(name, &bits, &bad) != 0)
		return 0;
	return bits;
}

API const char *shmcache_op_name(uint32_t bit)
{
	return cache_op_name(bit);
}

API char shmcache_op_letter(uint32_t bit)
{
	return cache_op_letter(bit);
}

API uint32_t shmcache_ops_succeeded(uint64_t ops)
{
	return cache_ops_succeeded(ops);
}

API uint32_t shmcache_ops_failed(uint64_t ops)
{
	return cache_ops_failed(ops);
}

API uint32_t shmcache_ops_outcomes(uint64_t ops)
{
	return cache_ops_outcomes(ops);
}
