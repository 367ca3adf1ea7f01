/*
 * audit.c - libshmcache-audit.so, the rtld-audit module of
 * `shmcache run --audit-loader` (LD_AUDIT): records the dynamic loader's
 * search for shared objects, which the shim cannot see.  The loader names
 * each place it is about to try (la_objsearch); the one it opens comes back
 * in la_objopen.  The others of the same search were tried in vain, and are
 * recorded with a failed load and missing when the search ends: at the object's
 * open, at the start of the next search, or when the loader's list is
 * consistent again (la_activity), which also ends a search that failed.
 * The object opened is recorded by the shim itself (load, exists).
 *
 * It runs in the loader's auditing namespace, with a libc of its own,
 * before any program code: it attaches the cache (SHMCACHE_FILE) itself, on
 * its first search.  Loader callbacks are serialised by the loader's lock.
 */
#define _GNU_SOURCE 1
#include <fcntl.h>
#include <link.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ctrie_cache.h"
#include "ctrie_cache.h"

#define AUDIT_EXPORT __attribute__((visibility("default")))
#define AUDIT_KEY_CAP 1100
#define AUDIT_PENDING 64

static struct cache audit_cache;
static int audit_state; /* 0: not tried, 1: attached, -1: off */
static char audit_probe[AUDIT_PENDING][AUDIT_KEY_CAP];
static size_t audit_probe_len[AUDIT_PENDING];
static size_t audit_nprobes;

static void audit_say(const char *msg)
{
	if (write(2, msg, strlen(msg)) < 0)
		return; /* nothing better to do with a failed diagnostic */
}

static int audit_attach(void)
{
	const char *file;

	if (audit_state == 0) {
		file = getenv("SHMCACHE_FILE");
		audit_state = -1;
		if (file != NULL && file[0] == '/' &&
		    cache_attach(&audit_cache, file, CACHE_ATTACH_CREATE) ==
			    CACHE_OK)
			audit_state = 1;
		else if (getenv("SHMCACHE_DEBUG") != NULL)
			audit_say("shmcache: audit: cannot use the cache, the "
				  "loader's search is not recorded\n");
	}
	return audit_state == 1;
}

/* The key of name, made as the shim makes keys; 0 when there is none. */
static size_t audit_key(char *out, const char *name)
{
	size_t base = 0;

	if (name[0] != '/') {
		long n = syscall(SYS_getcwd, out, AUDIT_KEY_CAP);
		if (n <= 1 || out[0] != '/')
			return 0;
		base = strlen(out);
		if (base == 1)
			base = 0;
	}
	base = cache_key_join(out, AUDIT_KEY_CAP, base, name);
	return base == CACHE_KEY_TOOLONG ? 0 : base;
}

/* The search is over: every place still pending was tried in vain. */
static void audit_flush(void)
{
	for (size_t i = 0; i < audit_nprobes; i++)
		cache_record(&audit_cache, audit_probe[i], audit_probe_len[i],
			     cache_ops_call(CACHE_OP_LOAD, true,
					    CACHE_OP_MISSING));
	audit_nprobes = 0;
}

AUDIT_EXPORT unsigned int la_version(unsigned int version)
{
	(void)version;
	return LAV_CURRENT;
}

AUDIT_EXPORT char *la_objsearch(const char *name, uintptr_t *cookie,
				unsigned int flag)
{
	(void)cookie;
	if (!audit_attach())
		return (char *)name;
	if (flag == LA_SER_ORIG)
		audit_flush(); /* a new search */
	if (strchr(name, '/') != NULL && audit_nprobes < AUDIT_PENDING) {
		size_t n = audit_key(audit_probe[audit_nprobes], name);
		if (n != 0)
			audit_probe_len[audit_nprobes++] = n;
	}
	return (char *)name;
}

AUDIT_EXPORT unsigned int la_objopen(struct link_map *map, Lmid_t lmid,
				     uintptr_t *cookie)
{
	char key[AUDIT_KEY_CAP];
	size_t n;

	(void)lmid;
	(void)cookie;
	if (audit_state != 1 || map->l_name == NULL || map->l_name[0] == '\0')
		return 0;
	n = audit_key(key, map->l_name);
	for (size_t i = 0; i < audit_nprobes; i++) {
		if (audit_probe_len[i] == n &&
		    memcmp(audit_probe[i], key, n) == 0) {
			audit_probe_len[i] = audit_probe_len[--audit_nprobes];
			memcpy(audit_probe[i], audit_probe[audit_nprobes],
			       audit_probe_len[i]);
			break;
		}
	}
	audit_flush();
	return 0;
}

AUDIT_EXPORT void la_activity(uintptr_t *cookie, unsigned int flag)
{
	(void)cookie;
	if (flag == LA_ACT_CONSISTENT && audit_state == 1)
		audit_flush();
}
