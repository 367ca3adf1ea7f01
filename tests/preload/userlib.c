/* userlib.c - stands for a user's own LD_PRELOAD library: the shim must keep
 * it in the environment of every exec and add itself.  With USERLIB_OPEN
 * set, its constructor opens that file and says whether it could: placed
 * after the shim in LD_PRELOAD, this constructor runs before the shim's, so
 * the open goes through a hook that is not yet set up. */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

__attribute__((constructor)) static void userlib_init(void)
{
	const char *path = getenv("USERLIB_OPEN");
	int fd;

	if (path == NULL)
		return;
	fd = open(path, O_RDONLY);
	if (write(1, fd >= 0 ? "early-open-ok\n" : "early-open-failed\n",
		  fd >= 0 ? 14 : 18) < 0)
		_exit(3);
	if (fd >= 0)
		close(fd);
}

/* Referenced by the probe built to need this library, so that the linker
 * keeps it as a dependency. */
int userlib_linked(void);
int userlib_linked(void)
{
	return 0;
}
