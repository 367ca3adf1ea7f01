/*
 * hook_gen.h - turns a row of hooks.def into a wrapper (SHIM_GEN).  Included
 * by shim.h; hooks.c and the families' own files (hooks.def says which) do
 * `SHIM_HOOKS_<FAMILY>(SHIM_GEN)`.  The names a row's columns may use and
 * the parameter names these macros read are listed in hooks.def.
 *
 * Every wrapper makes the real call and records the outcome with errno
 * saved and restored.  The one-path and two-path rows make their keys after
 * the call; chdir, readlink/realpath and exec before it (chdir's own path is
 * taken relative to the directory it leaves, readlink may be handed the
 * path's own buffer to write, an exec that succeeds has been recorded).  No
 * wrapper reads a caller's string that the real call has not shown
 * readable: otherwise it is copied with a read that cannot fault, so a bad
 * pointer gets libc's EFAULT, never a crash.  The real call's value is
 * returned untouched.  A missing real function (a row this libc lacks) fails with
 * ENOSYS rather than calling NULL.
 */
#ifndef SHMCACHE_HOOK_GEN_H
#define SHMCACHE_HOOK_GEN_H

#ifdef __APPLE__
/* dyld interposition: the wrapper gets another name, a tuple in the
 * __DATA,__interpose section redirects every other image's calls to it, and
 * our own calls to the original name reach the real function. */
#define SHIM_WRAPPER(name) shim_wrap_##name
#define SHIM_INTERPOSE(name)                                                 \
	__attribute__((used, section("__DATA,__interpose"))) static const    \
	struct { const void *wrapper, *real; } shim_interpose_##name = {     \
		(const void *)shim_wrap_##name, (const void *)name };
#else
#define SHIM_WRAPPER(name) name
#define SHIM_INTERPOSE(name)
#endif

/* Result kinds: whether the call failed, its error, the value for ENOSYS. */
#define SHIM_FAILED_RI(r) ((r) == -1)
#define SHIM_FAILED_RP(r) ((r) == NULL)
#define SHIM_FAILED_RN(r) ((r) != 0)
#define SHIM_ERR_RI(r, e) (e)
#define SHIM_ERR_RP(r, e) (e)
#define SHIM_ERR_RN(r, e) (r)
#define SHIM_ENOSYS_RI (errno = ENOSYS, -1)
#define SHIM_ENOSYS_RP (errno = ENOSYS, NULL)
#define SHIM_ENOSYS_RN ENOSYS

#define SHIM_GEN(shape, ...) SHIM_GEN_##shape(__VA_ARGS__)

/* The key made before the call, when the string has not been shown
 * readable yet: copied without faulting, unless it is a literal of the row
 * (fchdir's "."). */
#define SHIM_KEY_BEFORE(k, fd, path)                                         \
	(__builtin_constant_p(path) ? shim_key_at(k, fd, path)               \
				    : shim_key_at_copied(k, fd, path))

/* The common body of the one-path shapes.  In sandbox mode (sandbox.h)
 * the key is always made before the call, which is made only if the key is
 * allowed, and the record carries the decision.  The key is made after the real
 * call (before: 0), when the lines it reads are loaded once for the key and
 * the record together, or before it (before: 1) where the call changes what
 * a relative path means (chdir) or may overwrite the string (readlink).
 * After the call, the string is read in place if the call has shown it
 * readable (shim_path_was_read), else copied without faulting.  After the
 * call `always` runs (it must not touch errno), then `post` if a key was
 * made. */
