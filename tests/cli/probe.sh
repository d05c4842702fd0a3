#!/usr/bin/env bash
# mnet eval's probes (issue 12): the validation set and probe tasks recorded,
# deterministically; bad input refused with nothing written.
# usage: probe.sh BUILD_DIR SOURCE_DIR
set -u
build=$(cd "$1" && pwd)
mnet=$build/tools/mnet
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
check() { # description, condition result
  if [ "$2" -ne 0 ]; then echo "FAIL: $1"; fail=1; else echo "ok: $1"; fi
}
cat > "$tmp/co.mnet" <<'MNET'
import "ReluPointMass24.mnet";
task co {
  effector ReluPointMass24;
  kind centre_out_reach;
  duration 300 ms;
  policy gru(hidden = 8);
  train batch = 8, batches = 20, seed = 2;
}
MNET
"$mnet" train "$tmp/co.mnet" --out "$tmp/run" > /dev/null 2>&1; check "a run to probe" $?
out=$("$mnet" eval "$tmp/run" 2>&1); rc=$?
[ $rc -eq 0 ] && echo "$out" | grep -q "eval: 24 validation episodes" && [ -s "$tmp/run/episodes.safetensors" ]; rc=$?
check "eval DIR records the validation set (24 directions) to DIR/episodes.safetensors" $rc
# deterministic: the same probe twice gives the same file, byte for byte
"$mnet" eval "$tmp/run" --set load.curl=15 --episodes 16 --seed 4 --out "$tmp/a.st" > /dev/null 2>&1
"$mnet" eval "$tmp/run" --set load.curl=15 --episodes 16 --seed 4 --out "$tmp/b.st" > /dev/null 2>&1
cmp -s "$tmp/a.st" "$tmp/b.st"; check "a probe is deterministic from its seed (byte-identical files)" $?
"$mnet" eval "$tmp/run" --set load.curl=15 --episodes 16 --seed 5 --out "$tmp/c.st" > /dev/null 2>&1
cmp -s "$tmp/a.st" "$tmp/c.st"; [ $? -ne 0 ]; check "... and another seed draws other episodes" $?
grep -q "load.curl=15" "$tmp/a.st"; check "the probe's run text (load.curl=15) is in the file's metadata" $?
# another task of another file that fits the network
sed 's/duration 300 ms;/duration 400 ms; delay vision = 30 ms;/' "$tmp/co.mnet" > "$tmp/other.mnet"
"$mnet" eval "$tmp/run" "$tmp/other.mnet" --out "$tmp/o.st" > /dev/null 2>&1; check "a task of another file that fits runs" $?
# bad input: a clear error, a non-zero exit, nothing written
before=$(ls "$tmp/run" | sort | tr '\n' ' ')
for bad in "--episodes 0|--episodes takes a whole number" \
           "--episodes 99999999|need about" \
           "--set frobnicate=1|unknown setting 'frobnicate'" \
           "--set delay.vision=5 kg|is a time, but the value given is a mass" \
           "--set action_frames=2|does not fit the trained network" \
           "--set policy.hidden=4|the network is the trained one" \
           "--set UpperLeft.max_force=-1|must be > 0" \
           "--seed 1.5|--seed takes a whole number" \
           "--task co|--task names a task of a FILE.mnet"; do
  args=${bad%%|*}; msg=${bad#*|}
  # shellcheck disable=SC2086
  if [ "${args#--set }" != "$args" ]; then
    out=$("$mnet" eval "$tmp/run" --set "${args#--set }" --out "$tmp/bad.st" 2>&1); rc=$?
  else
    out=$("$mnet" eval "$tmp/run" $args --out "$tmp/bad.st" 2>&1); rc=$?
  fi
  [ $rc -ne 0 ] && echo "$out" | grep -q -- "$msg" && [ ! -e "$tmp/bad.st" ]; rc=$?
  check "eval $args is refused ($(echo "$out" | tail -1 | head -c 110)), nothing written" $rc
done
[ "$before" = "$(ls "$tmp/run" | sort | tr '\n' ' ')" ]; check "the run's directory is unchanged by the refusals" $?
out=$("$mnet" eval "$tmp/nowhere" 2>&1); rc=$?
[ $rc -ne 0 ] && echo "$out" | grep -q "no run in"; rc=$?; check "eval of a directory without a run is refused" $rc
mkdir -p "$tmp/empty"; out=$("$mnet" eval "$tmp/empty" 2>&1); rc=$?
[ $rc -ne 0 ] && echo "$out" | grep -q "holds no run"; rc=$?; check "eval of a directory without a checkpoint is refused" $rc
# a checkpoint of another model: an arm file's task does not fit a point mass's network
out=$("$mnet" eval "$tmp/run" "$(cd "$(dirname "$0")/../.." && pwd)/examples/reach_arm26.mnet" --out "$tmp/bad.st" 2>&1); rc=$?
[ $rc -ne 0 ] && echo "$out" | grep -q "does not fit the trained network" && [ ! -e "$tmp/bad.st" ]; rc=$?
check "another model's task is refused with both sizes" $rc
exit $fail
