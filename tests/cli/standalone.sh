#!/usr/bin/env bash
# The standalone route: mnetc's C linked with the runtime library trains the
# task the file declares, exactly as `mnet train --backend c` does.
# usage: standalone.sh BUILD_DIR SOURCE_DIR
set -u
build=$(cd "$1" && pwd)
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
check() { # description, condition result
  if [ "$2" -ne 0 ]; then echo "FAIL: $1"; fail=1; else echo "ok: $1"; fi
}
cc=${CC:-cc}
link_flags=${MNET_LINK_FLAGS:-}   # the sanitizers of a sanitized build

# a short version of the README's task (mnet's driver runs the float runtime)
sed 's/duration 1 s;/duration 300 ms;/; s/hidden = 32/hidden = 8/; s/batch = 32/batch = 8/' \
    "$src/examples/reach_point_mass.mnet" > "$tmp/pm.mnet"
"$build/tools/mnetc" "$tmp/pm.mnet" -o "$tmp/model.c" --precision float; check "mnetc emits the model" $?
grep -q 'policy.hidden=8' "$tmp/model.c"; check "the task is embedded" $?
$cc -std=c11 -O2 "$tmp/model.c" -L"$build/runtime" -lmnetrt_f -lopenblas -lm $link_flags -o "$tmp/model"
check "cc model.c -lmnetrt_f links a trainer" $?
"$tmp/model" info > "$tmp/info"; check "./model info" $?
grep -q "compiled loss terms: position_l1" "$tmp/info"; check "... names the compiled loss" $?
s=$(cd "$tmp" && ./model train --batches 120 --out run | tail -1)   # past 100: loss_last100 over the last 100
check "./model train" $?
m=$("$build/tools/mnet" train "$tmp/pm.mnet" --batches 120 --out "$tmp/mrun" --backend c | tail -1)
[ "${s% ms_per_batch*}" = "${m% ms_per_batch*}" ] && [ -n "$s" ]
check "the same losses as mnet train --backend c ($s | $m)" $?
cut -d, -f1-3 "$tmp/run/log.csv" > "$tmp/a"; cut -d, -f1-3 "$tmp/mrun/log.csv" > "$tmp/b"
cmp -s "$tmp/a" "$tmp/b"; check "log.csv: every batch's loss identical" $?
[ -s "$tmp/run/weights.safetensors" ] && [ -s "$tmp/run/validation.csv" ]; check "weights and trajectories written" $?
s=$(cd "$tmp" && ./model train --batches 2 --seed 5 --out run5 | tail -1)
m=$("$build/tools/mnet" train "$tmp/pm.mnet" --batches 2 --seed 5 --out "$tmp/mrun5" --backend c | tail -1)
[ "${s% ms_per_batch*}" = "${m% ms_per_batch*}" ]; check "--seed as mnet's" $?
"$tmp/model" train --batches x 2>/dev/null; [ $? -eq 2 ]; check "a bad option is a usage error" $?
"$tmp/model" 2>/dev/null; [ $? -eq 2 ]; check "no command is a usage error" $?
# a double-precision model against the float runtime: refused, not run
"$build/tools/mnetc" "$tmp/pm.mnet" -o "$tmp/model_d.c"
$cc -std=c11 -O2 "$tmp/model_d.c" -L"$build/runtime" -lmnetrt_f -lopenblas -lm $link_flags -o "$tmp/model_d"
"$tmp/model_d" train --batches 1 --out "$tmp/x" 2>"$tmp/err"; [ $? -eq 2 ]; check "precision mismatch refused" $?
grep -q "another runtime" "$tmp/err"; check "... with a message" $?
# ---- the output directory, opened as mnet train opens it (mnet_outdir.h)
(cd "$tmp" && ./model train --batches 20 --out run > "$tmp/again.out" 2>&1)
st=$?
[ $st -eq 1 ]; check "an existing run directory is refused without --force ($st)" $?
grep -q "'run' already holds a run (log.csv).*--force" "$tmp/again.out"
st=$?
check "... saying so: $(head -c 200 "$tmp/again.out")" $st
[ "$(wc -l < "$tmp/run/log.csv")" -eq 121 ]; check "... and its log untouched" $?
(cd "$tmp" && ./model train --batches 20 --out run --force > /dev/null 2>&1)
check "--force trains over it" $?
[ "$(wc -l < "$tmp/run/log.csv")" -eq 21 ]; check "... a log of the new run's 20 batches" $?
"$tmp/model" train --batches 3 --out "$tmp/p/q/r" > /dev/null 2>&1 && [ -s "$tmp/p/q/r/log.csv" ]
check "missing parents of --out are created" $?
"$tmp/model" train --batches 1 --out "$tmp/long/$(printf 'b%.0s' $(seq 300))" > "$tmp/name.out" 2>&1
st=$?
[ $st -eq 1 ] && grep -q "NAME_MAX" "$tmp/name.out" && [ ! -e "$tmp/long" ]
check "a component past NAME_MAX: refused ($st), nothing created" $?
# the lock: a second trainer into a running one's directory names the first
"$tmp/model" train --batches 100000000 --out "$tmp/busy" > /dev/null 2>&1 &
first=$!
for _ in $(seq 200); do grep -q '^pid ' "$tmp/busy/.mnet.lock" 2>/dev/null && break; sleep 0.1; done
"$tmp/model" train --batches 1 --out "$tmp/busy" --force > "$tmp/busy.out" 2>&1
second=$?
kill -9 "$first" 2>/dev/null; wait "$first" 2>/dev/null
[ $second -eq 1 ] && grep -q "'$tmp/busy' is in use by pid $first on " "$tmp/busy.out"
st=$?
check "a second trainer into a locked directory fails ($second), naming the holder: $(head -c 200 "$tmp/busy.out")" $st
# a file size limit (2 KiB: the log's first rows fit, the rest do not):
# a clear error and exit status 1, not a silent death by SIGXFSZ
(ulimit -f 2; exec "$tmp/model" train --batches 1000 --out "$tmp/f2") > "$tmp/f2.out" 2>&1
st=$?
[ $st -eq 1 ]; check "ulimit -f 2: exit status 1 ($st)" $?
grep -q "cannot write training log '$tmp/f2/log.csv' at batch [0-9]*: File too large" "$tmp/f2.out"
st=$?
check "... the log's failure named: $(grep -m1 -o 'cannot write training log[^;]*' "$tmp/f2.out")" $st
[ -s "$tmp/f2/log.csv" ] && [ "$(wc -c < "$tmp/f2/log.csv")" -le 2048 ] && [ -z "$(tail -c 1 "$tmp/f2/log.csv")" ]
check "... log.csv keeps whole rows under the limit" $?
exit $fail
