#!/usr/bin/env bash
# Integration (root): scenarios of workloads/ on a 5-host lab against the correct node.
#
#   - the leader-crash cases (3) and (4) of one replicated write, leader-after-partial-
#     replicate and leader-after-commit: valid (no acknowledged add lost), the crash point
#     fired, and every add in flight on the leader when it died ended `info`, never `fail`
#     (the write may or may not have survived; tests/tools/inflight_at_crash.py lists them);
#   - a three-datacenter cut through the spec's `datacenters:` mapping on the lab's unlabelled
#     hosts (dc-cut-leader-dc): valid, and the history's cut names the leader's datacenter
#     ({n1, n2}, {n3, n4} or {n5}) against the other two;
#   - a `log~` wait sees a line the step before it made the node write while that step was
#     acting: arming a crash point logs `event=crashpoint-armed` before the arming returns,
#     so the wait must count from the moment the step began, not from when the wait began
#     (it did the latter once, and timed out: the run was `unknown`).
# slow: scenario campaigns (about 1.5 min)
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
SB=${SPLITBRAIN:-$PWD/$BUILD/splitbrain}
. tests/integration/lab_lib.sh
STORE=$PWD/$BUILD/scenarios-test-store
rm -rf "$STORE"
lab_init scenarios 5

field() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }

for c in partial-replicate after-commit; do
	step "leader-crash-$c: valid, and the write in flight on the dead leader is info"
	"$SB" run "workloads/leader-crash-$c.yaml" --store "$STORE" --no-progress >"$STORE.log" 2>&1
	rc=$?
	RUN=$(readlink -f "$STORE/latest")
	[ $rc = 0 ] || { fail "leader-crash-$c: exit $rc ($RUN)"; tail -20 "$STORE.log"; }
	[ "$(field "$RUN/results.json" 'd["as_written"]')" = True ] || fail "leader-crash-$c: did not run as written"
	python3 tests/tools/inflight_at_crash.py "$RUN"
	rc=$?
	case $rc in
	0) ;;
	1) fail "leader-crash-$c: an operation in flight on the dead leader did not end info ($RUN)" ;;
	*) fail "leader-crash-$c: no crash point fired with a write in flight ($RUN)" ;;
	esac
done

step "dc-cut-leader-dc: datacenters: labels the lab's hosts"
"$SB" run workloads/dc-cut-leader-dc.yaml --store "$STORE" --no-progress >"$STORE.log" 2>&1
rc=$?
RUN=$(readlink -f "$STORE/latest")
[ $rc = 0 ] || fail "dc-cut-leader-dc: exit $rc ($RUN)"
cuts=$(grep '"f":"partition"' "$RUN/history.jsonl" | grep -o '"groups":\[\[[^]]*\]' | sort -u)
echo "$cuts"
[ -n "$cuts" ] || fail "dc-cut-leader-dc: no cut in the history"
echo "$cuts" | grep -qvE '"groups":\[\["(n1","n2|n3","n4|n5)"\]$' &&
	fail "dc-cut-leader-dc: a cut that is not a datacenter: $cuts"

step "log~ sees the line the step before it provoked while acting"
mkdir -p "$STORE"
cat >"$STORE/log-mark.yaml" <<EOF
name: log-mark
nodes: lab
db: {kind: raftnode, binary: build/raftnode, args: [--election-timeout, 150-300]}
workload: {kind: set, keys: 2, concurrency: 2n, rate: 50, mix: {add: 3, read: 1}, op_timeout: 1s}
nemesis:
  timeline:
    - {at: 1s, do: {kind: crashpoint, point: leader-before-append, hit: 1000000, target: leader, duration: 3s}}
    - {when: log~event=crashpoint-armed, timeout: 2s, do: heal}
time_limit: 5s
recovery: 1s
EOF
"$SB" run "$STORE/log-mark.yaml" --store "$STORE" --no-progress >"$STORE.log" 2>&1
RUN=$(readlink -f "$STORE/latest")
[ "$(field "$RUN/results.json" 'd["as_written"]')" = True ] ||
	fail "log-mark: the log~ step did not see crashpoint-armed ($RUN: $(field "$RUN/results.json" 'd["timeline"][1]["note"]'))"
[ "$(field "$RUN/results.json" 'd["verdict"]')" = valid ] ||
	fail "log-mark: verdict $(field "$RUN/results.json" 'd["verdict"]') ($RUN)"

lab_down
exit $failed
