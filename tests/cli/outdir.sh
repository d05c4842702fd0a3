#!/usr/bin/env bash
# mnet train's output directory: the lock between two runs, a run killed
# with SIGKILL, an existing run refused without --force, an --out past
# PATH_MAX refused with nothing created, and writes past `ulimit -f`
# reported (not a silent death, not a silently short log).
# usage: outdir.sh BUILD_DIR SOURCE_DIR
set -u
build=$(cd "$1" && pwd)
src=$2
mnet=$build/tools/mnet
tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
  rm -rf "$tmp"
}
trap cleanup EXIT
fail=0
check() { # description, condition result
  if [ "$2" -ne 0 ]; then echo "FAIL: $1"; fail=1; else echo "ok: $1"; fi
}
# every line of a CSV has as many fields as its header (and ends in '\n')
whole_rows() {
  [ -s "$1" ] && [ -z "$(tail -c 1 "$1")" ] &&
    awk -F, 'NR == 1 { n = NF } NF != n { bad = 1 } END { exit bad }' "$1"
}
# waits (up to 20 s) until DIR/.mnet.lock names a holder
wait_lock() {
  for _ in $(seq 200); do
    grep -q '^pid ' "$1/.mnet.lock" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

# a small, fast version of the README's task (about 0.1 ms a batch)
sed 's/duration 1 s;/duration 300 ms;/; s/hidden = 32/hidden = 8/; s/batch = 32/batch = 8/' \
    "$src/examples/reach_point_mass.mnet" > "$tmp/pm.mnet"

# ---- two runs into one directory: the second is refused, naming the first
"$mnet" train "$tmp/pm.mnet" --batches 200000 --out "$tmp/run" > "$tmp/first.out" 2>&1 &
first=$!
pids+=("$first")
wait_lock "$tmp/run"; check "the first run locks its directory" $?
"$mnet" train "$tmp/pm.mnet" --batches 20 --out "$tmp/run" --force > "$tmp/second.out" 2>&1
[ $? -eq 1 ]; check "a second run into the same --out fails (even with --force)" $?
grep -q "'$tmp/run' is in use by pid $first on $(hostname) since " "$tmp/second.out"
st=$?
check "... naming the holder's pid and host ($(head -c 300 "$tmp/second.out"))" $st
# once it trains (its SIGINT handler is set), it stops cleanly: checkpoint and outputs
for _ in $(seq 200); do [ "$(wc -l < "$tmp/run/log.csv" 2>/dev/null || echo 0)" -gt 2 ] && break; sleep 0.1; done
kill -INT "$first"
wait "$first"; [ $? -eq 130 ]; check "the first run, interrupted, saves and exits 130 (not 0)" $?
whole_rows "$tmp/run/log.csv"; check "its log.csv has whole rows only" $?
n=$(($(wc -l < "$tmp/run/log.csv") - 1))
last=$(tail -n 1 "$tmp/run/log.csv" | cut -d, -f1)
[ "$n" -gt 0 ] && [ "$last" -eq $((n - 1)) ]; check "... one per batch, 0..$last, none from the second" $?
[ ! -s "$tmp/run/.mnet.lock" ]; check "the lock file is emptied at the end" $?

# ---- an existing run: refused without --force, replaced with it, resumed
"$mnet" train "$tmp/pm.mnet" --batches 20 --out "$tmp/run" > "$tmp/again.out" 2>&1
[ $? -eq 1 ]; check "a new run into a run directory is refused" $?
grep -q "already holds a run.*--force overwrites it (mnet train --resume continues it)" "$tmp/again.out"
check "... saying what to do" $?
cmp -s <(wc -l < "$tmp/run/log.csv") <(echo $((n + 1))); check "... and the old log untouched" $?
"$mnet" train "$tmp/pm.mnet" --batches 20 --out "$tmp/run" --force > /dev/null 2>&1
check "--force trains over it" $?
[ "$(wc -l < "$tmp/run/log.csv")" -eq 21 ] && whole_rows "$tmp/run/log.csv"
check "... a log of the new run's 20 batches" $?
"$mnet" train --resume --out "$tmp/run" --batches 30 > /dev/null 2>&1; check "--resume continues it" $?
[ "$(wc -l < "$tmp/run/log.csv")" -eq 31 ]; check "... to 30 batches" $?
"$mnet" train --resume --force --out "$tmp/run" > /dev/null 2>&1
[ $? -eq 2 ]; check "--resume with --force is a usage error" $?
"$mnet" train --resume --out "$tmp/nothing" > "$tmp/res.out" 2>&1
[ $? -eq 1 ] && [ ! -e "$tmp/nothing" ]; check "--resume of a missing directory: refused, not created" $?

# ---- killed with SIGKILL: no stale lock; its orphaned temporaries go
"$mnet" train "$tmp/pm.mnet" --batches 20 --out "$tmp/killed" > /dev/null 2>&1
"$mnet" train --resume --out "$tmp/killed" --batches 2000000 > /dev/null 2>&1 &
victim=$!
pids+=("$victim")
wait_lock "$tmp/killed"
kill -9 "$victim"; wait "$victim" 2>/dev/null
touch "$tmp/killed/checkpoint.mnetckpt.tmp.a1B2c3"    # as a kill during a save leaves
grep -q "^pid $victim" "$tmp/killed/.mnet.lock"; check "the killed run left its lock file" $?
"$mnet" train --resume --out "$tmp/killed" --batches 21 > "$tmp/killed.out" 2>&1
check "... which is no lock: --resume runs" $?
grep -q "removed 1 orphaned temporary file" "$tmp/killed.out" && [ ! -e "$tmp/killed/checkpoint.mnetckpt.tmp.a1B2c3" ]
check "... and removes the orphaned temporary" $?

# ---- --out past PATH_MAX (and a component past NAME_MAX): refused, nothing created
mkdir "$tmp/long"
deep=$tmp/long$(printf '/a%.0s' $(seq 2100))
(cd "$tmp" && "$mnet" train "$tmp/pm.mnet" --batches 1 --out "$deep") > "$tmp/long.out" 2>&1
[ $? -eq 1 ]; check "an --out past PATH_MAX is refused" $?
grep -q "too long.*PATH_MAX" "$tmp/long.out"; check "... with a clear message" $?
[ -z "$(ls -A "$tmp/long")" ]; check "... and nothing is created" $?
"$mnet" train "$tmp/pm.mnet" --batches 1 --out "$tmp/long/x/$(printf 'b%.0s' $(seq 300))" > "$tmp/name.out" 2>&1
[ $? -eq 1 ] && grep -q "NAME_MAX" "$tmp/name.out" && [ -z "$(ls -A "$tmp/long")" ]
check "a component past NAME_MAX: refused, nothing created" $?

# ---- a file size limit: the write fails with EFBIG and says so
# (not under ThreadSanitizer, whose runtime dies of a bus error of its own
# under the limit before mnet writes anything: the ASan and plain builds
# check it)
case "${MNET_LINK_FLAGS:-}" in *thread*) tsan=1 ;; *) tsan=0 ;; esac
if [ $tsan -eq 1 ]; then
  echo "skipped under ThreadSanitizer: the ulimit -f checks (its runtime cannot run under a file size limit)"
