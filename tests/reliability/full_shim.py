#!/usr/bin/env python3
"""A full cache, end to end, with the shim and the CLI built for a small
arena (a few hundred KiB, full after a few thousand paths).

    full_shim.py --shim LIBSMALL --cli SHMCACHE_SMALL

Real programs that name far more paths than the arena holds run under
`shmcache run -o CACHE` and bare: same stdout and exit status; `run` warns
on stderr that the listing is incomplete when records were dropped; `shmcache stats` shows the
dropped records; `shmcache verify` is clean.  A second run on the same full
cache still changes nothing for the program.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

from reltools import SKIP, clean_env, sanitizer_runtimes, shim_loadable

PROGRAMS = [
    ["ls", "-lR", "/usr/include"],
    ["sh", "-c", "ls -R /usr/lib/x86_64-linux-gnu /usr/share/doc | wc -l; "
     "cat /nonexistent; echo rc=$?"],
]
WARNING = re.compile(rb"(incomplete|full|dropped|skipped)", re.I)


def run(argv, env=None):
    return subprocess.run(argv, capture_output=True, timeout=300, env=env,
                          stdin=subprocess.DEVNULL, cwd="/")


def dropped_in(cli, cache):
    if not os.path.exists(cache):
        return 0
    st = run([cli, "stats", cache])
    m = re.search(rb"skipped, full:\s*(\d+)", st.stdout)
    return int(m.group(1)) if m else -1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shim", required=True)
    ap.add_argument("--cli", required=True)
    a = ap.parse_args()
    cli = os.path.abspath(a.cli)
    env = clean_env()
    env["SHMCACHE_LIB"] = os.path.abspath(a.shim)
    # a sanitizer runtime the shim needs goes first; run appends the shim
    runtimes = sanitizer_runtimes(a.shim)
    if runtimes:
        env["LD_PRELOAD"] = ":".join(runtimes)
    top = tempfile.mkdtemp(prefix="shmcache-full-")
    cache = os.path.join(top, "full.cache")
    if not shim_loadable(a.shim, os.path.join(top, "probe")):
        shutil.rmtree(top, ignore_errors=True)
        print("SKIP: this build's shim cannot be loaded into ordinary programs")
        return SKIP
    failures = 0
    try:
        for i, prog in enumerate(PROGRAMS * 2):
            bare = run(prog)
            before = dropped_in(cli, cache)
            t = run([cli, "run", "-o", cache, "--"] + prog, env)
            after = dropped_in(cli, cache)
            print(f"{prog[0]} (run {i}): {after - before} records dropped")
            if t.stdout != bare.stdout or t.returncode != bare.returncode:
                print(f"{prog[0]}: traced run differs (exit {t.returncode}, "
                      f"bare {bare.returncode})")
                failures += 1
            extra = t.stderr.replace(bare.stderr, b"", 1)
            if after > before and not WARNING.search(extra):
                print(f"{prog[0]} (run {i}): shmcache run gave no warning "
                      f"that the listing is incomplete; its own stderr: "
                      f"{extra[-300:]!r}")
                failures += 1
        st = run([cli, "stats", cache])
        m = re.search(rb"skipped, full:\s*(\d+)", st.stdout)
        dropped = int(m.group(1)) if m else -1
        print(st.stdout.decode(errors="replace"))
        if st.returncode != 0 or dropped <= 0:
            print(f"shmcache stats: exit {st.returncode}, dropped {dropped}")
            failures += 1
        v = run([cli, "verify", cache])
        if v.returncode != 0:
            print(f"shmcache verify on the full cache: exit {v.returncode}")
            sys.stdout.write(v.stdout.decode(errors="replace")[:2000])
            failures += 1
        print(f"full cache: {len(PROGRAMS) * 2} traced runs, {dropped} "
              f"records dropped and counted, {failures} failures")
        return 1 if failures else 0
    finally:
        shutil.rmtree(top, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
