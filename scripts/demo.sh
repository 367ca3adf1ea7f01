#!/usr/bin/env bash
# The README's first command: sets up a fresh Debian 12 machine (installs
# what is missing), builds shmcache, then traces a real multi-process job
# (make + gcc building a small C project) and shows what it touched.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD

bash scripts/setup.sh
if [ ! -f build/build.ninja ]; then
  meson setup build >/dev/null
fi
ninja -C build >/dev/null

shmcache=$top/build/cli/shmcache
export SHMCACHE_LIB=$top/build/preload/libshmcache.so

work=$(mktemp -d "${TMPDIR:-/tmp}/shmcache-demo.XXXXXX")
trap 'rm -rf "$work"' EXIT

# A small C project: two sources, a header, a Makefile.
mkdir -p "$work/proj/include" "$work/proj/src"
cat >"$work/proj/include/greet.h" <<'C'
#ifndef GREET_H
#define GREET_H
void greet(const char *who);
#endif
C
cat >"$work/proj/src/greet.c" <<'C'
#include <stdio.h>
#include "greet.h"
void greet(const char *who) { printf("hello, %s\n", who); }
C
cat >"$work/proj/src/main.c" <<'C'
#include <stdlib.h>
#include <string.h>
#include "greet.h"
int main(int argc, char **argv) { greet(argc > 1 ? argv[1] : "world"); return 0; }
C
cat >"$work/proj/Makefile" <<'MK'
CFLAGS = -O2 -Iinclude -Imissing-include-dir
OBJS = src/main.o src/greet.o
hello: $(OBJS)
	$(CC) -o $@ $(OBJS)
src/%.o: src/%.c include/greet.h
	$(CC) $(CFLAGS) -c -o $@ $<
MK

cache=$work/build.cache
echo "\$ shmcache run -o build.cache -- make -j2     (in a small C project)"
(cd "$work/proj" && "$shmcache" run -o "$cache" -- make -j2)
echo
echo "\$ shmcache tree build.cache $work/proj"
"$shmcache" tree "$cache" "$work/proj"
echo
echo "\$ shmcache stats build.cache"
"$shmcache" stats "$cache"
echo
echo "\$ shmcache inputs --prefix proj build.cache   (the build's own inputs)"
"$shmcache" inputs --prefix "$work/proj" "$cache"
echo "  ... and $("$shmcache" inputs --prefix /usr "$cache" | wc -l) inputs under /usr (headers, compilers, libraries)"
echo
echo "\$ shmcache outputs --prefix proj build.cache   (+ exists now, - gone)"
"$shmcache" outputs --prefix "$work/proj" "$cache"
echo
echo "\$ shmcache ls --missing --prefix proj build.cache | head   (header search misses)"
# Read whole, then cut: with pipefail, "| head" would fail the script
# whenever head exits while ls is still writing (SIGPIPE).
missing=$("$shmcache" ls --missing --prefix "$work/proj" "$cache")
sed -n '1,10p' <<<"$missing"
