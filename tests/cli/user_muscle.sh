#!/usr/bin/env bash
# user_muscle.sh - examples/user_muscle.mnet learns: a few batches of
# `mnet train` give a non-zero, finite grad_norm on every row of log.csv
# (a clipped excitation below the muscle's a_min once gave 0 on every batch).
#
#   tests/cli/user_muscle.sh BUILD_DIR SOURCE_DIR
set -u
build=${1:?usage: user_muscle.sh BUILD_DIR SOURCE_DIR}
src=${2:?usage: user_muscle.sh BUILD_DIR SOURCE_DIR}
mnet="$build/tools/mnet"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/user_muscle.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
[ -x "$mnet" ] || { echo "FAIL: $mnet is not built" >&2; exit 1; }

if ! "$mnet" train "$src/examples/user_muscle.mnet" --batches 5 --out "$tmp/run" >"$tmp/out" 2>&1; then
  echo "FAIL: mnet train examples/user_muscle.mnet failed" >&2
  sed 's/^/    /' "$tmp/out" >&2
  exit 1
fi
# log.csv: batch,loss,<loss terms>,grad_norm,lr,ms (docs/training.md); the
# column is found by its name
awk -F, '
  NR == 1 { for (i = 1; i <= NF; i++) if ($i == "grad_norm") col = i
            if (!col) { print "FAIL: log.csv has no grad_norm column: " $0; bad = 1; exit } next }
  { rows++
    g = $col + 0
    if (!(g > 0) || g > 1e30) { print "FAIL: batch " $1 ": grad_norm " $col " (the network gets no gradient)"; bad = 1 }
    else print "batch " $1 ": grad_norm " $col }
  END { if (!bad && rows != 5) { print "FAIL: log.csv has " rows " batches, expected 5"; bad = 1 }
        exit bad }' "$tmp/run/log.csv" >&2 || exit 1
echo "user_muscle.sh: grad_norm non-zero on all 5 batches"
