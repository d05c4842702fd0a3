#!/usr/bin/env bash
# A run killed with SIGKILL at random moments - mid-batch, mid-checkpoint
# write, while writing the outputs - and resumed each time with
# `mnet train --resume` ends where the same run trained without a break
# ends, bit for bit: the same weights.safetensors, the same checkpoint
# (parameters, Adam's moments, RNG state and batch count; the metadata but
# for its created= time) and the same log (batch and loss columns; ms is a
# measured time).
# usage: kill_resume.sh BUILD_DIR SOURCE_DIR
# MNET_KILL_SEED=S replays the kill moments of a failed run (it prints S).
set -u
build=$(cd "$1" && pwd)
mnet=$build/tools/mnet
tmp=$(mktemp -d)
victim=
cleanup() {
  [ -n "$victim" ] && kill -9 "$victim" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
fail=0
check() { # description, condition result
  if [ "$2" -ne 0 ]; then echo "FAIL: $1"; fail=1; else echo "ok: $1"; fi
}
seed=${MNET_KILL_SEED:-$(od -An -N 4 -t u4 /dev/urandom | tr -d ' ')}
RANDOM=$seed
echo "kill moments from seed $seed (MNET_KILL_SEED=$seed replays them)"

# a small run, long enough for kills to land mid-run: about 0.1 ms a batch,
# a checkpoint every tenth of the batches still to train (at least 50)
N=10000
cat > "$tmp/k.mnet" <<MNET
import "ReluPointMass24.mnet";
task pm {
  effector ReluPointMass24;
  kind random_target_reach;
  duration 200 ms;
  go_cue [50 ms, 150 ms];
  policy gru(hidden = 8);
  train batch = 4, batches = $N, seed = 3;
}
MNET
A=$tmp/A
B=$tmp/B
"$mnet" train "$tmp/k.mnet" --out "$A" > "$tmp/A.out" 2>&1; check "the uninterrupted run" $?

# the batch of the last row in B's log (-1: none yet)
last_batch() {
  local row
  row=$(tail -n 1 "$B/log.csv" 2>/dev/null) || row=
  case $row in [0-9]*,*) echo "${row%%,*}" ;; *) echo -1 ;; esac
}
# the batch B's checkpoint holds (its STAT section ends with the batch count:
# the last 8 bytes of the file); -1: no checkpoint
ckpt_batch() {
  [ -e "$B/checkpoint.mnetckpt" ] || { echo -1; return; }
  od -An -t d8 -j $(($(wc -c < "$B/checkpoint.mnetckpt") - 8)) -N 8 "$B/checkpoint.mnetckpt" | tr -d ' '
}
# starts B: resumes the run in B, or starts it while B holds no checkpoint
# yet (a run killed before its first checkpoint left only a log: --force)
start_b() {
  if [ -e "$B/checkpoint.mnetckpt" ]; then
    "$mnet" train --resume --out "$B" >> "$tmp/B.out" 2>&1 &
  elif [ -e "$B/log.csv" ]; then
    "$mnet" train "$tmp/k.mnet" --out "$B" --force >> "$tmp/B.out" 2>&1 &
  else
    "$mnet" train "$tmp/k.mnet" --out "$B" >> "$tmp/B.out" 2>&1 &
  fi
  victim=$!
}
# the victim still runs (and the test is within its time: a hung run is
# killed and reported by the checks below, not waited for)
deadline=$((SECONDS + 120))
alive() { kill -0 "$victim" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; }
temps() { # B's temporaries of atomic saves (a save in progress, or orphaned)
  compgen -G "$B/*.tmp.??????" > /dev/null
}
temp_of() { # which file's save a temporary is of (its name up to the first dot)
  local t
  t=$(compgen -G "$B/*.tmp.??????" | head -n 1)
  t=${t##*/}
  echo "${t%%.*}"
}

kills=0 mid_save=0 mid_batch=0 at_end=0 landed=
for round in 1 2 3 4 5 6 7 8 9; do
  from=$(ckpt_batch)
  [ "$from" -ge "$N" ] && break        # only the outputs are left to write
  old=$(last_batch)                    # the killed run's log, cut back on resume
  [ "$old" -gt "$from" ] && from=$old
  start_b
  # until it holds the lock, the previous run's temporaries are still there
  for _ in $(seq 4000); do
    grep -q "^pid $victim\$" "$B/.mnet.lock" 2>/dev/null && break
    alive || break
    sleep 0.005
  done
  if [ "$round" -eq 9 ]; then
    # the end: the final checkpoint is written, then weights and validation
    # (the kill aims at their saves)
    while alive && ! compgen -G "$B/weights.safetensors.tmp.??????" > /dev/null &&
          ! compgen -G "$B/validation.csv.tmp.??????" > /dev/null; do :; done
  elif [ $((round % 2)) -eq 0 ]; then
    # the moment a save begins: its temporary appears (polled by the shell's
    # own glob, no process started per look); the kill may still land just
    # after the rename: which it was is told by what is left behind
    while alive && ! temps; do :; done
  else
    # a random batch in the next third of what is left after the checkpoint
    # (or the killed run's last row), so that the run is still going at the
    # ninth kill: the log's last row (written row by row, unbuffered) tells
    # where the run is
    target=$((from + 1 + RANDOM % ((N - from) / 3)))
    while alive && [ "$(last_batch)" -lt "$target" ]; do sleep 0.005; done
  fi
  kill -9 "$victim" 2>/dev/null
  wait "$victim" 2>/dev/null
  st=$?
  victim=
  if [ $st -ne 137 ]; then   # it ended before the kill: it must have finished
    [ $st -eq 0 ]; check "round $round: the run ended by itself before the kill, successfully ($st)" $?
    break
  fi
  kills=$((kills + 1))
  at="log $(last_batch), checkpoint $(ckpt_batch)"
  if temps; then
    mid_save=$((mid_save + 1)); landed="$landed; saving $(temp_of) ($at)"
  elif [ "$(last_batch)" -ge $((N - 1)) ]; then
    at_end=$((at_end + 1)); landed="$landed; after the last batch ($at)"
  else
    mid_batch=$((mid_batch + 1)); landed="$landed; training ($at)"
  fi
done
echo "killed $kills times${landed/;/:}"
[ "$kills" -ge 8 ]; check "the run was killed at least 8 times before it finished ($kills)" $?
resumes=0
until [ "$(ckpt_batch)" -ge "$N" ] && [ -e "$B/validation.csv" ] && ! temps; do
  [ "$resumes" -ge 3 ] && break
  "$mnet" train --resume --out "$B" >> "$tmp/B.out" 2>&1
  st=$?
  check "resume to the end ($(tail -n 1 "$tmp/B.out"))" $st
  resumes=$((resumes + 1))
done
echo "kills mid-batch $mid_batch, mid-save $mid_save, at the end $at_end"
n_removed=$(grep -c "removed [0-9]* orphaned temporary" "$tmp/B.out")
[ "$n_removed" -eq "$mid_save" ]
check "every kill mid-save left a temporary that the next resume removed ($n_removed of $mid_save)" $?

cmp "$A/weights.safetensors" "$B/weights.safetensors"
check "weights.safetensors: byte for byte the uninterrupted run's" $?
cut -d, -f1,2 "$A/log.csv" > "$tmp/A.log"; cut -d, -f1,2 "$B/log.csv" > "$tmp/B.log"
[ "$(wc -l < "$tmp/B.log")" -eq $((N + 1)) ] && cmp "$tmp/A.log" "$tmp/B.log"
st=$?
check "log.csv: one row per batch, batch and loss as the uninterrupted run's ($(wc -l < "$tmp/B.log") lines)" $st
cmp "$A/validation.csv" "$B/validation.csv"; check "validation.csv: the same" $?

# the checkpoint: header and sources, the metadata but for created=, then
# parameters, Adam's moments and the state (sections after META) - byte for
# byte (mnet_checkpoint.h: an 80-byte header, then tag, CRC, u64 length,
# payload per section: SRCS, META, PARM, ADMM, ADMV, STAT)
u64() { od -An -t u8 -j "$2" -N 8 "$1" | tr -d ' '; }
split_ckpt() { # checkpoint, prefix: prefix.head (header, SRCS), .meta, .rest
  local f=$1 meta rest
  meta=$((80 + 16 + $(u64 "$f" 88)))
  rest=$((meta + 16 + $(u64 "$f" $((meta + 8)))))
  head -c "$meta" "$f" > "$2.head"
  tail -c +$((meta + 17)) "$f" | head -c $((rest - meta - 16)) | grep -av '^created=' > "$2.meta"
  tail -c +$((rest + 1)) "$f" > "$2.rest"
}
split_ckpt "$A/checkpoint.mnetckpt" "$tmp/ckA"; split_ckpt "$B/checkpoint.mnetckpt" "$tmp/ckB"
[ -s "$tmp/ckA.rest" ] && cmp "$tmp/ckA.rest" "$tmp/ckB.rest"
st=$?
check "checkpoint: parameters, Adam's moments, RNG and batch count byte for byte ($(wc -c < "$tmp/ckA.rest") bytes)" $st
cmp "$tmp/ckA.head" "$tmp/ckB.head" && cmp "$tmp/ckA.meta" "$tmp/ckB.meta"
check "checkpoint: header, sources and metadata (but created=) the same" $?
exit $fail
