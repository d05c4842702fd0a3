#!/usr/bin/env bash
# An LSTM run end to end (issue 15): two stacked LSTM layers with a linear
# read-out trained, resumed and evaluated; the recorded hidden states and
# output against PyTorch's LSTM equations in numpy from weights.safetensors
# (and torch.nn.LSTM when torch is installed, skipped with a message when
# not); the checkpoint keeps the read-out; a ReLU read-out likewise; mnet
# export refuses the LSTM.
# usage: lstm_run.sh BUILD_DIR SOURCE_DIR
set -u
build=$(cd "$1" && pwd)
src=$(cd "$2" && pwd)
mnet=$build/tools/mnet
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
check() { # description, condition result
  if [ "$2" -ne 0 ]; then echo "FAIL: $1"; fail=1; else echo "ok: $1"; fi
}
cat > "$tmp/lstm.mnet" <<'MNET'
import "ReluPointMass24.mnet";
task co {
  effector ReluPointMass24;
  kind centre_out_reach;
  duration 300 ms;
  policy lstm(hidden = 6, layers = 2, readout = linear, readout_bias = 0.1);
  train batch = 8, batches = 6, seed = 2;
}
MNET
"$mnet" train "$tmp/lstm.mnet" --batches 4 --out "$tmp/run" > "$tmp/log" 2>&1; check "an lstm run trains" $?
"$mnet" train --resume --out "$tmp/run" --batches 6 >> "$tmp/log" 2>&1; check "and resumes" $?
grep -q "network.cell=lstm" "$tmp/run/checkpoint.mnetckpt" && grep -q "network.readout=linear" "$tmp/run/checkpoint.mnetckpt"
check "the checkpoint names the cell and the read-out" $?
"$mnet" eval "$tmp/run" --episodes 8 > /dev/null 2>&1; check "eval records episodes" $?
out=$(/usr/bin/python3 "$src/tests/runtime/read_episodes.py" "$tmp/run/episodes.safetensors" "$tmp/run/weights.safetensors" 2>&1)
rc=$?
echo "$out" | sed 's/^/  /'
[ $rc -eq 0 ] && echo "$out" | grep -q "numpy LSTM (linear read-out)"; rc=$?
check "hidden states and output = PyTorch's LSTM equations and the linear read-out" $rc
sed -i 's/readout = linear, readout_bias = 0.1/readout = relu, readout_bias = 0.2/' "$tmp/lstm.mnet"
"$mnet" train "$tmp/lstm.mnet" --batches 3 --out "$tmp/relu" > /dev/null 2>&1 && "$mnet" eval "$tmp/relu" --episodes 4 > /dev/null 2>&1
check "a relu read-out trains and evaluates" $?
out=$(/usr/bin/python3 "$src/tests/runtime/read_episodes.py" "$tmp/relu/episodes.safetensors" "$tmp/relu/weights.safetensors" 2>&1)
[ $? -eq 0 ] && echo "$out" | grep -q "numpy LSTM (relu read-out)"; check "and matches the equations" $?
out=$("$mnet" export "$tmp/run" -o "$tmp/c.c" 2>&1); rc=$?
[ $rc -ne 0 ] && echo "$out" | grep -q "lstm" && [ ! -e "$tmp/c.c" ]; check "mnet export refuses an lstm run, nothing written" $?
exit $fail
