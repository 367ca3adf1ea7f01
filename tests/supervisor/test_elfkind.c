/*
 * test_elfkind.c - elf_kind_fd / elf_kind_path / elf_foreign_path
 * (supervisor/elfkind.c) on real programs and on crafted files: #! scripts (their interpreter's
 * kind, followed through scripts), a Go build-id note (static and with
 * PT_INTERP), a file that is not ELF, truncated and hostile headers.
 *   test_elfkind STATIC_PROG DYNAMIC_PROG TMPDIR
 * Exits 0 when every check holds, else 1 naming the first that did not.
 */
#define _DEFAULT_SOURCE 1

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../supervisor/elfkind.h"

static int failures;

static void expect(const char *what, int got, int want)
{
	if (got != want) {
		fprintf(stderr, "FAIL %s: got %d, want %d\n", what, got, want);
		failures++;
	}
}

static void put(unsigned char *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

/* An ELF64 little-endian file: a PT_NOTE (the Go note when go) and a
 * PT_INTERP when interp; phnum_override replaces the count when > 0. */
static void craft(const char *path, int go, int interp, int phnum_override,
		  size_t cut)
{
	unsigned char f[512] = { 0 };
	size_t ph = 64, note = 64 + 3 * 56;
	int n = 0;
	int fd;

	memcpy(f, "\177ELF", 4);
	f[4] = 2;
	f[5] = 1;
	f[6] = 1;
	put(f + 16, 2, 2);   /* ET_EXEC */
	put(f + 18, 62, 2);  /* x86-64 */
	put(f + 32, ph, 8);  /* e_phoff */
	put(f + 54, 56, 2);  /* e_phentsize */
	put(f + ph + n * 56, 4, 4); /* PT_NOTE */
	put(f + ph + n * 56 + 8, note, 8);
	put(f + ph + n * 56 + 32, 20, 8);
	n++;
	if (interp) {
		put(f + ph + n * 56, 3, 4);
		n++;
	}
	put(f + 56, phnum_override > 0 ? (uint64_t)phnum_override : (uint64_t)n, 2);
	put(f + note, 4, 4);           /* namesz */
	put(f + note + 4, 4, 4);       /* descsz */
	put(f + note + 8, go ? 4 : 3, 4); /* type: Go build id / GNU build id */
	memcpy(f + note + 12, go ? "Go\0\0" : "GNU\0", 4);
	unlink(path); /* a new file: mode 0755 whatever an earlier run left */
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0755);
	if (fd < 0 || write(fd, f, cut ? cut : sizeof f) < 0 || close(fd) != 0) {
		perror(path);
		failures++;
	}
}

/* Overwrites one byte of the file at path. */
static void patch(const char *path, off_t at, unsigned char v)
{
	int fd = open(path, O_WRONLY);

	if (fd < 0 || pwrite(fd, &v, 1, at) != 1 || close(fd) != 0) {
		perror(path);
		failures++;
	}
}

/* An executable script at path: its first line a, b, c. */
static void script(const char *path, const char *a, const char *b,
		   const char *c)
{
	FILE *f = fopen(path, "w");

	if (f == NULL || fprintf(f, "%s%s%s", a, b, c) < 0 || fclose(f) != 0)
		failures++;
	chmod(path, 0755);
}

