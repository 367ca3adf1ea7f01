/*
 * ctrie_cache.h - the shared path cache: a lock-free concurrent hash trie
 * (ctrie) whose nodes live in a shm_alloc arena and link by offsets.
 *
 * Every injected process records the paths it touches here; the CLI reads
 * them.  Keys are byte strings (paths, not necessarily UTF-8, not
 * NUL-terminated in the API: a length is always given).  The value of an
 * entry is a 64-bit word of operation bits (CACHE_OP_*: those that
 * succeeded, those that failed, and the outcomes; see
 * CACHE_OP_FAILED_SHIFT) merged with fetch_or and a hit counter added with
 * fetch_add, both in place.
 *
 * Safety contract, for every function marked "signal-safe": lock-free,
 * async-signal-safe (no malloc, stdio, locks), errno preserved, and safe on a
 * corrupt or hostile file: every offset read from the file is checked before
 * it is followed, and damage makes the call fail with CACHE_E_CORRUPT (and
 * marks this handle broken, so later records are refused cheaply) instead of
 * crashing.  A process killed at any instruction leaves a structure that
 * others keep using and that cache_verify() finds consistent (at worst a
 * leaked node).
 */
#ifndef CTRIE_CACHE_H
#define CTRIE_CACHE_H

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "shm_alloc.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- operation bits: defined once, with their names for the CLI --------
 * X(NAME, bit, letter, "name") -- letter is what `shmcache ls` prints. */
#define CACHE_OPS(X)                                   \
	X(READ,        0, 'r', "read")                 \
	X(WRITE,       1, 'w', "write")                \
	X(CREATE,      2, 'c', "create")               \
	X(TRUNCATE,    3, 't', "truncate")             \
	X(STAT,        4, 's', "stat")                 \
	X(ACCESS,      5, 'a', "access")               \
	X(EXEC,        6, 'x', "exec")                 \
	X(READLINK,    7, 'l', "readlink")             \
	X(OPENDIR,     8, 'd', "opendir")              \
	X(MKDIR,       9, 'm', "mkdir")                \
	X(RMDIR,      10, 'M', "rmdir")                \
	X(UNLINK,     11, 'u', "unlink")               \
	X(RENAME_FROM,12, 'f', "rename-from")          \
	X(RENAME_TO,  13, 'T', "rename-to")            \
	X(LINK,       14, 'h', "link")                 \
	X(SYMLINK,    15, 'S', "symlink")              \
	X(CHATTR,     16, 'o', "chattr")  /* chmod/chown/utime */ \
	X(CHDIR,      17, 'C', "chdir")                \
	X(MKNOD,      18, 'n', "mknod")                \
	X(LOAD,       19, 'L', "load")    /* mapped by the dynamic loader */ \
	/* outcomes */                                 \
	X(EXISTS,     24, 'E', "exists")  /* a call succeeded on it  */ \
	X(MISSING,    25, '!', "missing") /* ENOENT or ENOTDIR       */ \
	X(DENIED,     26, 'P', "denied")  /* EACCES or EPERM         */ \
	X(FAILED,     27, '?', "failed")  /* any other error         */ \
	X(VIOLATION,  30, 'V', "violation") /* sandbox: denied, not made */

enum cache_op_bit {
#define CACHE_OP_ENUM(name, bit, letter, str) CACHE_OP_##name = 1u << (bit),
	CACHE_OPS(CACHE_OP_ENUM)
#undef CACHE_OP_ENUM
};

/* The sandbox's decision about a path (cache_policy.c), in outcome bits
 * that are no operation and that ls does not print: set by the record of
 * the first call that decided it, read by every later one.  UNKNOWN: the
 * decision server could not answer, so the path is allowed (DECIDED_ALLOW
 * is set with it) and reported. */
#define CACHE_DECIDED_ALLOW (1u << 28)
#define CACHE_DECIDED_DENY (1u << 29)
#define CACHE_DECIDED_UNKNOWN (1u << 31)
#define CACHE_DECIDED (CACHE_DECIDED_ALLOW | CACHE_DECIDED_DENY)

