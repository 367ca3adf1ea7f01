#!/usr/bin/env bash
# Fuzzes the path cache with libFuzzer for SECONDS (default 60): any bytes
# become a cache file image (fuzz/fuzz_cache.h), on which attach, lookup,
# record, iterate, stats and verify run under ASan and UBSan.
#
#   scripts/fuzz.sh [SECONDS] [JOBS]
#
# Builds with clang into build-fuzz/ (a small arena, so an image is ~1.4 MB),
# writes the generated seed corpus, then fuzzes; a crash is kept in
# build-fuzz/crashes/ and fuzzing goes on until the time is up.  Ends with
# one line: executions, crashes.  Exits 1 if any input crashed.
# A crash found here belongs, once fixed, in tests/reliability/fuzz-regressions/.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
jobs=${2:-1}
out=build-fuzz
mkdir -p "$out/seeds" "$out/corpus" "$out/crashes" "$out/logs"

# The library sources, as their meson.build lists them.
srcs() { sed -n "s/^ *'\([A-Za-z0-9_]*\.c\)',\{0,1\}$/\1/p" "$1/meson.build" | sed "s|^|$1/|"; }
mapfile -t lib < <(srcs allocator; srcs ctrie_cache)
settings=(-DMIN_ALLOC_POW2=5 -DMAX_ALLOC_POW2=10
          "-DMAX_ALLOCATABLE_SHM_SIZE=(256UL*1024UL)" '-DSHM_PATH_ENV_NAME="SHM_FILE"')
cflags=(-std=c11 -D_POSIX_C_SOURCE=200809L -g -O1 -Wall -Wextra -Werror
        -fno-omit-frame-pointer -Iallocator -Ictrie_cache "${settings[@]}")

clang "${cflags[@]}" -fsanitize=fuzzer,address,undefined \
  -fno-sanitize-recover=undefined "${lib[@]}" fuzz/fuzz_cache.c \
  -o "$out/fuzz_cache"
clang "${cflags[@]}" -fsanitize=address,undefined \
  -fno-sanitize-recover=undefined "${lib[@]}" fuzz/fuzz_cache.c \
  fuzz/fuzz_seeds.c fuzz/fuzz_main.c -o "$out/fuzz_replay"

export ASAN_OPTIONS=detect_leaks=0:abort_on_error=0
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
"$out/fuzz_replay" --write-seeds "$out/seeds" >/dev/null
"$out/fuzz_replay" --seeds tests/reliability/fuzz-regressions >/dev/null

execs=0 crashes=0
end=$((SECONDS + seconds))
run=0
while [ $SECONDS -lt "$end" ]; do
  run=$((run + 1))
  log="$out/logs/run-$run.log"
  left=$((end - SECONDS))
  set +e
  par=()
  [ "$jobs" -gt 1 ] && par=(-jobs="$jobs" -workers="$jobs")
  "$out/fuzz_cache" -max_total_time="$left" -max_len=262144 -timeout=20 \
    -rss_limit_mb=4096 -print_final_stats=1 "${par[@]}" \
    -artifact_prefix="$out/crashes/" "$out/corpus" "$out/seeds" \
    >"$log" 2>&1
  rc=$?
  set -e
  # -jobs mode leaves one fuzz-N.log per job in the current directory
  n=$( { cat "$log"; cat fuzz-*.log 2>/dev/null || true; } |
      sed -n 's/^stat::number_of_executed_units: *//p' |
      awk '{s += $1} END {print s + 0}')
  rm -f fuzz-*.log
  execs=$((execs + n))
  if [ $rc -ne 0 ]; then
    crashes=$((crashes + 1))
    echo "fuzz: run $run stopped (exit $rc); see $log"
    grep -E "^(==[0-9]+==ERROR|SUMMARY|    #[0-9] )" "$log" | head -20 || true
    [ $run -ge 50 ] && break
  fi
done
echo "fuzz: $execs executions in $seconds s, $crashes crashes" \
  "(inputs in $out/crashes/, corpus $(ls "$out/corpus" | wc -l) files)"
[ "$crashes" -eq 0 ]
