/*
 * elfkind.h - does a program about to be executed bypass libc?  A program
 * that the dynamic loader does not start (an ELF file without PT_INTERP:
 * static or static-pie) never loads an LD_PRELOAD shim, and a Go program
 * makes its system calls itself even when it is dynamically linked; the
 * shim's exec hooks and `shmcache run` start both under the seccomp
 * supervisor (shmcache-supervise) instead.
 *
 * Shared by preload/ and cli/, which compile this file into themselves
 * (neither imports the other).  The file is untrusted input: every read is
 * bounded and checked, and any surprise gives ELF_KIND_OTHER ("not known to
 * bypass libc": the program runs as it would without us).
 */
#ifndef SHMCACHE_ELFKIND_H
#define SHMCACHE_ELFKIND_H

#include <stddef.h>

enum elf_kind {
	ELF_KIND_OTHER = 0, /* not ELF, unreadable, malformed, or not of the
			       host's class, byte order and e_machine      */
	ELF_KIND_DYNAMIC,   /* ELF with PT_INTERP, no Go build-id note       */
	ELF_KIND_STATIC,    /* ELF without PT_INTERP                         */
	ELF_KIND_GO,        /* ELF with a Go build-id note ("Go", type 4)    */
};

/* The kind of the ELF file open for reading at fd (read with pread, at
 * offsets, never past what its headers name; at most a few hundred bytes
 * in a handful of reads).  A Go program is ELF_KIND_GO whether or not it
 * has PT_INTERP.  A file whose class, byte order or e_machine is not the
 * host's own is ELF_KIND_OTHER: the kernel refuses it (ENOEXEC) or runs it
 * through a compat path the supervisor does not filter, so it is executed
 * as it is.  Async-signal-safe; errno may change; about 400 bytes of
 * stack. */
enum elf_kind elf_kind_fd(int fd);

/* The kind of the file at path, as execve would find it, for a program
 * about to be executed: the file operations made are a faccessat(X_OK) of
 * path, an open of it O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC (raw
 * system calls: no libc wrapper an LD_PRELOAD shim interposes is called),
 * reads, and its close.  ELF_KIND_OTHER unless path names a regular file
 * that this process may execute (faccessat: execute bit, and not on a
 * noexec mount), so that an exec the kernel refuses for those reasons is
 * refused with the program's own error.  What remains: an exec that fails
 * for a reason found later (ETXTBSY: the file open for writing; ELOOP, or
 * a permission that differs between the real and the effective ids, as
 * faccessat checks the real ones) fails in the helper instead, which
 * exits 126.  A script ("#!") has the kind of its interpreter, followed
 * as the kernel follows it (the first 256 bytes of the line, up to 4
 * interpreters in a row), each looked at as path is: a script run by a
 * static shell is supervised.  macOS (no supervisor): ELF_KIND_OTHER,
 * nothing looked at.
 * Async-signal-safe, errno preserved. */
enum elf_kind elf_kind_path(const char *path);

/* Whether path names a regular file that is an ELF program of another
 * class, byte order or e_machine than the host's (i386 on x86-64): the
 * shim (another class) does not load into it and the supervisor's filter
 * lets another ABI's calls through.  Scripts are not followed.  The file
 * operations made are an open of path O_RDONLY | O_NONBLOCK | O_NOCTTY |
 * O_CLOEXEC (raw system calls), one read and its close.  0 when path
 * cannot be read.  macOS: 0, nothing looked at.
 * Async-signal-safe, errno preserved. */
int elf_foreign_path(const char *path);

/* Whether the kind runs without libc's dynamic entry points (static, Go). */
static inline int elf_kind_bypasses_libc(enum elf_kind k)
{
	return k == ELF_KIND_STATIC || k == ELF_KIND_GO;
}

/* Whether a ':'-separated list of globs ('*' any run of bytes, '?' one
 * byte, nothing else special) names the program at name (len bytes: its
 * absolute path): a glob with a '/' is matched against the whole name,
 * else against its last component.  The shim and `shmcache run` decide
 * with it (`run --supervise PATTERN`).  Async-signal-safe, no system call. */
int elf_patterns_match(const char *patterns, const char *name, size_t len);

#endif /* SHMCACHE_ELFKIND_H */