/* All operation (not outcome) bits, and all outcome bits. */
#define CACHE_OPS_ACTIONS 0x00ffffffu
#define CACHE_OPS_OUTCOMES 0xff000000u

/* An entry's value word is 64 bits: the low half holds the operations of
 * calls that succeeded and the outcome bits (EXISTS for a success or for
 * EEXIST, else the failure's class); the high half the operations of calls
 * that failed, shifted by CACHE_OP_FAILED_SHIFT.  One record is one call:
 * cache_ops_call makes its word, so one fetch_or merges it. */
#define CACHE_OP_FAILED_SHIFT 32

/* The inline helpers from here to cache_open_ops are pure functions of
 * their arguments: async-signal-safe, thread-safe, no failure. */

/* The operations that succeeded at least once / failed at least once. */
static inline uint32_t cache_ops_succeeded(uint64_t ops)
{
	return (uint32_t)ops & CACHE_OPS_ACTIONS;
}
static inline uint32_t cache_ops_failed(uint64_t ops)
{
	return (uint32_t)(ops >> CACHE_OP_FAILED_SHIFT) & CACHE_OPS_ACTIONS;
}
/* The outcome bits seen (CACHE_OP_EXISTS ...). */
static inline uint32_t cache_ops_outcomes(uint64_t ops)
{
	return (uint32_t)ops & CACHE_OPS_OUTCOMES;
}
/* The word of one call: actions (CACHE_OPS_ACTIONS) that succeeded
 * (failed false) or failed, with the outcome bits. */
static inline uint64_t cache_ops_call(uint32_t actions, bool failed,
				      uint32_t outcomes)
{
	actions &= CACHE_OPS_ACTIONS;
	return (failed ? (uint64_t)actions << CACHE_OP_FAILED_SHIFT
		       : (uint64_t)actions) |
	       (outcomes & CACHE_OPS_OUTCOMES);
}

/* The outcome bits of a call: failed false => EXISTS; else err classifies
 * it (ENOENT/ENOTDIR MISSING, EACCES/EPERM DENIED, EEXIST EXISTS: mkdir -p,
 * O_EXCL and link find the path there; others FAILED).  The shim and the
 * CLI's own records classify with it.  Async-signal-safe. */
static inline uint32_t cache_outcome(bool failed, int err)
{
	if (!failed)
		return CACHE_OP_EXISTS;
	switch (err) {
	case ENOENT:
	case ENOTDIR:
		return CACHE_OP_MISSING;
	case EACCES:
	case EPERM:
		return CACHE_OP_DENIED;
	case EEXIST:
		return CACHE_OP_EXISTS;
	default:
		return CACHE_OP_FAILED;
	}
}
/* The word of one call of actions that succeeded (failed false) or failed
 * with errno err: cache_ops_call with the call's outcome. */
static inline uint64_t cache_call_value(uint32_t actions, bool failed,
					int err)
{
	return cache_ops_call(actions, failed, cache_outcome(failed, err));
}

/* The operations an open with these flags does, for every tracer of the
 * cache (the shim, the supervisor).  create only with O_EXCL: a plain
 * O_CREAT may have opened an existing file, and a wrong create is worse
 * than a missing one.  O_PATH and O_TMPFILE are told apart where the
 * includer's headers define them (both tracers build with _GNU_SOURCE).
 * Async-signal-safe. */
static inline uint32_t cache_open_ops(int flags)
{
	uint32_t ops;

#ifdef O_PATH
	if (flags & O_PATH)
		return CACHE_OP_STAT; /* a handle, no data read */
#endif
#ifdef O_TMPFILE
	if ((flags & O_TMPFILE) == O_TMPFILE)
		return CACHE_OP_WRITE | CACHE_OP_CREATE | CACHE_OP_OPENDIR;
#endif
	switch (flags & O_ACCMODE) {
	case O_WRONLY:
		ops = CACHE_OP_WRITE;
		break;
	case O_RDWR:
		ops = CACHE_OP_READ | CACHE_OP_WRITE;
		break;
	default:
		ops = (flags & O_DIRECTORY) ? CACHE_OP_OPENDIR : CACHE_OP_READ;
		break;
	}
	if ((flags & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL))
		ops |= CACHE_OP_CREATE;
	if ((flags & O_TRUNC) && (ops & CACHE_OP_WRITE))
		ops |= CACHE_OP_TRUNCATE;
	return ops;
}

