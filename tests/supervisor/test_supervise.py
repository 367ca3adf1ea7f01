#!/usr/bin/env python3
"""End-to-end tests of shmcache-supervise: static programs traced through
the seccomp supervisor, their keys and bits compared exactly with what the
shim records for the same program linked dynamically.

Run as `test_supervise.py CLASS...` (meson registers one test per class);
exit status 77 when every test was skipped.  Environment: that of
tests/cli/clitest.py, plus SHMCACHE_TEST_SUPERVISOR (the helper) and
SHMCACHE_TEST_PROG_DYN / _STATIC (sup_prog.c linked both ways).
"""
import ctypes
import errno
import json
import os
import platform
import re
import shutil
import signal
import struct
import subprocess
import sys

sys.dont_write_bytecode = True
from clitest import (OPS, TracedBase, json_path, letters_for, main,  # noqa: E402
                     sh)

SUPERVISOR = os.environ.get("SHMCACHE_TEST_SUPERVISOR", "")
PROG_DYN = os.environ.get("SHMCACHE_TEST_PROG_DYN", "")
PROG_STATIC = os.environ.get("SHMCACHE_TEST_PROG_STATIC", "")
BUSYBOX = shutil.which("busybox") or ""


def is_static(path):
    out = subprocess.run(["file", "-L", path], stdout=subprocess.PIPE)
    return b"statically linked" in out.stdout or b"static-pie" in out.stdout


class SupBase(TracedBase):
    def setUp(self):
        super().setUp()
        self.env["SHMCACHE_SUPERVISOR"] = SUPERVISOR
        self.env.pop("SHMCACHE_SUPERVISED", None)
        self.work = self.path("w")
        os.mkdir(self.work)

    def fresh_work(self):
        shutil.rmtree(self.work)
        os.mkdir(self.work)

    def run_ok(self, args, cache, extra=(), **kw):
        r = self.run_cmd(args, cache, extra=extra, **kw)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r

    def listing(self, cache, under=None):
        """{key: (succeeded-letters failed-letters, count)} for the keys
        under `under` (default: the work directory), the key included."""
        under = under or self.work
        r = sh(["ls", cache])
        self.assertEqual(r.returncode, 0, r.stderr)
        out = {}
        for line in r.stdout.decode("utf-8", "surrogateescape").splitlines():
            m = re.match(r"^(\S+ \S+) +(\d+) (.*)$", line)
            self.assertIsNotNone(m, line)
            letters, count, key = m.groups()
            if key == under or key.startswith(under + "/"):
                out[key[len(under):] or "/"] = (letters, int(count))
        return out

    def need_busybox(self):
        if not BUSYBOX or not is_static(BUSYBOX):
            self.skipTest("busybox-static is not installed")


def L(ok="", failed=""):
    """The ls letters of ops that succeeded (and outcomes) / failed."""
    return letters_for([n for n, c in OPS if c in ok],
                       [n for n, c in OPS if c in failed])


