#!/usr/bin/env bash
# build.sh - install what is missing (Debian packages), configure and build.
#
#   ./build.sh                  release build in build/
#   ./build.sh --sanitize       ASan+UBSan build in build-asan/
#   ./build.sh --tsan           ThreadSanitizer build in build-tsan/ (ctest
#                               there reads tests/tsan.supp: OpenBLAS is
#                               not instrumented)
#   BUILD_DIR=dir CC=clang ./build.sh
set -euo pipefail
cd "$(dirname "$0")"

packages=(build-essential cmake pkg-config flex bison libcunit1-dev libopenblas-dev
          libedit-dev llvm-dev clang libclang-rt-dev python3 python3-numpy libxml2-utils librsvg2-bin
          libopenmpi-dev openmpi-bin)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "build.sh: installing ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null
fi

build_dir=${BUILD_DIR:-build}
extra=()
if [ "${1:-}" = "--sanitize" ]; then
  build_dir=${BUILD_DIR:-build-asan}
  extra+=(-DMNET_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug)
elif [ "${1:-}" = "--tsan" ]; then
  build_dir=${BUILD_DIR:-build-tsan}
  extra+=(-DMNET_TSAN=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo)
fi
cmake -S . -B "$build_dir" "${extra[@]}" >/dev/null
cmake --build "$build_dir" -j"$(nproc)"
echo "build.sh: built in $build_dir/"
