#!/usr/bin/env bash
# validation_set.sh - the centre-out validation set holds each direction
# once: `mnet train` with a batch of 32 and goals every 15 deg writes 24
# validation episodes to validation.csv, one per direction (it once padded
# the 24 to 32 by repeating the first 8, weighing them twice in the mean).
#
#   tests/cli/validation_set.sh BUILD_DIR SOURCE_DIR
set -u
build=${1:?usage: validation_set.sh BUILD_DIR SOURCE_DIR}
src=${2:?usage: validation_set.sh BUILD_DIR SOURCE_DIR}
mnet="$build/tools/mnet"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/validation_set.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
[ -x "$mnet" ] || { echo "FAIL: $mnet is not built" >&2; exit 1; }
cd "$src" || exit 1

status=0
for kind in centre_out_reach delayed_reach; do
  cat >"$tmp/$kind.mnet" <<MNET
import "ReluPointMass24.mnet";
task t {
  effector ReluPointMass24;
  kind $kind;
  duration 800 ms;
  validation distance = 10 cm, every = 15 deg;
  policy gru(hidden = 8);
  train batch = 32, batches = 1, seed = 3;
}
MNET
  if ! "$mnet" train "$tmp/$kind.mnet" --batches 1 --out "$tmp/$kind" >"$tmp/out" 2>&1; then
    echo "FAIL: $kind: mnet train failed" >&2
    sed 's/^/    /' "$tmp/out" >&2
    status=1
    continue
  fi
  # per episode: the direction of the last step's goal from the first
  # step's position, in 15 deg steps; each of the 24 exactly once
  awk -F, -v kind="$kind" '
    NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
    { e = $col["episode"]
      if (!(e in x0)) { x0[e] = $col["x"]; y0[e] = $col["y"]; n++ }
      gx[e] = $col["goal_x"]; gy[e] = $col["goal_y"] }
    END {
      pi = atan2(0, -1)
      for (e in x0) {
        k = atan2(gy[e] - y0[e], gx[e] - x0[e]) / (15 * pi / 180)
        r = int(k < 0 ? k - 0.5 : k + 0.5)
        if ((k - r) ^ 2 > 1e-8) { print "FAIL: " kind ": episode " e " reaches off the 15 deg directions"; bad = 1 }
        seen[(r % 24 + 24) % 24]++
      }
      if (n != 24) { print "FAIL: " kind ": " n " validation episodes, expected 24 (one per direction)"; bad = 1 }
      for (d = 0; d < 24; d++)
        if (seen[d] != 1) { print "FAIL: " kind ": direction " d * 15 " deg seen " seen[d] + 0 " times"; bad = 1 }
      if (!bad) print kind ": 24 validation episodes, each direction once"
      exit bad }' "$tmp/$kind/validation.csv" || status=1
done
exit $status
