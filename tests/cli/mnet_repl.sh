#!/usr/bin/env bash
# Scripted REPL sessions: good and bad commands, bad files, exit status.
# usage: mnet_repl.sh BUILD_DIR SOURCE_DIR
set -u
build=$(cd "$1" && pwd)
src=$2
mnet=$build/tools/mnet
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
check() { # description, condition result
  if [ "$2" -ne 0 ]; then echo "FAIL: $1"; fail=1; else echo "ok: $1"; fi
}

cat > "$tmp/pm.mnet" <<MNET
import "ReluPointMass24.mnet";
task pm {
  effector ReluPointMass24;
  duration 200 ms;
  policy gru(hidden = 8);
  train batch = 4, batches = 10, seed = 3;
}
MNET

out=$("$mnet" -c "load $tmp/pm.mnet; train 3; set UpperLeft.max_force 400; set delay.vision 30 ms; train 2; eval; show; emit $tmp/m.c; quit" 2>&1)
rc=$?
check "a good script exits 0" $rc
echo "$out" | grep -q "trained 5 batches in all"; check "training continues across set" $?
echo "$out" | grep -q "no recompile"; check "set says no recompile" $?
echo "$out" | grep -q "network and optimiser kept"; check "a delay change keeps the network" $?
echo "$out" | grep -q "eval: "; check "eval prints a loss" $?
[ -s "$tmp/m.c" ]; check "emit writes C" $?
cc -std=c11 -Wall -Wextra -Werror -c "$tmp/m.c" -o "$tmp/m.o" 2>/dev/null; check "emitted C compiles with -Werror" $?

out=$("$mnet" -c "frobnicate; load $tmp/pm.mnet; train 1" 2>&1)
rc=$?
[ $rc -eq 1 ]; check "an unknown command makes the script fail (rc=$rc)" $?
echo "$out" | grep -q "unknown command 'frobnicate'"; check "unknown command is named" $?
echo "$out" | grep -q "trained 1 batches"; check "the REPL goes on after an error" $?

printf 'import "nothing.mnet";\n' > "$tmp/bad.mnet"
out=$("$mnet" -c "load $tmp/bad.mnet; show" 2>&1)
rc=$?
[ $rc -eq 1 ]; check "a bad file fails the script" $?
echo "$out" | grep -q "bad.mnet:1:8: error: cannot open"; check "a bad file gives a positioned error" $?
echo "$out" | grep -q "no model loaded"; check "a failed load leaves no half model" $?

out=$("$mnet" -c "load $tmp; train 0; train x; set; set a; emit" 2>&1)
[ $? -eq 1 ]; check "bad arguments fail" $?
echo "$out" | grep -q "is a directory"; check "a directory is refused" $?
echo "$out" | grep -q "usage: train N"; check "train usage" $?

out=$(printf 'load %s\ntrain 2\nquit\ntrain 100\n' "$tmp/pm.mnet" | "$mnet" 2>&1)
[ $? -eq 0 ]; check "commands from a pipe" $?
echo "$out" | grep -q "trained 2 batches in all"; check "pipe: train ran, quit stopped" $?

"$mnet" --version | grep -q "mnet "; check "--version" $?

# checkpoints: save, open in a fresh process (nothing but the file), continue
out=$("$mnet" -c "load $tmp/pm.mnet; train 4; save $tmp/a.ckpt; train 3; show" 2>&1)
check "save" $?
l1=$(echo "$out" | grep "loss of the last 100" | tail -1)
out=$(cd / && "$mnet" -c "open $tmp/a.ckpt; train 3; show" 2>&1)
check "open a checkpoint from another directory" $?
echo "$out" | grep -q "opened .*4 batches trained"; check "open restores the batch count" $?
"$mnet" -c "load $tmp/pm.mnet; train 2; set UpperRight.max_force 1e308; train 3" > "$tmp/nan.txt" 2>&1
[ $? -eq 1 ]; check "a NaN stops training with a failure" $?
grep -q "stopped: batch 2: the loss is nan" "$tmp/nan.txt" && grep -q "non-finite first at step" "$tmp/nan.txt"; check "the NaN batch is named, with the state row" $?
printf 'not a checkpoint' > "$tmp/bad.ckpt"
out=$("$mnet" -c "open $tmp/bad.ckpt" 2>&1)
[ $? -eq 1 ]; check "a foreign file is refused" $?
echo "$out" | grep -qi "magic\|not an mnet checkpoint"; check "a foreign file gets a clear error ($out)" $?
head -c 500 "$tmp/a.ckpt" > "$tmp/trunc.ckpt"
out=$("$mnet" -c "open $tmp/trunc.ckpt" 2>&1)
[ $? -eq 1 ]; check "a truncated checkpoint is refused" $?
echo "$out" | grep -qi "truncat"; check "truncation is named ($out)" $?