#define SHIM_BODY_1(ret, name, args, res, fd, path, ops, before, always,     \
		    post)                                                    \
	{                                                                    \
		struct shim_key k_;                                          \
		shim_fn_##name fn_ = shim_get_##name();                      \
		ret r_;                                                      \
		int e_, f_, sb_, b_;                                         \
		uint64_t d_ = 0;                                             \
		if (fn_ == NULL)                                             \
			return SHIM_ENOSYS_##res;                            \
		sb_ = shim_sandboxed();                                      \
		b_ = (before) || sb_;                                        \
		if (b_)                                                      \
			SHIM_KEY_BEFORE(&k_, fd, path);                      \
		if (sb_ && (d_ = shim_sandbox_gate(&k_, ops)) == SHIM_SB_DENY)\
			return SHIM_DENIED_##res;                            \
		r_ = fn_ args;                                               \
		always;                                                      \
		e_ = errno;                                                  \
		f_ = SHIM_FAILED_##res(r_);                                  \
		if (b_) {                                                    \
			if (k_.len == 0)                                     \
				return r_;                                   \
			shim_record(&k_, cache_call_value(ops, f_ != 0,      \
					 SHIM_ERR_##res(r_, e_)) | d_, 0, 0, \
				    0);                                      \
		} else if (!shim_path_was_read(f_, SHIM_ERR_##res(r_, e_))) {\
			if (!shim_note_copied(&k_, fd, path, ops, f_,        \
					      SHIM_ERR_##res(r_, e_))) {     \
				errno = e_;                                  \
				return r_;                                   \
			}                                                    \
		} else if (!shim_note_hinted(&k_, path, ops, f_,             \
					     SHIM_ERR_##res(r_, e_)) &&      \
			   !shim_note(&k_, fd, path, ops, f_,                \
				      SHIM_ERR_##res(r_, e_))) {             \
			errno = e_;                                          \
			return r_;                                           \
		}                                                            \
		post;                                                        \
		errno = e_;                                                  \
		return r_;                                                   \
	}

#define SHIM_GEN_P1(ret, name, params, args, res, fd, path, ops)             \
	SHIM_EXPORT ret SHIM_WRAPPER(name) params                            \
	SHIM_BODY_1(ret, name, args, res, fd, path, ops, 0, (void)0,        \
		    (void)0)                                                 \
	SHIM_INTERPOSE(name)

/* P1 for a call that writes into a buffer of the caller's (readlink,
 * realpath): the key is made before it, as a program may pass the path's
 * own buffer (undefined under restrict, but done and coped with). */
#define SHIM_GEN_P1OUT(ret, name, params, args, res, fd, path, ops)          \
	SHIM_EXPORT ret SHIM_WRAPPER(name) params                            \
	SHIM_BODY_1(ret, name, args, res, fd, path, ops, 1, (void)0,        \
		    (void)0)                                                 \
	SHIM_INTERPOSE(name)

#define SHIM_GEN_CWD(ret, name, params, args, res, fd, path, ops)            \
	SHIM_EXPORT ret SHIM_WRAPPER(name) params                            \
	SHIM_BODY_1(ret, name, args, res, fd, path, ops, 1,                  \
		    shim_cwd_changed(), (void)0)                             \
	SHIM_INTERPOSE(name)

/* After an open: the descriptor is a directory we know, or forgotten. */
#define SHIM_FD_OPENED(fd, flags) shim_fd_opened(fd, flags, &k_)

#define SHIM_GEN_OPEN(ret, name, params, args, res, fd, path, ops)           \
	SHIM_EXPORT ret SHIM_WRAPPER(name) params                            \
	SHIM_BODY_1(ret, name, args, res, fd, path, ops, 0, (void)0,         \
		    SHIM_FD_OPENED(r_, flags))                               \
	SHIM_INTERPOSE(name)

#define SHIM_GEN_OPENDIR(ret, name, params, args, res, fd, path, ops)        \
	SHIM_EXPORT ret SHIM_WRAPPER(name) params                            \
	SHIM_BODY_1(ret, name, args, res, fd, path, ops, 0, (void)0,         \
		    SHIM_FD_OPENED((int)shim_dir_fd(r_), O_DIRECTORY))       \
	SHIM_INTERPOSE(name)

/* close and friends: nothing recorded, the slots of the descriptors that
 * lost their meaning are forgotten after the call (see fdpath.c). */
#define SHIM_GEN_FDGONE(ret, name, params, args, first, last, missing)      \
	SHIM_EXPORT ret SHIM_WRAPPER(name) params                            \
	{                                                                    \
		shim_fn_##name fn_ = shim_get_##name();                      \
		int on_ = shim_active();                                     \
		long f0_ = on_ ? (first) : -1, f1_ = on_ ? (last) : -1;      \
		ret r_;                                                      \
		r_ = fn_ != NULL ? fn_ args : missing;                       \
		if (f0_ >= 0)                                                \
			shim_fd_forget(f0_, f1_);                            \
		return r_;                                                   \
	}                                                                    \
	SHIM_INTERPOSE(name)

#define SHIM_GEN_FDGONE_VOID(ret, name, params, args, first, last, missing) \
	SHIM_EXPORT ret SHIM_WRAPPER(name) params                            \
	{                                                                    \
		shim_fn_##name fn_ = shim_get_##name();                      \
		long f0_ = shim_active() ? (first) : -1;                     \
		if (fn_ != NULL)                                             \
			fn_ args;                                            \
		else                                                         \
			missing;                                             \
		if (f0_ >= 0)                                                \
			shim_fd_forget(f0_, last);                           \
	}                                                                    \
	SHIM_INTERPOSE(name)

/* dup and fcntl's F_DUPFD: the new descriptor names what oldfd names
 * (fts and gnulib duplicate every directory they open), so *at calls on it
 * need no /proc look-up.  Nothing is recorded. */
#define SHIM_GEN_DUP_BODY(name, args, isdup)                               \
	{                                                                    \
		shim_fn_##name fn_ = shim_get_##name();                      \
		int dup_ = (isdup) && shim_active();                         \
		unsigned st_ = dup_ ? shim_fd_state(oldfd) : 1;              \
		int r_;                                                      \
		if (fn_ == NULL)                                             \
			return SHIM_ENOSYS_RI;                               \
		r_ = fn_ args;                                               \
		if (r_ >= 0 && dup_)                                         \
			shim_fd_dup(oldfd, st_, r_);                         \
		return r_;                                                   \
	}

#define SHIM_GEN_DUP(ret, name, params, args, isdup)                        \
	SHIM_EXPORT ret SHIM_WRAPPER(name) params                            \
	SHIM_GEN_DUP_BODY(name, args, isdup)                                 \
	SHIM_INTERPOSE(name)

/* fcntl's third argument is an int, a pointer or absent: it is passed on
 * as a pointer-sized word, as glibc's own fcntl reads it. */
#define SHIM_GEN_DUPV(ret, name, params, last)                              \
	SHIM_EXPORT ret SHIM_WRAPPER(name) params                            \
	{                                                                    \
		void *arg;                                                   \
		va_list ap_;                                                 \
		va_start(ap_, last);                                         \
		arg = va_arg(ap_, void *);                                   \
		va_end(ap_);                                                 \
		SHIM_GEN_DUP_BODY(name, (oldfd, cmd, arg),                   \
				  cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC)  \
	}                                                                    \
	SHIM_INTERPOSE(name)

#define SHIM_GEN_OPENV(ret, name, params, last, args, res, fd, path, ops)    \
	SHIM_EXPORT ret SHIM_WRAPPER(name) params                            \
	{                                                                    \
		mode_t mode = 0;                                             \
		if (shim_open_has_mode(flags)) {                             \
			va_list ap_;                                         \
			va_start(ap_, last);                                 \
			mode = (mode_t)va_arg(ap_, int);                     \
			va_end(ap_);                                         \
		}                                                            \
		SHIM_BODY_1(ret, name, args, res, fd, path, ops, 0, (void)0, \
			    SHIM_FD_OPENED(r_, flags))                       \
	}                                                                    \
	SHIM_INTERPOSE(name)

/* Two paths: the keys are made after the call.  Only success shows both
 * strings read (a failure may come from the first before the second is
 * looked at), so after a failure both are copied without faulting. */
#define SHIM_GEN_P2(ret, name, params, args, res, fd1, path1, ops1, fd2,     \
		    path2, ops2)                                             \
	SHIM_EXPORT ret SHIM_WRAPPER(name) params                            \
	{                                                                    \
		struct shim_key k1_, k2_;                                    \
		shim_fn_##name fn_ = shim_get_##name();                      \
		ret r_;                                                      \
		int e_, sb_;                                                 \
		uint64_t d1_ = 0, d2_ = 0;                                   \
		if (fn_ == NULL)                                             \
			return SHIM_ENOSYS_##res;                            \
		sb_ = shim_sandboxed();                                      \
		if (sb_) {                                                   \
			shim_key_at_copied(&k1_, fd1, path1);                \
			shim_key_at_copied(&k2_, fd2, path2);                \
			if ((d1_ = shim_sandbox_gate(&k1_, ops1)) ==         \
				    SHIM_SB_DENY ||                          \
			    (d2_ = shim_sandbox_gate(&k2_, ops2)) ==         \
				    SHIM_SB_DENY)                            \
				return SHIM_DENIED_##res;                    \
		}                                                            \
		r_ = fn_ args;                                               \
		e_ = errno;                                                  \
		if (sb_) {                                                   \
		} else if (!SHIM_FAILED_##res(r_)) {                         \
			shim_key_at(&k1_, fd1, path1);                       \
			shim_key_at(&k2_, fd2, path2);                       \
		} else {                                                     \
			shim_key_at_copied(&k1_, fd1, path1);                \
			shim_key_at_copied(&k2_, fd2, path2);                \
		}                                                            \
		shim_record(&k1_, cache_call_value(ops1,                     \
			    SHIM_FAILED_##res(r_), SHIM_ERR_##res(r_, e_)) | \
			    d1_, 0, 0, 0);                                   \
		shim_record(&k2_, cache_call_value(ops2,                     \
			    SHIM_FAILED_##res(r_), SHIM_ERR_##res(r_, e_)) | \
			    d2_, 0, 0, 0);                                   \
		errno = e_;                                                  \
		return r_;                                                   \
	}                                                                    \
	SHIM_INTERPOSE(name)

/* The target only gets SYMLINK: the call says nothing of its existence.
 * The keys are made after the call, as for P2. */
#define SHIM_GEN_SYMLINK(ret, name, params, args, res, target, fd, linkpath) \
	SHIM_EXPORT ret SHIM_WRAPPER(name) params                            \
	{                                                                    \
		struct shim_key kl_, kt_;                                    \
		shim_fn_##name fn_ = shim_get_##name();                      \
		ret r_;                                                      \
		int e_, sb_;                                                 \
		uint64_t d_ = 0;                                             \
		if (fn_ == NULL)                                             \
			return SHIM_ENOSYS_##res;                            \
		sb_ = shim_sandboxed();                                      \
		if (sb_) {                                                   \
			shim_key_at_copied(&kl_, fd, linkpath);              \
			if ((d_ = shim_sandbox_gate(&kl_, CACHE_OP_SYMLINK | \
						    CACHE_OP_CREATE)) ==     \
			    SHIM_SB_DENY)                                    \
				return SHIM_DENIED_##res;                    \
		}                                                            \
		r_ = fn_ args;                                               \
		e_ = errno;                                                  \
		if (sb_) {                                                   \
			shim_key_target_copied(&kt_, &kl_, target);          \
		} else if (!SHIM_FAILED_##res(r_)) {                         \
			shim_key_at(&kl_, fd, linkpath);                     \
			shim_key_target(&kt_, &kl_, target);                 \
		} else {                                                     \
			shim_key_at_copied(&kl_, fd, linkpath);              \
			shim_key_target_copied(&kt_, &kl_, target);          \
		}                                                            \
		if (kl_.len != 0) {                                          \
			shim_record(&kl_, cache_call_value(                  \
				    CACHE_OP_SYMLINK | CACHE_OP_CREATE,      \
				    SHIM_FAILED_##res(r_),                   \
				    SHIM_ERR_##res(r_, e_)) | d_, 0, 0, 0);  \
			shim_record(&kt_, SHIM_FAILED_##res(r_) ?            \
				    (uint64_t)CACHE_OP_SYMLINK               \
					    << CACHE_OP_FAILED_SHIFT :       \
				    CACHE_OP_SYMLINK, 0, 0, 0);              \
		}                                                            \
		errno = e_;                                                  \
		return r_;                                                   \
	}                                                                    \
	SHIM_INTERPOSE(name)

/* exec: recorded before the call (success does not return) and again with
 * the outcome when it fails; keyfn copies the name without faulting, and
 * shim_env_fix reads the environment the same way.  shim_impl_<name> serves
 * the execl* rows. */
#define SHIM_GEN_EXEC(ret, name, params, args, keyfn, path, envsrc, callee,  \
		      callargs)                                              \
	static ret shim_impl_##name params                                   \
	{                                                                    \
		struct shim_key k_;                                          \
		struct shim_envplan ep_;                                     \
		char *const *shim_envp = envsrc;                             \
		shim_fn_##callee fn_ = shim_get_##callee();                  \
		ret r_;                                                      \
		uint64_t d_ = 0;                                             \
		if (fn_ == NULL)                                             \
			return SHIM_ENOSYS_RI;                               \
		keyfn(&k_, path);                                            \
		if (shim_sandboxed() &&                                      \
		    (d_ = shim_sandbox_gate(&k_, CACHE_OP_EXEC)) ==          \
			    SHIM_SB_DENY)                                    \
			return SHIM_DENIED_RI;                               \
		shim_record(&k_, CACHE_OP_EXEC | d_, 0, 0, 0);               \
		if (shim_env_plan(shim_envp, &ep_) != 0) {                   \
			char *vec_[ep_.vec], pre_[ep_.preload + 1];          \
			shim_envp = shim_env_build(envsrc, &ep_, vec_, pre_);\
			r_ = shim_exec_call(fn_, &k_, SHIM_UNPACK callargs); \
		} else {                                                     \
			r_ = shim_exec_call(fn_, &k_, SHIM_UNPACK callargs); \
		}                                                            \
		if (k_.len != 0) {                                           \
			int e_ = errno;                                      \
			shim_record(&k_, CACHE_OP_EXEC, 1, e_, 1);           \
			errno = e_;                                          \
		}                                                            \
		return r_;                                                   \
	}                                                                    \
	SHIM_EXPORT ret SHIM_WRAPPER(name) params                            \
	{                                                                    \
		return shim_impl_##name args;                                \
	}                                                                    \
	SHIM_INTERPOSE(name)

#define SHIM_GEN_SPAWN(ret, name, params, args, keyfn, path, envsrc,         \
		       callargs)                                             \
	SHIM_EXPORT ret SHIM_WRAPPER(name) params                            \
	{                                                                    \
		struct shim_key k_;                                          \
		struct shim_envplan ep_;                                     \
		char *const *shim_envp = envsrc;                             \
		shim_fn_##name fn_ = shim_get_##name();                      \
		ret r_;                                                      \
		if (fn_ == NULL)                                             \
			return SHIM_ENOSYS_RN;                               \
		if (shim_sandboxed() && shim_spawn_acts_denied(&k_, acts))   \
			return SHIM_DENIED_RN;                               \
		keyfn(&k_, path);                                            \
		if (shim_sandboxed() &&                                      \
		    shim_sandbox_gate(&k_, CACHE_OP_EXEC) == SHIM_SB_DENY)   \
			return SHIM_DENIED_RN;                               \
		if (shim_env_plan(shim_envp, &ep_) != 0) {                   \
			char *vec_[ep_.vec], pre_[ep_.preload + 1];          \
			shim_envp = shim_env_build(envsrc, &ep_, vec_, pre_);\
			r_ = shim_spawn_run(fn_, &k_,                        \
					    SHIM_UNPACK callargs);           \
		} else {                                                     \
			r_ = shim_spawn_run(fn_, &k_,                        \
					    SHIM_UNPACK callargs);           \
		}                                                            \
		if (k_.len != 0) {                                           \
			int e_ = errno;                                      \
			shim_record(&k_, CACHE_OP_EXEC, r_ != 0, r_, 1);     \
			errno = e_;                                          \
		}                                                            \
		return r_;                                                   \
	}                                                                    \
	SHIM_INTERPOSE(name)

/* execl*: the argument list, then its EXEC row (impl).  argv lives in a
 * variable-length array, as in libc's own execl. */
#define SHIM_GEN_EXECL(ret, name, params, last, impl, envtail)               \
	SHIM_EXPORT ret SHIM_WRAPPER(name) params                            \
	{                                                                    \
		va_list ap_;                                                 \
		size_t n_;                                                   \
		va_start(ap_, last);                                         \
		n_ = shim_va_count(last, &ap_);                              \
		va_end(ap_);                                                 \
		{                                                            \
			char *argv_[n_ + 1];                                 \
			char *const *envp_;                                  \
			va_start(ap_, last);                                 \
			envp_ = shim_va_fill(argv_, last, &ap_, envtail);    \
			va_end(ap_);                                         \
			(void)envp_;                                         \
			return impl;                                         \
		}                                                            \
	}                                                                    \
	SHIM_INTERPOSE(name)

/* realpath and its kin: shim_realpath (realpath.c) when `own` holds and
 * the shim records, else libc's function.  In sandbox mode a denied name
 * is not resolved (ENOENT). */
#define SHIM_GEN_RESOLVE(ret, name, params, args, path, resolved, own)     \
	SHIM_EXPORT ret SHIM_WRAPPER(name) params                            \
	{                                                                    \
		shim_fn_##name fn_;                                          \
		if (shim_sandboxed() && shim_sandbox_denies(path))           \
			return SHIM_DENIED_RP;                               \
		if ((own) && shim_active())                                  \
			return shim_realpath(path, resolved);                \
		fn_ = shim_get_##name();                                     \
		if (fn_ == NULL)                                             \
			return SHIM_ENOSYS_RP;                               \
		return fn_ args;                                             \
	}                                                                    \
	SHIM_INTERPOSE(name)

/* execvp and execvpe: shim_exec_search (pathsearch.c) once the shim is
 * attached (after damage too: the environment is still fixed, as by the
 * exec hooks), else libc's.  shim_impl_<name> serves the execlp row. */
#define SHIM_GEN_SEARCH(ret, name, params, args, callargs)                   \
	static ret shim_impl_##name params                                   \
	{                                                                    \
		shim_fn_##name fn_;                                          \
		/* relaxed: the state is the whole datum read here */        \
		if (atomic_load_explicit(&shim_state,                        \
					 memory_order_relaxed) != SHIM_OFF)  \
			return shim_exec_search callargs;                    \
		fn_ = shim_get_##name();                                     \
		if (fn_ == NULL)                                             \
			return SHIM_ENOSYS_RI;                               \
		return fn_ args;                                             \
	}                                                                    \
	SHIM_EXPORT ret SHIM_WRAPPER(name) params                            \
	{                                                                    \
		return shim_impl_##name args;                                \
	}                                                                    \
	SHIM_INTERPOSE(name)

/* system and popen: the shell recorded and environ fixed around the call
 * (shell.c). */
#define SHIM_GEN_SHELL(ret, name, params, args, res)                         \
	SHIM_EXPORT ret SHIM_WRAPPER(name) params                            \
	{                                                                    \
		struct shim_shell sh_ = { 0 };                               \
		struct shim_envplan ep_;                                     \
		shim_fn_##name fn_ = shim_get_##name();                      \
		ret r_;                                                      \
		int e_;                                                      \
		if (fn_ == NULL)                                             \
			return SHIM_ENOSYS_##res;                            \
		shim_shell_record();                                         \
		if (shim_shell_plan(&ep_) == 0)                              \
			return fn_ args;                                     \
		{                                                            \
			char *vec_[ep_.vec];                                 \
			shim_shell_enter(&sh_, &ep_, vec_);                  \
			r_ = fn_ args;                                       \
			e_ = errno;                                          \
			shim_shell_leave(&sh_);                              \
			errno = e_;                                          \
		}                                                            \
		return r_;                                                   \
	}                                                                    \
	SHIM_INTERPOSE(name)

/* mkstemp and kin: the template names the file made (or the last one
 * tried) after the call, which read and wrote it; EINVAL made no file
 * operation.  In sandbox mode a template the policy denies makes no file:
 * ENOENT, as the open would (tmpfile: libc's temporary directory). */
#define SHIM_GEN_TEMP(ret, name, params, args, res, path, ops)               \
	SHIM_EXPORT ret SHIM_WRAPPER(name) params                            \
	{                                                                    \
		struct shim_key k_;                                          \
		shim_fn_##name fn_ = shim_get_##name();                      \
		ret r_;                                                      \
		int e_;                                                      \
		if (fn_ == NULL)                                             \
			return SHIM_ENOSYS_##res;                            \
		if (shim_sandboxed() && shim_temp_denied(&k_, path, ops))    \
			return SHIM_DENIED_##res;                            \
		r_ = fn_ args;                                               \
		e_ = errno;                                                  \
		if (!SHIM_FAILED_##res(r_) || e_ != EINVAL)                  \
			shim_note(&k_, AT_FDCWD, path, ops,                  \
				  SHIM_FAILED_##res(r_), e_);                \
		errno = e_;                                                  \
		return r_;                                                   \
	}                                                                    \
	SHIM_INTERPOSE(name)

#define SHIM_GEN_TMPFILE(ret, name, params, args)                            \
	SHIM_EXPORT ret SHIM_WRAPPER(name) params                            \
	{                                                                    \
		shim_fn_##name fn_ = shim_get_##name();                      \
		ret r_;                                                      \
		int e_;                                                      \
		if (fn_ == NULL)                                             \
			return SHIM_ENOSYS_RP;                               \
		if (shim_sandboxed() && shim_tmpdir_denied())                \
			return SHIM_DENIED_RP;                               \
		r_ = fn_ args;                                               \
		e_ = errno;                                                  \
		if (r_ != NULL)                                              \
			shim_tmpfile_note();                                 \
		errno = e_;                                                  \
		return r_;                                                   \
	}                                                                    \
	SHIM_INTERPOSE(name)

/* readdir: in sandbox mode the entries the policy denies are skipped
 * (sandbox.c); errno is as the last real call left it. */
#define SHIM_GEN_READDIR(ret, name, params, args)                           \
	SHIM_EXPORT ret SHIM_WRAPPER(name) params                            \
	{                                                                    \
		shim_fn_##name fn_ = shim_get_##name();                      \
		ret r_;                                                      \
		if (fn_ == NULL)                                             \
			return SHIM_ENOSYS_RP;                               \
		if (!shim_sandboxed())                                       \
			return fn_ args;                                     \
		while ((r_ = fn_ args) != NULL &&                            \
		       shim_sandbox_hides(dir, r_->d_name))                  \
			;                                                    \
		return r_;                                                   \
	}                                                                    \
	SHIM_INTERPOSE(name)

/* SBCALL (args, missing): outside sandbox mode the real call; in it
 * sbcall_<name>(real, args...), a function of the row's family file
 * (sblist.c, tmpfile.c); `missing` when libc lacks the function. */
#define SHIM_GEN_SBCALL(ret, name, params, args, missing)                    \
	SHIM_EXPORT ret SHIM_WRAPPER(name) params                            \
	{                                                                    \
		shim_fn_##name fn_ = shim_get_##name();                      \
		if (fn_ == NULL)                                             \
			return missing;                                      \
		if (!shim_sandboxed())                                       \
			return fn_ args;                                     \
		return sbcall_##name(fn_, SHIM_UNPACK args);                 \
	}                                                                    \
	SHIM_INTERPOSE(name)

/* Number of arguments from arg (itself included) to the NULL that ends
 * them; argv gets them and the NULL; with envtail the pointer after the NULL
 * (execle's envp) is returned, else environ.  Async-signal-safe. */
SHIM_HIDDEN size_t shim_va_count(const char *arg, va_list *ap);
SHIM_HIDDEN char *const *shim_va_fill(char **argv, const char *arg,
				      va_list *ap, int envtail);

#endif /* SHMCACHE_HOOK_GEN_H */
