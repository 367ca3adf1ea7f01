/*
 * elfkind.c - the ELF header, program headers and notes of a program
 * about to be executed (elfkind.h).  Raw system calls only: compiled into
 * the preload shim, whose own open/close wrappers must not see our reads.
 */
#define _DEFAULT_SOURCE 1 /* syscall() */

#include "elfkind.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define EK_PT_INTERP 3u
#define EK_PT_NOTE 4u
#define EK_MAX_PHNUM 512u     /* more is not a program we know       */
#define EK_PH_BATCH 6u        /* program headers read per pread       */
#define EK_MAX_NOTES 4u       /* PT_NOTE segments looked into         */
#define EK_NOTE_READ 256u     /* bytes of each PT_NOTE read           */
#define EK_GO_BUILDID 4u      /* the Go linker's note type            */

/* The ELF class, data encoding and e_machine this host's kernel executes
 * natively.  A file of another is not supervised: the kernel's own error
 * (ENOEXEC) or its compat path is the program's, not the helper's 126. */
#if defined(__x86_64__) && defined(__ILP32__)
#define EK_HOST_MACHINE 62 /* x32: ELFCLASS32, EM_X86_64 */
#elif defined(__x86_64__)
#define EK_HOST_MACHINE 62 /* EM_X86_64 */
#elif defined(__i386__)
#define EK_HOST_MACHINE 3 /* EM_386 */
#elif defined(__aarch64__)
#define EK_HOST_MACHINE 183 /* EM_AARCH64 */
#elif defined(__arm__)
#define EK_HOST_MACHINE 40 /* EM_ARM */
#elif defined(__riscv)
#define EK_HOST_MACHINE 243 /* EM_RISCV */
#elif defined(__powerpc64__)
#define EK_HOST_MACHINE 21 /* EM_PPC64 */
#elif defined(__s390x__)
#define EK_HOST_MACHINE 22 /* EM_S390 */
#elif defined(__loongarch64)
#define EK_HOST_MACHINE 258 /* EM_LOONGARCH */
#endif
#define EK_HOST_CLASS (sizeof(void *) == 8 ? 2 : 1)
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define EK_HOST_DATA 2
#else
#define EK_HOST_DATA 1
#endif

struct ek_file {
	int fd;
	int is64, big;
};

static uint64_t ek_get(const unsigned char *p, unsigned n, int big)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < n; i++)
		v |= (uint64_t)p[big ? n - 1 - i : i] << (8 * i);
	return v;
}

/* Reads up to n bytes at off; returns the count, or -1.  Linux: the raw
 * system call (the shim's reads must not be seen by its own wrappers);
 * elsewhere pread, which no shim hooks (it takes no path). */
static long ek_read(int fd, void *buf, size_t n, uint64_t off)
{
	if (off > (uint64_t)INT64_MAX - n)
		return -1;
#ifdef SYS_pread64
	return syscall(SYS_pread64, fd, buf, n, (off_t)off);
#else
	return (long)pread(fd, buf, n, (off_t)off);
#endif
}

/* Whether the header names a program this host runs natively. */
static int ek_native(const unsigned char *h, int big)
{
	if (h[4] != EK_HOST_CLASS || h[5] != EK_HOST_DATA)
		return 0;
#ifdef EK_HOST_MACHINE
	return ek_get(h + 18, 2, big) == EK_HOST_MACHINE;
#else
	return 1;
#endif
}

/* Whether the notes in buf (n bytes) hold a Go build-id note. */
static int ek_notes_go(const unsigned char *buf, size_t n, int big)
{
	size_t at = 0;

	while (n - at >= 12) {
		uint64_t namesz = ek_get(buf + at, 4, big);
		uint64_t descsz = ek_get(buf + at + 4, 4, big);
		uint64_t type = ek_get(buf + at + 8, 4, big);

		/* the Go linker names it "Go\0\0" (namesz 4) */
		if ((namesz == 3 || namesz == 4) && type == EK_GO_BUILDID &&
		    n - at >= 15 && memcmp(buf + at + 12, "Go", 3) == 0)
			return 1;
		/* name and descriptor are each padded to 4 bytes */
		namesz = (namesz + 3) & ~(uint64_t)3;
		descsz = (descsz + 3) & ~(uint64_t)3;
		if (namesz > n || descsz > n || 12 + namesz + descsz > n - at)
			return 0;
		at += 12 + (size_t)namesz + (size_t)descsz;
	}
	return 0;
}

