# sweep_fixture.sh - what tests/cli/sweep.sh and sweep_mpi.sh share (sourced
# in the test's empty working directory): the check helper, the small
# point-mass task both sweep (so that the MPI sweep's runs can be compared
# bit for bit with the plain one's), and the helpers that compare sweeps.

fail=0
check() { # description, status
  if [ "$2" -ne 0 ]; then echo "FAIL: $1"; fail=1; else echo "ok: $1"; fi
}

cat > pm.mnet <<'MNET'
import "ReluPointMass24.mnet";
task pm {
  effector ReluPointMass24;
  kind random_target_reach;
  duration 200 ms;
  go_cue [50 ms, 100 ms];
  policy gru(hidden = 4);
  train batch = 4, batches = 20, seed = 3;
}
MNET

sums() { # DIR: checksums of every run's files but train.out
  (cd "$1" && find . -mindepth 2 -type f ! -name train.out ! -name .mnet.lock ! -name 'episodes.*' -print0 |
     sort -z | xargs -0 md5sum)
}

same_runs() { # description, reference sweep, sweep: every run's outputs bit for bit
  local same=0 n=0
  for d in "$2"/*/; do
    local r; r=$(basename "$d")
    [ -f "$2/$r/weights.safetensors" ] || continue
    n=$((n + 1))
    cmp -s "$2/$r/weights.safetensors" "$3/$r/weights.safetensors" &&
      cmp -s "$2/$r/validation.csv" "$3/$r/validation.csv" &&
      cmp -s <(cut -d, -f1-4 "$2/$r/log.csv") <(cut -d, -f1-4 "$3/$r/log.csv") || { echo "  differs: $r"; same=1; }
  done
  [ $n -eq 6 ] || same=1
  check "$1: the $n runs bit for bit as the reference sweep's (weights, validation, log losses)" $same
}

wait_for() { # glob: waits (up to 60 s) until a file matches
  for _ in $(seq 600); do
    compgen -G "$1" > /dev/null && return 0
    sleep 0.1
  done
  return 1
}

finished_runs() { # the runs of K finished now, into finished.txt; their checksums into FILE
  : > finished.txt
  for d in K/*/; do
    d=${d%/}
    [ -f "$d/weights.safetensors" ] && [ -f "$d/validation.csv" ] && echo "$d" >> finished.txt
  done
  finished_sums "$1"
}

finished_sums() { # FILE: the checksums of the runs in finished.txt (none: nothing written)
  if [ -s finished.txt ]; then
    while read -r d; do (cd "$d" && md5sum checkpoint.mnetckpt log.csv weights.safetensors validation.csv); done \
      < finished.txt > "$1"
  fi
}
