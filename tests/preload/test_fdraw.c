/* test_fdraw.c - close_range and closefrom as the shim makes them when libc
 * lacks them (glibc < 2.34): fdpath.c alone, its raw calls checked against
 * what the kernel then says of each descriptor. */
#include "shim.h" /* first: it sets the feature macros the shim needs */

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

static int is_open(int fd)
{
	return fcntl(fd, F_GETFD) != -1 || errno != EBADF;
}

/* Descriptors lo..hi on /dev/null (numbers well above Criterion's own). */
static void open_range(int lo, int hi)
{
	struct rlimit rl;
	int fd;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur <= (rlim_t)hi)
		cr_skip_test("RLIMIT_NOFILE %llu: no descriptor %d",
			     (unsigned long long)rl.rlim_cur, hi);
	fd = open("/dev/null", O_RDONLY);

	cr_assert_geq(fd, 0);
	for (int n = lo; n <= hi; n++)
		cr_assert_eq(dup2(fd, n), n);
	close(fd);
}

Test(fdraw, close_range_closes_exactly_the_range)
{
	open_range(300, 310);
	errno = 0;
	cr_assert_eq(shim_raw_close_range(302, 308, 0), 0, "errno %d", errno);
	for (int n = 300; n <= 310; n++)
		cr_expect_eq(is_open(n), n < 302 || n > 308, "fd %d", n);
	close(300), close(301), close(309), close(310);
}

Test(fdraw, closefrom_closes_from_lowfd_up_and_keeps_errno)
{
	open_range(400, 404);
	open_range(600, 601);
	errno = 1234;
	shim_raw_closefrom(401);
	cr_expect_eq(errno, 1234);
	cr_expect(is_open(400));
	for (int n = 401; n <= 404; n++)
		cr_expect(!is_open(n), "fd %d", n);
	cr_expect(!is_open(600) && !is_open(601));
	close(400);
}
