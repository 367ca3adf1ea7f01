/*
 * cmd_run.c - `shmcache run [-o CACHE] -- CMD [ARGS...]`: runs CMD with the
 * shim preloaded and SHMCACHE_FILE set, forwards signals, exits with CMD's
 * status, then reports (and removes a temporary cache).
 */
/* realpath is XSI; MAP_ANONYMOUS is not POSIX (Linux, the BSDs, macOS). */
#define _XOPEN_SOURCE 700
#define _DEFAULT_SOURCE 1

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"

#ifdef __APPLE__
#define PRELOAD_VAR "DYLD_INSERT_LIBRARIES"
#define LIB_NAME "libshmcache.dylib"
#else
#define PRELOAD_VAR "LD_PRELOAD"
#define LIB_NAME "libshmcache.so"
#endif

#ifdef __APPLE__
#include <crt_externs.h>
#define environ (*_NSGetEnviron())
#else
extern char **environ;
#endif

#ifndef SHMCACHE_LIBDIR
#define SHMCACHE_LIBDIR "/usr/local/lib"
#endif
#ifndef SHMCACHE_LIBDIR_REL
#define SHMCACHE_LIBDIR_REL "lib"
#endif

static const char *const run_help =
	"Usage: shmcache run [OPTIONS] [--] CMD [ARGS...]\n"
	"Run CMD with " LIB_NAME " preloaded; every process it starts records\n"
	"the paths it names into one cache.  Exits with CMD's status (128+N if\n"
	"signal N killed it).  Without -o the cache is temporary: its listing\n"
	"goes to stderr (or --report FILE) and it is removed.\n\n"
	"  -o, --output CACHE keep the cache in CACHE; an existing cache is\n"
	"                     added to, any other existing file is refused\n"
	"      --fresh        with -o: replace an existing cache by an empty one\n"
	"  -k, --keep         keep the temporary cache and print its path\n"
	"  -r, --report FILE  write the listing to FILE (also with -o)\n"
	"  -L, --lib PATH     the shim to preload (default: $SHMCACHE_LIB, else\n"
	"                     found next to this program)\n"
	"  -d, --debug        set SHMCACHE_DEBUG=1 (the shim reports on stderr)\n"
	"      --supervise PATTERN  also start programs whose path (with a\n"
	"                     '/') or name matches PATTERN ('*', '?'; ':' or\n"
	"                     repeated for more) under the seccomp supervisor\n"
	"      --no-supervise run static and Go programs untraced instead of\n"
	"                     under the seccomp supervisor (which sets\n"
	"                     no_new_privs: set-user-ID programs started below\n"
	"                     a supervised one run without their privileges)\n"
	"      --audit-loader also record where the dynamic loader looked for\n"
	"                     shared objects in vain (LD_AUDIT: slower starts)\n"
	"      --progress     a live status line on stderr while CMD runs\n"
	"                     (entries, records/s, processes; default when\n"
	"                     stderr is a terminal)\n"
	"      --no-progress  no status line\n"
	"\nSandbox (a check against accidental dependencies, not a security\n"
	"boundary): a denied path looks absent (ENOENT) and is recorded.\n"
	"      --allow PREFIX, --deny PREFIX, --ask PREFIX\n"
	"                     a rule; the first whose prefix (whole components)\n"
	"                     leads to the path wins\n"
	"      --policy FILE  the rules and settings of FILE (see shmcache(1))\n"
	"      --default allow|deny|ask  for paths no rule names (allow)\n"
	"      --ask-server SOCKET  the decision server of `ask` paths\n"
	"      --strict       exit 1 if CMD succeeded but a path was denied\n"
	"      --no-decision-cache  decide every call again (benchmarks)\n"
	"  -h, --help         this help\n";

struct run_opts {
	const char *output, *report, *lib;
	char *supervise; /* --supervise patterns, ':'-joined (malloc'd) */
	bool keep, fresh, debug, audit, no_supervise;
	enum run_progress_mode progress;
	bool strict, no_decision_cache;
	struct cache_policy *policy; /* NULL: no sandbox */
};

static volatile sig_atomic_t child_pid;      /* CMD while it runs, else 0 */
static volatile sig_atomic_t pending_signal; /* one with no CMD to take it */

/* The signals run passes on to CMD: every catchable one that asks a
 * process to end or to take note, as kill(1) aimed at run means it for
 * CMD.  Not passed on: the faults (SIGSEGV, SIGBUS, ...), SIGPIPE, SIGXCPU
 * and SIGXFSZ, which the kernel raises for run's own doing; SIGCHLD; and
 * the stops (SIGTSTP, SIGTTIN, SIGTTOU), which stop run itself as they
 * would any job, and SIGSTOP and SIGKILL, which cannot be caught. */
static const int forwarded_fixed[] = {
	SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGALRM,
	SIGVTALRM, SIGPROF, SIGCONT, SIGURG,
#ifdef SIGWINCH
	SIGWINCH,
#endif
#if defined(SIGIO) && SIGIO != SIGURG
	SIGIO,
#endif
#ifdef SIGPWR
	SIGPWR,
#endif
};
#define NFIXED (sizeof forwarded_fixed / sizeof forwarded_fixed[0])

