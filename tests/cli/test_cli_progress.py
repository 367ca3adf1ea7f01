#!/usr/bin/env python3
"""End-to-end tests of `shmcache run --progress`: the status line on
stderr while CMD runs, CMD's own output untouched, the line cleared at the
end on a terminal, and no line when stderr is not a terminal unless asked.

Run as `test_cli_progress.py CLASS...`; see clitest.py for the environment.
"""
import select
import sys

sys.dont_write_bytecode = True
from clitest import *  # noqa: E402,F401,F403

LINE = re.compile(r"^shmcache: progress: (\d+) entries, (\d+) records/s, "
                  r"(\d+) process(es)?$")


class Progress(TracedBase):
    def start(self, extra, stderr):
        """run with a CMD that reads a file, then waits for a line on its
        stdin before it prints and ends."""
        f = self.path("in.txt")
        with open(f, "w") as fh:
            fh.write("x")
        return subprocess.Popen(
            [BIN, "run", "-o", self.path("c")] + extra +
            ["--", "sh", "-c", 'cat "$1"; read line; echo "$line"', "sh", f],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr,
            env=self.env)

    def test_lines_while_cmd_runs(self):
        p = self.start(["--progress"], subprocess.PIPE)
        # Refreshes until one counts both processes (sh, and cat which has
        # ended): CMD waits on its stdin meanwhile.
        seen = []
        while True:
            line = p.stderr.readline().decode()
            self.assertTrue(line, seen)
            m = LINE.match(line.rstrip("\n"))
            self.assertTrue(m, line)
            seen.append(line)
            if int(m.group(3)) >= 2:
                break
        self.assertGreaterEqual(int(m.group(1)), 3)  # sh, cat, in.txt
        out, err = p.communicate(b"done\n", timeout=60)
        self.assertEqual(p.returncode, 0, err)
        self.assertEqual(out, b"xdone\n")
        for line in err.decode().splitlines():
            self.assertTrue(LINE.match(line), line)

    def test_none_off_a_terminal(self):
        for extra in ([], ["--progress", "--no-progress"]):
            p = self.start(extra, subprocess.PIPE)
            out, err = p.communicate(b"done\n", timeout=60)
            self.assertEqual((p.returncode, out), (0, b"xdone\n"), err)
            self.assertNotIn(b"progress", err)

    def read_until(self, fd, got, done):
        """Reads fd onto got until done(got); fails after 30 s of silence."""
        while not done(got):
            r, _, _ = select.select([fd], [], [], 30)
            self.assertTrue(r, got[-200:])
            got += os.read(fd, 4096)
        return got

    def test_terminal_line_drawn_then_cleared(self):
        import pty
        master, slave = pty.openpty()
        self.addCleanup(os.close, master)
        p = self.start([], slave)
        got = b""
        # The slave stays open here until the end, so that reading the
        # master never fails with EIO before the last bytes arrive.
        got = self.read_until(master, got, lambda g:
                              b"\r\033[Kshmcache: progress: " in g)
        out, _ = p.communicate(b"done\n", timeout=60)
        self.assertEqual((p.returncode, out), (0, b"xdone\n"))
        got = self.read_until(master, got, lambda g: g.endswith(b"\r\033[K"))
        os.close(slave)
        text = got.decode()
        for part in text.split("\r\033[K")[1:-1]:
            self.assertTrue(LINE.match(part), part)
        self.assertEqual(text.split("\r\033[K")[-1], "")


if __name__ == "__main__":
    sys.exit(main(globals(), sys.argv[1:]))
