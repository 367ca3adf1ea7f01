#!/usr/bin/env python3
"""End-to-end tests of `shmcache run` and of the reading commands on caches
made by real runs (skipped where the shim cannot be preloaded).

Run as `test_cli_run.py CLASS...` (meson registers one test per class); see
clitest.py for the environment.  Exit status 77 when every test was skipped.
"""
import sys

sys.dont_write_bytecode = True
from clitest import *  # noqa: E402,F401,F403


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
        # PATH candidate with its outcome, the one that ran with exec.
        c = self.path("c")
        empty = self.path("empty")
        os.mkdir(empty)
        env = dict(self.env, PATH=empty + ":/nonexistent:/usr/bin:/bin")
        r = self.run_cmd(["sh", "-c", "exit 0"], c, env=env)
        self.assertEqual(r.returncode, 0, r.stderr)
        r = sh(["get", c, empty + "/sh", "/nonexistent/sh", "/usr/bin/sh"])
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stdout.decode().splitlines()
        self.assertEqual([l.split()[0] for l in lines],
                         [letters_for(["exec", "missing"])] * 2 +
                         [letters_for(["exec"])], r.stdout)
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


if __name__ == "__main__":
    sys.exit(main(globals(), sys.argv[1:]))
