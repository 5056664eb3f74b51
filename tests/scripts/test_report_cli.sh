#!/usr/bin/env bash
# `splitbrain report` and `splitbrain check --html` from the command line: exit codes, where
# the page goes, and that it is one self-contained file (nothing fetched from elsewhere).
set -u
cd "$(dirname "$0")/../.."
SB=${SPLITBRAIN:-build/splitbrain}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0 passes=0
check() { if eval "$2"; then echo "ok: $1"; passes=$((passes + 1)); else echo "FAIL: $1"; fails=$((fails + 1)); fi; }

cp -r tests/fixtures/stores/invalid "$tmp/run"
out=$("$SB" report "$tmp/run"); rc=$?
check "report exits 0" '[ $rc -eq 0 ]'
check "report prints the page's path" '[ "$out" = "$tmp/run/report.html" ]'
check "report.html is written into the run" '[ -s "$tmp/run/report.html" ]'
check "the page names the verdict" 'grep -q "id=\"verdict\">invalid<" "$tmp/run/report.html"'
# self-contained: no script, style, image or font from a URL
check "nothing fetched from the network" '! grep -Eiq "(src|href)=\"(https?:)?//" "$tmp/run/report.html"'
"$SB" report tests/fixtures/stores/valid --out "$tmp/valid.html" >/dev/null; rc=$?
check "--out writes elsewhere" '[ $rc -eq 0 ] && grep -q "id=\"verdict\">valid<" "$tmp/valid.html"'
"$SB" report "$tmp/nothing-here" 2>"$tmp/err"; rc=$?
check "a missing run directory exits 255" '[ $rc -eq 255 ] && grep -q "not a run directory" "$tmp/err"'
"$SB" report 2>/dev/null; rc=$?
check "no argument exits 254" '[ $rc -eq 254 ]'
"$SB" report a b 2>/dev/null; rc=$?
check "two arguments exit 254" '[ $rc -eq 254 ]'
"$SB" report --help | grep -q "usage: splitbrain report"; rc=$?
check "--help" '[ $rc -eq 0 ]'

"$SB" check --model kv --initial 0 --html "$tmp/check.html" tests/fixtures/stores/invalid/history.jsonl >/dev/null; rc=$?
check "check --html keeps the verdict's exit code" '[ $rc -eq 1 ]'
check "check --html draws the key view" 'grep -q "id=\"keyview-0\"" "$tmp/check.html" && grep -q "class=\"op ok bad" "$tmp/check.html"'
"$SB" check --model kv --initial 0 --html "$tmp/nodir/x.html" tests/fixtures/stores/valid/history.jsonl >/dev/null 2>"$tmp/err"; rc=$?
check "check --html to an unwritable place exits 255" '[ $rc -eq 255 ] && grep -q -- "--html" "$tmp/err"'

echo "$passes passed, $fails failed"
[ $fails -eq 0 ]
