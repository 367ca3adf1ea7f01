"""Helpers shared by the end-to-end tests of the shmcache command.

The binaries come from the environment meson sets: SHMCACHE_BIN (the
command), SHMCACHE_LIB (libshmcache.so), SHMCACHE_MKCACHE (a helper that
records chosen keys), SHMCACHE_SANITIZE (the b_sanitize option: under a
sanitizer the shim cannot be preloaded into uninstrumented programs, so the
tests that need tracing skip themselves; those of the reading commands
still run), SHMCACHE_CC (the compiler, for a static test program).
"""
import base64
import json
import os
import random
import re
import shlex
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import unittest

BIN = os.environ.get("SHMCACHE_BIN", "")
LIB = os.environ.get("SHMCACHE_LIB", "")
MKCACHE = os.environ.get("SHMCACHE_MKCACHE", "")
SANITIZE = os.environ.get("SHMCACHE_SANITIZE", "none")
CC = os.environ.get("SHMCACHE_CC", "cc")

COMMANDS = ["run", "ls", "inputs", "outputs", "tree", "get", "stats", "violations",
            "verify", "watch"]
USAGE, RUN_ERROR, NOEXEC, NOTFOUND = 2, 125, 126, 127


def tracing_skip_reason():
    if SANITIZE not in ("", "none"):
        return "built with -Db_sanitize=%s: the shim cannot be preloaded " \
               "into uninstrumented programs" % SANITIZE
    if not LIB or not os.path.exists(LIB):
        return "libshmcache.so is not built (SHMCACHE_LIB unset)"
    return None


def sh(cmd, **kw):
    """Runs shmcache with arguments (bytes or str) and captures output."""
    kw.setdefault("stdout", subprocess.PIPE)
    kw.setdefault("stderr", subprocess.PIPE)
    kw.setdefault("timeout", 60)
    return subprocess.run([BIN] + list(cmd), **kw)


# The operation names and letters, in bit order, as ctrie_cache.h defines
# them; test_letters_match_header checks this table against the header.
OPS = [("read", "r"), ("write", "w"), ("create", "c"), ("truncate", "t"),
       ("stat", "s"), ("access", "a"), ("exec", "x"), ("readlink", "l"),
       ("opendir", "d"), ("mkdir", "m"), ("rmdir", "M"), ("unlink", "u"),
       ("rename-from", "f"), ("rename-to", "T"), ("link", "h"),
       ("symlink", "S"), ("chattr", "o"), ("chdir", "C"), ("mknod", "n"), ("load", "L"),
       ("exists", "E"), ("missing", "!"), ("denied", "P"), ("failed", "?"),
       ("violation", "V")]


OUTCOMES = ("exists", "missing", "denied", "failed", "violation")


def letters_for(ops, failed=()):
    """ls's two columns: operations that succeeded and outcomes, then the
    operations that failed."""
    return ("".join(l if n in ops else "-" for n, l in OPS) + " " +
            "".join(l if n in failed else "-" for n, l in OPS
                    if n not in OUTCOMES))


def escape_path(raw):
    """The ls escaping (see print_path_escaped), for comparisons."""
    out = []
    i = 0
    while i < len(raw):
        b = raw[i]
        if b == 0x5c:
            out.append("\\\\")
        elif b == 0x0a:
            out.append("\\n")
        elif b == 0x09:
            out.append("\\t")
        elif b == 0x0d:
            out.append("\\r")
        elif b < 0x20 or b == 0x7f:
            out.append("\\%03o" % b)
        elif b < 0x80:
            out.append(chr(b))
        else:
            for k in (2, 3, 4):
                try:
                    s = raw[i:i + k].decode("utf-8")
                    if len(s) == 1 and not (0x80 <= ord(s) < 0xa0) \
                            and s not in "\u2028\u2029":
                        out.append(s)
                        i += k
                        break
                except UnicodeDecodeError:
                    pass
            else:
                out.append("\\%03o" % b)
                i += 1
            continue
        i += 1
    return "".join(out)


# What some reader takes as the end of a line: besides "\n", "\r" and
# the other C0 controls, NEL (U+0085) and U+2028 / U+2029, as Python's
# splitlines() and JavaScript do.
LINE_BREAKS_UTF8 = ("\u0085".encode(), "\u2028".encode(),
                    "\u2029".encode())


def json_path(obj):
    if "path_b64" in obj:
        return base64.b64decode(obj["path_b64"])
    return obj["path"].encode("utf-8")


