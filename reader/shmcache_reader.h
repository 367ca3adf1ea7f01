/*
 * shmcache_reader.h - read a shmcache path cache from a program:
 * libshmcache-reader (pkg-config: shmcache-reader).
 *
 * A cache is the file `shmcache run -o CACHE` (or the shim with
 * SHMCACHE_FILE) fills: one entry per path some process of a job named,
 * with the operations done on it and a hit count.  This library attaches
 * one read-only (it never writes the file), walks its entries, looks paths
 * up and checks its structure.  The file is untrusted input: damage gives
 * SHMCACHE_E_CORRUPT, never a crash.  Processes may go on recording while
 * it is read; what an iteration sees is described at shmcache_foreach.
 *
 * The handle is opaque, so that the library's build settings (the cache
 * allocator's sizes) are no part of this interface.  One handle may be
 * used by several threads at once, except that shmcache_close must come
 * after every other call on it.  Nothing here is async-signal-safe.
 * shmcache_reader(3) describes every function.
 */
#ifndef SHMCACHE_READER_H
#define SHMCACHE_READER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Results: 0 or a positive count for success, a negative code for a
 * failure.  shmcache_strerror names each. */
enum shmcache_error {
	SHMCACHE_OK = 0,
	SHMCACHE_E_SYSTEM = -1,   /* the file cannot be opened or mapped:
				     errno says why (ENOENT, EACCES...)   */
	SHMCACHE_E_REFUSED = -2,  /* a symbolic link, not a regular file,
				     another user's, group- or world-
				     writable, or with several hard links */
	SHMCACHE_E_NOTCACHE = -3, /* not a cache file                     */
	SHMCACHE_E_VERSION = -4,  /* made by an incompatible shmcache (other
				     format version or build settings)    */
	SHMCACHE_E_CORRUPT = -5,  /* the file is damaged                  */
	SHMCACHE_E_BUSY = -6,     /* still being created by another process */
	SHMCACHE_E_NOMEM = -7,    /* out of memory                        */
	SHMCACHE_E_INVAL = -8,    /* a NULL argument, or an empty path     */
	SHMCACHE_E_STOP = -9,     /* a callback asked to stop             */
};

/* A static, English description of a result code. */
const char *shmcache_strerror(int err);

/* One attached cache. */
typedef struct shmcache shmcache;

/* Attaches the cache file at path read-only.  Returns a handle, or NULL
 * with *err (if err is not NULL) set to a negative code; for
 * SHMCACHE_E_SYSTEM errno holds the system's reason. */
shmcache *shmcache_open(const char *path, int *err);

/* Detaches and frees the handle (NULL is ignored).  Never deletes the
 * file. */
void shmcache_close(shmcache *c);

/* One entry.  path is a NUL-terminated copy of the key, valid until the
 * callback returns: an absolute path, folded lexically ('//', '.', '..'),
 * symbolic links not resolved; len is its length (a damaged or unusual
 * file may hold a NUL inside: trust len).  ops is the value word: see
 * shmcache_ops_succeeded and the functions after it. */
struct shmcache_entry {
	const char *path;
	size_t len;
	uint64_t ops;
	uint64_t count; /* how many calls recorded the path */
};

/* Calls fn for every entry present when the walk starts (entries added
 * meanwhile may or may not be seen; none is seen twice), in no particular
 * order.  fn returning non-zero stops the walk with SHMCACHE_E_STOP.
 * Returns SHMCACHE_OK, SHMCACHE_E_STOP, SHMCACHE_E_NOMEM (also when part
 * of the file lies past what this process could map: an address-space
 * limit) or SHMCACHE_E_CORRUPT (the entries before the damage were
 * delivered). */
typedef int (*shmcache_visit_fn)(const struct shmcache_entry *e, void *arg);
int shmcache_foreach(shmcache *c, shmcache_visit_fn fn, void *arg);

/* Looks path up, made into a key as the shim makes it: a relative path is
 * joined to the current directory, then folded lexically.  Returns 1 and
 * fills e->ops and e->count (if e is not NULL; e->path is set to NULL and
 * e->len to 0: the caller holds the path) when present, 0 when absent (as
 * also when its entry lies past what this process could map: the file is
 * sound, the entry out of reach), or
 * a negative code (SHMCACHE_E_INVAL for "", SHMCACHE_E_SYSTEM when the
 * current directory cannot be read, SHMCACHE_E_NOMEM for a path longer
 * than any key, SHMCACHE_E_CORRUPT). */
int shmcache_lookup(shmcache *c, const char *path, struct shmcache_entry *e);

/* The number of entries (distinct paths), or a negative code. */
int64_t shmcache_count(shmcache *c);

/* Checks every invariant of the structure, without writing.  Each problem
 * is passed to report (if not NULL) as one line of text.  Returns the
 * number of problems (0: clean), or SHMCACHE_E_NOMEM when it cannot
 * allocate its working memory or map the whole file (an address-space
 * limit); nothing is reported then. */
typedef void (*shmcache_problem_fn)(const char *problem, void *arg);
long shmcache_verify(shmcache *c, shmcache_problem_fn report, void *arg);

/* ---- the value word ------------------------------------------------------
 * Each operation a program does on a path (read, stat, exec, ...: the
 * list is in shmcache(1), under ls) has a bit; an entry records which
 * operations succeeded at least once and which failed at least once, and
 * its outcomes (exists, missing, denied, failed).  The names are the
 * stable interface: ask for a bit by name. */

/* The bit of an operation or outcome name ("read", "missing"), or 0 for a
 * name this library does not know. */
uint32_t shmcache_op_bit(const char *name);
/* The name and the letter (as `shmcache ls` prints it) of one bit, or NULL
 * and 0 for a bit that names nothing. */
const char *shmcache_op_name(uint32_t bit);
char shmcache_op_letter(uint32_t bit);
/* The operation bits that succeeded at least once / failed at least once,
 * and the outcome bits, of a value word. */
uint32_t shmcache_ops_succeeded(uint64_t ops);
uint32_t shmcache_ops_failed(uint64_t ops);
uint32_t shmcache_ops_outcomes(uint64_t ops);

#ifdef __cplusplus
}
#endif
#endif /* SHMCACHE_READER_H */
