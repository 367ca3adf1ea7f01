"""Sandbox mode end to end: `shmcache run` with a policy, real programs and
the reference decision server (scripts/sandbox-server)."""
import os
import shutil
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True
from clitest import *  # noqa: E402,F401,F403

HERE = os.path.dirname(os.path.abspath(__file__))
PROBE = os.path.join(HERE, "sandbox_probe.py")
SERVER = os.path.join(HERE, "..", "..", "scripts", "sandbox-server")


class SandboxBase(Base):
    def setUp(self):
        super().setUp()
        reason = tracing_skip_reason()
        if reason:
            self.skipTest(reason)
        t = self.tmp
        for d in ["ok/dir", "no/dir", "ask/dir"]:
            os.makedirs(os.path.join(t, d))
        for f, text in [("ok/file", "ok"), ("ok/file2", "ok2"),
                        ("no/file", "secret"), ("ask/yes", "yes"),
                        ("ask/nope", "nope")]:
            with open(os.path.join(t, f), "w") as fh:
                fh.write(text)
        os.symlink(self.path("ok/file"), self.path("no/link"))
        prog = self.path("no/prog")
        with open(prog, "w") as fh:
            fh.write("#!/bin/sh\necho ran\n")
        os.chmod(prog, 0o755)
        self.cache = self.path("c")

    def run_sb(self, policy, cmd, fresh=True, **kw):
        return sh(["run", "-o", self.cache] + (["--fresh"] if fresh else [])
                  + policy + ["--"] + cmd, **kw)

    probe_script = PROBE

    def probe(self, policy, ops):
        return self.probe_env(policy, None, ops)

    def probe_env(self, policy, env, ops):
        r = self.run_sb(policy, [sys.executable, self.probe_script] + ops,
                        env=env)
        self.assertIn(r.returncode, (0, 1), r.stderr)
        return json.loads(r.stdout.decode().splitlines()[-1]), r

    def violations(self):
        r = sh(["violations", "--json", self.cache])
        self.assertIn(r.returncode, (0, 1), r.stderr)
        return json.loads(r.stdout), r.returncode

    def start_server(self, mode="normal", allow=("ask/yes",)):
        sock = self.path("sock")
        lst = self.path("allow.list")
        with open(lst, "w") as fh:
            fh.write("".join(self.path(a) + "\n" for a in allow))
        self.log = self.path("server.log")
        p = subprocess.Popen([sys.executable, SERVER, sock, "--allow-list",
                              lst, "--log", self.log, "--mode", mode],
                             stdout=subprocess.PIPE)
        self.addCleanup(p.wait)
        self.addCleanup(p.kill)
        self.assertEqual(p.stdout.readline(), b"ready\n")
        return sock

    def asked(self):
        with open(self.log, "rb") as fh:
            lines = fh.read().decode().splitlines()
        return {p: lines.count(p) for p in lines}


