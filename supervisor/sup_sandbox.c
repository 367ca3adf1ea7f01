/*
 * sup_sandbox.c - sandbox mode in the supervisor: the policy of the cache
 * file applied to the calls of the programs it traces, with the shim's
 * decisions (cache_sandbox_decide: the decision stored in the path's entry,
 * else the rules, else the decision server, asked at most once per path per
 * job), so that a static program sees what a dynamic one sees.
 *
 * A call whose path (either path of rename and link; symlink's new name) is
 * denied is not made: the supervisor answers it with ENOENT and records a
 * violation, as the shim does.  An allowed call carries the decision bits
 * into its records.  Directory listings (getdents64) skip denied entries
 * (sup_getdents.c), with the decisions of the shim's readdir.
 */
#define _GNU_SOURCE 1

#include "supervise.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct cache_sandbox sup_sb; /* large: static */
static bool sup_sb_on;

bool sup_sandbox_start(struct cache *c)
{
	int r;

	if (c == NULL)
		return false;
	r = cache_sandbox_init(&sup_sb, c);
	if (r != 1 && r != 0)
		fprintf(stderr, "shmcache: sandbox: the cache's policy is "
				"damaged: not enforced\n");
	sup_sb_on = r == 1;
	return sup_sb_on;
}

pid_t sup_task_tgid(pid_t tid)
{
	char name[48], buf[512];
	int fd;
	ssize_t n;
	char *t;

	snprintf(name, sizeof name, "/proc/%d/status", (int)tid);
	fd = open(name, O_RDONLY | O_CLOEXEC);
	n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	t = strstr(buf, "\nTgid:");
	return t != NULL ? (pid_t)strtol(t + 6, NULL, 10) : -1;
}

/* A path's links through /proc/self are the task's, not ours: its thread
 * group is looked up once per path decided. */
static void sup_sb_for(pid_t tid)
{
	sup_sb.self_tid = tid;
	sup_sb.self_pid = tid > 0 ? sup_task_tgid(tid) : 0;
	if (sup_sb.self_pid <= 0)
		sup_sb.self_pid = tid;
}

static void sup_sb_say(const char *failure)
{
	if (failure != NULL)
		fprintf(stderr, "shmcache: sandbox: decision server %s%s\n",
			sup_sb.policy.server[0] ? sup_sb.policy.server
						: "(none)",
			failure);
}

/* The decision bits of key for the task tid (0: nothing to decide). */
static uint64_t sup_sb_decide(pid_t tid, const char *key, size_t len)
{
	const char *failure = NULL;
	uint64_t bits;

	if (len == 0 || len == CACHE_KEY_TOOLONG || key[0] != '/')
		return 0;
	bits = cache_sandbox_stored(&sup_sb, key, len);
	if (bits & CACHE_DECIDED)
		return bits;
	sup_sb_for(tid);
	bits = cache_sandbox_decide(&sup_sb, key, len, &failure);
	sup_sb_say(failure);
	return bits;
}

bool sup_sandbox_walk_denied(struct cache *c, struct cache_hint *h,
			     pid_t tid, char *base, size_t cap,
			     size_t baselen, const char *raw)
{
	const char *failure = NULL;
	size_t n;

	if (!sup_sb_on || strstr(raw, "..") == NULL)
		return false;
	sup_sb_for(tid);
	n = cache_sandbox_walk(&sup_sb, base, cap, baselen, raw, &failure);
	sup_sb_say(failure);
	if (n == 0)
		return false;
	cache_policy_count(c, CACHE_PC_DENIED_CALLS);
	cache_record_hinted(c, base, n, cache_sandbox_violation(CACHE_OP_STAT),
			    h);
	return true;
}

uint64_t sup_sandbox_gate(struct cache *c, struct cache_hint *h, pid_t tid,
			  const char *key, size_t len, uint32_t ops)
{
	uint64_t bits;

	if (!sup_sb_on)
		return 0;
	bits = sup_sb_decide(tid, key, len);
	if (!(bits & CACHE_DECIDED_DENY))
		return bits;
	cache_policy_count(c, CACHE_PC_DENIED_CALLS);
	cache_record_hinted(c, key, len, cache_sandbox_violation(ops), h);
	return SUP_SB_DENY;
}

bool sup_sandbox_hides(struct cache *c, struct cache_hint *h, pid_t tid,
		       const char *key, size_t len)
{
	const char *failure = NULL;
	uint64_t record;
	bool hidden;

	if (!sup_sb_on)
		return false;
	sup_sb.self_tid = tid;
	sup_sb.self_pid = tid;
	if (!(cache_sandbox_stored(&sup_sb, key, len) & CACHE_DECIDED) &&
	    (sup_sb.self_pid = sup_task_tgid(tid)) <= 0)
		sup_sb.self_pid = tid;
	hidden = cache_sandbox_listed(&sup_sb, key, len, &record, &failure);
	if (failure != NULL)
		fprintf(stderr, "shmcache: sandbox: decision server %s%s\n",
			sup_sb.policy.server, failure);
	if (record != 0)
		cache_record_hinted(c, key, len, record, h);
	return hidden;
}

bool sup_sandbox_in_file(const char *file)
{
	struct cache c;
	uint64_t counters[CACHE_PC_COUNT];
	bool on;

	if (file == NULL || file[0] == '\0' ||
	    cache_attach(&c, file, CACHE_ATTACH_RDONLY) != CACHE_OK)
		return false;
	on = cache_policy_counters(&c, counters) == 1;
	cache_detach(&c);
	return on;
}
