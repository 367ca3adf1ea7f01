#!/usr/bin/env python3
"""End-to-end tests of the reading commands of shmcache, their usage and
errors, on caches of known contents (every build, ASan included).

Run as `test_cli_read.py CLASS...` (meson registers one test per class); see
clitest.py for the environment.  Exit status 77 when every test was skipped.
"""
import sys

sys.dont_write_bytecode = True
from clitest import *  # noqa: E402,F401,F403


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

    def test_ls_help_has_the_letter_legend(self):
        out = sh(["ls", "--help"]).stdout.decode()
        legend = out[out.index("\nLetters"):].splitlines()[2:]
        pairs = re.findall(r"(\S) (\S+)", " ".join(legend))
        self.assertEqual([(n, l) for l, n in pairs], OPS)


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

    def test_second_hard_link_refused(self):
        p = self.good_cache()
        other = self.path("other-name")
        os.link(p, other)
        for name in (p, other):
            self.expect_all(name, ["has 2 hard links", "refused"])
        os.unlink(other)
        self.assertEqual(sh(["ls", p]).returncode, 0)

    def test_zeroed_header_is_damage(self):
        # The header page zeroed: every reader reports damage at once,
        # verify gives its verdict (1), and nothing rewrites the header.
        p = self.good_cache()
        with open(p, "r+b") as f:
            f.write(bytes(4096))
        before = digest(p)
        for args in self.all_readers(p):
            r = sh(args)
            out = (r.stdout + r.stderr).decode()
            if args[0] == "verify":
                self.assertEqual(r.returncode, 1, out)
                self.assertIn("header: the file header is damaged", out)
                self.assertIn("corrupt (1 problem)", out)
            else:
                self.assertEqual(r.returncode, USAGE, (args, out))
                self.assertIn("damaged file header", out)
            self.assertNotIn("initialised", out)
        self.assertEqual(digest(p), before)

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

    def test_verify_names_the_cache_on_every_line(self):
        p = self.good_cache()
        self.flip(p, find_bytes(p, b"/a/b") + 3, ord("X"))
        r = sh(["verify", p])
        lines = r.stdout.decode().splitlines()
        self.assertEqual(r.returncode, 1, lines)
        self.assertGreater(len(lines), 1)
        for line in lines:
            self.assertTrue(line.startswith(p + ": "), line)

    def test_run_names_the_cache_it_cannot_create(self):
        c = self.path("no", "such", "dir", "c.cache")
        for fresh in ([], ["--fresh"]):
            r = sh(["run", "-o", c] + fresh + ["--", "true"])
            self.assertEqual(r.returncode, RUN_ERROR, r.stderr)
            self.assertEqual(r.stderr.decode(),
                             "shmcache: %s: cannot create the cache: the "
                             "cache file could not be opened: cannot open "
                             "or create the file: No such file or "
                             "directory\n" % c)

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

    def test_get_aligns_counts_as_ls(self):
        c = self.path("counts.cache")
        mkcache(c, [(["read", "exists"], b"/a")] * 12 +
                [(["stat", "missing"], b"/b")])
        r = sh(["get", c, "/a", "/b"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, sh(["ls", c]).stdout)
        self.assertEqual(r.stdout.decode().splitlines()[1],
                         letters_for(["stat", "missing"]) + "  1 /b")

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
        # every byte in use is live, retired, slack, in the rest of the
        # chunk keys are being cut from, or in the next one (at most two
        # chunks, 2 KiB)
        counted = s["live_bytes"] + s["retired_bytes"] + s["slack_bytes"]
        self.assertLessEqual(counted, s["arena"]["bytes_in_use"])
        self.assertLessEqual(s["arena"]["bytes_in_use"] - counted, 2048)
        self.assertTrue(s["arena"]["classes"])
        used = sum(c["block_size"] * c["blocks_in_use"]
                   for c in s["arena"]["classes"])
        self.assertEqual(used, s["arena"]["bytes_in_use"])
        t = sh(["stats", self.cache]).stdout.decode()
        for word in ["entries:", "format version:", "file size:",
                     "skipped, full:", "slack bytes:", "size class"]:
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


if __name__ == "__main__":
    sys.exit(main(globals(), sys.argv[1:]))
