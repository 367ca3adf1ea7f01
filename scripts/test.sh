#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine (installs what is missing), then, in
# this order:
#   normal   build/          gcc, --werror, every suite
#   release  build-release/  gcc -O3 release build: the end-to-end suites
#                            (hooks' frames, inlining and stack use are the
#                            optimiser's)
#   m32      build-m32/      gcc -m32, --werror, the allocator and cache
#                            (plain-C tests; compiled only, tests skipped,
#                            where the host cannot run 32-bit binaries)
#   asan     build-asan/     gcc with AddressSanitizer + UBSan, every suite
#   tsan     build-tsan/     clang with ThreadSanitizer: the multi-threaded
#                            allocator and cache tests that need no Criterion
#                            (Criterion's runner does not start under TSan)
#   clang    build-clang/    clang, --werror, compile only (counts as one)
#   macos    (build/)        scripts/check-macos: the __APPLE__ code, syntax
#                            only, against stubs (counts as one)
# Ends with one line "N passed, N failed[, N skipped]"; exits non-zero on any
# failure.  Set SHMCACHE_TEST_ONLY to one of the names above to run one.
set -uo pipefail
cd "$(dirname "$0")/.."
top=$PWD

bash scripts/setup.sh || { echo "setup failed"; echo "0 passed, 1 failed"; exit 1; }

passed=0 failed=0 skipped=0
jobs=$(nproc 2>/dev/null || echo 2)
only=${SHMCACHE_TEST_ONLY:-}

# Adds the results of one build directory's last `meson test` run.
count_results() {
  local log=$1/meson-logs/testlog.json
  [ -f "$log" ] || return 0
  read -r p f s < <(python3 - "$log" <<'PY'
import json, sys
p = f = s = 0
for line in open(sys.argv[1]):
    line = line.strip()
    if not line:
        continue
    r = json.loads(line).get("result")
    if r in ("OK", "EXPECTEDFAIL"):
        p += 1
    elif r == "SKIP":
        s += 1
    else:
        f += 1
print(p, f, s)
PY
)
  passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
}

# configure NAME [ENV=VAL...] -- [meson options...]: fresh build dir.
configure() {
  local dir=$1; shift
  local envs=()
  while [ $# -gt 0 ] && [ "$1" != -- ]; do envs+=("$1"); shift; done
  shift
  rm -rf "$dir"
  env "${envs[@]}" meson setup "$dir" --werror "$@" >"$dir.setup.log" 2>&1 ||
    { cat "$dir.setup.log"; return 1; }
  rm -f "$dir.setup.log"
}

# run_config NAME SETUP_ENV... -- MESON_OPTIONS... -- TEST_ARGS...
run_config() {
  local name=$1 dir=build${2:+-$2}; shift 2
  if [ -n "$only" ] && [ "$only" != "$name" ]; then return 0; fi
  echo "=== $name build ($dir)"
  local cfg=()
  while [ $# -gt 0 ] && [ "$1" != --- ]; do cfg+=("$1"); shift; done
  shift || true
  if ! configure "$dir" "${cfg[@]}"; then
    echo "=== $name: configure failed"; failed=$((failed + 1)); return
  fi
  if ! ninja -C "$dir" >"$dir/build.log" 2>&1; then
    tail -n 60 "$dir/build.log"
    echo "=== $name: build failed"; failed=$((failed + 1)); return
  fi
  meson test -C "$dir" --print-errorlogs --num-processes "$jobs" "$@" ||
    echo "=== $name: some tests failed"
  count_results "$dir"
}

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

run_config normal "" -- --- 
run_config release release -- --buildtype=release -Doptimization=3 --- \
  --suite preload --suite reliability --suite cli --suite supervisor
# Whether this host executes 32-bit x86 binaries: some kernels are built
# without IA-32 emulation.  Where it does not, the -m32 build is still
# compiled (through a cross file), and its tests are counted as skipped.
m32_runs() {
  local d
  d=$(mktemp -d) || return 1
  printf 'int main(void) { return 0; }\n' >"$d/t.c"
  gcc -m32 "$d/t.c" -o "$d/t" >/dev/null 2>&1 && "$d/t" >/dev/null 2>&1
  local rc=$?
  rm -rf "$d"
  return $rc
}
m32_cross=()
if { [ -z "$only" ] || [ "$only" = m32 ]; } && ! m32_runs; then
  echo "=== m32: this host cannot run 32-bit binaries; compile only, tests skipped"
  m32_cross=(--cross-file "$top/scripts/m32-compile-only.ini")
fi
run_config m32 m32 CFLAGS=-m32 LDFLAGS=-m32 -- -Dpreload=false \
  -Dtests=disabled -Dmin_alloc_pow2=6 -Darena_mib=64 "${m32_cross[@]}" \
  --- --suite plain
run_config asan asan -- -Db_sanitize=address,undefined -Db_lundef=false ---
run_config tsan tsan CC=clang -- -Db_sanitize=thread -Db_lundef=false \
  -Dtests=disabled -Dpreload=false --- --suite plain

if [ -z "$only" ] || [ "$only" = clang ]; then
  echo "=== clang build (compile only)"
  if configure build-clang CC=clang -- -Dtests=disabled &&
     ninja -C build-clang >build-clang/build.log 2>&1; then
    passed=$((passed + 1))
  else
    tail -n 60 build-clang/build.log 2>/dev/null
    echo "=== clang: build failed"; failed=$((failed + 1))
  fi
fi

if [ -z "$only" ] || [ "$only" = macos ]; then
  echo "=== macOS code, syntax only (scripts/check-macos)"
  [ -f build/build.ninja ] || configure build -- || true
  if bash scripts/check-macos build; then
    passed=$((passed + 1))
  else
    echo "=== macos: check failed"; failed=$((failed + 1))
  fi
fi

summary="$passed passed, $failed failed"
[ "$skipped" -gt 0 ] && summary+=", $skipped skipped"
echo "$summary"
[ "$failed" -eq 0 ]
