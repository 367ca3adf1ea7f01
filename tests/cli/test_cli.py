#!/usr/bin/env python3
"""End-to-end tests of the shmcache command.

Run as `test_cli.py CLASS` (meson registers one test per class).  The
binaries come from the environment meson sets: SHMCACHE_BIN (the command),
SHMCACHE_LIB (libshmcache.so), SHMCACHE_MKCACHE (a helper that records
chosen keys), SHMCACHE_SANITIZE (the b_sanitize option: under a sanitizer
the shim cannot be preloaded into uninstrumented programs, so the tests that
need tracing skip themselves; those of the reading commands still run).
Exit status 77 when every test of the class was skipped.
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

COMMANDS = ["run", "ls", "inputs", "outputs", "tree", "get", "stats",
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
       ("symlink", "S"), ("chattr", "o"), ("chdir", "C"), ("mknod", "n"),
       ("exists", "E"), ("missing", "!"), ("denied", "P"), ("failed", "?")]


def letters_for(ops):
    return "".join(l if n in ops else "-" for n, l in OPS)


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
                    if len(s) == 1 and not (0x80 <= ord(s) < 0xa0):
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
            m = re.match(r"^(\S+) +(\d+) (.*)$", line)
            self.assertIsNotNone(m, line)
            letters, count, path = m.groups()
            raw = json_path(o)
            raws.append(raw)
            self.assertEqual(path, escape_path(raw))
            self.assertEqual(letters, letters_for(o["ops"]))
            self.assertEqual(int(count), o["count"])
        self.assertEqual(raws, sorted(raws), "ls is sorted bytewise")
        nul = sh(["ls", "-0"] + list(extra) + [cache])
        self.assertEqual(nul.stdout.split(b"\0")[:-1], raws)
        return objs


class Usage(Base):
    def test_help_of_every_command(self):
        top = sh(["--help"])
        self.assertEqual(top.returncode, 0)
        for c in COMMANDS:
            self.assertIn(c.encode(), top.stdout)
            r = sh([c, "--help"])
            self.assertEqual(r.returncode, 0, c)
            self.assertIn(b"Usage: shmcache " + c.encode(), r.stdout)
            r = sh(["help", c])
            self.assertEqual(r.returncode, 0, c)

    def test_version(self):
        r = sh(["--version"])
        self.assertEqual(r.returncode, 0)
        self.assertRegex(r.stdout.decode(), r"^shmcache \d+\.\d+\.\d+\n$")

    def test_usage_errors(self):
        self.assertUsageError(sh([]), ["Usage"])
        self.assertUsageError(sh(["frobnicate"]), ["not a shmcache command"])
        self.assertUsageError(sh(["--frob"]), ["unknown option"])
        for c in ["ls", "inputs", "outputs", "tree", "get", "stats",
                  "verify", "watch"]:
            self.assertUsageError(sh([c]), ["Try 'shmcache %s --help'" % c])
            self.assertUsageError(sh([c, "--no-such-option", "x"]), [c])
        self.assertUsageError(sh(["run"]), ["no command"])
        self.assertUsageError(sh(["ls", "--ops", "read,bogus", "x"]),
                              ["bogus"])
        self.assertUsageError(sh(["ls", "--json", "-0", "x"]), ["exclude"])
        self.assertUsageError(sh(["inputs", "--missing", "x"]),
                              ["not valid"])
        self.assertUsageError(sh(["run", "--fresh", "--", "true"]),
                              ["--fresh"])
        self.assertUsageError(sh(["watch", "--interval", "0", "x"]),
                              ["interval"])

    def test_letters_match_header(self):
        hdr = os.path.join(os.path.dirname(__file__), "..", "..",
                           "ctrie_cache", "ctrie_cache.h")
        with open(hdr) as f:
            rows = re.findall(r"X\(\s*\w+,\s*\d+,\s*'(.)',\s*\"([^\"]+)\"\)",
                              f.read())
        self.assertEqual([(n, l) for l, n in rows], OPS)


class Errors(Base):
    """Every file error: message naming the file and the reason, exit 2,
    and no crash whatever the file holds."""

    def good_cache(self, name="good.cache"):
        p = self.path(name)
        mkcache(p, [(["read", "exists"], b"/a/b"), (["stat", "missing"],
                                                     b"/a/c")])
        return p

    def all_readers(self, p):
        return [["ls", p], ["ls", "--json", p], ["inputs", p],
                ["outputs", p], ["tree", p], ["get", p, "/a/b"],
                ["stats", p], ["stats", "--json", p], ["verify", p],
                ["watch", "--count", "1", p]]

    def expect_all(self, p, words, verify_code=USAGE):
        for args in self.all_readers(p):
            r = sh(args)
            code = verify_code if args[0] == "verify" else USAGE
            self.assertEqual(r.returncode, code, (args, r.stderr))
            err = r.stderr.decode("utf-8", "replace") + \
                r.stdout.decode("utf-8", "replace")
            self.assertIn(p, err)
            for w in words:
                self.assertIn(w, err, args)

    def test_missing_file(self):
        self.expect_all(self.path("nope"), ["missing"])

    def test_not_a_cache(self):
        p = self.path("text")
        with open(p, "w") as f:
            f.write("hello world\n" * 1000)
        self.expect_all(p, ["not a cache file"])
        e = self.path("empty")
        open(e, "w").close()
        for args in self.all_readers(e):
            r = sh(args)
            self.assertIn(r.returncode, (1, 2), args)
            self.assertGreater(len(r.stderr) + len(r.stdout), 0)
        self.expect_all(self.tmp, ["not a cache file"])
        fifo = self.path("fifo")
        os.mkfifo(fifo)
        self.expect_all(fifo, ["not a cache file", "FIFO"])
        self.expect_all("/dev/null", ["not a cache file"])

    def flip(self, p, off, value=None):
        with open(p, "r+b") as f:
            f.seek(off)
            b = f.read(1)
            f.seek(off)
            f.write(bytes([value if value is not None else b[0] ^ 0xff]))

    def test_bad_magic(self):
        p = self.good_cache()
        self.flip(p, 0)
        self.expect_all(p, ["not a cache file", "bad magic"])

    def test_incompatible_version(self):
        p = self.good_cache()
        self.flip(p, 8)  # layout_version, after the 8-byte magic
        self.expect_all(p, ["incompatible version"])

    def test_other_owner(self):
        if os.geteuid() != 0:
            self.skipTest("needs root to chown a file to nobody")
        p = self.good_cache()
        os.chown(p, 65534, 65534)
        self.expect_all(p, ["owned by another user"])

    def test_symlink_refused(self):
        p = self.good_cache()
        l = self.path("link.cache")
        os.symlink(p, l)
        self.expect_all(l, ["symbolic link"])

    def test_truncated(self):
        p = self.good_cache()
        os.truncate(p, 100000)
        self.expect_all(p, ["corrupt"], verify_code=1)

    def test_corrupt_key_found_by_verify(self):
        p = self.good_cache()
        r = sh(["verify", p])
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn(b"clean", r.stdout)
        off = find_bytes(p, b"/a/b")
        self.assertGreater(off, 0)
        self.flip(p, off + 3, ord("X"))  # the key no longer hashes here
        r = sh(["verify", p])
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn(b"corrupt", r.stdout)
        for args in self.all_readers(p):
            r = sh(args)
            self.assertIn(r.returncode, (0, 1, 2), (args, r.stderr))

    def test_garbage_never_crashes(self):
        p = self.good_cache()
        key = find_bytes(p, b"/a/b")
        self.assertGreater(key, 0)
        # The header, the cache's root in the client area, and the nodes
        # around the keys: where damage changes what readers follow.
        regions = [(0, 4096), (4096, 4096 + 65536),
                   (max(0, key - 8192), key + 8192)]
        rnd = random.Random(5)
        for round_ in range(12):
            q = self.path("g%d" % round_)
            copy_sparse(p, q)
            with open(q, "r+b") as f:
                for _ in range(48):
                    lo, hi = regions[rnd.randrange(len(regions))]
                    f.seek(rnd.randrange(lo, hi))
                    f.write(bytes([rnd.randrange(256)]))
            for args in self.all_readers(q):
                r = sh(args)
                self.assertIn(r.returncode, (0, 1, 2),
                              (round_, args, r.stderr[-500:]))
            os.unlink(q)


class Contents(Base):
    """The reading commands on a cache of exactly known contents (works
    in every build, ASan included)."""

    RECORDS = [
        (["read", "stat", "exists"], b"/usr/include/stdio.h"),
        (["read", "exists"], b"/usr/include/stdio.h"),
        (["stat", "missing"], b"/usr/include/nothere.h"),
        (["opendir", "exists"], b"/usr/lib/gcc/x86_64-linux-gnu/12/include"),
        (["read", "exists"], b"/usr/lib/gcc/x86_64-linux-gnu/12/include/s.h"),
        (["stat", "exists"], b"/usr"),
        (["stat", "exists"], b"/usr/include-x/a"),
        (["write", "create", "truncate", "exists"], b"/out/a.o"),
        (["unlink", "exists"], b"/out/tmp.s"),
        (["link", "exists"], b"/src/linked-from"),
        (["link", "create", "exists"], b"/out/linked-to"),
        (["read", "exists"], b"/src/new\nline"),
        (["read", "exists"], b"/src/bad\xff\xfebytes"),
        (["read", "exists"], b"/src/caf\xc3\xa9 back\\slash\ttab"),
        (["exec", "exists"], b"/bin/true"),
    ]

    def setUp(self):
        super().setUp()
        self.cache = self.path("c.cache")
        mkcache(self.cache, self.RECORDS)

    def test_ls_json_nul_agree(self):
        objs = self.check_json_matches_ls(self.cache)
        by = {json_path(o): o for o in objs}
        self.assertEqual(len(by), 14)
        self.assertEqual(by[b"/usr/include/stdio.h"]["count"], 2)
        self.assertEqual(by[b"/usr/include/stdio.h"]["ops"],
                         ["read", "stat", "exists"])
        self.assertEqual(by[b"/src/bad\xff\xfebytes"]["path"],
                         "/src/bad\ufffd\ufffdbytes")
        self.assertNotIn("path_b64", by[b"/src/new\nline"])
        ls = sh(["ls", self.cache]).stdout
        self.assertIn(b" /src/new\\nline\n", ls)
        self.assertIn(b" /src/bad\\377\\376bytes\n", ls)
        self.assertIn(" /src/café back\\\\slash\\ttab\n".encode(), ls)

    def test_filters(self):
        r = sh(["ls", "--missing", self.cache])
        self.assertEqual(r.stdout.count(b"\n"), 1)
        self.assertIn(b"/usr/include/nothere.h", r.stdout)
        r = sh(["ls", "-0", "--ops", "write,unlink", self.cache])
        self.assertEqual(r.stdout, b"/out/a.o\0/out/tmp.s\0")
        r = sh(["ls", "-0", "--prefix", "/usr/include", self.cache])
        self.assertEqual(r.stdout, b"/usr/include/nothere.h\0"
                         b"/usr/include/stdio.h\0")
        r = sh(["ls", "-0", "--prefix", "/usr/include/../include/",
                self.cache])
        self.assertEqual(r.stdout.count(b"\0"), 2)
        self.check_json_matches_ls(self.cache, ["--prefix", "/src"])

    def test_inputs_outputs(self):
        r = sh(["inputs", "-0", self.cache])
        ins = set(r.stdout.split(b"\0")[:-1])
        self.assertIn(b"/usr/include/stdio.h", ins)
        self.assertIn(b"/bin/true", ins)
        self.assertIn(b"/src/new\nline", ins)
        self.assertNotIn(b"/usr/include/nothere.h", ins)
        self.assertNotIn(b"/usr", ins)
        self.assertNotIn(b"/out/a.o", ins)
        r = sh(["inputs", "--all", "-0", self.cache])
        ins_all = set(r.stdout.split(b"\0")[:-1])
        self.assertTrue(ins < ins_all)
        self.assertIn(b"/usr/include/nothere.h", ins_all)
        r = sh(["outputs", "-0", self.cache])
        self.assertEqual(r.stdout, b"/out/a.o\0/out/linked-to\0/out/tmp.s\0")
        r = sh(["outputs", "--json", self.cache])
        objs = [json.loads(l) for l in r.stdout.splitlines()]
        self.assertEqual([o["exists"] for o in objs], [False] * 3)
        r = sh(["inputs", self.cache])
        self.assertIn(b"+ /bin/true\n", r.stdout)
        self.assertIn(b"- /src/new\\nline\n", r.stdout)

    def test_tree(self):
        r = sh(["tree", self.cache])
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stdout.decode("utf-8", "replace").splitlines()
        self.assertEqual(lines[0], "/ (14)")
        self.assertIn("  out/ (3)", lines)
        usr = [l for l in lines if l.startswith("  usr/ (5)  ")]
        self.assertEqual(usr, ["  usr/ (5)  " +
                               letters_for(["stat", "exists"]) + " 1"])
        self.assertIn("  bin/true  " + letters_for(["exec", "exists"]) +
                      " 1", lines)
        self.assertIn("    lib/gcc/x86_64-linux-gnu/12/include/ (1)  " +
                      letters_for(["opendir", "exists"]) + " 1", lines)
        self.assertTrue(any(l.startswith("    include-x/a  ") for l in lines))
        r = sh(["tree", self.cache, "/usr/include"])
        self.assertEqual(r.stdout.decode().splitlines()[0],
                         "/usr/include/ (2)")
        r = sh(["tree", self.cache, "/usr"])
        self.assertEqual(r.stdout.decode().splitlines()[0],
                         "/usr/ (5)  " + letters_for(["stat", "exists"]) +
                         " 1")

    def test_get(self):
        r = sh(["get", self.cache, "/usr/include/stdio.h"])
        self.assertEqual(r.returncode, 0)
        self.assertEqual(r.stdout, (letters_for(["read", "stat", "exists"]) +
                                    " 2 /usr/include/stdio.h\n").encode())
        r = sh(["get", self.cache, "include/./stdio.h"], cwd="/usr")
        self.assertEqual(r.returncode, 0, r.stderr)
        r = sh(["get", self.cache, "//usr/lib/../include//stdio.h",
                "/no/such"])
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"/no/such: not in the cache", r.stderr)
        self.assertEqual(r.stdout.count(b"\n"), 1)
        r = sh(["get", "--json", self.cache, "/usr", "/no"])
        objs = [json.loads(l) for l in r.stdout.splitlines()]
        self.assertEqual(objs[0]["count"], 1)
        self.assertEqual(objs[1], {"path": "/no", "absent": True})

    def test_stats(self):
        r = sh(["stats", "--json", self.cache])
        self.assertEqual(r.returncode, 0, r.stderr)
        s = json.loads(r.stdout)
        self.assertEqual(s["entries"], 14)
        self.assertEqual(s["records"], 15)
        self.assertEqual(s["key_bytes"],
                         sum(len(k) for k in {k for _, k in self.RECORDS}))
        self.assertGreater(s["file_size"], 0)
        self.assertGreaterEqual(s["format_version"], 1)
        self.assertGreater(s["live_bytes"], 0)
        self.assertTrue(s["arena"]["classes"])
        used = sum(c["block_size"] * c["blocks_in_use"]
                   for c in s["arena"]["classes"])
        self.assertEqual(used, s["arena"]["bytes_in_use"])
        t = sh(["stats", self.cache]).stdout.decode()
        for word in ["entries:", "format version:", "file size:",
                     "skipped, full:", "size class"]:
            self.assertIn(word, t)

    def test_verify_clean(self):
        r = sh(["verify", self.cache])
        self.assertEqual(r.returncode, 0, r.stdout)

    def test_watch_plain(self):
        r = sh(["watch", "--count", "3", "--interval", "0.05", self.cache])
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stdout.decode().splitlines()
        self.assertEqual(len(lines), 3)
        self.assertTrue(all(l.startswith("entries=14 records=15 ")
                            for l in lines))

    def test_reads_do_not_modify(self):
        before = digest(self.cache)
        st = os.stat(self.cache)
        for args in (["ls"], ["tree"], ["stats"], ["verify"], ["inputs"],
                     ["outputs"]):
            sh(args + [self.cache])
        os.chmod(self.cache, 0o400)
        r = sh(["ls", self.cache])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(digest(self.cache), before)
        self.assertEqual(os.stat(self.cache).st_mtime_ns, st.st_mtime_ns)


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


class Run(TracedBase):
    def test_exit_status_passthrough(self):
        c = self.path("c")
        self.assertEqual(self.run_cmd(["true"], c).returncode, 0)
        self.assertEqual(self.run_cmd(["sh", "-c", "exit 3"], c).returncode,
                         3)
        r = self.run_cmd(["sh", "-c", "kill -TERM $$"], c)
        self.assertEqual(r.returncode, 128 + signal.SIGTERM)
        r = self.run_cmd(["sh", "-c", "kill -KILL $$"], c)
        self.assertEqual(r.returncode, 128 + signal.SIGKILL)
        r = self.run_cmd(["/no/such/program"], c)
        self.assertEqual(r.returncode, NOTFOUND)
        self.assertIn(b"command not found", r.stderr)
        r = self.run_cmd([self.tmp], c)
        self.assertEqual(r.returncode, NOEXEC)

    def test_signal_forwarded(self):
        c = self.path("c")
        p = subprocess.Popen([BIN, "run", "-o", c, "--", "sh", "-c",
                              "trap 'exit 42' HUP; echo ready; "
                              "while :; do sleep 1; done"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             env=self.env)
        self.assertEqual(p.stdout.readline(), b"ready\n")
        p.send_signal(signal.SIGHUP)
        self.assertEqual(p.wait(timeout=30), 42)
        p = subprocess.Popen([BIN, "run", "-o", c, "--", "sh", "-c",
                              "echo ready; exec sleep 60"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             env=self.env)
        self.assertEqual(p.stdout.readline(), b"ready\n")
        p.send_signal(signal.SIGTERM)
        self.assertEqual(p.wait(timeout=30), 128 + signal.SIGTERM)

    def test_temporary_cache_listing_and_removal(self):
        f = self.path("input.txt")
        open(f, "w").write("x")
        r = self.run_cmd(["cat", f])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, b"x")
        self.assertIn((" " + f + "\n").encode(), r.stderr)
        self.assertEqual(self.leftovers(), [])
        rep = self.path("report")
        r = self.run_cmd(["cat", f], extra=["--report", rep])
        self.assertEqual(r.returncode, 0)
        self.assertNotIn(f.encode(), r.stderr)
        self.assertIn((" " + f + "\n").encode(), open(rep, "rb").read())
        self.assertEqual(self.leftovers(), [])
        r = self.run_cmd(["cat", f], extra=["--keep"])
        kept = [l for l in r.stderr.decode().splitlines()
                if "cache kept: " in l]
        self.assertEqual(len(kept), 1)
        path = kept[0].split("cache kept: ", 1)[1]
        self.assertEqual(os.path.dirname(path), self.tmp)
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
        g = sh(["get", path, f])
        self.assertEqual(g.returncode, 0, g.stderr)

    def test_ctrl_c_on_a_terminal(self):
        # Ctrl-C on the controlling terminal reaches CMD (same foreground
        # process group) and run exits with what CMD made of it.  (Whether
        # it arrived once or twice cannot be told: a second SIGINT pending
        # with the first merges with it.)
        import fcntl
        import pty
        import termios
        master, slave = pty.openpty()

        def make_ctty():
            os.setsid()
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        p = subprocess.Popen(
            [BIN, "run", "-o", self.path("c"), "--", "sh", "-c",
             "n=0; trap 'n=$((n+1))' INT; echo ready; "
             "while [ $n -eq 0 ]; do sleep 0.05; done; "
             "echo ints=$n; exit 5"],
            stdin=slave, stdout=slave, stderr=slave, env=self.env,
            preexec_fn=make_ctty)
        os.close(slave)
        out = b""
        while b"ready" not in out:
            out += os.read(master, 1024)
        os.write(master, b"\x03")
        try:
            while True:
                chunk = os.read(master, 1024)
                if not chunk:
                    break
                out += chunk
        except OSError:
            pass
        os.close(master)
        self.assertEqual(p.wait(timeout=30), 5, out)
        self.assertIn(b"ints=1", out)

    def test_temporary_cache_removed_after_a_signal(self):
        r = self.run_cmd(["sh", "-c", "kill -TERM $$"])
        self.assertEqual(r.returncode, 128 + signal.SIGTERM)
        self.assertEqual(self.leftovers(), [])

    def test_skipped_records_warned(self):
        # A path longer than the largest entry: the call runs, the record
        # is skipped and counted, and run says the listing lacks it.
        long = "/" + "/".join(["d" * 200] * 12)
        r = self.run_cmd(["sh", "-c", 'test -e "$1"; exit 0', "sh", long])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(b"records were skipped: path longer than", r.stderr)
        self.assertNotIn(long.encode(), r.stderr)

    def test_output_existing_files(self):
        c = self.path("c")
        a, b = self.path("a"), self.path("b")
        open(a, "w").close()
        open(b, "w").close()
        self.assertEqual(self.run_cmd(["cat", a], c).returncode, 0)
        r = self.run_cmd(["cat", b], c)
        self.assertIn(b"adding to the existing cache", r.stderr)
        self.assertEqual(sh(["get", c, a, b]).returncode, 0)
        r = self.run_cmd(["cat", b], c, extra=["--fresh"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(sh(["get", c, a]).returncode, 1)
        self.assertEqual(sh(["get", c, b]).returncode, 0)
        notcache = self.path("notes.txt")
        open(notcache, "w").write("precious\n")
        for extra in ([], ["--fresh"]):
            r = self.run_cmd(["true"], notcache, extra=extra)
            self.assertEqual(r.returncode, RUN_ERROR)
            self.assertIn(b"not a cache file", r.stderr)
            self.assertEqual(open(notcache).read(), "precious\n")
        self.assertEqual(self.leftovers(), [])

    def test_user_preload_kept(self):
        env = dict(self.env, LD_PRELOAD="libm.so.6")
        r = self.run_cmd(["sh", "-c", 'printf %s "$LD_PRELOAD"'],
                         self.path("c"), env=env)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.decode(),
                         "libm.so.6:" + os.path.realpath(LIB))

    def test_missing_library(self):
        r = self.run_cmd(["true"], self.path("c"),
                         extra=["--lib", self.path("nolib.so")])
        self.assertEqual(r.returncode, RUN_ERROR)
        self.assertIn(b"nolib.so", r.stderr)
        libm = subprocess.run(["sh", "-c", "ldd /bin/sh | grep -o "
                               "'/[^ ]*libc.so.6'"], stdout=subprocess.PIPE)
        other = libm.stdout.decode().strip()
        if other:
            # A library that records nothing: the empty cache is explained.
            r = self.run_cmd(["true"], extra=["--lib", other])
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn(b"nothing was recorded", r.stderr)

    def test_static_binary_warns(self):
        src = self.path("st.c")
        exe = self.path("st")
        open(src, "w").write("#include <stdio.h>\nint main(void){"
                             "FILE*f=fopen(\"/etc/hostname\",\"r\");"
                             "if(f)fclose(f);return 4;}\n")
        b = subprocess.run([CC, "-static", "-o", exe, src],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if b.returncode != 0:
            self.skipTest("cannot link statically: %s" % b.stderr[-200:])
        c = self.path("c")
        r = self.run_cmd([exe], c)
        self.assertEqual(r.returncode, 4)
        self.assertEqual(r.stderr.count(b"statically linked"), 1, r.stderr)
        self.assertEqual(sh(["get", c, "/etc/hostname"]).returncode, 1)
        r = self.run_cmd(["true"], c)
        self.assertNotIn(b"statically", r.stderr)
        script = self.path("script.sh")
        open(script, "w").write("#!%s\n" % exe)
        os.chmod(script, 0o755)
        r = self.run_cmd([script], c)
        self.assertEqual(r.stderr.count(b"statically linked"), 1, r.stderr)


class Traced(TracedBase):
    """Each reading command on a cache made by a real run."""

    def setUp(self):
        super().setUp()
        d = self.path("w")
        os.mkdir(d)
        open(os.path.join(d, "in1"), "w").write("one\n")
        open(os.path.join(d, "in2"), "w").write("two\n")
        self.cache = self.path("c")
        self.w = d
        r = self.run_cmd(["sh", "-c",
                          "cat in1 > out1; cp in2 out2; mkdir sub; "
                          "ls sub > /dev/null; rm out1; "
                          "test -e missing || true"],
                         self.cache, cwd=d)
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_ls_and_json(self):
        objs = self.check_json_matches_ls(self.cache)
        by = {json_path(o): o for o in objs}
        w = self.w.encode()
        self.assertIn("read", by[w + b"/in1"]["ops"])
        self.assertIn("create", by[w + b"/out2"]["ops"])
        self.assertIn("missing", by[w + b"/missing"]["ops"])
        self.assertIn("mkdir", by[w + b"/sub"]["ops"])
        self.assertIn("unlink", by[w + b"/out1"]["ops"])
        r = sh(["ls", "-0", "--missing", "--prefix", self.w, self.cache])
        missing = r.stdout.split(b"\0")[:-1]
        self.assertIn(w + b"/missing", missing)
        self.assertNotIn(w + b"/in1", missing)

    def test_inputs_outputs(self):
        w = self.w.encode()
        ins = sh(["inputs", "-0", "--prefix", self.w, self.cache])
        ins = set(ins.stdout.split(b"\0")[:-1])
        self.assertTrue({w + b"/in1", w + b"/in2"} <= ins, ins)
        for n in (b"/out1", b"/out2", b"/sub", b"/missing"):
            self.assertNotIn(w + n, ins)
        outs = sh(["outputs", "--prefix", self.w, self.cache])
        lines = outs.stdout.decode().splitlines()
        self.assertIn("- " + self.w + "/out1", lines)
        self.assertIn("+ " + self.w + "/out2", lines)
        self.assertIn("+ " + self.w + "/sub", lines)

    def test_tree_get_stats_verify_watch(self):
        r = sh(["tree", self.cache, self.w])
        self.assertEqual(r.returncode, 0, r.stderr)
        first = r.stdout.decode().splitlines()[0]
        self.assertTrue(first.startswith(self.w), first)
        self.assertIn("  in1  ", r.stdout.decode())
        r = sh(["get", self.cache, "in1", "sub/../in2"], cwd=self.w)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.count(b"\n"), 2)
        s = json.loads(sh(["stats", "--json", self.cache]).stdout)
        n = len(sh(["ls", self.cache]).stdout.splitlines())
        self.assertEqual(s["entries"], n)
        self.assertEqual(s["skipped_full"], 0)
        self.assertEqual(sh(["verify", self.cache]).returncode, 0)
        r = sh(["watch", "-c", "2", "-n", "0.05", self.cache])
        self.assertEqual(len(r.stdout.splitlines()), 2)

    def test_reading_while_recording(self):
        c = self.path("busy")
        p = subprocess.Popen(
            [BIN, "run", "-o", c, "--", "sh", "-c",
             'echo ready; i=0; while [ $i -lt 400 ]; do : > "f$i"; '
             'i=$((i+1)); done'],
            cwd=self.w, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env=self.env)
        self.assertEqual(p.stdout.readline(), b"ready\n")
        last = 0
        rounds = 0
        while p.poll() is None or rounds < 2:
            rounds += 1
            r = sh(["ls", "-0", "--prefix", self.w, c])
            self.assertEqual(r.returncode, 0, r.stderr)
            n = len(r.stdout.split(b"\0")) - 1
            self.assertGreaterEqual(n, last)
            last = n
            v = sh(["verify", c])
            self.assertEqual(v.returncode, 0, v.stdout)
        self.assertEqual(p.wait(timeout=60), 0)
        r = sh(["outputs", "-0", "--prefix", self.w, c])
        names = [x for x in r.stdout.split(b"\0")[:-1]
                 if os.path.basename(x).startswith(b"f")]
        self.assertEqual(len(names), 400)

    def test_watch_on_a_terminal(self):
        if shutil.which("script") is None:
            self.skipTest("script(1) is not installed")
        cmd = "%s watch -c 2 -n 0.05 %s" % (shlex.quote(BIN),
                                             shlex.quote(self.cache))
        r = subprocess.run(["script", "-qec", cmd, "/dev/null"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           stdin=subprocess.DEVNULL, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.count(b"\033[H\033[2J"), 2)
        self.assertIn(b"newest:", r.stdout)

    def test_env_i_still_traced(self):
        c = self.path("envi")
        f = os.path.join(self.w, "in1")
        r = self.run_cmd(["env", "-i", "/bin/sh", "-c", "cat " + f], c)
        self.assertEqual(r.returncode, 0, r.stderr)
        g = sh(["get", c, f])
        self.assertEqual(g.returncode, 0, g.stderr)
        self.assertIn(b"r", g.stdout.split()[0])


class Paths(TracedBase):
    """Paths that are not UTF-8 or hold a newline, recorded by a real run,
    come back byte for byte."""

    def test_round_trip(self):
        names = [b"new\nline", b"bad\xff\xfe", b"tab\there", b"back\\slash",
                 "caf\u00e9".encode()]
        c = self.path("c")
        d = self.path().encode()
        args = [b"sh", b"-c", b'for f in "$@"; do : > "$f"; done', b"sh"] + \
            [d + b"/" + n for n in names]
        r = self.run_cmd(args, c)
        self.assertEqual(r.returncode, 0, r.stderr)
        objs = self.check_json_matches_ls(c, ["--prefix", self.tmp])
        got = {json_path(o) for o in objs}
        for n in names:
            self.assertIn(d + b"/" + n, got)
        r = sh(["outputs", "-0", "--prefix", self.tmp, c])
        self.assertEqual(set(r.stdout.split(b"\0")[:-1]),
                         {d + b"/" + n for n in names})
        for n in names:
            g = sh([b"get", c.encode(), d + b"/" + n])
            self.assertEqual(g.returncode, 0, (n, g.stderr))


def main():
    names = sys.argv[1:] or ["Usage", "Errors", "Contents", "Run", "Traced",
                             "Paths"]
    suite = unittest.TestSuite()
    for n in names:
        suite.addTests(unittest.defaultTestLoader.loadTestsFromTestCase(
            globals()[n]))
    res = unittest.TextTestRunner(verbosity=2).run(suite)
    if not res.wasSuccessful():
        return 1
    if res.testsRun > 0 and len(res.skipped) == res.testsRun:
        return 77
    return 0


if __name__ == "__main__":
    sys.exit(main())