# mnet train: outputs, resume bit-identical, eval
"$mnet" train "$tmp/pm.mnet" --batches 8 --out "$tmp/full" > /dev/null 2>&1; check "train to a directory" $?
for f in log.csv checkpoint.mnetckpt weights.safetensors validation.csv; do
  [ -s "$tmp/full/$f" ]; check "train writes $f" $?
done
"$mnet" train "$tmp/pm.mnet" --batches 4 --out "$tmp/half" > /dev/null 2>&1
"$mnet" train --resume --out "$tmp/half" --batches 8 > /dev/null 2>&1; check "resume" $?
cmp -s <(cut -d, -f1,2 "$tmp/full/log.csv") <(cut -d, -f1,2 "$tmp/half/log.csv"); check "a resumed run is bit-identical" $?
"$mnet" eval "$tmp/full" | grep -q "eval: "; check "mnet eval DIR" $?

# the JIT (default) and the C backend train identically
j=$("$mnet" train "$tmp/pm.mnet" --batches 3 --out "$tmp/j" | tail -1 | sed 's/ ms_per_batch.*//')
c=$("$mnet" train "$tmp/pm.mnet" --batches 3 --out "$tmp/c" --backend c | tail -1 | sed 's/ ms_per_batch.*//')
[ -n "$j" ] && [ "$j" = "$c" ]; check "JIT and C backends give the same losses ($j | $c)" $?
cut -d, -f2 "$tmp/j/log.csv" > "$tmp/jl"; cut -d, -f2 "$tmp/c/log.csv" > "$tmp/cl"
cmp -s "$tmp/jl" "$tmp/cl"; check "per-batch losses identical across backends" $?
"$build/tools/mnetc" --emit-llvm "$tmp/pm.mnet" -o "$tmp/m.ll"; check "mnetc --emit-llvm" $?
grep -q "define void @step" "$tmp/m.ll"; check "the .ll defines step" $?
grep -q "define void @loss_vjp" "$tmp/m.ll"; check "the .ll defines loss_vjp" $?
# a task with written loss terms: both backends, the terms named in the log
sed 's/duration 1 s;/duration 200 ms;/; s/hidden = 64/hidden = 8/; s/batch = 32/batch = 4/' \
    "$src/examples/user_loss.mnet" > "$tmp/ul.mnet"
j=$("$mnet" train "$tmp/ul.mnet" --batches 3 --out "$tmp/uj" | tail -1 | sed 's/ ms_per_batch.*//')
c=$("$mnet" train "$tmp/ul.mnet" --batches 3 --out "$tmp/uc" --backend c | tail -1 | sed 's/ ms_per_batch.*//')
[ -n "$j" ] && [ "$j" = "$c" ]; check "written losses: JIT and C backends agree ($j | $c)" $?
head -1 "$tmp/uj/log.csv" | grep -q "^batch,loss,distance,effort,arrival,grad_norm"; check "log.csv names the written terms" $?
printf 'task t {\n  effector RigidTendonArm26;\n  loss d(value = position);\n}\n' > "$tmp/badloss.mnet"
echo 'import "RigidTendonArm26.mnet";' | cat - "$tmp/badloss.mnet" > "$tmp/badloss2.mnet"
"$mnet" train "$tmp/badloss2.mnet" --batches 1 --out "$tmp/bl" 2>"$tmp/bl.err"; [ $? -eq 1 ]; check "a vector loss value is an error" $?
grep -q "badloss2.mnet:4:.*a loss value must be a scalar" "$tmp/bl.err"; check "... positioned" $?
"$mnet" train 2>/dev/null; [ $? -eq 2 ]; check "train without a file is a usage error" $?

# a piped line of any length is one command (lines over 4,095 bytes were split in two)
out=$(printf 'help%5000sload\n' '' | "$mnet" 2>&1)
rc=$?
[ $rc -eq 0 ]; check "a 5,000-byte piped line is one command (rc=$rc)" $?
echo "$out" | grep -q "^  load  *FILE.mnet"; check "... help for the word after the spaces" $?
! echo "$out" | grep -q "usage\|unknown command"; check "... and no second command from its tail" $?
out=$("$mnet" -c "help $(printf 'x%.0s' $(seq 6000))" 2>&1)
echo "$out" | grep -q "no command 'xxxxxxxxxx"; check "a long -c command is not cut" $?

# train N: out of range or not a whole number is an error, never a run of forever
for n in 99999999999999999999999 1000000001 0 -3 1.5 10abc 1e9; do
  out=$("$mnet" -c "load $tmp/pm.mnet; train $n" 2>&1)
  rc=$?
  [ $rc -eq 1 ]; check "train $n is refused (rc=$rc)" $?
  echo "$out" | grep -q "mnet: train: .*\(out of range\|not a whole number\)"; check "... saying why" $?
  ! echo "$out" | grep -q "trained "; check "... and trains nothing" $?
done
out=$("$mnet" -c "set x $(printf 'y%.0s' $(seq 300))" 2>&1)
[ $? -eq 1 ] && echo "$out" | grep -q "longer than 255"; check "an over-long set value is refused, not cut" $?
exit $fail
