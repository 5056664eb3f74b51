#!/usr/bin/env bash
# One scenario per crash point: arm it (DEBUG CRASHPOINT), send a write, the armed node dies
# there (exit 86 after logging event=crashpoint-hit), the cluster elects a leader if needed,
# the dead node restarts from its disk, and then: every acknowledged write is readable, the
# write in flight is either present or absent, and all replicas agree (same applied index and
# state digest). The four leader cases come first, then follower and storage points.
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/tools/node_cluster.sh

# Small snapshots interval so that the snapshot crash points are reached and restarted nodes
# catch up by InstallSnapshot.
cluster_init 3 --election-timeout 150-300 --heartbeat 50 --fault-injection --snapshot-every 64
cluster_start_all
W=$CLUSTER_DIR/writes

scenario() {
	local point=$1 target=$2 k=$3 inflight=${4:-1}
	local l victim
	l=$(cluster_leader)
	"$RAFTLOAD" write --nodes "$NODES" --prefix "pre$k" --count 20 --out "$W" 2>/dev/null
	if [ "$target" = leader ]; then victim=$l; else victim=$(( l % 3 + 1 )); fi
	redis-cli -p "${NODE_CPORT[$victim]}" DEBUG CRASHPOINT "$point" | grep -q OK
	# The write in flight: its outcome is whatever the client saw (ok or unknown).
	"$RAFTLOAD" write --nodes "$NODES" --prefix "hit$k" --count "$inflight" --timeout-ms 4000 \
		--out "$W" 2>/dev/null || true
	node_wait_exit "$victim" || { echo "$point: n$victim did not die"; return 1; }
	[ "$EXIT_STATUS" = 86 ] || { echo "$point: n$victim exited with $EXIT_STATUS, want 86"; return 1; }
	grep -q "event=crashpoint-hit name=$point" "$CLUSTER_DIR/n$victim.log" ||
		{ echo "$point: no crashpoint-hit line"; return 1; }
	local nl
	nl=$(cluster_leader)
	[ "$nl" != "$victim" ] || { echo "$point: dead node reported as leader"; return 1; }
	"$RAFTLOAD" write --nodes "$NODES" --prefix "post$k" --count 10 --out "$W" 2>/dev/null
	node_start "$victim"
	"$RAFTLOAD" converge --nodes "$NODES" --timeout-ms 15000 >/dev/null
	local res
	res=$("$RAFTLOAD" verify --nodes "$NODES" --in "$W")
	local flight
	flight=$(grep -c "^unknown hit$k:" "$W" || true)
	echo "$point ($target n$victim died, leader now n$nl): $flight of $inflight in-flight writes unknown; $res"
}

k=0
for p in leader-before-append leader-after-append leader-after-partial-replicate leader-after-commit \
	storage-before-fsync storage-after-fsync; do
	k=$((k + 1))
	scenario "$p" leader "$k"
done
for p in follower-after-append-before-fsync follower-after-fsync-before-ack; do
	k=$((k + 1))
	scenario "$p" follower "$k"
done

# Snapshots are taken every 64 applied entries: 80 writes reach one.
for p in snapshot-mid-write snapshot-after-rename-before-truncate; do
	k=$((k + 1))
	scenario "$p" follower "$k" 80
	k=$((k + 1))
	scenario "$p" leader "$k" 80
done

# Vote points: arm them on both followers, kill the leader; whichever follower grants a vote
# in the election that follows dies there. Before anyone restarts, the candidate becomes
# leader only if the dead voter's vote reached it: after vote-after-send, never after the two
# points before the send. Restart everyone; nothing acknowledged is lost.
leaders_in() { grep -c "event=became-leader" "$CLUSTER_DIR/n$1.log" || true; }
for p in vote-before-persist vote-after-persist vote-after-send; do
	k=$((k + 1))
	l=$(cluster_leader)
	"$RAFTLOAD" write --nodes "$NODES" --prefix "pre$k" --count 20 --out "$W" 2>/dev/null
	declare -A won_before=()
	for f in 1 2 3; do won_before[$f]=$(leaders_in "$f"); done
	for f in 1 2 3; do
		[ "$f" = "$l" ] || redis-cli -p "${NODE_CPORT[$f]}" DEBUG CRASHPOINT "$p" | grep -q OK
	done
	node_kill "$l"
	died=
	for t in $(seq 1 100); do
		for f in 1 2 3; do
			pid=${NODE_PID[$f]:-}
			if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
				node_wait_exit "$f"
				[ "$EXIT_STATUS" = 86 ] || { echo "$p: n$f exited with $EXIT_STATUS"; exit 1; }
				died=$f
			fi
		done
		[ -n "$died" ] && break
		sleep 0.1
	done
	[ -n "$died" ] || { echo "$p: no voter died"; exit 1; }
	grep -q "event=crashpoint-hit name=$p" "$CLUSTER_DIR/n$died.log"
	cand=$(( 6 - l - died ))
	won=no
	for t in $(seq 1 20); do
		[ "$(leaders_in "$cand")" -gt "${won_before[$cand]}" ] && { won=yes; break; }
		[ "$p" = vote-after-send ] || break
		sleep 0.1
	done
	want=no
	[ "$p" = vote-after-send ] && want=yes
	[ "$won" = "$want" ] ||
		{ echo "$p: candidate n$cand won with the dead voter's vote: $won, want $want"; exit 1; }
	for f in 1 2 3; do
		if [ -z "${NODE_PID[$f]:-}" ]; then
			node_start "$f"
		else
			redis-cli -p "${NODE_CPORT[$f]}" DEBUG CRASHPOINT CLEAR | grep -q OK
		fi
	done
	"$RAFTLOAD" write --nodes "$NODES" --prefix "post$k" --count 10 --out "$W" 2>/dev/null
	"$RAFTLOAD" converge --nodes "$NODES" --timeout-ms 15000 >/dev/null
	echo "$p (voter n$died died after the leader n$l was killed): $("$RAFTLOAD" verify --nodes "$NODES" --in "$W")"
done

# Unknown names and a node without --fault-injection refuse to arm.
l=$(cluster_leader)
redis-cli -p "${NODE_CPORT[$l]}" DEBUG CRASHPOINT no-such-point | grep -q "unknown crash point"
redis-cli -p "${NODE_CPORT[$l]}" DEBUG CRASHPOINT CLEAR | grep -q OK
echo PASS