/* The notes named by the PT_NOTE headers found (offsets, sizes). */
static int ek_any_go(const struct ek_file *f, const uint64_t *off,
		     const uint64_t *len, unsigned count)
{
	unsigned char buf[EK_NOTE_READ];

	for (unsigned i = 0; i < count; i++) {
		size_t want = len[i] < sizeof buf ? (size_t)len[i] : sizeof buf;
		long r = ek_read(f->fd, buf, want, off[i]);

		if (r > 0 && ek_notes_go(buf, (size_t)r, f->big))
			return 1;
	}
	return 0;
}

/* Walks the program headers: PT_INTERP seen, PT_NOTE segments kept. */
static int ek_scan_phdrs(const struct ek_file *f, uint64_t phoff,
			 size_t phentsize, size_t phnum, int *interp,
			 uint64_t *noff, uint64_t *nlen, unsigned *nnotes)
{
	unsigned char ph[EK_PH_BATCH * 56];
	size_t need = f->is64 ? 56 : 32;

	for (size_t i = 0; i < phnum;) {
		size_t batch = phnum - i < EK_PH_BATCH ? phnum - i : EK_PH_BATCH;
		size_t bytes = batch * phentsize;

		if (phentsize > 56) { /* larger entries: one at a time */
			batch = 1;
			bytes = need;
		}
		if (ek_read(f->fd, ph, bytes, phoff + (uint64_t)i * phentsize) !=
		    (long)bytes)
			return -1;
		for (size_t j = 0; j < batch; j++) {
			const unsigned char *p = ph + j * (batch > 1 ? phentsize : 0);
			uint64_t type = ek_get(p, 4, f->big);

			if (type == EK_PT_INTERP)
				*interp = 1;
			if (type == EK_PT_NOTE && *nnotes < EK_MAX_NOTES) {
				noff[*nnotes] = f->is64 ? ek_get(p + 8, 8, f->big)
							: ek_get(p + 4, 4, f->big);
				nlen[*nnotes] = f->is64 ? ek_get(p + 32, 8, f->big)
							: ek_get(p + 16, 4, f->big);
				++*nnotes;
			}
		}
		i += batch;
	}
	return 0;
}

/* The kind of the file at fd whose first n bytes are h (read already). */
static enum elf_kind ek_kind(int fd, const unsigned char *h, long n)
{
	struct ek_file f = { .fd = fd };
	uint64_t phoff, noff[EK_MAX_NOTES], nlen[EK_MAX_NOTES];
	size_t phentsize, phnum;
	unsigned nnotes = 0;
	int interp = 0;

	if (n < 52 || memcmp(h, "\177ELF", 4) != 0)
		return ELF_KIND_OTHER;
	if ((h[4] != 1 && h[4] != 2) || (h[5] != 1 && h[5] != 2) ||
	    !ek_native(h, h[5] == 2))
		return ELF_KIND_OTHER;
	f.is64 = h[4] == 2;
	f.big = h[5] == 2;
	phoff = f.is64 ? ek_get(h + 32, 8, f.big) : ek_get(h + 28, 4, f.big);
	phentsize = (size_t)ek_get(h + (f.is64 ? 54 : 42), 2, f.big);
	phnum = (size_t)ek_get(h + (f.is64 ? 56 : 44), 2, f.big);
	if (phnum == 0)
		return ELF_KIND_STATIC;
	if (phnum > EK_MAX_PHNUM || phentsize < (f.is64 ? 56u : 32u))
		return ELF_KIND_OTHER;
	if (ek_scan_phdrs(&f, phoff, phentsize, phnum, &interp, noff, nlen,
			  &nnotes) != 0)
		return ELF_KIND_OTHER;
	if (ek_any_go(&f, noff, nlen, nnotes))
		return ELF_KIND_GO;
	return interp ? ELF_KIND_DYNAMIC : ELF_KIND_STATIC;
}

enum elf_kind elf_kind_fd(int fd)
{
	unsigned char h[64];

	return ek_kind(fd, h, ek_read(fd, h, sizeof h, 0));
}

#ifdef __APPLE__
enum elf_kind elf_kind_path(const char *path)
{
	(void)path; /* no supervisor on macOS: nothing is looked at */
	return ELF_KIND_OTHER;
}

int elf_foreign_path(const char *path)
{
	(void)path;
	return 0;
}
#else
/* The kernel's limits on "#!" lines: the bytes of the line it reads
 * (BINPRM_BUF_SIZE) and the interpreters it follows in a row
 * (BINPRM_MAX_RECURSION, less the program itself). */
