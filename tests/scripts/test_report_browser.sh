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

# A run whose checker left key 1 undecided: the valid run's results.json, with key 1 made
# unknown and its "stalled" naming an operation of the history (as `check --json` writes it),
# and the run's verdict and anomalies as the runner writes them.
mkdir -p "$st/register-unknown"
cp -r tests/fixtures/stores/valid "$st/register-unknown/20261130T061500"
python3 - "$st/register-unknown/20261130T061500" <<'PY' || rc=1
import json, sys
run = sys.argv[1]
events = [json.loads(l) for l in open(run + "/history.jsonl")]
ops, open_ = [], {}
for n, e in enumerate(events, 1):
    if e.get("key") != 1 or e["process"] == "nemesis":
        continue
    if e["type"] == "invoke":
        open_[e["process"]] = (n, e)
    elif e["process"] in open_:
        ln, inv = open_.pop(e["process"])
        ops.append({"line": ln, "process": e["process"], "type": e["type"], "f": e["f"],
                    "value": e.get("value"), "time": inv["time"], "completed_line": n,
                    "completed_time": e["time"]})
bad = [o for o in ops if o["type"] == "ok" and o["f"] == "read"][len(ops) // 4]
conc = [o for o in ops if o is not bad and o["line"] < bad["completed_line"]
        and o["completed_line"] > bad["line"]]
why = "the time limit was reached before this key was decided"
d = json.load(open(run + "/results.json"))
d["verdict"], d["exit"] = "unknown", 2
d["anomalies"] = [{"kind": "unknown", "key": 1, "text": why + "; no order the search tried got "
                   "past the read of process %d (line %d, completed at line %d)"
                   % (bad["process"], bad["line"], bad["completed_line"])}]
c = d["checker"]
c["verdict"], c["keys_valid"], c["keys_unknown"] = "unknown", 2, 1
for k in c["keys"]:
    if k["key"] == 1:
        k.update(verdict="unknown", why=why,
                 stalled={"op": bad, "concurrent_total": len(conc), "concurrent": conc[:32],
                          "states": [3]})
json.dump(d, open(run + "/results.json", "w"), indent=2)
print("undecided key 1: the read at line %d, %d concurrent" % (bad["line"], len(conc)))
PY
"$SB" report "$st/register-unknown"/2* >/dev/null || rc=1

for kind in invalid valid unknown; do
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
