#!/usr/bin/env bash
# The README's first command: sets up a fresh Debian 12 machine (installs
# what is missing), builds shmcache, then traces a real multi-process job
# (make + gcc building a small C project) and shows what it touched.  The
# project and its cache stay in ./shmcache-demo/ (in the directory the demo
# is started from; DEMO_DIR names another folder), to explore with the
# commands printed at the end.
set -euo pipefail
start=$PWD
cd "$(dirname "$0")/.."
top=$PWD

bash scripts/setup.sh
if [ ! -f build/build.ninja ]; then
  meson setup build >/dev/null
fi
ninja -C build >/dev/null

shmcache=$top/build/cli/shmcache
export SHMCACHE_LIB=$top/build/preload/libshmcache.so

# The demo's folder, made afresh: it replaces only a folder an earlier demo
# made (that holds the marker file), never anything else of that name.
work=${DEMO_DIR:-$start/shmcache-demo}
case $work in /*) ;; *) work=$start/$work ;; esac
if [ -e "$work" ]; then
  if [ ! -f "$work/.shmcache-demo" ]; then
    echo "demo: $work exists and is not an earlier demo's; name another folder with DEMO_DIR" >&2
    exit 1
  fi
  rm -rf "$work"
fi
mkdir -p "$work"
: >"$work/.shmcache-demo"

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
# Each listing is read whole, then cut: with pipefail, "| head" would fail
# the script whenever head exits while ls is still writing (SIGPIPE).
missing=$("$shmcache" ls --missing --prefix "$work/proj" "$cache")
headers='\.h(\.gch)?$'
echo "\$ shmcache ls --missing --prefix proj build.cache | grep -E '$headers'   (header search misses)"
echo "  where the compiler looked for a header (or its precompiled .gch) in vain:"
echo "  each -I directory is searched before the system's"
grep -E "$headers" <<<"$missing" | sed -n '1,10p' || true
echo
echo "\$ shmcache ls --missing --prefix proj build.cache | grep -vE '$headers'   (the other misses)"
echo "  make's implicit-rule probes (RCS, SCCS), the linker's library search (-lc,"
echo "  libgcc_s), an -I directory that does not exist, and outputs looked for"
echo "  before they were made:"
grep -vE "$headers" <<<"$missing" | sed -n '1,10p' || true
echo
cat <<EOF
The project and its cache stay in $work:
  proj/          the C project, built
  build.cache    what the build touched

The command is $shmcache
(to run it by name: export PATH="$top/build/cli:\$PATH").  Next, try:
  cd $work
  shmcache ls --help                        # what the letters mean
  shmcache ls build.cache | less            # every path: ops done, ops failed, count
  shmcache get build.cache proj/include/greet.h
  shmcache inputs --all build.cache | less  # also what was only looked for
  cd proj && touch src/main.c && shmcache run -o ../build.cache -- make
                                            # -o adds to the existing cache
  shmcache watch build.cache                # in another terminal, while a build runs
EOF