/* The i-th forwarded signal (the fixed list, then the real-time
 * signals), 0 past the last. */
static int forwarded_signal(size_t i)
{
	if (i < NFIXED)
		return forwarded_fixed[i];
#ifdef SIGRTMIN
	if ((int)(i - NFIXED) <= SIGRTMAX - SIGRTMIN)
		return SIGRTMIN + (int)(i - NFIXED);
#endif
	return 0;
}

/* Signals whose default action does not end a process. */
static bool harmless(int sig)
{
	return sig == SIGCONT || sig == SIGURG
#ifdef SIGWINCH
	       || sig == SIGWINCH
#endif
		;
}

/* A signal another process sent us goes on to CMD.  One the terminal
 * sends (Ctrl-C) already reached CMD, which shares our process group:
 * passing it on would deliver it twice.  With no CMD running (before it
 * starts, after it ended) a signal that would end run is kept, so that
 * run removes its temporary cache and then ends by that signal. */
static void on_signal(int sig, siginfo_t *info, void *ctx)
{
	(void)ctx;
	int saved = errno;
	pid_t pid = (pid_t)child_pid;
	if (pid <= 0) {
		if (!harmless(sig))
			pending_signal = sig;
	} else if (info != NULL && info->si_pid != pid &&
		   (info->si_code == SI_USER || info->si_code == SI_QUEUE
#ifdef SI_TKILL
		    || info->si_code == SI_TKILL
#endif
		    )) {
		kill(pid, sig);
	}
	errno = saved;
}

/* Room for every forwarded signal's disposition on entry. */
#define NSAVED (NFIXED + 64)
static struct sigaction saved_actions[NSAVED];

/* Takes the forwarded signals (on_signal), except those ignored on entry
 * (nohup's SIGHUP, a background job's SIGINT), which stay ignored for run
 * and CMD alike; saved_actions keeps the dispositions on entry. */
static void catch_signals(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_signal;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < NSAVED && forwarded_signal(i) != 0; i++) {
		int sig = forwarded_signal(i);
		sigaction(sig, NULL, &saved_actions[i]);
		if (!(saved_actions[i].sa_flags & SA_SIGINFO) &&
		    saved_actions[i].sa_handler == SIG_IGN)
			continue;
		sigaction(sig, &sa, NULL);
	}
}

/* Gives the forwarded signals back their dispositions on entry (in run
 * at the end, in CMD before exec). */
static void restore_signals(void)
{
	for (size_t i = 0; i < NSAVED && forwarded_signal(i) != 0; i++)
		sigaction(forwarded_signal(i), &saved_actions[i], NULL);
}

static void forwarded_set(sigset_t *set)
{
	sigemptyset(set);
	for (size_t i = 0; forwarded_signal(i) != 0; i++)
		sigaddset(set, forwarded_signal(i));
}

/* The shim to preload, as a malloc'd absolute path, or NULL (reported). */
static char *find_lib(const char *opt)
{
	const char *given = opt != NULL ? opt : getenv("SHMCACHE_LIB");
	if (given != NULL && given[0] != '\0') {
		char *abs = realpath(given, NULL);
		if (abs == NULL || !cli_regular_file(abs, R_OK)) {
			cli_error("%s: cannot use the shim library: %s", given,
				  abs == NULL ? strerror(errno) :
				  "not a readable file");
			free(abs);
			return NULL;
		}
		return abs;
	}
	/* The build tree first, then an installed layout. */
	static const char *const rel[] = {
		"/../preload/" LIB_NAME,
		"/../" SHMCACHE_LIBDIR_REL "/" LIB_NAME,
		"/../lib/" LIB_NAME,
		"/../lib64/" LIB_NAME,
	};
	char *found = cli_locate(rel, sizeof rel / sizeof rel[0],
				 SHMCACHE_LIBDIR "/" LIB_NAME, R_OK);
	if (found != NULL)
		return found;
	cli_error("cannot find %s next to this program nor in %s; name it "
		  "with --lib or SHMCACHE_LIB", LIB_NAME, SHMCACHE_LIBDIR);
	return NULL;
}

static char *str_concat(const char *a, const char *b, const char *c)
{
	size_t la = strlen(a), lb = strlen(b), lc = strlen(c);
	char *s = malloc(la + lb + lc + 1);
	if (s == NULL)
		return NULL;
	memcpy(s, a, la);
	memcpy(s + la, b, lb);
	memcpy(s + la + lb, c, lc + 1);
	return s;
}

/* e: errno after the attach, the system's reason when the file could not
 * be opened (a missing directory, no permission). */