/* Name and letter of one bit (e.g. CACHE_OP_READ -> "read", 'r'); NULL / 0
 * for a bit that is not defined.  Async-signal-safe. */
const char *cache_op_name(uint32_t bit);
char cache_op_letter(uint32_t bit);
/* Parses a comma-separated list of names ("read,write") into bits.
 * Returns 0 and sets *bits, or -1 naming nothing valid at *bad (bad may
 * be NULL; a NULL list is -1).  Async-signal-safe, no allocation. */
int cache_ops_parse(const char *list, uint32_t *bits, const char **bad);

/* ---- errors ------------------------------------------------------------ */

enum cache_error {
	CACHE_OK = 0,
	CACHE_E_ARENA = -1,   /* the arena could not be opened: see arena_err */
	CACHE_E_NOTCACHE = -2,/* an arena, but its client area is not a cache */
	CACHE_E_VERSION = -3, /* a cache of an incompatible format version    */
	CACHE_E_TOOLONG = -4, /* key longer than CACHE_KEY_MAX: skipped       */
	CACHE_E_FULL = -5,    /* the arena is full: record dropped            */
	CACHE_E_CORRUPT = -6, /* damage found; the handle is marked broken    */
	CACHE_E_RDONLY = -7,  /* record on a read-only handle                 */
	CACHE_E_STOP = -8,    /* an iteration callback asked to stop          */
	CACHE_E_UNMAPPED = -9,/* past this process's mapping of the file (an
			       * address-space limit): a miss, not damage     */
	CACHE_E_NOMEM = -10,  /* cache_verify: no memory for its working state */
};

/* A static string for an enum cache_error (for CACHE_E_ARENA, pass the
 * handle's arena_err to shm_strerror for the detail). Async-signal-safe. */
const char *cache_strerror(int err);

/* ---- keys: how a path becomes a key (signal-safe) ---------------------
 * A key is the path as the program named it, made absolute and folded
 * lexically: repeated slashes, "." and ".." components are removed, a
 * trailing slash is dropped, and ".." at the root stays at the root.
 * Symbolic links are NOT resolved (doing so would cost extra file operations
 * on the user's paths, and build tools want the name that was used), so
 * "/a/link/.." folds to "/a" even where the kernel would go elsewhere.  The
 * shim, the loader-audit library and the CLI (`get`, `--prefix`) all make
 * keys with cache_key_join, so that a name typed at the CLI finds what a
 * program recorded. */

/* Returned by cache_key_join when the result does not fit in the buffer. */
#define CACHE_KEY_TOOLONG ((size_t)-1)

/* out[0..base_len) holds an absolute, already normalised directory (the
 * cwd, or what a directory descriptor names); base_len may be 0 for "/".
 * Appends path to it (or replaces it when path is absolute), folding as
 * described above, and returns the key's length (not NUL-terminated), 0 when
 * path is NULL or empty (it names nothing), or CACHE_KEY_TOOLONG when the
 * result would exceed cap bytes.  path is read up to its NUL and never
 * beyond its first cap + 1 bytes: a path with no NUL there is
 * CACHE_KEY_TOOLONG, whatever it would fold to.  path may lie inside out,
 * starting at or after out[base_len + 1] (a copy at the end of the buffer):
 * the key is written behind the part still to be read.  Async-signal-safe,
 * touches nothing but out. */
size_t cache_key_join(char *out, size_t cap, size_t base_len, const char *path);

/* ---- the handle -------------------------------------------------------- */

