"""The reader library as a user gets it: `meson install --destdir` into a
temporary folder, a client program (read_cache.c) compiled with nothing but
`pkg-config --cflags --libs shmcache-reader` pointed at that folder, then
run on caches that `shmcache run` made; what it reads must be exactly what
`shmcache ls --json` and `shmcache get --json` print.

Environment (set by tests/reader/meson.build): MESON, BUILD_ROOT, CC,
PKG_CONFIG, SHMCACHE_BIN, SHMCACHE_LIB, SHMCACHE_SANITIZE.
"""
import glob
import json
import os
import shlex
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ENV = os.environ
SANITIZE = ENV.get("SHMCACHE_SANITIZE", "none")


def check(cmd, **kw):
    kw.setdefault("stdout", subprocess.PIPE)
    kw.setdefault("stderr", subprocess.PIPE)
    kw.setdefault("timeout", 120)
    r = subprocess.run(cmd, **kw)
    if r.returncode != 0:
        raise AssertionError("%s: exit %d\n%s%s" % (
            shlex.join(cmd), r.returncode, r.stdout.decode(errors="replace"),
            r.stderr.decode(errors="replace")))
    return r


@unittest.skipIf(SANITIZE not in ("", "none"),
                 "built with -Db_sanitize: an uninstrumented client cannot "
                 "load the installed library")
