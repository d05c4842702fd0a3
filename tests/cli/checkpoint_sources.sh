#!/usr/bin/env bash
# A checkpoint's stored sources are compiled from memory: opening, evaluating
# or resuming a run writes and deletes no file outside what the user named,
# always compiles exactly the stored sources (however often it was resumed),
# and leaves nothing in /tmp.  A crafted checkpoint (names with .., absolute
# paths) cannot steer a write.  (issue 11, items 1-3 and 6)
# usage: checkpoint_sources.sh BUILD_DIR SOURCE_DIR
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
# every file under a tree with its checksum (the tree the test owns)
snapshot() { (cd "$1" && find . \( -path ./a/b/out -o -name ck2 \) -prune -o -print0 | sort -z | xargs -0 -I{} sh -c 'if [ -f "{}" ]; then cksum "{}"; else echo "{}"; fi'); }
# .mnet files the old restore wrote under /tmp/mnet_ckpt_*/ since the
# test began (other tests make /tmp/mnet_ckpt_* directories of their own,
# with no .mnet file in them)
stamp=$tmp/stamp; touch "$stamp"
tmp_entries() { find /tmp -maxdepth 6 -path '/tmp/mnet_ckpt_*' -name '*.mnet' -newer "$stamp" 2>/dev/null | wc -l; }

# the user's model lives outside the run's directory, and imports a file of
# its own beside it (a relative import) as well as the library
mkdir -p "$tmp/victim" "$tmp/a/b"
cat > "$tmp/victim/extra.mnet" <<'MNET'
const victim_hidden = 6;
MNET
cat > "$tmp/victim/m.mnet" <<'MNET'
import "ReluPointMass24.mnet";
import "extra.mnet";
task pm {
  effector ReluPointMass24;
  duration 100 ms;
  policy gru(hidden = victim_hidden);
  train batch = 2, batches = 4, seed = 3;
}
MNET
cp "$tmp/victim/m.mnet" "$tmp/m.orig"
before_tmp=$(tmp_entries)
(cd "$tmp/a/b" && "$mnet" train ../../victim/m.mnet --out out >/dev/null 2>&1)
check "train from ../../victim/m.mnet" $?
# the user edits both files after training
echo "# edited by the user" >> "$tmp/victim/m.mnet"
echo "const victim_hidden = 7;" > "$tmp/victim/extra.mnet"
snap=$(snapshot "$tmp")
e1=$(cd "$tmp/a/b" && "$mnet" eval out 2>&1); check "eval the run" $?
(cd "$tmp/a/b" && "$mnet" -c "open out/checkpoint.mnetckpt; train 1; eval" >/dev/null 2>&1); check "open it in the REPL" $?
(cd "$tmp/a/b" && "$mnet" train --resume --out out --batches 6 >/dev/null 2>&1); check "resume it" $?
grep -q "edited by the user" "$tmp/victim/m.mnet"; check "the user's edited file is still there, as edited" $?
[ "$(cat "$tmp/victim/extra.mnet")" = "const victim_hidden = 7;" ]; check "... and its import too" $?
[ "$snap" = "$(snapshot "$tmp")" ]; check "no file outside the run's directory was written or deleted" $?
# the run compiled the stored sources, not the edited ones (hidden 6, not 7)
e2=$(cd "$tmp/a/b" && "$mnet" eval out 2>&1)
echo "$e2" | grep -q "opened .*6 batches trained"; check "the resumed run holds 6 batches" $?
echo "$e2" | grep -q "warning"; [ $? -ne 0 ]; check "the stored sources rebuild with their own hash" $?
"$mnet" -c "open $tmp/a/b/out/checkpoint.mnetckpt; show" 2>&1 | grep -q "policy.hidden  *6$"
check "the network is the stored one (6 units, the edited import says 7)" $?

