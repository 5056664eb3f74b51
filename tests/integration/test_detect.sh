#!/usr/bin/env bash
# Integration (root): the detection matrix in small — one seeded run per bug switch, each in
# the scenario designed to find it, on a 5-host lab of its own; and the correct node in the
# scenarios that find three of them, which must stay valid.
#
# A bug counts as found when the run's verdict is invalid and results.json says when
# (detected_s, a number within the run). A scenario finds its bug in about 9 runs of 10 or
# more on a fast idle machine, so a miss gets up to two more seeds before the test fails
# (three misses in a row: about 1 in 1,000). A run whose timeline did not run as written (a
# step timed out or found no leader: the verdict is then `unknown`) counts as a miss; for
# the correct node it gets another seed too, but a correct node that is not valid in a run
# that ran as written fails the test at once.
#
# figure8 is the exception for finding its bug: it found commit-old-term in 9 of 10 runs on
# an idle machine on 11-30, in 1 of 10 on 12-02's slower one (bench/RESULTS.md, "12-02:
# figure8 and vote-crash on a slower machine"): whether raftnode's leader dies on its 8th commit before its no-op reaches the
# voters depends on timing. Here its misses are reported, not failed, but at least one of
# its three runs must run as written, and its correct node must stay valid. Bugs the table in
# bench/detect.sh marks as known gaps (none at present) would run too and be reported, not
# required. The full matrix, 10 seeds per cell and the correct node across every scenario:
# `make detect`.
# slow: one campaign per bug switch (about 3 min; up to 3 per switch when one misses)
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
SB=${SPLITBRAIN:-$PWD/$BUILD/splitbrain}
. tests/integration/lab_lib.sh
STORE=$PWD/$BUILD/detect-test-store
rm -rf "$STORE"
lab_init detect 5

field() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }

# run SCENARIO BUG SEED: one run through `splitbrain test-all` (which passes --bug and
# --expect on to it); sets RUN, VERDICT and DETECTED from the run's results.json.
run() {
	local args=()
	[ "$2" != none ] && args=(--bug "$2")
	"$SB" test-all "workloads/$1.yaml" "${args[@]}" --seed "$3" --expect none --store "$STORE" \
		--nodes lab --no-progress >"$STORE.log" 2>&1
	RUN=$(readlink -f "$STORE/$1/latest")
	VERDICT=$(field "$RUN/results.json" 'd["verdict"]' 2>/dev/null || echo error)
	WRITTEN=$(field "$RUN/results.json" 'd.get("as_written", True)' 2>/dev/null || echo False)
	DETECTED=$(field "$RUN/results.json" 'd["detected_s"]' 2>/dev/null || echo None)
	local seed
	seed=$(field "$RUN/results.json" 'd["seed"]' 2>/dev/null)
	[ "$seed" = "$3" ] || fail "$1: test-all ran seed $seed, not $3"
	if [ "$2" != none ]; then
		grep -qE -- "^ +- \"?$2\"?\$" "$RUN/test.yaml" || fail "$1: --bug $2 is not in the run's db.args ($RUN/test.yaml)"
	fi
}

while read -r bug scen role; do
	[ -z "$bug" ] && continue
	case $role in goal | gap) ;; *) continue ;; esac
	found=0 written=0
	for seed in 1 2 3; do
		step "$scen --bug $bug, seed $seed"
		run "$scen" "$bug" "$seed"
		echo "   verdict $VERDICT, detected at $DETECTED s, as written: $WRITTEN ($RUN)"
		[ "$WRITTEN" = True ] && written=1
		if [ "$VERDICT" = invalid ]; then
			[ "$DETECTED" != None ] || fail "$scen --bug $bug: invalid but no detected_s"
			found=1
			break
		fi
		[ "$role" = gap ] && break
	done
	if [ $found = 0 ]; then
		if [ "$role" = goal ]; then
			if [ "$scen" = figure8 ] && [ $written = 1 ]; then
				echo "   (figure8 did not find --bug $bug in three seeds: timing-dependent, reported)"
			else
				fail "$scen did not find --bug $bug in three seeds"
			fi
		else
			echo "   (known gap: $scen does not find --bug $bug on raftnode)"
		fi
	fi
done < <(sed -n '/^TABLE="/,/^"/p' bench/detect.sh | sed '1d;$d')

# correct SCENARIO: the correct node must be valid. A run whose timeline did not run as
# written (`unknown`: a step timed out or found no leader) decides nothing, so it gets up to
# two more seeds; anything else that is not valid fails at once.
correct() {
	local seed
	for seed in 1 2 3; do
		step "$1, correct node, seed $seed"
		run "$1" none "$seed"
		echo "   verdict $VERDICT, as written: $WRITTEN"
		[ "$VERDICT" = unknown ] && [ "$WRITTEN" = False ] && continue
		[ "$VERDICT" = valid ] || fail "the correct node is $VERDICT in $1 ($RUN)"
		[ "$DETECTED" = None ] || fail "$1: a valid run has detected_s $DETECTED"
		return 0
	done
	fail "$1, correct node: the scenario did not run as written in three seeds ($RUN)"
	return 1
}

correct leader-isolated-reads
if correct figure8; then
	[ "$(field "$RUN/results.json" 'd["node_safety"]["status"]')" = ok ] ||
		fail "figure8, correct node: node safety is not ok ($RUN)"
fi

lab_down
exit $failed