/* One attached cache in this process.  Fields are private; the struct is
 * public so that it can live in static storage (the preload shim).
 *
 * The cache never frees a block of its arena, and relies on the
 * allocator's promise that a block is zero when it is first handed out
 * (shm_arena_malloc; ctrie_insert.c says why).  Another client that
 * allocates in the same arena (arena is an ordinary shm_arena) must zero
 * a block before it frees it. */
struct cache {
	struct shm_arena arena;
	void *hdr;              /* struct ctrie_header * (private header)   */
	int arena_err;          /* enum shm_error of the last attach        */
	_Atomic int broken;     /* damage seen: records are refused         */
	bool read_only;
};

enum cache_attach_flags {
	CACHE_ATTACH_CREATE = 1 << 0, /* create file / format cache if needed */
	CACHE_ATTACH_RDONLY = 1 << 1, /* map read-only; never write          */
};

/* Attaches the cache file at path (creating it with CACHE_ATTACH_CREATE).
 * Returns CACHE_OK or an enum cache_error (CACHE_E_ARENA: c->arena_err says
 * why).  Not async-signal-safe (it maps the file).  No descriptor is left
 * open. */
int cache_attach(struct cache *c, const char *path, unsigned flags);

/* Attaches a cache held in memory (a file image, a fuzz input); with
 * CACHE_ATTACH_CREATE the image is formatted first.  Same checks and
 * results as cache_attach (CACHE_E_ARENA with c->arena_err).  Not
 * async-signal-safe. */
int cache_attach_memory(struct cache *c, void *image, size_t len,
			unsigned flags);

/* Detaches (unmaps).  Never deletes the file; cannot fail; a detached
 * handle may be detached again.  Not async-signal-safe, and no other
 * thread may use c during or after it. */
void cache_detach(struct cache *c);

/* ---- recording and lookup (signal-safe) -------------------------------- */

/* Longest key accepted, in bytes: what the allocator's largest block holds
 * after an S-node's 24-byte header (ctrie_layout.h).  Longer keys are
 * skipped and counted.  A constant, usable in #if and array sizes;
 * cache_max_key() returns it (async-signal-safe). */
#define CACHE_KEY_MAX (SHM_BLOCK_MAX - 24UL)
size_t cache_max_key(void);

/* Inserts key if absent, then merges ops (a value word: cache_ops_call)
 * into its operation word (fetch_or)
 * and adds 1 to its hit counter (fetch_add).  Linearisable, lock-free,
 * signal-safe (may be called from a signal handler that interrupted another
 * cache_record in the same thread).  Returns CACHE_OK, CACHE_E_TOOLONG or
 * CACHE_E_FULL (skipped and counted in the statistics), CACHE_E_CORRUPT, or
 * CACHE_E_RDONLY. */
int cache_record(struct cache *c, const void *key, size_t len, uint64_t ops);

/* A one-entry memo of the S-node of the last key recorded through it, for
 * cache_record_hinted.  Zero-initialised before first use (static or
 * thread-local storage is); fields are private.  Meant to be per thread:
 * sharing one between threads is safe but makes it miss. */
struct cache_hint {
	_Atomic(const void *) owner; /* the handle's hdr it was filled from */
	_Atomic shm_offt snode;
	_Atomic size_t len;
	_Atomic uint64_t missed;     /* a fingerprint of the last key missed */
	_Atomic shm_offt refused;    /* shm_arena_full_token when it was
				      * refused as full, or 0           */
	_Atomic uint64_t refused_at; /* the cache's entries then          */
	_Atomic uint64_t refused_hash; /* and the key's full hash         */
};

/* cache_record, with hint tried first: when it names the S-node of this
 * very key (checked like any offset of the file, key bytes compared) the
 * key is merged there without hashing or searching; else cache_record,
 * and a key missed twice in a row is looked up to refill hint.  A key
 * refused as full (CACHE_E_FULL) and recorded again at once is refused
 * again without a search, and counted, while the allocator says no room
 * was seen since (shm_arena_full_token) and no key was added.  Same
 * results, same safety contract (signal-safe, errno preserved); hint may
 * be NULL. */