class Same(SupBase):
    """sup_prog linked dynamically (shim) and statically (supervisor)."""

    def both(self, args):
        got = []
        for prog, name in ((PROG_DYN, "dyn"), (PROG_STATIC, "static")):
            self.fresh_work()
            c = self.path("c-" + name)
            r = self.run_ok([prog] + args, c)
            self.assertNotIn(b"untraced", r.stderr)
            self.assertNotIn(b"statically linked", r.stderr)
            got.append(self.listing(c))
        return got

    def test_calls(self):
        dyn, static = self.both(["calls", self.work])
        self.assertEqual(static, dyn)
        # a few exact entries, so that an empty match cannot pass
        self.assertEqual(dyn["/d"][0][:12], "----s---dm--")
        self.assertEqual(dyn["/d/f"][0].split()[0][:4], "rwct")
        self.assertEqual(dyn["/nothere"], (L("!", "sMfa"), 4))
        self.assertIn("/no-such-program", dyn)
        self.assertIn("/d/fifo", dyn)
        self.assertEqual(dyn["/xa-none"], (L("!", "s"), 4))
        self.assertIn("/xa-none-set", dyn)
        self.assertIn("/gone", dyn)
        self.assertEqual([k for k in dyn if "in-deleted" in k], [])

    def test_strings_at_page_edges(self):
        dyn, static = self.both(["strings", self.work])
        self.assertEqual(static, dyn)
        self.assertEqual(dyn["/edge-end"], (L("!", "s"), 1))
        self.assertEqual(dyn["/edge-cross"], (L("!", "s"), 1))
        self.assertEqual(dyn["/edge-long"], (L("!", "s"), 1))
        self.assertEqual(dyn["/xdge-long"], (L("!", "s"), 1))
        self.assertEqual([k for k in dyn if "edge-no" in k], [])

    def test_relative_names_at_the_kernels_limits(self):
        """The outcome of a relative name whose walk follows 40 links (the
        kernel's limit) is the call's, not that of a look-up through
        /proc/TID/cwd (one link more)."""
        dyn, static = self.both(["links", self.work])
        self.assertEqual(static, dyn)
        self.assertEqual(dyn["/l40_0"], (L("rcsSE"), 4))
        self.assertEqual(dyn["/l41_0"], (L("cSE?", "rs"), 4))

    def test_relative_name_of_path_max(self):
        """A relative name of PATH_MAX - 1 bytes is looked up as the call
        looks it up (from a descriptor: /proc/TID/cwd/NAME would be too
        long).  The supervisor alone: the shim skips a name that long."""
        self.run_ok([PROG_STATIC, "longname", self.work], self.path("c"))
        self.assertEqual(self.listing(self.path("c"))["/t"],
                         (L("rwsE"), 3))

    def test_debug_says_the_wait(self):
        """SHMCACHE_DEBUG: the supervisor says how it waits (a blocking
        receive from Linux 6.11, which ends it once the tree is gone), and
        at the end what it served and its CPU time."""
        env = dict(self.env, SHMCACHE_DEBUG="1")
        r = self.run_ok([PROG_STATIC, "calls", self.work],
                        self.path("c"), env=env)
        m = re.search(rb"shmcache-supervise: notifications: (.*), "
                      rb"(blocking receive|poll, then receive)\n", r.stderr)
        self.assertIsNotNone(m, r.stderr)
        rel = tuple(int(x) for x in
                    re.match(r"(\d+)\.(\d+)", platform.release()).groups())
        self.assertEqual(m.group(2), b"blocking receive" if rel >= (6, 11)
                         else b"poll, then receive")
        if rel >= (6, 6):
            self.assertEqual(m.group(1), b"synchronous wake-up (on the "
                             b"caller's CPU)")
        # at the end: the calls served and the supervisor's CPU time
        m = re.search(rb"shmcache-supervise: (\d+) calls served, CPU "
                      rb"[\d.]+ ms \(user [\d.]+, system [\d.]+\)\n",
                      r.stderr)
        self.assertIsNotNone(m, r.stderr)
        self.assertGreater(int(m.group(1)), 40)  # calls() makes more

    def test_fan(self):
        dyn, static = self.both(["fan", self.work, "1000", "8"])
        self.assertEqual(static, dyn)
        for i in range(1000):
            self.assertEqual(static["/child-%d" % i], (L("!", "s"), 1))
        for i in range(8):
            self.assertEqual(static["/thread-%d" % i], (L("!", "s"), 1))


