"""Helpers shared by the reliability runners: environments with and without
the shim, sanitizer runtimes, and whether this build's shim can be loaded
into ordinary (uninstrumented) programs at all."""
import os
import re
import subprocess

SKIP = 77


def sanitizer_runtimes(path):
    """Sanitizer runtimes a program or library links (they must come first
    in LD_PRELOAD, before the shim)."""
    try:
        out = subprocess.run(["ldd", path], capture_output=True, text=True,
                             timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return re.findall(r"=>\s*(\S*lib[a-z]san\.so[.\d]*)", out)


def clean_env():
    """The environment without the shim; leak reports off (system programs
    under an ASan runtime leak by design)."""
    env = {k: v for k, v in os.environ.items()
           if k != "LD_PRELOAD" and not k.startswith("SHMCACHE_")}
    opts = env.get("ASAN_OPTIONS", "")
    env["ASAN_OPTIONS"] = (opts + ":" if opts else "") + "detect_leaks=0"
    return env


def preload_of(shim, program=None):
    runtimes = sanitizer_runtimes(shim)
    if program:
        runtimes = sanitizer_runtimes(program) + runtimes
    seen = []
    for r in runtimes:
        if r not in seen:
            seen.append(r)
    return ":".join(seen + [os.path.abspath(shim)])


def traced_env(shim, cache, debug=False, program=None):
    env = clean_env()
    env["LD_PRELOAD"] = preload_of(shim, program)
    env["SHMCACHE_FILE"] = cache
    if debug:
        env["SHMCACHE_DEBUG"] = "1"
    return env


def run(argv, env, cwd="/", timeout=300):
    return subprocess.run(argv, env=env, cwd=cwd, capture_output=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


def shim_loadable(shim, cache):
    """False when this build's shim cannot be loaded into an ordinary
    program (e.g. a clang sanitizer build, whose runtime lives only in
    instrumented executables): the end-to-end checks then skip."""
    try:
        p = run(["sh", "-c", "exit 0"], traced_env(shim, cache), timeout=60)
    except (OSError, subprocess.SubprocessError):
        return False
    return p.returncode == 0 and b"error" not in p.stderr
