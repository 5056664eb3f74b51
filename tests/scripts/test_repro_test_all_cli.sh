#!/usr/bin/env bash
# `splitbrain test-all` and `splitbrain repro` without a cluster:
#   - test-all --list: shards 1/N..N/N of a matrix (specs x seeds) hold every pair exactly
#     once, for N = 2 and 3; adding a spec moves no other pair; a spec's own seed wins over
#     --seed; bad arguments exit 254;
#   - repro --dry-run of a stored run prints the same schedule as `run --dry-run` of its spec
#     with its seed; a recorded binary that does not exist here is refused (254) unless
#     --binary names one; a directory without test.yaml is refused (254).
# The same on a real lab (runs, tables, replays): tests/integration/test_checks_lab.sh.
set -u
cd "$(dirname "$0")/../.."
SB=${SPLITBRAIN:-build/splitbrain}
SB=$(cd "$(dirname "$SB")" && pwd)/$(basename "$SB")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0 passes=0
check() { if eval "$2"; then echo "ok: $1"; passes=$((passes + 1)); else echo "FAIL: $1"; fails=$((fails + 1)); fi; }

# ---- test-all: shards ----
mkdir -p "$tmp/specs"
for i in 1 2 3 4 5 6 7; do
	cat >"$tmp/specs/s$i.yaml" <<EOF
name: s$i
workload: {kind: kv}
EOF
done
echo "seed: 99" >>"$tmp/specs/s3.yaml"
list() { "$SB" test-all "$tmp/specs" --test-count 4 --list "$@" | grep -v '^#' | sort; }
list >"$tmp/all"; rc=$?
check "the whole matrix: 7 specs x 4 seeds" '[ $rc -eq 0 ] && [ $(wc -l <"$tmp/all") -eq 28 ]'
check "a spec's own seed is its first" 'grep -q "s3.yaml 99$" "$tmp/all" && grep -q "s3.yaml 102$" "$tmp/all"'
for n in 2 3; do
	: >"$tmp/union"
	for i in $(seq 1 "$n"); do list --shard "$i/$n" >"$tmp/shard$i.$n"; cat "$tmp/shard$i.$n" >>"$tmp/union"; done
	sort "$tmp/union" >"$tmp/union.sorted"
	check "shards 1/$n..$n/$n hold every pair exactly once" 'cmp -s "$tmp/union.sorted" "$tmp/all" && [ -z "$(uniq -d "$tmp/union.sorted")" ]'
	check "no shard of $n is empty" 'for i in $(seq 1 $n); do [ -s "$tmp/shard$i.$n" ] || exit 1; done'
done
# Adding a spec: every other pair stays in its shard.
cat >"$tmp/specs/s4b.yaml" <<EOF
name: s4b
workload: {kind: kv}
EOF
for i in 1 2 3; do
	list --shard "$i/3" | grep -v 's4b.yaml' >"$tmp/after$i"
	check "adding a spec moves nothing out of shard $i/3" 'cmp -s "$tmp/after$i" "$tmp/shard$i.3"'
