#!/usr/bin/env bash
# plot.sh - `mnet plot` end to end: a short training run (a real log.csv),
# its episodes recorded by `mnet eval --episodes N --out FILE` (when this
# mnet has it; else runtime/record.c's sample from test_record --write, else
# the fixture of tests/tools/test_plot.c), then every
# figure must parse (xmllint --noout) and render to a PNG that is not blank
# (rsvg-convert, then its pixels through `convert PNG ppm:-`; else a PNG
# well above the size of a blank render).  Bad input through the command
# line: a message, a non-zero status, no figures directory.
#
# `mnet plot` runs as the mnet binary's command when mnet.c dispatches it,
# else through test_plot's driver (test_plot plot ARGS, the same
# mnet_plot_main).
#
#   tests/cli/plot.sh BUILD_DIR SOURCE_DIR
set -u
build=${1:?usage: plot.sh BUILD_DIR SOURCE_DIR}
src=${2:?usage: plot.sh BUILD_DIR SOURCE_DIR}
mnet="$build/tools/mnet"
driver="$build/tests/tools_test_plot"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/plot.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
[ -x "$mnet" ] || { echo "FAIL: $mnet is not built" >&2; exit 1; }
[ -x "$driver" ] || { echo "FAIL: $driver is not built" >&2; exit 1; }
cd "$src" || exit 1

status=0
fail() { echo "FAIL: $*" >&2; status=1; }

if "$mnet" plot --help >/dev/null 2>&1; then
  plot=("$mnet" plot)
else
  echo "note: this mnet does not dispatch 'plot' yet: test_plot's driver runs mnet_plot_main"
  plot=("$driver" plot)
fi

# ---- a run: log.csv from training, with a curl field ----
cat >"$tmp/pm.mnet" <<'MNET'
import "ReluPointMass24.mnet";
task t {
  effector ReluPointMass24;
  kind centre_out_reach;
  duration 500 ms;
  validation distance = 10 cm, every = 45 deg;
  policy gru(hidden = 16);
  train batch = 16, batches = 3, seed = 5;
}
MNET
run="$tmp/run"
if ! "$mnet" train "$tmp/pm.mnet" --out "$run" --set load.curl=15 >"$tmp/train.out" 2>&1; then
  echo "FAIL: mnet train failed" >&2
  sed 's/^/    /' "$tmp/train.out" >&2
  exit 1
fi

# ---- the episodes: recorded by mnet eval; else runtime/record.c's own
# sample (test_record --write: the real writer, a mock effector); else the
# fixture of test_plot ----
recorder="$build/tests/runtime_test_record"
if "$mnet" eval "$run" --episodes 8 --out "$run/episodes.safetensors" >"$tmp/eval.out" 2>&1; then
  recorded="mnet eval"
elif grep -q "unknown or incomplete option\|usage" "$tmp/eval.out"; then
  if [ -x "$recorder" ] && mkdir -p "$tmp/rec" && "$recorder" --write "$tmp/rec" >/dev/null 2>&1; then
    echo "note: this mnet eval does not record episodes yet: runtime/record.c's sample instead"
    cp "$tmp/rec/episodes.safetensors" "$run/"
    recorded="test_record --write"
  else
    echo "note: this mnet eval does not record episodes yet: the fixture of test_plot instead"
    "$driver" --write-fixture "$tmp/fx" 8 50 16 --curl 15 >/dev/null || { echo "FAIL: fixture" >&2; exit 1; }
    cp "$tmp/fx/episodes.safetensors" "$run/"
    recorded="fixture"
  fi
else
  fail "mnet eval --episodes 8 --out failed"
  sed 's/^/    /' "$tmp/eval.out" >&2
  exit 1
fi
n_episodes=$(head -c 65536 "$run/episodes.safetensors" | grep -ao '"n_episodes":"[0-9]*"' |
             head -1 | tr -dc '0-9')
[ -n "$n_episodes" ] || n_episodes=8

if ! "${plot[@]}" "$run" --episode 1 >"$tmp/plot.out" 2>&1; then
  fail "mnet plot $run failed"
  sed 's/^/    /' "$tmp/plot.out" >&2
  exit 1
fi
figs="$run/figures"
want="loss paths speed muscles hidden_heatmap hidden_pca replay"
grep -q "body.svg skipped" "$tmp/plot.out" || want="$want body"
for f in $want; do
  [ -s "$figs/$f.svg" ] || fail "$f.svg was not written"
done
# the curl field when the recording's run text has one
if head -c 65536 "$run/episodes.safetensors" | tr -d '\000' | grep -q 'load.curl=[1-9]'; then
  grep -q 'id="curl-field"' "$figs/paths.svg" || fail "paths.svg: the run's curl field is not drawn"
fi
if ls "$figs" | grep -q '\.tmp\.'; then fail "temporary files left in $figs"; fi