int cache_record_hinted(struct cache *c, const void *key, size_t len,
			uint64_t ops, struct cache_hint *hint);

/* The hinted hit without a key buffer, for a caller that holds the key as a
 * NUL-terminated string (the shim: an absolute path it recorded last is its
 * own key).  When str is byte for byte the key hint names (compared in
 * place, never read past its NUL; the node is checked like any offset of
 * the file), merges ops and counts one record there, points *key at the
 * stored bytes in the mapping and returns the length; else 0, and nothing
 * is recorded (the caller records the key the usual way).  Signal-safe,
 * errno untouched, no system call. */
size_t cache_hint_record(struct cache *c, const struct cache_hint *hint,
			 const char *str, uint64_t ops,
			 const unsigned char **key);

/* One entry as seen by lookup and iteration.  key points into the mapping
 * (not NUL-terminated); ops and count are a snapshot. */
struct cache_entry {
	const unsigned char *key;
	size_t len;
	uint64_t ops;
	uint64_t count;
};

/* Puts the level-4 index to use at once, whatever the cache's size (it is
 * used by itself once the cache holds a million keys: ctrie_layout.h): for
 * tests and benchmarks.  CACHE_OK, CACHE_E_NOTCACHE or CACHE_E_RDONLY.
 * Signal-safe. */
int cache_l4_start(struct cache *c);

/* Looks key up.  Returns 1 and fills *e (if e is not NULL) when present, 0
 * when absent, CACHE_E_CORRUPT on damage.  Signal-safe; never writes the
 * file. */
int cache_lookup(struct cache *c, const void *key, size_t len,
		 struct cache_entry *e);

/* ---- reading the whole cache (the CLI) --------------------------------- */

/* Calls fn once for every entry present when iteration starts (entries added
 * meanwhile may or may not be seen; none is seen twice), in no particular
 * order.  fn returning non-zero stops the walk (CACHE_E_STOP is returned).
 * Returns CACHE_OK or CACHE_E_CORRUPT (entries before the damage were
 * delivered).  Never writes the file; signal-safe if fn is. */
typedef int (*cache_visit_fn)(const struct cache_entry *e, void *arg);
int cache_iterate(struct cache *c, cache_visit_fn fn, void *arg);

/* The newest entries recorded (a small ring kept in the header), newest
 * first; up to max entries are written to out.  Returns how many: 0 when
 * c is not attached; a slot whose offset fails the checks (damaged, or
 * overwritten meanwhile) is left out.  Signal-safe; never writes the
 * file. */
size_t cache_recent(struct cache *c, struct cache_entry *out, size_t max);

/* Walks the whole structure and checks every invariant (offsets in bounds
 * and aligned, node kinds, bitmap/popcount agreement, hash prefixes matching
 * each node's level, no cycles or shared nodes, S-node lengths and hashes,
 * entry count).  Each problem found is passed to report (if not NULL) as one
 * line of text.  Returns the number of problems (0: clean), or an error
 * that is not a problem of the file (nothing is reported then):
 * CACHE_E_NOMEM when it cannot allocate its working memory, CACHE_E_UNMAPPED
 * when the file holds blocks in use past this process's prefix mapping
 * (an address-space limit: it cannot be checked whole here).  Never writes the file; safe on any
 * file however corrupt; bounded time.  Not async-signal-safe (it
 * allocates). */
typedef void (*cache_report_fn)(const char *problem, void *arg);
long cache_verify(struct cache *c, cache_report_fn report, void *arg);

