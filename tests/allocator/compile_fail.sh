#!/bin/sh
# compile_fail.sh INCDIR [--succeed | MESSAGE] -DSETTING... CC [ARGS...]
# Compiles a file that includes shm_alloc.h with the given settings.  By
# default the compile must fail and print MESSAGE; with --succeed it must
# compile.
inc=$1; shift
want=$1; shift
defs=
while [ $# -gt 0 ]; do
	case $1 in -D*) defs="$defs $1"; shift ;; *) break ;; esac
done
src=$(mktemp /tmp/shm_cf_XXXXXX.c) || exit 2
out=$(mktemp /tmp/shm_cf_XXXXXX.txt) || exit 2
trap 'rm -f "$src" "$out"' EXIT
printf '#include "shm_alloc.h"\nint main(void) { return 0; }\n' > "$src"
# shellcheck disable=SC2086
"$@" -std=c11 -fsyntax-only $defs -I "$inc" "$src" > "$out" 2>&1
rc=$?
if [ "$want" = --succeed ]; then
	[ $rc -eq 0 ] && exit 0
	echo "expected to compile:"; cat "$out"; exit 1
fi
if [ $rc -eq 0 ]; then
	echo "compiled, but must fail with: $want"; exit 1
fi
if grep -qF -- "$want" "$out"; then
	grep -F -- "$want" "$out"; exit 0
fi
echo "failed without the message '$want':"; cat "$out"; exit 1