class Busybox(SupBase):
    """busybox-static's applets, with exact keys and bits."""

    def setUp(self):
        super().setUp()
        self.need_busybox()
        for d in ("src", "src/sub"):
            os.mkdir(os.path.join(self.work, d))
        for f, data in (("src/a", "a\n"), ("src/sub/b", "b\n")):
            with open(os.path.join(self.work, f), "w") as fh:
                fh.write(data)

    def test_find_matches_gnu_find(self):
        c = self.path("c")
        self.run_ok([BUSYBOX, "find", "src"], c, cwd=self.work)
        got = self.listing(c, self.work + "/src")
        self.assertEqual(got, {"/": (L("sdE"), 2), "/sub": (L("sdE"), 2),
                               "/a": (L("sE"), 1), "/sub/b": (L("sE"), 1)})
        # GNU find (the shim) reads the directories alone (d_type tells
        # it the files): the same keys there, each opened as a directory
        g = self.path("g")
        self.run_ok(["find", "src"], g, cwd=self.work)
        gnu = self.listing(g, self.work + "/src")
        self.assertEqual(sorted(gnu), ["/", "/sub"])
        for k, (letters, _) in gnu.items():
            self.assertEqual(letters[8], "d", k)
            self.assertEqual(got[k][0][8], "d", k)

    def test_cp_r(self):
        c = self.path("c")
        self.run_ok([BUSYBOX, "cp", "-r", "src", "dst"], c, cwd=self.work)
        got = self.listing(c, self.work + "/dst")
        self.assertEqual(sorted(got), ["/", "/a", "/sub", "/sub/b"])
        for f in ("/a", "/sub/b"):
            self.assertIn("w", got[f][0].split()[0][:4], got)
        self.assertIn("m", got["/sub"][0], got)
        src = self.listing(c, self.work + "/src")
        self.assertEqual(src["/a"][0].split()[0][0], "r")

    def test_tar(self):
        c = self.path("c")
        self.run_ok([BUSYBOX, "tar", "cf", "t.tar", "src"], c, cwd=self.work)
        got = self.listing(c)
        self.assertEqual(got["/t.tar"][0].split()[0][:4], "-w-t")
        self.assertEqual(got["/src/a"][0].split()[0][0], "r")
        self.assertEqual(got["/src/sub/b"][0].split()[0][0], "r")

    def test_sh_script(self):
        script = os.path.join(self.work, "s.sh")
        with open(script, "w") as fh:
            fh.write("mkdir x\necho hi > x/f\nread l < x/f\n"
                     "rm x/f\nrmdir x\n[ -e nothere ] || true\n")
        c = self.path("c")
        self.run_ok([BUSYBOX, "sh", "s.sh"], c, cwd=self.work)
        got = self.listing(c)
        self.assertEqual(got["/s.sh"][0].split()[0][0], "r")
        self.assertIn("m", got["/x"][0].split()[0])
        self.assertIn("M", got["/x"][0].split()[0])
        self.assertIn("u", got["/x/f"][0].split()[0])
        self.assertEqual(got["/nothere"][0].split()[0][20:24], "-!--")


class Trees(SupBase):
    """Static and dynamic programs starting one another: each call once."""

    def setUp(self):
        super().setUp()
        self.need_busybox()
        with open(os.path.join(self.work, "a"), "w") as fh:
            fh.write("a\n")

    def script(self, name, text):
        """An executable file name in the work directory holding text."""
        path = os.path.join(self.work, name)
        with open(path, "w") as fh:
            fh.write(text)
        os.chmod(path, 0o755)
        return path

    def check_read_once(self, args):
        c = self.path("c")
        r = self.run_ok(args, c, cwd=self.work)
        self.assertEqual(r.stdout, b"a\n")
        self.assertEqual(self.listing(c)["/a"], (L("rE"), 1))

    def test_static_shell_starts_dynamic(self):
        self.check_read_once([BUSYBOX, "sh", "-c", "/bin/cat a"])

    def test_dynamic_starts_static(self):
        self.check_read_once(["/bin/sh", "-c", BUSYBOX + " cat a"])

    def test_env_i(self):
        self.check_read_once(["env", "-i", BUSYBOX, "cat", "a"])

    def test_static_dynamic_static(self):
        self.check_read_once([BUSYBOX, "sh", "-c",
                              "/bin/sh -c '%s cat a'" % BUSYBOX])

    def test_script_with_static_interpreter(self):
        """A "#!" script whose interpreter is static, exec'd by a dynamic
        shell: supervised (the interpreter's calls are recorded)."""
        self.script("s", "#!%s sh\ncat a\n" % BUSYBOX)
        self.check_read_once(["/bin/sh", "-c", "./s"])

    def test_script_chain(self):
        """A script run by a script run by busybox: followed."""
        inner = self.script("inner", "#!%s sh\nexec %s sh \"$1\"\n"
                            % (BUSYBOX, BUSYBOX))
        self.script("outer", "#!%s\ncat a\n" % inner)
        self.check_read_once(["/bin/sh", "-c", "./outer"])

    def test_run_cmd_script_chain(self):
        """run's CMD a script whose interpreter is a script whose
        interpreter is a script run by busybox (three "#!" lines, as deep
        as the kernel follows): run decides as the exec hooks do, and
        starts it supervised."""
        # argv: busybox sh inner mid outer: outer is the script to run
        inner = self.script("inner", "#!%s sh\nexec %s sh \"$2\"\n"
                            % (BUSYBOX, BUSYBOX))
        mid = self.script("mid", "#!%s\n" % inner)
        self.script("outer", "#!%s\ncat a\n" % mid)
        self.check_read_once(["./outer"])

    def test_posix_spawnp_bare_name(self):
        """posix_spawnp("busybox"): the shim finds it in PATH and starts
        it supervised."""
        self.env["PATH"] = os.path.dirname(BUSYBOX) + ":/usr/bin:/bin"
        self.check_read_once([sys.executable, "-c",
                              "import os; os.waitpid(os.posix_spawnp("
                              "'busybox', ['busybox', 'cat', 'a'], "
                              "os.environ), 0)"])

    def test_nested_run_says_where_records_go(self):
        """A run below a supervised program: the outer supervisor serves
        its programs (one listener a process) and records into the outer
        cache; the inner run says so."""
        inner = self.path("inner")
        c = self.path("c")
        r = self.run_ok([BUSYBOX, "sh", "-c", "%s run -o %s -- cat a"
                         % (os.environ["SHMCACHE_BIN"], inner)], c,
                        cwd=self.work)
        self.assertEqual(r.stdout, b"a\n")
        self.assertEqual(r.stderr.count(b"below a program traced by "
                                        b"shmcache-supervise"), 1, r.stderr)
        self.assertIn(inner.encode(), r.stderr)
        self.assertEqual(self.listing(c)["/a"], (L("rE"), 1))

    def test_pattern_supervises_dynamic_once(self):
        """--supervise: a dynamic program under the filter; the shim
        stands down, so the listing is the shim's alone, counts too."""
        dyn = self.path("dyn")
        self.run_ok([PROG_DYN, "calls", self.work], dyn)
        want = self.listing(dyn)
        self.fresh_work()
        sup = self.path("sup")
        self.run_ok([PROG_DYN, "calls", self.work], sup,
                    extra=["--supervise", os.path.basename(PROG_DYN)])
        self.assertEqual(self.listing(sup), want)