static void say_cannot_create(const char *target, int r,
			      const struct cache *c, int e)
{
	bool sys = r == CACHE_E_ARENA &&
		   (c->arena_err == SHM_E_OPEN || c->arena_err == SHM_E_NOSPACE) &&
		   e != 0;
	cli_error("%s: cannot create the cache: %s%s%s%s%s", target,
		  cache_strerror(r), r == CACHE_E_ARENA ? ": " : "",
		  r == CACHE_E_ARENA ? shm_strerror(c->arena_err) : "",
		  sys ? ": " : "", sys ? strerror(e) : "");
}

/* Makes a cache at target, which did not exist: the allocator publishes
 * the file only once it is complete and never replaces one that appeared
 * meanwhile, so of runs racing to create it one does and the others add
 * to its cache. */
static bool create_cache_new(const char *target)
{
	struct cache c;
	errno = 0;
	int r = cache_attach(&c, target, CACHE_ATTACH_CREATE);
	if (r != CACHE_OK) {
		say_cannot_create(target, r, &c, errno);
		return false;
	}
	cache_detach(&c);
	return true;
}

/* Makes an empty cache and renames it onto target, replacing what is there
 * (--fresh, or the name mkstemp reserved): the cache is built in a private
 * directory next to target, so nobody sees it half-made. */
static bool replace_cache_at(const char *target)
{
	const char *slash = strrchr(target, '/');
	char *dir = strndup(target, (size_t)(slash - target));
	char *tmpl = dir ? str_concat(dir[0] ? dir : "/", "/.shmcache-", "XXXXXX")
			 : NULL;
	char *file = NULL;
	bool ok = false;
	if (tmpl == NULL || mkdtemp(tmpl) == NULL) {
		cli_error("%s: cannot create the cache: cannot make a "
			  "temporary directory in %s: %s", target,
			  dir && dir[0] ? dir : "/", strerror(errno));
		goto out;
	}
	file = str_concat(tmpl, "/cache", "");
	struct cache c;
	memset(&c, 0, sizeof c);
	errno = 0;
	int r = file ? cache_attach(&c, file, CACHE_ATTACH_CREATE) : CACHE_E_ARENA;
	if (r != CACHE_OK) {
		say_cannot_create(target, r, &c, errno);
	} else {
		cache_detach(&c);
		ok = rename(file, target) == 0;
		if (!ok)
			cli_error("%s: %s", target, strerror(errno));
	}
	if (file != NULL)
		unlink(file);
	rmdir(tmpl);
out:
	free(file);
	free(tmpl);
	free(dir);
	return ok;
}

static void refuse_existing(const struct run_opts *o)
{
	cli_error("%s: refusing to use an existing file that is not a "
		  "usable cache", o->output);
}

/* --fresh: an existing cache of ours is replaced by an empty one. */
static bool use_existing_fresh(const struct run_opts *o, const char *path)
{
	struct cache c;
	if (!cli_open_cache(o->output, &c)) {
		refuse_existing(o);
		return false;
	}
	cache_detach(&c);
	if (!replace_cache_at(path))
		return false;
	cli_note("%s: replaced by an empty cache", o->output);
	return true;
}

/* An existing cache is attached as the shim will attach it: writable, and
 * formatting the cache header of a file that another run or the shim has
 * just published and not yet formatted.  A cache that can be read but not
 * written (a read-only file system, a file mode without write) is used:
 * CMD runs, unrecorded, and *unwritable says that it was said why. */
static bool use_existing(const struct run_opts *o, const char *path,
			 bool *unwritable)
{
	struct cache c;
	struct cache_stats s;
	errno = 0;
	int r = cache_attach(&c, path, CACHE_ATTACH_CREATE);
	int e = errno;
	if (r == CACHE_OK) {
		bool have = cache_stats(&c, &s, false) == CACHE_OK;
		cache_detach(&c);
		cli_note("%s: adding to the existing cache (%llu entries)",
			 o->output, have ? (unsigned long long)s.entries : 0ULL);
		return true;
	}
	const char *why = r != CACHE_E_ARENA ? cache_strerror(r) :
			  c.arena_err == SHM_E_OPEN && e != 0 ? strerror(e) :
			  shm_strerror(c.arena_err);
	if (!cli_open_cache(o->output, &c)) {
		refuse_existing(o);
		return false;
	}
	cache_detach(&c);
	cli_warn("%s: the shim cannot attach the cache: it cannot be opened "
		 "for writing: %s; the command runs, but nothing it does is "
		 "recorded", o->output, why);
	*unwritable = true;
	return true;
}