class Families(SandboxBase):
    """Every family against a denied path: ENOENT, the call not made, the
    violation recorded; the same calls on an allowed path succeed."""

    def test_denied(self):
        p = self.path
        ops = ["read:" + p("no/file"), "create:" + p("no/new"),
               "stat:" + p("no/file"), "lstat:" + p("no/link"),
               "access:" + p("no/file"), "readlink:" + p("no/link"),
               "listdir:" + p("no/dir"), "mkdir:" + p("no/newdir"),
               "rmdir:" + p("no/dir"), "unlink:" + p("no/file"),
               "rename:%s:%s" % (p("no/file"), p("ok/moved")),
               "rename:%s:%s" % (p("ok/file2"), p("no/moved")),
               "link:%s:%s" % (p("no/file"), p("ok/hard")),
               "symlink:%s:%s" % (p("ok/file"), p("no/sl")),
               "chmod:" + p("no/file"), "utime:" + p("no/file"),
               "truncate:" + p("no/file"), "chdir:" + p("no/dir"),
               "realpath:" + p("no/file"), "exec:" + p("no/prog")]
        mode = os.stat(p("no/file")).st_mode
        res, r = self.probe(["--deny", p("no")], ops)
        self.assertEqual(res, ["ENOENT"] * 4 + ["no"] + ["ENOENT"] * 15)
        # Not one of the calls was made.
        self.assertEqual(open(p("no/file")).read(), "secret")
        self.assertEqual(os.stat(p("no/file")).st_mode, mode)
        for absent in ["no/new", "no/newdir", "ok/moved", "no/moved",
                       "ok/hard", "no/sl"]:
            self.assertFalse(os.path.lexists(p(absent)), absent)
        self.assertTrue(os.path.isdir(p("no/dir")))
        self.assertTrue(os.path.exists(p("ok/file2")))
        self.assertNotIn(b"ran", r.stdout)
        v, code = self.violations()
        self.assertEqual(code, 1)
        self.assertTrue(v["policy"])
        self.assertEqual(sorted(json_path(e) for e in v["denied"]),
                         sorted(p(x).encode() for x in
                                ["no/file", "no/new", "no/link", "no/dir",
                                 "no/newdir", "no/moved", "no/sl",
                                 "no/prog"]))
        self.assertEqual(v["unknown"], [])
        self.assertEqual(v["denied_calls"], 20)
        for e in v["denied"]:
            self.assertIn("violation", e["ops"])
            self.assertIn("missing", e["ops"])

    def test_allowed(self):
        p = self.path
        ops = ["read:" + p("ok/file"), "create:" + p("ok/new"),
               "stat:" + p("ok/file"), "readlink:" + p("no/link"),
               "listdir:" + p("ok/dir"), "mkdir:" + p("ok/newdir"),
               "rename:%s:%s" % (p("ok/file2"), p("ok/moved")),
               "chdir:" + p("ok/dir"), "realpath:" + p("no/link")]
        res, r = self.probe(["--deny", p("no/dir"), "--deny", p("no/file")],
                            ops)
        self.assertEqual(res, ["ok", "ok", "ok", p("ok/file"), [], "ok",
                               "ok", "ok", p("ok/file")])
        self.assertTrue(os.path.exists(p("ok/moved")))
        v, code = self.violations()
        self.assertEqual((code, v["denied"]), (0, []))

    def test_cmd_denied(self):
        """run's own exec of CMD obeys the policy: a denied CMD is not
        run (127, as a missing one), and a denied PATH entry is passed
        over as a missing one."""
        p = self.path
        r = self.run_sb(["--deny", p("no")], [p("no/prog")])
        self.assertEqual(r.returncode, 127, r.stderr)
        self.assertNotIn(b"ran", r.stdout)
        v, code = self.violations()
        self.assertEqual(code, 1)
        self.assertEqual([(json_path(e), e["failed"]) for e in v["denied"]],
                         [(p("no/prog").encode(), ["exec"])])
        shutil.copy(p("no/prog"), p("ok/prog"))
        env = dict(os.environ, PATH="%s:%s:/usr/bin:/bin" % (p("no"),
                                                            p("ok")))
        r = self.run_sb(["--deny", p("no")], ["prog"], env=env)
        self.assertEqual((r.returncode, r.stdout), (0, b"ran\n"), r.stderr)
        v, code = self.violations()
        self.assertEqual([json_path(e) for e in v["denied"]],
                         [p("no/prog").encode()])

    def test_strict(self):
        p = self.path
        cmd = ["sh", "-c", "cat %s; true" % p("no/file")]
        r = self.run_sb(["--deny", p("no")], cmd)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(b"1 path denied", r.stderr)
        r = self.run_sb(["--strict", "--deny", p("no")], cmd)
        self.assertEqual(r.returncode, 1, r.stderr)
        r = self.run_sb(["--strict", "--deny", p("no")],
                        ["cat", p("ok/file")])
        self.assertEqual((r.returncode, r.stdout), (0, b"ok"))


class ExecPaths(SandboxBase):
    """What a spawn, an exec or the loader is given to open beside the
    program (sandbox_exec.c): posix_spawn's file actions, execveat,
    fexecve and dlopen of a denied path fail as for a missing file, the
    call not made, the violation recorded."""

    def compile(self, src, extra=()):
        exe = self.path(os.path.splitext(os.path.basename(src))[0])
        cc = subprocess.run([CC, "-O1", "-o", exe, src] + list(extra),
                            stderr=subprocess.PIPE)
        self.assertEqual(cc.returncode, 0, cc.stderr)
        return exe

    def test_denied_and_allowed(self):
        p = self.path
        exe = self.compile(os.path.join(HERE, "sandbox_exec.c"), ["-ldl"])
        lib_c = p("lib.c")
        with open(lib_c, "w") as fh:
            fh.write("int lib_value(void) { return 7; }\n")
        lib = self.compile(lib_c, ["-shared", "-fPIC"])
        for d in ("ok", "no"):
            shutil.copy(lib, p(d + "/lib.so"))
            shutil.copy("/bin/true", p(d + "/true"))
        no_fd = os.open(p("no/true"), os.O_RDONLY)
        ok_fd = os.open(p("ok/true"), os.O_RDONLY)
        self.addCleanup(os.close, no_fd)
        self.addCleanup(os.close, ok_fd)
        ops = ["spawn-open:" + p("no/file"), "spawn-open:" + p("ok/file"),
               "spawn-create:" + p("no/new"), "spawn-chdir:" + p("no/dir"),
               "spawn-chdir:" + p("ok/dir"),
               "spawn-chdir-open:%s:../no/file" % p("ok"),
               "spawn-chdir-open:%s:file" % p("ok"),
               "spawnp-open:" + p("no/file"),
               "execveat:" + p("no/true"), "execveat:" + p("ok/true"),
               "execveat-at:%s:no/true" % self.tmp,
               "execveat-fd:%d" % no_fd, "fexecve:%d" % no_fd,
               "fexecve:%d" % ok_fd,
               "dlopen:" + p("no/lib.so"), "dlopen:" + p("no/../ok/lib.so"),
               "dlopen:" + p("ok/lib.so")]
        r = self.run_sb(["--deny", p("no")], [exe] + ops,
                        pass_fds=(no_fd, ok_fd))
        self.assertEqual(r.returncode, 0, r.stderr)
        missing = ": cannot open shared object file: No such file or " \
                  "directory|then NULL"
        self.assertEqual(r.stdout.decode().splitlines(), [
            "spawn-open: ENOENT", "spawn-open: ok", "spawn-create: ENOENT",
            "spawn-chdir: ENOENT", "spawn-chdir: ok",
            "spawn-chdir-open: ENOENT", "spawn-chdir-open: ok",
            "spawnp-open: ENOENT", "execveat: ENOENT", "execveat: ok",
            "execveat-at: ENOENT", "execveat-fd: ENOENT",
            "fexecve: ENOENT", "fexecve: ok",
            "dlopen: " + p("no/lib.so") + missing,
            "dlopen: " + p("no/../ok/lib.so") + missing, "dlopen: ok"])
        self.assertFalse(os.path.exists(p("no/new")))
        # libc's own message for a file that is not there
        bare = subprocess.run([exe, "dlopen:" + p("absent/lib.so")],
                              stdout=subprocess.PIPE)
        self.assertEqual(bare.stdout.decode(),
                         "dlopen: " + p("absent/lib.so") + missing + "\n")
        v, code = self.violations()
        self.assertEqual(code, 1)
        self.assertEqual(sorted(json_path(e) for e in v["denied"]),
                         sorted(p(x).encode() for x in
                                ["no", "no/file", "no/new", "no/dir",
                                 "no/true", "no/lib.so"]))
        self.assertEqual(v["denied_calls"], 11)


