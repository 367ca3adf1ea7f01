/*
 * sandbox.c - sandbox mode in the shim: each path decided once for the
 * whole job (cache_sandbox_decide, ctrie_cache.h, which holds the decision
 * server's protocol and the link resolution).
 *
 * The policy is copied from the cache file at start-up (cache_sandbox_init)
 * into this process's memory.  A hook asks shim_sandbox_gate about its key
 * before the real call: a denied call is not made and is recorded as a
 * violation; an allowed one carries the decision bits into its record.  A
 * cache too full to take the path's entry keeps nothing: every call then
 * decides by the rules again.
 *
 * Everything here is async-signal-safe.
 */
#include "shim.h"

#include <pthread.h>
#include <string.h>

SHIM_HIDDEN SHM_HOT_DATA _Atomic int shim_sandbox_on;

/* The policy, copied once at start-up, and the server connection. */
static struct cache_sandbox sb;

/* ---- saying so --------------------------------------------------------- */

static void sb_say(const char *a, const char *b, const char *c)
{
	const char *parts[] = { "shmcache: sandbox: ", a, b, c };

	shim_say_line(parts, sizeof parts / sizeof parts[0]);
}

/* The job's first server failure. */
static void sb_say_failure(const char *failure)
{
	sb_say("decision server ",
	       sb.policy.server[0] ? sb.policy.server : "(none)", failure);
}

/* The decision of key; the job's first server failure is said here.  Not
 * inlined: its frame stays out of the gate's, under which a denied call's
 * record runs (the deepest chain of the hooks' stack budget). */
static __attribute__((noinline)) uint64_t sb_decide(const char *key,
						  size_t len)
{
	const char *failure = NULL;
	uint64_t bits = cache_sandbox_decide(&sb, key, len, &failure);

	if (failure != NULL)
		sb_say_failure(failure);
	return bits;
}

static uint64_t sb_gate_key(const char *key, size_t len, uint32_t ops)
{
	uint64_t bits;

	if (len == 0 || len == CACHE_KEY_TOOLONG || key[0] != '/')
		return 0;
	bits = sb_decide(key, len);
	if (!(bits & CACHE_DECIDED_DENY))
		return bits;
	cache_policy_count(&shim_cache, CACHE_PC_DENIED_CALLS);
	shim_record_bytes(key, len, cache_sandbox_violation(ops));
	return SHIM_SB_DENY;
}

uint64_t shim_sandbox_gate_bytes(const char *key, size_t len, uint32_t ops)
{
	int e = errno;
	uint64_t r = sb_gate_key(key, len, ops);

	errno = e;
	return r;
}

/* The job's first server failure met by a walk, said by the gate that
 * follows the key's making: the walk runs as a tail call, its frame out of
 * the hook's deepest chain. */
static _Thread_local const char *sb_walk_failure
	__attribute__((tls_model("initial-exec")));

/* A key marked walk_denied: the directory's violation. */
static uint64_t sb_gate_walked(const struct shim_key *k)
{
	cache_policy_count(&shim_cache, CACHE_PC_DENIED_CALLS);
	shim_record_bytes(k->key, k->len,
			  cache_sandbox_violation(CACHE_OP_STAT));
	return SHIM_SB_DENY;
}

uint64_t shim_sandbox_gate(const struct shim_key *k, uint32_t ops)
{
	int e = errno;
	uint64_t r;

	if (__builtin_expect(sb_walk_failure != NULL, 0)) {
		sb_say_failure(sb_walk_failure);
		sb_walk_failure = NULL;
	}
	r = k->walk_denied ? sb_gate_walked(k)
			   : sb_gate_key(k->key, k->len, ops);

	errno = e;
	return r;
}

size_t shim_sandbox_walk(char *buf, size_t cap, size_t base,
			 const char *path)
{
	/* acquire: pairs with start-up's release store of the flag */
	if (!atomic_load_explicit(&shim_sandbox_on, memory_order_acquire))
		return 0;
	return cache_sandbox_walk(&sb, buf, cap, base, path,
				  &sb_walk_failure);
}

__attribute__((noinline)) uint64_t shim_sandbox_gate_path(const char *path,
							 uint32_t ops)
{
	struct shim_key k;

	shim_key_at(&k, AT_FDCWD, path);
	return shim_sandbox_gate(&k, ops);
}

__attribute__((noinline)) int shim_sandbox_denies(const char *path)
{
	struct shim_key k;

	shim_key_at_copied(&k, AT_FDCWD, path);
	return shim_sandbox_gate(&k, CACHE_OP_STAT) == SHIM_SB_DENY;
}

int shim_sandbox_hides_key(const char *key, size_t len)
{
	int e = errno, hidden;
	uint64_t record;
	const char *failure = NULL;

	hidden = cache_sandbox_listed(&sb, key, len, &record, &failure);
	if (failure != NULL)
		sb_say_failure(failure);
	if (record != 0)
		shim_record_bytes(key, len, record);
	errno = e;
	return hidden;
}

int shim_sandbox_hides(DIR *d, const char *name)
{
	struct shim_key k;
	size_t base;
	int e = errno;

	if (name[0] == '.' &&
	    (name[1] == '\0' || (name[1] == '.' && name[2] == '\0')))
		return 0;
	k.key = k.buf;
	base = shim_fd_path((int)shim_dir_fd(d), k.buf, sizeof k.buf);
	if (base == 0 || base == CACHE_KEY_TOOLONG) {
		errno = e;
		return 0;
	}
	k.len = cache_key_join(k.buf, sizeof k.buf, base, name);
	if (k.len == 0 || k.len == CACHE_KEY_TOOLONG) {
		errno = e;
		return 0;
	}
	return shim_sandbox_hides_key(k.key, k.len);
}

/* ---- start-up ----------------------------------------------------------- */

static void sb_after_fork(void)
{
	cache_sandbox_forked(&sb);
}

void shim_sandbox_start(void)
{
	int r = cache_sandbox_init(&sb, &shim_cache);

	if (r == 0)
		return;
	if (r != 1) {
		sb_say("the cache's policy is damaged: not enforced", "", NULL);
		return;
	}
	pthread_atfork(NULL, NULL, sb_after_fork);
	shim_selfread_start();
	/* release: the copy above is complete before a hook sees the flag */
	atomic_store_explicit(&shim_sandbox_on, 1, memory_order_release);
}

/* ---- readdir ------------------------------------------------------------ */

SHIM_HOOKS_SANDBOX(SHIM_GEN)
