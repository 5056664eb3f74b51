#!/usr/bin/env bash
# Report benchmark: report.html for runs of 10k, 100k and 1M operations. For each: the time
# `splitbrain report` takes (reading the history included), the page's size, and how long
# headless Chromium takes to load it (navigation to the load event, median of 3; each
# browser is started before the clock starts). The runs are made from the history generator
# (10 keys, one stale read injected so the page has a key view, a kill / start every 1/20
# of the run) with results.json holding `splitbrain check --json`'s result.
#   bench/bench_report.sh              all sizes (needs ~150 MB of scratch space in $BUILD)
#   SIZES="10000 100000" bench/bench_report.sh
# Goal (DESIGN): 1M operations -> under 10 MB, loaded in under 3 s. Figures depend on the
# machine's load: the load average is printed before and after.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
SB=${SPLITBRAIN:-$BUILD/splitbrain}
HG=$BUILD/tools/histgen
SIZES=${SIZES:-10000 100000 1000000}
for b in "$SB" "$HG"; do
	[ -x "$b" ] || { echo "bench_report: $b is not built (make BUILD=$BUILD)"; exit 1; }
done
browser=1
if ! command -v chromium >/dev/null || ! [ -d tests/browser/node_modules/playwright-core ]; then
	echo "bench_report: no chromium or tests/browser/node_modules: load times not measured"
	browser=0
fi
data=$(mktemp -d "$BUILD/bench-report.XXXXXX")
trap 'rm -rf "$data"' EXIT

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg); cores: $(nproc)"
printf '%-10s %10s %12s %10s %14s %12s\n' ops history-MB report-s page-KB load-ms-median loads-ms
for n in $SIZES; do
	run=$data/r$n
	mkdir -p "$run"
	"$HG" -q --seed 11 --keys 10 --concurrency 10 --ops "$n" --values unique \
		--nemesis $((n / 20)) --inject stale-read -o "$run/history.jsonl"
	"$SB" check --model kv --json "$run/check.json" "$run/history.jsonl" >/dev/null
	python3 - "$run" "$n" <<'PY'
import json, sys
run, n = sys.argv[1], sys.argv[2]
chk = json.load(open(f"{run}/check.json"))["results"][0]
json.dump({"test": f"bench-{n}", "seed": 11, "started": "2026-11-30T07:15:00Z",
           "verdict": chk["verdict"], "ops": {"total": chk["ops"]}, "checker": chk,
           "anomalies": [{"kind": "nonlinearizable", "key": k["key"], "text": k.get("why")}
                         for k in chk["keys"] if k["verdict"] == "invalid"]},
          open(f"{run}/results.json", "w"))
PY
	rm "$run/check.json"
	t0=$(date +%s.%N)
	"$SB" report "$run" >/dev/null || { echo "bench_report: report failed for $n"; exit 1; }
	t1=$(date +%s.%N)
	hist_mb=$(du -m "$run/history.jsonl" | cut -f1)
	page_kb=$(( $(stat -c %s "$run/report.html") / 1024 ))
	loads=- median=-
	if [ $browser = 1 ]; then
		loads=$(for i in 1 2 3; do
			node tests/browser/check.js load "$run/report.html" |
				python3 -c 'import json,sys; print(json.load(sys.stdin)["load_event_ms"])'
		done | sort -n | tr '\n' ' ')
		median=$(echo "$loads" | cut -d' ' -f2)
	fi
	printf '%-10s %10s %12.2f %10s %14s %12s\n' "$n" "$hist_mb" "$(python3 -c "print($t1 - $t0)")" \
		"$page_kb" "$median" "${loads% }"
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
