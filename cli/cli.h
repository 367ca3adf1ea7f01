/*
 * cli.h - private interface between the files of the shmcache command.
 *
 * The command is an ordinary program (malloc and stdio are fine here); it
 * only ever attaches a cache read-only, except `run`, which creates one.
 * Everything read from a cache file is treated as untrusted: keys are copied
 * out with their lengths and printed escaped.
 */
#ifndef SHMCACHE_CLI_H
#define SHMCACHE_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "ctrie_cache.h"

/* Exit codes shared by every command (documented in shmcache(1)). */
enum {
	EXIT_OK = 0,
	EXIT_NEGATIVE = 1, /* get: a path is absent; verify: problems found */
	EXIT_USAGE = 2,    /* bad usage, or the cache file cannot be used    */
	EXIT_RUN_ERROR = 125, /* run: shmcache itself failed before CMD ran  */
	EXIT_NOEXEC = 126,    /* run: CMD found but could not be executed    */
	EXIT_NOTFOUND = 127,  /* run: CMD not found                          */
};

extern const char *cli_progname;

/* Messages on stderr prefixed with "shmcache: ". */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A message on stderr that is neither an error nor a warning. */
void cli_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A usage error of a subcommand: message, hint to --help, returns 2. */
int cli_usage_error(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The cache's name as the user gave it, escaped as paths are, then the
 * rest of a line from fmt. */
void cli_print_name(FILE *f, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Options of a command that takes --help and --json (when json is not
 * NULL); its operands start at argv[optind].  Returns -1 to go on, or the
 * exit code (after --help, or a usage error). */
int cli_json_opts(int argc, char **argv, const char *help, bool *json);
/* The same for a command whose one operand is CACHE. */
int cli_simple_opts(int argc, char **argv, const char *help, bool *json);
/* Where temporary caches go: the first writable directory of
 * $XDG_RUNTIME_DIR, /dev/shm, $TMPDIR, /tmp. */
const char *cli_runtime_dir(void);

/* One entry copied out of the cache. */
struct entry {
	unsigned char *path;  /* NUL-terminated copy; may hold other NULs */
	size_t len;
	uint64_t ops;          /* the value word (cache_ops_succeeded ...) */
	uint64_t count;
};

struct entry_list {
	struct entry *v;
	size_t n, cap;
};

/* Attaches path read-only.  On failure prints "shmcache: PATH: reason" and
 * returns false. */
bool cli_open_cache(const char *path, struct cache *c);
/* Copies every entry out, sorted bytewise by path.  On damage prints the
 * error, keeps what was read and returns false. */
bool cli_load_entries(struct cache *c, const char *path,
		      struct entry_list *l);
bool entry_list_add(struct entry_list *l, const unsigned char *key,
		    size_t len, uint64_t ops, uint64_t count);
void entry_list_sort(struct entry_list *l);
void entry_list_free(struct entry_list *l);

/* The operation letters of a value word: a column of one letter per
 * defined bit in bit order for the operations that succeeded and the
 * outcomes, a space, and a column of one letter per operation bit for the
 * operations that failed; '-' where unset.  Returns the width; buf holds
 * OPS_LETTERS_MAX bytes. */
#define OPS_LETTERS_MAX 72
size_t ops_letters(uint64_t ops, char *buf);
/* Writes a path so that it fits on one line and can be decoded back:
 * valid UTF-8 printable text as is; backslash, control characters (C0,
 * DEL, C1), the line and paragraph separators U+2028 and U+2029, and
 * bytes that are not valid UTF-8 as C escapes (\\, \n, \t, \ooo per
 * byte).  Every text output of the command escapes this way. */
void print_path_escaped(FILE *f, const unsigned char *p, size_t len);
/* An ls line: letters, count right-aligned to width, escaped path. */
void print_entry_line(FILE *f, const struct entry *e, int count_width);
int count_width(const struct entry_list *l);

/* The key the shim records for path, made by the same cache_key_join:
 * relative paths joined to the current directory, "//", "." and ".."
 * folded, no symlink resolution; "" is taken as ".".  Returns a malloc'd
 * string or NULL (out of memory, no cwd). */
char *path_normalize(const char *path);
/* True when path is dir itself or lies below it (path-component prefix).
 * dir is normalised ("/" matches every absolute path). */
bool path_under(const unsigned char *path, size_t len, const char *dir);

/* JSON (json.c). */
bool utf8_valid(const unsigned char *s, size_t n);
/* Length of the valid UTF-8 sequence at s (1..4), or 0 when invalid. */
size_t utf8_seq_len(const unsigned char *s, size_t n);
/* The escaping of print_path_escaped (json false) or of a JSON string's
 * contents (json true: '"' escaped, C0 and C1 controls, U+2028 and U+2029
 * as \uXXXX, invalid UTF-8 bytes as U+FFFD). */
void write_escaped(FILE *f, const unsigned char *s, size_t n, bool json);
/* A JSON string literal; invalid UTF-8 bytes become U+FFFD. */
void json_string(FILE *f, const unsigned char *s, size_t n);
/* "path": ... and, when the path is not valid UTF-8, "path_b64": ... */
void json_path_fields(FILE *f, const unsigned char *p, size_t len);
/* "ops": [names...] */
void json_ops(FILE *f, uint64_t ops);
/* One JSON Lines object for an entry, without the closing brace, so that
 * callers can add fields. */
void json_entry_open(FILE *f, const struct entry *e);

/* Subcommands: argv[0] is the subcommand name. */
int cmd_run(int argc, char **argv);
int cmd_ls(int argc, char **argv);
int cmd_inputs(int argc, char **argv);
int cmd_outputs(int argc, char **argv);
int cmd_tree(int argc, char **argv);
int cmd_get(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_watch(int argc, char **argv);
int cmd_fsatrace(int argc, char **argv);
int cmd_depfile(int argc, char **argv);
int cmd_diff(int argc, char **argv);

/* True when the value word says its path was executed: EXEC recorded and
 * not only as a failed attempt (cmd_fsatrace.c). */
bool entry_executed(uint64_t ops);

/* What run knows about CMD and the cache when it reports. */
struct run_facts {
	bool cmd_ran;         /* CMD was executed (found and executable)    */
	bool is_static;       /* CMD is statically linked (run warned)      */
	bool debug;           /* --debug: the shim says why itself          */
	bool unwritable;      /* the cache cannot be opened for writing, so
				 no shim can attach it (run warned)        */
	bool have_before;     /* the counts below were read before CMD ran  */
	uint64_t attaches_before, records_before;
	uint64_t own_records; /* records run made itself (CMD's exec)       */
};

/* Shared by run: writes the listing of the cache at path (ls format) to out
 * (none if NULL), warns about dropped records, and tells why nothing was
 * recorded: no process attached the cache, or the command named no file.
 * Returns false if the cache could not be read. */
bool cli_report(const char *path, FILE *out, const struct run_facts *f);

/* run --progress (run_progress.c): a line of live status on stderr while
 * CMD runs.  AUTO: on when stderr is a terminal. */
enum run_progress_mode { PROGRESS_AUTO, PROGRESS_ON, PROGRESS_OFF };
struct run_progress {
	pid_t pid; /* the process that draws the line, or -1 */
	int fd;    /* closing it ends that process           */
};
/* Starts drawing the status of the cache at path (nothing when mode says
 * no, or a process cannot be made: then a warning).  attached, when not
 * NULL, is that cache attached here: processes are counted from its
 * attach count at this call. */
void run_progress_start(struct run_progress *p, const char *cache,
			struct cache *attached, enum run_progress_mode mode);
/* Stops it and waits until the line is cleared. */
void run_progress_stop(struct run_progress *p);

/* Static-binary check for run (elfcheck.c): resolves cmd through PATH as
 * execvp does; true when it is an ELF file without a PT_INTERP header or a
 * Go program (or a script whose interpreter is one).  *resolved gets the
 * path found. */
bool elf_program_is_static(const char *cmd, char **resolved);
/* The same for the file at file (no PATH search). */
bool file_bypasses_libc(const char *file);

/* A cache's figures at one moment (live.c), for watch and run --progress. */
struct live_sample {
	double t;          /* live_now() when taken */
	uint64_t entries, records, attaches, skipped;
};
/* Seconds on a monotonic clock. */
double live_now(void);
/* Sleeps for seconds, resumed after a signal. */
void live_sleep(double seconds);
/* Takes a sample (walks the cache for records).  False on damage. */
bool live_sample(struct cache *c, struct live_sample *s);
/* Records per second between two samples; 0 without prev. */
double live_rate(const struct live_sample *prev,
		 const struct live_sample *cur);

/* The seccomp supervisor for run (supervise.c). */
/* Finds shmcache-supervise and checks that seccomp user notification works
 * here; on success exports SHMCACHE_SUPERVISOR (and, when patterns is not
 * NULL, SHMCACHE_SUPERVISE_PATTERNS) for the shim and returns true.  Off
 * (--no-supervise), or when it cannot be used, removes them from the
 * environment and returns false; loud: warn why (else only with debug). */
bool run_supervise_setup(bool off, const char *patterns, bool loud,
			 bool debug);
/* Says once when run itself is below a program traced by a supervisor of
 * an outer run (SHMCACHE_SUPERVISED names a live shmcache-supervise): its
 * filter is inherited and its listener is the only one, so that supervisor
 * records CMD's path calls into the outer cache, not into cache. */
void run_supervise_nested_warn(const char *cache);
/* Whether run starts path under the supervisor (set up, and path bypasses
 * libc or a pattern names it); then argv for execve (malloc'd), else NULL. */
char **run_supervise_argv(const char *path, char **argv);

/* ---- the sandbox policy of run (policy.c) and its report ------------- */

/* enum cache_verdict of "allow", "deny", "ask"; -1 for another word. */
int policy_verdict(const char *word);
/* Each adds to p what its option or directive says, or prints an error
 * naming where (an option, or FILE:LINE) and returns false. */
bool policy_rule(struct cache_policy *p, int verdict, const char *prefix,
		 const char *where);
bool policy_server(struct cache_policy *p, const char *sock,
		   const char *where);
bool policy_default(struct cache_policy *p, const char *word,
		    const char *where);
/* Adds the directives of a policy file (format: policy.c). */
bool policy_file(struct cache_policy *p, const char *path);
/* The whole policy's checks (an `ask` needs a server). */
bool policy_check(const struct cache_policy *p);
/* What run_sandbox_exec_gate returns for a denied program. */
#define RUN_SB_DENY UINT64_MAX
/* Sandbox mode for CMD's own exec (run_sandbox.c): the decision of key
 * (a program's key, path_normalize) under c's policy, as the shim's exec
 * hook makes it: the decision bits its EXEC record carries (0: no
 * policy, or c NULL), or RUN_SB_DENY when it must not be executed (the
 * violation is recorded). */
uint64_t run_sandbox_exec_gate(struct cache *c, const char *key);
/* The violations of the cache at path (cmd_violations.c): the paths
 * denied, and those the server could not decide; *denied and *unknown get
 * their numbers.  Returns false if the cache could not be read. */
bool violations_count(const char *path, uint64_t *denied, uint64_t *unknown);
int cmd_violations(int argc, char **argv);

/* Where run finds its files (locate.c).  Whether p names a regular file
 * that this process may access for mode (R_OK, X_OK: access(2)). */
bool cli_regular_file(const char *p, int mode);
/* The first of rel[0..nrel-1] (each appended to the directory of this
 * program, as /proc/self/exe names it; none on macOS), then fallback (when
 * not NULL), that is such a file, as a malloc'd real path; NULL when none
 * is.  Not async-signal-safe (malloc); errno may change. */
char *cli_locate(const char *const *rel, size_t nrel, const char *fallback,
		 int mode);

#endif /* SHMCACHE_CLI_H */