/* Prepares the cache CMD will fill.  Returns its absolute path or NULL. */
static char *prepare_cache(const struct run_opts *o, bool *unwritable)
{
	if (o->output == NULL) {
		char *tmpl = str_concat(cli_runtime_dir(), "/shmcache-", "XXXXXX");
		if (tmpl == NULL)
			return NULL;
		/* mkstemp reserves a fresh name (O_EXCL, 0600); the cache is
		 * then renamed over it. */
		int fd = mkstemp(tmpl);
		if (fd < 0) {
			cli_error("%s: %s", tmpl, strerror(errno));
			free(tmpl);
			return NULL;
		}
		close(fd);
		if (!replace_cache_at(tmpl)) {
			unlink(tmpl);
			free(tmpl);
			return NULL;
		}
		return tmpl;
	}
	char *path;
	if (o->output[0] == '/') {
		path = strdup(o->output);
	} else {
		char cwd[4096];
		if (getcwd(cwd, sizeof cwd) == NULL) {
			cli_error("cannot get the current directory: %s",
				  strerror(errno));
			return NULL;
		}
		path = str_concat(cwd, "/", o->output);
	}
	if (path == NULL)
		return NULL;
	struct stat st;
	if (lstat(path, &st) != 0) {
		if (errno != ENOENT) {
			cli_error("%s: %s", o->output, strerror(errno));
			free(path);
			return NULL;
		}
		if (create_cache_new(path))
			return path;
		free(path);
		return NULL;
	}
	if (!(o->fresh ? use_existing_fresh(o, path)
		       : use_existing(o, path, unwritable))) {
		free(path);
		return NULL;
	}
	return path;
}

/* LD_AUDIT with the audit module next to lib appended to the user's, and
 * SHMCACHE_AUDIT=1, which has the shim put it back into an environment
 * that lost it. */
static bool set_audit(const char *lib)
{
#ifdef __APPLE__
	(void)lib;
	cli_error("--audit-loader: no rtld-audit interface on this system");
	return false;
#else
	const char *slash = strrchr(lib, '/');
	char *dir = strndup(lib, (size_t)(slash - lib));
	char *audit = dir ? str_concat(dir, "/", "libshmcache-audit.so") : NULL;
	const char *old = getenv("LD_AUDIT");
	char *v = NULL;
	bool ok = false;

	if (audit != NULL && !cli_regular_file(audit, R_OK))
		cli_error("%s: cannot use the audit library: not a readable "
			  "file", audit);
	else if (audit != NULL)
		v = old != NULL && old[0] != '\0' ? str_concat(old, ":", audit)
						   : strdup(audit);
	ok = v != NULL && setenv("LD_AUDIT", v, 1) == 0 &&
	     setenv("SHMCACHE_AUDIT", "1", 1) == 0;
	free(v);
	free(audit);
	free(dir);
	return ok;
#endif
}

/* LD_PRELOAD with lib appended to what the user already preloads. */
static bool set_preload(const char *lib)
{
	if (strpbrk(lib, ": \t\n") != NULL) {
		cli_error("%s: the shim's path holds a separator of %s "
			  "(':' or a space): install it elsewhere", lib,
			  PRELOAD_VAR);
		return false;
	}
	const char *old = getenv(PRELOAD_VAR);
	if (old == NULL || old[0] == '\0')
		return setenv(PRELOAD_VAR, lib, 1) == 0;
	/* Already there (a nested run): keep the list as it is. */
	size_t ll = strlen(lib);
	for (const char *p = old; (p = strstr(p, lib)) != NULL; p += ll) {
		bool start = p == old || strchr(": \t", p[-1]) != NULL;
		bool end = p[ll] == '\0' || strchr(": \t", p[ll]) != NULL;
		if (start && end)
			return true;
	}
	char *v = str_concat(old, ":", lib);
	bool ok = v != NULL && setenv(PRELOAD_VAR, v, 1) == 0;
	free(v);
	return ok;
}

/* The sandbox options, beyond getopt's letters. */
enum {
	RUN_OPT_ALLOW = 0x100,
	RUN_OPT_DENY,
	RUN_OPT_ASK,
	RUN_OPT_POLICY,
	RUN_OPT_DEFAULT,
	RUN_OPT_SERVER,
	RUN_OPT_STRICT,
	RUN_OPT_NOCACHE,
};

/* One sandbox option: the policy is made on the first rule or setting. */
static bool sandbox_opt(struct run_opts *o, int c, const char *arg)
{
	if (c == RUN_OPT_STRICT || c == RUN_OPT_NOCACHE) {
		*(c == RUN_OPT_STRICT ? &o->strict : &o->no_decision_cache) =
			true;
		return true;
	}
	if (o->policy == NULL) {
		o->policy = calloc(1, sizeof *o->policy);
		if (o->policy == NULL) {
			cli_error("out of memory");
			return false;
		}
		o->policy->dflt = CACHE_VERDICT_ALLOW;
	}
	switch (c) {
	case RUN_OPT_ALLOW:
		return policy_rule(o->policy, CACHE_VERDICT_ALLOW, arg, "--allow");
	case RUN_OPT_DENY:
		return policy_rule(o->policy, CACHE_VERDICT_DENY, arg, "--deny");
	case RUN_OPT_ASK:
		return policy_rule(o->policy, CACHE_VERDICT_ASK, arg, "--ask");
	case RUN_OPT_POLICY:
		return policy_file(o->policy, arg);
	case RUN_OPT_DEFAULT:
		return policy_default(o->policy, arg, "--default");
	default:
		return policy_server(o->policy, arg, "--ask-server");
	}
}

