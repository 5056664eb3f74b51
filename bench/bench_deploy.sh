#!/usr/bin/env bash
# Deploy benchmark (root): time for `splitbrain db deploy` to install raftnode on a 5-host lab
# over SSH and start the cluster, until every client port answers PING. Uploads and starts run
# in parallel, one thread per host. Each run starts from wiped nodes; the figure is the median
# (and min/max) over RUNS runs (default 5). Also times `db install` and `db start` alone.
#   bench/bench_deploy.sh        (env: BUILD, SPLITBRAIN, RAFTNODE, RUNS, HOSTS)
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
SB=${SPLITBRAIN:-$PWD/$BUILD/splitbrain}
RN=${RAFTNODE:-$PWD/$BUILD/raftnode}
RUNS=${RUNS:-5}
HOSTS=${HOSTS:-5}

if [ "$(id -u)" != 0 ]; then
	echo "bench_deploy: skipped (needs root for the lab)"
	exit 0
fi
if [ ! -x "$SB" ] || [ ! -x "$RN" ] || "$RN" --help 2>&1 | grep -q "not built yet"; then
	echo "bench_deploy: skipped (needs $SB and a built $RN)"
	exit 0
fi

LAB=$PWD/$BUILD/lab-db-bench
export SPLITBRAIN_LAB_DIR=$LAB
cleanup() {
	timeout 120 "$SB" db wipe --nodes lab >/dev/null 2>&1
	timeout 120 "$SB" lab down --dir "$LAB" >/dev/null 2>&1
}
trap cleanup EXIT
trap 'exit 1' INT TERM

"$SB" lab down --dir "$LAB" >/dev/null 2>&1
if ! "$SB" lab up -n "$HOSTS" --dir "$LAB" >/dev/null; then
	echo "bench_deploy: lab up failed"
	exit 1
fi

ms() { echo $(( $(date +%s%N) / 1000000 )); }

# median min max of the arguments (integers)
stats() {
	printf '%s\n' "$@" | sort -n | awk '{v[NR] = $1} END {
		m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf "median %d ms, min %d ms, max %d ms (%d runs)\n", m, v[1], v[NR], NR }'
}

deploy=() install=() start=()
size=$(stat -c %s "$RN")
for r in $(seq 1 "$RUNS"); do
	"$SB" db wipe --nodes lab >/dev/null 2>&1
	t0=$(ms)
	if ! "$SB" db deploy --nodes lab --binary "$RN" >/dev/null; then
		echo "bench_deploy: deploy failed in run $r"
		exit 1
	fi
	deploy+=($(( $(ms) - t0 )))

	"$SB" db wipe --nodes lab >/dev/null 2>&1
	t0=$(ms)
	"$SB" db install --nodes lab --binary "$RN" >/dev/null || exit 1
	t1=$(ms)
	"$SB" db start --nodes lab >/dev/null || exit 1
	t2=$(ms)
	install+=($(( t1 - t0 )))
	start+=($(( t2 - t1 )))
done

echo "deploy and start a $HOSTS-node cluster on the lab (raftnode $size bytes, parallel SSH):"
echo "  db deploy (install + start + ready): $(stats "${deploy[@]}")"
echo "  db install alone:                    $(stats "${install[@]}")"
echo "  db start alone (until PING answers): $(stats "${start[@]}")"
echo "  load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
