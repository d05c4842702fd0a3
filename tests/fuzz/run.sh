#!/usr/bin/env bash
# run.sh - build the compiler's libFuzzer target and fuzz it for a while.
#
#   tests/fuzz/run.sh [SECONDS]        (default 60)
#   BUILD_DIR=dir tests/fuzz/run.sh    (default build-fuzz)
#
# Builds tests/fuzz/fuzz_compile with clang, -fsanitize=fuzzer,address,
# undefined, and runs it from the seeds in tests/fuzz/corpus/.  New inputs
# go to BUILD_DIR/fuzz-corpus/ (never into the repository); a crash, leak,
# timeout (10 s) or memory blow-up (2 GiB) is written to
# BUILD_DIR/fuzz-artifacts/ and makes this script exit non-zero.  Replay one
# with: BUILD_DIR/tests/fuzz/fuzz_compile FILE
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-60}
build=${BUILD_DIR:-build-fuzz}
jobs=${JOBS:-2}

CC=${CC:-clang} cmake -S . -B "$build" -DMNET_FUZZ=ON -DMNET_SANITIZE=ON \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$jobs" --target fuzz_compile

mkdir -p "$build/fuzz-corpus" "$build/fuzz-artifacts"
echo "run.sh: fuzzing for $seconds s (artifacts in $build/fuzz-artifacts/)"
status=0
"$build/tests/fuzz/fuzz_compile" \
  -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=16384 \
  -print_final_stats=1 -artifact_prefix="$build/fuzz-artifacts/" -dict=tests/fuzz/mnet.dict \
  "$build/fuzz-corpus" tests/fuzz/corpus || status=$?
if [ "$status" -ne 0 ]; then
  echo "run.sh: the fuzzer found a problem (exit $status); see $build/fuzz-artifacts/" >&2
  exit 1
fi
echo "run.sh: no crash in $seconds s"
