#!/usr/bin/env python3
"""Permissions, setuid programs and a full filesystem, under the shim.

    security_shim.py --shim LIB --checker CACHECHECK [--only NAME]

Each check prints "ok:" or "FAIL:" (or "skip:" when it needs root or a
mount it cannot make).  A program runs the same with and without the shim
in every case; whether the cache was written is read with cachecheck.
  create     a new cache file is a regular file, mode 0600, ours
  mode       a group- or world-writable cache is refused (not written)
  owner      a cache owned by another user is refused (root: chown nobody)
  symlink    a symlink to a cache, and a dangling one, are refused; the
             dangling one's target is not created
  setuid     a setuid program (owned by nobody) is not traced, still runs;
             the same program without the bit is traced (control)
  fullfs     the cache on a full filesystem (a small tmpfs, root only):
             the traced program must not die of SIGBUS
Exit 1 if any check failed, 77 without a shim.
"""
import argparse
import os
import pwd
import shutil
import stat
import subprocess
import sys
import tempfile

from reltools import SKIP, clean_env, run, shim_loadable, traced_env

results = []


def report(ok, what):
    results.append(ok)
    print(("ok: " if ok else "FAIL: ") + what)


def env_of(shim, cache, debug=False):
    return traced_env(shim, cache, debug) if shim else clean_env()


def same(a, b):
    return a.stdout == b.stdout and a.returncode == b.returncode


def recorded(checker, cache, path):
    """True if path is in the cache (read as a 0600 file of ours)."""
    r = subprocess.run([checker, cache, path], capture_output=True,
                       timeout=60)
    return r.returncode == 0