class Installed(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="shmcache-reader-")
        cls.dest = os.path.join(cls.tmp.name, "dest")
        check([ENV["MESON"], "install", "-C", ENV["BUILD_ROOT"],
               "--no-rebuild", "--quiet", "--destdir", cls.dest])
        pcs = glob.glob(os.path.join(cls.dest, "**", "pkgconfig",
                                     "shmcache-reader.pc"), recursive=True)
        assert len(pcs) == 1, pcs
        cls.pc = pcs[0]
        cls.libdir = os.path.dirname(os.path.dirname(cls.pc))
        # pkg-config reads only the installed .pc, and prefixes the paths
        # it gives with the destdir as it would with a sysroot.
        env = dict(ENV, PKG_CONFIG_LIBDIR=os.path.dirname(cls.pc),
                   PKG_CONFIG_PATH="", PKG_CONFIG_SYSROOT_DIR=cls.dest)
        flags = check([ENV.get("PKG_CONFIG", "pkg-config"), "--cflags",
                       "--libs", "shmcache-reader"], env=env)
        cls.flags = shlex.split(flags.stdout.decode())
        cls.client = os.path.join(cls.tmp.name, "read_cache")
        check([ENV.get("CC", "cc"), "-std=c11", "-Wall", "-Werror",
               os.path.join(HERE, "read_cache.c"), "-o", cls.client]
              + cls.flags)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def read(self, *args, cwd=None, env=None):
        env = dict(env or ENV, LD_LIBRARY_PATH=self.libdir)
        return subprocess.run([self.client] + list(args), env=env, cwd=cwd,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              timeout=60)

    def shmcache(self, *args, **kw):
        return check([ENV["SHMCACHE_BIN"]] + list(args), **kw)

    def test_flags_name_the_installed_files_only(self):
        self.assertIn("-lshmcache-reader", self.flags)
        for f in self.flags:
            if f.startswith(("-I", "-L")):
                self.assertTrue(f[2:].startswith(self.dest), f)
        inc = [f[2:] for f in self.flags if f.startswith("-I")]
        self.assertTrue(any(os.path.exists(os.path.join(d,
                        "shmcache_reader.h")) for d in inc), inc)
        man = glob.glob(os.path.join(self.dest, "**", "man3",
                                     "shmcache_reader.3"), recursive=True)
        self.assertEqual(len(man), 1)

    def test_exports_only_its_functions(self):
        so = os.path.join(self.libdir, "libshmcache-reader.so")
        r = check(["nm", "-D", "--defined-only", so])
        names = [l.split()[-1] for l in r.stdout.decode().splitlines()
                 if l.strip()]
        self.assertTrue(names)
        self.assertEqual([n for n in names if not n.startswith("shmcache_")],
                         [])

    @unittest.skipIf(SANITIZE not in ("", "none") or
                     not os.path.exists(ENV.get("SHMCACHE_LIB", "")),
                     "the shim is not built")
    def test_reads_what_run_recorded(self):
        with tempfile.TemporaryDirectory(dir=self.tmp.name) as w:
            with open(os.path.join(w, "in.txt"), "w") as f:
                f.write("x")
            cache = os.path.join(w, "c.cache")
            self.shmcache("run", "-o", cache, "--", "sh", "-c",
                          "cat in.txt; cat nothere 2>/dev/null; true",
                          cwd=w)
            r = self.read(cache, "in.txt", os.path.join(w, "nothere"),
                          "never-named", cwd=w)
            self.assertEqual(r.returncode, 0, r.stderr)
            lines = r.stdout.decode().splitlines()
            ls = self.shmcache("ls", "--json", cache)
            want = []
            for o in map(json.loads, ls.stdout.decode().splitlines()):
                want.append("entry %s\t%s\t%s\t%d" % (
                    o["path"], ",".join(o["ops"]) or "-",
                    ",".join(o["failed"]) or "-", o["count"]))
            entries = [l for l in lines if l.startswith("entry ")]
            self.assertEqual(sorted(entries), sorted(want))
            self.assertEqual(lines[0], "count %d" % len(want))
            get = self.shmcache("get", "--json", cache, "in.txt",
                                "nothere", cwd=w)
            got = [json.loads(l) for l in get.stdout.decode().splitlines()]
            looked = [l for l in lines if l.startswith("lookup ")]
            self.assertEqual(looked, [
                "lookup %s\t%s\t%s\t%d" % (
                    arg, ",".join(o["ops"]) or "-",
                    ",".join(o["failed"]) or "-", o["count"])
                for arg, o in zip(["in.txt", os.path.join(w, "nothere")],
                                  got)])
            self.assertIn("read", looked[0].split("\t")[1].split(","))
            self.assertIn("missing", looked[1].split("\t")[1].split(","))
            self.assertEqual(looked[1].split("\t")[2], "read")
            self.assertIn("absent never-named", lines)
            self.assertEqual(lines[-1], "verify 0")

    def test_verify_out_of_memory_is_an_error(self):
        """verify that cannot allocate its working memory returns
        SHMCACHE_E_NOMEM, not a problem of the file."""
        with tempfile.TemporaryDirectory(dir=self.tmp.name) as w:
            cache = os.path.join(w, "c.cache")
            self.shmcache("run", "-o", cache, "--", "true", cwd=w)
            env = dict(ENV, READ_CACHE_TIGHT="1")
            r = self.read(cache, env=env)
            self.assertEqual(r.returncode, 0, r.stderr)
            lines = r.stdout.decode().splitlines()
            self.assertEqual(lines[-1], "verify -7", lines)
            self.assertFalse([l for l in lines if l.startswith("problem")])

    def test_open_says_why(self):
        with tempfile.TemporaryDirectory(dir=self.tmp.name) as w:
            r = self.read(os.path.join(w, "none"))
            self.assertEqual((r.returncode, r.stdout.decode()), (2,
                "open: -1 cannot be opened or mapped (see errno): "
                "No such file or directory\n"))
            text = os.path.join(w, "text")
            with open(text, "w") as f:
                f.write("not a cache\n" * 1000)
            os.chmod(text, 0o600)
            r = self.read(text)
            self.assertEqual(r.stdout.decode(),
                             "open: -3 not a cache file\n")
            link = os.path.join(w, "link")
            os.symlink(text, link)
            r = self.read(link)
            self.assertTrue(r.stdout.decode().startswith("open: -2 refused"),
                            r.stdout)


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1] + sys.argv[1:], verbosity=2)
