/*
 * fuzz_main.c - runs the fuzzing entry point without libFuzzer: over the
 * generated seeds, and over files and directories of inputs (the corpus,
 * the regression inputs).  Used by the tests (normal and sanitizer builds)
 * and by scripts/fuzz.sh to write the seed corpus.
 *
 *   fuzz_replay [--seeds] [--write-seeds DIR] [FILE|DIR]...
 * Exit 0 when every input ran (a crash ends the process).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz_cache.h"

static unsigned long ran;

static int run_seed(const char *name, const uint8_t *data, size_t size,
		    void *arg)
{
	(void)arg;
	(void)name;
	LLVMFuzzerTestOneInput(data, size);
	ran++;
	return 0;
}

static int write_seed(const char *name, const uint8_t *data, size_t size,
		      void *arg)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof path, "%s/seed-%s", (const char *)arg, name);
	f = fopen(path, "wb");
	if (f == NULL || fwrite(data, 1, size, f) != size || fclose(f) != 0) {
		perror(path);
		return -1;
	}
	return 0;
}

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	long len;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0) {
		perror(path);
		if (f)
			fclose(f);
		return -1;
	}
	buf = malloc((size_t)len + 1);
	if (buf == NULL || fread(buf, 1, (size_t)len, f) != (size_t)len) {
		perror(path);
		fclose(f);
		free(buf);
		return -1;
	}
	fclose(f);
	LLVMFuzzerTestOneInput(buf, (size_t)len);
	free(buf);
	ran++;
	return 0;
}

static int run_path(const char *path)
{
	struct stat st;
	DIR *d;
	struct dirent *de;
	int rc = 0;

	if (stat(path, &st) != 0) {
		perror(path);
		return -1;
	}
	if (!S_ISDIR(st.st_mode))
		return run_file(path);
	d = opendir(path);
	if (d == NULL) {
		perror(path);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		char sub[4096];
		if (de->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof sub, "%s/%s", path, de->d_name);
		if (stat(sub, &st) == 0 && S_ISREG(st.st_mode) &&
		    run_file(sub) != 0)
			rc = -1;
	}
	closedir(d);
	return rc;
}

int main(int argc, char **argv)
{
	int i, rc = 0;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--seeds") == 0) {
			if (fuzz_each_seed(run_seed, NULL) < 0)
				rc = 1;
		} else if (strcmp(argv[i], "--write-seeds") == 0 && i + 1 < argc) {
			int n = fuzz_each_seed(write_seed, argv[++i]);
			if (n < 0)
				return 1;
			printf("wrote %d seeds to %s\n", n, argv[i]);
		} else if (run_path(argv[i]) != 0) {
			rc = 1;
		}
	}
	printf("fuzz_replay: %lu inputs ran\n", ran);
	return rc;
}
