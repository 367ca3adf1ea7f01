"""sandbox_probe.py - run under `shmcache run` by test_cli_sandbox.py: makes
the calls named on its command line through libc (Python's os module) and
prints one JSON list of results, each "ok", a value, or the errno's name.

    sandbox_probe.py OP:PATH[:PATH2] ...

mkstemp:DIR (and mkostemp, mkstemps, mkdtemp) makes a temporary file in
DIR and gives DIR back; tmpfile:- calls tmpfile;
tempnam:DIR (- for none) and tmpnam:- give the directory of the name made.  spawnp:NAME runs NAME with posix_spawnp and gives
its exit status.  fork:OP:PATH makes the call in a forked child; threads:N:PATH stats PATH
from N threads at once (the results must agree); exec:PATH execs PATH (the
last operation: on success it does not return).
"""
import ctypes
import errno
import json
import os
import sys
import threading


def call(op, a, b=None):
    if op == "read":
        fd = os.open(a, os.O_RDONLY)
        data = os.read(fd, 100)
        os.close(fd)
        return data.decode()
    if op == "create":
        fd = os.open(a, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        os.close(fd)
        return "ok"
    if op == "stat":
        os.stat(a)
        return "ok"
    if op == "lstat":
        os.lstat(a)
        return "ok"
    if op == "access":
        return "ok" if os.access(a, os.R_OK) else "no"
    if op == "readlink":
        return os.readlink(a)
    if op == "listdir":
        return sorted(os.listdir(a))
    if op == "mkdir":
        os.mkdir(a)
        return "ok"
    if op == "rmdir":
        os.rmdir(a)
        return "ok"
    if op == "unlink":
        os.unlink(a)
        return "ok"
    if op == "rename":
        os.rename(a, b)
        return "ok"
    if op == "link":
        os.link(a, b)
        return "ok"
    if op == "symlink":
        os.symlink(a, b)
        return "ok"
    if op == "chmod":
        os.chmod(a, 0o600)
        return "ok"
    if op == "utime":
        os.utime(a)
        return "ok"
    if op == "truncate":
        os.truncate(a, 0)
        return "ok"
    if op == "chdir":
        old = os.getcwd()
        os.chdir(a)
        os.chdir(old)
        return "ok"
    if op == "realpath":  # libc's (os.path.realpath is Python's own)
        libc = ctypes.CDLL(None, use_errno=True)
        libc.realpath.restype = ctypes.c_char_p
        libc.realpath.argtypes = [ctypes.c_char_p, ctypes.c_void_p]
        r = libc.realpath(a.encode(), None)
        if r is None:
            raise OSError(ctypes.get_errno(), "realpath")
        return r.decode()
    if op in ("mkstemp", "mkostemp", "mkstemps", "mkdtemp"):
        libc = ctypes.CDLL(None, use_errno=True)
        suffix = b".c" if op == "mkstemps" else b""
        buf = ctypes.create_string_buffer(a.encode() + b"/tXXXXXX" + suffix)
        if op == "mkdtemp":
            libc.mkdtemp.restype = ctypes.c_void_p
            r = libc.mkdtemp(buf)
            ok = r is not None
        elif op == "mkstemps":
            r = libc.mkstemps(buf, len(suffix))
            ok = r >= 0
        elif op == "mkostemp":
            r = libc.mkostemp(buf, os.O_CLOEXEC)
            ok = r >= 0
        else:
            r = libc.mkstemp(buf)
            ok = r >= 0
        if not ok:
            raise OSError(ctypes.get_errno(), op)
        if op != "mkdtemp":
            os.close(r)
        return os.path.dirname(buf.value.decode())
    if op == "tmpfile":
        libc = ctypes.CDLL(None, use_errno=True)
        libc.tmpfile.restype = ctypes.c_void_p
        f = libc.tmpfile()
        if f is None:
            raise OSError(ctypes.get_errno(), op)
        libc.fclose(ctypes.c_void_p(f))
        return "ok"
    if op in ("tempnam", "tmpnam"):  # the directory of the name made
        libc = ctypes.CDLL(None, use_errno=True)
        getattr(libc, op).restype = ctypes.c_char_p
        if op == "tempnam":
            r = libc.tempnam(None if a == "-" else a.encode(), b"pf")
        else:
            r = libc.tmpnam(None)
        if r is None:
            raise OSError(ctypes.get_errno(), op)
        return os.path.dirname(r.decode())
    if op == "spawnp":  # libc's posix_spawnp: its exit status
        pid = os.posix_spawnp(a, [a], dict(os.environ))
        return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
    if op == "exec":
        sys.stdout.flush()
        os.execv(a, [a])
    raise ValueError(op)


def one(op, a, b=None):
    try:
        return call(op, a, b)
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))


def main():
    out = []
    for arg in sys.argv[1:]:
        parts = arg.split(":")
        if parts[0] == "fork":
            r, w = os.pipe()
            pid = os.fork()
            if pid == 0:
                os.write(w, json.dumps(one(*parts[1:])).encode())
                os._exit(0)
            os.close(w)
            data = os.read(r, 65536)
            os.waitpid(pid, 0)
            out.append(json.loads(data))
            continue
        if parts[0] == "threads":
            n = int(parts[1])
            res = [None] * n
            start = threading.Barrier(n)

            def worker(i):
                start.wait()
                res[i] = one("stat", parts[2])
            ts = [threading.Thread(target=worker, args=(i,))
                  for i in range(n)]
            for t in ts:
                t.start()
            for t in ts:
                t.join()
            out.append(sorted(set(res)))
            continue
        if parts[0] == "exec":
            print(json.dumps(out), flush=True)
        out.append(one(*parts))
    print(json.dumps(out))


main()
