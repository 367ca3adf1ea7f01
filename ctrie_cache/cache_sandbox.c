/*
 * cache_sandbox.c - sandbox mode's decision of a path, once for the whole
 * job: shared by the shim (preload/sandbox.c), the seccomp supervisor
 * (supervisor/sup_sandbox.c) and `shmcache run` (CMD's own exec).
 *
 *   1. the path's entry: a decision (CACHE_DECIDED_*) stored there by any
 *      process of the job is the answer (one lookup, no system call);
 *   2. else the rules (cache_policy_decide); a path in an `ask` prefix goes
 *      to the decision server (below);
 *   3. the caller puts the decision into the call's own record (the same
 *      fetch_or as its operation bits), so the next call anywhere finds it
 *      in step 1.
 *
 * Two processes meeting a new path at once decide it together: the first
 * to ask claims the question, the others wait for its answer (below).  A
 * process that asked and then finds the path decided counts a double ask.
 *
 * THE DECISION SERVER listens on a Unix stream socket.  A process connects
 * on its first question and keeps the connection; for each question it
 * writes the key and a newline and reads one line back: "allow", "deny" or
 * "unknown".  Anything else, a refused connection, a closed one or no
 * answer within the policy's timeout makes the answer unknown: the path is
 * allowed and reported (`shmcache violations`), and the first process of
 * the job to meet a server failure is told so (*failure) to say it.  A key
 * holding a newline is not sent (unknown).  The connection is this
 * process's and close-on-exec: a forked child (its pid differs) closes its
 * copy and opens its own; a vfork child, which runs in its parent's memory,
 * asks on a connection of its own for each question and never touches the
 * parent's (owner); a descriptor number the program closed or reused (its
 * identity differs) is not written to; a thread or signal handler that finds the connection in use
 * by another question opens one for its own question and closes it after.
 *
 * Everything here is async-signal-safe: socket, connect, poll, send, recv,
 * close, readlink, getpid, kill, nanosleep, clock_gettime and a raw
 * syscall (pidfd_open) are; nothing allocates, locks or calls through a
 * pointer.
 */
#define _GNU_SOURCE 1 /* SYS_readlinkat */

#include "ctrie_cache.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/syscall.h>
#endif

#define SB_TIMEOUT_DEFAULT_MS 5000

static const char sb_garbage[] =
	": an answer that is not allow, deny or unknown; such paths are "
	"allowed and reported (shmcache violations)";
static const char sb_refused[] =
	": cannot connect; paths to ask about are allowed and reported "
	"(shmcache violations)";
static const char sb_late[] =
	": no answer in time; paths to ask about are allowed and reported "
	"(shmcache violations)";

int cache_sandbox_init(struct cache_sandbox *s, struct cache *c)
{
	/* the policy first: without one, s is left untouched (a process
	 * without a sandbox writes none of its pages) */
	int r = cache_policy_load(c, &s->policy);

	if (r != 1)
		return r;
	memset(s, 0, offsetof(struct cache_sandbox, policy));
	s->c = c;
	s->fd = -1;
	s->owner = (long)getpid();
	s->restricts = s->policy.dflt != CACHE_VERDICT_ALLOW;
	for (uint32_t i = 0; i < s->policy.nrules; i++)
		s->restricts |= s->policy.rule[i].verdict != CACHE_VERDICT_ALLOW;
	return 1;
}

/* ---- the decision server ------------------------------------------------ */