#define EK_SCRIPT_LINE 256
#define EK_SCRIPT_DEPTH 4

/* The interpreter of the "#!" line in buf (n bytes read), NUL-terminated
 * in place at buf; 0 when there is none, or when the line does not end
 * within what the kernel reads (it refuses such a script). */
static int ek_interpreter(char *buf, size_t n)
{
	size_t i = 2, j;

	if (n < 3 || buf[0] != '#' || buf[1] != '!')
		return 0;
	while (i < n && (buf[i] == ' ' || buf[i] == '\t'))
		i++;
	for (j = i; j < n && buf[j] != ' ' && buf[j] != '\t' &&
		    buf[j] != '\n' && buf[j] != '\0';
	     j++)
		;
	if (j == i || (j == n && n == EK_SCRIPT_LINE))
		return 0;
	memmove(buf, buf + i, j - i);
	buf[j - i] = '\0';
	return 1;
}

/* The kind of the program open at fd, or, for a script, 1 with its
 * interpreter in buf. */
static int ek_program_or_script(int fd, char *buf, enum elf_kind *k)
{
	long n = ek_read(fd, buf, EK_SCRIPT_LINE, 0);

	if (n >= 2 && buf[0] == '#' && buf[1] == '!')
		return ek_interpreter(buf, (size_t)n);
	*k = ek_kind(fd, (const unsigned char *)buf, n);
	return 0;
}

enum elf_kind elf_kind_path(const char *path)
{
	int e = errno;
	enum elf_kind k = ELF_KIND_OTHER;
	char buf[EK_SCRIPT_LINE];
	const char *p = path;
	struct stat st;

	for (int depth = 0; depth <= EK_SCRIPT_DEPTH; depth++) {
		int script = 0;
		long fd;

		/* execute permission as execve checks it, noexec mounts
		 * included: without it the program's own execve fails
		 * (EACCES), not the helper's exec of it */
		if (syscall(SYS_faccessat, AT_FDCWD, p, X_OK) != 0)
			break;
		fd = syscall(SYS_openat, AT_FDCWD, p,
			     O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
		if (fd < 0)
			break;
		if (fstat((int)fd, &st) == 0 && S_ISREG(st.st_mode) &&
		    (st.st_mode & 0111) != 0)
			script = ek_program_or_script((int)fd, buf, &k);
		syscall(SYS_close, fd);
		if (!script)
			break;
		p = buf; /* the interpreter runs the script */
	}
	errno = e;
	return k;
}

int elf_foreign_path(const char *path)
{
	int e = errno, foreign = 0;
	unsigned char h[20]; /* e_ident, e_type, e_machine */
	struct stat st;
	long fd = syscall(SYS_openat, AT_FDCWD, path,
			  O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);

	if (fd < 0) {
		errno = e;
		return 0;
	}
	if (fstat((int)fd, &st) == 0 && S_ISREG(st.st_mode) &&
	    ek_read((int)fd, h, sizeof h, 0) == (long)sizeof h &&
	    memcmp(h, "\177ELF", 4) == 0)
		foreign = !ek_native(h, h[5] == 2);
	syscall(SYS_close, fd);
	errno = e;
	return foreign;
}
#endif

/* Whether glob (glen bytes) matches s (slen bytes). */
static int ek_glob(const char *g, size_t glen, const char *s, size_t slen)
{
	size_t gi = 0, si = 0, star = (size_t)-1, mark = 0;

	while (si < slen) {
		if (gi < glen && (g[gi] == '?' || g[gi] == s[si])) {
			gi++;
			si++;
		} else if (gi < glen && g[gi] == '*') {
			star = gi++;
			mark = si;
		} else if (star != (size_t)-1) {
			gi = star + 1;
			si = ++mark;
		} else {
			return 0;
		}
	}
	while (gi < glen && g[gi] == '*')
		gi++;
	return gi == glen;
}

int elf_patterns_match(const char *patterns, const char *name, size_t len)
{
	const char *base = name + len;

	while (base > name && base[-1] != '/')
		base--;
	for (const char *p = patterns; *p != '\0';) {
		const char *end = p;
		size_t n;

		while (*end != '\0' && *end != ':')
			end++;
		n = (size_t)(end - p);
		if (n > 0 && (memchr(p, '/', n) != NULL
				      ? ek_glob(p, n, name, len)
				      : ek_glob(p, n, base,
						len - (size_t)(base - name))))
			return 1;
		p = *end != '\0' ? end + 1 : end;
	}
	return 0;
}
