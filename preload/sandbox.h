/*
 * sandbox.h - private: the shim's sandbox mode (sandbox.c), included by
 * shim.h before the hook generator, which calls it.
 *
 * When the cache file holds a policy (cache_policy_load), every hook makes
 * its key before the real call and asks shim_sandbox_gate: a denied path's
 * call is not made, it fails with ENOENT and is recorded as a violation;
 * an allowed one is made, and its record carries the decision, so that
 * every later call in every process of the job reads it from the path's
 * entry instead of deciding again.  Without a policy nothing here runs
 * beyond one load per hook.
 */
#ifndef SHMCACHE_SANDBOX_H
#define SHMCACHE_SANDBOX_H

/* Set once by start-up when the cache holds a policy (release: the policy
 * copy is complete before it reads 1). */
extern SHIM_HIDDEN _Atomic int shim_sandbox_on;

/* Start-up, after the cache is attached: copies its policy, if any.  Not
 * signal-safe (start-up). */
SHIM_HIDDEN void shim_sandbox_start(void);

/* Whether this call is to be decided: a policy, and the shim recording.
 * Runs start-up first if nothing has yet, so that a call made before our
 * constructor is decided too.  Signal-safe. */
static inline int shim_sandboxed(void)
{
	/* relaxed: the state only says whether start-up must run first */
	if (__builtin_expect(atomic_load_explicit(&shim_state,
						  memory_order_relaxed) ==
				     SHIM_UNSTARTED,
			     0))
		(void)shim_start();
	/* acquire: pairs with start-up's release store of the flag */
	return __builtin_expect(atomic_load_explicit(&shim_sandbox_on,
						     memory_order_acquire),
				0) &&
	       shim_active();
}

/* What shim_sandbox_gate returns for a denied key. */
#define SHIM_SB_DENY UINT64_MAX

/* Decides k (made before the call; a call with the operations ops): the
 * decision stored in its entry, else the rules, else the decision server.
 * Returns the decision bits (CACHE_DECIDED_*) that the call's record
 * carries, 0 when there is nothing to decide (no key, a relative name that
 * libc searches for, a key too long to hold), or SHIM_SB_DENY when the
 * call must not be made: then the violation is already recorded (for a
 * key marked walk_denied, that of the directory, as a stat).
 * Signal-safe, errno untouched. */
SHIM_HIDDEN uint64_t shim_sandbox_gate(const struct shim_key *k,
				       uint32_t ops);
/* shim_sandbox_gate for a path the shim holds (readable, NUL-terminated):
 * exec's PATH candidates.  Its key is made in a frame of its own. */
SHIM_HIDDEN uint64_t shim_sandbox_gate_path(const char *path, uint32_t ops);

/* shim_sandbox_gate for a key the shim made in a buffer of its own (len
 * bytes, or CACHE_KEY_TOOLONG): posix_spawnp's PATH candidates. */
SHIM_HIDDEN uint64_t shim_sandbox_gate_bytes(const char *key, size_t len,
					     uint32_t ops);

/* The directories path (relative to buf[0..base), as for cache_key_join)
 * walks through and leaves by `..`, decided (cache_sandbox_walk): 0 when
 * none is denied or nothing is to be decided (no sandbox), else the length
 * of the first denied one's key, written to buf.  For the key makers
 * (shim.c), which mark such a key walk_denied for shim_sandbox_gate; a
 * server failure the walk meets is said by the thread's next gate.
 * Signal-safe, errno untouched. */
SHIM_HIDDEN size_t shim_sandbox_walk(char *buf, size_t cap, size_t base,
				     const char *path);

/* Whether the policy denies path (a caller's string, copied without
 * faulting; a name that cannot be read is not denied: the call reports
 * it), the violation recorded as by shim_sandbox_gate.  For realpath. */
SHIM_HIDDEN int shim_sandbox_denies(const char *path);

/* Whether readdir must skip the entry name of the directory d (a denied
 * path).  "." and ".." are never hidden.  Signal-safe, errno untouched. */
SHIM_HIDDEN int shim_sandbox_hides(DIR *d, const char *name);

/* Whether the entry whose path is key (len bytes, a key) is hidden from
 * a listing: shim_sandbox_hides for a path already made (sblist.c).
 * Signal-safe, errno untouched. */
SHIM_HIDDEN int shim_sandbox_hides_key(const char *key, size_t len);

/* The result of a call that was not made: it fails as for a path that does
 * not exist. */
#define SHIM_DENIED_RI (errno = ENOENT, -1)
#define SHIM_DENIED_RP (errno = ENOENT, NULL)
#define SHIM_DENIED_RN ENOENT

#endif /* SHMCACHE_SANDBOX_H */
