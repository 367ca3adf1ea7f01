/*
 * policy.c - the sandbox policy of `shmcache run`: its file format and the
 * options that add to it, checked before anything runs.
 *
 * A policy file is text, one directive a line; blank lines and lines
 * starting with '#' are ignored; the word and its argument are separated by
 * blanks, and the argument is the rest of the line (trailing blanks
 * dropped), so a prefix may hold spaces:
 *
 *   allow PREFIX        paths at or under PREFIX may be used
 *   deny PREFIX         ... look absent (ENOENT) and are recorded
 *   ask PREFIX          ... are decided by the decision server
 *   default allow|deny|ask   the verdict of paths no rule names (allow)
 *   server SOCKET       the decision server's Unix socket
 *   timeout MS          bound of one server exchange (default 5000)
 *
 * Rules and the options --allow/--deny/--ask are kept in the order given
 * on the command line (a --policy file's rules where the option stands);
 * the first rule whose prefix is the path or a leading run of its
 * components wins.  A prefix is an absolute path, folded as keys are.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char *verdict_words[] = {
	[CACHE_VERDICT_ALLOW] = "allow",
	[CACHE_VERDICT_DENY] = "deny",
	[CACHE_VERDICT_ASK] = "ask",
};

int policy_verdict(const char *word)
{
	for (int v = CACHE_VERDICT_ALLOW; v <= CACHE_VERDICT_ASK; v++)
		if (strcmp(word, verdict_words[v]) == 0)
			return v;
	return -1;
}

bool policy_rule(struct cache_policy *p, int verdict, const char *prefix,
		 const char *where)
{
	const char *why = NULL;

	if (cache_policy_add(p, (enum cache_verdict)verdict, prefix, &why) ==
	    0)
		return true;
	cli_error("%s: '%s': %s", where, prefix, why);
	return false;
}

bool policy_server(struct cache_policy *p, const char *sock,
		   const char *where)
{
	/* sun_path holds 108 bytes on Linux, 104 on the BSDs and macOS */
	if (sock[0] == '\0' || strlen(sock) >= 104) {
		cli_error("%s: '%s': a socket path of 1 to 103 bytes", where,
			  sock);
		return false;
	}
	memset(p->server, 0, sizeof p->server);
	memcpy(p->server, sock, strlen(sock));
	return true;
}

bool policy_default(struct cache_policy *p, const char *word,
		    const char *where)
{
	int v = policy_verdict(word);

	if (v < 0) {
		cli_error("%s: '%s': the default is allow, deny or ask", where,
			  word);
		return false;
	}
	p->dflt = (uint32_t)v;
	return true;
}

/* One line (NUL-terminated, no newline) of the file; where names it. */
static bool policy_line(struct cache_policy *p, char *line, const char *where)
{
	char *word = line, *arg, *end;
	int v;

	while (*word == ' ' || *word == '\t')
		word++;
	if (*word == '\0' || *word == '#')
		return true;
	arg = word + strcspn(word, " \t");
	if (*arg != '\0')
		*arg++ = '\0';
	while (*arg == ' ' || *arg == '\t')
		arg++;
	end = arg + strlen(arg);
	while (end > arg && (end[-1] == ' ' || end[-1] == '\t' ||
			     end[-1] == '\r'))
		*--end = '\0';
	if (*arg == '\0') {
		cli_error("%s: '%s' needs an argument", where, word);
		return false;
	}
	if ((v = policy_verdict(word)) > 0)
		return policy_rule(p, v, arg, where);
	if (strcmp(word, "default") == 0)
		return policy_default(p, arg, where);
	if (strcmp(word, "server") == 0)
		return policy_server(p, arg, where);
	if (strcmp(word, "timeout") == 0) {
		char *e;
		unsigned long ms;
		errno = 0;
		ms = strtoul(arg, &e, 10);
		if (errno != 0 || *e != '\0' || ms == 0 || ms > 600000 ||
		    arg[0] == '-') {
			cli_error("%s: '%s': a timeout is 1 to 600000 "
				  "milliseconds", where, arg);
			return false;
		}
		p->timeout_ms = (uint32_t)ms;
		return true;
	}
	cli_error("%s: unknown directive '%s' (allow, deny, ask, default, "
		  "server, timeout)", where, word);
	return false;
}

bool policy_file(struct cache_policy *p, const char *path)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	unsigned long no = 0;
	bool ok = true;

	if (f == NULL) {
		cli_error("%s: %s", path, strerror(errno));
		return false;
	}
	while (ok && (n = getline(&line, &cap, f)) >= 0) {
		char where[4200];
		no++;
		if (n > 0 && line[n - 1] == '\n')
			line[--n] = '\0';
		if (memchr(line, '\0', (size_t)n) != NULL) {
			cli_error("%s:%lu: a NUL byte in the line", path, no);
			ok = false;
			break;
		}
		snprintf(where, sizeof where, "%s:%lu", path, no);
		ok = policy_line(p, line, where);
	}
	if (ok && ferror(f)) {
		cli_error("%s: %s", path, strerror(errno));
		ok = false;
	}
	free(line);
	fclose(f);
	return ok;
}

bool policy_check(const struct cache_policy *p)
{
	bool asks = p->dflt == CACHE_VERDICT_ASK;

	for (uint32_t i = 0; i < p->nrules; i++)
		asks |= p->rule[i].verdict == CACHE_VERDICT_ASK;
	if (asks && p->server[0] == '\0') {
		cli_error("the policy asks, but names no decision server "
			  "(--ask-server SOCKET, or 'server' in the file)");
		return false;
	}
	return true;
}