static long sb_now_ms(void)
{
	struct timespec t;

	if (clock_gettime(CLOCK_MONOTONIC, &t) != 0)
		return 0;
	return (long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static unsigned sb_timeout(const struct cache_sandbox *s)
{
	return s->policy.timeout_ms ? s->policy.timeout_ms
				    : SB_TIMEOUT_DEFAULT_MS;
}

static int sb_connect(const struct cache_sandbox *s)
{
	struct sockaddr_un a;
	size_t n = strnlen(s->policy.server, sizeof s->policy.server);
	int fd;

	if (n == 0 || n >= sizeof a.sun_path)
		return -1;
	memset(&a, 0, sizeof a);
	a.sun_family = AF_UNIX;
	memcpy(a.sun_path, s->policy.server, n);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Whether fd's identity is the kept connection's. */
static int sb_same_file(const struct cache_sandbox *s, int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode) &&
	       (uint64_t)st.st_dev == s->dev && (uint64_t)st.st_ino == s->ino;
}

/* Whether fd is still the connection this process opened. */
static int sb_is_ours(const struct cache_sandbox *s, int fd)
{
	return fd >= 0 && s->pid == (long)getpid() && sb_same_file(s, fd);
}

/* Waits for ev on fd until deadline; 1 ready, 0 not. */
static int sb_wait(int fd, short ev, long deadline)
{
	for (;;) {
		struct pollfd p = { fd, ev, 0 };
		long left = deadline - sb_now_ms();
		int r;

		if (left <= 0)
			return 0;
		r = poll(&p, 1, (int)(left > 60000 ? 60000 : left));
		if (r > 0)
			return (p.revents & (ev | POLLHUP | POLLERR)) != 0;
		if (r < 0 && errno != EINTR)
			return 0;
	}
}

enum sb_answer { SB_ALLOW, SB_DENY, SB_UNKNOWN, SB_GARBAGE, SB_FAILED };

/* What the line ans[0..n) says. */
static enum sb_answer sb_parse(const char *ans, size_t n, size_t cap)
{
	if (n == cap || ans[n - 1] != '\n')
		return SB_GARBAGE; /* no line, or more than one answer */
	if (n == 6 && memcmp(ans, "allow\n", 6) == 0)
		return SB_ALLOW;
	if (n == 5 && memcmp(ans, "deny\n", 5) == 0)
		return SB_DENY;
	if (n == 8 && memcmp(ans, "unknown\n", 8) == 0)
		return SB_UNKNOWN;
	return SB_GARBAGE;
}

/* One question on fd: key, newline; one line back. */
static enum sb_answer sb_exchange(const struct cache_sandbox *s, int fd,
				  const char *key, size_t len)
{
	long deadline = sb_now_ms() + (long)sb_timeout(s);
	struct iovec iov[2] = { { (void *)(uintptr_t)key, len },
				{ (void *)(uintptr_t)"\n", 1 } };
	struct msghdr m;
	char ans[16];
	size_t n = 0;
	ssize_t r;

	memset(&m, 0, sizeof m);
	m.msg_iov = iov;
	m.msg_iovlen = 2;
	/* One message: a key is far smaller than a socket's buffer; a
	 * partial send leaves the stream unusable and counts as a failure. */
	if (!sb_wait(fd, POLLOUT, deadline))
		return SB_FAILED;
	do
		r = sendmsg(fd, &m, MSG_NOSIGNAL | MSG_DONTWAIT);
	while (r < 0 && errno == EINTR);
	if (r != (ssize_t)(len + 1))
		return SB_FAILED;
	while (n < sizeof ans) {
		if (!sb_wait(fd, POLLIN, deadline))
			return SB_FAILED;
		r = recv(fd, ans + n, sizeof ans - n, MSG_DONTWAIT);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r <= 0)
			return SB_FAILED;
		n += (size_t)r;
		if (memchr(ans, '\n', n) != NULL)
			break;
	}
	return sb_parse(ans, n, sizeof ans);
}

/* A fresh kept connection for this process, or -1. */
static int sb_reconnect(struct cache_sandbox *s)
{
	struct stat st;

	/* A child's inherited copy is closed; a number the program reused
	 * is left alone. */
	if (s->fd >= 0 && s->pid != (long)getpid() && sb_same_file(s, s->fd))
		close(s->fd);
	s->fd = sb_connect(s);
	if (s->fd >= 0 && fstat(s->fd, &st) == 0) {
		s->pid = (long)getpid();
		s->dev = (uint64_t)st.st_dev;
		s->ino = (uint64_t)st.st_ino;
	} else if (s->fd >= 0) {
		close(s->fd);
		s->fd = -1;
	}
	return s->fd;
}

/* The kept connection, claimed, or -1 (*kept says whether it is). */
static int sb_take(struct cache_sandbox *s, int *kept)
{
	if (s->owner != (long)getpid()) {
		*kept = 0;
		return sb_connect(s);
	}
	/* acquire: the fields of the connection released by the last
	 * user are seen; a claim held means another question is in flight
	 * (a thread, or the question a signal handler interrupted). */
	*kept = !atomic_exchange_explicit(&s->claim, 1, memory_order_acquire);
	if (!*kept)
		return sb_connect(s);
	return sb_is_ours(s, s->fd) ? s->fd : sb_reconnect(s);
}

void cache_sandbox_forked(struct cache_sandbox *s)
{
	s->owner = (long)getpid();
	/* relaxed: the child has one thread; a claim held by another
	 * thread of the parent at the fork has no holder here */
	atomic_store_explicit(&s->claim, 0, memory_order_relaxed);
}

static void sb_give(struct cache_sandbox *s, int fd, int kept, int broken)
{
	if (!kept) {
		if (fd >= 0)
			close(fd);
		return;
	}
	if (broken && fd >= 0) {
		/* a late answer must not be taken for the next question's */
		close(fd);
		s->fd = -1;
	}
	/* release: the connection's fields are complete for the next user */
	atomic_store_explicit(&s->claim, 0, memory_order_release);
}

/* The first server failure of the job is told, once for all processes. */
static void sb_server_failed(struct cache_sandbox *s, const char *why,
			     const char **failure)
{
	if (cache_policy_count(s->c, CACHE_PC_SERVER_ERRORS) == 0 &&
	    failure != NULL)
		*failure = why;
}

static enum cache_verdict sb_ask(struct cache_sandbox *s, const char *key,
				 size_t len, const char **failure)
{
	enum sb_answer a = SB_FAILED;
	int kept, fd;

	if (memchr(key, '\n', len) != NULL) {
		cache_policy_count(s->c, CACHE_PC_UNKNOWN);
		return CACHE_VERDICT_UNKNOWN;
	}
	fd = sb_take(s, &kept);
	cache_policy_count(s->c, CACHE_PC_ASKS);
	if (fd >= 0)
		a = sb_exchange(s, fd, key, len);
	sb_give(s, fd, kept, a == SB_FAILED || a == SB_GARBAGE);
	switch (a) {
	case SB_ALLOW:
		return CACHE_VERDICT_ALLOW;
	case SB_DENY:
		return CACHE_VERDICT_DENY;
	case SB_GARBAGE:
		sb_server_failed(s, sb_garbage, failure);
		break;
	case SB_FAILED:
		sb_server_failed(s, fd < 0 ? sb_refused : sb_late, failure);
		break;
	default:
		break;
	}
	cache_policy_count(s->c, CACHE_PC_UNKNOWN);
	return CACHE_VERDICT_UNKNOWN;
}

/* ---- one question per path for the whole job ----------------------------
 * Between a process's question and the record of its decision in the
 * path's entry lies a round trip; another process meeting the path then
 * (parallel compilers read the same headers in step) would ask again.  The
 * shared answer slots (cache_policy_answer_slot) close that window: the
 * first asker claims the path's slot (a CAS) with the state "being asked"
 * and its pid; the others poll the slot (loads and a nap: no lock) for the
 * answer it publishes there, and ask themselves only when the claimer is
 * gone (it exited or was killed: its pidfd, or kill(pid, 0), says so) or
 * the server's timeout has passed (a stopped claimer).  A key's slot is
 * one of the CACHE_POLICY_ANSWER_WAYS of its bucket: the one holding its
 * tag, else an empty one or one holding another key's answer (taken
 * over); when each holds another key's open question, this question is
 * asked unclaimed.  A signal handler never waits for a question of its own
 * thread (sb_asking).
 *
 * A slot's word: bits 0-1 the state (SB_PENDING, or the answer:
 * SB_PUB_ALLOW, SB_PUB_DENY, SB_PUB_UNKNOWN), bits 2-23 the claimer's pid (0: a pid that does
 * not fit, whose liveness is not checked), bits 24-63 the key's tag: the
 * top 40 bits of its FNV-1a hash, never 0 (an empty slot matches no key);
 * the slot's index comes from the hash's low bits. */
#define SB_STATE UINT64_C(3)
#define SB_PENDING UINT64_C(0)
#define SB_PUB_ALLOW UINT64_C(1)
#define SB_PUB_DENY UINT64_C(2)
#define SB_PUB_UNKNOWN UINT64_C(3)
#define SB_PID_SHIFT 2
#define SB_PID_BITS 22
#define SB_TAG_SHIFT (SB_PID_SHIFT + SB_PID_BITS)
#define SB_TAG_MASK (~UINT64_C(0) << SB_TAG_SHIFT)
/* the first naps of a wait are short (an answer takes some 100 us), later
 * ones longer; a nap is also when the claimer's death is seen */
#define SB_NAP_MIN_US 20
#define SB_NAP_MAX_US 2000

static _Thread_local uint64_t sb_asking
	__attribute__((tls_model("initial-exec")));

/* FNV-1a of the key, never 0. */
static uint64_t sb_hash(const char *key, size_t len)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325);

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)key[i]) * UINT64_C(0x100000001b3);
	return h != 0 ? h : 1;
}