/* Figures kept in the cache header, readable by any process. */
struct cache_stats {
	uint32_t format_version;
	uint64_t entries;          /* distinct keys                          */
	uint64_t key_bytes;        /* sum of key lengths                     */
	uint64_t records;          /* successful cache_record calls (the sum
				      of the hit counters: needs with_walk) */
	uint64_t live_bytes;       /* bytes reachable from the top table:
				      blocks, and S-nodes' carved sizes     */
	uint64_t retired_bytes;    /* replaced nodes, and nodes built for a
				      CAS that lost: not yet reclaimed      */
	uint64_t skipped_toolong;  /* records refused: key too long          */
	uint64_t skipped_full;     /* records refused: arena full            */
	uint64_t lost_races;       /* CASes lost, and keys built for an
				      insert another process won          */
	uint64_t slack_bytes;      /* bytes held for keys but in none: chunk
				      tails and padding, keys and chunks
				      given up, the rounding of a key in a
				      block of its own                      */
	uint64_t attaches;         /* writable attaches (traced processes,
				      and run creating the cache)          */
	struct shm_stats arena;    /* the allocator's figures                */
};
/* Fills st; live_bytes and records need a walk (with_walk true), else 0.
 * Returns CACHE_OK, CACHE_E_CORRUPT, or CACHE_E_NOTCACHE when c is not
 * attached. Never writes the file; safe on a corrupt one.  Not promised
 * async-signal-safe (the CLI's, never a hook's). */
int cache_stats(struct cache *c, struct cache_stats *st, bool with_walk);

/* ---- the sandbox policy (cache_policy.c) --------------------------------
 * A policy is a list of rules, each a verdict for a path prefix, and a
 * default.  It is written once into the cache file by `shmcache run` before
 * any traced process starts, and every process copies it at start-up
 * (cache_policy_load): the file is untrusted, so the copy is checked and
 * private, never read again from the mapping. */

enum cache_verdict {
	CACHE_VERDICT_NONE = 0,  /* no policy                              */
	CACHE_VERDICT_ALLOW = 1,
	CACHE_VERDICT_DENY = 2,
	CACHE_VERDICT_ASK = 3,   /* the decision server says               */
	CACHE_VERDICT_UNKNOWN = 4, /* asked, no usable answer: allowed     */
};

#define CACHE_POLICY_MAX_RULES 256
#define CACHE_POLICY_MAX_BYTES 16384 /* all prefixes together         */
#define CACHE_POLICY_SERVER_MAX 112  /* sun_path (108 on Linux) in words */
/* Flags: decisions are not read back from the cache (every call decides
 * again, every `ask` asks the server): the baseline of bench-sandbox. */
#define CACHE_POLICY_NO_DECISION_CACHE 1u

struct cache_policy_rule {
	uint16_t verdict; /* enum cache_verdict: ALLOW, DENY or ASK */
	uint16_t len;     /* prefix bytes, a key (cache_key_join)   */
	uint32_t off;     /* where they start in bytes[]            */
};

/* A policy in process memory: built by the CLI, copied by the shim. */
struct cache_policy {
	uint32_t nrules;
	uint32_t dflt;        /* enum cache_verdict for paths no rule names */
	uint32_t flags;       /* CACHE_POLICY_*                             */
	uint32_t timeout_ms;  /* for one server exchange                    */
	uint32_t used;        /* bytes of bytes[] in use                    */
	/* aligned: cache_policy_load copies whole words */
	_Alignas(8) char server[CACHE_POLICY_SERVER_MAX]; /* socket; "" none */
	_Alignas(8) struct cache_policy_rule rule[CACHE_POLICY_MAX_RULES];
	_Alignas(8) char bytes[CACHE_POLICY_MAX_BYTES];
};

/* Adds a rule for prefix (an absolute path, folded with cache_key_join).
 * Returns 0, or -1 when it is not absolute, too long or the policy full
 * (*why says which).  Not signal-safe; the CLI's. */
int cache_policy_add(struct cache_policy *p, enum cache_verdict v,
		     const char *prefix, const char **why);

/* The verdict of the rules for key[0..len) (a key): "/" and every
 * directory leading to the prefix of an ALLOW or ASK rule are ALLOW (they
 * must stay visible); else the first rule whose prefix is key or a whole
 * leading component path of it; else the default.  Signal-safe, pure. */
enum cache_verdict cache_policy_decide(const struct cache_policy *p,
				       const void *key, size_t len);

