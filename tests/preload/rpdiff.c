/*
 * rpdiff.c - runs under the shim and compares its realpath,
 * canonicalize_file_name and __realpath_chk with glibc's own (looked up in
 * libc.so.6 itself), name by name: result, errno (also after a success:
 * glibc leaves the last readlink's EINVAL there), and every byte of a
 * caller's buffer.
 *
 *   rpdiff [nobody] NAME...   one line per difference, then "checked N";
 *                             "nobody": as uid/gid 65534 when root, so that
 *                             EACCES happens.  "@rmcwd" as a NAME: resolves
 *                             "x", "." and "/" from a directory that was
 *                             removed (the names after it too); "@deep"
 *                             the same from a directory 5000 bytes deep.
 *   rpdiff one hooked|libc NAME   one realpath(NAME, NULL) between two
 *                             marker system calls (for strace).
 */
#define _GNU_SOURCE 1
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

typedef char *(*realpath_fn)(const char *, char *);
typedef char *(*canon_fn)(const char *);
typedef char *(*chk_fn)(const char *, char *, size_t);

extern char *__realpath_chk(const char *, char *, size_t);

static realpath_fn libc_realpath;
static canon_fn libc_canon;
static chk_fn libc_chk;
static int differences;

static void *libc_sym(void *h, const char *name)
{
	void *p = dlsym(h, name);

	if (p == NULL) {
		fprintf(stderr, "no %s in libc\n", name);
		exit(2);
	}
	return p;
}

static int same_str(const char *a, const char *b)
{
	return (a == NULL && b == NULL) ||
	       (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static void report(const char *what, const char *name, const char *ours,
		   int eours, const char *theirs, int etheirs)
{
	printf("differ %s %s: shim %s errno %d, libc %s errno %d\n", what, name,
	       ours ? ours : "(null)", eours, theirs ? theirs : "(null)",
	       etheirs);
	differences++;
}

static void check_alloc(const char *what, const char *name, int canon)
{
	char *a, *b;
	int ea, eb;

	errno = 0;
	a = canon ? canonicalize_file_name(name) : realpath(name, NULL);
	ea = errno;
	errno = 0;
	b = canon ? libc_canon(name) : libc_realpath(name, NULL);
	eb = errno;
	if (!same_str(a, b) || ea != eb)
		report(what, name, a, ea, b, eb);
	free(a);
	free(b);
}

static void check_buffer(const char *name, int chk)
{
	static char a[PATH_MAX + 64], b[PATH_MAX + 64];
	char *ra, *rb;
	int ea, eb;

	memset(a, 'X', sizeof a);
	memset(b, 'X', sizeof b);
	errno = 0;
	ra = chk ? __realpath_chk(name, a, PATH_MAX) : realpath(name, a);
	ea = errno;
	errno = 0;
	rb = chk ? libc_chk(name, b, PATH_MAX) : libc_realpath(name, b);
	eb = errno;
	if ((ra == NULL) != (rb == NULL) || (ra != NULL && ra != a) ||
	    ea != eb || memcmp(a, b, sizeof a) != 0)
		report(chk ? "chk" : "buffer", name, ra ? a : NULL, ea,
		       rb ? b : NULL, eb);
}

static void check(const char *name)
{
	check_alloc("alloc", name, 0);
	check_alloc("canon", name, 1);
	check_buffer(name, 0);
	check_buffer(name, 1);
}

static void as_nobody(void)
{
	if (getuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0)) {
		perror("setuid");
		exit(2);
	}
}

int main(int argc, char **argv)
{
	void *h = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
	int i = 1, n = 0;

	if (h == NULL) {
		fprintf(stderr, "libc.so.6 not loaded\n");
		return 2;
	}
	libc_realpath = (realpath_fn)libc_sym(h, "realpath");
	libc_canon = (canon_fn)libc_sym(h, "canonicalize_file_name");
	libc_chk = (chk_fn)libc_sym(h, "__realpath_chk");
	if ((void *)libc_realpath == (void *)realpath) {
		fprintf(stderr, "realpath is not hooked\n");
		return 2;
	}
	if (argc == 4 && strcmp(argv[1], "one") == 0) {
		realpath_fn f = strcmp(argv[2], "libc") == 0 ? libc_realpath
							     : realpath;
		char *r;
		syscall(SYS_getppid); /* markers for strace */
		r = f(argv[3], NULL);
		syscall(SYS_getppid);
		printf("%s\n", r ? r : "(null)");
		free(r);
		return 0;
	}
	if (argc > 1 && strcmp(argv[1], "nobody") == 0) {
		as_nobody();
		i++;
	}
	for (; i < argc; i++, n++) {
		if (strcmp(argv[i], "@rmcwd") == 0) {
			char dir[] = "/tmp/rpdiff-gone-XXXXXX";
			if (mkdtemp(dir) == NULL || chdir(dir) != 0 ||
			    rmdir(dir) != 0) {
				perror("rmcwd");
				return 2;
			}
			check("x");
			check(".");
			check("/");
			continue;
		}
		if (strcmp(argv[i], "@deep") == 0) {
			/* a current directory deeper than PATH_MAX: the
			 * result does not fit a caller's buffer */
			char comp[251];
			memset(comp, 'd', sizeof comp - 1);
			comp[sizeof comp - 1] = '\0';
			for (int k = 0; k < 20; k++)
				if ((mkdir(comp, 0755) != 0 && errno != EEXIST) ||
				    chdir(comp) != 0) {
					perror("deep");
					return 2;
				}
			check(".");
			check("x");
			check("../..");
			continue;
		}
		check(argv[i]);
	}
	check_alloc("alloc", NULL, 0);
	check_buffer(NULL, 0);
	printf("checked %d differences %d\n", n, differences);
	return differences != 0;
}