def data_extents(path):
    """(offset, bytes) of each data extent of a sparse file (holes skipped)."""
    with open(path, "rb") as f:
        fd = f.fileno()
        size = os.fstat(fd).st_size
        off = 0
        while off < size:
            try:
                start = os.lseek(fd, off, os.SEEK_DATA)
            except OSError:
                return
            end = os.lseek(fd, start, os.SEEK_HOLE)
            f.seek(start)
            yield start, f.read(end - start)
            off = end


def find_bytes(path, needle):
    """Offset of needle in a (sparse) file, or -1."""
    for start, chunk in data_extents(path):
        i = chunk.find(needle)
        if i >= 0:
            return start + i
    return -1


def digest(path):
    import hashlib
    h = hashlib.sha256()
    for start, chunk in data_extents(path):
        h.update(b"%d:" % start)
        h.update(chunk)
    return h.hexdigest()


def copy_sparse(src, dst):
    subprocess.run(["cp", "--sparse=always", src, dst], check=True)


def mkcache(path, records):
    """records: list of (ops list, key bytes)."""
    data = b"".join(",".join(ops).encode() + b"\t" + key + b"\0"
                    for ops, key in records)
    subprocess.run([MKCACHE, path], input=data, check=True, timeout=60)


class Base(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="shmcache-test-")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def path(self, *parts):
        return os.path.join(self.tmp, *parts)

    def assertUsageError(self, r, words):
        self.assertEqual(r.returncode, USAGE, r.stderr)
        err = r.stderr.decode("utf-8", "replace")
        for w in words:
            self.assertIn(w, err)

    def check_json_matches_ls(self, cache, extra=()):
        ls = sh(["ls"] + list(extra) + [cache])
        js = sh(["ls", "--json"] + list(extra) + [cache])
        self.assertEqual(ls.returncode, 0, ls.stderr)
        self.assertEqual(js.returncode, 0, js.stderr)
        lines = ls.stdout.decode("utf-8", "surrogateescape").splitlines()
        objs = [json.loads(l) for l in js.stdout.decode("utf-8").splitlines()]
        self.assertEqual(len(lines), len(objs))
        raws = []
        for line, o in zip(lines, objs):
            m = re.match(r"^(\S+ \S+) +(\d+) (.*)$", line)
            self.assertIsNotNone(m, line)
            letters, count, path = m.groups()
            raw = json_path(o)
            raws.append(raw)
            self.assertEqual(path, escape_path(raw))
            self.assertEqual(letters, letters_for(o["ops"], o["failed"]))
            self.assertEqual(int(count), o["count"])
        self.assertEqual(raws, sorted(raws), "ls is sorted bytewise")
        nul = sh(["ls", "-0"] + list(extra) + [cache])
        self.assertEqual(nul.stdout.split(b"\0")[:-1], raws)
        return objs


def assert_lines_safe(test, data, what):
    """data (bytes) splits into the same lines for every reader: no line
    break other than "\n" in it, and splitlines() agrees with split."""
    for b in LINE_BREAKS_UTF8:
        test.assertNotIn(b, data, what)
    text = data.decode("utf-8", "surrogateescape")
    parts = text.split("\n")
    if parts and parts[-1] == "":
        parts.pop()
    test.assertEqual(text.splitlines(), parts, what)


class TracedBase(Base):
    def setUp(self):
        reason = tracing_skip_reason()
        if reason:
            self.skipTest(reason)
        super().setUp()
        self.env = dict(os.environ, SHMCACHE_LIB=LIB,
                        XDG_RUNTIME_DIR=self.path())
        self.env.pop("LD_PRELOAD", None)

    def run_cmd(self, args, cache=None, extra=(), **kw):
        cmd = ["run"] + (["-o", cache] if cache else []) + list(extra) + \
            ["--"] + list(args)
        kw.setdefault("env", self.env)
        return sh(cmd, **kw)

    def leftovers(self):
        return [n for n in os.listdir(self.tmp) if n.startswith("shmcache-")
                or n.startswith(".shmcache-")]



def main(classes, names):
    """Runs the named test classes; exit status 77 when all were skipped."""
    suite = unittest.TestSuite()
    for n in names or sorted(k for k, v in classes.items()
                             if isinstance(v, type) and
                             issubclass(v, unittest.TestCase) and
                             not k.endswith("Base")):
        suite.addTests(unittest.defaultTestLoader.loadTestsFromTestCase(
            classes[n]))
    res = unittest.TextTestRunner(verbosity=2).run(suite)
    if not res.wasSuccessful():
        return 1
    if res.testsRun > 0 and len(res.skipped) == res.testsRun:
        return 77
    return 0
