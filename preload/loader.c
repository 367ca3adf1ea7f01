/*
 * loader.c - the shared objects the dynamic loader maps, recorded with
 * CACHE_OP_LOAD from the loader's own list (dl_iterate_phdr: each object's
 * name is the path the loader opened, so no file operation of ours is made):
 * once the cache is attached, after each dlopen/dlmopen the wrapper makes
 * itself, and at exit.
 *
 * dlopen and dlmopen look at their return address to find the calling
 * object, whose namespace, DT_RPATH/DT_RUNPATH (and those of the objects
 * that loaded it), DF_1_NODEFLIB and $ORIGIN decide where a bare name is
 * searched.  From a wrapper the caller would be this library, so the wrapper
 * makes the call itself only when no search happens: no name (the main
 * program) or a name with a slash and no '$'.  Any other call is passed on
 * as a tail call, the caller's return address intact; what it loaded is
 * recorded by the next pass (the next dlopen of the first kind, or exit).
 */
#include "shim.h"

#include <link.h>
#include <string.h>

/* Load addresses of the objects recorded (serialised by the loader's lock,
 * which dl_iterate_phdr holds around its callbacks); emptied when an object
 * was unloaded, as its address may then be another's.  An object past the
 * last slot is recorded again by each pass. */
#define LOADER_SEEN_MAX 1024
/* The first slots, which a typical program's few objects fill, are hot
 * data (shm_hot.h); the rest is touched only by a program with more. */
#define LOADER_SEEN_HOT 8
SHM_HOT_DATA static uintptr_t loader_seen_hot[LOADER_SEEN_HOT];
static uintptr_t loader_seen_more[LOADER_SEEN_MAX - LOADER_SEEN_HOT];
SHM_HOT_DATA static size_t loader_nseen;
SHM_HOT_DATA static unsigned long long loader_subs;

/* Slot i of the table the two parts make. */
static uintptr_t *loader_seen(size_t i)
{
	return i < LOADER_SEEN_HOT ? &loader_seen_hot[i]
				   : &loader_seen_more[i - LOADER_SEEN_HOT];
}

static int loader_one(struct dl_phdr_info *info, size_t size, void *data);

/* Whether info is this library: the object that holds our code. */
static int loader_is_self(const struct dl_phdr_info *info)
{
	uintptr_t me = (uintptr_t)&loader_one;

	for (size_t i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t a = info->dlpi_addr + ph->p_vaddr;

		if (ph->p_type == PT_LOAD && me >= a && me - a < ph->p_memsz)
			return 1;
	}
	return 0;
}

static int loader_one(struct dl_phdr_info *info, size_t size, void *data)
{
	struct shim_key k;

	(void)size;
	(void)data;
	if (info->dlpi_subs != loader_subs) {
		loader_nseen = 0;
		loader_subs = info->dlpi_subs;
	}
	/* the main program ("": its exec is recorded) and the vDSO (no file) */
	if (info->dlpi_name == NULL || strchr(info->dlpi_name, '/') == NULL)
		return 0;
	for (size_t i = 0; i < loader_nseen; i++)
		if (*loader_seen(i) == info->dlpi_addr)
			return 0;
	if (loader_nseen < LOADER_SEEN_MAX)
		*loader_seen(loader_nseen++) = info->dlpi_addr;
	if (loader_is_self(info))
		return 0;
	shim_note(&k, AT_FDCWD, info->dlpi_name, CACHE_OP_LOAD, 0, 0);
	return 0;
}

void shim_loader_record_all(void)
{
	int e = errno;

	if (shim_active())
		dl_iterate_phdr(loader_one, NULL);
	errno = e;
}

__attribute__((destructor)) static void loader_at_exit(void)
{
	shim_loader_record_all();
}

/* Whether the wrapper may make the call itself: the caller cannot matter. */
static int loader_call_is_ours(const char *file)
{
	return file == NULL ||
	       (strchr(file, '/') != NULL && strchr(file, '$') == NULL);
}

/* A tail call keeps the caller's return address for the real function:
 * clang guarantees it (musttail); gcc makes it with sibling-call
 * optimisation, asked for here whatever the build's level (at -O0 the
 * option alone is ignored: the function is compiled at -O2). */
