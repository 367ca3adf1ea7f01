/*
 * sandbox_listing.c - built and run under `shmcache run` by
 * test_cli_sandbox.py: lists DIR through every libc entry point that reads
 * a directory, one line each:
 *
 *   sandbox_listing DIR
 *
 * prints "<entry point>: <names, sorted, space-separated>" for readdir_r,
 * readdir64_r, getdents64, scandir, scandir64, scandirat, scandirat64
 * (names of DIR), nftw, nftw64, ftw, ftw64, fts (paths under DIR, relative
 * to it, DIR itself as "<top>"; nftw and fts also changing directory as
 * they go: -chdir), glob, glob64 (DIR/<star>, relative; -nocheck:
 * DIR/h<star> with GLOB_NOCHECK; glob-nomagic: DIR/hid with
 * GLOB_NOMAGIC), or the
 * errno's name when the call fails ("<path>!<errno>" for an entry fts
 * cannot stat).  "." and ".." are left out.
 */
#define _GNU_SOURCE 1
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fts.h>
#include <ftw.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAXN 256

static char *names[MAXN];
static size_t nnames;
static size_t dirlen;

static void add(const char *name)
{
	if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return;
	if (nnames < MAXN)
		names[nnames++] = strdup(name);
}

/* a path under DIR, relative to it */
static void add_under(const char *path)
{
	add(path[dirlen] == '\0' ? "<top>" : path + dirlen + 1);
}

static int cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void print(const char *what, int err)
{
	printf("%s:", what);
	if (err != 0) {
		printf(" %s\n", err == ENOENT ? "ENOENT" : strerror(err));
	} else {
		qsort(names, nnames, sizeof *names, cmp);
		for (size_t i = 0; i < nnames; i++)
			printf(" %s", names[i]);
		printf("\n");
	}
	for (size_t i = 0; i < nnames; i++)
		free(names[i]);
	nnames = 0;
}

#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

static int by_readdir_r(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent ent, *r;
	int e;

	if (d == NULL)
		return errno;
	while ((e = readdir_r(d, &ent, &r)) == 0 && r != NULL)
		add(r->d_name);
	closedir(d);
	return e;
}

static int by_readdir64_r(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent64 ent, *r;
	int e;

	if (d == NULL)
		return errno;
	while ((e = readdir64_r(d, &ent, &r)) == 0 && r != NULL)
		add(r->d_name);
	closedir(d);
	return e;
}

static int by_getdents64(const char *dir)
{
	/* 4 KiB at a time: a big directory takes several calls */
	char buf[4096] __attribute__((aligned(8)));
	int fd = open(dir, O_RDONLY | O_DIRECTORY);
	ssize_t n;

	if (fd < 0)
		return errno;
	while ((n = getdents64(fd, buf, sizeof buf)) > 0) {
		for (ssize_t off = 0; off < n;) {
			struct dirent64 *e = (struct dirent64 *)(buf + off);
			add(e->d_name);
			off += e->d_reclen;
		}
	}
	close(fd);
	return n < 0 ? errno : 0;
}

/* plist: the list scandir filled (read after the call, an argument
 * beside it) */
static int take_list(struct dirent ***plist, int n)
{
	struct dirent **list = *plist;

	if (n < 0)
		return errno;
	for (int i = 0; i < n; i++) {
		add(list[i]->d_name);
		free(list[i]);
	}
	free(list);
	return 0;
}

static int take_list64(struct dirent64 ***plist, int n)
{
	return take_list((struct dirent ***)plist, n);
}

static int no_b(const struct dirent *e)
{
	return strcmp(e->d_name, "b") != 0;
}

static int walk_one(const char *path, const struct stat *st, int flag,
		    struct FTW *f)
{
	(void)st, (void)flag, (void)f;
	add_under(path);
	return 0;
}

static int walk_one64(const char *path, const struct stat64 *st, int flag,
		      struct FTW *f)
{
	(void)st, (void)flag, (void)f;
	add_under(path);
	return 0;
}

static int ftw_one(const char *path, const struct stat *st, int flag)
{
	(void)st, (void)flag;
	add_under(path);
	return 0;
}

static int ftw_one64(const char *path, const struct stat64 *st, int flag)
{
	(void)st, (void)flag;
	add_under(path);
	return 0;
}