class Checks:
    def __init__(self, shim, checker, top):
        self.shim, self.checker, self.top = shim, checker, top
        self.probe = ["ls", "/usr/share/zoneinfo/Europe"]
        self.probe_path = "/usr/share/zoneinfo/Europe"
        self.bare = run(self.probe, env_of("", ""))

    def fresh_cache(self, name):
        cache = os.path.join(self.top, name)
        t = run(["true"], env_of(self.shim, cache))
        return cache if t.returncode == 0 and os.path.exists(cache) else None

    def traced(self, cache, debug=True):
        return run(self.probe, env_of(self.shim, cache, debug))

    def create(self):
        cache = os.path.join(self.top, "new.cache")
        t = self.traced(cache, debug=False)
        st = os.lstat(cache) if os.path.exists(cache) else None
        report(same(t, self.bare) and st is not None and
               stat.S_ISREG(st.st_mode) and
               stat.S_IMODE(st.st_mode) == 0o600 and
               st.st_uid == os.geteuid() and
               recorded(self.checker, cache, self.probe_path),
               "a new cache is a regular file, mode 0600, ours, and written")

    def mode(self):
        for m in (0o620, 0o602, 0o666):
            cache = self.fresh_cache(f"mode-{m:o}.cache")
            os.chmod(cache, m)
            t = self.traced(cache)
            os.chmod(cache, 0o600)
            report(same(t, self.bare) and
                   not recorded(self.checker, cache, self.probe_path) and
                   b"shmcache: " in t.stderr,
                   f"a cache of mode {m:o} is refused, with a message "
                   "under SHMCACHE_DEBUG, and the program runs unchanged")

    def owner(self):
        if os.geteuid() != 0:
            print("skip: owner check needs root (chown)")
            return
        nobody = pwd.getpwnam("nobody")
        cache = self.fresh_cache("other-owner.cache")
        os.chown(cache, nobody.pw_uid, nobody.pw_gid)
        t = self.traced(cache)
        os.chown(cache, 0, 0)
        report(same(t, self.bare) and
               not recorded(self.checker, cache, self.probe_path) and
               b"shmcache: " in t.stderr,
               "a cache owned by another user (nobody) is refused")

    def symlink(self):
        cache = self.fresh_cache("target.cache")
        link = os.path.join(self.top, "link.cache")
        os.symlink(cache, link)
        t = self.traced(link)
        report(same(t, self.bare) and
               not recorded(self.checker, cache, self.probe_path),
               "a symlink to a cache is refused (not followed)")
        dangling = os.path.join(self.top, "dangling.cache")
        target = os.path.join(self.top, "planted-target")
        os.symlink(target, dangling)
        t = self.traced(dangling)
        report(same(t, self.bare) and not os.path.exists(target),
               "a dangling symlink is refused; its target is not created")

    def setuid(self):
        if os.geteuid() != 0:
            print("skip: setuid check needs root (chown nobody)")
            return
        nobody = pwd.getpwnam("nobody")
        prog = os.path.join(self.top, "ls-copy")
        shutil.copy2(shutil.which("ls"), prog)
        os.chmod(self.top, 0o755)  # nobody must reach the program
        cache = os.path.join(self.top, "setuid.cache")
        t = run([prog, self.probe_path], env_of(self.shim, cache))
        control = (same(t, self.bare) and
                   recorded(self.checker, cache, self.probe_path))
        report(control, "control: the copy without the setuid bit is traced")
        cache2 = os.path.join(self.top, "setuid2.cache")
        run(["true"], env_of(self.shim, cache2))
        os.chown(prog, nobody.pw_uid, nobody.pw_gid)
        os.chmod(prog, 0o4755)
        # with SHMCACHE_DEBUG a loaded shim would say why it cannot use
        # the cache (nobody cannot open it): silence means it was not loaded
        t = run([prog, self.probe_path], env_of(self.shim, cache2, True))
        report(same(t, self.bare) and b"shmcache" not in t.stderr and
               not recorded(self.checker, cache2, self.probe_path),
               "a setuid program (of nobody) runs unchanged and is not "
               "traced (the loader ignores LD_PRELOAD)")
        os.chmod(self.top, 0o700)

    def fullfs(self):
        if os.geteuid() != 0:
            print("skip: fullfs needs root (mount)")
            return
        mnt = os.path.join(self.top, "small")
        os.mkdir(mnt)
        m = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs",
                            mnt], capture_output=True)
        if m.returncode != 0:
            print("skip: fullfs cannot mount a tmpfs here")
            return
        try:
            cache = os.path.join(mnt, "c")
            run(["true"], env_of(self.shim, cache))
            # unbuffered: a buffered file would raise ENOSPC again when
            # it flushes its rest at close
            with open(os.path.join(mnt, "fill"), "wb", buffering=0) as f:
                try:
                    while True:
                        f.write(b"\0" * 65536)
                        f.flush()
                except OSError:
                    pass
            prog = ["find", "/usr/include"]
            bare = run(prog, env_of("", ""))
            t = run(prog, env_of(self.shim, cache))
            report(same(t, bare),
                   "a cache on a full filesystem: the traced program runs "
                   f"unchanged (exit {t.returncode}, bare {bare.returncode}"
                   f"{', SIGBUS' if t.returncode in (-7, 135) else ''})")
        finally:
            subprocess.run(["umount", mnt])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shim", default="")
    ap.add_argument("--checker", default="")
    ap.add_argument("--only", default="",
                    help="run one check (fullfs runs only when named)")
    a = ap.parse_args()
    if not a.shim or not a.checker:
        print("SKIP: libshmcache.so or cachecheck is not built")
        return SKIP
    top = tempfile.mkdtemp(prefix="shmcache-sec-")
    if not shim_loadable(a.shim, os.path.join(top, "probe")):
        shutil.rmtree(top, ignore_errors=True)
        print("SKIP: this build's shim cannot be loaded into ordinary programs")
        return SKIP
    try:
        c = Checks(os.path.abspath(a.shim), os.path.abspath(a.checker), top)
        names = ["create", "mode", "owner", "symlink", "setuid", "fullfs"]
        for n in names:
            if (a.only == n) if a.only else n != "fullfs":
                getattr(c, n)()
    finally:
        shutil.rmtree(top, ignore_errors=True)
    if not results:
        return SKIP
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