else
# 8 KiB: the first checkpoint (about 19 kB) cannot be written
(ulimit -f 8; exec "$mnet" train "$tmp/pm.mnet" --batches 200 --out "$tmp/f8") > "$tmp/f8.out" 2>&1
st=$?
[ $st -eq 1 ]; check "ulimit -f 8: exit status 1, not a death by SIGXFSZ ($st)" $?
grep -q "cannot write checkpoint.*File too large" "$tmp/f8.out"; check "... the checkpoint's failure named" $?
whole_rows "$tmp/f8/log.csv"; check "... log.csv whole" $?
# 24 KiB: checkpoints fit, the log (about 47 bytes a row) does not
(ulimit -f 24; exec "$mnet" train "$tmp/pm.mnet" --batches 1000 --out "$tmp/f24") > "$tmp/f24.out" 2>&1
st=$?
[ $st -eq 1 ]; check "ulimit -f 24: exit status 1 ($st)" $?
grep -q "cannot write training log '$tmp/f24/log.csv' at batch [0-9]*: File too large" "$tmp/f24.out"
st=$?
check "... the log's failure named: $(grep -o 'cannot write training log.*Too large\|cannot write training log[^;]*' "$tmp/f24.out" | head -1)" $st
whole_rows "$tmp/f24/log.csv" && [ "$(wc -c < "$tmp/f24/log.csv")" -le 24576 ]
check "... log.csv keeps whole rows under the limit" $?
! grep -q "^done batches=1000" "$tmp/f24.out"; check "... and the run does not claim to be done" $?
fi
# ---- mnet eval locks the directory too: refused while a run trains there
"$mnet" train --resume --out "$tmp/killed" --batches 2000000 > /dev/null 2>&1 &
trainer=$!
pids+=("$trainer")
wait_lock "$tmp/killed"; check "a run trains in a directory again" $?
cp "$tmp/killed/weights.safetensors" "$tmp/weights.before"
"$mnet" eval "$tmp/killed" > "$tmp/eval.out" 2>&1
st=$?
[ $st -eq 1 ]; check "mnet eval of a directory a run is writing fails ($st)" $?
grep -q "'$tmp/killed' is in use by pid $trainer on $(hostname) since " "$tmp/eval.out"
st=$?
check "... naming the holder: $(head -c 300 "$tmp/eval.out")" $st
cmp -s "$tmp/weights.before" "$tmp/killed/weights.safetensors"; check "... and writes no weights" $?
kill -9 "$trainer"; wait "$trainer" 2>/dev/null
"$mnet" eval "$tmp/killed" > "$tmp/eval.out" 2>&1; check "once the run is gone, eval runs" $?
[ ! -s "$tmp/killed/.mnet.lock" ]; check "... and releases its lock (the lock file emptied)" $?
"$mnet" eval "$tmp/nothing" > "$tmp/eval.out" 2>&1
st=$?
[ $st -eq 1 ] && [ ! -e "$tmp/nothing" ]; check "eval of a missing directory: refused ($st), not created" $?
exit $fail