/* an entry fts could not stat or read is "<path>!<errno>" */
static void fts_add(const FTSENT *e)
{
	char buf[4096];
	const char *rel = e->fts_path[dirlen] == '\0' ? "<top>"
						      : e->fts_path + dirlen + 1;

	if (e->fts_info == FTS_NS || e->fts_info == FTS_DNR ||
	    e->fts_info == FTS_ERR) {
		snprintf(buf, sizeof buf, "%s!%s", rel,
			 e->fts_errno == ENOENT ? "ENOENT"
						: strerror(e->fts_errno));
		add(buf);
	} else {
		add(rel);
	}
}

static int by_fts(const char *dir, int children, int opts)
{
	char *argv[] = { (char *)dir, NULL };
	FTS *t = fts_open(argv, FTS_PHYSICAL | opts, NULL);
	FTSENT *e;

	if (t == NULL)
		return errno;
	if (children) {
		if (fts_read(t) == NULL)
			return errno;
		/* a child's fts_path is complete only once fts_read
		 * returns it: its name */
		for (e = fts_children(t, 0); e != NULL; e = e->fts_link)
			add(e->fts_name);
	} else {
		while ((e = fts_read(t)) != NULL)
			if (e->fts_info != FTS_DP)
				fts_add(e);
	}
	fts_close(t);
	return 0;
}

static int by_glob(const char *dir, const char *tail, int flags,
		   int sixtyfour)
{
	char pat[4096];
	int r;

	snprintf(pat, sizeof pat, "%s/%s", dir, tail);
	if (sixtyfour) {
		glob64_t g;
		r = glob64(pat, flags, NULL, &g);
		for (size_t i = 0; r == 0 && i < g.gl_pathc; i++)
			add_under(g.gl_pathv[i]);
		if (r == 0)
			globfree64(&g);
	} else {
		glob_t g;
		r = glob(pat, flags, NULL, &g);
		for (size_t i = 0; r == 0 && i < g.gl_pathc; i++)
			add_under(g.gl_pathv[i]);
		if (r == 0)
			globfree(&g);
	}
	return r == 0 ? 0 : r == GLOB_NOMATCH ? ENOENT : EIO;
}

int main(int argc, char **argv)
{
	const char *dir;
	struct dirent **list;
	struct dirent64 **list64;
	int dfd;

	if (argc != 2)
		return 2;
	dir = argv[1];
	dirlen = strlen(dir);
	print("readdir_r", by_readdir_r(dir));
	print("readdir64_r", by_readdir64_r(dir));
	print("getdents64", by_getdents64(dir));
	print("scandir", take_list(&list, scandir(dir, &list, NULL,
						  alphasort)));
	print("scandir-filter", take_list(&list, scandir(dir, &list, no_b,
							 alphasort)));
	print("scandir64", take_list64(&list64, scandir64(dir, &list64, NULL,
							  alphasort64)));
	dfd = open(dir, O_RDONLY | O_DIRECTORY);
	print("scandirat", take_list(&list, scandirat(dfd, ".", &list, NULL,
						      alphasort)));
	print("scandirat64",
	      take_list64(&list64,
			  scandirat64(AT_FDCWD, dir, &list64, NULL, NULL)));
	close(dfd);
	print("nftw", nftw(dir, walk_one, 8, FTW_PHYS) ? errno : 0);
	print("nftw-depth", nftw(dir, walk_one, 8, FTW_PHYS | FTW_DEPTH)
				    ? errno : 0);
	print("nftw64", nftw64(dir, walk_one64, 8, FTW_PHYS) ? errno : 0);
	print("ftw", ftw(dir, ftw_one, 8) ? errno : 0);
	print("ftw64", ftw64(dir, ftw_one64, 8) ? errno : 0);
	print("nftw-chdir", nftw(dir, walk_one, 8, FTW_PHYS | FTW_CHDIR)
				    ? errno : 0);
	print("fts", by_fts(dir, 0, FTS_NOCHDIR));
	print("fts-chdir", by_fts(dir, 0, 0));
	print("fts_children", by_fts(dir, 1, FTS_NOCHDIR));
	print("fts_children-chdir", by_fts(dir, 1, 0));
	print("glob", by_glob(dir, "*", 0, 0));
	print("glob64", by_glob(dir, "*", 0, 1));
	print("glob-nocheck", by_glob(dir, "h*", GLOB_NOCHECK, 0));
	print("glob64-nocheck", by_glob(dir, "h*", GLOB_NOCHECK, 1));
	print("glob-nomagic", by_glob(dir, "hid", GLOB_NOMAGIC, 0));
	return 0;
}