class SpawnSearch(SandboxBase):
    """posix_spawnp of a bare name: a denied directory on PATH is absent,
    as it is for execvp's search."""

    def tool(self, where, status):
        os.makedirs(self.path(where), exist_ok=True)
        t = self.path(where + "/tool")
        with open(t, "w") as fh:
            fh.write("#!/bin/sh\nexit %d\n" % status)
        os.chmod(t, 0o755)

    def test_denied_dir_on_path(self):
        p = self.path
        self.tool("no", 4)
        self.tool("ok/bin", 3)
        self.tool("ok/noexec", 5)
        os.chmod(p("ok/noexec/tool"), 0o644)
        env = dict(os.environ, PATH=":".join(
            [p("no"), p("ok/noexec"), p("ok/bin"), "/usr/bin", "/bin"]))
        res, _ = self.probe_env(["--deny", p("no")], env,
                                ["spawnp:tool", "spawnp:prog",
                                 "spawnp:true"])
        self.assertEqual(res[:2], [3, "ENOENT"])
        self.assertEqual(res[2], 0)
        v, code = self.violations()
        # every candidate tried in a denied directory, as execvp's search
        self.assertEqual(sorted(json_path(e) for e in v["denied"]),
                         [p("no/prog").encode(), p("no/tool").encode(),
                          p("no/true").encode()])
        # EACCES when only a file that cannot be run is found
        env["PATH"] = p("ok/noexec")
        res, _ = self.probe_env(["--deny", p("no")], env, ["spawnp:tool"])
        self.assertEqual(res, ["EACCES"])


class TempFiles(SandboxBase):
    """mkstemp and kin with a template in a denied directory make no file
    and fail with ENOENT, as the open would; tmpfile with /tmp denied;
    tempnam and tmpnam look past a denied directory."""

    def setUp(self):
        super().setUp()
        # /tmp is denied here: the probe runs from a copy outside it when
        # the sources lie in /tmp (a clone made there)
        if os.path.realpath(HERE).startswith("/tmp/"):
            outside = tempfile.mkdtemp(prefix="shmcache-probe-",
                                       dir="/var/tmp")
            self.addCleanup(shutil.rmtree, outside, True)
            self.probe_script = os.path.join(outside, "sandbox_probe.py")
            shutil.copy(PROBE, self.probe_script)

    def test_templates(self):
        p = self.path
        calls = ["mkstemp", "mkostemp", "mkstemps", "mkdtemp"]
        res, _ = self.probe(["--deny", p("no")],
                            [c + ":" + p("no/dir") for c in calls] +
                            [c + ":" + p("ok/dir") for c in calls])
        self.assertEqual(res, ["ENOENT"] * 4 + [p("ok/dir")] * 4)
        self.assertEqual(os.listdir(p("no/dir")), [])
        self.assertEqual(len(os.listdir(p("ok/dir"))), 4)
        v, code = self.violations()
        self.assertEqual(code, 1)
        self.assertEqual(v["denied_calls"], 4)
        self.assertEqual(sorted(json_path(e) for e in v["denied"]),
                         sorted([p("no/dir/tXXXXXX").encode(),
                                 p("no/dir/tXXXXXX.c").encode()]))

    def test_templates_through_denied(self):
        """A template whose directory is reached through a denied one left
        by "..": no file, ENOENT, the denied directory's violation."""
        p = self.path
        calls = ["mkstemp", "mkostemp", "mkstemps", "mkdtemp"]
        res, _ = self.probe(["--deny", p("no")],
                            [c + ":" + p("no/../ok/dir") for c in calls])
        self.assertEqual(res, ["ENOENT"] * 4)
        self.assertEqual(os.listdir(p("ok/dir")), [])
        v, code = self.violations()
        self.assertEqual(code, 1)
        self.assertEqual(v["denied_calls"], 4)
        self.assertEqual(sorted(json_path(e) for e in v["denied"]),
                         [p("no").encode()])

    def test_tempnam(self):
        """A denied directory is absent to tempnam's search: TMPDIR, then
        its argument, then /tmp."""
        p = self.path
        env = dict(os.environ, TMPDIR=p("no/dir"))
        res, _ = self.probe_env(["--deny", p("no")], env,
                                ["tempnam:" + p("ok/dir"),
                                 "tempnam:" + p("no/dir"), "tempnam:-",
                                 "tmpnam:-"])
        self.assertEqual(res, [p("ok/dir"), "/tmp", "/tmp", "/tmp"])
        # nowhere left (the test's directory lies under /tmp too)
        res, _ = self.probe_env(["--deny", p("no"), "--deny", "/tmp"], env,
                                ["tempnam:" + p("no/dir"), "tmpnam:-"])
        self.assertEqual(res, ["ENOENT", "ENOENT"])
        # allowed, TMPDIR wins as in libc
        env["TMPDIR"] = p("ok")
        res, _ = self.probe_env(["--deny", p("no")], env,
                                ["tempnam:" + p("ok/dir")])
        self.assertEqual(res, [p("ok")])

    def test_tmpfile(self):
        res, _ = self.probe(["--deny", "/tmp"], ["tmpfile:-"])
        self.assertEqual(res, ["ENOENT"])
        res, _ = self.probe(["--deny", self.path("no")], ["tmpfile:-"])
        self.assertEqual(res, ["ok"])


