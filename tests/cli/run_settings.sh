#!/usr/bin/env bash
# One owner for a run (issue 10): a setting written in the .mnet file and the
# same setting given to the REPL's `set` make the same run - the same run
# text after save and open, and the same network after the first batch, bit
# for bit - and the reproduced defects stay fixed.
# usage: run_settings.sh BUILD_DIR SOURCE_DIR
set -u
build=$(cd "$1" && pwd)
mnet=$build/tools/mnet
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
check() { # description, condition result
  if [ "$2" -ne 0 ]; then echo "FAIL: $1"; fail=1; else echo "ok: $1"; fi
}

base() { # the template; kind as $1, further statements as $2
  cat <<MNET
import "ReluPointMass24.mnet";
task pm {
  effector ReluPointMass24;
  kind $1;
  duration 500 ms;
  go_cue [50 ms, 150 ms];
  policy gru(hidden = 8);
  train batch = 4, batches = 10, seed = 3;${2:-}
}
MNET
}

# The run of a session: its run text (from show after save and open) and its
# network after one batch (weights.safetensors written by eval).
run_of() { # name, mnet -c script that ends with a session holding the run
  local d=$tmp/$1
  mkdir -p "$d"
  "$mnet" -c "$2; emit $d/emit.c; train 1; save $d/checkpoint.mnetckpt" > "$d/train.out" 2>&1 || return 1
  grep '^        "' "$d/emit.c" | grep '\\012"$' > "$d/emit.txt"
  "$mnet" -c "open $d/checkpoint.mnetckpt; show" 2>&1 | sed -n '/^the run/,$p' > "$d/run.txt"
  "$mnet" eval "$d" > "$d/eval.out" 2>&1 || return 1
}

same_run() { # description, file patch (sed), set command, kind
  local desc=$1 patch=$2 set=$3 kind=${4:-random_target_reach} extra=${5:-}
  base "$kind" "$extra" > "$tmp/base.mnet"
  base "$kind" "$extra" | sed -e "$patch" > "$tmp/file.mnet"
  cmp -s "$tmp/base.mnet" "$tmp/file.mnet" && { check "$desc: the patch changes the file" 1; return; }
  run_of file "load $tmp/file.mnet" || { check "$desc: the file trains ($(head -c 600 "$tmp/file/train.out"))" 1; return; }
  run_of repl "load $tmp/base.mnet; $set" || { check "$desc: the REPL trains ($(head -c 600 "$tmp/repl/train.out"))" 1; return; }
  [ -s "$tmp/file/run.txt" ] && cmp -s "$tmp/file/run.txt" "$tmp/repl/run.txt"
  local rc=$?
  check "$desc: the same run text ($(diff "$tmp/file/run.txt" "$tmp/repl/run.txt" | grep '^[<>]' | head -2 | tr '\n' ' '))" $rc
  cmp -s "$tmp/file/weights.safetensors" "$tmp/repl/weights.safetensors"
  check "$desc: the same network after the first batch, bit for bit" $?
  # what mnetc embeds for the file is what emit embeds for the REPL's run
  # (emitted before the batch: the run, not the training, is compared)
  "$build/tools/mnetc" "$tmp/file.mnet" -o "$tmp/mnetc.c" && grep '^        "' "$tmp/mnetc.c" | grep '\\012"$' > "$tmp/mnetc.txt"
  [ -s "$tmp/mnetc.txt" ] && cmp -s "$tmp/mnetc.txt" "$tmp/repl/emit.txt" && cmp -s "$tmp/mnetc.txt" "$tmp/file/emit.txt"
  check "$desc: mnetc (file) and emit (file, REPL) embed the same run text" $?
  rm -rf "$tmp/file" "$tmp/repl"
}

