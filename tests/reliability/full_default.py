#!/usr/bin/env python3
"""A full cache of the default size (the production arena), end to end.

    full_default.py --helper FULLCACHE_DEFAULT [--shim LIB] DIR

The helper fills a new cache in DIR to the brim (every refusal counted,
stored keys still merge, verify clean).  Real programs then run under the
shim on that full cache and bare: same stdout, stderr and exit status, and
the records they could not store are counted as dropped.  The cache still
verifies clean, and room that appears later (blocks freed; blocks emptied by
a process killed before its summary update) is found: a new record is
stored again.  Functional only: the cost of a full cache is measured by
bench/bench-fullcache.
"""
import argparse
import os
import re
import sys

from reltools import SKIP, clean_env, run, shim_loadable, traced_env

PROGRAMS = [
    ["ls", "-lR", "/usr/include"],
    ["sh", "-c", "ls -R /usr/lib /usr/share/doc | wc -l; "
     "cat /nonexistent; echo rc=$?"],
]


def figures(out):
    m = re.search(rb"entries (\d+) skipped_full (\d+)", out)
    return (int(m.group(1)), int(m.group(2))) if m else None


def helper(exe, *args):
    p = run([os.path.abspath(exe)] + list(args), clean_env(), timeout=900)
    sys.stdout.write(p.stdout.decode(errors="replace"))
    sys.stdout.write(p.stderr.decode(errors="replace"))
    return p


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--helper", required=True)
    ap.add_argument("--shim")
    ap.add_argument("dir")
    a = ap.parse_args()
    cache = os.path.join(a.dir, f"full-default-{os.getpid()}.cache")
    failures = 0
    try:
        p = helper(a.helper, "fill", cache)
        if p.returncode != 0:
            print("fill: the full cache is not as expected")
            return 1
        before = figures(p.stdout)
        if a.shim and shim_loadable(a.shim, cache):
            for prog in PROGRAMS:
                bare = run(prog, clean_env())
                t = run(prog, traced_env(a.shim, cache))
                if (t.stdout, t.stderr, t.returncode) != \
                        (bare.stdout, bare.stderr, bare.returncode):
                    print(f"{prog[0]}: traced run on the full cache differs"
                          f" (exit {t.returncode}, bare {bare.returncode})")
                    failures += 1
            p = helper(a.helper, "check", cache)
            after = figures(p.stdout)
            if p.returncode != 0 or after is None:
                print("check after the traced runs failed")
                failures += 1
            elif after[1] <= before[1]:
                print("the traced runs' records were not counted as "
                      "dropped")
                failures += 1
            else:
                print(f"traced runs: {after[1] - before[1]} records dropped"
                      f" and counted, {after[0] - before[0]} stored")
        else:
            print("(no loadable shim: the traced programs are left out)")
        p = helper(a.helper, "room", cache)
        if p.returncode != 0:
            print("room in the full cache was not found")
            failures += 1
        print(f"full default-size cache: {failures} failures")
        return 1 if failures else 0
    finally:
        for f in (cache, cache + ".spares"):
            try:
                os.unlink(f)
            except OSError:
                pass


if __name__ == "__main__":
    sys.exit(main())
