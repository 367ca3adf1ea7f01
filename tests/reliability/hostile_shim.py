#!/usr/bin/env python3
"""Hostile writer against traced programs.

    hostile_shim.py --shim LIB --scribble SCRIBBLE [--cli SHMCACHE] [--runs N]

Real programs run bare once, then N times each under the shim with
SHMCACHE_DEBUG=1 while `scribble` damages their cache file.  Every traced
run must give the bare run's stdout and exit status, and its stderr once the
shim's own "shmcache: " lines are taken out; a single-process program says
"recording stopped" at most once.  Then the writer stops, leaving every link
out of range: one more traced run must say it exactly once, and
`shmcache verify` must report damage (exit 1).  Skips (77) without a shim.
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile

from reltools import SKIP, clean_env, run, shim_loadable, traced_env

PY = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else "python3"
# (name, argv, single process)
PROGRAMS = [
    ("ls", ["ls", "-lR", "/usr/include/linux"], True),
    ("find", ["find", "/usr/share/zoneinfo", "-name", "E*"], True),
    ("sh", ["sh", "-c", "cat /etc/os-release | sort | head -3; "
            "ls /nonexistent; echo rc=$?"], False),
    ("python", [PY, "-c", "import os, json, glob; "
                "print(len(glob.glob('/usr/include/*.h'))); "
                "print(os.path.exists('/nonexistent'))"], True),
    ("tar", ["sh", "-c", "tar cf - -C /usr/include linux | md5sum"], False),
]
# The shim's one notice: it stopped recording, or (damage seen at start-up)
# it never started.
NOTICES = (b"recording stopped", b"cannot use")


def notices(lines):
    return sum(any(n in ln for n in NOTICES) for ln in lines)


def env_of(shim, cache):
    return traced_env(shim, cache, debug=True) if shim else clean_env()


def split_stderr(err):
    ours = [ln for ln in err.splitlines() if ln.startswith(b"shmcache: ")]
    rest = [ln for ln in err.splitlines() if not ln.startswith(b"shmcache: ")]
    return ours, b"\n".join(rest)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shim", default="")
    ap.add_argument("--scribble", required=True)
    ap.add_argument("--cli", default="")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    if not a.shim:
        print("SKIP: libshmcache.so is not built")
        return SKIP
    shim = os.path.abspath(a.shim)
    top = tempfile.mkdtemp(prefix="shmcache-hostile-")
    cache = os.path.join(top, "cache")
    if not shim_loadable(shim, os.path.join(top, "probe")):
        shutil.rmtree(top, ignore_errors=True)
        print("SKIP: this build's shim cannot be loaded into ordinary programs")
        return SKIP
    failures = 0
    said_during = 0
    try:
        bare = {n: run(argv, env_of("", "")) for n, argv, _ in PROGRAMS}
        # a cache with content, before the writer starts
        first = run(PROGRAMS[0][1], env_of(shim, cache))
        if first.stdout != bare[PROGRAMS[0][0]].stdout:
            print("traced run differs before any damage")
            return 1
        writer = subprocess.Popen(
            [os.path.abspath(a.scribble), "-s", str(a.seed), "-d", "100",
             cache], stdout=subprocess.PIPE)
        if writer.stdout.readline().strip() != b"scribbling":
            print("the writer did not start")
            return 1
        traced_runs = 0
        for r in range(a.runs):
            for name, argv, single in PROGRAMS:
                t = run(argv, env_of(shim, cache))
                traced_runs += 1
                ours, rest = split_stderr(t.stderr)
                _, bare_rest = split_stderr(bare[name].stderr)
                said = notices(ours)
                said_during += said
                if (t.stdout != bare[name].stdout or rest != bare_rest or
                        t.returncode != bare[name].returncode):
                    print(f"run {r} of {name}: differs from the bare run "
                          f"(exit {t.returncode} vs {bare[name].returncode})")
                    sys.stdout.write(t.stderr.decode(errors="replace")[-2000:])
                    failures += 1
                if single and said > 1:
                    print(f"run {r} of {name}: said it stopped {said} times")
                    failures += 1
        writer.terminate()
        out, _ = writer.communicate(timeout=60)
        sys.stdout.write(out.decode(errors="replace"))
        # the file now has every link out of range
        t = run(PROGRAMS[0][1], env_of(shim, cache))
        ours, _ = split_stderr(t.stderr)
        said = notices(ours)
        if t.stdout != bare["ls"].stdout or t.returncode != 0 or said != 1:
            print(f"after the damage: ls exit {t.returncode}, said "
                  f"'recording stopped' {said} times (expected once)")
            failures += 1
        if a.cli:
            v = subprocess.run([os.path.abspath(a.cli), "verify", cache],
                               capture_output=True, timeout=120)
            lines = v.stdout.decode(errors="replace").splitlines()
            print(f"shmcache verify: exit {v.returncode}, "
                  f"{len(lines)} lines; first: "
                  f"{lines[0] if lines else v.stderr[:200]!r}")
            if v.returncode != 1:
                print("shmcache verify did not report the damage (exit 1)")
                failures += 1
        print(f"hostile writer: {traced_runs} traced runs while scribbling, "
              f"{said_during} notices of the shim, "
              f"{failures} failures")
        return 1 if failures else 0
    finally:
        shutil.rmtree(top, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
