#!/usr/bin/env bash
# Fuzzes the path cache with libFuzzer for SECONDS (default 60): any bytes
# become a cache file image (fuzz/fuzz_cache.h), on which attach, lookup,
# record, iterate, stats and verify run under ASan and UBSan.
#
#   scripts/fuzz.sh [SECONDS] [JOBS]
#
# Builds with clang into build-fuzz/ through meson (-Dfuzzer=true: the
# target fuzz/fuzz_cache, with the reliability suite's small arena, so an
# image is ~1.4 MB), writes the generated seed corpus, then fuzzes; a crash
# is kept in build-fuzz/crashes/ and fuzzing goes on until the time is up.
# Ends with one line: executions, crashes.  Exits 1 if any input crashed.
# A crash found here belongs, once fixed, in tests/reliability/fuzz-regressions/.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
jobs=${2:-1}
out=build-fuzz
if [ ! -f "$out/build.ninja" ]; then
  CC=clang meson setup "$out" -Dfuzzer=true -Dpreload=false -Dtests=disabled \
    -Db_sanitize=address,undefined -Db_lundef=false -Doptimization=1 \
    -Ddebug=true -Dc_args=-fno-sanitize-recover=undefined >/dev/null
fi
ninja -C "$out" fuzz/fuzz_cache tests/reliability/fuzz_replay >/dev/null
mkdir -p "$out/seeds" "$out/corpus" "$out/crashes" "$out/logs"
fuzz_cache=$out/fuzz/fuzz_cache
fuzz_replay=$out/tests/reliability/fuzz_replay

export ASAN_OPTIONS=detect_leaks=0:abort_on_error=0
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
"$fuzz_replay" --write-seeds "$out/seeds" >/dev/null
"$fuzz_replay" --seeds tests/reliability/fuzz-regressions >/dev/null

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
  "$fuzz_cache" -max_total_time="$left" -max_len=262144 -timeout=20 \
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
