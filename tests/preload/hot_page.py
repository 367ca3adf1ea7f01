#!/usr/bin/env python3
"""The shim's hot state and the start of its .bss share one page.

Each page of the library's writable data that a process touches first is a
page fault in every traced process (allocator/shm_hot.h).  The variables a
short process writes (section shmcache_hot, then shmcache_hot_fork) and
the first bytes of .bss (written at exit by the C runtime) must lie in one
4 KiB page; a new hook row adds a real function's pointer to the hot
section, and this test says when the page overflows.

With --one-page (the library linked without RELRO: preload/meson.build)
all of the writable segment's file data (.dynamic, the GOT, the hot state)
and the start of .bss must lie in that one page too: the loader's clearing
of .bss faults it in, and its reads of .dynamic and relocation's writes
then cost nothing more.

    hot_page.py LIBSHMCACHE.so [--one-page]
"""
import subprocess
import sys

PAGE = 4096


def sections(lib):
    out = subprocess.run(["readelf", "-SW", lib], check=True,
                         capture_output=True, text=True).stdout
    found = {}
    for line in out.splitlines():
        line = line.replace("[ ", "[")
        f = line.split()
        if len(f) > 5 and f[0].startswith("[") and f[0] != "[Nr]":
            found[f[1]] = (int(f[3], 16), int(f[5], 16))
    return found


def writable_load(lib):
    """(vaddr, filesz) of the first writable PT_LOAD, or None."""
    out = subprocess.run(["readelf", "-lW", lib], check=True,
                         capture_output=True, text=True).stdout
    for line in out.splitlines():
        f = line.split()
        if len(f) >= 8 and f[0] == "LOAD" and "W" in "".join(f[6:-1]):
            return int(f[2], 16), int(f[4], 16)
    return None


def one_page(lib, s):
    """0 when the writable segment's file data and .bss's start share a
    page, else 1 (said why)."""
    seg = writable_load(lib)
    if seg is None:
        print("hot_page: no writable segment")
        return 1
    first = seg[0] // PAGE
    bss = s[".bss"][0] // PAGE
    print("writable segment: %d bytes of file data at %#x" % (seg[1], seg[0]))
    if first != bss:
        print("hot_page: the writable segment spans pages %#x to %#x: the "
              "loader faults in each of them in every traced process"
              % (first * PAGE, bss * PAGE))
        return 1
    return 0


def main():
    s = sections(sys.argv[1])
    for name in ("shmcache_hot", "shmcache_hot_fork", ".bss"):
        if name not in s:
            print("hot_page: no section %s" % name)
            return 1
    first = s["shmcache_hot"][0] // PAGE
    last = (s["shmcache_hot_fork"][0] + s["shmcache_hot_fork"][1] - 1) // PAGE
    bss = s[".bss"][0] // PAGE
    size = s["shmcache_hot"][1] + s["shmcache_hot_fork"][1]
    print("hot state: %d bytes at %#x; .bss at %#x" %
          (size, s["shmcache_hot"][0], s[".bss"][0]))
    if not first == last == bss:
        print("hot_page: the hot sections and .bss's start span pages "
              "%#x to %#x: every traced process pays a page fault more"
              % (first * PAGE, bss * PAGE))
        return 1
    if "--one-page" in sys.argv[2:]:
        return one_page(sys.argv[1], s)
    return 0


if __name__ == "__main__":
    sys.exit(main())
