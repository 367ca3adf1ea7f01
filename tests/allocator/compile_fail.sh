#!/bin/sh
# compile_fail.sh TEMPLATE MIN MAX [--succeed | MESSAGE] [-DFLAG...] CC [ARGS...]
# Compiles a file that includes shm_alloc.h with a configuration header made
# from TEMPLATE (allocator/shm_config.h.in) with MIN_ALLOC_POW2=MIN and
# MAX_ALLOC_POW2=MAX (empty: 5 and 10) and any -D flags given.  By default
# the compile must fail and print MESSAGE; with --succeed it must compile.
template=$1 min=${2:-5} max=${3:-10}; shift 3
want=$1; shift
defs=
while [ $# -gt 0 ]; do
	case $1 in -D*) defs="$defs $1"; shift ;; *) break ;; esac
done
dir=$(mktemp -d /tmp/shm_cf_XXXXXX) || exit 2
trap 'rm -rf "$dir"' EXIT
sed -e "s/@MIN_ALLOC_POW2@/$min/" -e "s/@MAX_ALLOC_POW2@/$max/" \
    -e "s/@ARENA_KIB@/1024/" -e "s/@SHM_PATH_ENV_NAME@/SHM_FILE/" \
    "$template" > "$dir/shm_config.h"
cp "$(dirname "$template")/shm_alloc.h" "$dir/"
printf '#include "shm_alloc.h"\nint main(void) { return 0; }\n' > "$dir/t.c"
# shellcheck disable=SC2086
"$@" -std=c11 -fsyntax-only $defs -I "$dir" "$dir/t.c" > "$dir/out" 2>&1
rc=$?
if [ "$want" = --succeed ]; then
	[ $rc -eq 0 ] && exit 0
	echo "expected to compile:"; cat "$dir/out"; exit 1
fi
if [ $rc -eq 0 ]; then
	echo "compiled, but must fail with: $want"; exit 1
fi
if grep -qF -- "$want" "$dir/out"; then
	grep -F -- "$want" "$dir/out"; exit 0
fi
echo "failed without the message '$want':"; cat "$dir/out"; exit 1
