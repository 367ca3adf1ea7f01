/*
 * test_fullfs.c - an arena on a full filesystem: allocation fails as "full"
 * and opening a new file is refused, never SIGBUS (which would crash this
 * test's process).  Needs a small tmpfs of its own: mounted here when
 * permitted (root), the tests skip otherwise.
 */
#define _DEFAULT_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/mount.h>

#include "alloc_test_util.h"

static char dir[] = "/tmp/shm_alloc_fullfs_XXXXXX";
static char path[300];
static bool mounted;

static void setup(void)
{
	cr_assert_not_null(mkdtemp(dir));
	/* header + client area + a few chunks of arena and metadata */
	mounted = mount("tmpfs", dir, "tmpfs", 0, "size=1536k") == 0;
	snprintf(path, sizeof path, "%s/arena", dir);
}

static void teardown(void)
{
	unlink(path);
	if (mounted)
		umount2(dir, MNT_DETACH);
	rmdir(dir);
}

TestSuite(fullfs, .init = setup, .fini = teardown, .timeout = 60);

/* Writes zeros into a new file until the filesystem refuses. */
static void fill_filesystem(const char *name)
{
	char fill[320];
	static char zeros[65536];
	snprintf(fill, sizeof fill, "%s/%s", dir, name);
	int fd = open(fill, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	cr_assert_geq(fd, 0);
	size_t chunk = sizeof zeros;
	while (chunk > 0) {
		if (write(fd, zeros, chunk) < 0)
			chunk /= 2;
	}
	close(fd);
}

#define MAXN (1u << 20)
static shm_offt offs[MAXN];

Test(fullfs, allocation_fails_as_full_instead_of_sigbus)
{
	if (!mounted)
		cr_skip_test("cannot mount a tmpfs here (needs root)");
	struct shm_arena a;
	cr_assert_eq(shm_arena_open(&a, path, SHM_OPEN_CREATE, NULL), SHM_OK);
	/* the client area is reserved: writing all of it is safe */
	memset(shm_arena_client_area(&a), 0x5a, SHM_CLIENT_AREA_SIZE);
	cr_assert_neq(shm_arena_malloc(&a, 100), SHM_NULL);
	fill_filesystem("fill");

	size_t n = 0, sz = get_shm_max_allocatable_size() / 2;
	while (n < MAXN && (offs[n] = shm_arena_malloc(&a, sz)) != SHM_NULL) {
		/* every block handed out can be written */
		pattern_fill(SHM_ARENA_ADDR(&a, offs[n]), sz, (unsigned)n);
		n++;
	}
	cr_assert_lt(n, MAXN, "allocation never failed on a full filesystem");
	struct shm_stats st;
	cr_assert_eq(shm_arena_stats(&a, &st), SHM_OK);
	cr_assert_geq(st.failed_allocs, 1);
	cr_assert_eq(st.blocks_in_use[SHM_NCLASSES - 2], n);
	cr_assert_lt(st.max_blocks_touched, st.max_blocks_total);
	for (size_t i = 0; i < n; i++)
		cr_assert(pattern_ok(SHM_ARENA_ADDR(&a, offs[i]), sz,
				     (unsigned)i));
	/* room comes back with a free, in the reserved part */
	if (n > 0) {
		shm_arena_free(&a, offs[0]);
		cr_assert_eq(shm_arena_malloc(&a, sz), offs[0]);
	}
	/* a free of a block that was never reserved is a bad free */
	shm_offt above = SHM_NULL_REGION_SIZE +
		(shm_offt)st.max_blocks_touched *
		(shm_offt)get_shm_max_allocatable_size();
	shm_arena_free(&a, above);
	cr_assert_eq(shm_arena_stats(&a, &st), SHM_OK);
	cr_assert_eq(st.bad_frees, 1);
	cr_assert_eq(bitmap_violations(&a), 0);
	shm_arena_close(&a);
}

Test(fullfs, creating_a_file_on_a_full_filesystem_is_refused)
{
	if (!mounted)
		cr_skip_test("cannot mount a tmpfs here (needs root)");
	fill_filesystem("fill");
	struct shm_arena a;
	cr_assert_eq(shm_arena_open(&a, path, SHM_OPEN_CREATE, NULL),
		     SHM_E_NOSPACE);
	cr_assert_null(a.map);
	/* the contract reports it too; a retry is refused the same way */
	cr_assert_not(shm_init(NULL, path));
	cr_assert_eq(shm_last_error(), SHM_E_NOSPACE);
	cr_assert_eq(shm_last_errno(), ENOSPC);
	cr_assert_str_eq(shm_strerror(SHM_E_NOSPACE),
			 "no space for the cache file (its filesystem is full)");
}
