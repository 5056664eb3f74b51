# node_cluster.sh — shell helpers (sourced) that run a raftnode cluster on loopback for the
# integration tests and benchmarks. Needs RAFTNODE (the binary) and BUILD (for raftload).
#
#   cluster_init N [raftnode args...]   choose free ports, make a scratch dir, set NODES
#   node_start I                        start node I (1-based) in the background
#   node_kill I                         SIGKILL node I
#   node_wait_exit I                    wait for node I to exit; sets EXIT_STATUS
#   cluster_stop                        SIGTERM every node still running, then SIGKILL
#   seg_record_offset FILE N            byte offset of the N-th record of a log segment
# A trap installed by cluster_init stops every node and removes the scratch dir on exit,
# also when the test fails. Logs: $CLUSTER_DIR/nI.log (printed on failure by cluster_dump).

RAFTNODE=${RAFTNODE:-$PWD/${BUILD:-build}/raftnode}
RAFTLOAD=${RAFTLOAD:-$PWD/${BUILD:-build}/tools/raftload}
CLUSTER_N=0
CLUSTER_DIR=
CLUSTER_ARGS=()
NODES=
PEERS=
declare -a NODE_PID NODE_CPORT NODE_PPORT

cluster_cleanup() {
	local rc=$?
	set +e
	for i in $(seq 1 "$CLUSTER_N"); do
		local p=${NODE_PID[$i]:-}
		if [ -n "$p" ]; then
			kill -KILL "$p" 2>/dev/null
			{ wait "$p"; } 2>/dev/null # only the nodes: other children may never end
		fi
	done
	# A sanitizer report from any node fails the test, whatever else happened.
	if [ -n "$CLUSTER_DIR" ] && grep -l -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' \
		"$CLUSTER_DIR"/n*.stderr 2>/dev/null; then
		grep -h -A 20 -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$CLUSTER_DIR"/n*.stderr | head -n 60
		[ $rc -eq 0 ] && rc=1
	fi
	if [ $rc -ne 0 ] && [ -n "$CLUSTER_DIR" ]; then cluster_dump; fi
	[ -n "$CLUSTER_DIR" ] && rm -rf "$CLUSTER_DIR"
	exit $rc
}

cluster_dump() {
	for f in "$CLUSTER_DIR"/n*.log; do
		[ -f "$f" ] || continue
		echo "---- $(basename "$f") (last 30 lines)"
		tail -n 30 "$f"
	done
}

cluster_init() {
	CLUSTER_N=$1
	shift
	CLUSTER_ARGS=("$@")
	CLUSTER_DIR=$(mktemp -d /tmp/sb-node-cluster-XXXXXX)
	trap cluster_cleanup EXIT
	trap 'exit 130' INT TERM
	local ports
	ports=($("$RAFTLOAD" freeport $((2 * CLUSTER_N)))) || return 1
	PEERS= NODES=
	for i in $(seq 1 "$CLUSTER_N"); do
		local pp=${ports[$((2 * i - 2))]} cp=${ports[$((2 * i - 1))]}
		NODE_CPORT[$i]=$cp
		NODE_PPORT[$i]=$pp
		PEERS+="${PEERS:+,}n$i=127.0.0.1:$pp"
		NODES+="${NODES:+,}n$i=127.0.0.1:$cp"
	done
}

node_start() {
	local i=$1
	"$RAFTNODE" --id "n$i" --peers "$PEERS" --client "127.0.0.1:${NODE_CPORT[$i]}" \
		--data "$CLUSTER_DIR/d$i" --log "$CLUSTER_DIR/n$i.log" "${CLUSTER_ARGS[@]}" \
		2>>"$CLUSTER_DIR/n$i.stderr" &
	NODE_PID[$i]=$!
}

node_kill() {
	local p=${NODE_PID[$1]:-}
	if [ -n "$p" ]; then
		kill -KILL "$p" 2>/dev/null || true
		{ wait "$p"; } 2>/dev/null || true
	fi
	NODE_PID[$1]=
}

# Wait up to 10 s for node I to exit on its own (a crash point); sets EXIT_STATUS.
# Returns 1 if it is still running. (Not for $(...): wait needs the parent shell.)
node_wait_exit() {
	local p=${NODE_PID[$1]:-} t=0
	EXIT_STATUS=gone
	[ -z "$p" ] && return 0
	while kill -0 "$p" 2>/dev/null && [ $t -lt 100 ]; do sleep 0.1; t=$((t + 1)); done
	if kill -0 "$p" 2>/dev/null; then EXIT_STATUS=running; return 1; fi
	EXIT_STATUS=0
	{ wait "$p"; } 2>/dev/null || EXIT_STATUS=$?
	NODE_PID[$1]=
}

cluster_start_all() {
	for i in $(seq 1 "$CLUSTER_N"); do node_start "$i"; done
}

cluster_stop() {
	for i in $(seq 1 "$CLUSTER_N"); do
		local p=${NODE_PID[$i]:-}
		if [ -n "$p" ]; then kill -TERM "$p" 2>/dev/null || true; fi
	done
	sleep 0.3
	for i in $(seq 1 "$CLUSTER_N"); do node_kill "$i"; done
}

# The leader's number (1-based), waiting up to 10 s.
cluster_leader() {
	local out
	out=$("$RAFTLOAD" leader --nodes "$NODES" --timeout-ms 10000) || return 1
	echo "${out%% *}" | sed 's/^n//'
}

node_pids() {
	local s=
	for i in $(seq 1 "$CLUSTER_N"); do
		[ -n "${NODE_PID[$i]:-}" ] && s+="${s:+,}n$i=${NODE_PID[$i]}"
	done
	echo "$s"
}

# The byte offset of the N-th record (1-based) in a raftnode log segment (node/storage.c: a
# 24-byte segment header, then records of 48 header bytes + data, the data length a
# little-endian u32 at byte 4 of the record).
seg_record_offset() {
	local f=$1 n=$2 off=24 i=1 len
	while [ "$i" -lt "$n" ]; do
		len=$(od -A n -t u4 -j $((off + 4)) -N 4 "$f" | tr -d ' ')
		[ -n "$len" ] || return 1
		off=$((off + 48 + len))
		i=$((i + 1))
	done
	echo "$off"
}
