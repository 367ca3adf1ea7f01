#!/usr/bin/env python3
"""End-to-end tests of `shmcache run` and of the reading commands on caches
made by real runs (skipped where the shim cannot be preloaded).

Run as `test_cli_run.py CLASS...` (meson registers one test per class); see
clitest.py for the environment.  Exit status 77 when every test was skipped.
"""
import sys

sys.dont_write_bytecode = True
from clitest import *  # noqa: E402,F401,F403



def default_signals():
    """preexec_fn: the signals a test sends to run start at their default
    action, as from a shell; one ignored on entry (nohup's HUP, a
    background job's INT) stays ignored for run and CMD by design."""
    for sig in (signal.SIGHUP, signal.SIGINT, signal.SIGTERM, signal.SIGUSR1):
        signal.signal(sig, signal.SIG_DFL)

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
                             env=self.env, preexec_fn=default_signals)
        self.assertEqual(p.stdout.readline(), b"ready\n")
        p.send_signal(signal.SIGHUP)
        self.assertEqual(p.wait(timeout=30), 42)
        p = subprocess.Popen([BIN, "run", "-o", c, "--", "sh", "-c",
                              "echo ready; exec sleep 60"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             env=self.env, preexec_fn=default_signals)
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

        # The count goes to a file: the terminal's last output can be
        # lost when the slave side closes (read() on the master may give
        # EIO before the kernel has passed it on).
        ints = self.path("ints")
        p = subprocess.Popen(
            [BIN, "run", "-o", self.path("c"), "--", "sh", "-c",
             "n=0; trap 'n=$((n+1))' INT; echo ready; "
             "while [ $n -eq 0 ]; do sleep 0.05; done; "
             "echo ints=$n >\"$1\"; exit 5", "sh", ints],
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
        with open(ints, "rb") as f:
            self.assertEqual(f.read(), b"ints=1\n")

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

    def test_command_and_path_search_recorded(self):
        # CMD's own exec is recorded as the shim records execvp's: each
        # PATH candidate with its outcome, the one that ran with exec, and
        # as succeeded (exists) by the program it started.
        c = self.path("c")
        empty = self.path("empty")
        os.mkdir(empty)
        env = dict(self.env, PATH=empty + ":/nonexistent:/usr/bin:/bin")
        r = self.run_cmd(["sh", "-c", "exit 0"], c, env=env)
        self.assertEqual(r.returncode, 0, r.stderr)
        r = sh(["get", c, empty + "/sh", "/nonexistent/sh", "/usr/bin/sh"])
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stdout.decode().splitlines()
        self.assertEqual([" ".join(l.split()[:2]) for l in lines],
                         [letters_for(["exec", "missing"], ["exec"])] * 2 +
                         [letters_for(["exec", "exists"])], r.stdout)
        self.assertEqual(sh(["get", c, "/bin/sh"]).returncode, 1)

    def test_audit_loader(self):
        # --audit-loader: LD_AUDIT names the module beside the shim, and
        # SHMCACHE_AUDIT keeps it in environments that lose it.
        c = self.path("c")
        r = self.run_cmd(["sh", "-c", 'echo "$LD_AUDIT $SHMCACHE_AUDIT"'],
                         c, extra=["--audit-loader"])
        self.assertEqual(r.returncode, 0, r.stderr)
        audit = os.path.join(os.path.dirname(LIB), "libshmcache-audit.so")
        self.assertEqual(r.stdout.decode(), audit + " 1\n")

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
        off = ["--no-supervise"]
        r = self.run_cmd([exe], c, extra=off)
        self.assertEqual(r.returncode, 4)
        self.assertEqual(r.stderr.count(b"statically linked"), 1, r.stderr)
        self.assertEqual(sh(["get", c, "/etc/hostname"]).returncode, 1)
        r = self.run_cmd(["true"], c, extra=off)
        self.assertNotIn(b"statically", r.stderr)
        script = self.path("script.sh")
        open(script, "w").write("#!%s\n" % exe)
        os.chmod(script, 0o755)
        r = self.run_cmd([script], c, extra=off)
        self.assertEqual(r.stderr.count(b"statically linked"), 1, r.stderr)
        # under the seccomp supervisor (the default): traced, no warning
        for cmd in ([exe], [script]):
            s = self.path("s%d" % len(cmd[0]))
            r = self.run_cmd(cmd, s)
            self.assertEqual(r.returncode, 4)
            self.assertNotIn(b"statically", r.stderr)
            self.assertEqual(sh(["get", s, "/etc/hostname"]).returncode, 0)


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


class Race(TracedBase):
    """Four `run -o C` started together on a missing C: one creates the
    cache, the others add to it; every path each run recorded is there."""

    ROUNDS = int(os.environ.get("SHMCACHE_RACE_ROUNDS", "50"))
    RACERS = 4
    PATHS = 300

    def race_round(self, n):
        c = self.path("race%d" % n)
        gate = self.path("gate%d" % n)
        os.mkfifo(gate)
        # Each racer waits at the FIFO until the test opens its write end,
        # which releases every racer blocked there at once; one arriving
        # later passes at once (the write end stays open until all exit).
        loop = 'i=0; while [ $i -lt %d ]; do test -e "$0/$i"; ' \
               'i=$((i+1)); done' % self.PATHS
        procs, dirs = [], []
        for k in range(self.RACERS):
            d = self.path("r%d-%d" % (n, k))
            dirs.append(d)
            procs.append(subprocess.Popen(
                ["sh", "-c", ': < "$0"; exec "$@"', gate, BIN,
                 "run", "-o", c, "--", "sh", "-c", loop, d],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                env=self.env))
        w = os.open(gate, os.O_WRONLY)
        outs = [p.communicate(timeout=120) for p in procs]
        os.close(w)
        for p, (_, err) in zip(procs, outs):
            self.assertEqual(p.returncode, 0, err)
        r = sh(["ls", "-0", "--prefix", self.tmp, c])
        self.assertEqual(r.returncode, 0, r.stderr)
        got = set(r.stdout.split(b"\0")[:-1])
        lost = []
        for k, d in enumerate(dirs):
            want = {("%s/%d" % (d, i)).encode() for i in range(self.PATHS)}
            if not want <= got:
                lost.append((k, len(want - got)))
        os.unlink(c)
        os.unlink(gate)
        return lost

    def test_racing_creators_lose_nothing(self):
        bad = []
        for n in range(self.ROUNDS):
            lost = self.race_round(n)
            if lost:
                bad.append((n, lost))
        self.assertEqual(bad, [], "rounds with lost records "
                         "(round, [(racer, paths lost)]): %d of %d" %
                         (len(bad), self.ROUNDS))


class Separators(TracedBase):
    """Paths holding U+2028, U+2029 or NEL, recorded by a real run: every
    text output keeps one line per entry for readers that split lines as
    Python's splitlines() does, and JSON escapes them."""

    NAMES = ["a\u2028+ etc-shadow", "b\u2029p", "c\u0085q"]

    def test_every_output_escapes_them(self):
        d = self.path("d\u2028ir")
        os.mkdir(d)
        files = [os.path.join(d, n) for n in self.NAMES]
        c = self.path("cache\u2028name")
        script = 'for f in "$@"; do : > "$f"; done; test -e "$0.absent"; true'
        r = self.run_cmd(["sh", "-c", script, d] + files, c)
        self.assertEqual(r.returncode, 0, r.stderr)
        assert_lines_safe(self, r.stderr, "run -o")
        outs = {}
        for args in (["ls", c], ["inputs", "--all", c], ["outputs", c],
                     ["ls", "--missing", c], ["tree", c, d],
                     ["get", c] + files, ["stats", c], ["verify", c],
                     ["watch", "-c", "1", "-n", "0.05", c],
                     ["get", c, d + "/not\u2028there"]):
            r = sh(args)
            self.assertIn(r.returncode, (0, 1), (args, r.stderr))
            assert_lines_safe(self, r.stdout, args)
            assert_lines_safe(self, r.stderr, args)
            outs.setdefault(args[0], r)
        for f in files:
            self.assertIn(escape_path(f.encode()), outs["ls"].stdout.decode())
        self.assertIn(escape_path(c.encode()), outs["stats"].stdout.decode())
        r = sh(["get", c, d + "/not\u2028there"])
        self.assertIn(escape_path(d.encode()) + "/not\\342\\200\\250there",
                      r.stderr.decode())
        # JSON: escaped as \uXXXX, and the names come back exactly.
        for args in (["ls", "--json", c], ["outputs", "--json", c],
                     ["get", "--json", c] + files, ["stats", "--json", c]):
            r = sh(args)
            self.assertEqual(r.returncode, 0, (args, r.stderr))
            assert_lines_safe(self, r.stdout, args)
            for line in r.stdout.decode().splitlines():
                json.loads(line)
        got = {json_path(json.loads(l)) for l in
               sh(["outputs", "--json", c]).stdout.decode().splitlines()}
        self.assertEqual(got, {f.encode() for f in files})
        self.assertIn(b"\\u2028", sh(["ls", "--json", c]).stdout)
        self.assertIn(b"\\u0085", sh(["ls", "--json", c]).stdout)
        # The listing of a temporary cache, on stderr and in --report.
        rep = self.path("report")
        for extra in ([], ["--report", rep]):
            r = self.run_cmd(["sh", "-c", script, d] + files, extra=extra)
            self.assertEqual(r.returncode, 0, r.stderr)
            assert_lines_safe(self, r.stderr, extra)
        with open(rep, "rb") as f:
            data = f.read()
        assert_lines_safe(self, data, "report")
        for f in files:
            self.assertIn(escape_path(f.encode()).encode(), data)


class Refused(TracedBase):
    """A cache with a second hard link, and one whose header page was
    zeroed: the shim does not attach (and says why with SHMCACHE_DEBUG),
    run refuses them, and neither changes a byte of the file."""

    def make(self):
        c = self.path("c")
        f = self.path("input")
        with open(f, "w") as fh:
            fh.write("x")
        r = self.run_cmd(["cat", f], c)
        self.assertEqual(r.returncode, 0, r.stderr)
        return c, f

    def shim_alone(self, c, f):
        env = dict(self.env, LD_PRELOAD=LIB, SHMCACHE_FILE=c,
                   SHMCACHE_DEBUG="1")
        return subprocess.run(["cat", f], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=60)

    def test_second_hard_link(self):
        c, f = self.make()
        other = self.path("other")
        os.link(c, other)
        before = digest(c)
        r = self.shim_alone(c, f)
        self.assertEqual((r.returncode, r.stdout), (0, b"x"))
        self.assertIn(b"more than one hard link", r.stderr)
        r = self.run_cmd(["cat", f], c)
        self.assertEqual(r.returncode, RUN_ERROR, r.stderr)
        self.assertIn(b"has 2 hard links", r.stderr)
        self.assertEqual(digest(c), before)
        os.unlink(other)
        self.assertEqual(self.run_cmd(["cat", f], c).returncode, 0)

    def test_zeroed_header(self):
        c, f = self.make()
        with open(c, "r+b") as fh:
            fh.write(bytes(4096))
        before = digest(c)
        r = self.shim_alone(c, f)
        self.assertEqual((r.returncode, r.stdout), (0, b"x"))
        self.assertIn(b"damaged", r.stderr)
        r = self.run_cmd(["cat", f], c)
        self.assertEqual(r.returncode, RUN_ERROR, r.stderr)
        self.assertIn(b"damaged file header", r.stderr)
        v = sh(["verify", c])
        self.assertEqual(v.returncode, 1, v.stdout + v.stderr)
        with open(c, "rb") as fh:
            self.assertEqual(fh.read(4096), bytes(4096))
        self.assertEqual(digest(c), before)


class Diagnostics(TracedBase):
    """What run says when nothing was recorded, the mode of --report, and
    signals sent to run."""

    def test_command_of_no_path_is_quiet(self):
        # true names no file itself; the shim records the objects the
        # loader mapped into it (load), so there is something, and run
        # says nothing about an empty cache.
        for c in (self.path("new"), None):
            r = self.run_cmd(["true"], c)
            self.assertEqual(r.returncode, 0, r.stderr)
            err = r.stderr.decode()
            if c is not None:
                self.assertEqual(err, "")
                continue
            # a temporary cache is listed on stderr, and only listed
            lines = err.splitlines()
            self.assertTrue(lines)
            for line in lines:
                self.assertRegex(line, r"^[-a-zA-Z!?]+ [-a-zA-Z]+ +\d+ /")
            self.assertTrue(any(l.endswith("/libc.so.6") for l in lines),
                            err)

    def test_fifo_command_does_not_block(self):
        # A FIFO with an execute bit as CMD: run looks at its headers
        # without opening it for a read that waits for a writer, and the
        # exec fails as it would without run (EACCES: not a regular file).
        fifo = self.path("fifo")
        os.mkfifo(fifo, 0o755)
        try:
            r = self.run_cmd([fifo], self.path("c"), timeout=60)
        except subprocess.TimeoutExpired:
            self.fail("run blocked on a FIFO as CMD")
        self.assertEqual(r.returncode, NOEXEC, r.stderr)
        self.assertIn(b"Permission denied", r.stderr)

    def test_command_not_run(self):
        r = self.run_cmd(["/no/such/program"], self.path("c"))
        self.assertEqual(r.returncode, NOTFOUND)
        self.assertNotIn(b"nothing was recorded", r.stderr)

    def test_no_process_attached(self):
        # A library that is not the shim: nobody attaches the cache.
        libc = subprocess.run(["sh", "-c", "ldd /bin/sh | grep -o "
                               "'/[^ ]*libc.so.6'"], stdout=subprocess.PIPE)
        other = libc.stdout.decode().strip()
        if not other:
            self.skipTest("no libc.so.6 found")
        c = self.path("c")
        r = self.run_cmd(["cat", "/dev/null"], c, extra=["--lib", other])
        self.assertEqual(r.returncode, 0, r.stderr)
        err = r.stderr.decode()
        self.assertIn("nothing was recorded: no process of the command "
                      "attached the cache", err)
        self.assertIn("run with --debug to see why", err)
        r = self.run_cmd(["cat", "/dev/null"], c,
                         extra=["--lib", other, "--debug"])
        err = r.stderr.decode()
        self.assertIn("no process of the command attached", err)
        self.assertIn("see the shim's messages above", err)
        self.assertNotIn("--debug", err)

    def test_read_only_file_system(self):
        if os.geteuid() != 0:
            self.skipTest("needs root to mount a file system")
        mnt = self.path("mnt")
        os.mkdir(mnt)
        m = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m",
                            "tmpfs", mnt], stderr=subprocess.PIPE)
        if m.returncode != 0:
            self.skipTest("cannot mount a tmpfs: %s" % m.stderr)
        self.addCleanup(subprocess.run, ["umount", mnt])
        c = os.path.join(mnt, "c")
        f = self.path("input")
        with open(f, "w") as fh:
            fh.write("x")
        self.assertEqual(self.run_cmd(["true"], c).returncode, 0)
        subprocess.run(["mount", "-o", "remount,ro", mnt], check=True)
        r = self.run_cmd(["cat", f], c)
        self.assertEqual((r.returncode, r.stdout), (0, b"x"), r.stderr)
        err = r.stderr.decode()
        self.assertIn("the shim cannot attach the cache: it cannot be "
                      "opened for writing: Read-only file system", err)
        self.assertNotIn("adding to the existing cache", err)
        self.assertEqual(err.count("\n"), 1, err)

    def test_report_mode(self):
        f = self.path("input")
        open(f, "w").close()
        old = os.umask(0o022)
        try:
            rep = self.path("report")
            r = self.run_cmd(["cat", f], extra=["--report", rep])
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(stat.S_IMODE(os.stat(rep).st_mode), 0o600)
            # An existing report of another mode is made 0600.
            os.chmod(rep, 0o644)
            r = self.run_cmd(["cat", f], extra=["--report", rep])
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(stat.S_IMODE(os.stat(rep).st_mode), 0o600)
            # Never written through a symbolic link.
            target = self.path("target")
            with open(target, "w") as fh:
                fh.write("keep")
            link = self.path("link")
            os.symlink(target, link)
            r = self.run_cmd(["cat", f], extra=["--report", link])
            self.assertEqual(r.returncode, RUN_ERROR)
            self.assertIn(b"symbolic link", r.stderr)
            with open(target) as fh:
                self.assertEqual(fh.read(), "keep")
        finally:
            os.umask(old)
        self.assertEqual(self.leftovers(), [])

    def sigusr1_to_run(self, cmd):
        """Starts run (temporary cache) on cmd, which prints its pid once
        ready; sends SIGUSR1 to run; returns run's status and CMD's pid."""
        p = subprocess.Popen([BIN, "run", "--"] + cmd,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             env=self.env, preexec_fn=default_signals)
        pid = int(p.stdout.readline())
        p.send_signal(signal.SIGUSR1)
        rc = p.wait(timeout=30)
        p.stdout.close()
        p.stderr.close()
        return rc, pid

    def assertGone(self, pid):
        """CMD ended with run (a CMD that outlived run is killed)."""
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        os.kill(pid, signal.SIGKILL)
        self.fail("CMD (pid %d) outlived run: orphaned" % pid)

    def test_sigusr1_reaches_cmd(self):
        # CMD handles it and exits 7; run exits with CMD's status.
        rc, pid = self.sigusr1_to_run([
            sys.executable, "-c",
            "import os, signal\n"
            "signal.signal(signal.SIGUSR1, lambda *a: os._exit(7))\n"
            "print(os.getpid(), flush=True)\n"
            "while True: signal.pause()\n"])
        self.assertGone(pid)
        self.assertEqual(rc, 7)
        self.assertEqual(self.leftovers(), [])

    def test_sigusr1_ends_cmd(self):
        rc, pid = self.sigusr1_to_run(["sh", "-c", "echo $$; exec sleep 60"])
        self.assertGone(pid)
        self.assertEqual(rc, 128 + signal.SIGUSR1)
        self.assertEqual(self.leftovers(), [])


