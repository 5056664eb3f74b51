#!/usr/bin/env bash
# The runner's own cost: `splitbrain run` of bench/specs/run-throughput.yaml (3-node raftnode
# cluster on a lab of its own, 50 worker processes as fast as they go, no faults, 20 s), then
# the figures from the run's results.json: operations recorded per second, and the
# controller's CPU (user + sys, all threads) per recorded operation while the workload ran.
# Goal: <= 25 us of controller CPU per operation. Needs root; prints "skipped" otherwise.
#   bench/bench_run.sh [RUNS]   (default 3 runs; prints each and the median)
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
SB=$PWD/$BUILD/splitbrain
RUNS=${1:-3}
if [ "$(id -u)" != 0 ]; then
	echo "bench_run: skipped (needs root for the lab)"
	exit 0
fi
LAB=$PWD/$BUILD/lab-bench-run
STORE=$PWD/$BUILD/bench-run-store
export SPLITBRAIN_LAB_DIR=$LAB
trap '"$SB" db wipe --nodes lab >/dev/null 2>&1; "$SB" lab down --dir "$LAB" >/dev/null 2>&1' EXIT
"$SB" lab down --dir "$LAB" >/dev/null 2>&1
"$SB" lab up -n 3 --dir "$LAB" >/dev/null || { echo "bench_run: lab up failed"; exit 1; }
rm -rf "$STORE"
echo "runs of bench/specs/run-throughput.yaml: 3 nodes, 50 workers, rate unlimited, 20 s"
printf '%-4s %10s %10s %12s %14s %8s\n' run ops "ops/s" "cpu_s(load)" "cpu_us/op" verdict
vals=()
for i in $(seq 1 "$RUNS"); do
	"$SB" run bench/specs/run-throughput.yaml --store "$STORE" --no-progress >/dev/null 2>&1
	r=$(readlink -f "$STORE/latest")/results.json
	line=$(python3 - "$r" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
ops = d["ops"]["total"]
m = d["phases"]["main"]
f = d["phases"]["final"] or m
secs = (f[1] if f else m[1]) - m[0]
cpu = d["controller"]["cpu_workload_s"]
print(f'{ops} {ops / secs:.0f} {cpu:.2f} {1e6 * cpu / max(ops, 1):.2f} {d["verdict"]}')
PY
)
	read -r ops rate cpu us verdict <<<"$line"
	printf '%-4s %10s %10s %12s %14s %8s\n' "$i" "$ops" "$rate" "$cpu" "$us" "$verdict"
	vals+=("$rate $us")
done
printf '%s\n' "${vals[@]}" | sort -n -k2 | awk '{a[NR]=$0} END {split(a[int((NR+1)/2)], m, " "); printf "median: %s ops/s recorded, %s us controller CPU per operation (goal <= 25)\n", m[1], m[2]}'