class Listing(SandboxBase):
    """readdir skips denied entries: ls, find, Python's listdir."""

    def test_ls_find(self):
        p = self.path
        pol = ["--deny", p("no"), "--deny", p("ok/file2")]
        r = self.run_sb(pol, ["ls", self.tmp])
        self.assertEqual(r.stdout.decode().split(), ["ask", "c", "ok"])
        r = self.run_sb(pol, ["find", self.tmp])
        found = sorted(r.stdout.decode().split())
        self.assertNotIn(p("no"), found)
        self.assertNotIn(p("ok/file2"), found)
        self.assertIn(p("ok/file"), found)
        self.assertFalse(any(f.startswith(p("no")) for f in found))
        res, _ = self.probe(pol, ["listdir:" + p("ok")])
        self.assertEqual(res, [["dir", "file"]])

    def test_root_and_leading_dirs_stay_visible(self):
        p = self.path
        res, _ = self.probe(["--default", "deny", "--allow", "/usr",
                             "--allow", "/lib", "--allow", "/lib64",
                             "--allow", "/etc", "--allow", "/proc",
                             "--allow", "/dev", "--allow", sys.prefix,
                             "--allow", os.path.realpath(sys.prefix),
                             "--allow", HERE, "--allow", p("ok/file"),
                             "--allow", "/tmp/nonexistent-x"],
                            ["stat:/", "stat:" + self.tmp,
                             "listdir:" + p("ok"), "read:" + p("ok/file"),
                             "read:" + p("ok/file2")])
        self.assertEqual(res, ["ok", "ok", ["file"], "ok", "ENOENT"])


class EntryPoints(SandboxBase):
    """Every libc entry point that reads a directory skips denied entries:
    readdir_r, getdents64, scandir, nftw, ftw, fts, glob (sandbox_listing.c)
    and std::filesystem (sandbox_listing_cxx.cc)."""

    def tree(self):
        t = self.path("tree")
        for d in ["sub", "hdir", "sub/zz"]:
            os.makedirs(os.path.join(t, d))
        for f in ["a", "b", "c", "hid", "hdir/x", "sub/y", "sub/zz/w"]:
            open(os.path.join(t, f), "w").close()
        pol = ["--deny", t + "/hid", "--deny", t + "/hdir",
               "--deny", t + "/sub/zz"]
        return t, pol

    def build(self, src, compiler):
        exe = self.path(os.path.splitext(src)[0])
        cc = subprocess.run(compiler + ["-O1", "-o", exe,
                                        os.path.join(HERE, src)],
                            stderr=subprocess.PIPE)
        self.assertEqual(cc.returncode, 0, cc.stderr)
        return exe

    def test_c_entry_points(self):
        t, pol = self.tree()
        exe = self.build("sandbox_listing.c", [CC])
        # absolute, and relative to the current directory
        for top, cwd in [(t, None), (".", t), ("tree", self.tmp)]:
            self.check_entry_points(pol, exe, top, cwd)
        # Bare, every entry point sees everything; so it does under the
        # shim without a policy.
        r = subprocess.run([exe, t], stdout=subprocess.PIPE)
        self.assertIn(b"\nscandir: a b c hdir hid sub\n", r.stdout)
        traced = self.run_sb([], [exe, t])
        self.assertEqual((traced.returncode, traced.stdout),
                         (0, r.stdout), traced.stderr)

    def check_entry_points(self, pol, exe, top, cwd):
        r = self.run_sb(pol, [exe, top], cwd=cwd)
        self.assertEqual(r.returncode, 0, r.stderr)
        names = "a b c sub"
        walk = "<top> a b c sub sub/y"
        want = {"readdir_r": names, "readdir64_r": names,
                "getdents64": names, "scandir": names,
                "scandir-filter": "a c sub", "scandir64": names,
                "scandirat": names, "scandirat64": names,
                "nftw": walk, "nftw-depth": walk, "nftw64": walk,
                "ftw": walk, "ftw64": walk, "nftw-chdir": walk,
                "fts": walk, "fts-chdir": walk, "fts_children": names,
                "fts_children-chdir": names, "glob": names,
                "glob64": names,
                # every match hidden: the pattern, as for no match
                "glob-nocheck": "h*", "glob64-nocheck": "h*",
                "glob-nomagic": "hid"}
        got = dict(line.split(":", 1) for line in
                   r.stdout.decode().splitlines())
        self.assertEqual({k: v.strip() for k, v in got.items()}, want, top)

    def test_denied_top(self):
        """A denied directory lists as one that does not exist."""
        t, pol = self.tree()
        exe = self.build("sandbox_listing.c", [CC])
        r = self.run_sb(pol, [exe, t + "/hdir"])
        self.assertEqual(r.returncode, 0, r.stderr)
        bare = subprocess.run([exe, t + "/absent"], stdout=subprocess.PIPE)
        self.assertEqual(r.stdout.decode(), bare.stdout.decode())
        self.assertIn("\nfts: <top>!ENOENT\n", r.stdout.decode())
        self.assertIn("\nscandir: ENOENT\n", r.stdout.decode())

    def test_cxx_filesystem(self):
        cxx = shutil.which("c++") or shutil.which("g++")
        if cxx is None:
            self.skipTest("no C++ compiler")
        t, pol = self.tree()
        exe = self.build("sandbox_listing_cxx.cc", [cxx, "-std=c++17"])
        r = self.run_sb(pol, [exe, t])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.decode(),
                         "directory_iterator: a b c sub\n"
                         "recursive_directory_iterator: a b c sub sub/y\n")