/* The tag of a key's hash in a slot's word. */
static uint64_t sb_tag(uint64_t hash)
{
	uint64_t t = hash & SB_TAG_MASK;

	return t != 0 ? t : UINT64_C(1) << SB_TAG_SHIFT;
}

/* The claim of tag by this process. */
static uint64_t sb_claim_word(uint64_t tag)
{
	long pid = (long)getpid();

	if (pid <= 0 || pid >= (1L << SB_PID_BITS))
		pid = 0;
	return tag | (uint64_t)pid << SB_PID_SHIFT | SB_PENDING;
}

/* Whether the claimer pid has exited (killed, or done without
 * publishing); pidfd, when >= 0, is its pidfd.  A zombie counts as gone:
 * its pidfd is readable. */
static int sb_gone(long pid, int pidfd)
{
	struct pollfd p = { pidfd, POLLIN, 0 };

	if (pid <= 0)
		return 0;
	if (pidfd >= 0)
		return poll(&p, 1, 0) > 0;
	return kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}

/* A pidfd of pid, or -1 (none: no such process, or no pidfd_open). */
static int sb_pidfd(long pid)
{
#if defined(__linux__) && defined(SYS_pidfd_open)
	if (pid > 0)
		return (int)syscall(SYS_pidfd_open, (pid_t)pid, 0);
#else
	(void)pid;
#endif
	errno = ENOSYS; /* not ESRCH: the caller polls kill(pid, 0) */
	return -1;
}

