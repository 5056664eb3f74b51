#!/usr/bin/env bash
# Checker benchmark: `splitbrain check` on histories from the generator (build/tools/histgen),
# one process per cell, timed end to end (reading and parsing included; generating not).
# Prints, per cell: verdict, wall time, CPU time (user + system, all threads), operations per
# second (of wall time), peak resident memory. GNU time measures to 10 ms.
#   bench/bench_checker.sh            all cells (needs ~500 MB of scratch space in $BUILD)
#   CELLS=quick bench/bench_checker.sh  skip the 1M-operation cell
#   NICE="nice -n -19" bench/bench_checker.sh  (root) measure ahead of other work on a busy box
# Figures depend on the machine's load: the load average is printed before and after.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
SB=${SPLITBRAIN:-$BUILD/splitbrain}
HG=$BUILD/tools/histgen
CELLS=${CELLS:-all}
NICE=${NICE:-}
for b in "$SB" "$HG"; do
	[ -x "$b" ] || { echo "bench_checker: $b is not built (make BUILD=$BUILD)"; exit 1; }
done
[ -x /usr/bin/time ] || { echo "bench_checker: needs GNU time (/usr/bin/time)"; exit 1; }
data=$(mktemp -d "$BUILD/bench-checker.XXXXXX")
trap 'rm -rf "$data"' EXIT

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg); cores: $(nproc)"
printf '%-34s %-8s %9s %9s %12s %10s\n' cell verdict seconds cpu-s ops/s "peak MiB"

# run NAME OPS ARGS... : time one invocation and print its row.
run() {
	local name=$1 ops=$2
	shift 2
	local out rc secs kb
	$NICE /usr/bin/time -o "$data/time" -f '%e %M %U %S' "$SB" check "$@" >"$data/out" 2>/dev/null
	rc=$?
	out=$(cat "$data/time")
	secs=$(echo "$out" | tail -n1 | cut -d' ' -f1)
	kb=$(echo "$out" | tail -n1 | cut -d' ' -f2)
	local cpu
	cpu=$(echo "$out" | tail -n1 | awk '{ printf "%.2f", $3 + $4 }')
	local verdict
	case $rc in 0) verdict=valid ;; 1) verdict=invalid ;; 2) verdict=unknown ;; *) verdict="exit$rc" ;; esac
	awk -v n="$name" -v v="$verdict" -v s="$secs" -v c="$cpu" -v o="$ops" -v k="$kb" \
		'BEGIN { ops = (s > 0) ? o / s : 0; printf "%-34s %-8s %9.2f %9.2f %12.0f %10.1f\n", n, v, s, c, ops, k / 1024 }'
}

# 1. 100 histories shaped like Jepsen's etcd register test, one invocation.
mkdir -p "$data/etcd"
for s in $(seq 1 100); do "$HG" -q --shape etcd --seed "$s" -o "$data/etcd/h$s.jsonl"; done
ops=$(( $(cat "$data"/etcd/*.jsonl | grep -c '"invoke"') ))
run "etcd-like x100 (one invocation)" "$ops" --model cas-register "$data"/etcd/*.jsonl

# 2. One key, unique values: concurrency x length, valid and with one stale read.
for c in 5 10 20; do
	for n in 1000 10000 100000; do
		"$HG" -q --shape unique --concurrency "$c" --ops "$n" --seed 7 -o "$data/u.jsonl"
		run "unique c=$c n=$n valid" "$n" --model cas-register "$data/u.jsonl"
		"$HG" -q --shape unique --concurrency "$c" --ops "$n" --seed 7 --inject stale-read -o "$data/u.jsonl"
		run "unique c=$c n=$n stale read" "$n" --model cas-register "$data/u.jsonl"
	done
done

# 3. 1000 keys x 1M operations x concurrency 20.
if [ "$CELLS" = all ]; then
	"$HG" -q --shape multi -o "$data/m.jsonl"
	run "1000 keys x 1M ops c=20 valid" 1000000 --model kv "$data/m.jsonl"
	"$HG" -q --shape multi --inject stale-read -o "$data/m.jsonl"
	run "1000 keys x 1M ops c=20 stale read" 1000000 --model kv "$data/m.jsonl"
fi
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