/* Writes the policy into the cache before CMD starts. */
static bool store_policy(const struct run_opts *o, const char *cache)
{
	struct cache c;
	int r = cache_attach(&c, cache, 0);

	if (r != CACHE_OK) {
		cli_error("%s: cannot store the policy: %s", cache,
			  r == CACHE_E_ARENA ? shm_strerror(c.arena_err)
					     : cache_strerror(r));
		return false;
	}
	r = cache_policy_store(&c, o->policy);
	cache_detach(&c);
	if (r == CACHE_E_VERSION)
		cli_error("%s: holds a policy already (a cache keeps the "
			  "policy of its first run: use --fresh)", cache);
	else if (r != CACHE_OK)
		cli_error("%s: cannot store the policy: %s", cache,
			  cache_strerror(r));
	return r == CACHE_OK;
}

/* After CMD: the sandbox's figures on stderr; with --strict, a denied
 * path turns CMD's success into 1. */
static int sandbox_report(const struct run_opts *o, const char *cache,
			  int rc)
{
	struct cache c;
	uint64_t n[CACHE_PC_COUNT], denied = 0, unknown = 0;

	if (cache_attach(&c, cache, CACHE_ATTACH_RDONLY) != CACHE_OK)
		return rc;
	cache_policy_counters(&c, n);
	cache_detach(&c);
	if (!violations_count(cache, &denied, &unknown))
		return rc == 0 ? EXIT_RUN_ERROR : rc;
	cli_note("sandbox: %llu path%s denied (%llu call%s not made), %llu "
		 "undecided and allowed, %llu server round trip%s (%llu "
		 "double)%s",
		 (unsigned long long)denied, denied == 1 ? "" : "s",
		 (unsigned long long)n[CACHE_PC_DENIED_CALLS],
		 n[CACHE_PC_DENIED_CALLS] == 1 ? "" : "s",
		 (unsigned long long)unknown,
		 (unsigned long long)n[CACHE_PC_ASKS],
		 n[CACHE_PC_ASKS] == 1 ? "" : "s",
		 (unsigned long long)n[CACHE_PC_DOUBLE_ASKS],
		 denied + unknown > 0 && o->output != NULL
			 ? ": shmcache violations CACHE lists them"
			 : "");
	if (o->strict && denied > 0 && rc == 0)
		return EXIT_NEGATIVE;
	return rc;
}

/* --supervise PATTERNS: each adds to the ':'-separated list.  False when
 * out of memory. */
static bool add_supervise_pattern(struct run_opts *o, const char *patterns)
{
	char *v = o->supervise == NULL ? strdup(patterns)
				       : str_concat(o->supervise, ":", patterns);
	free(o->supervise);
	o->supervise = v;
	return v != NULL;
}

/* The options' combinations that parse_run_opts cannot see one at a time:
 * -1 when they hold, else the exit code (reported). */
static int check_run_opts(const char *cmd, struct run_opts *o)
{
	if (o->fresh && o->output == NULL)
		return cli_usage_error(cmd, "--fresh needs -o CACHE");
	if (o->keep && o->output != NULL)
		return cli_usage_error(cmd, "--keep is for a temporary "
				       "cache; -o keeps its cache anyway");
	if ((o->strict || o->no_decision_cache) && o->policy == NULL)
		return cli_usage_error(cmd, "%s needs a policy",
				       o->strict ? "--strict"
						 : "--no-decision-cache");
	if (o->no_decision_cache)
		o->policy->flags |= CACHE_POLICY_NO_DECISION_CACHE;
	if (o->policy != NULL && !policy_check(o->policy))
		return EXIT_USAGE;
	return -1;
}

static int parse_run_opts(int argc, char **argv, struct run_opts *o)
{
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "fresh", no_argument, NULL, 'F' },
		{ "keep", no_argument, NULL, 'k' },
		{ "report", required_argument, NULL, 'r' },
		{ "lib", required_argument, NULL, 'L' },
		{ "debug", no_argument, NULL, 'd' },
		{ "audit-loader", no_argument, NULL, 'A' },
		{ "allow", required_argument, NULL, RUN_OPT_ALLOW },
		{ "deny", required_argument, NULL, RUN_OPT_DENY },
		{ "ask", required_argument, NULL, RUN_OPT_ASK },
		{ "policy", required_argument, NULL, RUN_OPT_POLICY },
		{ "default", required_argument, NULL, RUN_OPT_DEFAULT },
		{ "ask-server", required_argument, NULL, RUN_OPT_SERVER },
		{ "strict", no_argument, NULL, RUN_OPT_STRICT },
		{ "no-decision-cache", no_argument, NULL, RUN_OPT_NOCACHE },
		{ "progress", no_argument, NULL, 'P' },
		{ "no-progress", no_argument, NULL, 'N' },
		{ "supervise", required_argument, NULL, 'S' },
		{ "no-supervise", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	/* '+': stop at CMD, whose own options are not ours. */
	while ((c = getopt_long(argc, argv, "+o:kr:L:dh", longopts, NULL)) != -1) {
		switch (c) {
		case 'o': o->output = optarg; break;
		case 'F': o->fresh = true; break;
		case 'k': o->keep = true; break;
		case 'r': o->report = optarg; break;
		case 'L': o->lib = optarg; break;
		case 'd': o->debug = true; break;
		case 'A': o->audit = true; break;
		case 'P': o->progress = PROGRESS_ON; break;
		case 'N': o->progress = PROGRESS_OFF; break;
		case 'n': o->no_supervise = true; break;
		case 'S':
			if (!add_supervise_pattern(o, optarg))
				return cli_usage_error(argv[0], "out of memory");
			break;
		case 'h':
			fputs(run_help, stdout);
			return EXIT_OK;
		default:
			if (c >= RUN_OPT_ALLOW && c <= RUN_OPT_NOCACHE) {
				if (!sandbox_opt(o, c, optarg))
					return EXIT_USAGE;
				break;
			}
			return cli_usage_error(argv[0], "bad usage");
		}
	}
	if (optind >= argc)
		return cli_usage_error(argv[0], "no command to run");
	return check_run_opts(argv[0], o);
}

