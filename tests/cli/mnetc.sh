#!/usr/bin/env bash
# mnetc.sh - the mnetc driver: exit codes, diagnostics, -o, --dump-model.
#
#   tests/cli/mnetc.sh BUILD_DIR SOURCE_DIR
#
# Exit status 0 (clean), 1 (errors in the input), 2 (usage); errors print
# FILE:LINE:COL, the source line and a caret.  Every unmet expectation is
# printed; the script exits non-zero if there was any.
set -u
build=${1:?usage: mnetc.sh BUILD_DIR SOURCE_DIR}
src=${2:?usage: mnetc.sh BUILD_DIR SOURCE_DIR}
mnetc="$build/tools/mnetc"
cc=${CC:-cc}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mnetc_cli.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
failures=0
checks=0

fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}

# run NAME EXPECTED_STATUS ARGS...: runs mnetc, keeps stdout and stderr.
run() {
  local name=$1 want=$2
  shift 2
  checks=$((checks + 1))
  "$mnetc" "$@" >"$tmp/out" 2>"$tmp/err"
  status=$?
  if [ "$status" -ne "$want" ]; then
    fail "$name: exit status $status, expected $want (mnetc $*)"
    sed 's/^/    stderr: /' "$tmp/err" >&2
  fi
}

# has NAME FILE TEXT: FILE (out or err) contains the fixed string TEXT.
has() {
  checks=$((checks + 1))
  if ! grep -qF -- "$3" "$tmp/$2"; then
    fail "$1: std$2 lacks '$3'"
    sed "s/^/    std$2: /" "$tmp/$2" >&2
  fi
}

# empty NAME FILE: FILE (out or err) is empty.
empty() {
  checks=$((checks + 1))
  if [ -s "$tmp/$2" ]; then
    fail "$1: std$2 should be empty"
    sed "s/^/    std$2: /" "$tmp/$2" >&2
  fi
}

[ -x "$mnetc" ] || { echo "FAIL: $mnetc is not built" >&2; exit 1; }

# ---- clean files: 0, nothing on stderr ---------------------------------------
run "check a clean model" 0 --check "$src/models/ReluPointMass24.mnet"
empty "check a clean model" err
empty "check a clean model" out
run "check a library file" 0 --check "$src/models/lib/muscles.mnet"
empty "check a library file" err
run "help" 0 --help
has "help" out "usage: mnetc"

# ---- errors in the input: 1, FILE:LINE:COL, the line, a caret -----------------
printf 'const a = 1;\nconst x = (1 + ;\n' >"$tmp/bad.mnet"
run "syntax error" 1 --check "$tmp/bad.mnet"
has "syntax error" err "$tmp/bad.mnet:2:16: error: syntax error, unexpected ';'"
has "syntax error" err "  const x = (1 + ;"
checks=$((checks + 1))
# the caret sits under column 16: two spaces of indent, 15 columns before it
if ! grep -qx '   \{15\}^' "$tmp/err"; then
  fail "syntax error: no caret under column 16"
  sed 's/^/    stderr: /' "$tmp/err" >&2
fi
empty "syntax error" out

printf 'import "lib/muscles.mnet";\neffector E {\n  skeleton point_mass(dim = 2);\n  muscles relu(max_force = 1 N) {\n    muscle A { path world(1, 1), hand(0, 0); }\n  }\n}\n' >"$tmp/sem.mnet"
run "semantic error (check)" 1 --check "$tmp/sem.mnet"
has "semantic error (check)" err "$tmp/sem.mnet:5:34: error: unknown body 'hand' in path of 'A'"
has "semantic error (check)" err "$tmp/sem.mnet:5:34: note: bodies are: world, point"
run "semantic error (compile)" 1 -o "$tmp/sem.c" "$tmp/sem.mnet"
has "semantic error (compile)" err "$tmp/sem.mnet:5:34: error: unknown body 'hand'"
checks=$((checks + 1))
[ ! -e "$tmp/sem.c" ] || fail "semantic error (compile): wrote $tmp/sem.c for a bad model"