int main(int argc, char **argv)
{
	char p[4096], q[4096];
	int e;

	if (argc != 4)
		return 2;
	expect("static program", elf_kind_path(argv[1]), ELF_KIND_STATIC);
	expect("dynamic program", elf_kind_path(argv[2]), ELF_KIND_DYNAMIC);
	expect("static program is native", elf_foreign_path(argv[1]), 0);
	expect("dynamic program is native", elf_foreign_path(argv[2]), 0);
	snprintf(p, sizeof p, "%s/go", argv[3]);
	craft(p, 1, 0, 0, 0);
	expect("Go, static", elf_kind_path(p), ELF_KIND_GO);
	craft(p, 1, 1, 0, 0);
	expect("Go with PT_INTERP", elf_kind_path(p), ELF_KIND_GO);
	craft(p, 0, 1, 0, 0);
	expect("GNU note, PT_INTERP", elf_kind_path(p), ELF_KIND_DYNAMIC);
	craft(p, 0, 0, 0, 0);
	expect("GNU note, no PT_INTERP", elf_kind_path(p), ELF_KIND_STATIC);
	craft(p, 0, 0, 0, 0);
	patch(p, 18, 183); /* EM_AARCH64 on x86-64, else taken as x86-64 */
	patch(p, 19, 0);
#ifdef __x86_64__
	expect("foreign e_machine", elf_kind_path(p), ELF_KIND_OTHER);
	expect("foreign e_machine is foreign", elf_foreign_path(p), 1);
#endif
	craft(p, 0, 0, 0, 0);
	patch(p, 4, sizeof(void *) == 8 ? 1 : 2);
	expect("foreign class", elf_kind_path(p), ELF_KIND_OTHER);
	expect("foreign class is foreign", elf_foreign_path(p), 1);
	craft(p, 0, 0, 0, 0);
	patch(p, 5, 2);
	expect("foreign byte order", elf_kind_path(p), ELF_KIND_OTHER);
	expect("foreign byte order is foreign", elf_foreign_path(p), 1);
	craft(p, 1, 1, 0, 100);
	expect("program headers cut off", elf_kind_path(p), ELF_KIND_OTHER);
	craft(p, 0, 0, 60000, 0);
	expect("phnum past the file", elf_kind_path(p), ELF_KIND_OTHER);
	craft(p, 1, 0, 0, 40);
	expect("header cut off", elf_kind_path(p), ELF_KIND_OTHER);
	chmod(p, 0644);
	craft(p, 1, 0, 0, 0);
	chmod(p, 0644);
	expect("no execute bit", elf_kind_path(p), ELF_KIND_OTHER);
	snprintf(p, sizeof p, "%s/script", argv[3]);
	craft(p, 0, 0, 0, 0);
	{
		int fd = open(p, O_WRONLY | O_TRUNC);
		if (fd < 0 || write(fd, "#!/bin/sh\n", 10) != 10)
			failures++;
		close(fd);
	}
	/* a script has its interpreter's kind */
	expect("script", elf_kind_path(p), elf_kind_path("/bin/sh"));
	script(p, "#!", argv[1], " arg\n");
	expect("script of a static interpreter", elf_kind_path(p),
	       ELF_KIND_STATIC);
	snprintf(q, sizeof q, "%s/script2", argv[3]);
	script(q, "#!", p, "\n");
	expect("script of a script", elf_kind_path(q), ELF_KIND_STATIC);
	script(p, "#!  ", argv[2], "\n");
	expect("script of a dynamic interpreter", elf_kind_path(p),
	       ELF_KIND_DYNAMIC);
	script(p, "#!", "/nonexistent/interp", "\n");
	expect("script of a missing interpreter", elf_kind_path(p),
	       ELF_KIND_OTHER);
	script(p, "#!", p, "\n");
	expect("script of itself", elf_kind_path(p), ELF_KIND_OTHER);
	errno = 1234;
	expect("missing file", elf_kind_path("/nonexistent/x"), ELF_KIND_OTHER);
	e = errno;
	expect("errno kept", e, 1234);
	expect("a directory", elf_kind_path("/"), ELF_KIND_OTHER);
	expect("a directory is not foreign", elf_foreign_path("/"), 0);
	errno = 1234;
	expect("missing file is not foreign", elf_foreign_path("/nonexistent/x"), 0);
	e = errno;
	expect("errno kept by elf_foreign_path", e, 1234);
	expect("patterns: basename", elf_patterns_match("x:ca?", "/bin/cat", 8), 1);
	expect("patterns: path", elf_patterns_match("/usr/*/cat", "/usr/bin/cat", 12), 1);
	expect("patterns: none", elf_patterns_match("cat*x:/bin", "/bin/cat", 8), 0);
	expect("patterns: star", elf_patterns_match("*", "/bin/cat", 8), 1);
	expect("patterns: empty list", elf_patterns_match("", "/bin/cat", 8), 0);
	return failures != 0;
}