# Each change in turn failing and succeeding, made by one Python process
# (isolated: no module search in the working directory).
OUTCOME_SCRIPT = r"""
import os, sys
d = sys.argv[1]
p = lambda n: os.path.join(d, n)
def tryit(f, *a):
    try:
        r = f(*a)
        if isinstance(r, int):
            os.close(r)
    except OSError:
        pass
W, C, X = os.O_WRONLY, os.O_CREAT, os.O_EXCL
tryit(os.mkdir, p("dir"))                    # EEXIST
tryit(os.mkdir, p("new"))
tryit(os.unlink, p("nothere"))               # ENOENT
tryit(os.unlink, p("gone"))
tryit(os.link, p("l_src"), p("l_dst"))       # EEXIST
tryit(os.link, p("l_src"), p("l_new"))
tryit(os.symlink, "tgt", p("s_dst"))         # EEXIST
tryit(os.symlink, "tgt2", p("s_new"))
tryit(os.rename, p("r_nothere"), p("r_to"))  # ENOENT
tryit(os.rename, p("mv_from"), p("mv_to"))
tryit(os.open, p("old"), W | C)              # opened, not created
tryit(os.open, p("newfile"), W | C)          # created, not known
tryit(os.open, p("exclold"), W | C | X)      # EEXIST
tryit(os.open, p("exclnew"), W | C | X)
tryit(os.rmdir, p("full"))                   # ENOTEMPTY
pid = os.fork()
if pid == 0:
    os.setgid(65534)
    os.setuid(65534)
    tryit(os.mkdir, p("denied"))             # EACCES
    os._exit(0)
os.waitpid(pid, 0)
if os.path.ismount(p("ro")):
    tryit(os.mkdir, p("ro/x"))               # EROFS
"""


