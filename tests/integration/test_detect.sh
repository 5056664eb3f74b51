#!/usr/bin/env bash
# Integration (root): the detection matrix in small — one seeded run per bug switch, each in
# the scenario designed to find it, on a 5-host lab of its own; and the correct node in the
# scenarios that find three of them, which must stay valid.
#
# A bug counts as found when the run's verdict is invalid and results.json says when
# (detected_s, a number within the run). A scenario finds its bug in about 9 runs of 10 or
# more (figure8 9 of 10 on an idle machine, fewer when other work shares the cores: it
# missed two seeds in a row once then), so a miss gets up to two more seeds before the test
# fails (three misses in a row: about 1 in 1,000). Bugs the table in bench/detect.sh marks as known gaps (none at present) would run
# too and be reported, not required. The full matrix, 10 seeds per cell and the correct node
# across every scenario: `make detect`.
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
	found=0
	for seed in 1 2 3; do
		step "$scen --bug $bug, seed $seed"
		run "$scen" "$bug" "$seed"
		echo "   verdict $VERDICT, detected at $DETECTED s ($RUN)"
		if [ "$VERDICT" = invalid ]; then
			[ "$DETECTED" != None ] || fail "$scen --bug $bug: invalid but no detected_s"
			found=1
			break
		fi
		[ "$role" = gap ] && break
	done
	if [ $found = 0 ]; then
		if [ "$role" = goal ]; then
			fail "$scen did not find --bug $bug in three seeds"
		else
			echo "   (known gap: $scen does not find --bug $bug on raftnode)"
		fi
	fi
done < <(sed -n '/^TABLE="/,/^"/p' bench/detect.sh | sed '1d;$d')

step "leader-isolated-reads, correct node, seed 1"
run leader-isolated-reads none 1
echo "   verdict $VERDICT"
[ "$VERDICT" = valid ] || fail "the correct node is $VERDICT in leader-isolated-reads ($RUN)"
[ "$DETECTED" = None ] || fail "a valid run has detected_s $DETECTED"

step "figure8, correct node, seed 1"
run figure8 none 1
echo "   verdict $VERDICT"
[ "$VERDICT" = valid ] || fail "the correct node is $VERDICT in figure8 ($RUN)"
[ "$(field "$RUN/results.json" 'd["node_safety"]["status"]')" = ok ] ||
	fail "figure8, correct node: node safety is not ok ($RUN)"

lab_down
exit $failed
