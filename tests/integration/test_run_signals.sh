#!/usr/bin/env bash
# Integration (root): faults are healed on every way out of `splitbrain run`.
#
#   - SIGINT while the leader is killed (its restart is a minute away): the run stops, heals
#     (restarts it), checks what it recorded and exits; every node runs afterwards;
#   - SIGINT while the leader is paused: every node runs and none is stopped afterwards;
#   - SIGTERM the same way;
#   - SIGINT while a partition, a clock skew, an armed crash point and netem delay (refused
#     where the kernel has no netem) are all in force: afterwards no SPLITBRAIN rule, no
#     netem qdisc, every clock neutral, no crash point armed, every node running;
#   - SIGKILL of the controller mid-run: the history on disk reads back with `splitbrain
#     check` (an operation cut off counts as indeterminate).
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
SB=${SPLITBRAIN:-$PWD/$BUILD/splitbrain}
. tests/integration/lab_lib.sh
STORE=$PWD/$BUILD/run-signal-store
rm -rf "$STORE"
PID=
LAB_ON_EXIT='[ -n "$PID" ] && kill -KILL "$PID" 2>/dev/null'
lab_init runsig 3

# wait_for FILE PATTERN SECONDS: until the file has a line matching the pattern.
wait_for() {
	local i
	for ((i = 0; i < $3 * 10; i++)); do
		grep -q -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# nodes_healthy: every node running, none stopped (from `db status`).
nodes_healthy() {
	local st
	st=$("$SB" db status --nodes lab 2>&1)
	echo "$st"
	[ "$(grep -c '^n[0-9] .* yes ' <<<"$st")" = 3 ] || { fail "$1: not every node is up"; return; }
	grep -q 'paused\|STOP' <<<"$st" && fail "$1: a node is still paused"
	return 0
}

# interrupt SPEC SIGNAL EVENT: start the run, wait until the history shows EVENT, signal it.
interrupt() {
	local spec=$1 sig=$2 event=$3
	step "$sig while '$event' is in force ($spec)"
	rm -rf "$STORE"
	"$SB" run "$spec" --store "$STORE" --no-progress >"$BUILD/run-signal.out" 2>&1 &
	PID=$!
	wait_for "$STORE/latest/history.jsonl" "\"process\":\"nemesis\",\"type\":\"info\",\"f\":\"$event\"" 60 ||
		fail "$spec: no $event within 60 s"
	sleep 1
	kill -"$sig" "$PID"
	local t0=$SECONDS
	wait "$PID"
	local rc=$?
	PID=
	cat "$BUILD/run-signal.out"
	echo "exit $rc after $((SECONDS - t0)) s"
	[ $rc = 2 ] || fail "$spec: an interrupted run exits $rc, want 2 (unknown)"
	grep -q '"interrupted":true' "$STORE/latest/results.json" || fail "$spec: results.json does not say interrupted"
	nodes_healthy "$spec"
	"$SB" db wipe --nodes lab >/dev/null || fail "wipe failed"
}

interrupt tests/fixtures/runs/interrupt-kill.yaml INT kill
interrupt tests/fixtures/runs/interrupt-pause.yaml INT pause
interrupt tests/fixtures/runs/interrupt-pause.yaml TERM pause

step "SIGINT with a partition, a clock skew, a crash point and netem in force"
rm -rf "$STORE"
"$SB" run tests/fixtures/runs/interrupt-all.yaml --store "$STORE" --no-progress >"$BUILD/run-signal.out" 2>&1 &
PID=$!
# The last step's fault event (netem: started, or refused by a kernel without it).
wait_for "$STORE/latest/history.jsonl" '"process":"nemesis","type":"info","f":"netem"' 60 ||
	fail "the four faults did not start within 60 s"
grep -q '"type":"info","f":"partition","value":{"shape"' "$STORE/latest/history.jsonl" || fail "no partition in force"
grep -q '"type":"info","f":"clock"' "$STORE/latest/history.jsonl" || fail "no clock fault"
grep -q '"type":"info","f":"crashpoint"' "$STORE/latest/history.jsonl" || fail "no crash point armed"
kill -INT "$PID"
wait "$PID"
rc=$?
PID=
cat "$BUILD/run-signal.out"
[ $rc = 2 ] || fail "interrupt-all: exit $rc, want 2"
nodes_healthy interrupt-all
for h in 1 2 3; do
	ns=sb${TAG}n$h
	n=$(ip netns exec "$ns" iptables -S SPLITBRAIN 2>/dev/null | grep -c -- '-j DROP')
	[ "$n" = 0 ] || fail "interrupt-all: $n partition rules left on n$h"
	ip netns exec "$ns" tc qdisc show 2>/dev/null | grep -q netem && fail "interrupt-all: netem left on n$h"
	rc_file=$NODEDIR/n$h/faketime.rc
	[ ! -e "$rc_file" ] || [ "$(cat "$rc_file")" = "+0 x1" ] || fail "interrupt-all: n$h clock not neutral: $(cat "$rc_file")"
	armed=$(redis-cli -h "${ADDR[n$h]}" -p 7001 INFO 2>/dev/null | tr -d '\r' | sed -n 's/^crashpoint://p')
	[ -z "$armed" ] || fail "interrupt-all: crash point $armed still armed on n$h"
done
"$SB" db wipe --nodes lab >/dev/null || fail "wipe failed"

step "SIGKILL of the controller mid-run: the history reads back"
rm -rf "$STORE"
"$SB" run tests/fixtures/runs/valid.yaml --time-limit 60s --store "$STORE" --no-progress >/dev/null 2>&1 &
PID=$!
wait_for "$STORE/latest/history.jsonl" '"type":"ok"' 60 || fail "no operation within 60 s"
sleep 5
kill -KILL "$PID"
wait "$PID" 2>/dev/null
PID=
H=$STORE/latest/history.jsonl
lines=$(wc -l <"$H")
echo "history: $lines lines"
[ "$lines" -gt 100 ] || fail "only $lines lines recorded before the kill"
# Every line is whole (each event is one write of one whole line).
[ -z "$(tail -c 1 "$H")" ] || fail "the last line of the history is cut"
"$SB" check --model kv "$H"
rc=$?
[ $rc = 0 ] || fail "check of the cut history exits $rc (want 0: valid, read to the end)"

step "on a terminal: one progress line, rewritten in place, then the verdict"
# script(1) gives the run a pseudo-terminal, so it prints what a person would see.
rm -rf "$STORE"
script -qefc "$SB run tests/fixtures/runs/valid.yaml --time-limit 6s --store $STORE" "$BUILD/run-tty.out" >/dev/null 2>&1
rc=$?
[ $rc = 0 ] || fail "terminal run: exit $rc, want 0"
tr '\r' '\n' <"$BUILD/run-tty.out" | grep -E '^ *[0-9.]+s/6s +main +ops [0-9]+ \(ok [0-9]+ fail [0-9]+ info [0-9]+\)  faults: .*  leader: n[0-9]' >/dev/null ||
	fail "terminal run: no progress line"
[ "$(grep -c $'\r' "$BUILD/run-tty.out")" -ge 1 ] || fail "terminal run: the progress line is not rewritten in place"
grep -q '^run-valid: valid (seed 7' "$BUILD/run-tty.out" || fail "terminal run: no verdict line"
grep -q "store: $STORE/run-valid/" "$BUILD/run-tty.out" || fail "terminal run: no store path"

step "lab down: nothing left"
lab_down
lab_nothing_left
[ $failed = 0 ] && echo "PASS: healed on SIGINT and SIGTERM; the history survives SIGKILL"
exit $failed
