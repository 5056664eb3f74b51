#!/usr/bin/env bash
# raftnode's start-up checks: what is wrong is said before anything is written, with exit 254
# for a bad argument and 255 for a data directory it must not start on; and the largest value
# the node accepts can be written and read back.
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/tools/node_cluster.sh

cluster_init 1
ports=($("$RAFTLOAD" freeport 2))
pp=${ports[0]} cp=${ports[1]}
D=$CLUSTER_DIR

# Run raftnode in the foreground with the given arguments; sets RC and OUT (stderr).
run_node() {
	RC=0
	OUT=$(timeout 20 "$RAFTNODE" "$@" 2>&1 >/dev/null) || RC=$?
}

expect() { # expect RC PATTERN WHAT
	[ "$RC" = "$1" ] || { echo "$3: exit $RC, want $1: $OUT"; exit 1; }
	[[ "$OUT" == *"$2"* ]] || { echo "$3: message lacks '$2': $OUT"; exit 1; }
	echo "$3: exit $RC: $(echo "$OUT" | grep -o 'msg=.*\|raftnode: .*' | head -n 1)"
}

# Addresses that do not resolve: refused before the data directory is created.
run_node --id n1 --peers "n1=127.0.0.1:$pp" --client nohost.invalid:1 --data "$D/a"
expect 254 "cannot resolve" "--client nohost.invalid:1"
[ ! -e "$D/a" ] || { echo "the data directory was created"; exit 1; }
run_node --id n1 --peers "n1=127.0.0.1:$pp,n2=nohost.invalid:7000" --client "127.0.0.1:$cp" --data "$D/a"
expect 254 "cannot resolve n2's address" "--peers n2=nohost.invalid:7000"
[ ! -e "$D/a" ] || { echo "the data directory was created"; exit 1; }

# --max-append-entries takes 1 to 4096 (raft.h's bound on a message a peer accepts).
for v in 0 4097 x; do
	run_node --id n1 --peers "n1=127.0.0.1:$pp" --client "127.0.0.1:$cp" --data "$D/a" \
		--max-append-entries "$v"
	expect 254 "--max-append-entries: '$v' is not a count from 1 to 4096" "--max-append-entries $v"
	[ ! -e "$D/a" ] || { echo "the data directory was created"; exit 1; }
done

# A port in use: nothing is created either.
"$RAFTNODE" --id n1 --peers "n1=127.0.0.1:$pp" --client "127.0.0.1:$cp" --data "$D/b" \
	2>"$D/b.stderr" &
NODE_PID[1]=$!
"$RAFTLOAD" leader --nodes "n1=127.0.0.1:$cp" --timeout-ms 10000 >/dev/null
run_node --id n1 --peers "n1=127.0.0.1:$pp" --client "127.0.0.1:$cp" --data "$D/c"
expect 255 "listen on" "a peer port in use"
[ ! -e "$D/c" ] || { echo "the data directory was created"; exit 1; }

# The largest value the node takes (1 MiB) fits in a request, and reads back intact.
head -c $((1024 * 1024)) /dev/zero | tr '\0' 'v' >"$D/big"
[ "$(redis-cli -p "$cp" -x SET big <"$D/big")" = OK ]
redis-cli -p "$cp" GET big >"$D/got" # the value and a newline
[ "$(stat -c %s "$D/got")" = $((1024 * 1024 + 1)) ] && cmp -n $((1024 * 1024)) "$D/got" "$D/big"
{ cat "$D/big"; printf v; } >"$D/toobig"
reply=$(redis-cli -p "$cp" -x SET big <"$D/toobig" 2>&1 || true)
echo "SET of 1 MiB + 1 byte: $reply"
[[ "$reply" == *ERR* ]]
node_kill 1

# A data directory that cannot take a persist: refused at start, not at the first write.
run_node --id n1 --peers "n1=127.0.0.1:$pp" --client "127.0.0.1:$cp" --data /proc/self
expect 254 "/proc/self is not usable" "--data /proc/self"
touch "$D/file"
run_node --id n1 --peers "n1=127.0.0.1:$pp" --client "127.0.0.1:$cp" --data "$D/file"
expect 254 "not a directory" "--data FILE"

# A log without its term/vote record: the vote would be forgotten.
rm "$D/b/meta"
run_node --id n1 --peers "n1=127.0.0.1:$pp" --client "127.0.0.1:$cp" --data "$D/b"
expect 255 "meta missing but 1 log segments exist" "meta removed"
echo PASS