class Outcomes(TracedBase):
    """What succeeded and what was only tried, per path; outputs and inputs
    count what succeeded."""

    maxDiff = None

    def entries(self, c, prefix):
        r = sh(["ls", "--json", "--prefix", prefix, c])
        self.assertEqual(r.returncode, 0, r.stderr)
        out = {}
        for line in r.stdout.decode().splitlines():
            o = json.loads(line)
            out[os.path.relpath(json_path(o).decode(), prefix)] = (
                sorted(o["ops"]), sorted(o["failed"]))
        return out

    def listed(self, cmd, c, prefix):
        r = sh([cmd, "-0", "--prefix", prefix, c])
        self.assertEqual(r.returncode, 0, r.stderr)
        return sorted(os.path.relpath(x.decode(), prefix)
                      for x in r.stdout.split(b"\0")[:-1])

    def test_each_change_failing_and_succeeding(self):
        d = self.path("ops")
        os.mkdir(d)
        for n in ("dir", "full", "ro"):
            os.mkdir(os.path.join(d, n))
        for n in ("gone", "l_src", "l_dst", "s_dst", "mv_from", "old",
                  "exclold", "full/f"):
            open(os.path.join(d, n), "w").close()
        ro = os.path.join(d, "ro")
        mounted = subprocess.run(["mount", "-t", "tmpfs", "-o",
                                  "ro,size=64k", "tmpfs", ro],
                                 stderr=subprocess.DEVNULL).returncode == 0
        if mounted:
            self.addCleanup(subprocess.run, ["umount", ro])
        else:
            sys.stderr.write("no read-only mount here: EROFS not tested\n")
        c = self.path("c")
        r = self.run_cmd([sys.executable, "-I", "-S", "-c", OUTCOME_SCRIPT,
                          d], c, cwd=self.tmp)
        self.assertEqual(r.returncode, 0, r.stderr)
        ex, mi, de, fa = "exists", "missing", "denied", "failed"
        want = {
            ".": ([ex, "stat"], []),     # ismount's stat of ro/..
            "ro": ([ex, "stat"], []),
            "dir": ([ex], ["mkdir"]),
            "new": ([ex, "mkdir"], []),
            "nothere": ([mi], ["unlink"]),
            "gone": ([ex, "unlink"], []),
            "l_src": ([ex, "link"], ["link"]),
            "l_dst": ([ex], ["create", "link"]),
            "l_new": (["create", ex, "link"], []),
            "s_dst": ([ex], ["create", "symlink"]),
            "tgt": ([], ["symlink"]),
            "s_new": (["create", ex, "symlink"], []),
            "tgt2": (["symlink"], []),
            "r_nothere": ([mi], ["rename-from"]),
            "r_to": ([mi], ["rename-to"]),
            "mv_from": ([ex, "rename-from"], []),
            "mv_to": ([ex, "rename-to"], []),
            "old": ([ex, "write"], []),
            "newfile": ([ex, "write"], []),
            "exclold": ([ex], ["create", "write"]),
            "exclnew": (["create", ex, "write"], []),
            "full": ([fa], ["rmdir"]),
            "denied": ([de], ["mkdir"]),
        }
        if mounted:
            want["ro/x"] = ([fa], ["mkdir"])
        self.assertEqual(self.entries(c, d), want)
        self.assertEqual(self.listed("outputs", c, d),
                         sorted(["new", "gone", "l_new", "s_new", "mv_from",
                                 "mv_to", "old", "newfile", "exclnew"]))
        self.assertEqual(self.listed("inputs", c, d), [])
        r = sh(["ls", "--prefix", os.path.join(d, "dir"), c])
        self.assertEqual(r.stdout.decode().split()[:2],
                         letters_for([ex], ["mkdir"]).split())

    def test_mkdir_p_rm_f_ln_s_onto_existing(self):
        # mkdir -p through existing directories, rm -f of a missing file,
        # ln -s onto an existing name and a failed mkdir change none of
        # what they find: only W/o/b and W/o/sub are outputs.
        w = self.path("W")
        os.makedirs(os.path.join(w, "o"))
        open(os.path.join(w, "a"), "w").write("a\n")
        c = self.path("c")
        r = self.run_cmd(["sh", "-c", "mkdir -p W/o/sub; rm -f W/nothere; "
                          "ln -s a W/a; cd W; cp a o/b; mkdir o"],
                         c, cwd=self.tmp)
        self.assertEqual(r.returncode, 1, r.stderr)  # mkdir o: exists
        self.assertEqual(self.listed("outputs", c, self.tmp),
                         ["W/o/b", "W/o/sub"])
        self.assertIn("W/a", self.listed("inputs", c, self.tmp))
        e = self.entries(c, self.tmp)
        # mkdir -p found W and W/o (EEXIST), rm -f found nothing, ln -s
        # found W/a taken (and is its own target), mkdir o failed.
        self.assertEqual({k: v for k, v in e.items() if k.startswith("W")}, {
            "W": (["chdir", "exists"], ["mkdir"]),
            "W/a": (["exists", "missing", "read", "stat"],
                    ["create", "stat", "symlink"]),
            "W/nothere": (["missing"], ["stat", "unlink"]),
            "W/o": (["chdir", "exists"], ["mkdir"]),
            "W/o/b": (["create", "exists", "missing", "write"], ["stat"]),
            "W/o/sub": (["exists", "mkdir"], []),
        })
        # a new tree: every level made
        c2 = self.path("c2")
        r = self.run_cmd(["mkdir", "-p", "N/x/y"], c2, cwd=self.tmp)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.listed("outputs", c2, self.tmp),
                         ["N", "N/x", "N/x/y"])


if __name__ == "__main__":
    sys.exit(main(globals(), sys.argv[1:]))
