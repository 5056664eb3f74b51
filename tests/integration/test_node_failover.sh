#!/usr/bin/env bash
# Three real raftnode processes on loopback: write through the leader, SIGKILL it, check that
# a new leader is elected and that every acknowledged write is readable (twice: after the
# first kill, and after the old leader is back and the new one is killed as well).
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/tools/node_cluster.sh

cluster_init 3 --election-timeout 150-300 --heartbeat 50 --max-clients 16
cluster_start_all
W=$CLUSTER_DIR/writes

l1=$(cluster_leader)
echo "leader: n$l1"

# Hostile bytes on the peer port (bad magic; then a frame claiming 2 GiB) and a malformed
# RESP request are refused without harm: the node keeps answering.
for junk in 'GET / HTTP/1.0\r\n\r\n' '\x53\x42\x01\x02\xff\xff\xff\x7f\x00\x00\x00\x00'; do
	exec 3<>"/dev/tcp/127.0.0.1/${NODE_PPORT[$l1]}"
	printf "$junk" >&3
	exec 3>&-
done
exec 3<>"/dev/tcp/127.0.0.1/${NODE_CPORT[$l1]}"
printf '*1\r\n$-5\r\n' >&3
reply=$(timeout 2 head -c 200 <&3 || true)
exec 3>&-
echo "malformed request answered: $reply"
[[ "$reply" == -ERR* ]]
sleep 0.2
[ "$(redis-cli -p "${NODE_CPORT[$l1]}" PING)" = PONG ]
grep -q "event=peer-connection-dropped" "$CLUSTER_DIR/n$l1.log"
"$RAFTLOAD" write --nodes "$NODES" --prefix a --count 200 --out "$W"

node_kill "$l1"
echo "killed n$l1"
l2=$(cluster_leader)
[ "$l2" != "$l1" ] || { echo "the killed node is still reported as leader"; exit 1; }
echo "new leader: n$l2"
grep -q "event=became-leader" "$CLUSTER_DIR/n$l2.log"
"$RAFTLOAD" verify --nodes "$NODES" --in "$W"

# Writes while one node is down, then bring it back and kill the second leader.
"$RAFTLOAD" write --nodes "$NODES" --prefix b --count 100 --out "$W"
node_start "$l1"
"$RAFTLOAD" converge --nodes "$NODES" --timeout-ms 10000
node_kill "$l2"
echo "killed n$l2"
l3=$(cluster_leader)
echo "third leader: n$l3"
"$RAFTLOAD" write --nodes "$NODES" --prefix c --count 50 --out "$W"
"$RAFTLOAD" verify --nodes "$NODES" --in "$W"
n_ok=$(grep -c '^ok ' "$W")
echo "acknowledged writes verified: $n_ok"
[ "$n_ok" -ge 300 ]

# A clean restart from disk keeps everything too.
node_start "$l2"
"$RAFTLOAD" converge --nodes "$NODES" --timeout-ms 10000
cluster_stop
for i in 1 2 3; do grep -q "event=shutdown" "$CLUSTER_DIR/n$i.log" || { echo "n$i: no clean shutdown"; exit 1; }; done
# A torn tail on one node: its last record cut short while it was down. It truncates the
# tail, logs it, and catches up from the others.
seg=$(ls "$CLUSTER_DIR"/d1/seg-*.log | tail -n 1)
truncate -s -5 "$seg"
# Corruption in the middle of another node's log stops it with the file and offset named.
seg3=$(ls "$CLUSTER_DIR"/d3/seg-*.log | head -n 1)
printf '\xff\xff\xff\xff' | dd of="$seg3" bs=1 seek=200 conv=notrunc status=none
cluster_start_all
node_wait_exit 3 || { echo "n3 started on a corrupt log"; exit 1; }
[ "$EXIT_STATUS" = 255 ] || { echo "n3 exited with $EXIT_STATUS, want 255"; exit 1; }
grep "event=fatal" "$CLUSTER_DIR/n3.log" | grep -q "seg-0*1.log: crc mismatch at offset"
grep -q "event=torn-tail-truncated" "$CLUSTER_DIR/n1.log"
echo "torn tail: $(grep -o 'event=torn-tail-truncated.*' "$CLUSTER_DIR/n1.log" | head -n 1)"
echo "corruption: $(grep -o 'msg=.*' "$CLUSTER_DIR/n3.log" | tail -n 1)"
"$RAFTLOAD" verify --nodes "$NODES" --in "$W"
# An operator replaces the corrupt node's data: it catches up from the leader.
rm -rf "$CLUSTER_DIR/d3"
node_start 3
"$RAFTLOAD" converge --nodes "$NODES" --timeout-ms 15000
# Client connections are bounded: with 16 open, the next one is refused with an error.
l=$(cluster_leader)
fds=()
for i in $(seq 1 16); do
	exec {fd}<>"/dev/tcp/127.0.0.1/${NODE_CPORT[$l]}"
	fds+=("$fd")
done
sleep 0.2
refused=$(redis-cli -p "${NODE_CPORT[$l]}" PING 2>&1 || true)
for fd in "${fds[@]}"; do exec {fd}>&-; done
echo "17th client: $refused"
[[ "$refused" == *"max number of clients"* ]]
sleep 0.2
[ "$(redis-cli -p "${NODE_CPORT[$l]}" PING)" = PONG ]
# DEBUG CRASHPOINT needs --fault-injection.
l=$(cluster_leader)
redis-cli -p "${NODE_CPORT[$l]}" DEBUG CRASHPOINT leader-after-commit | grep -q "disabled"
"$RAFTLOAD" verify --nodes "$NODES" --in "$W"
echo "PASS"