class DotDot(SandboxBase):
    """A path through a denied directory left by "..": ENOENT, as if the
    directory did not exist."""

    def test_realpath_through_denied(self):
        p = self.path
        res, _ = self.probe(["--deny", p("no")],
                            ["realpath:" + p("no/dir/../../ok/file"),
                             "realpath:" + p("no/../ok/file"),
                             "realpath:" + p("ok/dir/../file")])
        self.assertEqual(res, ["ENOENT", "ENOENT", p("ok/file")])
        v, code = self.violations()
        self.assertEqual(sorted(json_path(e) for e in v["denied"]),
                         [p("no").encode()])


    def test_calls_through_denied(self):
        """Every call walks through a directory it leaves again by "..":
        a denied one fails the call with ENOENT, the call not made, the
        directory's violation recorded; "..", which leaves only allowed
        directories or the start, changes nothing."""
        p = self.path
        ops = ["stat:" + p("no/../ok/file"), "read:" + p("no/../ok/file"),
               "access:" + p("no/../ok/file"),
               "create:" + p("no/../ok/new"),
               "mkdir:" + p("no/../ok/newdir"),
               "unlink:" + p("no/../ok/file2"),
               "rename:%s:%s" % (p("ok/file2"), p("no/dir/../../ok/mv")),
               "listdir:" + p("no/../ok/dir"),
               "chdir:" + p("no/../ok/dir"),
               "exec:" + p("no/../ok/prog")]
        with open(p("ok/prog"), "w") as fh:
            fh.write("#!/bin/sh\necho ran\n")
        os.chmod(p("ok/prog"), 0o755)
        res, r = self.probe(["--deny", p("no")], ops)
        self.assertEqual(res, ["ENOENT"] * 2 + ["no"] + ["ENOENT"] * 7)
        self.assertNotIn(b"ran", r.stdout)
        for absent in ["ok/new", "ok/newdir", "ok/mv"]:
            self.assertFalse(os.path.lexists(p(absent)), absent)
        self.assertTrue(os.path.exists(p("ok/file2")))
        v, code = self.violations()
        self.assertEqual(code, 1)
        self.assertEqual(sorted(json_path(e) for e in v["denied"]),
                         [p("no").encode()])
        self.assertEqual(v["denied_calls"], 10)
        res, _ = self.probe(["--deny", p("no")],
                            ["stat:" + p("ok/dir/../file"),
                             "read:" + p("ok/dir/../../ok/file"),
                             "stat:" + p("../" * 40 + p("ok/file")[1:]),
                             "stat:" + p("ok/dir/../../no/file")])
        self.assertEqual(res, ["ok", "ok", "ok", "ENOENT"])

    def test_relative_through_denied(self):
        """A relative path walks from the current directory: a denied
        directory it names is decided; the start, left by "..", is not
        walked through by name."""
        p = self.path
        r = self.run_sb(["--deny", p("no")],
                        [sys.executable, self.probe_script,
                         "stat:no/../ok/file", "stat:ok/../ok/file",
                         "read:ok/dir/../file"], cwd=self.tmp)
        self.assertIn(r.returncode, (0, 1), r.stderr)
        res = json.loads(r.stdout.decode().splitlines()[-1])
        self.assertEqual(res, ["ENOENT", "ok", "ok"])


