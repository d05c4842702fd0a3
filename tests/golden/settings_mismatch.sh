#!/usr/bin/env bash
# settings_mismatch.sh - golden_check fails a model whose own damping, loads
# or joint limits are not the case's, and prints both values.
#
#   tests/golden/settings_mismatch.sh GOLDEN_CHECK SOURCE_DIR
#
# The cases are found through golden_check's golden_dir() (MNET_GOLDEN_DIR).
set -u
gc=${1:?usage: settings_mismatch.sh GOLDEN_CHECK SOURCE_DIR}
src=${2:?usage: settings_mismatch.sh GOLDEN_CHECK SOURCE_DIR}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/golden_mismatch.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
failures=0
checks=0

fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}

# run NAME EXPECTED_STATUS MODEL CASE EFFECTOR: runs golden_check, keeps its output.
run() {
  local name=$1 want=$2
  checks=$((checks + 1))
  "$gc" "$3" "$4.golden" --effector "$5" >"$tmp/out" 2>&1
  status=$?
  if [ "$status" -ne "$want" ]; then
    fail "$name: exit status $status, expected $want"
    sed 's/^/    out: /' "$tmp/out" >&2
  fi
}

# has NAME TEXT: the output contains the fixed string TEXT.
has() {
  checks=$((checks + 1))
  if ! grep -qF -- "$2" "$tmp/out"; then
    fail "$1: output lacks '$2'"
    sed 's/^/    out: /' "$tmp/out" >&2
  fi
}

# damping 0.25 against a case with damping 0
printf 'import "RigidTendonArm26.mnet";\neffector damped = RigidTendonArm26(damping = 0.25);\n' >"$tmp/damped.mnet"
run "damping" 1 "$tmp/damped.mnet" arm26_rigid_euler damped
has "damping" "golden arm26_rigid_euler damping model=0.25 case=0  (differs)"
has "damping" "golden arm26_rigid_euler FAIL"

# the library arm (no damping, no loads) against the loaded case
run "loads" 1 "$src/models/RigidTendonArm26.mnet" arm26_rigid_loads RigidTendonArm26
has "loads" "golden arm26_rigid_loads damping model=0 case=0.5  (differs)"
has "loads" "golden arm26_rigid_loads endpoint_load[0] model=0 case=4  (differs)"
has "loads" "golden arm26_rigid_loads endpoint_load[1] model=0 case=-3  (differs)"
has "loads" "golden arm26_rigid_loads joint_load[0] model=0 case=0.29999999999999999  (differs)"
has "loads" "golden arm26_rigid_loads FAIL"

# an elbow range of 150 deg against the case's 155 deg
sed 's/elbow_range = \[0 deg, 155 deg\]/elbow_range = [0 deg, 150 deg]/' \
  "$src/models/RigidTendonArm26.mnet" >"$tmp/elbow.mnet"
checks=$((checks + 1))
grep -q '150 deg' "$tmp/elbow.mnet" || fail "joint limits: the model copy kept 155 deg"
run "joint limits" 1 "$tmp/elbow.mnet" arm26_rigid_euler RigidTendonArm26
has "joint limits" "golden arm26_rigid_euler pos_upper_bound[1] model=2.6179938779914944 case=2.7052603405912108  (differs)"
has "joint limits" "golden arm26_rigid_euler FAIL"

# the stated settings pass: the loaded case with its own effector
run "matching settings" 0 "$src/tests/golden/effectors.mnet" arm26_rigid_loads arm26_rigid_loads
has "matching settings" "golden arm26_rigid_loads ok"

if [ "$failures" -ne 0 ]; then
  echo "settings_mismatch.sh: $failures of $checks checks failed" >&2
  exit 1
fi
echo "settings_mismatch.sh: all $checks checks passed"