/* The slot's word once it no longer holds the claim `claim`, or that
 * claim when its claimer is gone or the deadline has passed.  Out of
 * line: its frame is not on the path that asks the server. */
static __attribute__((noinline)) uint64_t sb_await(const struct cache_sandbox *s,
			 _Atomic uint64_t *slot, uint64_t claim)
{
	long deadline = sb_now_ms() + (long)sb_timeout(s) + 100;
	long pid = (long)((claim >> SB_PID_SHIFT) &
			  ((UINT64_C(1) << SB_PID_BITS) - 1));
	int pidfd = sb_pidfd(pid);
	long nap = SB_NAP_MIN_US;
	uint64_t v;

	if (pidfd < 0 && pid > 0 && errno == ESRCH)
		return claim; /* gone already */
	for (;;) {
		struct timespec t = { 0, nap * 1000 };

		/* acquire: the answer published with release is the datum */
		v = atomic_load_explicit(slot, memory_order_acquire);
		if (v != claim || sb_gone(pid, pidfd) ||
		    sb_now_ms() >= deadline)
			break;
		nanosleep(&t, NULL);
		if (nap < SB_NAP_MAX_US)
			nap *= 2;
	}
	if (pidfd >= 0)
		close(pidfd);
	return v;
}

/* The answer v holds for tag, or CACHE_VERDICT_NONE. */
static enum cache_verdict sb_published(uint64_t v, uint64_t tag)
{
	if ((v & SB_TAG_MASK) != tag)
		return CACHE_VERDICT_NONE;
	switch (v & SB_STATE) {
	case SB_PUB_ALLOW:
		return CACHE_VERDICT_ALLOW;
	case SB_PUB_DENY:
		return CACHE_VERDICT_DENY;
	case SB_PUB_UNKNOWN:
		return CACHE_VERDICT_UNKNOWN;
	default:
		return CACHE_VERDICT_NONE;
	}
}

/* The slot word publishing r for tag. */
static uint64_t sb_publish_word(uint64_t tag, enum cache_verdict r)
{
	return tag | (r == CACHE_VERDICT_ALLOW  ? SB_PUB_ALLOW
		      : r == CACHE_VERDICT_DENY ? SB_PUB_DENY
						: SB_PUB_UNKNOWN);
}

/* Whether v is a claim (of any key) whose claimer may still answer. */
static int sb_claimed(uint64_t v)
{
	return v != 0 && (v & SB_STATE) == SB_PENDING;
}

/* The slot of the bucket b (CACHE_POLICY_ANSWER_WAYS slots) that holds
 * tag, else the one to claim for it (empty, or another key's answer), else
 * NULL (every slot another key's open question); *v gets its word. */