GO_PROGRAM = """package main

%s
import (
	"os"
	"os/exec"
)

func main() {
	if err := os.Chdir(os.Args[1]); err != nil {
		os.Exit(2)
	}
	os.Mkdir("d", 0755)
	os.WriteFile("d/f", []byte("x\\n"), 0644)
	os.ReadFile("d/f")
	os.Stat("nothere")
	os.Lstat("d/f")
	os.Symlink("f", "d/l")
	os.Readlink("d/l")
	os.Rename("d/f", "d/g")
	out, _ := exec.Command("/bin/cat", "d/g").Output()
	os.Stdout.Write(out)
	os.Remove("d/l")
}
"""


class Go(SupBase):
    """A Go program built here: its runtime makes raw system calls, static
    (CGO_ENABLED=0) or dynamically linked (cgo), and starts a dynamic
    program (whose shim stands down: each call recorded once)."""

    def build(self, cgo):
        go = shutil.which("go")
        if not go:
            self.skipTest("golang-go is not installed")
        src = self.path("go", "main.go")
        os.makedirs(os.path.dirname(src))
        with open(src, "w") as fh:
            fh.write(GO_PROGRAM % ('import "C"' if cgo else ""))
        exe = self.path("go", "prog")
        env = dict(os.environ, GOCACHE=self.path("go", "cache"),
                   GOPATH=self.path("go", "path"), HOME=self.path("go"),
                   CGO_ENABLED="1" if cgo else "0", GOFLAGS="")
        b = subprocess.run([go, "build", "-o", exe, "main.go"], env=env,
                           cwd=os.path.dirname(src), stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=600)
        if b.returncode != 0:
            self.skipTest("go build failed: %s" % b.stdout[-300:])
        return exe

    def check(self, exe):
        c = self.path("c")
        r = self.run_ok([exe, self.work], c)
        self.assertEqual(r.stdout, b"x\n")
        self.assertEqual(self.listing(c), {
            "/": (L("CE"), 1),
            "/d": (L("mE"), 1),
            "/d/f": (L("rwtsfSE"), 5),
            "/d/g": (L("rTE!", "s"), 3),
            "/d/l": (L("cluSE"), 3),
            "/nothere": (L("!", "s"), 1),
        })

    def test_static(self):
        exe = self.build(False)
        self.assertTrue(is_static(exe))
        self.check(exe)

    def test_cgo_dynamic(self):
        exe = self.build(True)
        self.assertFalse(is_static(exe))
        self.check(exe)