run "missing file" 1 --check "$tmp/nope.mnet"
has "missing file" err "cannot open '$tmp/nope.mnet'"
run "directory as input" 1 --check "$tmp"
has "directory as input" err "'$tmp' is a directory, not a .mnet file"
printf 'const a = 1;\n\0\n' >"$tmp/binary.mnet"
run "binary file" 1 --check "$tmp/binary.mnet"
has "binary file" err "$tmp/binary.mnet:2:1: error: '$tmp/binary.mnet' looks like a binary file"

# an empty file defines nothing: fine to check, nothing to compile
: >"$tmp/empty.mnet"
run "empty file (check)" 0 --check "$tmp/empty.mnet"
empty "empty file (check)" err
run "empty file (compile)" 1 -o "$tmp/empty.c" "$tmp/empty.mnet"
has "empty file (compile)" err "$tmp/empty.mnet:1:1: error: no effector is defined"
run "unknown effector" 1 --effector Nope -o "$tmp/nope.c" "$src/models/Reacher.mnet"
has "unknown effector" err "no effector named 'Nope'"

# every independent error of an effector in one run, not only its first
cat >"$tmp/many.mnet" <<'MNET'
import "lib/muscles.mnet";
effector E {
  skeleton point_mass(dim = 2);
  muscles relu(max_force = 1 N) {
    muscle A { path world(1, 1), hand(0, 0); }
    muscle B(bogus = 3) { path world(-1, 1), point(0, 0); }
    muscle C { path world(1, -1), foot(0, 0); }
  }
  step -1 ms;
  integrator leapfrog;
  frobnicate 3;
}
MNET
for mode in --check -o; do
  if [ "$mode" = -o ]; then args=(-o "$tmp/many.c"); else args=(--check); fi
  run "independent errors ($mode)" 1 "${args[@]}" "$tmp/many.mnet"
  has "independent errors ($mode)" err "$tmp/many.mnet:11:3: error: unknown statement 'frobnicate' in effector"
  has "independent errors ($mode)" err "$tmp/many.mnet:5:34: error: unknown body 'hand' in path of 'A'"
  has "independent errors ($mode)" err "$tmp/many.mnet:6:14: error: muscle model 'relu' has no parameter 'bogus'"
  has "independent errors ($mode)" err "$tmp/many.mnet:7:35: error: unknown body 'foot' in path of 'C'"
  has "independent errors ($mode)" err "$tmp/many.mnet:9:8: error: step must be positive"
  has "independent errors ($mode)" err "$tmp/many.mnet:10:14: error: unknown integrator"
  checks=$((checks + 1))
  n=$(grep -c ': error: ' "$tmp/err")
  [ "$n" -eq 6 ] || fail "independent errors ($mode): $n errors, expected 6"
done
checks=$((checks + 1))
[ ! -e "$tmp/many.c" ] || fail "independent errors: wrote $tmp/many.c for a bad model"

# the note names every body of the skeleton, not only the first two
cat >"$tmp/bodies.mnet" <<'MNET'
import "lib/muscles.mnet";
effector E {
  skeleton planar_chain {
    link upper_arm(mass = 1 kg, length = 0.3 m, com = 0.15 m, inertia = 0.05);
    link forearm(mass = 1 kg, length = 0.3 m, com = 0.15 m, inertia = 0.05);
    link hand(mass = 0.4 kg, length = 0.1 m, com = 0.05 m, inertia = 0.001);
  }
  muscles relu(max_force = 1 N) {
    muscle A { path world(0.1, 0.1), wrist(0, 0); }
  }
}
MNET
run "bodies note" 1 --check "$tmp/bodies.mnet"
has "bodies note" err "$tmp/bodies.mnet:9:38: note: bodies are: world, upper_arm, forearm, hand"

