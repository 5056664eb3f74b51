#!/usr/bin/env bash
# raftnode on a 3-node loopback cluster: write throughput and latency with 1, 10 and 100
# concurrent clients (closed loop, SET through the leader), then failover time: SIGKILL the
# leader and time until the next acknowledged write, KILLS times (restarting the killed node
# in between), with 150-300 ms election timeouts. Prints figures; never fails on a time.
#   BENCH_SECONDS (default 5), KILLS (default 20)
set -euo pipefail
cd "$(dirname "$0")/.."
. tests/tools/node_cluster.sh
# (bash reports each node SIGKILLed by raftload failover with a "Killed" line: expected.)
SECONDS_EACH=${BENCH_SECONDS:-5}
KILLS=${KILLS:-20}

cluster_init 3 --election-timeout 150-300 --heartbeat 50
cluster_start_all
cluster_leader >/dev/null
echo "raftnode: 3 nodes on loopback, data in $CLUSTER_DIR ($(df -T "$CLUSTER_DIR" | awk 'NR==2 {print $2}')), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
for c in 1 10 100; do
	"$RAFTLOAD" bench --nodes "$NODES" --clients "$c" --seconds "$SECONDS_EACH"
done

times=()
for k in $(seq 1 "$KILLS"); do
	out=$("$RAFTLOAD" failover --nodes "$NODES" --pids "$(node_pids)" --timeout-ms 10000) || true
	echo "failover $k: $out"
	victim=$(echo "$out" | sed -n 's/^killed n\([0-9]*\) .*/\1/p')
	ms=$(echo "$out" | sed -n 's/.* ms=\([0-9.]*\)$/\1/p')
	[ -n "$ms" ] && times+=("$ms")
	if [ -n "$victim" ]; then
		node_kill "$victim"
		node_start "$victim"
	fi
	"$RAFTLOAD" converge --nodes "$NODES" --timeout-ms 15000 >/dev/null || echo "failover $k: replicas did not converge"
done
if [ ${#times[@]} -gt 0 ]; then
	printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {
		printf "failover over %d kills: median %.0f ms, min %.0f ms, max %.0f ms\n",
		NR, (NR % 2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2), a[1], a[NR] }'
fi
