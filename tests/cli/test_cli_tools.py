#!/usr/bin/env python3
"""End-to-end tests of the commands that fit shmcache to other tools:
`fsatrace` (fsatrace's interface and output), `depfile` (read back by real
make and ninja) and `diff` (on two real runs).

Run as `test_cli_tools.py CLASS...` (meson registers one test per class);
see clitest.py for the environment.  Exit status 77 when every test was
skipped.
"""
import sys
import time

sys.dont_write_bytecode = True
from clitest import *  # noqa: E402,F401,F403

TOOLS = ["fsatrace", "depfile", "diff"]


class ToolsUsage(Base):
    def test_help(self):
        top = sh(["--help"])
        for c in TOOLS:
            self.assertIn(c.encode(), top.stdout)
            for args in ([c, "--help"], ["help", c]):
                r = sh(args)
                self.assertEqual(r.returncode, 0, args)
                self.assertIn(b"Usage: shmcache " + c.encode(), r.stdout)

    def test_usage_errors(self):
        self.assertUsageError(sh(["fsatrace"]), ["FLAGS OUTPUT -- CMD"])
        self.assertUsageError(sh(["fsatrace", "rw", "-", "true"]),
                              ["FLAGS OUTPUT -- CMD"])
        self.assertUsageError(sh(["fsatrace", "rw", "-", "--"]),
                              ["FLAGS OUTPUT -- CMD"])
        self.assertUsageError(sh(["depfile"]), ["one CACHE"])
        self.assertUsageError(sh(["depfile", "--bogus", "x"]), ["depfile"])
        self.assertUsageError(sh(["diff", "a"]), ["two caches"])
        self.assertUsageError(sh(["diff", "--bogus", "a", "b"]), ["diff"])

    def test_unreadable_caches(self):
        missing = self.path("nope")
        r = sh(["diff", missing, missing])
        self.assertEqual(r.returncode, 2)
        self.assertIn(b"missing: no such file", r.stderr)
        self.assertEqual(r.stdout, b"")
        r = sh(["depfile", "--target", "t", missing])
        self.assertEqual(r.returncode, 2)


