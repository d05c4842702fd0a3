#!/usr/bin/env bash
# mnet export (issue 16, item 3): a trained controller as one C file.
#
# A small run (ReluPointMass24, centre-out, gru hidden 8) is trained and its
# validation episodes recorded with mnet eval; the run is exported in float
# and double, alone and --with-plant; every file compiles with gcc and clang
# -std=c11 -Wall -Wextra -Wpedantic -Werror; tests/cli/export_check.c (built
# here against the runtime of the file's precision) feeds the recorded
# observations to the controller and compares its actions with the recorded
# output (float: within 1e-5) and with the runtime's network in double
# (double: within 1e-12), and runs the closed loop against the runtime's
# rollout of the validation set with the same effector (every obs, action
# and state row; double 1e-12, float 1e-5 relative to 1 + |value|) and the
# recording.  Also: a second run with delays, action frames, a delayed
# reach, a curl field and two rnn layers; the float activations are the
# runtime's (nn_internal.h's coefficients, line by line); the optional main
# runs; bad input is refused with nothing written.
# usage: export.sh BUILD_DIR SOURCE_DIR
set -u
build=$(cd "$1" && pwd)
src=$(cd "${2:-.}" && pwd)
mnet=$build/tools/mnet
link_flags=${MNET_LINK_FLAGS:-}   # the sanitizers of a sanitized build
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
check() { # description, status
  if [ "$2" -ne 0 ]; then echo "FAIL: $1"; fail=1; else echo "ok: $1"; fi
}
compilers=()
for c in gcc clang; do command -v $c >/dev/null && compilers+=("$c"); done
[ ${#compilers[@]} -eq 2 ]
check "gcc and clang are installed (${compilers[*]})" $?

cp "$src/models/ReluPointMass24.mnet" "$tmp/"
cat > "$tmp/pm.mnet" <<'MNET'
import "ReluPointMass24.mnet";
task pm {
  effector ReluPointMass24;
  kind centre_out_reach;
  duration 500 ms;
  go_cue [50 ms, 150 ms];
  policy gru(hidden = 8);
  train batch = 4, batches = 30, seed = 3;
}
MNET
# delays of 3 and 2 steps (the reference's buffer), 2 action frames, the go
# row, a curl field, a two-layer rnn
cat > "$tmp/pm2.mnet" <<'MNET'
import "ReluPointMass24.mnet";
task pm2 {
  effector ReluPointMass24;
  kind delayed_reach;
  duration 400 ms;
  go_cue [50 ms, 150 ms];
  delay proprioception = 20 ms, vision = 30 ms;
  action_frames 2;
  load curl = 2;
  policy rnn(hidden = 6, layers = 2);
  train batch = 4, batches = 20, seed = 5;
}
MNET
# a two-layer MLP (no recurrence)
sed 's/policy gru(hidden = 8);/policy mlp(hidden = 5, layers = 2);/; s/batches = 30/batches = 5/' "$tmp/pm.mnet" > "$tmp/pm3.mnet"

# a modular gru with delays between its modules (2 steps, 10 ms), the
# rectified-tanh candidate and a learned initial state
cat > "$tmp/pm4.mnet" <<'MNET'
import "ReluPointMass24.mnet";
task pm4 {
  effector ReluPointMass24;
  kind centre_out_reach;
  duration 500 ms;
  go_cue [50 ms, 150 ms];
  policy gru(hidden = 8, candidate = rectified_tanh, initial_state = learned) {
    module a(size = 3, excitatory = 0.67);
    module b(size = 5);
    connect a(to = b, fraction = 1, p = 0.8, delay = 2);
    connect b(to = a, fraction = 1, p = 0.8, delay = 10 ms);
    readout b;
  }
  train batch = 4, batches = 20, seed = 7;
}
MNET

for run in pm pm2 pm3 pm4; do
  "$mnet" train "$tmp/$run.mnet" --out "$tmp/$run" > "$tmp/$run.train" 2>&1 &&
    "$mnet" eval "$tmp/$run" --out "$tmp/$run/episodes.safetensors" > "$tmp/$run.eval" 2>&1
  st=$?
  check "$run: trains and records its validation episodes ($(tail -1 "$tmp/$run.train" | head -c 300))" $st
done

# the symbols libm defines
nm -D --defined-only "$(gcc -print-file-name=libm.so.6)" | awk '{print $3}' | sed 's/@.*//' | sort -u > "$tmp/libm.syms"

# the checker against the runtime of a precision
checker() { # exported file, precision, name
  local def="" lib=mnetrt
  [ "$2" = float ] && def=-DMNET_REAL_FLOAT && lib=mnetrt_f
  gcc -std=c11 -O2 -Wall -Wextra -Werror $def -D_POSIX_C_SOURCE=200809L -DCTRL_FILE="\"$1\"" \
    -I"$src/runtime/include" "$src/tests/cli/export_check.c" -L"$build/runtime" -l$lib -lopenblas -lm -ldl -pthread \
    $link_flags -o "$tmp/$3"
}

for run in pm pm2 pm3 pm4; do
  for prec in float double; do
    for plant in "" --with-plant; do
      name=$run.$prec${plant:+.plant}
      out=$tmp/$name.c
      "$mnet" export "$tmp/$run" -o "$out" --precision $prec $plant > "$tmp/$name.out" 2>&1
      st=$?
      check "$name: mnet export ($(head -c 300 "$tmp/$name.out"))" $st
      [ -s "$out" ] || continue
      ls "$tmp" | grep -q '\.tmp\.'
      check "$name: no temporary left beside the output" $((1 - $?))
      for cc in "${compilers[@]}"; do
        $cc -std=c11 -O2 -Wall -Wextra -Wpedantic -Werror -c "$out" -o "$tmp/$name.$cc.o" > "$tmp/$name.$cc.err" 2>&1
        st=$?
        check "$name: $cc -std=c11 -Wall -Wextra -Wpedantic -Werror compiles it ($(head -c 400 "$tmp/$name.$cc.err"))" $st
      done
      # what it calls: libm, and the memcpy / memset a compiler may turn a
      # copy loop into (every C toolchain has them)
      nm "$tmp/$name.gcc.o" | awk '$1 == "U" {print $2}' | grep -vxF -f "$tmp/libm.syms" |
        grep -vxE 'memcpy|memset|memmove' > "$tmp/$name.undef"
      [ ! -s "$tmp/$name.undef" ]
      st=$?
      check "$name: calls nothing but libm ($(tr '\n' ' ' < "$tmp/$name.undef"))" $st
      if [ "$prec" = float ] && [ -z "$plant" ]; then
        nm "$tmp/$name.gcc.o" | awk '$1 == "U" {print $2}' | grep -vxE 'memcpy|memset|memmove' > "$tmp/$name.undef"
        [ ! -s "$tmp/$name.undef" ]
        st=$?
        check "$name: the float controller needs no library ($(tr '\n' ' ' < "$tmp/$name.undef"))" $st
      fi
      if checker "$out" $prec "check.$name" > "$tmp/$name.build" 2>&1; then
        "$tmp/check.$name" "$tmp/$run/episodes.safetensors" "$tmp/$run/weights.safetensors" > "$tmp/$name.check" 2>&1
        st=$?
        sed 's/^/    /' "$tmp/$name.check"
        check "$name: reproduces the run (export_check)" $st
      else
        check "$name: export_check builds ($(head -c 600 "$tmp/$name.build"))" 1
      fi
    done
  done
done

# the float build with the C library's expf / tanhf (the difference measured)
if gcc -std=c11 -O2 -Wall -Wextra -Werror -DMNET_REAL_FLOAT -DMNET_CTRL_LIBM -D_POSIX_C_SOURCE=200809L \
     -DCTRL_FILE="\"$tmp/pm.float.c\"" -I"$src/runtime/include" "$src/tests/cli/export_check.c" \
     -L"$build/runtime" -lmnetrt_f -lopenblas -lm -ldl -pthread $link_flags -o "$tmp/check.libm" > "$tmp/libm.build" 2>&1; then
  "$tmp/check.libm" "$tmp/pm/episodes.safetensors" "$tmp/pm/weights.safetensors" > "$tmp/libm.check" 2>&1
  st=$?
  sed 's/^/    /' "$tmp/libm.check"
  check "pm.float -DMNET_CTRL_LIBM (libm's expf, tanhf): within 1e-5 too" $st
else
  check "pm.float -DMNET_CTRL_LIBM builds ($(head -c 400 "$tmp/libm.build"))" 1
fi

# the float activations are the runtime's: every float constant of
# nn_internal.h's nn_expf / nn_tanh is in the exported file, line by line
sed -n '/^static inline float nn_expf/,/^#else/p' "$src/runtime/nn_internal.h" |
  grep -E '[0-9]f[;, )]' | grep -v 'memcpy\|bits' | sed 's/^ *//; s/nn_expf/ctrl_expf/g' > "$tmp/coeff"
[ "$(wc -l < "$tmp/coeff")" -ge 15 ] && ! grep -vxF -f <(sed 's/^ *//' "$tmp/pm.float.c") "$tmp/coeff" > "$tmp/missing"
st=$?
check "the float activations are nn_internal.h's ($(wc -l < "$tmp/coeff") lines; missing: $(head -3 "$tmp/missing" 2>/dev/null | tr '\n' '|'))" $st

# the weights are exact: every tensor of weights.safetensors, as printed
/usr/bin/python3 - "$tmp/pm/weights.safetensors" "$tmp/pm.double.c" "$tmp/pm.float.c" > "$tmp/exact" 2>&1 <<'PY'
import json, re, struct, sys
import numpy as np
blob = open(sys.argv[1], "rb").read()
(n,) = struct.unpack("<Q", blob[:8])
header = json.loads(blob[8:8 + n]); header.pop("__metadata__", None)
data = blob[8 + n:]
names = {"gru.weight_ih_l0": "ctrl_w_in_l0", "gru.weight_hh_l0": "ctrl_w_rec_l0", "gru.bias_ih_l0": "ctrl_b_in_l0",
         "gru.bias_hh_l0": "ctrl_b_rec_l0", "fc.weight": "ctrl_w_out", "fc.bias": "ctrl_b_out"}
for path in sys.argv[2:]:
    text = open(path).read()
    for name, t in header.items():
        b, e = t["data_offsets"]
        want = np.frombuffer(data[b:e], dtype={"F32": "<f4", "F64": "<f8"}[t["dtype"]]).astype(np.float64).ravel()
        body = re.search(r"\b%s\[\d+\] = \{([^}]*)\}" % names[name], text).group(1)
        got = np.array([float(v.strip().rstrip("f")) for v in body.split(",")])
        if got.shape != want.shape or not np.array_equal(got.astype(np.float32) if path.endswith("float.c") else got, want):
            print("differs:", path, name); sys.exit(1)
print("every tensor exact in both files")
PY
st=$?
check "the weights are printed exactly ($(tail -1 "$tmp/exact"))" $st

# the optional main runs the validation set anywhere a C compiler does
gcc -std=c11 -O2 -DMNET_EXPORT_MAIN "$tmp/pm.float.plant.c" -lm -o "$tmp/demo" && "$tmp/demo" > "$tmp/demo.out"
[ $? -eq 0 ] && [ "$(grep -c '^episode ' "$tmp/demo.out")" -eq 24 ]
st=$?
check "cc -DMNET_EXPORT_MAIN runs the 24 validation episodes ($(head -1 "$tmp/demo.out"))" $st

# ---- bad input: a clear message, a non-zero exit, nothing written ----
refused() { # description, expected exit, file that must not appear, args...
  local desc=$1 want=$2 out=$3
  shift 3
  rm -f "$out"
  "$mnet" export "$@" > "$tmp/bad.out" 2> "$tmp/bad.err"
  local code=$?
  [ $code -eq "$want" ] && [ -s "$tmp/bad.err" ] && [ ! -e "$out" ] && ! ls "$(dirname "$out")" 2>/dev/null | grep -q '\.tmp\.'
  local st=$?
  check "$desc: exit $code (want $want), nothing written ($(head -c 200 "$tmp/bad.err" | tr '\n' ' '))" $st
}
mkdir -p "$tmp/empty"
refused "a directory without a run" 1 "$tmp/x.c" "$tmp/empty" -o "$tmp/x.c"
refused "a run directory that does not exist" 1 "$tmp/x.c" "$tmp/nothing" -o "$tmp/x.c"
refused "-o in a directory that does not exist" 1 "$tmp/no/such/x.c" "$tmp/pm" -o "$tmp/no/such/x.c"
refused "-o naming a directory" 1 "$tmp/empty/x.c" "$tmp/pm" -o "$tmp/empty"
refused "-o without a file" 2 "$tmp/x.c" "$tmp/pm" -o
refused "no -o" 2 "$tmp/x.c" "$tmp/pm"
refused "an unknown option" 2 "$tmp/x.c" "$tmp/pm" -o "$tmp/x.c" --fast
refused "an unknown precision" 2 "$tmp/x.c" "$tmp/pm" -o "$tmp/x.c" --precision half
refused "two run directories" 2 "$tmp/x.c" "$tmp/pm" "$tmp/pm2" -o "$tmp/x.c"
cp -r "$tmp/pm" "$tmp/broken"
head -c 100 "$tmp/pm/checkpoint.mnetckpt" > "$tmp/broken/checkpoint.mnetckpt"
refused "a truncated checkpoint" 1 "$tmp/x.c" "$tmp/broken" -o "$tmp/x.c"
sed 's/policy gru(hidden = 8);/policy gru(hidden = 8);\n  force_channel stiffness = 100, damping = 1;/' "$tmp/pm.mnet" > "$tmp/ch.mnet"
if "$mnet" train "$tmp/ch.mnet" --out "$tmp/ch" --batches 2 > "$tmp/ch.train" 2>&1; then
  refused "--with-plant for a run with a force channel" 1 "$tmp/x.c" "$tmp/ch" -o "$tmp/x.c" --with-plant
  grep -q "force channel" "$tmp/bad.err"
  check "the refusal names the force channel" $?
  "$mnet" export "$tmp/ch" -o "$tmp/ch.c" > /dev/null 2>&1
  check "the controller of that run alone exports" $?
else
  echo "note: the force channel run did not train ($(tail -1 "$tmp/ch.train")); its refusal is not checked"
fi
# an existing output is replaced only when the export succeeds
echo "keep" > "$tmp/keep.c"
"$mnet" export "$tmp/empty" -o "$tmp/keep.c" > /dev/null 2>&1
[ "$(cat "$tmp/keep.c")" = keep ]
check "a failed export leaves an existing output as it was" $?

exit $fail