# a crafted checkpoint: stored names with .., absolute paths and a name
# that is a symlink on this machine; opening it must write nothing anywhere
mkdir -p "$tmp/c"
ln -s "$tmp/victim" "$tmp/c/link"
cat > "$tmp/c/craft.mnet" <<'MNET'
import "ReluPointMass24.mnet";
task pm {
  effector ReluPointMass24;
  duration 100 ms;
  policy gru(hidden = 4);
  train batch = 2, batches = 2;
}
MNET
"$mnet" -c "load $tmp/c/craft.mnet; train 1; save $tmp/c/ok.ckpt" >/dev/null 2>&1
check "a run to craft from" $?
# rename the stored main file to names that point outside (same length
# would need a new CRC: rewrite through the REPL's own save instead, by
# loading the model under those names)
for name in "../../../tmp/victim_x/m.mnet" "/etc/mnet_victim.mnet" "link/m.mnet"; do
  d=$tmp/c/$(echo "$name" | tr '/.' '__')
  mkdir -p "$d/x/y/z"
  case "$name" in
    /*) continue ;; # an absolute stored name is covered below
  esac
  # a file reached under that relative name from $d/x/y/z
  target=$(cd "$d/x/y/z" && realpath -m "$name")
  mkdir -p "$(dirname "$target")" 2>/dev/null
  cp "$tmp/c/craft.mnet" "$target" 2>/dev/null || continue
  (cd "$d/x/y/z" && "$mnet" -c "load $name; train 1; save $d/ck" >/dev/null 2>&1)
  echo "# the user's own file" >> "$target"
  snap=$(snapshot "$tmp"); sum=$(cksum < "$target")
  (cd / && "$mnet" -c "open $d/ck; train 1; save $d/ck2" >/dev/null 2>&1)
  check "a checkpoint storing '$name' opens from another directory" $?
  [ "$sum" = "$(cksum < "$target")" ] && [ "$snap" = "$(snapshot "$tmp")" ]
  check "... and writes nothing outside (the file it names is untouched)" $?
  rm -rf "${target%/m.mnet}" 2>/dev/null
done
# an absolute stored name: the library's own files are stored that way
strings "$tmp/c/ok.ckpt" | grep -q "^$src/models/lib/muscles.mnet" \
  || strings "$tmp/c/ok.ckpt" | grep -q "/models/lib/muscles.mnet"
check "library imports are stored under their absolute names" $?
# a private copy of the library beside a model: its imports are stored
# under absolute names; with the copy gone, the run still opens (the names
# are keys, never read).  The repository's own files are never touched:
# other tests read them at the same time.
mkdir -p "$tmp/own/lib"
cp "$src/models/ReluPointMass24.mnet" "$tmp/own/"
cp "$src/models/lib/"*.mnet "$tmp/own/lib/"
cp "$tmp/c/craft.mnet" "$tmp/own/m.mnet"
"$mnet" -c "load $tmp/own/m.mnet; train 1; save $tmp/own.ckpt" > /dev/null 2>&1
strings "$tmp/own.ckpt" | grep -q "^$tmp/own/lib/muscles.mnet"; check "the private library's files are stored under their absolute names" $?
rm -rf "$tmp/own"
out=$("$mnet" -c "open $tmp/own.ckpt; train 1" 2>&1); rc=$?
check "an absolute stored name is a key: the run opens with those files gone" $rc

# 500 resumes of one run: the stored names never grow, every open works
ck=$tmp/c/ok.ckpt
size0=$(strings "$ck" | grep -c "mnet")
script=""
for i in $(seq 500); do script="$script open $ck; train 1; save $ck;"; done
out=$("$mnet" -c "$script" 2>&1); rc=$?
check "500 open/train/save rounds" $rc
[ "$(echo "$out" | grep opened | tail -1 | grep -o '[0-9]* batches trained')" = "500 batches trained" ]
check "... each one resumed the last" $?
"$mnet" -c "open $ck" >/dev/null 2>&1; check "... and the run still opens" $?
strings "$ck" | grep -q "mnet_ckpt_\|/tmp/mnet"; [ $? -ne 0 ]; check "no temporary path is stored in the checkpoint" $?
[ "$(strings "$ck" | grep -c mnet)" = "$size0" ]; check "the stored names did not grow" $?
[ "$(tmp_entries)" = "$before_tmp" ]; check "nothing left in /tmp" $?

# --resume with another FILE is refused with what differs
cat > "$tmp/other.mnet" <<'MNET'
import "ReluPointMass24.mnet";
task pm {
  effector ReluPointMass24;
  duration 100 ms;
  policy gru(hidden = 6);
  train batch = 2, batches = 4, seed = 9;
}
MNET
out=$(cd "$tmp/a/b" && "$mnet" train "$tmp/other.mnet" --resume --out out 2>&1); rc=$?
[ $rc -ne 0 ]; check "resume with another FILE is refused" $?
echo "$out" | grep -q "sources differ"; check "... saying the sources differ" $?
out=$(cd "$tmp/a/b" && "$mnet" train --resume --out out --seed 7 2>&1); rc=$?
[ $rc -ne 0 ] && echo "$out" | grep -q "seed 3"; check "resume with another --seed is refused, naming the run's" $?

exit $fail
