#!/usr/bin/env bash
# Integration (root): third-party systems through the same runner, on a 3-host lab.
#
#   - etcd (db kind etcd, Debian's etcd-server): a campaign of about 30 s with leader kills
#     and partitions that isolate the leader ends `valid`; the history holds both kinds of
#     fault; every member's log was collected and announces leaders the way the kind's
#     leader_pattern says;
#   - Redis + Sentinel (db kind redis-sentinel: 3 servers, 3 Sentinels): a campaign of about
#     30 s where a partition isolates the master while the workers bound to its host keep
#     writing to it ends `invalid`, and results.json names the acknowledged adds that were
#     lost;
#   - afterwards nothing is left: no process whose working directory is a node's, no node
#     directory, no partition rule.
# `make test-targets` runs this test alone.
# slow: etcd and Redis campaigns (about 1.5 min)
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
SB=${SPLITBRAIN:-$PWD/$BUILD/splitbrain}
if [ "$(id -u)" = 0 ] && { [ ! -x /usr/bin/etcd ] || [ ! -x /usr/bin/redis-server ]; }; then
	if [ "${CI:-}" = true ]; then
		echo "FAIL: etcd or redis-server missing although CI installed the packages"
		exit 1
	fi
	echo "SKIP: needs etcd-server, redis-server and redis-sentinel (make deps)"
	exit 77
fi
. tests/integration/lab_lib.sh
STORE=$PWD/$BUILD/targets-test-store
rm -rf "$STORE"
lab_init targets 3

field() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }

# Processes of this lab's nodes: their working directory is a node directory.
node_procs() {
	local c t
	for c in /proc/[0-9]*/cwd; do
		t=$(readlink "$c" 2>/dev/null) || continue
		case $t in "$NODEDIR"/*) echo "${c%/cwd}" ;; esac
	done
}

nothing_left() {
	local what=$1 p
	[ -e "$NODEDIR" ] && [ -n "$(ls -A "$NODEDIR" 2>/dev/null)" ] && fail "$what: node directories left in $NODEDIR"
	p=$(node_procs)
	[ -n "$p" ] && fail "$what: node processes left: $p"
	for h in 1 2 3; do
		n=$(ip netns exec "sb${TAG}n$h" iptables -S SPLITBRAIN 2>/dev/null | grep -c -- '-j DROP')
		[ "$n" = 0 ] || fail "$what: $n partition rules left on n$h"
	done
}

# campaign SPEC WANT_EXIT: run it and check the store.
campaign() {
	local spec=$1 want=$2
	step "run $spec (want exit $want)"
	"$SB" run "$spec" --store "$STORE" --no-progress
	local rc=$?
	[ $rc = "$want" ] || fail "$spec: exit $rc, want $want"
	RUN=$(readlink -f "$STORE/latest")
	for f in test.yaml history.jsonl results.json junit.xml splitbrain.log; do
		[ -s "$RUN/$f" ] || fail "$RUN/$f missing or empty"
	done
	"$SB" check --model "$(field "$RUN/results.json" 'd["workload"]["model"]')" "$RUN/history.jsonl" >/dev/null
	local crc=$?
	[ $crc = "$want" ] || fail "$spec: splitbrain check of the history exits $crc, want $want"
	[ "$(field "$RUN/results.json" 'd["ops"]["ok"] > 100')" = True ] || fail "$spec: fewer than 100 ok operations"
	grep -q '"process":"nemesis","type":"info","f":"partition"' "$RUN/history.jsonl" || fail "$spec: no partition in the history"
	nothing_left "$spec"
}

campaign tests/fixtures/runs/etcd-kill-partition.yaml 0
[ "$(field "$RUN/results.json" 'd["verdict"]')" = valid ] || fail "etcd: verdict not valid"
grep -q '"process":"nemesis","type":"info","f":"kill"' "$RUN/history.jsonl" || fail "etcd: no kill in the history"
for n in n1 n2 n3; do
	[ -s "$RUN/$n/etcd.log" ] || fail "etcd: $RUN/$n/etcd.log missing"
done
grep -qh '"msg":"[0-9a-f]* became leader at term [0-9]*"' "$RUN"/n*/etcd.log || fail "etcd: no leader line in the logs"
echo "etcd: $(field "$RUN/results.json" 'd["ops"]') operations; faults: $(field "$RUN/results.json" '[f["desc"] for f in d["faults"]]' 2>/dev/null)"

campaign tests/fixtures/runs/redis-partition.yaml 1
[ "$(field "$RUN/results.json" 'd["verdict"]')" = invalid ] || fail "redis: verdict not invalid"
lost=$(field "$RUN/results.json" '[(a["key"], a["count"], a["elements"][:10]) for a in d["anomalies"] if a["kind"] == "lost"]')
echo "redis: lost acknowledged adds (key, count, first elements): $lost"
[ "$(field "$RUN/results.json" 'any(a["kind"] == "lost" and a["count"] > 0 and len(a["elements"]) > 0 for a in d["anomalies"])')" = True ] ||
	fail "redis: no lost acknowledged adds named in results.json"
for n in n1 n2 n3; do
	[ -s "$RUN/$n/redis.log" ] && [ -s "$RUN/$n/sentinel.log" ] || fail "redis: $n's logs missing"
done
grep -qh '+switch-master splitbrain' "$RUN"/n*/sentinel.log || fail "redis: no failover in the Sentinels' logs"

step "lab down: nothing left"
lab_down
lab_nothing_left
[ -z "$(node_procs)" ] || fail "node processes left after lab down"
[ $failed = 0 ] && echo "PASS: etcd valid under kills and partitions; Redis + Sentinel loses acknowledged writes"
exit $failed