class Symlinks(SandboxBase):
    """A link inside an allowed tree that points into a denied one grants
    nothing: the path it names is denied, whatever the operation."""

    def test_escape(self):
        p = self.path
        os.symlink(p("no/file"), p("ok/abs"))
        os.symlink("../no/file", p("ok/rel"))
        os.symlink("../no", p("ok/dirlink"))
        os.symlink("file", p("ok/good"))
        os.symlink("rel", p("ok/chain"))
        res, _ = self.probe(["--deny", p("no")],
                            ["read:" + p("ok/abs"), "read:" + p("ok/rel"),
                             "stat:" + p("ok/dirlink/file"),
                             "read:" + p("ok/dirlink/file"),
                             "read:" + p("ok/chain"),
                             "readlink:" + p("ok/abs"),
                             "read:" + p("ok/good"),
                             "listdir:" + p("ok")])
        self.assertEqual(res, ["ENOENT", "ENOENT", "ENOENT", "ENOENT",
                               "ENOENT", "ENOENT", "ok",
                               ["dir", "file", "file2", "good"]])
        v, code = self.violations()
        self.assertEqual(code, 1)
        self.assertEqual(sorted(json_path(e) for e in v["denied"]),
                         sorted(p(x).encode() for x in
                                ["ok/abs", "ok/rel", "ok/dirlink/file",
                                 "ok/chain"]))