#if defined(__clang__) && defined(__has_attribute)
#if __has_attribute(musttail)
#define LOADER_TAIL __attribute__((musttail))
#endif
#endif
#ifndef LOADER_TAIL
#define LOADER_TAIL
#endif
#if defined(__GNUC__) && !defined(__clang__)
#define LOADER_SIBCALL __attribute__((optimize("O2", "optimize-sibling-calls")))
#else
#define LOADER_SIBCALL
#endif

/* ---- sandbox mode --------------------------------------------------------
 * A path (a name with a slash, no '$') is decided before the call, as the
 * loader's open of it: a denied one fails as a missing file does, and the
 * next dlerror of the thread gives the loader's message for one.  The
 * loader's search for a bare name is not seen (its opens are the loader's
 * own). */
#define LOADER_MSG_CAP 512
static _Thread_local char loader_denied_msg[LOADER_MSG_CAP]
	__attribute__((tls_model("initial-exec")));
/* Whether the thread's last dlopen was refused and dlerror has not yet
 * given its message. */
static _Thread_local unsigned char loader_denied_pending
	__attribute__((tls_model("initial-exec")));

/* The loader's message for a file it cannot find. */
static void loader_say_missing(const char *file)
{
	static const char tail[] =
		": cannot open shared object file: No such file or directory";
	size_t n = strnlen(file, LOADER_MSG_CAP - sizeof tail);

	memcpy(loader_denied_msg, file, n);
	memcpy(loader_denied_msg + n, tail, sizeof tail);
}

/* Whether file, a path, is denied (its violation recorded, the message
 * kept for dlerror); an allowed one's decision is recorded. */
static __attribute__((noinline)) int loader_denied(const char *file)
{
	struct shim_key k;
	uint64_t d;

	loader_denied_pending = 0;
	shim_key_at_copied(&k, AT_FDCWD, file);
	d = shim_sandbox_gate(&k, CACHE_OP_LOAD);
	if (d == SHIM_SB_DENY) {
		loader_say_missing(file);
		loader_denied_pending = 1;
		return 1;
	}
	if (d != 0)
		shim_record(&k, d, 0, 0, 0);
	return 0;
}

/* The hook of a LOADERR row: dlerror, which gives a refused dlopen's
 * message once. */
#define SHIM_GEN_LOADERR(ret, name, params, args)                            \
	SHIM_EXPORT ret SHIM_WRAPPER(name) params                            \
	{                                                                    \
		shim_fn_##name fn_;                                          \
		if (loader_denied_pending) {                                 \
			loader_denied_pending = 0;                           \
			return loader_denied_msg;                            \
		}                                                            \
		fn_ = shim_get_##name();                                     \
		return fn_ != NULL ? fn_ args : NULL;                        \
	}                                                                    \
	SHIM_INTERPOSE(name)

/* The hook of a LOAD row (hooks.def): dlopen and dlmopen. */
#define SHIM_GEN_LOAD(ret, name, params, args, file)                         \
	static __attribute__((noinline)) ret shim_load_##name params          \
	{                                                                    \
		shim_fn_##name fn_ = shim_get_##name();                      \
		ret r_;                                                      \
		if (shim_sandboxed() && loader_denied(file))                 \
			return NULL;                                         \
		r_ = fn_ args;                                               \
		if (r_ != NULL)                                              \
			shim_loader_record_all();                            \
		return r_;                                                   \
	}                                                                    \
	SHIM_EXPORT LOADER_SIBCALL ret SHIM_WRAPPER(name) params             \
	{                                                                    \
		shim_fn_##name fn_ = shim_get_##name();                      \
		loader_denied_pending = 0; /* this call's error is newer */  \
		if (fn_ != NULL && shim_active() && loader_call_is_ours(file))\
			return shim_load_##name args;                        \
		if (fn_ == NULL)                                             \
			return NULL;                                         \
		LOADER_TAIL return fn_ args;                                 \
	}                                                                    \
	SHIM_INTERPOSE(name)

SHIM_HOOKS_LOADER(SHIM_GEN)
