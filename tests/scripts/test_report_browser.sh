#!/usr/bin/env bash
# report.html and the serve index in a real browser: Debian's Chromium, headless, driven by
# playwright-core (tests/browser). Checks the DOM (the verdict, the highlighted operation,
# one shaded region per fault, hovering shows the history line), that the console shows no
# errors, and keeps screenshots in $BUILD/test-logs/.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
SB=${SPLITBRAIN:-$PWD/$BUILD/splitbrain}
command -v chromium >/dev/null || { echo "SKIP chromium is missing (scripts/install-deps.sh installs it)"; exit 77; }
command -v node >/dev/null || { echo "SKIP node is missing (scripts/install-deps.sh installs it)"; exit 77; }
[ -d tests/browser/node_modules/playwright-core ] ||
	{ echo "SKIP tests/browser needs 'npm ci' (scripts/install-deps.sh runs it)"; exit 77; }
logs=$PWD/$BUILD/test-logs
mkdir -p "$logs"
tmp=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
rc=0

st=$tmp/store
mkdir -p "$st/register-invalid" "$st/register-valid"
cp -r tests/fixtures/stores/invalid "$st/register-invalid/20261130T071500"
cp -r tests/fixtures/stores/valid "$st/register-valid/20261130T081500"
for r in "$st"/*/2*; do "$SB" report "$r" >/dev/null || rc=1; done

for kind in invalid valid; do
	echo "== report of the $kind run"
	node tests/browser/check.js report "$st/register-$kind"/2*/report.html \
		"$logs/report-$kind.png" "$kind" || rc=1
done

echo "== check --html of a history the search cannot decide in 1 s"
# 28 writes of distinct values and 28 reads of them, all concurrent; then reads of 1 and of 2
# one after the other, which no order explains (as in test_check_timeout.sh)
awk 'BEGIN {
	for (t = 0; t < 2; t++)
		for (i = 0; i < 28; i++) {
			printf "{\"process\":%d,\"type\":\"%s\",\"f\":\"write\",\"value\":%d}\n", i, t ? "ok" : "invoke", i + 1
			printf "{\"process\":%d,\"type\":\"%s\",\"f\":\"read\",\"value\":%s}\n", 100 + i, t ? "ok" : "invoke", t ? i + 1 : "null"
		}
	for (v = 1; v <= 2; v++)
		printf "{\"process\":1000,\"type\":\"invoke\",\"f\":\"read\",\"value\":null}\n{\"process\":1000,\"type\":\"ok\",\"f\":\"read\",\"value\":%d}\n", v
}' >"$tmp/hard.jsonl"
"$SB" check --model register --timeout 1 --html "$tmp/undecided.html" "$tmp/hard.jsonl" >/dev/null
[ $? -eq 2 ] || { echo "FAIL the hard history was not unknown"; rc=1; }
node tests/browser/check.js undecided "$tmp/undecided.html" "$logs/check-undecided.png" || rc=1

echo "== serve's index"
"$SB" serve --store "$st" --bind 127.0.0.1:0 >"$tmp/out" 2>"$tmp/err" &
pid=$!
port=
for _ in $(seq 50); do
	port=$(sed -n 's|.*http://127.0.0.1:\([0-9]*\)/.*|\1|p' "$tmp/out")
	[ -n "$port" ] && break
	sleep 0.1
done
[ -n "$port" ] || { echo "serve did not start: $(cat "$tmp/err")"; exit 1; }
# the browser must reach loopback directly, whatever proxy the environment names
NO_PROXY=127.0.0.1 no_proxy=127.0.0.1 node tests/browser/check.js index \
	"http://127.0.0.1:$port/" "$logs/serve-index.png" || rc=1
kill "$pid"; wait "$pid"; pid=
[ $rc -eq 0 ] && echo "browser checks passed" || echo "browser checks FAILED"
exit $rc