class Server(SandboxBase):
    """The decision server: asked at most once per path for the whole job,
    and a server that fails never blocks the build."""

    def test_asked_once_per_path(self):
        p = self.path
        sock = self.start_server()
        loop = ("for i in 1 2 3 4 5 6 7 8; do cat %s; cat %s; "
                "ls %s >/dev/null; done; true" %
                (p("ask/yes"), p("ask/nope"), p("ask")))
        r = self.run_sb(["--ask", p("ask"), "--ask-server", sock],
                        ["sh", "-c", loop])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, b"yes" * 8)
        asked = self.asked()
        self.assertEqual(asked, {p("ask"): 1, p("ask/yes"): 1,
                                 p("ask/nope"): 1, p("ask/dir"): 1})
        v, code = self.violations()
        self.assertEqual(v["server_round_trips"], 4)
        self.assertEqual(v["double_asks"], 0)
        self.assertEqual([json_path(e) for e in v["denied"]],
                         [p("ask/nope").encode()])

    def test_parallel_processes(self):
        p = self.path
        sock = self.start_server(allow=["ask/"])
        for i in range(40):
            with open(p("ask/f%d" % i), "w") as fh:
                fh.write("x")
        cmd = ("ls %s | grep '^f' | sed 's|^|%s/|' | "
               "xargs -P 4 -n 1 cat >/dev/null; ls %s | xargs -P 4 -n 1 "
               "sh -c 'cat %s/f1'" % (p("ask"), p("ask"), p("ask"),
                                     p("ask")))
        r = self.run_sb(["--ask", p("ask"), "--ask-server", sock],
                        ["sh", "-c", cmd])
        self.assertEqual(r.returncode, 0, r.stderr)
        asked = self.asked()
        v, _ = self.violations()
        self.assertEqual(sum(asked.values()), v["server_round_trips"])
        self.assertEqual(v["server_round_trips"],
                         len(asked) + v["double_asks"])
        self.assertEqual(v["denied"], [])

    def test_threads_and_fork(self):
        p = self.path
        sock = self.start_server()
        res, _ = self.probe(["--ask", p("ask"), "--ask-server", sock,
                             "--deny", p("no")],
                            ["threads:8:" + p("ask/nope"),
                             "threads:8:" + p("no/file"),
                             "fork:stat:" + p("ask/yes"),
                             "fork:read:" + p("ask/nope"),
                             "fork:read:" + p("ask/dir/x"),
                             "read:" + p("ask/yes")])
        self.assertEqual(res, [["ENOENT"], ["ENOENT"], "ok", "ENOENT",
                               "ENOENT", "yes"])
        asked = self.asked()
        v, _ = self.violations()
        self.assertEqual(set(asked), {p("ask/nope"), p("ask/yes"),
                                      p("ask/dir/x")})
        self.assertEqual(sum(asked.values()), 3 + v["double_asks"])

    def test_signal_handler_and_vfork(self):
        p = self.path
        sock = self.start_server()
        exe = p("sandbox_signal")
        cc = subprocess.run([CC, "-O1", "-o", exe,
                             os.path.join(HERE, "sandbox_signal.c")],
                            stderr=subprocess.PIPE)
        self.assertEqual(cc.returncode, 0, cc.stderr)
        r = self.run_sb(["--ask", p("ask"), "--ask-server", sock,
                         "--deny", p("no")],
                        [exe, p("no/file"), p("ask/yes")])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, b"handler: ENOENT ok\nvfork: ENOENT\n")
        self.assertEqual(self.asked(), {p("ask/yes"): 1})

    def test_connection_across_vfork_fork_exec(self):
        """A vfork child asks on a connection of its own and leaves the
        parent's alone; a forked child closes its copy of the parent's;
        the connection is close-on-exec."""
        p = self.path
        sock = self.start_server(allow=["ask/"])
        exe = p("sandbox_vfork")
        cc = subprocess.run([CC, "-O1", "-o", exe,
                             os.path.join(HERE, "sandbox_vfork.c")],
                            stderr=subprocess.PIPE)
        self.assertEqual(cc.returncode, 0, cc.stderr)
        asks = [p("ask/q%d" % i) for i in range(1, 5)]
        r = self.run_sb(["--ask", p("ask"), "--ask-server", sock],
                        [exe] + asks)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout,
                         b"vfork: +0 +0\nfork: +0\ncloexec: yes\n")
        self.assertEqual(self.asked(), {a: 1 for a in asks})
        self.assertNotIn(b"decision server", r.stderr)

    def test_processes_that_share_or_copy_memory(self):
        """The shim reads each path through a pid it keeps: vfork, fork,
        raw clone, clone with CLONE_VM and threads each decide by the
        string in their own memory (sandbox_procs.c says how a wrong pid
        would show)."""
        p = self.path
        exe = p("sandbox_procs")
        cc = subprocess.run([CC, "-O1", "-pthread", "-o", exe,
                             os.path.join(HERE, "sandbox_procs.c")],
                            stderr=subprocess.PIPE)
        self.assertEqual(cc.returncode, 0, cc.stderr)
        r = self.run_sb(["--deny", p("no")], [exe, p("no/file"),
                                              p("ok/file")])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.decode().splitlines(),
                         [k + ": ENOENT ok" for k in
                          ["vfork-first", "parent", "fork", "clone",
                           "clone-vm", "parent-again", "threads"]])

    def test_realpath_components_keep_their_decision(self):
        """The directories realpath probes keep the decision in their
        entries (a server answering "unknown" lists each one that does)."""
        p = self.path
        os.makedirs(p("ask/d1"))
        with open(p("ask/d1/f"), "w") as fh:
            fh.write("f")
        sock = self.start_server(mode="unknown")
        res, _ = self.probe(["--ask", p("ask"), "--ask-server", sock],
                            ["realpath:" + p("ask/d1/f")] * 3)
        self.assertEqual(res, [p("ask/d1/f")] * 3)
        names = [p("ask"), p("ask/d1"), p("ask/d1/f")]
        self.assertEqual(self.asked(), {n: 1 for n in names})
        v, _ = self.violations()
        self.assertEqual(sorted(json_path(e) for e in v["unknown"]),
                         [n.encode() for n in names])

    @staticmethod
    def bucket(key):
        """The answer bucket of a key (cache_sandbox.c: FNV-1a, 256
        buckets)."""
        h = 0xcbf29ce484222325
        for c in key.encode():
            h = ((h ^ c) * 0x100000001b3) & 0xffffffffffffffff
        return (h or 1) % 256

    def test_racing_processes_ask_once(self):
        """Eight processes meet the same new paths at once, the server
        slow to answer: each path is asked once, also four that share an
        answer bucket."""
        p = self.path
        sock = self.start_server(mode="delay:40", allow=["ask/"])
        names = [p("ask/r%d" % i) for i in range(12)]
        i, want = 0, self.bucket(p("ask/c0"))
        shared = []
        while len(shared) < 4:
            if self.bucket(p("ask/c%d" % i)) == want:
                shared.append(p("ask/c%d" % i))
            i += 1
        names += shared
        for n in names:
            with open(n, "w") as fh:
                fh.write("x")
        go = p("go")
        racer = ("while [ ! -e %s ]; do :; done; cat %s" %
                 (go, " ".join(names)))
        script = ("for i in 1 2 3 4 5 6 7 8; do sh -c '%s' & done; "
                  ": > %s; wait" % (racer, go))
        r = self.run_sb(["--ask", p("ask"), "--ask-server", sock],
                        ["sh", "-c", script])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, b"x" * (8 * len(names)))
        asked = self.asked()
        self.assertEqual(asked, {n: 1 for n in names})
        v, _ = self.violations()
        self.assertEqual((v["server_round_trips"], v["double_asks"]),
                         (len(names), 0))

    def test_killed_claimant(self):
        """A process killed while it asks leaves no one waiting for it:
        one waiting for its answer asks itself at once (the policy's
        timeout is ten minutes, past the test's)."""
        p = self.path
        sock = self.start_server(mode="hold-first")
        pol = p("pol")
        with open(pol, "w") as fh:
            fh.write("timeout 600000\n")
        x = p("ask/yes")
        script = ("sh -c 'echo $$ > %s; exec cat %s' & "
                  "while [ ! -e %s ]; do :; done; "
                  "sh -c 'echo $$ > %s; exec cat %s'; wait" %
                  (p("a.pid"), x, p("go"), p("b.pid"), x))
        run = subprocess.Popen(
            [BIN, "run", "-o", self.cache, "--fresh", "--policy", pol,
             "--ask", p("ask"), "--ask-server", sock, "--", "sh", "-c",
             script], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            start_new_session=True)

        def end():
            try:
                os.killpg(run.pid, 9)
            except OSError:
                pass
            run.wait()
        self.addCleanup(end)

        def until(cond):
            while not cond():
                if run.poll() is not None:
                    self.fail("run ended early: %r" % (run.stderr.read(),))

        def read(f):
            try:
                with open(f) as fh:
                    return fh.read()
            except OSError:
                return ""

        # A has asked (the server holds its question)
        until(lambda: read(self.log) == x + "\n" and read(p("a.pid")))
        a = int(read(p("a.pid")))
        open(p("go"), "w").close()
        until(lambda: read(p("b.pid")))
        b = int(read(p("b.pid")))
        # B waits for A's answer: it naps (clock_nanosleep) in its hook
        nap = {"x86_64": "230 ", "aarch64": "115 "}.get(os.uname().machine)
        if nap:
            until(lambda: read("/proc/%d/syscall" % b).startswith(nap))
        os.kill(a, 9)
        out, err = run.communicate(timeout=60)
        self.assertEqual((run.returncode, out), (0, b"yes"), err)
        self.assertEqual(self.asked(), {x: 2})

    def failing(self, mode, policy=()):
        p = self.path
        sock = self.start_server(mode=mode)
        cmd = ("cat %s; cat %s; cat %s; cat %s; true" %
               (p("ask/yes"), p("ask/nope"), p("ask/yes"), p("ask/nope")))
        r = self.run_sb(["--ask", p("ask"), "--ask-server", sock] +
                        list(policy), ["sh", "-c", cmd])
        self.assertEqual(r.returncode, 0, r.stderr)
        return r

    def test_garbage(self):
        r = self.failing("garbage")
        self.assertEqual(r.stdout, b"yesnopeyesnope")
        self.assertEqual(r.stderr.count(b"decision server"), 1, r.stderr)
        v, code = self.violations()
        self.assertEqual(code, 0)
        self.assertEqual(sorted(json_path(e) for e in v["unknown"]),
                         [self.path("ask/nope").encode(),
                          self.path("ask/yes").encode()])
        self.assertEqual(v["server_errors"], 2)

    def test_death(self):
        r = self.failing("die:1")
        # the first answer (ask/yes: allow) came; then the server is gone
        self.assertEqual(r.stdout, b"yesnopeyesnope")
        self.assertEqual(r.stderr.count(b"decision server"), 1, r.stderr)
        v, _ = self.violations()
        self.assertEqual([json_path(e) for e in v["unknown"]],
                         [self.path("ask/nope").encode()])

    def test_unknown_answer(self):
        r = self.failing("unknown")
        self.assertEqual(r.stdout, b"yesnopeyesnope")
        self.assertNotIn(b"decision server", r.stderr)
        v, _ = self.violations()
        self.assertEqual(len(v["unknown"]), 2)
        self.assertEqual(v["server_round_trips"], 2)

    def test_silent_times_out(self):
        pol = self.path("pol")
        with open(pol, "w") as fh:
            fh.write("timeout 200\n")
        r = self.failing("silent", ["--policy", pol])
        self.assertEqual(r.stdout, b"yesnopeyesnope")
        self.assertEqual(r.stderr.count(b"no answer in time"), 1, r.stderr)

    def test_no_server_listening(self):
        p = self.path
        r = self.run_sb(["--ask", p("ask"), "--ask-server", p("nosock")],
                        ["cat", p("ask/yes")])
        self.assertEqual((r.returncode, r.stdout), (0, b"yes"), r.stderr)
        self.assertEqual(r.stderr.count(b"cannot connect"), 1, r.stderr)


