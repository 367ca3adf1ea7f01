/*
 * path.h - lexical path normalisation for the preload shim, without
 * allocation and without touching the file system.
 *
 * A key is the path as the program named it, made absolute and folded
 * lexically: repeated slashes, "." and ".." components are removed, a
 * trailing slash is dropped, and ".." at the root stays at the root.
 * Symbolic links are NOT resolved (doing so would cost extra file operations
 * on the user's paths, and build tools want the name that was used), so
 * "/a/link/.." folds to "/a" even where the kernel would go elsewhere.
 */
#ifndef SHMCACHE_PATH_H
#define SHMCACHE_PATH_H

#include <stddef.h>

/* Returned by path_join when the result does not fit in the buffer. */
#define PATH_TOOLONG ((size_t)-1)

/* out[0..base_len) holds an absolute, already normalised directory (the
 * cwd, or what a directory descriptor names); base_len may be 0 for "/".
 * Appends path to it (or replaces it when path is absolute), folding as
 * described above, and returns the key's length (not NUL-terminated), 0 when
 * path is NULL or empty (it names nothing), or PATH_TOOLONG when the result
 * would exceed cap bytes.  path is read up to its NUL and never beyond its
 * first cap + 1 bytes: a path with no NUL there is PATH_TOOLONG, whatever
 * it would fold to.  path may lie
 * inside out, starting at or after out[base_len + 1] (a copy at the end of
 * the buffer): the key is written behind the part still to be read.
 * Async-signal-safe, touches nothing but out. */
size_t path_join(char *out, size_t cap, size_t base_len, const char *path);

#endif /* SHMCACHE_PATH_H */
