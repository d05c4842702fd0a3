#!/usr/bin/env bash
# mnet train --threads N: the same run, bit for bit, for every thread
# count (the same weights.safetensors and log losses), resumed with another
# count, or with train.threads set through --set; the count is not part of
# the run (not in the checkpoint's run text), and a bad count is refused.
# usage: threads.sh BUILD_DIR SOURCE_DIR
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
file=$tmp/pm.mnet
# the bench's point mass, small: batch 10 in slices of 3 (4 slices, the last of 1)
sed -e 's/batch *= *[0-9]*/batch = 10/' "$src/bench/pm.mnet" > "$file"
losses() { cut -d, -f1,2 "$1/log.csv"; }
train() { # out, args...
  local out=$1; shift
  "$mnet" train "$file" --out "$out" --set train.slice=3 "$@" > "$out.txt" 2>&1
}
train "$tmp/t1" --batches 8 --threads 1; check "1 thread trains" $?
grep -q "1 thread (slices of 3)" "$tmp/t1.txt"; check "the run line says 1 thread, slices of 3" $?
for n in 2 3 4; do
  train "$tmp/t$n" --batches 8 --threads $n; check "$n threads train" $?
  grep -q "$([ $n -le 4 ] && echo $n) threads (slices of 3)" "$tmp/t$n.txt"; check "the run line says $n threads" $?
  cmp -s "$tmp/t1/weights.safetensors" "$tmp/t$n/weights.safetensors"; check "$n threads: the weights of 1 thread, bit for bit" $?
  [ "$(losses "$tmp/t1")" = "$(losses "$tmp/t$n")" ]; check "$n threads: the losses of 1 thread" $?
done
# more threads than slices: as many as there are slices
train "$tmp/t9" --batches 8 --threads 9; check "9 threads train" $?
grep -q "4 threads (slices of 3)" "$tmp/t9.txt"; check "9 threads: 4 used (4 slices)" $?
# resumed with another count: the uninterrupted run's weights
train "$tmp/r" --batches 4 --threads 3; check "4 batches on 3 threads" $?
"$mnet" train --resume --out "$tmp/r" --batches 8 --threads 1 > "$tmp/r2.txt" 2>&1; check "resumed on 1 thread" $?
cmp -s "$tmp/t1/weights.safetensors" "$tmp/r/weights.safetensors"; check "resumed with another count: the same weights" $?
"$mnet" train --resume --out "$tmp/r" --batches 10 --set train.threads=2 > "$tmp/r3.txt" 2>&1
check "--set train.threads=2 on resume is not a change of the run" $?
# the count is not in the run text; the slice is
grep -a -q "train.threads" "$tmp/t2/checkpoint.mnetckpt"; [ $? -ne 0 ]; check "the checkpoint does not hold the thread count" $?
grep -a -q "train.slice=3" "$tmp/t2/checkpoint.mnetckpt"; check "the checkpoint holds the slice" $?
# another slice is another run: refused on resume
"$mnet" train --resume --out "$tmp/r" --batches 12 --set train.slice=2 > "$tmp/r4.txt" 2>&1
[ $? -ne 0 ] && grep -q "train.slice" "$tmp/r4.txt"; check "--set train.slice on resume is refused as a change of the run" $?
# bad counts
for bad in -1 x 2000; do
  "$mnet" train "$file" --out "$tmp/bad" --batches 1 --threads $bad > "$tmp/bad.txt" 2>&1
  [ $? -ne 0 ] && grep -q -- "--threads" "$tmp/bad.txt"; check "--threads $bad refused" $?
done
exit $fail
