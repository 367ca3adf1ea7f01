/* statnames.c - stats every name in a file of NUL-terminated names, from
 * the current directory, in order; the outcome does not matter (most names
 * do not exist).  Run under the shim by test_cli_normalise.py, whose CLI
 * lookups of the same names must find exactly the keys the shim recorded.
 * Usage: statnames FILE.  Exit 0 once every name was tried. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	static char buf[4 << 20];
	size_t len = 0, i;
	ssize_t n;
	struct stat st;
	int fd;

	if (argc != 2) {
		fprintf(stderr, "usage: statnames FILE\n");
		return 2;
	}
	fd = open(argv[1], O_RDONLY);
	if (fd < 0) {
		perror(argv[1]);
		return 1;
	}
	while (len < sizeof buf &&
	       (n = read(fd, buf + len, sizeof buf - len)) > 0)
		len += (size_t)n;
	close(fd);
	if (len == 0 || len == sizeof buf || buf[len - 1] != '\0') {
		fprintf(stderr, "%s: not a list of NUL-terminated names\n",
			argv[1]);
		return 1;
	}
	for (i = 0; i < len; i += strlen(buf + i) + 1)
		(void)stat(buf + i, &st);
	return 0;
}
