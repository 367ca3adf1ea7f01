/*
 * shim_supervise.h - exec of a program that bypasses libc (static, Go, or
 * named by a pattern): started under shmcache-supervise instead (see
 * supervisor/supervise.h), whose seccomp filter records what the shim
 * cannot see.  Included by shim.h after the real-function types.
 *
 * Decided in the exec hooks, from what this process found at start-up:
 *   SHMCACHE_SUPERVISOR  the helper's absolute path (set by `shmcache run`;
 *                        unset: nothing is ever supervised)
 *   SHMCACHE_SUPERVISE_PATTERNS  ':'-separated globs (* and ?) of programs
 *                        to supervise whatever they are made of: a pattern
 *                        with a '/' matches the program's key (its absolute
 *                        path, folded), else its last component
 *   SHMCACHE_SUPERVISED  set by the helper in what it runs: this process is
 *                        under a filter already (its children are too),
 *                        so none is started again
 * The extra file operations are elf_kind_path's (supervisor/elfkind.h):
 * a faccessat(X_OK) of the program about to run, an open O_RDONLY |
 * O_NONBLOCK | O_CLOEXEC of it, a few preads of its headers, and a close;
 * made only when the helper is known and no pattern matched.  A script
 * ("#!") is looked at the same way, then its interpreter's file.
 */
#ifndef SHMCACHE_SHIM_SUPERVISE_H
#define SHMCACHE_SHIM_SUPERVISE_H

/* Whether SHMCACHE_SUPERVISED is set: a supervisor records every call of
 * this process, and the shim stands down (records nothing, starts no
 * supervisor).  Start-up only (getenv). */
SHIM_HIDDEN int shim_supervised(void);

/* Reads the variables above.  Start-up only (getenv). */
SHIM_HIDDEN void shim_supervise_init(void);

/* fn(path, argv, envp), or, when path names a program to supervise,
 * fn(helper, {helper, "--", path, argv...}, envp); if the helper cannot be
 * executed, fn(path, argv, envp) after all, so that a failure is the
 * program's own.  k is the key recorded for path (its length 0 or
 * CACHE_KEY_TOOLONG: path was not readable, nothing is supervised), or
 * NULL when path is the shim's own readable string (the PATH search).
 * Async-signal-safe, usable in a vfork child; argv is read without
 * faulting (a bad vector is the kernel's to refuse).  The helper's vector
 * is on the stack up to 64 arguments, else in anonymous pages mapped for
 * the call and unmapped when it returns (when they cannot be mapped, or
 * argv holds 8192 or more, path runs unsupervised). */
SHIM_HIDDEN int shim_exec_call(shim_fn_execve fn, const struct shim_key *k,
			       const char *path, char *const argv[],
			       char *const envp[]);

/* The same for posix_spawn and posix_spawnp.  For posix_spawnp of a name
 * without a slash (searched in libc's child), the shim makes the search
 * first, only to know which program will start: one faccessat(X_OK) per
 * PATH candidate up to the first this process may execute, in pages
 * mapped for the call; when that program is to be supervised, the helper
 * is started with its path, else libc searches as it does.  k NULL: path
 * is a candidate the shim's own search chose (sandbox mode), decided by
 * its name alone. */
SHIM_HIDDEN int shim_spawn_call(shim_fn_posix_spawn fn,
				const struct shim_key *k, pid_t *pid,
				const char *path,
				const posix_spawn_file_actions_t *acts,
				const posix_spawnattr_t *attr,
				char *const argv[], char *const envp[]);

/* Removes the parentheses of an argument list (the rows' callargs). */
#define SHIM_UNPACK(...) __VA_ARGS__

#endif /* SHMCACHE_SHIM_SUPERVISE_H */