# ---- usage errors: 2 -----------------------------------------------------------
run "no file" 2
has "no file" err "usage: mnetc"
run "unknown option" 2 --frobnicate "$src/models/Reacher.mnet"
has "unknown option" err "unknown or incomplete option '--frobnicate'"
run "bad precision" 2 --precision half "$src/models/Reacher.mnet"
has "bad precision" err "--precision must be float or double, not 'half'"
run "option without its value" 2 "$src/models/Reacher.mnet" -o
has "option without its value" err "unknown or incomplete option '-o'"
run "two files" 2 --check "$src/models/Reacher.mnet" "$src/models/arm210.mnet"
has "two files" err "more than one input file"
# a file and nothing to do with it: say what to ask for, write nothing
run "nothing to do" 2 "$src/models/Reacher.mnet"
has "nothing to do" err "nothing to do for '$src/models/Reacher.mnet': give -o FILE.c"
has "nothing to do" err "or --check, --dump-model, --stats"
empty "nothing to do" out
run "nothing to do (options only)" 2 --precision float --effector Reacher "$src/models/Reacher.mnet"
has "nothing to do (options only)" err "give -o FILE.c"

# ---- -o writes C that compiles cleanly ------------------------------------------
for precision in double float; do
  out="$tmp/arm26_$precision.c"
  run "-o ($precision)" 0 --precision "$precision" -o "$out" "$src/models/RigidTendonArm26.mnet"
  empty "-o ($precision)" err
  checks=$((checks + 1))
  if [ ! -s "$out" ]; then
    fail "-o ($precision): $out was not written"
  elif ! "$cc" -std=c11 -Wall -Wextra -Werror -c "$out" -o "$tmp/arm26_$precision.o" 2>"$tmp/cc_err"; then
    fail "-o ($precision): the generated C does not compile cleanly"
    head -20 "$tmp/cc_err" | sed 's/^/    cc: /' >&2
  fi
  checks=$((checks + 1))
  [ ! -e "$out.tmp" ] || fail "-o ($precision): left $out.tmp behind"
done
checks=$((checks + 1))
grep -q 'RigidTendonArm26' "$tmp/arm26_double.c" || fail "-o: the C names no effector"

# ---- --dump-model prints the resolved effector, muscles included ---------------
run "--dump-model" 0 --dump-model "$src/models/ReluPointMass24.mnet"
has "--dump-model" out "effector ReluPointMass24"
for m in UpperRight UpperLeft LowerRight LowerLeft; do
  has "--dump-model" out "$m: path"
done
has "--dump-model" out "max_force        = 500"
# a point mass's coordinates are positions: metres, never degrees
has "--dump-model" out "range [-1, 1] m  velocity [-1000, 1000] m/s"
checks=$((checks + 1))
! grep -q 'deg' "$tmp/out" || fail "--dump-model: a point mass's range shown in degrees: $(grep deg "$tmp/out")"
# a chain's joints are rotations: radians, and degrees beside them
run "--dump-model (arm)" 0 --dump-model "$src/models/RigidTendonArm26.mnet"
has "--dump-model (arm)" out "range [0, 2.3561944901923448] rad (0..135 deg)  velocity"
run "--dump-model --effector" 0 --dump-model --effector arm26_thelen "$src/tests/models/golden_effectors.mnet"
has "--dump-model --effector" out "effector arm26_thelen"
has "--dump-model --effector" out "muscle model thelen"

# arm210 takes its muscle model as a param (thelen by default, the golden case)
run "arm210 default model" 0 --dump-model "$src/models/arm210.mnet"
has "arm210 default model" out "muscle model thelen"
for mm in rigid_hill mujoco_hill compliant_hill; do
  printf 'import "arm210.mnet";\neffector arm210_%s = arm210(muscle_model = %s);\n' "$mm" "$mm" >"$tmp/arm210_$mm.mnet"
  run "arm210 with $mm" 0 --dump-model -o "$tmp/arm210_$mm.c" "$tmp/arm210_$mm.mnet"
  empty "arm210 with $mm" err
  has "arm210 with $mm" out "effector arm210_$mm"
  has "arm210 with $mm" out "muscle model $mm:"
  has "arm210 with $mm" out "muscle 9 prot: path"
  has "arm210 with $mm" out "slack_ratio      = 1.48"
  checks=$((checks + 1))
  [ -s "$tmp/arm210_$mm.c" ] || fail "arm210 with $mm: no C written"
done

if [ "$failures" -ne 0 ]; then
  echo "mnetc.sh: $failures of $checks checks failed" >&2
  exit 1
fi
echo "mnetc.sh: all $checks checks passed"
