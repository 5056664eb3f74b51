#!/usr/bin/env bash
# The lab demo: a 3-node raftnode cluster on this machine's lab, a leader crash, and the
# re-election, end to end through `splitbrain`. Needs root (network namespaces, sshd).
#
#   scripts/lab-demo.sh            (or: make demo)
#
# Steps: lab up (3 hosts, each its own namespace, address and sshd) -> deploy raftnode to
# every host over SSH and start the cluster -> write a key through the leader -> SIGKILL the
# leader -> a new leader is elected and still holds the key -> restart the old leader with
# its data -> collect the logs into store/ -> wipe the nodes and take the lab down (also on
# Ctrl-C or an error).
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
SB=$PWD/$BUILD/splitbrain
RN=$PWD/$BUILD/raftnode
LAB=${SPLITBRAIN_LAB_DIR:-$PWD/lab}
export SPLITBRAIN_LAB_DIR=$LAB

if [ "$(id -u)" -ne 0 ]; then
	echo "lab-demo: needs root (it creates network namespaces and starts sshd in them)" >&2
	exit 255
fi
[ -x "$SB" ] && [ -x "$RN" ] || { echo "lab-demo: build first (make)" >&2; exit 255; }

cleanup() {
	echo "== cleanup: wipe the nodes, take the lab down"
	"$SB" db wipe >/dev/null 2>&1 || true
	"$SB" lab down --dir "$LAB" >/dev/null 2>&1 || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step() { printf '\n== %s\n' "$*"; }

# Host address and client port of a node, from `db status`'s table is overkill: ask INFO
# through the leader line instead ("n2 term=1 source=info agree=3/3").
leader() { "$SB" db leader | awk '{print $1}'; }
addr() { awk -v n="$1" '$1 == "host" && $2 == n {print $3}' "$LAB/nodes"; }
resp() { # resp HOST ARGS... : one RESP2 command to a node's client port (7001)
	local host=$1; shift
	redis-cli -h "$host" -p 7001 "$@"
}

step "lab up: 3 hosts in $LAB"
"$SB" lab up -n 3 --dir "$LAB"
"$SB" lab status --dir "$LAB"

step "deploy raftnode to every host over SSH and start the cluster"
"$SB" db deploy --binary "$RN" -- --election-timeout 150-300
"$SB" db status

step "find the leader and write through it"
L1=$(leader)
echo "leader: $L1 ($(addr "$L1"))"
resp "$(addr "$L1")" SET demo-key written-before-the-crash

step "SIGKILL the leader ($L1)"
"$SB" db kill --node "$L1"
sleep 1
L2=$(leader)
echo "new leader: $L2"
[ "$L2" != "$L1" ] || { echo "lab-demo: no new leader" >&2; exit 1; }
printf 'GET demo-key on the new leader: '
resp "$(addr "$L2")" GET demo-key

step "restart $L1 with its data; it rejoins as a follower"
"$SB" db restart --node "$L1"
sleep 1 # a heartbeat or two to catch up
"$SB" db status

step "collect the logs into store/ and scan them"
"$SB" db logs --store store
echo "logs: $(readlink -f store/latest)"
