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
run "empty file (compile)" 1 "$tmp/empty.mnet"
has "empty file (compile)" err "$tmp/empty.mnet:1:1: error: no effector is defined"
run "unknown effector" 1 --effector Nope "$src/models/Reacher.mnet"
has "unknown effector" err "no effector named 'Nope'"

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
run "--dump-model --effector" 0 --dump-model --effector arm26_thelen "$src/tests/models/golden_effectors.mnet"
has "--dump-model --effector" out "effector arm26_thelen"
has "--dump-model --effector" out "muscle model thelen"

if [ "$failures" -ne 0 ]; then
  echo "mnetc.sh: $failures of $checks checks failed" >&2
  exit 1
fi
echo "mnetc.sh: all $checks checks passed"