static _Atomic uint64_t *sb_pick(_Atomic uint64_t *b, uint64_t tag,
				 uint64_t *v)
{
	_Atomic uint64_t *free_slot = NULL;
	uint64_t free_word = 0;

	for (int i = 0; i < CACHE_POLICY_ANSWER_WAYS; i++) {
		/* acquire: a published answer is read after its release */
		uint64_t w = atomic_load_explicit(&b[i], memory_order_acquire);

		if (w != 0 && (w & SB_TAG_MASK) == tag) {
			*v = w;
			return &b[i];
		}
		/* an empty slot before one holding an answer */
		if (!sb_claimed(w) &&
		    (free_slot == NULL || (free_word != 0 && w == 0))) {
			free_slot = &b[i];
			free_word = w;
		}
	}
	*v = free_word;
	return free_slot;
}

/* The server's verdict on key, from the shared slots when another process
 * has asked; *asked says whether this call made the round trip. */
static enum cache_verdict sb_ask_shared(struct cache_sandbox *s,
					const char *key, size_t len,
					int *asked, const char **failure)
{
	uint64_t hash = sb_hash(key, len), tag = sb_tag(hash), v, claim,
		 saved;
	_Atomic uint64_t *bucket = NULL, *slot = NULL;
	enum cache_verdict r;

	*asked = 1;
	if (!(s->policy.flags & CACHE_POLICY_NO_DECISION_CACHE))
		bucket = cache_policy_answer_slot(s->c, hash);
	if (bucket == NULL)
		return sb_ask(s, key, len, failure);
	claim = sb_claim_word(tag);
	/* a few rounds: each ends in an answer, a claim, or a word another
	 * process changed meanwhile; past them the question is asked
	 * unclaimed */
	for (int round = 0; round < 4; round++) {
		slot = sb_pick(bucket, tag, &v);
		if (slot == NULL)
			break; /* other keys' questions fill the bucket */
		if ((v & SB_TAG_MASK) == tag && sb_claimed(v) &&
		    tag != sb_asking) {
			uint64_t seen = v;

			v = sb_await(s, slot, seen);
			/* another live claim took the slot over (its claimer
			 * gone, a waiter took it): wait on that one */
			if (v != seen && sb_claimed(v))
				continue;
		}
		r = sb_published(v, tag);
		if (r != CACHE_VERDICT_NONE) {
			*asked = 0;
			return r;
		}
		/* Empty, another key's answer, or this key's claim whose
		 * claimer is gone or late: claim it.  acq_rel: the claim
		 * orders nothing before it; the word seen on failure is
		 * looked at again (acquire). */
		if (atomic_compare_exchange_strong_explicit(
			    slot, &v, claim, memory_order_acq_rel,
			    memory_order_acquire))
			break;
		slot = NULL;
	}
	saved = sb_asking;
	sb_asking = tag;
	r = sb_ask(s, key, len, failure);
	sb_asking = saved;
	/* release: the answer is published whole, only over this claim (a
	 * slot another process has taken over since keeps its word) */
	if (slot != NULL)
		atomic_compare_exchange_strong_explicit(
			slot, &claim, sb_publish_word(tag, r),
			memory_order_release, memory_order_relaxed);
	return r;
}

/* ---- deciding ---------------------------------------------------------- */

static uint64_t sb_bits(enum cache_verdict v)
{
	switch (v) {
	case CACHE_VERDICT_DENY:
		return CACHE_DECIDED_DENY;
	case CACHE_VERDICT_UNKNOWN:
		return CACHE_DECIDED_ALLOW | CACHE_DECIDED_UNKNOWN;
	default:
		return CACHE_DECIDED_ALLOW;
	}
}

uint64_t cache_sandbox_stored(struct cache_sandbox *s, const char *key,
			      size_t len)
{
	struct cache_entry e;

	if (s->policy.flags & CACHE_POLICY_NO_DECISION_CACHE)
		return 0;
	if (cache_lookup(s->c, key, len, &e) != 1)
		return 0;
	return e.ops & (CACHE_DECIDED | CACHE_DECIDED_UNKNOWN);
}

