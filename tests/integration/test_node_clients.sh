#!/usr/bin/env bash
# Client connections cannot lock each other out: 1024 connections each holding half a request
# once kept every other client out, the harness's readiness check included.
#   - a connection that holds an incomplete request is closed after a few seconds, with a
#     reason;
#   - when every slot is taken, a new connection takes the slot of the one idle the longest.
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/tools/node_cluster.sh

cluster_init 1 --max-clients 8
node_start 1
P=${NODE_CPORT[1]}
"$RAFTLOAD" leader --nodes "n1=127.0.0.1:$P" --timeout-ms 10000 >/dev/null

echo "-- half a request is not held forever"
exec {half}<>"/dev/tcp/127.0.0.1/$P"
printf '*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhe' >&$half
rc=0
reply=$(timeout 20 cat <&$half) || rc=$?
exec {half}>&-
echo "reply: $reply"
[ $rc -eq 0 ] || { echo "the connection was still open after 20 s"; exit 1; }
[[ "$reply" == *"ERR request incomplete"* ]]

# Retry PING for up to 20 s; fail if no client gets in.
ping_gets_in() {
	for i in $(seq 1 200); do
		[ "$(redis-cli -p "$P" PING 2>/dev/null)" = PONG ] && return 0
		sleep 0.1
	done
	echo "no client could get in"
	return 1
}

echo "-- all slots held by idle clients: a new client takes the slot of the idlest"
fds=()
for i in $(seq 1 8); do
	exec {fd}<>"/dev/tcp/127.0.0.1/$P"
	fds+=("$fd")
done
ping_gets_in
grep -q "event=client-evicted" "$CLUSTER_DIR/n1.log"
for fd in "${fds[@]}"; do exec {fd}>&-; done

echo "-- all slots held by clients with half a request: a new client still gets in"
fds=()
for i in $(seq 1 8); do
	exec {fd}<>"/dev/tcp/127.0.0.1/$P"
	printf '*2\r\n$3\r\nGET\r\n' >&$fd
	fds+=("$fd")
done
ping_gets_in
[ "$(redis-cli -p "$P" SET k v)" = OK ]
for fd in "${fds[@]}"; do exec {fd}>&-; done
echo PASS