class Fsatrace(TracedBase):
    def setUp(self):
        super().setUp()
        self.d = self.path("work")
        os.mkdir(self.d)
        with open(os.path.join(self.d, "a"), "w") as f:
            f.write("a\n")

    def p(self, name):
        return os.path.join(self.d, name)

    def trace(self, flags, cmd, sep="--", output="-", name=None, **kw):
        argv = [name or BIN] + ([] if name else ["fsatrace"]) + \
            [flags, output, sep] + cmd
        kw.setdefault("env", self.env)
        kw.setdefault("cwd", self.d)
        return subprocess.run(argv, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=60, **kw)

    def mine(self, out):
        """The lines that name paths of the test's directory."""
        return [l for l in out.decode().splitlines()
                if l[2:].startswith(self.d + "/") or l[2:] == self.d]

    def expect(self, flags, cmd, lines):
        r = self.trace(flags, cmd)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.mine(r.stdout),
                         [l % {"d": self.d} for l in lines])
        return r

    def test_real_commands(self):
        cp = shutil.which("cp")
        r = self.expect("rwmdt", ["cp", "a", "b"],
                        ["r|%(d)s/a", "w|%(d)s/b"])
        self.assertIn(("r|" + cp).encode(), r.stdout.splitlines())
        self.expect("q", ["cp", "a", "c"],
                    ["q|%(d)s/a", "q|%(d)s/c"])
        self.expect("w", ["cat", "a"], [])
        self.expect("r", ["cat", "a"], ["r|%(d)s/a"])
        self.expect("rwmdt", ["mv", "b", "e"], ["m|%(d)s/e|%(d)s/b"])
        self.expect("rwdt", ["mv", "e", "b"], [])
        self.expect("rwmdt", ["touch", "new"], ["w|%(d)s/new"])
        self.expect("rwmdt", ["mkdir", "dir"], ["w|%(d)s/dir"])
        self.expect("rwmdt", ["rm", "new"], ["d|%(d)s/new"])
        self.expect("rwmdt", ["rmdir", "dir"], ["d|%(d)s/dir"])
        self.expect("rwmdt", ["chmod", "600", "a"], ["t|%(d)s/a"])
        self.expect("", ["cp", "a", "b"], [])
        # a lookup that found nothing is a q line
        r = self.trace("q", ["cat", "absent"])
        self.assertEqual(r.returncode, 1)
        self.assertEqual(self.mine(r.stdout), ["q|%s/absent" % self.d])

    def test_renames_that_cannot_be_paired(self):
        for n in "cd":
            open(self.p(n), "w").close()
        self.expect("m", ["sh", "-c", "mv a b && mv c e"],
                    ["d|%(d)s/a", "w|%(d)s/b", "d|%(d)s/c", "w|%(d)s/e"])

    def test_sorted_and_each_line_once(self):
        r = self.trace("rwq", ["sh", "-c",
                               "cat a a a; cat a > f; cat f > /dev/null"],
                       sep="---")
        self.assertEqual(r.stdout[:6], b"a\na\na\n")
        r.stdout = r.stdout[6:]
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.mine(r.stdout),
                         [l % {"d": self.d} for l in
                          ["q|%(d)s", "r|%(d)s/a", "r|%(d)s/f", "w|%(d)s/f"]])
        out = r.stdout.decode().splitlines()
        self.assertEqual(len(out), len(set(out)))
        keys = [l[2:].split("|")[0] for l in out]
        self.assertEqual(keys, sorted(keys, key=lambda k: k.encode()))

    def test_exit_status_and_output_file(self):
        out = self.p("trace.txt")
        r = self.trace("r", ["sh", "-c", "cat a; exit 3"], output=out)
        self.assertEqual(r.returncode, 3)
        self.assertEqual(r.stdout, b"a\n", "CMD's own output is its own")
        self.assertIn(b"r|%s/a\n" % self.d.encode(), open(out, "rb").read())
        r = self.trace("r", ["sh", "-c", "kill -TERM $$"])
        self.assertEqual(r.returncode, 128 + signal.SIGTERM)
        r = self.trace("r", ["/no/such/program"])
        self.assertEqual(r.returncode, NOTFOUND)
        self.assertEqual(self.leftovers(), [], "the private cache is gone")

    def test_no_progress_line_on_a_terminal(self):
        """fsatrace draws nothing on stderr: not run's progress line, nor
        its clearing, when stderr is a terminal."""
        import pty
        import select
        master, slave = pty.openpty()
        self.addCleanup(os.close, master)
        self.addCleanup(os.close, slave)
        r = subprocess.run(
            [BIN, "fsatrace", "r", "-", "--", "sh", "-c",
             "cat a; echo end >&2"], stdout=subprocess.PIPE, stderr=slave,
            env=self.env, cwd=self.d, timeout=60)
        self.assertEqual(r.returncode, 0)
        got = b""
        while select.select([master], [], [], 0)[0]:
            got += os.read(master, 4096)
        self.assertEqual(got.replace(b"\r\n", b"\n"), b"end\n")

    def test_flags_v_and_e(self):
        r = self.trace("ve", ["sh", "-c", "exit 4", "x y"])
        self.assertEqual(r.returncode, 4)
        err = r.stderr.decode()
        self.assertIn("argv[0]=sh\nargv[1]=-c\nargv[2]=exit 4\n"
                      "argv[3]=x y\n", err)
        self.assertIn("command failed with code 4", err)
        self.assertEqual(r.stdout, b"")

    def test_path_with_newline_left_out_with_warning(self):
        with open(self.p("x\ny"), "w") as f:
            f.write("z")
        r = self.trace("r", ["cat", "x\ny"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn(b"x\n", r.stdout.replace(b"\nr|", b"\n"))
        self.assertIn(b"holding a newline are left out", r.stderr)

    def test_installed_name(self):
        link = self.path("fsatrace")
        os.symlink(BIN, link)
        a = self.trace("rwmdt", ["cp", "a", "b"], name=link)
        os.unlink(self.p("b"))
        b = self.trace("rwmdt", ["cp", "a", "b"])
        self.assertEqual(a.returncode, 0, a.stderr)
        self.assertEqual(a.stdout, b.stdout)
        r = subprocess.run([link, "--help"], stdout=subprocess.PIPE)
        self.assertIn(b"FLAGS OUTPUT -- CMD", r.stdout)

    def test_against_real_fsatrace(self):
        real = shutil.which("fsatrace")
        if real is None or os.path.realpath(real) == os.path.realpath(BIN):
            self.skipTest("no fsatrace on PATH to compare with")
        d = os.path.realpath(self.d)  # fsatrace resolves symbolic links
        undo = {"cp": lambda: os.unlink(os.path.join(d, "b")),
                "mv": lambda: os.rename(os.path.join(d, "c"),
                                        os.path.join(d, "b")),
                "rm": lambda: open(os.path.join(d, "c"), "w").close(),
                "cat": lambda: None}
        for cmd in (["cp", "a", "b"], ["mv", "b", "c"], ["rm", "c"],
                    ["cat", "a"]):
            ours = self.trace("rwmd", cmd, cwd=d)
            undo[cmd[0]]()
            theirs = subprocess.run([real, "rwmd", "-", "--"] + cmd, cwd=d,
                                    stdout=subprocess.PIPE, timeout=60)
            self.assertEqual(sorted(set(self.mine(ours.stdout))),
                             sorted(set(self.mine(theirs.stdout))), cmd)


def write(path, text, mtime=None):
    with open(path, "w") as f:
        f.write(text)
    if mtime is not None:
        os.utime(path, (mtime, mtime))


class DepfileBase(TracedBase):
    """A tiny C project: src/main.c includes "cfg.h", found in inc/
    after a vain look in over/ (earlier on the include path)."""

    def setUp(self):
        super().setUp()
        for tool in ("make", "ninja"):
            if shutil.which(tool) is None:
                self.skipTest("%s is not installed" % tool)
        self.proj = self.path("proj")
        for d in ("src", "inc", "over", "build"):
            os.makedirs(os.path.join(self.proj, d))
        write(self.pp("inc/cfg.h"), "#define X 0\n")
        write(self.pp("src/main.c"),
              '#include "cfg.h"\nint main(void) { return X; }\n')
        write(self.pp("src/notes.txt"), "unrelated\n")
        self.cache = self.path("build.cache")

    def pp(self, rel):
        return os.path.join(self.proj, rel)

    def bump(self, rel):
        """Makes rel newer than the object file, as a change made after
        the build is: at least a nanosecond after it, without sleeping
        (a build takes far longer than a tick of the file clock, so that
        the next object file is newer again)."""
        out = os.stat(self.pp("build/main.o")).st_mtime_ns
        t = max(os.stat(self.pp(rel)).st_mtime_ns, out + 1)
        os.utime(self.pp(rel), ns=(t, t))


class Depfile(DepfileBase):
    def test_format_and_choice(self):
        r = self.run_cmd(["cc", "-Iover", "-Iinc", "-c", "src/main.c",
                          "-o", "build/main.o"], self.cache, cwd=self.proj)
        self.assertEqual(r.returncode, 0, r.stderr)
        r = sh(["depfile", self.cache], cwd=self.proj)
        self.assertEqual(r.returncode, 0, r.stderr)
        text = r.stdout.decode()
        self.assertTrue(text.startswith("build/main.o: \\\n"), text)
        deps = [l.strip(" \\") for l in text.splitlines()[1:]]
        self.assertIn(self.pp("inc/cfg.h"), deps)
        self.assertIn(self.pp("src/main.c"), deps)
        self.assertIn(os.path.realpath(shutil.which("cc")), [
            os.path.realpath(d) for d in deps])
        self.assertNotIn(self.pp("build/main.o"), deps)
        self.assertNotIn(self.pp("over/cfg.h"), deps)
        self.assertEqual(deps, sorted(deps))
        r = sh(["depfile", "--missing", "-t", "x", "-o", self.path("d"),
                self.cache], cwd=self.proj)
        self.assertEqual(r.returncode, 0, r.stderr)
        text = open(self.path("d")).read()
        self.assertIn(" \\\n %s \\\n" % self.pp("over/cfg.h"), text)
        self.assertIn("\n%s:\n" % self.pp("over/cfg.h"), text)
        self.assertRegex(text, r"\n\.SECONDARY: \\\n( .* \\\n)* %s" %
                         re.escape(self.pp("over/cfg.h")))
        r = sh(["depfile", "--missing-dirs", "-t", "x", self.cache],
               cwd=self.proj)
        deps = [l.strip(" \\") for l in r.stdout.decode().splitlines()[1:]]
        self.assertIn(self.pp("over"), deps)
        self.assertNotIn(self.pp("over/cfg.h"), deps)

    def test_escaping(self):
        name = "a b#c$d.h"
        write(os.path.join(self.tmp, name), "x")
        r = self.run_cmd(["cat", os.path.join(self.tmp, name)], self.cache)
        self.assertEqual(r.returncode, 0, r.stderr)
        r = sh(["depfile", "-t", "out put", self.cache])
        self.assertIn(b"out\\ put: \\\n", r.stdout)
        self.assertIn((" %s/a\\ b\\#c$$d.h" % self.tmp).encode(),
                      r.stdout)

    def test_escaping_read_by_make(self):
        """Names with a space, '#', '$', '%' and a backslash, present and
        missing, as GNU make reads them back."""
        if shutil.which("make") is None:
            self.skipTest("make is not installed")
        d = self.path("m")
        os.mkdir(d)
        here, gone = "in a#b$c%d\\e.h", "not a#b$c%d\\e.h"
        write(os.path.join(d, here), "x")
        r = self.run_cmd(["cat", here, gone], self.cache, cwd=d)
        self.assertEqual(r.returncode, 1, r.stderr)
        r = sh(["depfile", "--missing", "-t", "out", "-o", "dep",
                self.cache], cwd=d)
        self.assertEqual(r.returncode, 0, r.stderr)
        write(os.path.join(d, "Makefile"),
              "out:\n\t@echo BUILD; touch out\n-include dep\n")

        def make():
            r = subprocess.run(["make"], cwd=d, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, timeout=60)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            return b"BUILD" in r.stdout

        def bump(name):
            out = os.stat(os.path.join(d, "out")).st_mtime_ns
            os.utime(os.path.join(d, name), ns=(out + 1, out + 1))

        self.assertTrue(make())
        self.assertFalse(make())
        bump(here)
        self.assertTrue(make())
        write(os.path.join(d, gone), "y")
        bump(gone)
        self.assertTrue(make())
        self.assertFalse(make())

    def make_rebuilds(self, d):
        """Runs make in d: whether it rebuilt (printed BUILD)."""
        r = subprocess.run(["make"], cwd=d, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=60)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return b"BUILD" in r.stdout

    def test_percent_target(self):
        """A target holding '%': '\\%' with --missing (Make only), as
        real make reads it (an ordinary rule, not a pattern); left out
        with a warning otherwise, where Ninja would read '\\%' as two
        characters."""
        if shutil.which("make") is None:
            self.skipTest("make is not installed")
        d = self.path("p")
        os.mkdir(d)
        write(os.path.join(d, "in.h"), "x")
        r = self.run_cmd(["cat", "in.h"], self.cache, cwd=d)
        self.assertEqual(r.returncode, 0, r.stderr)
        r = sh(["depfile", "--missing", "-t", "out%1.o", "-o", "dep",
                self.cache], cwd=d)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(open(os.path.join(d, "dep")).read().startswith(
            "out\\%1.o: \\\n"))
        write(os.path.join(d, "Makefile"),
              "all: out%1.o\nout\\%1.o:\n\t@echo BUILD; touch 'out%1.o'\n"
              "-include dep\n")
        self.assertTrue(self.make_rebuilds(d))
        self.assertFalse(self.make_rebuilds(d))
        out = os.stat(os.path.join(d, "out%1.o")).st_mtime_ns
        os.utime(os.path.join(d, "in.h"), ns=(out + 1, out + 1))
        self.assertTrue(self.make_rebuilds(d))
        r = sh(["depfile", "-t", "out%1.o", "-t", "other", self.cache],
               cwd=d)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(r.stdout.startswith(b"other: \\\n"), r.stdout)
        self.assertIn(b"out%1.o' is left out", r.stderr)
        r = sh(["depfile", "-t", "out%1.o", self.cache], cwd=d)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn(b"out%1.o' is left out", r.stderr)

    def test_backslash_before_hash_left_out(self):
        """Make reads 2N+1 backslashes and '#' as N and '#', Ninja as 2N:
        a name with a backslash before '#' is left out with a warning,
        and both real tools read the rest."""
        tools = [t for t in ("make", "ninja") if shutil.which(t)]
        if not tools:
            self.skipTest("neither make nor ninja is installed")
        d = self.path("h")
        os.mkdir(d)
        for n in ("in.h", "a\\#b", "a\\\\#b"):
            write(os.path.join(d, n), "x")
        r = self.run_cmd(["cat", "in.h", "a\\#b", "a\\\\#b"], self.cache,
                         cwd=d)
        self.assertEqual(r.returncode, 0, r.stderr)
        r = sh(["depfile", "-t", "out", "-o", "out.d", self.cache], cwd=d)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(b"2 paths", r.stderr)
        text = open(os.path.join(d, "out.d")).read()
        self.assertIn(" %s" % os.path.join(d, "in.h"), text)
        self.assertNotIn("#", text)
        if "make" in tools:
            write(os.path.join(d, "Makefile"),
                  "out:\n\t@echo BUILD; touch out\n-include out.d\n")
            self.assertTrue(self.make_rebuilds(d))
            self.assertFalse(self.make_rebuilds(d))
        if "ninja" in tools:
            write(os.path.join(d, "build.ninja"),
                  "rule t\n  command = touch $out\n  depfile = $out.d\n"
                  "  deps = gcc\nbuild out: t\n")
            if os.path.exists(os.path.join(d, "out")):
                os.unlink(os.path.join(d, "out"))
            r = subprocess.run(["ninja"], cwd=d, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, timeout=60)
            self.assertEqual(r.returncode, 0, r.stdout)
            r = subprocess.run(["ninja", "-t", "deps"], cwd=d,
                               stdout=subprocess.PIPE, timeout=60)
            deps = [l.strip() for l in r.stdout.decode().splitlines()[1:]]
            self.assertIn(os.path.join(d, "in.h"), deps)
            self.assertFalse([l for l in deps if "#" in l], deps)

    def test_no_default_target(self):
        r = self.run_cmd(["cat", self.pp("src/main.c")], self.cache)
        self.assertEqual(r.returncode, 0, r.stderr)
        r = sh(["depfile", self.cache])
        self.assertEqual(r.returncode, 2)
        self.assertIn(b"--target", r.stderr)


MAKEFILE = """\
build/main.o: src/main.c
\t@echo BUILD
\t%(bin)s run -o %(cache)s --fresh -- \
$(CC) -Iover -Iinc -c src/main.c -o build/main.o
\t%(bin)s depfile %(opt)s --target build/main.o -o build/main.d \
%(cache)s
-include build/main.d
"""

NINJA = """\
rule cc
  command = echo BUILD && %(bin)s run -o %(cache)s --fresh -- \
cc -I../over -I../inc -c ../src/main.c -o $out && \
%(bin)s depfile %(opt)s --target $out -o $out.d %(cache)s
  depfile = $out.d
  deps = gcc
build main.o: cc ../src/main.c
"""


class Rebuild(DepfileBase):
    """Real make and ninja read the depfile: a rebuild when a recorded
    header changes or a missing one appears (with the option), none
    otherwise."""

    def build(self, tool):
        if tool == "make":
            argv, cwd = ["make", "CC=cc"], self.proj
        else:
            argv, cwd = ["ninja"], self.pp("build")
        r = subprocess.run(argv, cwd=cwd, env=self.env, timeout=120,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return b"BUILD" in r.stdout

    def scenario(self, tool, opt, missing_rebuilds):
        text = (MAKEFILE if tool == "make" else NINJA) % {
            "cache": self.cache, "opt": opt, "bin": BIN}
        write(self.pp("Makefile" if tool == "make" else "build/build.ninja"),
              text)
        self.assertTrue(self.build(tool), "first build")
        self.assertFalse(self.build(tool), "nothing changed")
        write(self.pp("src/notes.txt"), "still unrelated\n")
        self.bump("src/notes.txt")
        self.assertFalse(self.build(tool), "an unrelated file changed")
        self.bump("inc/cfg.h")
        self.assertTrue(self.build(tool), "the header changed")
        self.assertFalse(self.build(tool), "nothing changed since")
        write(self.pp("over/cfg.h"), "#define X 0\n")
        self.bump("over/cfg.h")
        self.bump("over")
        self.assertEqual(self.build(tool), missing_rebuilds,
                         "a header appeared earlier on the include path")
        self.assertFalse(self.build(tool), "nothing changed since")
        self.bump("over/cfg.h")
        self.assertEqual(self.build(tool), missing_rebuilds,
                         "the new header changed (recorded if it was "
                         "built with)")

    def test_make(self):
        self.scenario("make", "", False)

    def test_make_missing(self):
        self.scenario("make", "--missing", True)

    def test_make_missing_dirs(self):
        self.scenario("make", "--missing-dirs", True)

    def test_ninja(self):
        self.scenario("ninja", "", False)

    def test_ninja_missing_dirs(self):
        self.scenario("ninja", "--missing-dirs", True)


class Diff(TracedBase):
    def test_two_runs(self):
        f1, f2, f3 = (self.path(n) for n in ("f1", "f2", "f3"))
        for f in (f1, f2, f3):
            write(f, "x")
        a, b = self.path("a.cache"), self.path("b.cache")
        r = self.run_cmd(["cat", f1, f2], a)
        self.assertEqual(r.returncode, 0, r.stderr)
        os.unlink(f2)
        r = self.run_cmd(["cat", f1, f3, f2], b)
        self.assertEqual(r.returncode, 1, r.stderr)
        read = letters_for(["read", "exists"])
        missing = letters_for(["missing"], ["read"])
        r = sh(["diff", a, b])
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertEqual(r.stdout.decode().splitlines(), [
            "~ %s %s %s" % (read, missing, f2),
            "+ %s %s" % (read, f3)])
        r = sh(["diff", b, a])
        self.assertEqual(r.stdout.decode().splitlines(), [
            "~ %s %s %s" % (missing, read, f2),
            "- %s %s" % (read, f3)])
        r = sh(["diff", "--json", a, b])
        self.assertEqual(r.returncode, 1, r.stderr)
        objs = [json.loads(l) for l in r.stdout.decode().splitlines()]
        self.assertEqual(objs, [
            {"path": f2, "change": "changed",
             "a": {"ops": ["read", "exists"], "failed": []},
             "b": {"ops": ["missing"], "failed": ["read"]}},
            {"path": f3, "change": "added",
             "b": {"ops": ["read", "exists"], "failed": []}}])
        r = sh(["diff", "-j", b, a])
        self.assertEqual(json.loads(r.stdout.splitlines()[1])["change"],
                         "removed")

    def test_equal(self):
        f1 = self.path("f1")
        write(f1, "x")
        a, b = self.path("a.cache"), self.path("b.cache")
        for c in (a, b):
            r = self.run_cmd(["cat", f1, f1], c)
            self.assertEqual(r.returncode, 0, r.stderr)
        self.run_cmd(["cat", f1], a)  # other counts, same bits
        r = sh(["diff", a, b])
        self.assertEqual((r.returncode, r.stdout, r.stderr), (0, b"", b""))


if __name__ == "__main__":
    sys.exit(main(globals(), sys.argv[1:]))