# ---- each figure parses and renders, not blank ----
have_xmllint=$(command -v xmllint || true)
have_rsvg=$(command -v rsvg-convert || true)
# the pixels: `convert PNG ppm:-` (ImageMagick, or the container's
# stand-in that does only this) gives raw RGB; a figure must have more
# than 0.5 % of its bytes off white.  Without it, the PNG's size against a
# blank page's (weaker).
have_ppm=""
if [ -n "$have_rsvg" ]; then
  printf '<svg xmlns="http://www.w3.org/2000/svg" width="60" height="40"><rect width="100%%" height="100%%" fill="#fff"/></svg>\n' >"$tmp/white.svg"
  rsvg-convert -o "$tmp/white.png" "$tmp/white.svg" &&
    convert "$tmp/white.png" ppm:- >"$tmp/white.ppm" 2>/dev/null && have_ppm=1
  [ -n "$have_ppm" ] || echo "note: no 'convert PNG ppm:-' (ImageMagick): a figure's PNG is compared with a blank one's size"
fi
# off-white bytes of a PPM (P6, 8 bits) and its pixel bytes
ppm_ink() {
  local hdr total
  hdr=$(head -n 3 "$1" | wc -c); total=$(stat -c %s "$1")
  echo "$(tail -c +$((hdr + 1)) "$1" | tr -d '\377' | wc -c) $((total - hdr))"
}
if [ -n "$have_ppm" ]; then
  set -- $(ppm_ink "$tmp/white.ppm")
  [ "$1" -eq 0 ] || fail "the blank-page check is broken: a white page has $1 off-white bytes"
fi
for svg in "$figs"/*.svg; do
  name=$(basename "$svg")
  if [ -n "$have_xmllint" ] && ! xmllint --noout "$svg" 2>"$tmp/xml.err"; then
    fail "$name does not parse:"; sed 's/^/    /' "$tmp/xml.err" | head -5 >&2
    continue
  fi
  [ -n "$have_rsvg" ] || continue
  png="$tmp/${name%.svg}.png"
  if ! rsvg-convert -o "$png" "$svg" 2>"$tmp/rsvg.err"; then
    fail "$name does not render:"; sed 's/^/    /' "$tmp/rsvg.err" | head -5 >&2
    continue
  fi
  if [ -n "$have_ppm" ]; then
    convert "$png" ppm:- >"$tmp/fig.ppm"
    set -- $(ppm_ink "$tmp/fig.ppm")
    [ $(($1 * 200)) -gt "$2" ] || fail "$name renders (almost) blank: $1 of $2 bytes off white"
  else
    # a white page of the same size, rendered the same way
    wh=$(sed -n 's/.*<svg [^>]*width="\([0-9.]*\)" height="\([0-9.]*\)".*/\1 \2/p' "$svg" | head -1)
    set -- $wh
    printf '<svg xmlns="http://www.w3.org/2000/svg" width="%s" height="%s"><rect width="100%%" height="100%%" fill="#fff"/></svg>\n' \
      "$1" "$2" >"$tmp/blank.svg"
    rsvg-convert -o "$tmp/blank.png" "$tmp/blank.svg"
    size=$(stat -c %s "$png"); blank=$(stat -c %s "$tmp/blank.png")
    [ "$size" -gt $((blank * 3)) ] || fail "$name renders (almost) blank: $size bytes, a blank page $blank"
  fi
done

# ---- a modular network: the heat map shows its modules ----
# A plain network's figures have no module marks and no hidden_pca_modules.svg.
grep -q 'class="module-' "$figs/hidden_heatmap.svg" && fail "plain network: hidden_heatmap.svg has module marks"
[ -e "$figs/hidden_pca_modules.svg" ] && fail "plain network: hidden_pca_modules.svg was written"
grep -q "hidden_pca_modules" "$tmp/plot.out" && fail "plain network: a note about hidden_pca_modules.svg"
cat >"$tmp/mod.mnet" <<'MNET'
import "ReluPointMass24.mnet";
task t {
  effector ReluPointMass24;
  kind centre_out_reach;
  duration 300 ms;
  validation distance = 10 cm, every = 90 deg;
  policy gru(hidden = 12) {
    module pmd(size = 4, excitatory = 0.75);
    module m1(size = 5);
    module s1(size = 3);
    input goal(to = pmd);
    connect pmd(to = m1, fraction = 0.5, p = 0.5);
    connect s1(to = [pmd, m1]);
    readout m1;
  }
  train batch = 8, batches = 2, seed = 3;
}
MNET
mrun="$tmp/mrun"
mfigs="$mrun/figures"
if ! "$mnet" train "$tmp/mod.mnet" --out "$mrun" >"$tmp/mtrain.out" 2>&1; then
  fail "mnet train (a modular network) failed"; sed 's/^/    /' "$tmp/mtrain.out" >&2
elif [ "$recorded" != "mnet eval" ]; then
  echo "note: no episodes recorded by mnet eval: the modular heat map is not checked"
