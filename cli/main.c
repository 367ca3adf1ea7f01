/*
 * main.c - `shmcache COMMAND ...`: dispatch to the subcommands, --help and
 * --version, in the manner of git.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

#ifndef SHMCACHE_VERSION
#define SHMCACHE_VERSION "unknown"
#endif

static const struct {
	const char *name;
	int (*fn)(int, char **);
	const char *summary;
} commands[] = {
	{ "run", cmd_run, "run a command under the shim, recording its paths" },
	{ "ls", cmd_ls, "list the entries of a cache" },
	{ "inputs", cmd_inputs, "paths the run read and did not write" },
	{ "outputs", cmd_outputs, "paths the run wrote, created or removed" },
	{ "tree", cmd_tree, "the entries as an indented tree" },
	{ "get", cmd_get, "look paths up (exit 1 if one is absent)" },
	{ "stats", cmd_stats, "figures of the cache and its allocator" },
	{ "verify", cmd_verify, "check the whole structure (exit 1 if damaged)" },
	{ "watch", cmd_watch, "live view of a cache being filled" },
	{ "violations", cmd_violations, "paths a sandboxed run was denied" },
	{ "fsatrace", cmd_fsatrace, "run a command, write fsatrace's output" },
	{ "depfile", cmd_depfile, "the inputs as a Make/Ninja depfile" },
	{ "diff", cmd_diff, "what differs between two caches (exit 1 if any)" },
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: shmcache [--version] [--help] COMMAND [ARGS...]\n\n"
		   "Commands:\n");
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\n'shmcache COMMAND --help' describes a command; "
		   "shmcache(1) has the details.\n");
}

int main(int argc, char **argv)
{
	/* Installed as "fsatrace" (-Dfsatrace_name=true): fsatrace's own
	 * command line. */
	const char *base = argc > 0 ? strrchr(argv[0], '/') : NULL;
	if (argc > 0 && strcmp(base ? base + 1 : argv[0], "fsatrace") == 0)
		return cmd_fsatrace(argc, argv);
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	const char *cmd = argv[1];
	if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 ||
	    strcmp(cmd, "help") == 0) {
		if (strcmp(cmd, "help") == 0 && argc > 2) {
			char *sub[] = { argv[2], (char *)"--help", NULL };
			/* sub[0] is only used in messages; --help prints none. */
			for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
				if (strcmp(argv[2], commands[i].name) == 0)
					return commands[i].fn(2, sub);
			cli_error("'%s' is not a shmcache command", argv[2]);
			return EXIT_USAGE;
		}
		usage(stdout);
		return EXIT_OK;
	}
	if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "-V") == 0) {
		printf("shmcache %s\n", SHMCACHE_VERSION);
		return EXIT_OK;
	}
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
		if (strcmp(cmd, commands[i].name) == 0) {
			/* getopt's messages and our hints name "shmcache CMD". */
			static char name[32];
			snprintf(name, sizeof name, "shmcache %s", cmd);
			argv[1] = name;
			return commands[i].fn(argc - 1, argv + 1);
		}
	}
	if (cmd[0] == '-')
		cli_error("unknown option '%s'", cmd);
	else
		cli_error("'%s' is not a shmcache command", cmd);
	fprintf(stderr, "Try 'shmcache --help'.\n");
	return EXIT_USAGE;
}