/* ---- CMD's own exec, recorded as the shim records an exec ---------------
 * The shim is not loaded into this program: CMD's program, and the PATH
 * search that finds it, are recorded here, into the cache the run fills,
 * with the same keys and bits as the shim's execvp (EXEC before each
 * candidate's execve; EXEC and the outcome when it fails). */

/* Records made here, counted in a page shared with the parent: a cache
 * holding no more was filled by no shim (cli_report says so). */
static uint64_t *exec_own_records;

/* Records path (its key made as the shim makes it) with ops; nothing when
 * c is NULL (the cache could not be attached for writing). */
static void exec_record(struct cache *c, const char *path, uint64_t ops)
{
	if (c == NULL)
		return;
	char *key = path_normalize(path);
	int r = key != NULL ? cache_record(c, key, strlen(key), ops) : CACHE_OK;

	if (r == CACHE_OK && key != NULL && exec_own_records != NULL)
		++*exec_own_records;
	if (key == NULL)
		cli_warn("%s: not recorded: %s", path, strerror(errno));
	/* too long or a full cache: counted in the cache, reported at the end */
	else if (r != CACHE_OK && r != CACHE_E_TOOLONG && r != CACHE_E_FULL)
		cli_warn("%s: not recorded: %s", path, cache_strerror(r));
	free(key);
}

/* Sandbox mode: the decision bits of path's exec, or RUN_SB_DENY. */
static uint64_t exec_gate(struct cache *c, const char *path)
{
	char *key = c != NULL ? path_normalize(path) : NULL;
	uint64_t d = key != NULL ? run_sandbox_exec_gate(c, key) : 0;

	free(key);
	return d;
}

/* execve of path, recorded; a file the kernel cannot run (ENOEXEC) is run
 * by /bin/sh, as execvp does; a program the policy denies is not run (it
 * fails as a missing one).  Returns with errno set when it fails. */
static void exec_try(struct cache *c, const char *path, char **argv)
{
	int e;
	uint64_t d = exec_gate(c, path);

	if (d == RUN_SB_DENY) {
		errno = ENOENT;
		return;
	}
	exec_record(c, path, CACHE_OP_EXEC | d);
	char **sv = run_supervise_argv(path, argv);
	if (sv != NULL) {
		execve(sv[0], sv, environ);
		free(sv);
	}
	execve(path, argv, environ);
	e = errno;
	exec_record(c, path,
		    cache_call_value(CACHE_OP_EXEC, true, e) | d);
	if (e == ENOEXEC && (d = exec_gate(c, "/bin/sh")) == RUN_SB_DENY) {
		errno = ENOENT;
		return;
	}
	if (e == ENOEXEC) {
		size_t n = 0;
		while (argv[n] != NULL)
			n++;
		char **sh = malloc((n + 2) * sizeof *sh);
		if (sh != NULL) {
			sh[0] = "/bin/sh";
			sh[1] = (char *)path;
			memcpy(sh + 2, argv + (n > 0), (n > 0 ? n : 1) * sizeof *sh);
			exec_record(c, "/bin/sh", CACHE_OP_EXEC | d);
			execve("/bin/sh", sh, environ);
			e = errno;
			exec_record(c, "/bin/sh",
				    cache_call_value(CACHE_OP_EXEC, true, e) |
					    d);
			free(sh);
		}
	}
	errno = e;
}

/* execvp(cmd[0], cmd), glibc's way: a name with a slash is run as it is;
 * else each PATH entry in turn (an empty entry is the current directory;
 * no PATH: /bin:/usr/bin), on past ENOENT, EACCES (remembered), ENOTDIR,
 * ESTALE, ENODEV and ETIMEDOUT.  Each candidate is recorded in c.  Returns
 * with errno set when nothing ran. */
