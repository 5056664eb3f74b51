#!/usr/bin/env bash
# Integration (root): the run's own checks, `splitbrain repro` and `splitbrain test-all` on a
# 3-host lab of its own. Campaigns of 4 to 12 s.
#
#   - replica agreement on a real run (checks-valid: leader kills and pauses): results.json
#     says `agreed` with the common applied index (> 0) and every node's digest; election
#     safety `ok` over the collected logs; availability has one window per fault;
#   - election safety end to end: while checks-quiet runs, a hand-made became-leader line
#     (another node, the same term as a real one) is appended to a node's log on its host;
#     teardown collects it and the run exits 1 with an `election-safety` anomaly quoting both
#     lines. (A real two-leaders run with `raftnode --bug forget-vote` needs a voter to
#     restart between two candidates' requests of one term, which 30 s of kills do not make
#     reliably; the forged line goes through the same path: collection, the db kind's
#     pattern, results.json, the exit code.)
#   - an availability threshold that fails (checks-recover: recover_within 1ms around a
#     leader kill) exits 1 with an `availability` anomaly;
#   - `splitbrain repro` of the first run: the same faults (kind; the same node for the
#     random targets; the leader's is reported when another node led) within 0.5 s of the
#     original times, and the first 30 operations the same in content and order;
#   - `test-all --shard 1/2` and `--shard 2/2` over a 2-spec x 2-seed matrix run each pair
#     exactly once; a spec with `expect: invalid` whose run is invalid passes; both exit 0;
#     `--failed` lists the store of a run that did not pass.
# slow: campaigns for the run's own checks (about 1.5 min)
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
SB=${SPLITBRAIN:-$PWD/$BUILD/splitbrain}
. tests/integration/lab_lib.sh
STORE=$PWD/$BUILD/checks-test-store
rm -rf "$STORE"
lab_init checks 3

field() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }

run() { # SPEC WANT_EXIT [options]: run it; RUN is its store directory
	local spec=$1 want=$2
	shift 2
	step "run $spec (want exit $want)"
	"$SB" run "$spec" --store "$STORE" --no-progress "$@"
	local rc=$?
	[ $rc = "$want" ] || fail "$spec: exit $rc, want $want"
	RUN=$(readlink -f "$STORE/latest")
}

# ---- replica agreement, election safety ok, availability figures ----
run tests/fixtures/runs/checks-valid.yaml 0
FIRST=$RUN
R=$RUN/results.json
echo "agreement: $(field "$R" 'd["agreement"]')"
[ "$(field "$R" 'd["agreement"]["status"]')" = agreed ] || fail "agreement not agreed"
[ "$(field "$R" 'd["agreement"]["applied_index"] > 0')" = True ] || fail "no applied index"
[ "$(field "$R" 'len(set(n["digest"] for n in d["agreement"]["nodes"])) == 1 and len(d["agreement"]["nodes"]) == 3')" = True ] ||
	fail "agreement: not three nodes with one digest"
[ "$(field "$R" 'all(n["applied_index"] == d["agreement"]["applied_index"] for n in d["agreement"]["nodes"])')" = True ] ||
	fail "agreement: nodes at other indexes"
[ "$(field "$R" 'd["election"]["status"]')" = ok ] || fail "election safety not ok"
[ "$(field "$R" 'd["election"]["leaders"] >= 2 and d["election"]["files"] == 6')" = True ] ||
	fail "election: fewer than 2 leaders or not 6 files: $(field "$R" 'd["election"]')"
[ "$(field "$R" 'len(d["availability"]["windows"]) == len(d["faults"]) >= 2')" = True ] ||
	fail "availability: not one window per fault"
[ "$(field "$R" 'd["availability"]["verdict"]')" = not-checked ] || fail "availability verdict"
grep -q "teardown: replica agreement: agreed" "$RUN/splitbrain.log" || fail "splitbrain.log has no agreement line"

# ---- election safety end to end, through a forged log line ----
step "election safety: a forged became-leader line in a node's log"
forge() {
	local i line node term other
	for i in $(seq 1 200); do
		for node in n1 n2 n3; do
			line=$(grep -m1 'event=became-leader' "$NODEDIR/$node/raftnode.log" 2>/dev/null) || continue
			term=$(echo "$line" | sed -n 's/.* term=\([0-9]*\) .*/\1/p')
			other=n1
			[ "$node" = n1 ] && other=n2
			echo "$(date -u +%Y-%m-%dT%H:%M:%S.000000Z) INFO node=$other term=$term event=became-leader last_index=0 forged=1" \
				>>"$NODEDIR/$other/raftnode.log"
			echo "forged: $other leader in term $term (the real one: $node)"
			return 0
		done
		sleep 0.05
	done
	echo "forge: no became-leader line appeared"
	return 1
}
forge &
FORGER=$!
run tests/fixtures/runs/checks-quiet.yaml 1
wait $FORGER || fail "the forger found no leader line"
R=$RUN/results.json
[ "$(field "$R" 'd["verdict"]')" = invalid ] || fail "forged run: verdict not invalid"
[ "$(field "$R" 'd["checker"]["verdict"]')" = valid ] || fail "forged run: the history itself should be valid"
[ "$(field "$R" 'd["election"]["status"]')" = violated ] || fail "forged run: election not violated"
echo "anomaly: $(field "$R" '[a for a in d["anomalies"] if a["kind"] == "election-safety"]')"
[ "$(field "$R" 'sum(1 for a in d["anomalies"] if a["kind"] == "election-safety" and len(a["lines"]) == 2 and any("forged=1" in l for l in a["lines"]) and any("forged=1" not in l and "event=became-leader" in l for l in a["lines"]))')" = 1 ] ||
	fail "forged run: the anomaly does not quote the real and the forged line"