/* Writes p into c's file (writable handle).  Refused with CACHE_E_RDONLY,
 * and with CACHE_E_VERSION when the file holds another policy (a policy is
 * fixed for the life of a cache; the same one again is CACHE_OK).  Not
 * signal-safe, not thread-safe. */
int cache_policy_store(struct cache *c, const struct cache_policy *p);

/* Copies c's policy into p and checks it (every length and offset).
 * Returns 1 when there is one, 0 when there is none (one load, nothing
 * copied), CACHE_E_CORRUPT when it is malformed.  Not signal-safe only in
 * that it copies some 20 KiB: it calls nothing. */
int cache_policy_load(struct cache *c, struct cache_policy *p);

/* Figures of the sandbox, kept beside the policy in the file. */
enum cache_policy_counter {
	CACHE_PC_ASKS = 0,        /* server round trips                     */
	CACHE_PC_DOUBLE_ASKS = 1, /* asks about a path another process had
				     decided meanwhile (a race)             */
	CACHE_PC_UNKNOWN = 2,     /* answers that were not allow/deny        */
	CACHE_PC_SERVER_ERRORS = 3, /* no answer: refused, died, timed out  */
	CACHE_PC_DENIED_CALLS = 4, /* calls not made                        */
	CACHE_PC_UNCACHED = 5,    /* decisions that could not be stored
				     (a full cache)                         */
	CACHE_PC_COUNT = 6,
};
/* Adds 1 to a counter and returns its value before (0 on a handle without
 * a policy).  Signal-safe. */
uint64_t cache_policy_count(struct cache *c, enum cache_policy_counter which);
/* The decision server's recent answers, shared by the processes of a job
 * so that a path asked about by one is not asked again by another that
 * meets it before the first has recorded the decision in the path's entry
 * (parallel compilers read the same headers in step).  A slot holds a
 * tag of a key, its asker's pid while the question is open, and the
 * answer once there is one (the word's layout: cache_sandbox.c).  Returns
 * the first of the CACHE_POLICY_ANSWER_WAYS slots of the bucket for a
 * key's hash in c's file (its low bits pick it), or NULL without a policy
 * (or read-only).  Signal-safe; the slots are untrusted shared memory
 * (atomics only). */
#define CACHE_POLICY_ANSWERS 1024
#define CACHE_POLICY_ANSWER_WAYS 4
_Atomic uint64_t *cache_policy_answer_slot(struct cache *c, uint64_t hash);
/* Reads the counters into out[CACHE_PC_COUNT] (zeros without a policy).
 * Returns 1 when the file holds a policy, else 0.  Signal-safe. */
int cache_policy_counters(struct cache *c, uint64_t *out);


/* ---- sandbox decisions (cache_sandbox.c) --------------------------------
 * The decision of a path in sandbox mode, one code for the shim, the
 * seccomp supervisor and `shmcache run`: the decision stored in the path's
 * entry, else the rules, else the decision server (one line out, one line
 * back; asked at most once per path per job through the answer slots).
 * The caller records the decision bits with the call (they make the next
 * call anywhere a lookup), and a denied call, not made, as
 * cache_sandbox_violation. */

/* One process's sandbox: the policy's private copy and the kept server
 * connection.  Static storage (the policy is some 20 KiB). */
struct cache_sandbox {
	struct cache *c;
	int restricts;         /* a rule or the default can deny          */
	_Atomic int claim;     /* the kept connection is in use           */
	int fd;                /* the kept connection, or -1              */
	long pid;              /* the process that opened it              */
	uint64_t dev, ino;     /* and its identity                        */
	/* the process whose memory holds s (cache_sandbox_init,
	 * cache_sandbox_forked); any other process asking is a vfork child
	 * in that memory: it asks on a connection of its own, closed after
	 * the question, and leaves the kept one alone */
	long owner;
	/* the process decided for, when not this one (a supervisor sets
	 * them before each decision): /proc/self and /proc/thread-self in a
	 * path's links are its; 0: this process */
	long self_pid, self_tid;
	struct cache_policy policy;
};