/* The verdict of key by the rules and the server, ignoring its links. */
static enum cache_verdict sb_verdict(struct cache_sandbox *s, const char *key,
				     size_t len, const char **failure)
{
	enum cache_verdict v = cache_policy_decide(&s->policy, key, len);
	int asked;

	if (v != CACHE_VERDICT_ASK)
		return v;
	v = sb_ask_shared(s, key, len, &asked, failure);
	/* Another process decided the path while this one asked. */
	if (asked && (cache_sandbox_stored(s, key, len) & CACHE_DECIDED))
		cache_policy_count(s->c, CACHE_PC_DOUBLE_ASKS);
	return v;
}

/* ---- symbolic links ------------------------------------------------------
 * A link in an allowed tree may point into a denied one: a path is allowed
 * only if what it resolves to (every component's link followed, the last
 * one's too, as open and stat follow it) is allowed as well.  The
 * resolution makes one readlink per component (and per link met), once per
 * path and job, as the decision is then stored; these are the only file
 * operations sandbox mode makes of its own.  So the decision holds for
 * every operation on the path: a link that points into a denied tree is
 * itself hidden, also from lstat and readlink.  readlink is the system
 * call on Linux (never a hook of the shim's); /proc/self and
 * /proc/thread-self are the process decided for (cache_sandbox's
 * self_pid), which for a supervisor is not itself.
 *
 * The two path buffers a resolution needs are too large for the stack of a
 * signal handler and for static TLS: they come from a small static pool,
 * each pair claimed with an atomic bit.  When every pair is in use (more
 * threads resolving at once than the pool holds), the path is decided by
 * its own name for this call only, and nothing is stored, so that the next
 * call resolves it. */
#define SB_MAX_LINKS 40
#define SB_SLOTS 8
#define SB_PATH_CAP (CACHE_KEY_MAX + 32u)
struct sb_bufs {
	char path[SB_PATH_CAP];
	char link[SB_PATH_CAP];
};
static struct sb_bufs sb_pool[SB_SLOTS];
static _Atomic unsigned sb_pool_used;

static struct sb_bufs *sb_claim_bufs(void)
{
	int i = cache_slot_claim(&sb_pool_used, SB_SLOTS);

	return i < 0 ? NULL : &sb_pool[i];
}

static void sb_release_bufs(struct sb_bufs *b)
{
	cache_slot_release(&sb_pool_used, (int)(b - sb_pool));
}

static ssize_t sb_readlink(const char *path, char *buf, size_t cap)
{
#if defined(__linux__) && defined(SYS_readlinkat)
	return (ssize_t)syscall(SYS_readlinkat, AT_FDCWD, path, buf, cap);
#else
	return readlink(path, buf, cap);
#endif
}

/* readlink of path, where /proc/self and /proc/thread-self name the
 * process s decides for (s->self_pid, s->self_tid), when that is not this
 * one: a supervisor deciding for the process it traces. */
static ssize_t sb_readlink_for(const struct cache_sandbox *s,
			       const char *path, char *buf, size_t cap)
{
	static const char self[] = "/proc/self", thread[] = "/proc/thread-self";
	char num[64];
	size_t n = 0;
	unsigned long v[3];
	int parts = 0;

	if (s->self_pid <= 0)
		return sb_readlink(path, buf, cap);
	if (strcmp(path, self) == 0) {
		v[parts++] = (unsigned long)s->self_pid;
	} else if (strcmp(path, thread) == 0) {
		v[parts++] = (unsigned long)s->self_pid;
		v[parts++] = (unsigned long)s->self_tid;
	} else {
		return sb_readlink(path, buf, cap);
	}
	/* "<pid>" or "<pid>/task/<tid>", as the kernel's links read */
	for (int i = 0; i < parts; i++) {
		char d[24];
		int k = 0;

		if (i == 1) {
			memcpy(num + n, "/task/", 6);
			n += 6;
		}
		do
			d[k++] = (char)('0' + v[i] % 10);
		while ((v[i] /= 10) != 0);
		while (k > 0)
			num[n++] = d[--k];
	}
	if (n > cap)
		n = cap;
	memcpy(buf, num, n);
	return (ssize_t)n;
}

/* The link of path[0..n) at the component [i, end), put in front of the
 * rest of the path, folded into path.  Returns the new length, or 0. */
