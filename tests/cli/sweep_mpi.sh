#!/usr/bin/env bash
# mpirun -np R mnet sweep (issue 14, items 3 and 4): a 2 x 3 grid on 2 and
# on 3 ranks gives the summary rows and, bit for bit, the runs (weights,
# validation, log losses) of the plain sweep; a rerun (on any R, or without
# mpirun) skips every run; rank 0 holds DIR's lock; a refused grid is said
# once with nothing created; a failed run is named; a sweep whose mpirun is
# killed with SIGKILL at a random moment (twice, on 3 ranks and on 2 ranks
# x 2 jobs) resumes to completion on 2 ranks, finished runs untouched and
# every run bit for bit as the uninterrupted sweep's.
# Without mpirun, or with an mnet built without MPI, the test says so and
# checks the refusal instead.
# usage: sweep_mpi.sh BUILD_DIR SOURCE_DIR
set -u
build=$(cd "$1" && pwd)
mnet=$build/tools/mnet
tmp=$(mktemp -d)
job=
cleanup() {
  [ -n "$job" ] && kill -9 "$job" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
src=$(cd "${2:-.}" && pwd)
cd "$tmp" || exit 1
# check, pm.mnet, sums, same_runs, wait_for, finished_runs, finished_sums
. "$src/tests/support/sweep_fixture.sh"
# CI runs as root; this machine has 2 cores
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1
mpi() { mpirun --oversubscribe -np "$@"; }

if ! ldd "$mnet" | grep -q libmpi; then
  echo "SKIP: $mnet was built without MPI (install libopenmpi-dev openmpi-bin and rebuild: ./build.sh)"
  # what a job of 2 processes gets from such an mnet (the launcher's variables, no launcher)
  OMPI_COMM_WORLD_SIZE=2 OMPI_COMM_WORLD_RANK=0 "$mnet" sweep pm.mnet --seeds 1-2 --out no > no.txt 2>&1
  [ $? -ne 0 ] && grep -q "built without MPI" no.txt && grep -q "libopenmpi-dev" no.txt
  check "without MPI: a 2-process sweep is refused with how to get MPI" $?
  [ ! -e no ]; check "without MPI: nothing written" $?
  exit $fail
fi
if ! command -v mpirun > /dev/null; then
  echo "SKIP: mnet has MPI but mpirun is not on PATH (apt-get install openmpi-bin)"
  exit $fail
fi

rows() { cut -d, -f1-9 "$1/summary.csv"; } # the time column differs

# ---- a 2 settings x 3 seeds grid: plain, on 2 ranks, on 3 ranks ------------
grid=(--seeds 1-3 --set load.curl=0,15)
"$mnet" sweep pm.mnet "${grid[@]}" --jobs 2 --out P > P.out 2>&1
check "the plain sweep succeeds" $?
for R in 2 3; do
  mpi $R "$mnet" sweep pm.mnet "${grid[@]}" --out "S$R" > "S$R.out" 2>&1; rc=$?
  check "$R ranks: the sweep succeeds (rc $rc: $(tail -1 "S$R.out" | head -c 160))" $rc
  [ "$(rows P)" = "$(rows "S$R")" ]
  check "$R ranks: summary.csv's rows are the plain sweep's ($(diff <(rows P) <(rows "S$R") | head -2 | tr '\n' ' '))" $?
  cmp -s P/sweep.txt "S$R/sweep.txt"; check "$R ranks: sweep.txt is the plain sweep's" $?
  same_runs "$R ranks" P "S$R"
  [ "$(grep -c '^mnet: sweep of pm.mnet' "S$R.out")" -eq 1 ] && [ "$(grep -c '^mnet: sweep: 6 of 6 runs done' "S$R.out")" -eq 1 ]
  check "$R ranks: rank 0 alone prints the header and the end" $?
  grep -q "; $R ranks x 1 at once, 1 thread each" "S$R.out"; check "$R ranks: one run per rank at a time" $?
  [ "$(grep -c '^sweep: rank [0-9]*: done ' "S$R.out")" -eq 6 ]; check "$R ranks: one line per finished run" $?
done
# dynamic: on 3 ranks more than one rank trained (each says so)
[ "$(grep -o '^sweep: rank [0-9]*: done' S3.out | sort -u | wc -l)" -ge 2 ]
check "3 ranks: the runs were spread ($(grep -o '^sweep: rank [0-9]*: done' S3.out | sort | uniq -c | tr -s ' \n' ' '))" $?

# ---- reruns skip everything: on another R, without mpirun ------------------
sums S3 > before.md5
out=$(mpi 2 "$mnet" sweep pm.mnet "${grid[@]}" --out S3 2>&1); rc=$?
sums S3 > after.md5
[ $rc -eq 0 ] && echo "$out" | grep -q "6 finished before, 0 to resume, 0 to start" && cmp -s before.md5 after.md5 &&
  ! echo "$out" | grep -q "starting\|resuming"
check "a rerun on 2 ranks of the 3-rank sweep skips every run, files unchanged ($(echo "$out" | head -1 | head -c 120))" $?
out=$("$mnet" sweep pm.mnet "${grid[@]}" --out S3 2>&1); rc=$?
sums S3 > after2.md5
[ $rc -eq 0 ] && echo "$out" | grep -q "6 finished before, 0 to resume, 0 to start" && cmp -s before.md5 after2.md5
check "a rerun without mpirun skips every run too" $?

# ---- refused grids: said once, nothing created -----------------------------
out=$(mpi 3 "$mnet" sweep pm.mnet --seeds 1-2 --set frobnicate=1,2 --out bad 2>&1); rc=$?
[ $rc -ne 0 ] && [ "$(echo "$out" | grep -c "unknown setting 'frobnicate'")" -eq 1 ] && [ ! -e bad ]
check "3 ranks: an unknown setting refused once, nothing created ($(echo "$out" | head -1 | head -c 100))" $?
out=$(mpi 2 "$mnet" sweep pm.mnet --seeds 1-4 --set load.curl=0,15 --out S2 2>&1); rc=$?
[ $rc -ne 0 ] && [ "$(echo "$out" | grep -c "seeds: 1-3 -> 1-4")" -eq 1 ]
check "2 ranks: a changed grid refused once with what differs" $?

# ---- a failed run is named, the others finish ------------------------------
out=$(mpi 2 "$mnet" sweep pm.mnet --seeds 1-2 --set train.clip_norm=0 --set train.lr=0.001,1e38 --out F 2>&1); rc=$?
[ $rc -ne 0 ] && echo "$out" | grep -q "^mnet: sweep: 2 of 4 runs done (0 finished before), 2 failed" &&
  echo "$out" | grep -q "failed: train.clip_norm=0,train.lr=1e38,seed=1 .*train.clip_norm=0,train.lr=1e38,seed=2"
check "2 ranks: failed runs counted and named ($(echo "$out" | grep '^mnet: sweep: 2 of' | head -c 100))" $?
[ "$(grep -c ',0.001,[12],done,20,' F/summary.csv)" -eq 2 ] && [ "$(grep -c ',1e38,[12],failed,' F/summary.csv)" -eq 2 ]
check "2 ranks: the summary says which failed" $?

# ---- kill -9 of mpirun at a random moment, then rerun ----------------------
# runs long enough (GRU 32, batch 32, 3000 batches, a checkpoint every 300:
# 1.7 s each on this machine) that a kill lands in the middle of some; the
# reference is the plain sweep uninterrupted
sed -e 's/batch = 4/batch = 32/' -e 's/hidden = 4/hidden = 32/' pm.mnet > pml.mnet
long=("${grid[@]}" --batches 3000)
"$mnet" sweep pml.mnet "${long[@]}" --jobs 2 --out R > R.out 2>&1
check "the uninterrupted plain reference sweep succeeds" $?
descendants() { # pid: its descendants' pids
  local c
  for c in $(ps -o pid= --ppid "$1"); do echo "$c"; descendants "$c"; done
}
kill_job() { # SIGKILL to mpirun alone; waits until its ranks and their runs end
  # (a run's trainer gets SIGINT when its rank dies, checkpoints and stops)
  local procs p
  procs=$(descendants "$job")
  kill -9 "$job" 2>/dev/null
  wait "$job" 2>/dev/null; job=
  for _ in $(seq 300); do
    alive=0
    for p in $procs; do kill -0 "$p" 2>/dev/null && ps -o stat= -p "$p" | grep -qv Z && alive=1; done
    [ $alive -eq 0 ] && return 0
    sleep 0.1
  done
  return 1
}
# rank 0 holds the sweep's lock, for the whole sweep
mpirun --oversubscribe -np 2 "$mnet" sweep pml.mnet "${long[@]}" --out L > L.out 2>&1 &
job=$!
wait_for 'L/*/checkpoint.mnetckpt'
lockpid=$(awk '/^pid/ {print $2}' L/.mnet.lock)
[ "$(ps -o ppid= -p "$lockpid" | tr -d ' ')" = "$job" ] && ps -o args= -p "$lockpid" | grep -q "mnet sweep"
check "the lock on the sweep directory is a rank's (pid $lockpid)" $?
out=$("$mnet" sweep pml.mnet "${long[@]}" --out L 2>&1); rc=$?
[ $rc -eq 2 ] && echo "$out" | grep -q "in use by pid $lockpid"
check "a second sweep on the directory is refused, naming rank 0" $?
# Ctrl-C: mpirun sends SIGTERM to the ranks and their runs; the runs
# training are interrupted (not failed), the sweep says how to continue
kill -INT "$job"; wait "$job"; job=
grep -q "^mnet: sweep: interrupted; the same command continues it" L.out && grep -q "^sweep: rank [0-9]*: interrupted" L.out &&
  ! grep -q "FAILED" L.out
check "Ctrl-C of mpirun: the runs interrupted, none failed ($(grep -c 'interrupted' L.out) lines)" $?
# round 1: 3 ranks, killed after the first checkpoint (runs in the middle);
# round 2: 2 ranks x 2 jobs, killed after the first finished run
for round in 1 2; do
  if [ $round -eq 1 ]; then how=(3); else how=(2 --jobs 2); fi
  mpirun --oversubscribe -np "${how[0]}" "$mnet" sweep pml.mnet "${long[@]}" "${how[@]:1}" --out K > "K$round.out" 2>&1 &
  job=$!
  if [ $round -eq 1 ]; then wait_for 'K/*/checkpoint.mnetckpt'; else wait_for 'K/*/weights.safetensors'; fi
  sleep "0.$((RANDOM % 4))$((RANDOM % 10))"
  kill_job; check "round $round: the ranks and their runs ended after mpirun's SIGKILL" $?
  finished_runs fin.md5
  echo "round $round: killed with $(wc -l < finished.txt) runs finished, $(compgen -G 'K/*/checkpoint.mnetckpt' | wc -l) with a checkpoint"
done
out=$(mpi 2 "$mnet" sweep pml.mnet "${long[@]}" --out K 2>&1); rc=$?
check "the rerun on 2 ranks after the kills succeeds (rc $rc: $(echo "$out" | head -1 | head -c 150))" $rc
if [ -s finished.txt ]; then
  finished_sums fin2.md5
  cmp -s fin.md5 fin2.md5
  check "the $(wc -l < finished.txt) runs finished before the last kill are untouched" $?
fi
[ "$(tail -n +2 K/summary.csv | grep -c ',done,3000,')" -eq 6 ]
check "the summary is complete: 6 runs done" $?
same_runs "killed twice, resumed" R K
[ "$(rows R)" = "$(rows K)" ]; check "the summaries agree ($(diff <(rows R) <(rows K) | head -2 | tr '\n' ' '))" $?
resumed=$(grep -l "resuming run" K/*/train.out | wc -l)
[ "$resumed" -ge 1 ]; check "runs killed in the middle were resumed from their checkpoints ($resumed)" $?

exit $fail