class PolicyFile(SandboxBase):
    """The policy file's format and its errors, with line numbers."""

    def write(self, text):
        pol = self.path("pol")
        with open(pol, "w") as fh:
            fh.write(text)
        return pol

    def test_errors(self):
        cases = [
            ("# c\n\nallow /a\nfrobnicate /b\n", ":4: unknown directive"),
            ("deny relative/x\n", ":1: 'relative/x': a prefix is an "
                                  "absolute path"),
            ("default maybe\n", ":1: 'maybe': the default is"),
            ("allow\n", ":1: 'allow' needs an argument"),
            ("timeout -5\n", ":1: '-5': a timeout"),
            ("ask /x\n", "names no decision server"),
            ("server " + "x" * 200 + "\n", ":1: "),
        ]
        for text, msg in cases:
            pol = self.write(text)
            r = self.run_sb(["--policy", pol], ["true"])
            self.assertEqual(r.returncode, USAGE, text)
            self.assertIn(msg, r.stderr.decode(), text)
        r = self.run_sb(["--policy", self.path("absent")], ["true"])
        self.assertEqual(r.returncode, USAGE)
        self.assertUsageError(sh(["run", "--strict", "--", "true"]),
                              ["--strict needs a policy"])
        self.assertUsageError(sh(["run", "--default", "x", "--", "true"]),
                              ["--default"])

    def test_file_rules_first_match(self):
        p = self.path
        pol = self.write("# the rules\nallow %s\ndeny %s  \n" %
                         (p("no/file"), p("no")))
        res, _ = self.probe(["--policy", pol],
                            ["read:" + p("no/file"), "stat:" + p("no/dir"),
                             "stat:" + p("no")])
        self.assertEqual(res, ["secret", "ENOENT", "ok"])

    def test_policy_is_fixed_for_a_cache(self):
        p = self.path
        r = self.run_sb(["--deny", p("no")], ["true"])
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.run_sb(["--deny", p("no")], ["cat", p("no/file")],
                        fresh=False)
        self.assertEqual((r.returncode, r.stdout), (1, b""), r.stderr)
        r = self.run_sb(["--deny", p("ok")], ["true"], fresh=False)
        self.assertEqual(r.returncode, RUN_ERROR)
        self.assertIn(b"holds a policy already", r.stderr)
        r = self.run_sb(["--deny", p("ok")], ["cat", p("no/file")])
        self.assertEqual((r.returncode, r.stdout), (0, b"secret"))


if __name__ == "__main__":
    sys.exit(main(globals(), sys.argv[1:]))