static size_t sb_follow(struct sb_bufs *B, size_t n, size_t i, size_t end,
			size_t tlen)
{
	size_t rest = n - end;

	if (tlen + rest >= sizeof B->link)
		return 0;
	memcpy(B->link + tlen, B->path + end, rest);
	B->link[tlen + rest] = '\0';
	/* a relative target is taken from the link's directory */
	n = cache_key_join(B->path, sizeof B->path - 1,
			   B->link[0] == '/' ? 0 : i - 1, B->link);
	return n == CACHE_KEY_TOOLONG ? 0 : n;
}

/* Resolves the links of key into B->path; returns its length, or 0 when it
 * cannot be done (too long, too many links).  A component that does not
 * exist ends the resolution: what follows names nothing. */
static size_t sb_resolve(const struct cache_sandbox *s, struct sb_bufs *B,
			 const char *key, size_t len)
{
	size_t n = len, i = 1, links = 0;

	if (len >= sizeof B->path)
		return 0;
	memcpy(B->path, key, len);
	B->path[n] = '\0';
	while (i < n) {
		size_t end = i;
		ssize_t r;

		while (end < n && B->path[end] != '/')
			end++;
		B->path[end] = '\0';
		r = sb_readlink_for(s, B->path, B->link, sizeof B->link - 1);
		B->path[end] = end < n ? '/' : '\0';
		if (r < 0 && errno == EINVAL) {
			i = end + 1; /* not a link */
			continue;
		}
		if (r < 0)
			return n;
		if ((size_t)r >= sizeof B->link - 1 || ++links > SB_MAX_LINKS ||
		    (n = sb_follow(B, n, i, end, (size_t)r)) == 0)
			return 0;
		B->path[n] = '\0';
		i = 1;
	}
	return n;
}

/* Whether key's links lead where the policy denies: 1, 0, or -1 when no
 * buffers were free. */
static int sb_link_denied(struct cache_sandbox *s, const char *key,
			  size_t len, const char **failure)
{
	struct sb_bufs *B;
	size_t n;
	int denied = 0;

	if (!s->restricts)
		return 0;
	B = sb_claim_bufs();
	if (B == NULL)
		return -1;
	n = sb_resolve(s, B, key, len);
	if (n != 0 && (n != len || memcmp(B->path, key, len) != 0)) {
		uint64_t stored = cache_sandbox_stored(s, B->path, n);
		denied = stored & CACHE_DECIDED
				 ? (stored & CACHE_DECIDED_DENY) != 0
				 : sb_verdict(s, B->path, n, failure) ==
					   CACHE_VERDICT_DENY;
	}
	sb_release_bufs(B);
	return denied;
}

uint64_t cache_sandbox_decide(struct cache_sandbox *s, const char *key,
			      size_t len, const char **failure)
{
	int e = errno;
	uint64_t bits = cache_sandbox_stored(s, key, len);
	enum cache_verdict v;

	if (bits & CACHE_DECIDED)
		return bits;
	v = sb_verdict(s, key, len, failure);
	if (v != CACHE_VERDICT_DENY) {
		int linked = sb_link_denied(s, key, len, failure);
		if (linked < 0) { /* decided for this call only */
			errno = e;
			return sb_bits(v) & ~(uint64_t)CACHE_DECIDED;
		}
		if (linked)
			v = CACHE_VERDICT_DENY;
	}
	errno = e;
	return sb_bits(v);
}

/* ---- directories left by `..` ------------------------------------------ */

/* The next component of path from *pos: its start, its length in *n, and
 * *pos past it; or NULL at the end. */
static const char *sb_component(const char *path, size_t *pos, size_t *n)
{
	size_t i = *pos, e;

	while (path[i] == '/')
		i++;
	if (path[i] == '\0')
		return NULL;
	for (e = i; path[e] != '\0' && path[e] != '/'; e++)
		;
	*pos = e;
	*n = e - i;
	return path + i;
}

/* Whether a component of n bytes at c is "." (1), ".." (2) or a name (0). */
static int sb_dots(const char *c, size_t n)
{
	if (c[0] != '.' || n > 2 || (n == 2 && c[1] != '.'))
		return 0;
	return (int)n;
}

/* Whether p[0..n) holds "..": the cheap test that lets every other path
 * pass at once. */
static int sb_has_dotdot(const char *p, size_t n)
{
	const char *end = p + n, *d = p;

	while ((d = memchr(d, '.', (size_t)(end - d))) != NULL && ++d < end)
		if (*d == '.')
			return 1;
	return 0;
}

/* Where the last ".." of path that leaves a directory path names ends
 * (nothing after it is left again), or 0. */
