#!/usr/bin/env bash
# The C example of docs/api.md, extracted verbatim, compiled with the
# build's C compiler (-std=c11 -Wall -Wextra -Werror) against mnet.h and
# libmnet.so, and run on an example model: it must train, reopen the run and
# roll its policy out.  usage: doc_example.sh CC SOURCE_DIR LIB_DIR
set -eu
cc=$1 src=$2 lib=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
awk '/^```c$/{on=1; next} /^```$/{if(on) exit} on' "$src/docs/api.md" > "$tmp/example.c"
[ -s "$tmp/example.c" ] || { echo "FAIL: no C example in docs/api.md"; exit 1; }
# shellcheck disable=SC2086  (the build's sanitizers, when it has them)
"$cc" -std=c11 -Wall -Wextra -Werror ${MNET_LINK_FLAGS:-} -I"$src/api" "$tmp/example.c" -L"$lib" -lmnet \
      -Wl,-rpath,"$lib" -o "$tmp/example"
out=$("$tmp/example" "$src/examples/reach_point_mass.mnet" "$tmp/run")
echo "$out"
echo "$out" | grep -q "trained 20 batches" || { echo "FAIL: the example did not train"; exit 1; }
echo "$out" | grep -q "return per episode" || { echo "FAIL: the example did not roll out"; exit 1; }
[ -s "$tmp/run/checkpoint.mnetckpt" ] && [ -s "$tmp/run/weights.safetensors" ] ||
  { echo "FAIL: the run directory is incomplete"; exit 1; }
echo "ok: docs/api.md's example compiled with $cc and ran"
