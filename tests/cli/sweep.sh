#!/usr/bin/env bash
# mnet sweep (issue 14, items 1 and 4): a 2 x 3 grid trained with --jobs 2,
# each run with its settings; a rerun retrains nothing; a sweep killed
# (kill -9 of it and its children) at a random moment resumes without
# touching a finished run, and its resumed runs end bit for bit as an
# uninterrupted sweep's; a changed grid or file is refused; bad specs are
# refused before anything is created; a failing run does not stop the
# others; plot and eval of a sweep directory.
# usage: sweep.sh BUILD_DIR SOURCE_DIR
set -u
build=$(cd "$1" && pwd)
mnet=$build/tools/mnet
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
src=$(cd "${2:-.}" && pwd)
cd "$tmp" || exit 1
# check, pm.mnet, sums, same_runs, wait_for, finished_runs, finished_sums
. "$src/tests/support/sweep_fixture.sh"

# ---- bad specs: refused before anything is created (exit 2) -------------
for bad in "--set frobnicate=1,2|unknown setting" \
           "--set delay.vision=50 kg|is a time, but the value given is a mass" \
           "--set train.lr=0.01,-1|train.lr must be > 0" \
           "--set load.curl=0,sprint|load.curl=sprint" \
           "--set load.curl=|an empty value" \
           "--set load.curl=1,,2|an empty value" \
           "--set load.curl=1,1|given twice" \
           "--set seed=1,2|the seeds are --seeds" \
           "--set delay.vision=10 ms,500 ms|shorter than the episode" \
           "--seeds 5-1|is empty" \
           "--seeds 1-3,x|not a list" \
           "--seeds 1-10001|more than 10000: add --yes"; do
  spec=${bad%%|*}; msg=${bad#*|}
  args=(sweep pm.mnet --out bad)
  case $spec in
    --seeds*) args+=(--seeds "${spec#--seeds }") ;;
    *) args+=(--seeds 1-2 --set "${spec#--set }") ;;
  esac
  out=$("$mnet" "${args[@]}" 2>&1); rc=$?
  [ $rc -eq 2 ] && echo "$out" | grep -q -- "$msg" && [ ! -e bad ]; rc=$?
  check "'$spec' refused, nothing created ($(echo "$out" | head -1 | head -c 120))" $rc
done
# a grid over 10,000 runs with --yes passes the size check (and stops at
# the next: the unknown setting), still creating nothing
out=$("$mnet" sweep pm.mnet --seeds 1-10001 --yes --set frobnicate=1 --out bad 2>&1); rc=$?
[ $rc -eq 2 ] && echo "$out" | grep -q "unknown setting" && [ ! -e bad ]; rc=$?
check "--yes lets a 10001-run grid through the size check ($(echo "$out" | head -1 | head -c 100))" $rc

# ---- a 2 settings x 3 seeds sweep, 2 at once ------------------------------
out=$("$mnet" sweep pm.mnet --seeds 1-3 --set load.curl=0,15 --jobs 2 --out S 2>&1); rc=$?
check "the sweep succeeds (rc $rc: $(echo "$out" | tail -1 | head -c 200))" $rc
rows=$(tail -n +2 S/summary.csv | grep -c ',done,20,')
[ "$rows" -eq 6 ] && [ "$(wc -l < S/summary.csv)" -eq 7 ]
check "summary.csv: 6 runs done at 20 batches ($rows)" $?
head -1 S/summary.csv | grep -q '^run,load.curl,seed,status,batches,loss_last100,best_loss_last100,val_loss,train_s$'
check "summary.csv's columns ($(head -1 S/summary.csv))" $?
awk -F'"' 'NR > 1 { split($3, f, ","); if (f[7] == "" || f[8] == "" || f[9] == "") bad = 1 } END { exit bad }' S/summary.csv
check "every row has its losses (final, best, validation)" $?
for curl in 0 15; do
  for seed in 1 2 3; do
    d="S/load.curl=$curl,seed=$seed"
    show=$("$mnet" -c "open $d/checkpoint.mnetckpt; show" 2>&1)
    echo "$show" | grep -q "load.curl  *$curl\$" && echo "$show" | grep -q "train.seed  *$seed\$" &&
      echo "$show" | grep -q "trained 20 batches"
    check "$d holds its run (load.curl $curl, seed $seed, 20 batches)" $?
  done
done
grep -q "validation: .*mean loss" "S/load.curl=15,seed=2/train.out"
check "a run's output is in its train.out" $?
# the validation loss is the one the run printed
v=$(grep -o 'mean loss [0-9.e+-]*' "S/load.curl=0,seed=1/train.out" | tail -1 | awk '{print $3}')
grep -q "^\"load.curl=0,seed=1\",0,1,done,20,.*,$(printf '%.6g' "$v")," S/summary.csv
check "summary's val_loss is the run's validation loss ($v)" $?

# ---- rerun: nothing retrained ---------------------------------------------
sums S > before.md5
out=$("$mnet" sweep pm.mnet --seeds 1-3 --set load.curl=0,15 --jobs 2 --out S 2>&1); rc=$?
sums S > after.md5
[ $rc -eq 0 ] && echo "$out" | grep -q "6 finished before, 0 to resume, 0 to start" && cmp -s before.md5 after.md5
check "a rerun skips every run, files unchanged ($(echo "$out" | head -1 | head -c 160))" $?