static size_t sb_last_leave(const char *path)
{
	size_t pos = 0, len, depth = 0, last = 0;
	const char *c;

	while ((c = sb_component(path, &pos, &len)) != NULL) {
		int dots = sb_dots(c, len);

		if (dots == 0)
			depth++;
		else if (dots == 2 && depth > 0) {
			depth--;
			last = pos;
		}
	}
	return last;
}

/* Whether the component of path that ends at pos, at depth (counted in
 * components the path names), is left by a later "..". */
static int sb_left_later(const char *path, size_t pos, size_t depth)
{
	size_t len, at = depth;
	const char *c;

	while ((c = sb_component(path, &pos, &len)) != NULL) {
		int dots = sb_dots(c, len);

		if (dots == 0)
			at++;
		else if (dots == 2 && at-- == depth)
			return 1;
	}
	return 0;
}

/* The decision of the directory path[0..end) names, on the base
 * out[0..base_len), its key in B->path[0..*n): stored in its entry, else
 * made here and recorded there (the kernel walks through it: the next
 * call finds it decided).  0 when there is no key to decide. */
static uint64_t sb_walked(struct cache_sandbox *s, struct sb_bufs *B,
			  const char *out, size_t base_len, const char *path,
			  size_t end, size_t *n, const char **failure)
{
	uint64_t bits;

	if (end >= sizeof B->link || base_len >= sizeof B->path)
		return 0;
	memcpy(B->link, path, end);
	B->link[end] = '\0';
	memcpy(B->path, out, base_len);
	*n = cache_key_join(B->path, sizeof B->path, base_len, B->link);
	if (*n == 0 || *n == CACHE_KEY_TOOLONG)
		return 0;
	bits = cache_sandbox_stored(s, B->path, *n);
	if (bits & CACHE_DECIDED)
		return bits;
	bits = cache_sandbox_decide(s, B->path, *n, failure);
	if ((bits & CACHE_DECIDED) && !(bits & CACHE_DECIDED_DENY))
		(void)cache_record(s->c, B->path, *n, bits);
	return bits;
}

size_t cache_sandbox_walk(struct cache_sandbox *s, char *out, size_t cap,
			  size_t base_len, const char *path,
			  const char **failure)
{
	struct sb_bufs *B;
	size_t pos = 0, len, n = 0, last, depth = 0;
	const char *c;
	int e = errno, denied = 0;

	/* read as cache_key_join reads it: up to its NUL, within cap + 1 */
	len = strnlen(path, cap + 1);
	if (!s->restricts || len > cap || !sb_has_dotdot(path, len) ||
	    (last = sb_last_leave(path)) == 0)
		return 0;
	B = sb_claim_bufs();
	if (B == NULL)
		return 0;
	/* every directory the path names and leaves again, in the order
	 * the kernel walks into them */
	while (!denied && (c = sb_component(path, &pos, &len)) != NULL &&
	       pos < last) {
		int dots = sb_dots(c, len);

		if (dots == 2 && depth > 0)
			depth--;
		else if (dots == 0 && sb_left_later(path, pos, ++depth))
			denied = (sb_walked(s, B, out, base_len, path, pos, &n,
					    failure) &
				  CACHE_DECIDED_DENY) != 0;
	}
	if (denied && n <= cap)
		memcpy(out, B->path, n);
	else
		n = 0;
	sb_release_bufs(B);
	errno = e;
	return n;
}

int cache_sandbox_listed(struct cache_sandbox *s, const char *key,
			 size_t len, uint64_t *record, const char **failure)
{
	uint64_t stored = cache_sandbox_stored(s, key, len), bits;

	*record = 0;
	if (stored & CACHE_DECIDED)
		return (stored & CACHE_DECIDED_DENY) != 0;
	bits = cache_sandbox_decide(s, key, len, failure);
	/* An entry the server decided keeps the answer (with no operation),
	 * so that opening it later does not ask again; one the rules decide
	 * is not recorded for being listed. */
	if (cache_policy_decide(&s->policy, key, len) == CACHE_VERDICT_ASK)
		*record = bits;
	return (bits & CACHE_DECIDED_DENY) != 0;
}

uint64_t cache_sandbox_violation(uint32_t ops)
{
	return cache_call_value(ops, true, ENOENT) | CACHE_DECIDED_DENY |
	       CACHE_OP_VIOLATION;
}
