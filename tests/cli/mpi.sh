#!/usr/bin/env bash
# mpirun -np R mnet train: the run of one process, bit for bit (weights and
# log losses), on 1, 2 and 3 ranks (3 ranks over 4 slices: an uneven split)
# and on 5 (one rank without a slice); a gradient of more than one chunk
# of the chain (GRU 64, noise on); resumed across rank counts; rank 0 alone
# holds the lock; a rank killed with SIGKILL ends the job with its rank
# named, and the last checkpoint resumes on 1 and on 3 ranks to the
# uninterrupted run's weights; other commands refused under mpirun.
# Without mpirun, or with an mnet built without MPI, the test says so and
# checks the refusal instead.
# usage: mpi.sh BUILD_DIR SOURCE_DIR
set -u
build=$(cd "$1" && pwd)
src=$(cd "$2" && pwd)
mnet=$build/tools/mnet
tmp=$(mktemp -d)
job=
cleanup() {
  [ -n "$job" ] && kill -9 "$job" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
fail=0
check() { # description, condition result
  if [ "$2" -ne 0 ]; then echo "FAIL: $1"; fail=1; else echo "ok: $1"; fi
}
# CI runs as root; this machine has 2 cores
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1
mpi() { mpirun --oversubscribe -np "$@"; }

file=$tmp/pm.mnet
# the bench's point mass, small: batch 10 in slices of 3 (4 slices, the last of 1)
sed -e 's/batch *= *[0-9]*/batch = 10/' "$src/bench/pm.mnet" > "$file"

if ! ldd "$mnet" | grep -q libmpi; then
  echo "SKIP: $mnet was built without MPI (install libopenmpi-dev openmpi-bin and rebuild: ./build.sh)"
  # what a job of 2 processes gets from such an mnet (the launcher's variables, no launcher)
  OMPI_COMM_WORLD_SIZE=2 OMPI_COMM_WORLD_RANK=0 "$mnet" train "$file" --out "$tmp/no" --batches 1 > "$tmp/no.txt" 2>&1
  [ $? -ne 0 ] && grep -q "built without MPI" "$tmp/no.txt" && grep -q "libopenmpi-dev" "$tmp/no.txt"
  check "without MPI: a 2-process job is refused with how to get MPI" $?
  [ ! -e "$tmp/no" ]; check "without MPI: nothing written" $?
  exit $fail
fi
if ! command -v mpirun > /dev/null; then
  echo "SKIP: mnet has MPI but mpirun is not on PATH (apt-get install openmpi-bin)"
  exit $fail
fi

losses() { cut -d, -f1,2 "$1/log.csv"; }
same_run() { # description, reference dir, dir
  cmp -s "$2/weights.safetensors" "$3/weights.safetensors"; check "$1: the weights of one process, bit for bit" $?
  [ "$(losses "$2")" = "$(losses "$3")" ]; check "$1: the losses of one process" $?
}

"$mnet" train "$file" --out "$tmp/p" --set train.slice=3 --batches 8 > "$tmp/p.txt" 2>&1; check "one process trains" $?
for R in 1 2 3 5; do
  mpi $R "$mnet" train "$file" --out "$tmp/r$R" --set train.slice=3 --batches 8 > "$tmp/r$R.txt" 2>&1
  check "$R rank(s) train" $?
  same_run "$R rank(s)" "$tmp/p" "$tmp/r$R"
done
grep -q "rank 2: pid [0-9]* on .*slices 2..3 of 4" "$tmp/r3.txt"; check "3 ranks over 4 slices: rank 2 takes two (uneven)" $?
grep -q "rank 0: pid [0-9]* on .*slices 0..0 of 4" "$tmp/r3.txt"; check "3 ranks over 4 slices: rank 0 takes one" $?
grep -q "warning: 5 ranks but 4 slices" "$tmp/r5.txt"; check "5 ranks over 4 slices: warned" $?
[ "$(grep -c "^done batches=8" "$tmp/r3.txt")" = 1 ]; check "3 ranks: one 'done' line (rank 0 speaks)" $?
[ "$(grep -c "^validation:" "$tmp/r3.txt")" = 1 ]; check "3 ranks: the outputs written once" $?

# a gradient of more than one chunk (MNET_MPI_CHUNK reals), with noise
big=$tmp/big.mnet
sed -e 's/batch *= *[0-9]*/batch = 12/' -e 's/hidden = 32/hidden = 64/' \
    -e 's/noise action = 0, proprioception = 0, vision = 0, observation = 0, hidden = 0/noise action = 0.02, proprioception = 0.01, vision = 0.01, observation = 0.01, hidden = 0.01/' \
    "$src/bench/pm.mnet" > "$big"
"$mnet" train "$big" --out "$tmp/bp" --set train.slice=2 --batches 4 > "$tmp/bp.txt" 2>&1; check "GRU 64 with noise: one process" $?
mpi 3 "$mnet" train "$big" --out "$tmp/b3" --set train.slice=2 --batches 4 --threads 2 > "$tmp/b3.txt" 2>&1
check "GRU 64 with noise: 3 ranks x 2 threads" $?
grep -q "moves 1[0-9][0-9][0-9][0-9] parameters" "$tmp/b3.txt"; check "GRU 64: more than 8192 parameters (two chunks)" $?
same_run "GRU 64 with noise, 3 ranks x 2 threads" "$tmp/bp" "$tmp/b3"

# resumed across rank counts: 2 ranks, then 3; 1 process, then 2
mpi 2 "$mnet" train "$file" --out "$tmp/x" --set train.slice=3 --batches 4 > "$tmp/x1.txt" 2>&1; check "4 batches on 2 ranks" $?
mpi 3 "$mnet" train --resume --out "$tmp/x" --batches 8 > "$tmp/x2.txt" 2>&1; check "resumed on 3 ranks" $?
same_run "2 ranks then 3" "$tmp/p" "$tmp/x"
"$mnet" train "$file" --out "$tmp/y" --set train.slice=3 --batches 4 > "$tmp/y1.txt" 2>&1; check "4 batches in one process" $?
mpi 2 "$mnet" train "$file" --resume --out "$tmp/y" --set train.slice=3 --batches 8 > "$tmp/y2.txt" 2>&1; check "resumed on 2 ranks (with FILE)" $?
same_run "1 process then 2 ranks" "$tmp/p" "$tmp/y"

# rank 0 alone locks DIR: a second job on it is refused, naming the holder
mpi 2 "$mnet" train "$file" --out "$tmp/l" --set train.slice=3 --batches 400 > "$tmp/l.txt" 2>&1 &
job=$!
for _ in $(seq 100); do grep -q "rank 1: pid" "$tmp/l.txt" 2>/dev/null && break; sleep 0.1; done
pid0=$(grep -o "rank 0: pid [0-9]*" "$tmp/l.txt" | awk '{print $4}')
grep -q "^pid $pid0\$" "$tmp/l/.mnet.lock"; check "the lock is rank 0's (pid $pid0)" $?
"$mnet" train --resume --out "$tmp/l" > "$tmp/l2.txt" 2>&1
[ $? -ne 0 ] && grep -q "in use by pid $pid0" "$tmp/l2.txt"; check "a second run on DIR is refused, naming rank 0" $?
kill -9 "$job" 2>/dev/null; wait "$job" 2>/dev/null; job=

# a rank killed with SIGKILL: the job ends naming it, the checkpoint resumes
N=300
"$mnet" train "$file" --out "$tmp/ref" --set train.slice=3 --batches $N > "$tmp/ref.txt" 2>&1; check "the uninterrupted run ($N batches)" $?
for victim in 1 0; do
  k=$tmp/k$victim
  mpi 2 "$mnet" train "$file" --out "$k" --set train.slice=3 --batches $N > "$k.txt" 2>&1 &
  job=$!
  for _ in $(seq 300); do [ -e "$k/checkpoint.mnetckpt" ] && break; sleep 0.1; done
  pid=$(grep -o "rank $victim: pid [0-9]*" "$k.txt" | awk '{print $4}')
  kill -9 "$pid"
  wait "$job"; rc=$?; job=
  [ $rc -ne 0 ]; check "rank $victim killed: the job fails (status $rc)" $?
  grep -q "rank $victim .*exited on signal 9" "$k.txt"; check "rank $victim killed: the job's message names it" $?
  grep -q "^done batches=$N" "$k.txt"; [ $? -ne 0 ]; check "rank $victim killed: the run did not finish" $?
  grep -q "resume --out" "$k.txt"; check "rank $victim killed: says how to continue" $?
  cp -r "$k" "$k.three"
  "$mnet" train --resume --out "$k" > "$k.r1.txt" 2>&1; check "rank $victim killed: resumed in one process" $?
  cmp -s "$tmp/ref/weights.safetensors" "$k/weights.safetensors"; check "rank $victim killed, resumed in one process: the uninterrupted weights" $?
  mpi 3 "$mnet" train --resume --out "$k.three" > "$k.r3.txt" 2>&1; check "rank $victim killed: resumed on 3 ranks" $?
  cmp -s "$tmp/ref/weights.safetensors" "$k.three/weights.safetensors"; check "rank $victim killed, resumed on 3 ranks: the uninterrupted weights" $?
  [ "$(losses "$tmp/ref")" = "$(losses "$k.three")" ]; check "rank $victim killed, resumed on 3 ranks: the uninterrupted losses" $?
done

# only train runs as ranks
mpi 2 "$mnet" eval "$tmp/p" > "$tmp/e.txt" 2>&1
[ $? -ne 0 ] && grep -q "eval runs in one process" "$tmp/e.txt"; check "mpirun -np 2 mnet eval is refused" $?
[ "$(grep -c "runs in one process" "$tmp/e.txt")" = 1 ]; check "... said once (rank 0)" $?
exit $fail
