#!/usr/bin/env python3
"""Runs one program bare and under the preload shim and compares them.

    run_traced.py --shim LIB --checker CACHECHECK [--expect REL[=LETTERS]]... -- PROG [ARGS]

Each run gets a fresh, empty working directory.  The two runs must give the
same stdout, stderr and exit status; the bare run must exit 0.  Afterwards the
traced run's cache must be non-empty, verify clean, and hold every --expect
path (relative to the traced run's working directory; with =LETTERS, with
exactly those bits, as `shmcache ls` prints them).  Without a shim
(--shim '') the bare run is still checked, then the test is skipped (77).
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile

from reltools import (SKIP, clean_env, run, sanitizer_runtimes, shim_loadable,
                      traced_env)

TIMEOUT = 240


def run_or_none(cmd, cwd, env):
    try:
        return run(cmd, env, cwd=cwd, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        return None



def show(label, p):
    print(f"--- {label}: exit {p.returncode}")
    sys.stdout.write(p.stdout.decode(errors="replace"))
    if p.stderr:
        print(f"--- {label} stderr:")
        sys.stdout.write(p.stderr.decode(errors="replace"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shim", default="")
    ap.add_argument("--checker", default="")
    ap.add_argument("--expect", action="append", default=[])
    ap.add_argument("--empty-env-exec", action="store_true",
                    help="the program execs with an empty environment")
    ap.add_argument("--debug", action="store_true",
                    help="set SHMCACHE_DEBUG=1 in the traced run")
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    cmd = a.cmd[1:] if a.cmd and a.cmd[0] == "--" else a.cmd
    if not cmd:
        ap.error("no program")
    # meson passes build-relative paths; each run has its own directory
    cmd = [os.path.abspath(cmd[0]) if os.path.exists(cmd[0]) else cmd[0]] \
        + cmd[1:]
    if a.checker:
        a.checker = os.path.abspath(a.checker)

    top = tempfile.mkdtemp(prefix="shmcache-rel-")
    try:
        bare_dir = os.path.join(top, "bare")
        traced_dir = os.path.join(top, "traced")
        os.mkdir(bare_dir)
        os.mkdir(traced_dir)
        cache = os.path.join(top, "cache")

        bare = run_or_none(cmd, bare_dir, clean_env())
        if bare is None:
            print(f"bare run of {cmd[0]} hung (> {TIMEOUT} s)")
            return 1
        if bare.returncode != 0:
            show("bare run failed", bare)
            return 1
        if not a.shim:
            show("bare", bare)
            print("SKIP: libshmcache.so is not built; bare run passed")
            return SKIP

        if not shim_loadable(a.shim, os.path.join(top, "probe")):
            print("SKIP: this build's shim cannot be loaded into ordinary "
                  "programs (sanitizer runtime)")
            return SKIP
        if a.empty_env_exec and sanitizer_runtimes(a.shim):
            # the shim re-injects itself, not the runtime it needs here
            print("SKIP: exec with an empty environment in a sanitizer "
                  "build (the re-injected shim needs its runtime first)")
            return SKIP
        env = traced_env(a.shim, cache, a.debug, program=cmd[0])
        traced = run_or_none(cmd, traced_dir, env)
        if traced is None:
            print(f"traced run of {cmd[0]} hung (> {TIMEOUT} s)")
            return 1
        ok = (bare.stdout == traced.stdout and bare.stderr == traced.stderr
              and bare.returncode == traced.returncode)
        if not ok:
            print("bare and traced runs differ")
            show("bare", bare)
            show("traced", traced)
            return 1
        show("both runs", bare)

        if not os.path.exists(cache) or os.path.getsize(cache) == 0:
            print(f"the cache {cache} was not written")
            return 1
        if a.checker:
            paths = [os.path.join(traced_dir, e) for e in a.expect]
            chk = subprocess.run([a.checker, cache] + paths,
                                 capture_output=True, text=True,
                                 timeout=TIMEOUT)
            sys.stdout.write(chk.stdout + chk.stderr)
            if chk.returncode != 0:
                print("cache check failed")
                return 1
        print("identical output; cache verified")
        return 0
    finally:
        shutil.rmtree(top, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