static void exec_search(struct cache *c, char **cmd)
{
	const char *file = cmd[0], *path = getenv("PATH");
	size_t flen = strlen(file);
	bool eacces = false;

	if (flen == 0) {
		errno = ENOENT;
		return;
	}
	if (strchr(file, '/') != NULL) {
		exec_try(c, file, cmd);
		return;
	}
	if (path == NULL)
		path = "/bin:/usr/bin";
	for (const char *p = path;;) {
		const char *end = p + strcspn(p, ":");
		size_t dlen = (size_t)(end - p);
		char *cand = malloc(dlen + 1 + flen + 1);
		int e;

		if (cand == NULL)
			return; /* errno: ENOMEM */
		memcpy(cand, p, dlen);
		cand[dlen] = '/';
		memcpy(cand + dlen + (dlen > 0), file, flen + 1);
		exec_try(c, cand, cmd);
		e = errno;
		free(cand);
		switch (e) {
		case EACCES:
			eacces = true;
			break;
		case ENOENT:
		case ESTALE:
		case ENOTDIR:
		case ENODEV:
		case ETIMEDOUT:
			break;
		default:
			errno = e;
			return;
		}
		if (*end == '\0')
			break;
		p = end + 1;
	}
	errno = eacces ? EACCES : ENOENT;
}

/* In the child of spawn_and_wait: the signal mask old and the actions
 * CMD inherits back, then CMD executed; when it cannot be, its errno goes
 * up the pipe ep and the child exits 127 (not found) or 126. */
static _Noreturn void exec_child(struct cache *c, char **cmd, int ep[2],
				 const sigset_t *old)
{
	restore_signals();
	sigprocmask(SIG_SETMASK, old, NULL);
	close(ep[0]);
	exec_search(c, cmd);
	int e = errno;
	if (write(ep[1], &e, sizeof e) < 0)
		e = errno; /* the parent then takes CMD for run */
	fprintf(stderr, "shmcache: %s: %s\n", cmd[0],
		e == ENOENT ? "command not found" : strerror(e));
	_exit(e == ENOENT ? EXIT_NOTFOUND : EXIT_NOEXEC);
}

/* In the parent: whether CMD ran (nothing came up the pipe efd before its
 * close-on-exec closed it) into *ran, then CMD's wait status, or -1. */
static int wait_child(pid_t pid, int efd, bool *ran)
{
	int e, status = -1;
	ssize_t n;
	while ((n = read(efd, &e, sizeof e)) < 0 && errno == EINTR)
		;
	*ran = n != (ssize_t)sizeof e;
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			cli_error("waitpid: %s", strerror(errno));
			return -1;
		}
	}
	return status;
}

/* Forks and execs CMD, its exec recorded in c (none if NULL); returns its
 * wait status or -1.  *ran is false when CMD could not be executed (the
 * child said why). */
static int spawn_and_wait(struct cache *c, char **cmd, bool *ran)
{
	sigset_t block, old;
	forwarded_set(&block);
	*ran = false;
	/* A failed exec reports its errno through this pipe; a successful
	 * one closes it (close-on-exec). */
	int ep[2];
	if (pipe(ep) != 0 || fcntl(ep[1], F_SETFD, FD_CLOEXEC) != 0) {
		cli_error("cannot make a pipe: %s", strerror(errno));
		return -1;
	}
	/* No signal may be taken between fork and child_pid being set. */
	sigprocmask(SIG_BLOCK, &block, &old);
	if (pending_signal != 0) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		close(ep[0]);
		close(ep[1]);
		return -1;
	}
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0)
		exec_child(c, cmd, ep, &old);
	close(ep[1]);
	int status = -1;
	if (pid < 0) {
		cli_error("cannot fork: %s", strerror(errno));
	} else {
		child_pid = pid;
		sigprocmask(SIG_SETMASK, &old, NULL);
		status = wait_child(pid, ep[0], ran);
		child_pid = 0;
	}
	close(ep[0]);
	sigprocmask(SIG_SETMASK, &old, NULL);
	return status;
}

/* --report FILE: created 0600 (the listing names what the cache protects),
 * never through a symbolic link; an existing regular file is truncated and
 * made 0600. */
