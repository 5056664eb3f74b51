#!/usr/bin/env bash
# A damaged length field in the middle of the last log segment of one node of three. The bad
# record "runs past the end of the file" like a torn tail, but fsynced, acknowledged records
# follow it: the node must refuse to start, naming the file and the offset, and no
# acknowledged write may be lost. (Before this was caught, the node cut its log at the bad
# record, won an election against the node that had missed the last writes, and those
# acknowledged writes were overwritten for good.)
#
#   1. 100 writes on all three nodes; the lagging node L goes down; 20 more writes, acknowledged
#      by the other two (V and R).
#   2. Everything stops. V's record 50 gets the length ff ff ff 7f.
#   3. V and L start: V must exit 255 naming the file and offset (a truncated V would let L,
#      which lacks the last 20 writes, win the election).
#   4. R starts: R and L elect R, every acknowledged write is readable; then V's data is
#      replaced by an operator and V catches up.
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/tools/node_cluster.sh

cluster_init 3 --election-timeout 150-300 --heartbeat 50
cluster_start_all
W=$CLUSTER_DIR/writes

l=$(cluster_leader)
"$RAFTLOAD" write --nodes "$NODES" --prefix a --count 100 --out "$W"
"$RAFTLOAD" converge --nodes "$NODES" --timeout-ms 10000
L=$((l % 3 + 1))            # a follower: misses the last writes
V=$(((l + 1) % 3 + 1))      # the other follower: its log gets damaged
R=$l                        # the leader: holds everything, stays down until V has refused
echo "leader n$l; lagging n$L; damaged n$V"
node_kill "$L"
"$RAFTLOAD" write --nodes "$NODES" --prefix b --count 20 --out "$W"
cluster_stop
n_ok=$(grep -c '^ok ' "$W")
[ "$n_ok" -ge 120 ] || { echo "only $n_ok writes acknowledged"; exit 1; }

seg=$(ls "$CLUSTER_DIR/d$V"/seg-*.log | tail -n 1)
size=$(stat -c %s "$seg")
off=$(seg_record_offset "$seg" 50)
[ $((off + 48)) -lt "$size" ] || { echo "record 50 is not in the middle of $seg"; exit 1; }
printf '\xff\xff\xff\x7f' | dd of="$seg" bs=1 seek=$((off + 4)) conv=notrunc status=none
echo "damaged the length of record 50 at offset $off of $(basename "$seg") ($size bytes)"

node_start "$V"
node_start "$L"
node_wait_exit "$V" || { echo "n$V started on a log with a damaged record in the middle"; exit 1; }
[ "$EXIT_STATUS" = 255 ] || { echo "n$V exited with $EXIT_STATUS, want 255"; exit 1; }
fatal=$(grep "event=fatal" "$CLUSTER_DIR/n$V.log")
echo "refusal: $fatal"
[[ "$fatal" == *"$(basename "$seg")"*"at offset $off,"* ]] ||
	{ echo "the refusal does not name the file and offset $off"; exit 1; }
! grep -q "event=torn-tail-truncated" "$CLUSTER_DIR/n$V.log" || { echo "n$V cut its log"; exit 1; }
[ "$(stat -c %s "$seg")" = "$size" ] || { echo "n$V changed its damaged segment"; exit 1; }

node_start "$R"
"$RAFTLOAD" verify --nodes "$NODES" --in "$W"

# An operator replaces the damaged node's data: it catches up from the leader.
rm -rf "$CLUSTER_DIR/d$V"
node_start "$V"
"$RAFTLOAD" converge --nodes "$NODES" --timeout-ms 15000
"$RAFTLOAD" verify --nodes "$NODES" --in "$W"
echo "PASS: $n_ok acknowledged writes readable"