done
rm "$tmp/specs/s4b.yaml"
list --seed 1000 >"$tmp/seeded"
check "--seed moves specs without a seed" 'grep -q "s1.yaml 1000$" "$tmp/seeded" && grep -q "s1.yaml 1003$" "$tmp/seeded"'
check "--seed leaves a spec's own seed" 'grep -q "s3.yaml 99$" "$tmp/seeded"'
(cd "$tmp" && "$SB" test-all ./specs//  --test-count 4 --list) | grep -v '^#' | sed 's#^\./specs//*#specs/#' | sort >"$tmp/spelled"
(cd "$tmp" && "$SB" test-all specs --test-count 4 --list) | grep -v '^#' | sort >"$tmp/plain"
check "the seed of a spec without one does not depend on how its path is written" '[ -s "$tmp/plain" ] && cmp -s "$tmp/spelled" "$tmp/plain"'
"$SB" test-all "$tmp/specs" --shard 0/2 --list >/dev/null 2>"$tmp/err"; rc=$?
check "--shard 0/2 exits 254" '[ $rc -eq 254 ] && grep -q -- "--shard" "$tmp/err"'
"$SB" test-all "$tmp/nothing" --list >/dev/null 2>&1; rc=$?
check "a missing directory exits 254" '[ $rc -eq 254 ]'
"$SB" test-all --list >/dev/null 2>&1; rc=$?
check "no spec exits 254" '[ $rc -eq 254 ]'
printf 'name: bad\nworkload: {kind: nosuch}\n' >"$tmp/bad.yaml"
"$SB" test-all "$tmp/bad.yaml" --store "$tmp/store" >"$tmp/out" 2>"$tmp/err"; rc=$?
check "a bad spec is a row of its own and exits 254" '[ $rc -eq 254 ] && grep -q "bad-spec" "$tmp/out" && grep -q "unknown workload" "$tmp/err"'
"$SB" test-all --help | grep -q "usage: splitbrain test-all"; rc=$?
check "test-all --help" '[ $rc -eq 0 ]'

# ---- repro ----
run=$tmp/store/t/20260101T000000
mkdir -p "$run"
cat >"$run/test.yaml" <<EOF
name: t
nodes: lab
db: {kind: raftnode, binary: $PWD/build/raftnode}
workload: {kind: kv, keys: 4, concurrency: 6, rate: 100}
nemesis:
  interval: 2s
  faults:
    - {kind: kill, target: leader, restart_after: 1s}
    - {kind: pause, target: random, duration: 1s}
time_limit: 20s
seed: 1234
EOF
echo '{"test":"t","seed":1234,"verdict":"invalid","exit":1}' >"$run/results.json"
SPLITBRAIN_LAB_DIR=$tmp/nolab "$SB" run "$run/test.yaml" --dry-run --ops 50 >"$tmp/run.dry" 2>/dev/null
SPLITBRAIN_LAB_DIR=$tmp/nolab "$SB" repro "$run" --dry-run --ops 50 >"$tmp/repro.dry" 2>"$tmp/err"; rc=$?
check "repro --dry-run exits 0" '[ $rc -eq 0 ]'
check "repro --dry-run replays the run's schedule" 'cmp -s "$tmp/run.dry" "$tmp/repro.dry" && grep -q "seed 1234" "$tmp/repro.dry" && grep -q "kill leader" "$tmp/repro.dry"'
check "repro names the original run" 'grep -q "replaying .*seed 1234, verdict invalid" "$tmp/err"'
ln -s 20260101T000000 "$tmp/store/t/latest"
SPLITBRAIN_LAB_DIR=$tmp/nolab "$SB" repro "$tmp/store/t" --dry-run --ops 50 >"$tmp/latest.dry" 2>/dev/null; rc=$?
check "a test's directory means its latest run" '[ $rc -eq 0 ] && cmp -s "$tmp/run.dry" "$tmp/latest.dry"'
sed -i "s#binary: .*}#binary: /nonexistent/raftnode}#" "$run/test.yaml"
"$SB" repro "$run" --dry-run >/dev/null 2>"$tmp/err"; rc=$?
check "a recorded binary missing here exits 254 and suggests --binary" '[ $rc -eq 254 ] && grep -q -- "--binary" "$tmp/err"'
SPLITBRAIN_LAB_DIR=$tmp/nolab "$SB" repro "$run" --dry-run --ops 50 --binary build/raftnode >"$tmp/bin.dry" 2>/dev/null; rc=$?
check "--binary stands in for it" '[ $rc -eq 0 ] && cmp -s "$tmp/run.dry" "$tmp/bin.dry"'
"$SB" repro "$tmp" >/dev/null 2>"$tmp/err"; rc=$?
check "a directory without test.yaml exits 254" '[ $rc -eq 254 ] && grep -q "no test.yaml" "$tmp/err"'
"$SB" repro >/dev/null 2>&1; rc=$?
check "no directory exits 254" '[ $rc -eq 254 ]'
"$SB" repro --help | grep -q "usage: splitbrain repro"; rc=$?
check "repro --help" '[ $rc -eq 0 ]'

echo "$passes passed, $fails failed"
[ $fails -eq 0 ]