class Reliability(SupBase):
    def test_supervisor_killed(self):
        """The supervisor dies: the program's calls fail (ENOSYS), nothing
        hangs, the program ends normally."""
        c = self.path("c")
        r = self.run_ok([PROG_STATIC, "kill", self.work], c)
        self.assertEqual(r.stdout, b"Function not implemented\n")
        self.assertEqual(sh(["verify", c]).returncode, 0)

    def test_program_killed(self):
        c = self.path("c")
        self.need_busybox()
        r = self.run_cmd([BUSYBOX, "sh", "-c", "cat /etc/hostname "
                          ">/dev/null; kill -9 $$"], c)
        self.assertEqual(r.returncode, 128 + 9)
        self.assertEqual(sh(["verify", c]).returncode, 0)
        self.assertIn("/hostname", self.listing(c, "/etc"))


FOREIGN_FD = 200


def foreign_listener():
    """In a child before exec: installs a filter with a listener that
    traps nothing, as a container runtime's would (no_new_privs first),
    and keeps the listener open (a closed one no longer counts)."""
    nr = {"x86_64": 317, "aarch64": 277, "riscv64": 277}[platform.machine()]
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(38, 1, 0, 0, 0) != 0:  # PR_SET_NO_NEW_PRIVS
        os._exit(120)
    allow = ctypes.create_string_buffer(
        struct.pack("=HBBI", 0x06, 0, 0, 0x7FFF0000))  # ret ALLOW
    prog = ctypes.create_string_buffer(
        struct.pack("@HP", 1, ctypes.addressof(allow)))
    # SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER
    fd = libc.syscall(nr, 1, 8, prog)
    if fd < 0:
        os._exit(121)
    # the runtime's agent holds the listener: it stays open past exec
    # (close_fds=False keeps it from subprocess's closing)
    os.dup2(fd, FOREIGN_FD)


def ignore_sigchld():
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)


class Exec(SupBase):
    """The exec hook's side: what the program sees is what it sees bare."""

    def test_many_args_from_a_small_signal_stack(self):
        """A static program exec'd with 2000 arguments from a handler on an
        8 KiB alternate stack: supervised, every argument passed."""
        c = self.path("c")
        r = self.run_ok([PROG_DYN, "altexec", PROG_STATIC, "2000"], c)
        self.assertEqual(r.stdout, b"2002\n")
        r = self.run_ok([PROG_DYN, "altexec", PROG_STATIC, "10"], c)
        self.assertEqual(r.stdout, b"12\n")

    def foreign(self):
        """sup_prog_static with another e_machine (or class)."""
        exe = self.path("foreign")
        data = bytearray(open(PROG_STATIC, "rb").read())
        machine = int.from_bytes(data[18:20], "little")
        data[18:20] = (183 if machine != 183 else 62).to_bytes(2, "little")
        open(exe, "wb").write(data)
        os.chmod(exe, 0o755)
        return exe

    def bare_errno(self, exe):
        r = subprocess.run([PROG_DYN, "exec", exe], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout

    def test_foreign_machine_same_errno(self):
        exe = self.foreign()
        bare = self.bare_errno(exe)
        self.assertEqual(bare, b"%d\n" % errno.ENOEXEC)
        r = self.run_ok([PROG_DYN, "exec", exe], self.path("c"))
        self.assertEqual(r.stdout, bare)

    def test_no_execute_permission_same_errno(self):
        if os.geteuid() == 0:
            self.skipTest("root may execute anything with an x bit")
        exe = self.path("noexec")
        shutil.copy(PROG_STATIC, exe)
        os.chmod(exe, 0o644)
        bare = self.bare_errno(exe)
        self.assertEqual(bare, b"%d\n" % errno.EACCES)
        r = self.run_ok([PROG_DYN, "exec", exe], self.path("c"))
        self.assertEqual(r.stdout, bare)


class FailOpen(SupBase):
    def helper(self, args, preexec_fn):
        env = dict(self.env)
        env.pop("SHMCACHE_SUPERVISED", None)
        return subprocess.run([SUPERVISOR, "--"] + args, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              preexec_fn=preexec_fn, close_fds=False)

    def test_foreign_listener_helper(self):
        """Another's listener (EBUSY, no marker): said, and the program
        runs unmarked, so that the shim in it keeps recording."""
        r = self.helper(["/usr/bin/env", "env"], foreign_listener)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr.count(b"another seccomp supervisor"), 1,
                         r.stderr)
        self.assertNotIn(b"SHMCACHE_SUPERVISED", r.stdout)

    def test_foreign_listener_run(self):
        c = self.path("c")
        r = self.run_ok([PROG_STATIC, "calls", self.work], c,
                        preexec_fn=foreign_listener, close_fds=False)
        self.assertEqual(r.stderr.count(b"another seccomp supervisor"), 1,
                         r.stderr)

    def test_foreign_abi_warns(self):
        """An i386 program on another machine: untraced, and said."""
        if platform.machine() not in ("x86_64", "aarch64", "riscv64"):
            self.skipTest("a 64-bit host is needed")
        fake = os.path.join(self.work, "prog32")
        # an ELF32 i386 executable's header (e_type 2, e_machine 3)
        with open(fake, "wb") as fh:
            fh.write(b"\x7fELF\x01\x01\x01" + bytes(9) +
                     struct.pack("<HHI", 2, 3, 1) + bytes(32))
        os.chmod(fake, 0o755)
        r = self.run_cmd([fake], self.path("c"))
        self.assertEqual(r.stderr.count(b"is built for another ABI"), 1,
                         r.stderr)

    def test_sigchld_ignored(self):
        """SIGCHLD inherited ignored: the supervisor starts all the same,
        and the program inherits SIGCHLD ignored."""
        r = self.helper(["/bin/cat", "cat", "/proc/self/status"],
                        ignore_sigchld)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn(b"cannot start the supervisor", r.stderr)
        m = re.search(rb"^SigIgn:\s*([0-9a-f]+)$", r.stdout, re.M)
        self.assertIsNotNone(m, r.stdout)
        self.assertTrue(int(m.group(1), 16) & (1 << (signal.SIGCHLD - 1)))
        r = self.helper(["/usr/bin/env", "env"], ignore_sigchld)
        self.assertRegex(r.stdout, rb"(?m)^SHMCACHE_SUPERVISED=[0-9]+$")

    def test_no_helper(self):
        self.env["SHMCACHE_SUPERVISOR"] = "/nonexistent/shmcache-supervise"
        c = self.path("c")
        r = self.run_ok([PROG_STATIC, "calls", self.work], c)
        self.assertEqual(r.stderr.count(b"cannot find shmcache-supervise"),
                         1, r.stderr)
        self.assertEqual(self.listing(c), {})

    def test_no_supervise(self):
        c = self.path("c")
        r = self.run_ok([PROG_STATIC, "calls", self.work], c,
                        extra=["--no-supervise"])
        self.assertEqual(r.stderr.count(b"statically linked"), 1, r.stderr)
        self.assertEqual(self.listing(c), {})