elif ! "$mnet" eval "$mrun" --episodes 4 --out "$mrun/episodes.safetensors" >"$tmp/meval.out" 2>&1 ||
     ! "${plot[@]}" "$mrun" >"$tmp/mplot.out" 2>&1; then
  fail "mnet eval or plot (a modular network) failed"; sed 's/^/    /' "$tmp/meval.out" "$tmp/mplot.out" >&2
else
  hm="$mfigs/hidden_heatmap.svg"
  for f in hidden_heatmap hidden_pca hidden_pca_modules; do
    [ -s "$mfigs/$f.svg" ] || fail "modular network: $f.svg was not written"
    if [ -n "$have_xmllint" ] && ! xmllint --noout "$mfigs/$f.svg" 2>/dev/null; then
      fail "modular network: $f.svg does not parse"
    fi
  done
  # xp FILE XPATH: the value of an XPath 1.0 expression (namespace-free names)
  xp() { xmllint --xpath "$2" "$1" 2>/dev/null; }
  if [ -n "$have_xmllint" ]; then
    in_map="//*[local-name()='g'][@id='heatmap']"
    label="$in_map//*[local-name()='text'][@class='module-label']"
    sep="$in_map//*[local-name()='line'][@class='module-sep']"
    [ "$(xp "$hm" "count($label)")" = 3 ] || fail "modular heat map: $(xp "$hm" "count($label)") module labels, expected 3"
    [ "$(xp "$hm" "count($sep)")" = 2 ] || fail "modular heat map: $(xp "$hm" "count($sep)") separator lines, expected 2"
    # each label names its module, in unit order, with its size; the
    # separators sit at the rows where a module starts
    i=0
    for want in pmd:4 m1:5 s1:3; do
      i=$((i + 1))
      got="$(xp "$hm" "string(($label)[$i])"):$(xp "$hm" "string(($label)[$i]/@data-units)")"
      [ "$got" = "$want" ] || fail "modular heat map: label $i is '$got', expected '$want' (name:units)"
    done
    rows="$(xp "$hm" "string(($sep)[1]/@data-row)") $(xp "$hm" "string(($sep)[2]/@data-row)")"
    [ "$rows" = "4 9" ] || fail "modular heat map: separators at rows '$rows', expected '4 9'"
    [ "$(xp "$mfigs/hidden_pca_modules.svg" "count(//*[@class='module-pca'])")" = 3 ] ||
      fail "hidden_pca_modules.svg: not one panel per module"
  else
    [ "$(grep -c 'class="module-label"' "$hm")" = 3 ] || fail "modular heat map: not 3 module labels"
    [ "$(grep -c 'class="module-sep"' "$hm")" = 2 ] || fail "modular heat map: not 2 separator lines"
    for m in pmd m1 s1; do grep -q ">$m</text>" "$hm" || fail "modular heat map: no label '$m'"; done
  fi
  # sorted within a module, never across: rows 0-3 hold pmd's units 0-3,
  # rows 4-8 m1's 4-8, rows 9-11 s1's 9-11
  order=$(sed -n 's:.*<desc id="heatmap-order">\([0-9 ]*\)</desc>.*:\1:p' "$hm")
  grouped=$(awk -v o="$order" 'BEGIN { n = split(o, u, " "); ok = n == 12
      for (r = 1; r <= n; r++) { m = u[r] < 4 ? 0 : u[r] < 9 ? 1 : 2
                                 if (m != (r <= 4 ? 0 : r <= 9 ? 1 : 2)) ok = 0 }
      print ok }')
  [ "$grouped" = 1 ] || fail "modular heat map: rows '$order' are not grouped by module (pmd 0-3, m1 4-8, s1 9-11)"
fi

# ---- bad input: a message, non-zero, nothing written ----
refused() {  # what, expected message, args...
  local what=$1 msg=$2; shift 2
  rm -rf "$tmp/out"
  if "${plot[@]}" "$@" --out "$tmp/out" >"$tmp/bad.out" 2>&1; then
    fail "$what: accepted"
  elif ! grep -q -- "$msg" "$tmp/bad.out"; then
    fail "$what: the message does not say '$msg':"; sed 's/^/    /' "$tmp/bad.out" >&2
  elif [ -e "$tmp/out" ]; then
    fail "$what: $tmp/out was created"
  fi
}
refused "a missing directory" "No such file or directory" "$tmp/nowhere"
head -c 1000 "$run/episodes.safetensors" >"$tmp/cut.safetensors"
refused "a truncated file" "cut.safetensors" "$tmp/cut.safetensors"
refused "network weights" "not a recording of mnet episodes" "$run/weights.safetensors"
refused "an episode past the end" "holds episodes 0 to $((n_episodes - 1))" "$run" --episode "$n_episodes"
if "${plot[@]}" >/dev/null 2>&1; then fail "no arguments: accepted"; fi

[ $status -eq 0 ] && echo "plot: $(ls "$figs" | wc -l) figures parse and render (episodes by $recorded)"
exit $status