/* Copies c's policy into s (cache_policy_load) and readies s.  Returns 1
 * with a policy, 0 without one (s untouched), CACHE_E_CORRUPT when it is
 * malformed (s not ready); s is used only after 1.  Not
 * signal-safe (start-up), not thread-safe. */
int cache_sandbox_init(struct cache_sandbox *s, struct cache *c);

/* In a forked child, before any question: s belongs to this process, and
 * a question the parent had in flight has no holder here.  Signal-safe
 * (a pthread_atfork child handler). */
void cache_sandbox_forked(struct cache_sandbox *s);

/* The decision bits of key[0..len) (an absolute key): stored in its entry,
 * else made now by the rules, the server and the key's symbolic links (one
 * readlink per component, once per path and job).  Returns
 * CACHE_DECIDED_ALLOW or CACHE_DECIDED_DENY, with CACHE_DECIDED_UNKNOWN
 * when the server could not answer; without CACHE_DECIDED at all when the
 * decision holds for this call only (no buffers free for the links: the
 * caller stores nothing).  *failure (may be NULL) is set to a message to
 * say when this was the job's first server failure.  Signal-safe, errno
 * untouched. */
uint64_t cache_sandbox_decide(struct cache_sandbox *s, const char *key,
			      size_t len, const char **failure);

/* The decision bits stored in key's entry, or 0 (also with the decision
 * cache disabled).  Signal-safe. */
uint64_t cache_sandbox_stored(struct cache_sandbox *s, const char *key,
			      size_t len);

/* A directory listing's entry key[0..len): whether it is hidden (denied),
 * decided as cache_sandbox_decide; *record gets the bits to record for it
 * (a decision the server made, so that it is not asked again), or 0.
 * Signal-safe, errno untouched. */
int cache_sandbox_listed(struct cache_sandbox *s, const char *key,
			 size_t len, uint64_t *record, const char **failure);

/* The record of a denied call with the operations ops: failed as ENOENT,
 * decided DENY, a violation.  Pure. */
uint64_t cache_sandbox_violation(uint32_t ops);

/* A path that names a directory and leaves it again with `..`
 * ("no/../ok/f") makes the kernel walk through that directory, which the
 * folded key does not name: every directory the path names and leaves
 * again is decided as a path of its own, in the order the kernel walks
 * into them (stored in its entry, else cache_sandbox_decide, then recorded
 * there with no operation when allowed).  The directories that stay in
 * the key lead to it: the key's own decision covers them (prefix rules,
 * and its links, which are resolved component by component).  path is relative to
 * the normalised directory out[0..base_len) (ignored for an absolute
 * path), as for cache_key_join; it may lie in out after out[base_len] (a
 * copy at the end of the buffer); it is read up to its NUL and never
 * beyond its first cap + 1 bytes (longer: nothing decided, as
 * cache_key_join makes no key of it).  A `..` that leaves the base, or the
 * root, leaves nothing the path names.  Returns 0 when every such
 * directory is allowed (at once, for a path without such a `..`), or the
 * length of the key of the first denied one, written to out[0..n) (path is
 * not read after that).  Decided for this call only (nothing denied) when
 * no buffers are free, as for links.  Signal-safe, errno untouched. */
size_t cache_sandbox_walk(struct cache_sandbox *s, char *out, size_t cap,
			  size_t base_len, const char *path,
			  const char **failure);

/* ---- buffer pools (cache_slots.c) --------------------------------------
 * Buffers too large for a signal handler's stack come from small static
 * pools whose members are claimed one bit each in a word of flags. */

/* Claims a clear bit of the low `slots` (at most 32) bits of *used: its
 * index, or -1 when every one is set.  Lock-free, async-signal-safe;
 * the claimer sees its member as its last user left it. */
int cache_slot_claim(_Atomic unsigned *used, unsigned slots);

/* Clears bit i, claimed by cache_slot_claim: its member's use is over.
 * Async-signal-safe. */
void cache_slot_release(_Atomic unsigned *used, int i);

#ifdef __cplusplus
}
#endif
#endif /* CTRIE_CACHE_H */