same_run "duration" 's/duration 500 ms;/duration 300 ms;/' "set duration 300 ms"
same_run "delay.vision" 's/^}/  delay vision = 30 ms;\n}/' "set delay.vision 30 ms"
same_run "delay.proprioception" 's/^}/  delay proprioception = 20 ms;\n}/' "set delay.proprioception 0.02"
same_run "exact_delays" 's/^}/  exact_delays 1; delay vision = 30 ms;\n}/' "set delay.vision 30 ms; set exact_delays 1"
same_run "action_frames" 's/^}/  action_frames 2;\n}/' "set action_frames 2"
same_run "noise.action" 's/^}/  noise action = 0.01;\n}/' "set noise.action 0.01"
same_run "noise.proprioception, vision, observation, hidden" \
  's/^}/  noise proprioception = 0.01, vision = 0.02, observation = 0.03, hidden = 0.04;\n}/' \
  "set noise.proprioception 0.01; set noise.vision 0.02; set noise.observation 0.03; set noise.hidden 0.04"
same_run "kind" 's/kind random_target_reach;/kind centre_out_reach;/' "set kind centre_out_reach"
same_run "catch_fraction (delayed reach)" 's/^}/  catch_fraction 0.3;\n}/' "set catch_fraction 0.3" delayed_reach
same_run "go_cue (delayed reach)" 's/go_cue \[50 ms, 150 ms\]/go_cue [100 ms, 200 ms]/' "set go_cue [100 ms, 200 ms]" delayed_reach
same_run "validation" 's/^}/  validation distance = 5 cm, every = 45 deg;\n}/' \
  "set validation.distance 5 cm; set validation.every 45 deg" centre_out_reach
same_run "load.endpoint" 's/^}/  load endpoint = [0.5, -0.25];\n}/' "set load.endpoint [0.5, -0.25]"
same_run "load.curl" 's/^}/  load curl = 5;\n}/' "set load.curl 5"
same_run "force_channel" 's/^}/  force_channel stiffness = 100, damping = 2;\n}/' \
  "set force_channel.stiffness 100; set force_channel.damping 2" centre_out_reach
same_run "policy.hidden" 's/hidden = 8/hidden = 5/' "set policy.hidden 5"
same_run "policy (cell)" 's/gru(hidden = 8)/rnn(hidden = 8)/' "set policy rnn"
same_run "policy.layers" 's/hidden = 8)/hidden = 8, layers = 2)/' "set policy.layers 2"
same_run "train.batch" 's/batch = 4/batch = 3/' "set batch 3"
same_run "train.lr" 's/seed = 3;/seed = 3, lr = 0.01;/' "set lr 0.01"
same_run "train.clip_norm" 's/seed = 3;/seed = 3, clip_norm = 0.5;/' "set train.clip_norm 0.5"
same_run "train.weight_decay" 's/seed = 3;/seed = 3, weight_decay = 0.001;/' "set train.weight_decay 0.001"
same_run "train.seed" 's/seed = 3;/seed = 5;/' "set train.seed 5"
same_run "train.schedule" 's/seed = 3;/seed = 3, schedule = cosine;/' "set train.schedule cosine"
same_run "loss weight" 's/^}/  loss position_l1(weight = 2);\n}/' "set loss.position_l1.weight 2"
same_run "loss derivative (library term)" 's/^}/  loss position_l1(weight = 1, derivative = 0.01);\n}/' \
  "set loss.position_l1.derivative 0.01"
same_run "a new compiled term (speed: the REPL recompiles)" \
  's/^}/  loss position_l1(weight = 1);\n  loss speed(weight = 0.1);\n}/' "set loss.speed.weight 0.1"
same_run "a term of your own's weight" 's/weight = 1, value/weight = 0.5, value/' "set loss.reach.weight 0.5" \
  random_target_reach " loss reach(weight = 1, value = norm(position - target));"
same_run "a second loss term (activation_l2 with a derivative)" \
  's/^}/  loss position_l1(weight = 1);\n  loss activation_l2(weight = 0.5, derivative = 0.001);\n}/' \
  "set loss.activation_l2.weight 0.5; set loss.activation_l2.derivative 0.001"

