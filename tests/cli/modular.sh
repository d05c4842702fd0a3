#!/usr/bin/env bash
# A modular network with Dale's law end to end (issue 15): examples/
# modular_dale.mnet trains on the centre-out task, resumes and evaluates;
# weights.safetensors holds the masks and signs (the same after the resume:
# the checkpoint stores them, section MASK), every masked weight is exactly
# 0 and every sign holds; the
# run text carries the description; set and a changed file cannot break it.
# usage: modular.sh BUILD_DIR SOURCE_DIR
set -u
build=$(cd "$1" && pwd)
src=$(cd "$2" && pwd)
mnet=$build/tools/mnet
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
check() { # description, condition result
  if [ "$2" -ne 0 ]; then echo "FAIL: $1"; fail=1; else echo "ok: $1"; fi
}
ex=$src/examples/modular_dale.mnet
"$mnet" train "$ex" --batches 40 --out "$tmp/run" > "$tmp/log" 2>&1; check "examples/modular_dale.mnet trains" $?
cp "$tmp/run/weights.safetensors" "$tmp/w40.safetensors"
"$mnet" train --resume --out "$tmp/run" --batches 80 >> "$tmp/log" 2>&1; check "and resumes" $?
"$mnet" eval "$tmp/run" --episodes 8 > "$tmp/eval" 2>&1; check "eval records episodes" $?
grep -q "policy.modules=pmd m1 s1" "$tmp/run/checkpoint.mnetckpt" &&
  grep -aq "policy.connect.pmd.m1=0.5 0.29999999999999999 0 0.02$" "$tmp/run/checkpoint.mnetckpt" &&
  grep -aq "policy.connect.s1.m1=0.5 0.29999999999999999 0 0.01$" "$tmp/run/checkpoint.mnetckpt" &&
  grep -aq "policy.connect.m1.m1=1 0.5 0 0$" "$tmp/run/checkpoint.mnetckpt"
check "the checkpoint's run text holds the description, delays included" $?
grep -aq "MASK" "$tmp/run/checkpoint.mnetckpt"; check "the checkpoint holds the masks (section MASK)" $?
# the delays (arm26 steps of 10 ms) come back from the run text: the
# stored run evaluates to the loss its last validation had
"$mnet" eval "$tmp/run" > "$tmp/val" 2>&1; check "eval runs the validation set" $?
trained=$(grep "^validation:" "$tmp/log" | tail -1 | sed 's/.*mean loss \([0-9.e+-]*\).*/\1/')
again=$(grep "mean loss" "$tmp/val" | head -1 | sed 's/.*mean loss \([0-9.e+-]*\).*/\1/')
[ -n "$trained" ] && [ "$trained" = "$again" ]; check "the reopened run's validation loss is the trained one ($trained, $again)" $?

