/*
 * env.c - putting LD_PRELOAD and SHMCACHE_FILE back into an environment that
 * lost them (env -i, sanitised environments of build tools), so that the
 * whole process tree stays traced.  Nothing is allocated: the new vector and
 * the one string that may need building live in the caller's shim_envbuf.
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

char *const *shim_env_fix(char *const *envp, struct shim_envbuf *b)
{
	const size_t plen = strlen(PRELOAD_VAR), flen = strlen(FILE_VAR);
	size_t n = 0, preload_at = SIZE_MAX;
	int has_file = 0;
	/* acquire: pairs with start-up's release store, after which the
	 * saved values (env_saved) are complete. */
	int state = atomic_load_explicit(&shim_state, memory_order_acquire);

	if ((state != SHIM_ATTACHED && state != SHIM_BROKEN) || !env_saved)
		return envp;
	if (envp != NULL) {
		for (; envp[n] != NULL; n++) {
			if (strncmp(envp[n], PRELOAD_VAR, plen) == 0)
				preload_at = n;
			else if (strncmp(envp[n], FILE_VAR, flen) == 0)
				has_file = 1;
		}
	}
	if (has_file && preload_at != SIZE_MAX &&
	    env_names_us(envp[preload_at] + plen))
		return envp;
	if (n + 3 > SHIM_ENV_MAX)
		return envp; /* does not fit: left as the program made it */
	if (n > 0)
		memcpy(b->vec, envp, n * sizeof *envp);
	if (preload_at == SIZE_MAX) {
		b->vec[n++] = env_preload;
	} else if (!env_names_us(envp[preload_at] + plen)) {
		/* The user's list is kept, ours appended. */
		size_t u = strlen(envp[preload_at]);
		if (u + 1 + env_self_len + 1 > sizeof b->preload)
			return envp;
		memcpy(b->preload, envp[preload_at], u);
		b->preload[u] = ':';
		memcpy(b->preload + u + 1, env_self, env_self_len + 1);
		b->vec[preload_at] = b->preload;
	}
	if (!has_file)
		b->vec[n++] = env_file;
	b->vec[n] = NULL;
	return b->vec;
}
