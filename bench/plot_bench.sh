#!/usr/bin/env bash
# bench/plot_bench.sh - how long `mnet plot` takes on the issue's size:
# 256 episodes x 100 steps of a 128-unit GRU (and a log.csv of 2000
# batches), every figure.  Not a test: it prints
#
#   plot_bench episodes=256 steps=100 hidden=128 plot_ms_min=X plot_ms_median=Y [record_ms=Z]
#
# The episodes are test_plot's fixture (tests/tools/test_plot.c), in the
# layout runtime/record.c writes.  When this mnet's eval records episodes
# (mnet eval DIR --episodes N --out FILE), it also trains one batch of a
# 128-unit GRU on ReluPointMass24 (1 s at 10 ms steps: 100 steps) and
# times recording its 256 episodes (record_ms, eval's whole command).
#
#   bench/plot_bench.sh [BUILD_DIR] [REPEATS]     (default build, 5)
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
build=${1:-build}
repeats=${2:-5}
mnet="$build/tools/mnet"
driver="$build/tests/tools_test_plot"
for f in "$mnet" "$driver"; do
  [ -x "$f" ] || { echo "plot_bench: $f is not built (./build.sh)" >&2; exit 2; }
done
tmp=$(mktemp -d "${TMPDIR:-/tmp}/plot_bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

if "$mnet" plot --help >/dev/null 2>&1; then plot=("$mnet" plot); else plot=("$driver" plot); fi
"$driver" --write-fixture "$tmp/run" 256 100 128 >/dev/null || { echo "plot_bench: fixture failed" >&2; exit 1; }

ms_now() { echo $(( $(date +%s%N) / 1000000 )); }
times=()
for ((i = 0; i < repeats; i++)); do
  rm -rf "$tmp/run/figures"
  t0=$(ms_now)
  "${plot[@]}" "$tmp/run" >/dev/null || { echo "plot_bench: mnet plot failed" >&2; exit 1; }
  times+=($(( $(ms_now) - t0 )))
done
sorted=($(printf '%s\n' "${times[@]}" | sort -n))
line="plot_bench episodes=256 steps=100 hidden=128 plot_ms_min=${sorted[0]} plot_ms_median=${sorted[$((repeats / 2))]}"

# recording, when mnet eval can
cat >"$tmp/pm.mnet" <<'MNET'
import "ReluPointMass24.mnet";
task t {
  effector ReluPointMass24;
  kind centre_out_reach;
  duration 1 s;
  policy gru(hidden = 128);
  train batch = 32, batches = 1, seed = 1;
}
MNET
if "$mnet" train "$tmp/pm.mnet" --out "$tmp/rec" >/dev/null 2>&1; then
  t0=$(ms_now)
  if "$mnet" eval "$tmp/rec" --episodes 256 --out "$tmp/rec/episodes.safetensors" >/dev/null 2>&1; then
    line="$line record_ms=$(( $(ms_now) - t0 ))"
    t0=$(ms_now)
    "${plot[@]}" "$tmp/rec" >/dev/null 2>&1 && line="$line plot_recorded_ms=$(( $(ms_now) - t0 ))"
  fi
fi
echo "$line"