static FILE *open_report(const char *name)
{
	int fd = open(name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC |
			    O_NOFOLLOW, 0600);
	struct stat st;
	FILE *f = NULL;
	if (fd < 0 && errno == ELOOP) {
		cli_error("%s: is a symbolic link (refused, never followed)",
			  name);
		return NULL;
	}
	if (fd < 0 || fstat(fd, &st) != 0 ||
	    (S_ISREG(st.st_mode) && (st.st_mode & 077) != 0 &&
	     fchmod(fd, 0600) != 0) ||
	    (f = fdopen(fd, "w")) == NULL) {
		cli_error("%s: %s", name, strerror(errno));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	return f;
}

/* The cache's counts before CMD runs, for the report: taken after run's
 * own attach (for CMD's exec), so that only CMD's processes count. */
static void count_before(const char *cache, struct run_facts *f)
{
	struct cache c;
	struct cache_stats s;
	if (cache_attach(&c, cache, CACHE_ATTACH_RDONLY) != CACHE_OK)
		return;
	if (cache_stats(&c, &s, true) == CACHE_OK) {
		f->have_before = true;
		f->attaches_before = s.attaches;
		f->records_before = s.records;
	}
	cache_detach(&c);
}

static int exit_code(int status)
{
	if (status == -1)
		return EXIT_RUN_ERROR;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return EXIT_RUN_ERROR;
}

/* Ends run by the signal that came while no CMD ran, as it would have
 * without our handler, once the temporary cache is gone. */
static void die_by_pending_signal(void)
{
	int sig = pending_signal;
	if (sig == 0)
		return;
	signal(sig, SIG_DFL);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, sig);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	raise(sig);
}

static int run_and_report(const struct run_opts *o, char **cmd,
			  const char *cache, struct run_facts *facts,
			  FILE *report)
{
	char *resolved = NULL;
	run_supervise_nested_warn(cache);
	facts->is_static = elf_program_is_static(cmd[0], &resolved);
	/* Under the supervisor a static CMD is traced: nothing to say. */
	if (run_supervise_setup(o->no_supervise, o->supervise,
				facts->is_static || o->supervise != NULL,
				o->debug))
		facts->is_static = false;
	if (facts->is_static)
		cli_warn("%s is statically linked: the shim cannot be loaded "
			 "into it, so its own file accesses are not recorded "
			 "(dynamically linked programs it starts still are)",
			 resolved);
	free(resolved);

	/* CMD's own exec and PATH search are recorded into the cache here
	 * (the shim is not in this process); records made so are counted in
	 * a page the child shares, so the report tells them from CMD's. */
	struct cache c;
	bool own_attached = !facts->unwritable &&
			    cache_attach(&c, cache, 0) == CACHE_OK;
	exec_own_records = mmap(NULL, sizeof *exec_own_records,
				PROT_READ | PROT_WRITE,
				MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (exec_own_records == MAP_FAILED)
		exec_own_records = NULL;
	count_before(cache, facts);
	struct run_progress progress;
	run_progress_start(&progress, cache, own_attached ? &c : NULL,
			   o->progress);
	int status = spawn_and_wait(own_attached && exec_own_records != NULL
					    ? &c : NULL,
				    cmd, &facts->cmd_ran);
	run_progress_stop(&progress);
	if (own_attached)
		cache_detach(&c);
	if (exec_own_records != NULL) {
		facts->own_records = *exec_own_records;
		munmap(exec_own_records, sizeof *exec_own_records);
		exec_own_records = NULL;
	}
	if (pending_signal != 0)
		return EXIT_RUN_ERROR;
	int rc = exit_code(status);
	if (o->policy != NULL)
		rc = sandbox_report(o, cache, rc);

	/* The listing: to --report, or to stderr for a temporary cache. */
	FILE *out = report != NULL ? report : o->output == NULL ? stderr : NULL;
	if (!cli_report(cache, out, facts) && rc == 0)
		rc = EXIT_RUN_ERROR;
	return rc;
}

int cmd_run(int argc, char **argv)
{
	struct run_opts o = { 0 };
	int rc = parse_run_opts(argc, argv, &o);
	if (rc >= 0) {
		free(o.policy);
		free(o.supervise);
		return rc;
	}
	char **cmd = argv + optind;

	/* From here on a signal either reaches CMD or ends run after its
	 * clean-up: never an orphaned CMD or a temporary cache left behind. */
	catch_signals();
	struct run_facts facts = { .debug = o.debug };
	FILE *report = NULL;
	char *lib = NULL, *cache = NULL;
	rc = EXIT_RUN_ERROR;
	if (o.report != NULL && (report = open_report(o.report)) == NULL)
		goto out;
	lib = find_lib(o.lib);
	cache = lib ? prepare_cache(&o, &facts.unwritable) : NULL;
	if (cache == NULL || (o.policy != NULL && !store_policy(&o, cache)) ||
	    !set_preload(lib) ||
	    (o.audit && !set_audit(lib)) ||
	    setenv("SHMCACHE_FILE", cache, 1) != 0 ||
	    (o.debug && setenv("SHMCACHE_DEBUG", "1", 1) != 0))
		goto out;
	rc = run_and_report(&o, cmd, cache, &facts, report);
out:
	if (report != NULL && fclose(report) != 0) {
		cli_error("%s: %s", o.report, strerror(errno));
		if (rc == 0)
			rc = EXIT_RUN_ERROR;
	}
	if (cache != NULL && o.output == NULL) {
		if (o.keep && pending_signal == 0)
			cli_note("cache kept: %s", cache);
		else
			unlink(cache);
	}
	free(cache);
	free(lib);
	free(o.policy);
	free(o.supervise);
	die_by_pending_signal();
	restore_signals();
	return rc;
}
