#!/usr/bin/env bash
# The long versions of the reliability tests (the CI runs short ones):
#   crash consistency: ROUNDS rounds of PROCS recording processes, each
#     SIGKILLed at a random moment; verify clean and every acknowledged
#     record present after every round
#   hostile writer (API): ITER damaged caches, every operation on each
#   hostile writer (shim): traced programs while scribble damages the cache
#
#   scripts/stress.sh [ROUNDS [PROCS [ITER [SHIM_RUNS]]]]   (500 4 2000 20)
#
# Builds build-rel/ if needed.  Prints each tool's summary and ends with one
# line; exits 1 if anything failed.
set -uo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-500} procs=${2:-4} iter=${3:-2000} shim_runs=${4:-20}
b=build-rel
[ -f $b/build.ninja ] || meson setup $b >/dev/null || exit 1
ninja -C $b >/dev/null || exit 1
seed=${SEED:-$(date +%s)}
dir=${TMPDIR:-/dev/shm}
fail=0

echo "== crash consistency: $rounds rounds x $procs processes (seed $seed)"
$b/tests/reliability/crash_stress -n "$procs" -r "$rounds" -s "$seed" \
  "$dir/shmcache-stress-$$.cache" || fail=1

echo "== hostile writer through the API: $iter damaged caches"
$b/tests/reliability/hostile_api -i "$iter" -s "$seed" "$dir" || fail=1

if [ -f $b/preload/libshmcache.so ]; then
  echo "== hostile writer against traced programs: $shim_runs rounds"
  python3 tests/reliability/hostile_shim.py --shim $b/preload/libshmcache.so \
    --scribble $b/tests/reliability/scribble --cli $b/cli/shmcache \
    --runs "$shim_runs" --seed "$seed" | tail -4 || fail=1
fi
rm -f "$dir/shmcache-stress-$$.cache"
echo "stress: $([ $fail -eq 0 ] && echo passed || echo FAILED) (seed $seed)"
exit $fail
