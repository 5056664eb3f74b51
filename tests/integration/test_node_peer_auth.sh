#!/usr/bin/env bash
# What a node accepts on its peer port (tests/tools/peerforge sends the forged frames):
#   - nothing before a hello, and a connection that never says hello is closed;
#   - a hello only with this cluster's token and from the claimed node's --peers address
#     (a forged hello once pointed a follower's -NOTLEADER redirects at any address);
#   - after the hello, only messages whose sender is the hello's (one forged AppendEntries
#     once made a replica diverge);
#   - frames within their kind's bound, and all incoming buffers within one budget (62
#     connections once took a follower to 4 GB).
# Every refusal is logged; the cluster keeps working and loses nothing.
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/tools/node_cluster.sh
PEERFORGE=${PEERFORGE:-$PWD/${BUILD:-build}/tools/peerforge}

cluster_init 3 --election-timeout 150-300 --heartbeat 50 --cluster-token tok-A
cluster_start_all
W=$CLUSTER_DIR/writes
l=$(cluster_leader)
f=$((l % 3 + 1))           # the follower under attack
o=$(((l + 1) % 3 + 1))     # the other follower
F=127.0.0.1:${NODE_PPORT[$f]}
LOG=$CLUSTER_DIR/n$f.log
"$RAFTLOAD" write --nodes "$NODES" --prefix a --count 50 --out "$W"
term() { redis-cli -p "${NODE_CPORT[$f]}" INFO | tr -d '\r' | sed -n 's/^term://p'; }
t0=$(term)
echo "leader n$l, follower n$f at term $t0"

step() { echo "-- $*"; }

step "a connection that never says hello is closed"
[ "$("$PEERFORGE" --to "$F" --hold 15000)" = closed ]
grep -q 'event=peer-connection-dropped.*reason="no hello in time"' "$LOG"

step "an AppendEntries before any hello is refused"
[ "$("$PEERFORGE" --to "$F" --append 1000 --from "$l" --dest "$f")" = closed ]
grep -q 'reason="a message before the hello"' "$LOG"
[ "$(term)" = "$t0" ]

step "a hello with another cluster token is refused (and does not move -NOTLEADER)"
"$PEERFORGE" --to "$F" --hello "$l" --token tok-B --client-addr 6.6.6.6:1 --append 1000 >/dev/null
"$PEERFORGE" --to "$F" --hello "$l" --client-addr 6.6.6.6:1 >/dev/null # the empty token
[ "$(grep -c 'event=peer-hello-refused.*reason="hello with another cluster token"' "$LOG")" = 2 ]
[ "$(term)" = "$t0" ]
redirect=$(redis-cli -p "${NODE_CPORT[$f]}" SET x 1)
echo "redirect: $redirect"
[ "$redirect" = "NOTLEADER n$l 127.0.0.1:${NODE_CPORT[$l]}" ]

step "a hello from an address other than the claimed node's is refused"
"$PEERFORGE" --bind 127.0.0.2 --to "$F" --hello "$l" --token tok-A --client-addr 6.6.6.6:1 >/dev/null
grep -q 'event=peer-hello-refused.*addr=127.0.0.2.*other than' "$LOG"
[ "$(redis-cli -p "${NODE_CPORT[$f]}" SET x 1)" = "NOTLEADER n$l 127.0.0.1:${NODE_CPORT[$l]}" ]

step "after a good hello, a message from another sender is refused"
# (from the right address with the right token: the trusted-network case; it replaces n$o's
# connection, which n$o dials again)
[ "$("$PEERFORGE" --to "$F" --hello "$o" --token tok-A \
	--client-addr "127.0.0.1:${NODE_CPORT[$o]}" --append 1000 --from "$l")" = closed ]
grep -q "reason=\"a message from node $l on n$o's connection\"" "$LOG"
[ "$(term)" = "$t0" ]

step "frames beyond their kind's bound are refused before their body is buffered"
[ "$("$PEERFORGE" --to "$F" --hello "$o" --token tok-A \
	--client-addr "127.0.0.1:${NODE_CPORT[$o]}" --claim vote:1048576)" = closed ]
grep -q 'reason="message of type 3 with a 1048576-byte body' "$LOG"

"$RAFTLOAD" write --nodes "$NODES" --prefix b --count 50 --out "$W"
"$RAFTLOAD" converge --nodes "$NODES" --timeout-ms 15000
"$RAFTLOAD" verify --nodes "$NODES" --in "$W"
[ "$(term)" -lt 1000 ]
cluster_stop
rm -rf "$CLUSTER_DIR"

step "incoming buffers stay within one budget"
# One real node configured with five peers; forged hellos as n2..n5 each begin a 64 MiB
# AppendEntries: two fit the budget, the others are closed.
cluster_init 5 --election-timeout 150-300 --heartbeat 50
node_start 1
"$RAFTLOAD" leader --nodes "n1=127.0.0.1:${NODE_CPORT[1]}" --timeout-ms 3000 >/dev/null 2>&1 || true
pids=()
for id in 2 3 4 5; do
	"$PEERFORGE" --to "127.0.0.1:${NODE_PPORT[1]}" --hello "$id" --claim append:67108864 \
		--hold 5000 >"$CLUSTER_DIR/forge$id" &
	pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
cat "$CLUSTER_DIR"/forge*
[ "$(cat "$CLUSTER_DIR"/forge* | grep -c open)" = 2 ]
[ "$(grep -c 'reason="incoming peer buffers over budget"' "$CLUSTER_DIR/n1.log")" = 2 ]
[ "$(redis-cli -p "${NODE_CPORT[1]}" PING)" = PONG ]
echo PASS
