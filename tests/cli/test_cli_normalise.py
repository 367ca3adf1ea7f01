#!/usr/bin/env python3
"""The CLI and the shim make the same key of a name: a program run under
the shim stats a few thousand generated names from a deep directory (".",
"..", "//", trailing slashes, long components, relative and absolute
names), then `get` and `ls --prefix`, from the same directory with the
same names, must find exactly the keys recorded, each with the count of
the names that fold to it.

Run as `test_cli_normalise.py Normaliser` (meson registers it); see
clitest.py for the environment.  Exit status 77 when skipped.
"""
import sys

sys.dont_write_bytecode = True
from clitest import *  # noqa: E402,F401,F403

STATNAMES = os.environ.get("SHMCACHE_STATNAMES", "")


def generate(rng, depth, root, count):
    """count names, each folding to a path at or below root: relative
    ones from a directory depth levels below root, absolute ones from root
    itself.  The names never climb above root, so that every key they make
    is listed by `ls --prefix root`."""
    words = ["a", "b", "src", "x.c", "lib", "dir.d", "-", "..a", ".b",
             "a b", "q" * 255, "n" * 120, "z" * 40]
    names = []
    while len(names) < count:
        absolute = rng.random() < 0.25
        level = 0 if absolute else depth
        parts = [root] if absolute else []
        for _ in range(rng.randint(1, 9)):
            r = rng.random()
            if r < 0.18 and level > 1:
                parts.append("..")
                level -= 1
            elif r < 0.30:
                parts.append(".")
            elif r < 0.40 and parts:
                parts.append("")        # a repeated slash
            else:
                parts.append(rng.choice(words))
                level += 1
        name = "/".join(parts)
        if rng.random() < 0.2:
            name += "/" * rng.randint(1, 3)
        if rng.random() < 0.05:
            name = "."
        if rng.random() < 0.03:
            name = ".."
        if name and len(name.encode()) + len(root) + 8 * depth < 900:
            names.append(name)
    return names


class Normaliser(TracedBase):
    COUNT = 3000
    DEPTH = 24

    def test_cli_finds_what_the_shim_recorded(self):
        if not STATNAMES:
            self.skipTest("statnames is not built (SHMCACHE_STATNAMES)")
        root = self.path("root")
        deep = os.path.join(root, *["d%02d" % i for i in range(self.DEPTH)])
        os.makedirs(deep)
        names = generate(random.Random(14), self.DEPTH, root, self.COUNT)
        listing = self.path("names")
        with open(listing, "wb") as f:
            f.write(b"".join(n.encode() + b"\0" for n in names))
        cache = self.path("c")
        r = self.run_cmd([STATNAMES, listing], cache, cwd=deep)
        self.assertEqual(r.returncode, 0, r.stderr)

        recorded = {}
        r = sh(["ls", "--json", "--prefix", root, cache])
        self.assertEqual(r.returncode, 0, r.stderr)
        for line in r.stdout.splitlines():
            obj = json.loads(line)
            recorded[json_path(obj)] = obj["count"]

        found = {}
        for i in range(0, len(names), 500):
            batch = names[i:i + 500]
            r = sh(["get", "--json", "--", cache] + batch, cwd=deep)
            lines = r.stdout.splitlines()
            self.assertEqual(len(lines), len(batch), r.stderr)
            for n, line in zip(batch, lines):
                obj = json.loads(line)
                self.assertNotIn("absent", obj,
                                 "the shim recorded no key for %r" % n)
                key = json_path(obj)
                found[key] = found.get(key, 0) + 1
            self.assertEqual(r.returncode, 0, r.stderr)
        self.assertGreater(len(found), self.COUNT // 3)
        differ = {k: (found.get(k), recorded.get(k))
                  for k in set(found) | set(recorded)
                  if found.get(k) != recorded.get(k)}
        self.maxDiff = None
        self.assertEqual(differ, {}, "key: (names that get finds there, "
                         "records the shim counted)")


if __name__ == "__main__":
    sys.exit(main(globals(), sys.argv[1:]))