SERVER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                      "scripts", "sandbox-server")


class Sandbox(SupBase):
    """Sandbox mode: a static program is confined as a dynamic one is, with
    the decisions the shim stores (one server question per path per job,
    whoever meets the path)."""

    def setUp(self):
        super().setUp()
        self.need_busybox()
        w = self.work
        for d in ("ok/dir", "no/dir", "ask"):
            os.makedirs(os.path.join(w, d))
        for f, text in (("ok/file", "ok"), ("ok/file2", "ok2"),
                        ("no/file", "secret"), ("ask/yes", "yes"),
                        ("ask/nope", "nope")):
            with open(os.path.join(w, f), "w") as fh:
                fh.write(text)
        prog = os.path.join(w, "no", "prog")
        with open(prog, "w") as fh:
            fh.write("#!/bin/sh\necho ran\n")
        os.chmod(prog, 0o755)
        self.cache = self.path("c")

    def p(self, rel):
        return os.path.join(self.work, rel)

    def violations(self):
        r = sh(["violations", "--json", self.cache])
        self.assertIn(r.returncode, (0, 1), r.stderr)
        return json.loads(r.stdout)

    def sb(self, policy, script, shell=None):
        argv = [shell] if shell else [BUSYBOX, "sh"]
        return self.run_cmd(argv + ["-c", script],
                            self.cache, extra=["--fresh"] + policy,
                            cwd=self.work)

    def test_denied_families(self):
        """Each family on a denied path fails with ENOENT and is not made;
        busybox's applets run in the static shell's process and in its
        static children."""
        p = self.p
        cmds = ["cat no/file", "stat no/file", "ls no/dir", "mkdir no/new",
                "rmdir no/dir", "rm no/file", "mv no/file ok/moved",
                "mv ok/file2 no/moved", "ln no/file ok/hard",
                "ln -s file no/sl", "chmod 600 no/file", "touch no/file",
                "cd no/dir", "readlink no/file", "no/prog",
                "test -e no/file"]
        script = "".join("%s 2>/dev/null; echo $?\n" % c for c in cmds)
        script += "cat ok/file\n"
        mode = os.stat(p("no/file")).st_mode
        r = self.sb(["--deny", p("no")], script)
        self.assertEqual(r.returncode, 0, r.stderr)
        codes = r.stdout.decode().split("\n")
        self.assertEqual(codes[-1], "ok")
        # every command failed (the shell's own: cd 2, exec 127)
        self.assertEqual([c != "0" for c in codes[:-1]],
                         [True] * len(cmds), codes)
        self.assertEqual(codes[cmds.index("no/prog")], "127")
        self.assertEqual(open(p("no/file")).read(), "secret")
        self.assertEqual(os.stat(p("no/file")).st_mode, mode)
        for absent in ("no/new", "ok/moved", "no/moved", "ok/hard",
                       "no/sl"):
            self.assertFalse(os.path.lexists(p(absent)), absent)
        self.assertTrue(os.path.isdir(p("no/dir")))
        self.assertTrue(os.path.exists(p("ok/file2")))
        self.assertNotIn(b"ran", r.stdout)
        v = self.violations()
        denied = {json_path(e): e["ops"] for e in v["denied"]}
        failed = {json_path(e): e["failed"] for e in v["denied"]}
        self.assertEqual(sorted(denied), sorted(
            p(x).encode() for x in ("no/file", "no/dir", "no/new",
                                    "no/moved", "no/sl", "no/prog")))
        for ops in denied.values():
            self.assertIn("violation", ops)
            self.assertIn("missing", ops)
        self.assertEqual(failed[p("no/prog").encode()], ["exec"])
        self.assertEqual(failed[p("no/new").encode()], ["mkdir"])
        # the allowed file's record carries its decision: not denied
        self.assertEqual(v["unknown"], [])

    def test_through_denied_by_dotdot(self):
        """A supervised call whose path walks through a denied directory
        and leaves it by ".." fails with ENOENT, not made, the directory's
        violation recorded; ".." through allowed ones changes nothing."""
        p = self.p
        cmds = ["cat no/../ok/file", "stat no/../ok/file",
                "mkdir no/../ok/new", "rm no/dir/../../ok/file2",
                "cat %s" % p("no/../ok/file"), "cat ok/dir/../file"]
        script = "".join("%s >/dev/null 2>&1; echo $?\n" % c for c in cmds)
        r = self.sb(["--deny", p("no")], script)
        self.assertEqual(r.returncode, 0, r.stderr)
        codes = r.stdout.decode().split()
        self.assertEqual([c != "0" for c in codes],
                         [True] * 5 + [False], codes)
        self.assertFalse(os.path.lexists(p("ok/new")))
        self.assertTrue(os.path.exists(p("ok/file2")))
        v = self.violations()
        self.assertEqual(sorted(json_path(e) for e in v["denied"]),
                         [p("no").encode()])
        self.assertEqual(v["denied_calls"], 5)

    def test_listing_hides_denied_entries(self):
        """getdents64 of a supervised program (busybox ls and find, and a
        dynamic ls below the static shell, whose shim stands down) skips
        denied entries; "." and ".." stay."""
        p = self.p
        pol = ["--deny", p("no"), "--deny", p("ok/file2")]
        r = self.sb(pol, "ls -a; echo --; ls ok; echo --; /bin/ls ok; "
                    "echo --; find . | sort")
        self.assertEqual(r.returncode, 0, r.stderr)
        parts = r.stdout.decode().split("--\n")
        self.assertEqual(parts[0].split(), [".", "..", "ask", "ok"])
        self.assertEqual(parts[1].split(), ["dir", "file"])
        self.assertEqual(parts[2].split(), ["dir", "file"])
        self.assertEqual(parts[3].split(),
                         [".", "./ask", "./ask/nope", "./ask/yes", "./ok",
                          "./ok/dir", "./ok/file"])
        # allowed listings are whole
        r = self.sb([], "ls")
        self.assertEqual(r.stdout.decode().split(), ["ask", "no", "ok"])

    def test_listing_by_old_getdents(self):
        """getdents (not getdents64: its own entry layout, which musl's
        readdir and raw callers use) skips denied entries too, across
        calls of a small buffer."""
        big = self.p("ok/many")
        os.mkdir(big)
        names = ["entry-%03d" % i for i in range(60)]
        for n in names:
            open(os.path.join(big, n), "w").close()
        pol = ["--deny", self.p("ok/many/entry-007"),
               "--deny", self.p("ok/many/entry-059")]
        r = self.run_cmd([PROG_STATIC, "getdents", big], self.cache,
                         extra=["--fresh"] + pol)
        if r.returncode == 77:
            self.skipTest("no getdents(2) on this architecture")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(sorted(r.stdout.decode().split()),
                         [n for n in names
                          if n not in ("entry-007", "entry-059")])

    def test_listing_many_entries(self):
        """A directory of many entries, nearly all denied (the default):
        every allowed one is listed once, across getdents64 batches, some
        of which hold no allowed entry."""
        d = self.p("big")
        os.mkdir(d)
        names = ["a-rather-long-file-name-%04d" % i for i in range(2000)]
        for n in names:
            open(os.path.join(d, n), "w").close()
        allowed = [n for i, n in enumerate(names)
                   if (i < 1000 and i % 40 == 7) or i == 1999]
        pol = ["--default", "deny"]
        for top in ("/usr", "/bin", "/lib", "/lib64", "/etc", "/proc",
                    "/dev"):
            pol += ["--allow", top]
        for n in allowed:
            pol += ["--allow", os.path.join(d, n)]
        r = self.sb(pol, "ls big")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.decode().split(), allowed)

    def test_proc_self_links_are_the_programs(self):
        """/proc/self in a path's links is the traced program, not the
        supervisor: a policy that denies the supervisor's directory
        leaves the program's /proc/self/exe alone."""
        pol = ["--deny", os.path.dirname(os.path.realpath(SUPERVISOR))]
        r = self.run_cmd([BUSYBOX, "readlink", "/proc/self/exe"],
                         self.cache, extra=["--fresh"] + pol)
        self.assertEqual((r.returncode, r.stdout),
                         (0, os.path.realpath(BUSYBOX).encode() + b"\n"),
                         r.stderr)
        self.assertEqual(self.violations()["denied"], [])

    def test_decisions_shared_with_the_shim(self):
        """A dynamic cat (the shim) and busybox cat (the supervisor) in one
        job: the server is asked once per path, and the static one obeys
        the answer the shim stored."""
        p = self.p
        sock = self.path("sock")
        lst = self.path("allow.list")
        with open(lst, "w") as fh:
            fh.write(p("ask/yes") + "\n")
        log = self.path("server.log")
        srv = subprocess.Popen([sys.executable, SERVER, sock, "--allow-list",
                                lst, "--log", log], stdout=subprocess.PIPE)
        self.addCleanup(srv.wait)
        self.addCleanup(srv.kill)
        self.assertEqual(srv.stdout.readline(), b"ready\n")
        script = ("for i in 1 2 3; do /bin/cat ask/yes; %s cat ask/yes; "
                  "%s cat ask/nope; /bin/cat ask/nope; done; true"
                  % (BUSYBOX, BUSYBOX))
        r = self.sb(["--ask", p("ask"), "--ask-server", sock], script,
                    shell="/bin/sh")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, b"yesyes" * 3)
        with open(log) as fh:
            lines = fh.read().splitlines()
        self.assertEqual(sorted(lines), sorted([p("ask/yes"),
                                                p("ask/nope")]))
        v = self.violations()
        self.assertEqual([json_path(e) for e in v["denied"]],
                         [p("ask/nope").encode()])
        self.assertEqual(v["server_round_trips"], 2)

    def test_static_first(self):
        """The static program meets the path first: it asks, stores the
        decision, and the dynamic one reads it."""
        p = self.p
        script = ("%s cat no/file; /bin/cat no/file; %s cat ok/file; "
                  "/bin/cat ok/file" % (BUSYBOX, BUSYBOX))
        r = self.sb(["--deny", p("no")], script, shell="/bin/sh")
        self.assertEqual(r.stdout, b"okok")
        self.assertEqual(r.stderr.count(b"No such file or directory"), 2,
                         r.stderr)
        v = self.violations()
        self.assertEqual(v["denied_calls"], 2)


if __name__ == "__main__":
    sys.exit(main(globals(), sys.argv[1:]))