# ---- the reproduced defects -------------------------------------------------
base random_target_reach > "$tmp/pm.mnet"
# 1: delayed reach's catch fraction reaches the run (was: embedded as 0)
base delayed_reach | sed 's/^}/  catch_fraction 0.3;\n}/' > "$tmp/d.mnet"
"$build/tools/mnetc" "$tmp/d.mnet" -o "$tmp/d.c"; grep -q 'catch_fraction=0.29999999999999999' "$tmp/d.c"
check "defect 1: delayed reach embeds catch_fraction 0.3" $?
# 2: save/open keep every setting and the parameter values
out=$("$mnet" -c "load $tmp/pm.mnet; set batch 4; set lr 0.01; set UpperLeft.max_force 999; set delay.vision 50 ms; set noise.action 0.01; train 1; save $tmp/f; open $tmp/f; show" 2>&1)
for want in "train.batch  *4$" "train.lr  *0.01$" "UpperLeft.max_force  *999$" "delay.vision  *0.05.* s$" "noise.action  *0.01$"; do
  echo "$out" | grep -q "$want"; check "defect 2: save/open keeps $want" $?
done
# 8: set goes through the language's checks
for bad in "set UpperLeft.max_force 5 m|is a force, but the value given is a length" \
           "set delay.vision 50 kg|is a time, but the value given is a mass" \
           "set delay.vision 50|must be shorter than the episode" \
           "set lr -1|train.lr must be > 0" \
           "set lr 5 ms|takes no unit" \
           "set policy.hidden 0|policy.hidden must be a whole number >= 1" \
           "set train.seed 1.5|must be a whole number" \
           "set train.clip_norm nan|" \
           "set kind sprint|kind must be one of" \
           "set hidden 8|ambiguous: noise.hidden or policy.hidden" \
           "set loss.position_l1.weight -1|must be a finite number >= 0" \
           "set frobnicate 1|unknown setting"; do
  cmd=${bad%%|*}; msg=${bad#*|}
  out=$("$mnet" -c "load $tmp/pm.mnet; $cmd" 2>&1); rc=$?
  [ $rc -ne 0 ] && echo "$out" | grep -q -- "$msg"; rc=$?
  check "defect 8: '$cmd' is refused ($(echo "$out" | tail -1 | head -c 100))" $rc
done
# 6: unknown names are errors, never a default
printf 'import "ReluPointMass24.mnet";\ntask t { effector ReluPointMass24; kind sprint; policy transformer(hidden = 4); }\n' > "$tmp/bad.mnet"
out=$("$build/tools/mnetc" --check "$tmp/bad.mnet" 2>&1)
echo "$out" | grep -q "kind must be one of" && echo "$out" | grep -q "policy must be one of"
check "defect 6: an unknown kind and cell are errors" $?
# 9: --batches sets the run's length and the cosine schedule follows it
sed 's/seed = 3;/seed = 3, schedule = cosine, batches = 5000;/' "$tmp/pm.mnet" > "$tmp/cos.mnet"
"$mnet" train "$tmp/cos.mnet" --batches 20 --out "$tmp/cos" > /dev/null 2>&1
lr_last=$(tail -n 1 "$tmp/cos/log.csv" | awk -F, '{print $(NF-1)}')
awk -v l="$lr_last" 'BEGIN { want = 0.001 * (1 + cos(3.141592653589793 * 19 / 20)) / 2; exit !(l > 0 && (l - want) / want < 1e-6 && (want - l) / want < 1e-6) }'
check "defect 9: --batches 20 ends the cosine schedule at batch 20 (last lr $lr_last)" $?
# 10: one progress display over the whole run
out=$("$mnet" train "$tmp/pm.mnet" --batches 300 --out "$tmp/prog" 2>&1)
[ "$(echo "$out" | grep -c 'batch [0-9]*/300 ')" -ge 3 ] && ! echo "$out" | grep -q 'batch [0-9]*/50 '
check "defect 10: progress counts over the run (batch N/300)" $?
# 4: emit embeds the session's run, in the precision asked for
"$mnet" -c "load $tmp/pm.mnet; set UpperLeft.max_force 999; set delay.vision 30 ms; emit $tmp/e.c --precision float" > /dev/null 2>&1
grep -q 'param.UpperLeft.max_force=999' "$tmp/e.c" && grep -q 'delay.vision=0.029999999999999999' "$tmp/e.c" && grep -q 'float' "$tmp/e.c"
check "defect 4: emit embeds the session's settings and parameter values (float)" $?
# 3: a parameter set in the REPL is the parameter the loss uses
sed 's/^}/  loss activation_l2(weight = 1, derivative = 0.01);\n}/' "$tmp/pm.mnet" > "$tmp/act.mnet"
a=$("$mnet" -c "load $tmp/act.mnet; set UpperLeft.max_force 4140; eval" 2>&1 | grep "^eval")
b=$("$mnet" -c "load $tmp/act.mnet; eval" 2>&1 | grep "^eval")
[ -n "$a" ] && [ "$a" != "$b" ]; rc=$?
check "defect 3: set UpperLeft.max_force changes the activation term ($a vs $b)" $rc

# parameters set at run time keep the compiler's ranges (issue 11, item 11)
out=$("$mnet" -c "load $tmp/pm.mnet; set UpperLeft.max_force -3" 2>&1); rc=$?
[ $rc -ne 0 ] && echo "$out" | grep -q "must be > 0 (got -3)"; rc=$?
check "set of a negative max_force is refused with the compiler's words" $rc
out=$("$mnet" train "$tmp/pm.mnet" --set skeleton.mass=0 --out "$tmp/m0" 2>&1); rc=$?
[ $rc -ne 0 ] && echo "$out" | grep -q "skeleton.mass' must be > 0"; rc=$?
check "train --set skeleton.mass=0 is refused" $rc
# --set on the command line is part of the run: resume keeps it, refuses a change
"$mnet" train "$tmp/pm.mnet" --set load.curl=5 --batches 3 --out "$tmp/cs" > /dev/null 2>&1
out=$("$mnet" train --resume --out "$tmp/cs" --set load.curl=6 2>&1); rc=$?
[ $rc -ne 0 ] && echo "$out" | grep -q "load.curl: 5 -> 6"; rc=$?
check "resume refuses a --set that changes the run, naming it" $rc
"$mnet" -c "open $tmp/cs/checkpoint.mnetckpt; show" 2>&1 | grep -q "load.curl  *5$"
check "train --set load.curl=5 is in the stored run" $?

# a model parameter written in the file (a local copy of the library's model
# shadows it) and set in the REPL: the same run
mkdir -p "$tmp/pa" "$tmp/pb"
base random_target_reach > "$tmp/pa/pm.mnet"
cp "$tmp/pa/pm.mnet" "$tmp/pb/pm.mnet"
lib=$(dirname "$build")/models/ReluPointMass24.mnet
[ -f "$lib" ] || lib=$(cd "$(dirname "$0")/../.." && pwd)/models/ReluPointMass24.mnet
sed 's/muscle UpperLeft  { path/muscle UpperLeft(max_force = 777 N) { path/' "$lib" > "$tmp/pa/ReluPointMass24.mnet"
grep -q "UpperLeft(max_force = 777 N)" "$tmp/pa/ReluPointMass24.mnet"; check "the local model copy gives UpperLeft 777 N" $?
run_of pa "load $tmp/pa/pm.mnet" && run_of pb "load $tmp/pb/pm.mnet; set UpperLeft.max_force 777 N"
rc=$?
[ $rc -eq 0 ] && cmp -s "$tmp/pa/run.txt" "$tmp/pb/run.txt" && cmp -s "$tmp/pa/weights.safetensors" "$tmp/pb/weights.safetensors"
check "a parameter in the file and set in the REPL: the same run text and network" $?

# the trainer warns when nothing learns (a gradient of exactly zero)
out=$("$mnet" -c "load $tmp/pm.mnet; set loss.position_l1.weight 0; train 12" 2>&1)
echo "$out" | grep -q "warning: the gradient has been exactly zero for 10 batches"
check "a zero gradient for 10 batches is a warning naming likely causes" $?

# a checkpoint saved after a change of the network's shape opens (issue 11.4)
out=$("$mnet" -c "load $tmp/pm.mnet; train 1; set policy.hidden 6; train 1; save $tmp/h6; open $tmp/h6; eval" 2>&1); rc=$?
[ $rc -eq 0 ] && echo "$out" | grep -q "^eval:"; rc=$?
check "a checkpoint saved after set policy.hidden 6 opens and evaluates" $rc

# the last good state after a run that blows up is finite (issue 11.5)
out=$("$mnet" train "$tmp/pm.mnet" --set train.lr=1e38 --set train.clip_norm=0 --batches 50 --out "$tmp/boom" 2>&1); rc=$?
[ $rc -ne 0 ] && echo "$out" | grep -q "non-finite"; rc=$?
check "an absurd learning rate stops the run, saying so" $rc
# every parameter, moment and the batch count in the checkpoint (format in
# runtime/include/mnet_checkpoint.h) read independently of mnet
py=/usr/bin/python3
if "$py" -c "import numpy" 2>/dev/null; then
  out=$("$py" - "$tmp/boom/checkpoint.mnetckpt" <<'PY'
import struct, sys, numpy as np
b = open(sys.argv[1], "rb").read()
real = struct.unpack_from("<I", b, 16)[0]
at, found = 80, {}
while at < len(b):
    tag, crc, n = b[at:at + 4].decode(), *struct.unpack_from("<IQ", b, at + 4)
    found[tag] = b[at + 16:at + 16 + n]
    at += 16 + n
dt = np.float32 if real == 4 else np.float64
ok = all(np.isfinite(np.frombuffer(found[t], dt)).all() for t in ("PARM", "ADMM", "ADMV"))
print("finite" if ok else "NOT finite", struct.unpack_from("<q", found["STAT"], 24)[0])
PY
)
  [ "$out" = "finite 2" ]; rc=$?
  check "... and the checkpoint holds the last state whose loss and gradient were finite: every number finite, batch 2 ($out)" $rc
else
  echo "skip: the checkpoint's numbers are read with numpy (apt-get install python3-numpy)"
fi

# a term of the user's own that is not the model's first loss row is its own
# row: the log's two columns differ (L1 vs the Euclidean distance), and the
# written term equals the distance computed from validation.csv's columns
sed 's/^}/  loss position_l1(weight = 1);\n  loss reach(weight = 1, value = norm(position - target));\n}/' "$tmp/pm.mnet" > "$tmp/two.mnet"
"$mnet" train "$tmp/two.mnet" --batches 2 --out "$tmp/two" > /dev/null 2>&1
head -1 "$tmp/two/log.csv" | grep -q "^batch,loss,position_l1,reach,"; check "the log names both terms" $?
awk -F, 'NR == 2 { exit !($3 > 0 && $4 > 0 && $3 != $4 && $4 < $3 && $2 == $2) }' "$tmp/two/log.csv"; rc=$?
check "the written term is its own row (Euclidean < L1 distance: $(sed -n 2p "$tmp/two/log.csv" | cut -d, -f3,4))" $rc

# also found: `mnet help` is the usage (was an unknown command); --batches 0
# prints no nan
"$mnet" help | grep -q "usage: mnet train"; check "mnet help prints the usage" $?
out=$("$mnet" train "$tmp/pm.mnet" --batches 0 --out "$tmp/zero" 2>&1)
echo "$out" | grep -q "done batches=0 loss_last100=none" && [ -s "$tmp/zero/validation.csv" ]
check "--batches 0: no nan, and the validation is written" $?

exit $fail