grep -q '<failure message="two leaders in term' "$RUN/junit.xml" || fail "forged run: junit has no failure"
grep -q 'election-safety' "$RUN/report.html" || fail "forged run: report.html does not show the anomaly"

# ---- a failed availability threshold ----
run tests/fixtures/runs/checks-recover.yaml 1
R=$RUN/results.json
[ "$(field "$R" 'd["availability"]["verdict"]')" = failed ] || fail "recover run: availability not failed"
[ "$(field "$R" 'any(a["kind"] == "availability" and a["threshold"] == "recover_within" for a in d["anomalies"])')" = True ] ||
	fail "recover run: no availability anomaly"
RECOVER_RUN=$RUN

# ---- repro of the first run ----
step "repro $FIRST"
"$SB" repro "$FIRST" --store "$STORE" --no-progress
rc=$?
[ $rc = 0 ] || fail "repro: exit $rc"
REPLAY=$(readlink -f "$STORE/latest")
[ "$REPLAY" != "$FIRST" ] || fail "repro wrote no new run"
python3 - "$FIRST" "$REPLAY" <<'EOF' || fail "repro: not the same schedule"
import json, sys
a, b = [json.load(open(d + "/results.json")) for d in sys.argv[1:3]]
assert a["seed"] == b["seed"], "seeds differ"
fa, fb = a["faults"], b["faults"]
assert len(fa) == len(fb) and fa, "fault counts %d vs %d" % (len(fa), len(fb))
for x, y in zip(fa, fb):
    print("fault %-20s %7.3f s | %-20s %7.3f s" % (x["desc"], x["start_s"], y["desc"], y["start_s"]))
    assert x["kind"] == y["kind"], "kinds differ"
    assert abs(x["start_s"] - y["start_s"]) < 0.5, "start times differ by more than 0.5 s"
    # a random target (the pauses) is drawn from the seed: the same node; a leader target
    # is the same node only when the same node led at that moment: reported, not failed
    if x["kind"] == "pause":
        assert x["desc"] == y["desc"], "a random target differs"
    elif x["desc"] != y["desc"]:
        print("  (a different target: another node led at that moment)")
def ops(d):
    out = []
    for l in open(d + "/history.jsonl"):
        e = json.loads(l)
        if e["process"] != "nemesis" and e["type"] == "invoke":
            out.append((e["f"], e.get("key"), json.dumps(e["value"])))
    return out
oa, ob = ops(sys.argv[1]), ops(sys.argv[2])
assert oa[:30] == ob[:30], "the first 30 operations differ"
print("the first 30 operations are the same, in the same order")
EOF

# ---- test-all: two shards cover the matrix once ----
step "test-all --shard 1/2 and 2/2 over tests/fixtures/runs/matrix x 2 seeds"
"$SB" test-all tests/fixtures/runs/matrix --test-count 2 --seed 40 --list >"$LAB/all.txt"
for i in 1 2; do
	"$SB" test-all tests/fixtures/runs/matrix --test-count 2 --seed 40 --shard "$i/2" \
		--store "$STORE" --no-progress --failed "$LAB/failed$i.txt" >"$LAB/table$i.txt"
	rc=$?
	cat "$LAB/table$i.txt"
	[ $rc = 0 ] || fail "test-all shard $i/2: exit $rc"
	[ -s "$LAB/failed$i.txt" ] && fail "test-all shard $i/2: failed runs listed: $(cat "$LAB/failed$i.txt")"
done
python3 - "$LAB/all.txt" "$LAB/table1.txt" "$LAB/table2.txt" <<'EOF' || fail "test-all: the shards do not cover the matrix exactly once"
import sys
want = sorted(tuple(l.split()[:2]) for l in open(sys.argv[1]) if not l.startswith("#"))
got = []
for t in sys.argv[2:]:
    for l in open(t):
        w = l.split()
        if w and w[0].endswith(".yaml"):
            got.append((w[0], w[1]))
            assert ("expect-invalid" not in w[0]) or "invalid (expected)" in l, l
print("matrix:", want)
print("ran:   ", sorted(got))
assert len(want) == 4 and sorted(got) == want
EOF

step "test-all: a run that does not pass is listed in --failed"
"$SB" test-all tests/fixtures/runs/checks-recover.yaml --store "$STORE" --no-progress \
	--failed "$LAB/failed.txt" >"$LAB/table.txt"
rc=$?
cat "$LAB/table.txt"
[ $rc = 1 ] || fail "test-all of a failing spec: exit $rc, want 1"
[ "$(wc -l <"$LAB/failed.txt")" = 1 ] && [ -f "$(cat "$LAB/failed.txt")/results.json" ] ||
	fail "--failed does not list the failed run's store"
[ "$(cat "$LAB/failed.txt")" != "$RECOVER_RUN" ] || fail "--failed names an older run"

step "lab down: nothing left"
lab_down
lab_nothing_left
[ $failed = 0 ] && echo "PASS: agreement, election safety, availability, repro, test-all shards"
exit $failed