out=$(/usr/bin/python3 - "$tmp/w40.safetensors" "$tmp/run/weights.safetensors" "$tmp/run/log.csv" <<'PY' 2>&1
import json, struct, sys
import numpy as np

def load(path):
    b = open(path, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    h = json.loads(b[8:8 + n])
    meta = h.pop("__metadata__", {})
    data = b[8 + n:]
    t = {}
    for k, v in h.items():
        dt = {"F32": np.float32, "F64": np.float64}[v["dtype"]]
        s, e = v["data_offsets"]
        t[k] = np.frombuffer(data[s:e], dtype=dt).reshape(v["shape"])
    return t, meta

a, _ = load(sys.argv[1])
w, meta = load(sys.argv[2])
assert meta["mnet.delays"] == "m1>pmd:2 s1>pmd:1 pmd>m1:2 s1>m1:1", meta["mnet.delays"]
assert meta["mnet.candidate"] == "tanh" and meta["mnet.initial_state"] == "zero", meta
assert meta["mnet.modules"] == "pmd:32:0.80000000000000004 m1:48:0.80000000000000004 s1:16:0.80000000000000004", meta
for k in ("gru.mask_ih_l0", "gru.mask_hh_l0", "gru.sign_hh_l0", "fc.mask_weight", "fc.sign_weight"):
    assert np.array_equal(a[k], w[k]), k + " differs after the resume"
bad = 0
for wk, mk, sk in (("gru.weight_ih_l0", "gru.mask_ih_l0", None), ("gru.weight_hh_l0", "gru.mask_hh_l0", "gru.sign_hh_l0"),
                   ("fc.weight", "fc.mask_weight", "fc.sign_weight")):
    bad += int(np.count_nonzero(w[wk][w[mk] == 0]))
    if sk:
        bad += int(np.count_nonzero(w[sk] * w[wk] < 0))
H = 96
m = w["gru.mask_hh_l0"][:H]
# inhibitory units (the last 20 % of each module) project only within it
first = {"pmd": 0, "m1": 32, "s1": 80}
size = {"pmd": 32, "m1": 48, "s1": 16}
for name in first:
    f, n = first[name], size[name]
    inh = range(f + int(np.floor(0.8 * n + 0.5)), f + n)
    outside = [r for r in range(H) if not f <= r < f + n]
    bad += int(np.count_nonzero(m[np.ix_(outside, list(inh))]))
# m1 alone drives the read-out
bad += int(np.count_nonzero(w["fc.mask_weight"][:, :32])) + int(np.count_nonzero(w["fc.mask_weight"][:, 80:]))
kept = float(w["gru.mask_hh_l0"].mean())
print("masked weights and signs: %d violations; %.1f%% of recurrent weights kept; %d Dale weights at 0" %
      (bad, 100 * kept, int(np.count_nonzero((w["gru.sign_hh_l0"] != 0) & (w["gru.weight_hh_l0"] == 0)))))
sys.exit(1 if bad else 0)
PY
)
rc=$?
echo "$out" | sed 's/^/  /'
check "weights.safetensors: the masks survive the resume, masked weights 0, Dale's signs, inhibition local" $rc

/usr/bin/python3 - "$tmp/run/episodes.safetensors" <<'PY'
import json, struct, sys
b = open(sys.argv[1], "rb").read()
meta = json.loads(b[8:8 + struct.unpack("<Q", b[:8])[0]]).get("__metadata__", {})
names = meta.get("names.hidden", "").split(",")
want = ["pmd:%d" % k for k in range(32)] + ["m1:%d" % k for k in range(48)] + ["s1:%d" % k for k in range(16)]
sys.exit(0 if names == want else 1)
PY
check "the recorded episodes name each hidden unit's module (names.hidden)" $?

"$mnet" -c "open $tmp/run/checkpoint.mnetckpt; set policy.hidden 64" > "$tmp/set" 2>&1
grep -q "the module sizes add up to 96, but policy.hidden is 64" "$tmp/set"
check "set policy.hidden cannot break the modules" $?
sed 's/connect pmd(to = m1, fraction = 0.5, p = 0.3,/connect pmd(to = m1, fraction = 0.5, p = 0.4,/' "$ex" > "$tmp/changed.mnet"
"$mnet" train "$tmp/changed.mnet" --resume --out "$tmp/run" --batches 90 > "$tmp/changed.out" 2>&1
[ $? -ne 0 ] && grep -q "is not what the run in .* was trained from" "$tmp/changed.out"
check "a resume from a file with another description is refused" $?
sed 's/size = 16, excitatory/size = 17, excitatory/' "$ex" > "$tmp/bad.mnet"
"$mnet" train "$tmp/bad.mnet" --batches 1 --out "$tmp/bad" > "$tmp/bad.out" 2>&1
[ $? -ne 0 ] && grep -q "bad.mnet:22:3: error: modular network: the module sizes add up to 97, but policy.hidden is 96" "$tmp/bad.out"
check "sizes that do not add up: an error at the policy" $?

# a delay in steps that reaches past the episode (800 ms of 10 ms steps):
# an error at the delay, once the effector's step is known
sed 's/connect m1(to = pmd, fraction = 0.3, p = 0.2, delay = 20 ms)/connect m1(to = pmd, fraction = 0.3, p = 0.2, delay = 80)/' \
  "$ex" > "$tmp/late.mnet"
"$mnet" train "$tmp/late.mnet" --batches 1 --out "$tmp/late" > "$tmp/late.out" 2>&1
[ $? -ne 0 ] && grep -q "late.mnet:30:59: error: connection 'm1' -> 'pmd': a delay of 80 steps is not shorter than the episode (80 steps of 10 ms)" "$tmp/late.out"
check "a delay in steps past the episode: an error at the delay" $?
[ ! -e "$tmp/late" ]; check "and no run directory" $?

# the rectified-tanh candidate and a learned initial state, set from the
# command line: trained, stored (checkpoint header, weights.safetensors's
# gru.h0), resumed and evaluated to the trained loss
"$mnet" train "$ex" --batches 6 --out "$tmp/opt" --set train.batch=8 --set policy.candidate=rectified_tanh \
  --set policy.initial_state=learned > "$tmp/opt.log" 2>&1; check "rectified tanh, learned h0: trains" $?
"$mnet" train --resume --out "$tmp/opt" --batches 10 >> "$tmp/opt.log" 2>&1; check "and resumes" $?
"$mnet" train "$ex" --batches 10 --out "$tmp/opt1" --set train.batch=8 --set policy.candidate=rectified_tanh \
  --set policy.initial_state=learned > "$tmp/opt1.log" 2>&1
cmp -s "$tmp/opt/weights.safetensors" "$tmp/opt1/weights.safetensors"
check "resumed: the uninterrupted run's weights, bit for bit" $?
"$mnet" eval "$tmp/opt" > "$tmp/opt.val" 2>&1
trained=$(grep "^validation:" "$tmp/opt.log" | tail -1 | sed 's/.*mean loss \([0-9.e+-]*\).*/\1/')
again=$(grep "mean loss" "$tmp/opt.val" | head -1 | sed 's/.*mean loss \([0-9.e+-]*\).*/\1/')
[ -n "$trained" ] && [ "$trained" = "$again" ]; check "reopened: the trained validation loss ($trained, $again)" $?
/usr/bin/python3 - "$tmp/opt/weights.safetensors" <<'PY'
import json, struct, sys
import numpy as np
b = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", b[:8])[0]
h = json.loads(b[8:8 + n])
meta = h["__metadata__"]
assert meta["mnet.candidate"] == "rectified_tanh" and meta["mnet.initial_state"] == "learned", meta
t = h["gru.h0"]
assert t["shape"] == [1, 96], t
s, e = t["data_offsets"]
h0 = np.frombuffer(b[8 + n + s:8 + n + e], dtype=np.float32)
assert np.count_nonzero(h0) > 0, "the learned h0 did not move from 0"
PY
check "weights.safetensors: gru.h0 (trained away from 0) and the options" $?
grep -aq "^run.policy.candidate=rectified_tanh$" "$tmp/opt/checkpoint.mnetckpt" &&
  grep -aq "^run.policy.initial_state=learned$" "$tmp/opt/checkpoint.mnetckpt"
check "the run text holds the options" $?
exit $fail