# ---- a changed grid or an edited file is refused ---------------------------
out=$("$mnet" sweep pm.mnet --seeds 1-4 --set load.curl=0,15 --out S 2>&1); rc=$?
[ $rc -eq 2 ] && echo "$out" | grep -q "seeds: 1-3 -> 1-4"
check "another seed range refused with what differs ($(echo "$out" | sed -n 2p))" $?
out=$("$mnet" sweep pm.mnet --seeds 1-3 --set load.curl=0,20 --out S 2>&1); rc=$?
[ $rc -eq 2 ] && echo "$out" | grep -q -- "--set: load.curl=0,15 -> load.curl=0,20"
check "other values refused with what differs ($(echo "$out" | sed -n 2p))" $?
sed 's/duration 200 ms/duration 210 ms/' pm.mnet > pm2.mnet
out=$("$mnet" sweep pm2.mnet --seeds 1-3 --set load.curl=0,15 --out S 2>&1); rc=$?
[ $rc -eq 2 ] && echo "$out" | grep -q "the file was edited"
check "an edited file refused ($(echo "$out" | sed -n 2p | head -c 120))" $?
sums S > after2.md5
cmp -s before.md5 after2.md5
check "the refusals changed nothing" $?

# ---- kill -9 at a random moment, then rerun ---------------------------------
# long enough runs (3000 batches, a checkpoint every 300) that a kill lands
# in the middle of some; the reference is the same sweep uninterrupted
grid=(--seeds 1-3 --set load.curl=0,15 --jobs 2 --batches 3000)
"$mnet" sweep pm.mnet "${grid[@]}" --out R > R.out 2>&1
check "the uninterrupted reference sweep succeeds" $?
# round 1 is killed at a random moment after the first checkpoint (runs in
# the middle, none finished), round 2 after the first finished run
for round in 1 2; do
  setsid "$mnet" sweep pm.mnet "${grid[@]}" --out K > "K$round.out" 2>&1 &
  pid=$!
  if [ $round -eq 1 ]; then wait_for 'K/*/checkpoint.mnetckpt'; else wait_for 'K/*/weights.safetensors'; fi
  sleep "0.$((RANDOM % 4))$((RANDOM % 10))"
  kill -9 -- "-$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  # finished runs at the kill: their files must not change
  finished_runs fin.md5
  echo "round $round: killed with $(wc -l < finished.txt) runs finished, $(compgen -G 'K/*/checkpoint.mnetckpt' | wc -l) with a checkpoint"
done
out=$("$mnet" sweep pm.mnet "${grid[@]}" --out K 2>&1); rc=$?
check "the rerun after the kills succeeds (rc $rc: $(echo "$out" | head -1 | head -c 150))" $rc
if [ -s finished.txt ]; then
  finished_sums fin2.md5
  cmp -s fin.md5 fin2.md5
  check "the $(wc -l < finished.txt) runs finished before the kill are untouched" $?
fi
[ "$(tail -n +2 K/summary.csv | grep -c ',done,3000,')" -eq 6 ]
check "the summary is complete: 6 runs done ($(tail -n +2 K/summary.csv | cut -d, -f5-6 | tr '\n' ' '))" $?
same_runs "every run of the killed sweep ends as the uninterrupted one's" R K
# the summaries agree on the losses (the time column differs)
cut -d, -f1-9 R/summary.csv > r.csv; cut -d, -f1-9 K/summary.csv > k.csv
cmp -s r.csv k.csv
check "the summaries agree ($(diff r.csv k.csv | head -2 | tr '\n' ' '))" $?
resumed=$(grep -l "resuming run" K/*/train.out | wc -l)
[ "$resumed" -ge 1 ]
check "runs killed in the middle were resumed from their checkpoints ($resumed)" $?

# ---- a failed run does not stop the others ----------------------------------
out=$("$mnet" sweep pm.mnet --seeds 1-2 --set train.clip_norm=0 --set train.lr=0.001,1e38 --jobs 2 --out F 2>&1); rc=$?
[ $rc -eq 1 ]
check "a sweep with failed runs exits 1 (rc $rc)" $?
echo "$out" | grep -q "failed: train.clip_norm=0,train.lr=1e38,seed=1 .*train.clip_norm=0,train.lr=1e38,seed=2"
check "the failed runs are named ($(echo "$out" | tail -1 | head -c 160))" $?
echo "$out" | grep -q "FAILED train.clip_norm=0,train.lr=1e38,seed=1 (exit 1): mnet: stopped: batch"
check "a failure says why ($(echo "$out" | grep FAILED | head -1 | head -c 160))" $?
[ "$(grep -c ',0.001,[12],done,20,' F/summary.csv)" -eq 2 ] && [ "$(grep -c ',1e38,[12],failed,' F/summary.csv)" -eq 2 ]
check "the other runs finished; summary says which failed" $?

# ---- plot and eval of a sweep directory --------------------------------------
out=$("$mnet" plot S 2>&1); rc=$?
[ $rc -eq 0 ] && [ -s S/figures/loss_by_condition.svg ]
check "mnet plot SWEEP_DIR writes figures/loss_by_condition.svg ($out)" $?
if command -v xmllint > /dev/null; then
  xmllint --noout S/figures/loss_by_condition.svg
  check "the figure is well-formed XML" $?
  [ "$(grep -c 'class="mean"' S/figures/loss_by_condition.svg)" -eq 2 ] &&
    [ "$(grep -c 'class="run"' S/figures/loss_by_condition.svg)" -eq 6 ]
  check "one mean per condition, one curve per run" $?
fi
out=$("$mnet" eval S 2>&1); rc=$?
[ $rc -eq 0 ] && [ "$(echo "$out" | grep -c '^eval: load.curl=[0-9]*,seed=[123]: mean loss')" -eq 6 ] &&
  echo "$out" | grep -q '^eval: load.curl=15: mean loss .* (sd over 3 seeds)' && [ "$(wc -l < S/eval.csv)" -eq 7 ]
check "mnet eval SWEEP_DIR evaluates every run and each condition ($(echo "$out" | tail -1))" $?

exit $fail
