/*
 * threads64 - 64 threads doing file calls at once: opens, stats, fopen,
 * opendir/readdir, and each creating and checking a file of its own.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <pthread.h>

#include "common.h"

#define NTHREADS 64
#define ROUNDS 300

static void *worker(void *arg)
{
	unsigned id = (unsigned)(size_t)arg, i;
	long bad = 0;
	char p[32];

	mb_path(p, "t", id);
	for (i = 0; i < ROUNDS; i++) {
		FILE *f;
		DIR *d;
		struct stat st;
		unsigned n = 0;

		bad += mb_file_calls(id + i);
		f = fopen(p, i % 2 ? "a" : "w");
		if (f == NULL || fputc('x', f) == EOF || fclose(f) != 0)
			bad++;
		if (stat(p, &st) != 0 || st.st_size != (off_t)(i % 2 + 1))
			bad++;
		if (i % 16 == 0) {
			d = opendir("data");
			if (d == NULL) {
				bad++;
			} else {
				while (readdir(d) != NULL)
					n++;
				closedir(d);
				if (n < MB_NFILES + 2)
					bad++;
			}
		}
	}
	return (void *)bad;
}

int main(void)
{
	pthread_t t[NTHREADS];
	long bad = 0;
	size_t i;

	mb_make_tree();
	for (i = 0; i < NTHREADS; i++)
		if (pthread_create(&t[i], NULL, worker, (void *)i) != 0)
			return 2;
	for (i = 0; i < NTHREADS; i++) {
		void *r;
		pthread_join(t[i], &r);
		bad += (long)r;
	}
	printf("threads64: %d threads x %d rounds, bad %ld\n", NTHREADS,
	       ROUNDS, bad);
	return bad == 0 ? 0 : 1;
}
