#!/usr/bin/env bash
# docs/experiments.md end to end: every ```sh block of the page, run as
# written (build/ is the build under test), then what the page promises.
# usage: experiments.sh BUILD_DIR SOURCE_DIR
set -u
build=$(cd "$1" && pwd)
src=$(cd "$2" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
check() { # description, condition result
  if [ "$2" -ne 0 ]; then echo "FAIL: $1"; fail=1; else echo "ok: $1"; fi
}
py=/usr/bin/python3
if ! "$py" -c "import numpy" 2>/dev/null; then
  echo "skip: docs/experiments.md loads the arrays with numpy (apt-get install python3-numpy)"
  exit 0
fi
# the page's world: the repository's files, the build under test
ln -s "$build" "$tmp/build"
ln -s "$src/examples" "$tmp/examples"
ln -s "$src/tests" "$tmp/tests"
mkdir -p "$tmp/bin" && ln -s "$py" "$tmp/bin/python3"
awk '/^```sh$/ { on = 1; next } /^```$/ { on = 0; next } on' "$src/docs/experiments.md" > "$tmp/page.sh"
[ "$(grep -c 'build/tools/mnet' "$tmp/page.sh")" -ge 6 ]; check "the page's commands were found" $?
out=$(cd "$tmp" && PATH="$tmp/bin:$PATH" bash -e page.sh 2>&1); rc=$?
check "every command of docs/experiments.md runs ($(echo "$out" | tail -2 | tr '\n' ' ' | head -c 200))" $rc
for f in loss paths body speed muscles hidden_heatmap hidden_pca replay; do
  xmllint --noout "$tmp/runs/null/figures_curl/$f.svg" 2>/dev/null || [ "$f" = loss ]
  check "figures_curl/$f.svg parses" $?
done
xmllint --noout "$tmp/runs/null/figures/loss.svg"; check "figures/loss.svg parses" $?
line=$(echo "$out" | grep "lateral deviation")
null=$(echo "$line" | sed 's/.*null field: \([0-9.]*\) m.*/\1/'); curl=$(echo "$line" | sed 's/.*curl field: \([0-9.]*\) m.*/\1/')
awk -v a="$null" -v b="$curl" 'BEGIN { exit !(a > 0 && b > 0 && a != b) }'
check "the probe in the curl field changes the hand paths ($line)" $?
echo "$out" | grep -q "catch trials: 32 of 32"; check "the catch probe recorded 32 catch trials" $?
exit $fail
