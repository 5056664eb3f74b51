#!/usr/bin/env bash
# detect.sh — the detection matrix: does each of raftnode's bug switches get found by the
# scenario designed for it, how often and how fast, and does the correct node stay valid in
# every scenario?
#
#   bench/detect.sh [--k N] [--correct-k N] [--bugs "a b"] [--scenarios "x y"] [--extra]
#                   [--lab DIR] [--store DIR] [--out FILE] [--summary FILE]
#
#   --k N          seeded runs per (bug, scenario) cell (default 10)
#   --correct-k N  runs of the correct node per scenario (default 5; 0: none)
#   --first-seed S the seeds are S, S+1, ... (default 1), to add runs to an earlier matrix
#   --bugs LIST    only these bugs (default: every row of the table below)
#   --scenarios L  the scenarios the correct node runs (default: every workloads/*.yaml that
#                  says `expect: valid`)
#   --extra        also the cells marked extra (a bug in a scenario not designed for it)
#   --roles LIST   only the cells of these roles (goal, gap, extra; default goal gap, and
#                  extra with --extra)
#   --lab DIR      use the lab that is up in DIR (default: bring up a 5-node lab in
#                  build/detect-lab and take it down at the end; needs root)
#   --store DIR    the runs' store (default build/detect-store)
#   --out FILE     one tab-separated line per run is appended here (default
#                  build/detect-runs.tsv); the summary is computed from it, so an interrupted
#                  matrix keeps what it ran and --summary-only prints it
#   --summary-only print the table from --out without running anything
#
# Each cell runs `splitbrain test-all workloads/<scenario>.yaml --bug <bug> --expect none
# --seed 1 --test-count K` (seeds 1..K; --first-seed moves them); a run "finds" the bug when its verdict is invalid. The time to detection is
# results.json's detected_s (harness/report/detect.h). The table: per bug and scenario, runs
# that found it of those run, the median and the slowest time to detection; per scenario, the
# correct node's runs and how many were not valid (a false alarm is an invalid one; unknown is
# counted apart). Exit 0 when every bug was found in at least 9 of 10 runs (scaled to K) of
# some cell with a median time to detection of at most 10 s, and the correct node was valid
# in every run; 1 otherwise (the bugs marked `gap` are not found: bench/RESULTS.md).
set -u
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BUILD=${BUILD:-build}
K=10 CK=5 FIRST=1 BUGS="" SCENARIOS="" EXTRA=0 ROLES="" LAB="" STORE="$BUILD/detect-store"
OUT="$BUILD/detect-runs.tsv" SUMMARY_ONLY=0
while [ $# -gt 0 ]; do
	case "$1" in
	--k) K=$2; shift ;;
	--correct-k) CK=$2; shift ;;
	--first-seed) FIRST=$2; shift ;;
	--bugs) BUGS=$2; shift ;;
	--scenarios) SCENARIOS=$2; shift ;;
	--extra) EXTRA=1 ;;
	--roles) ROLES=$2; shift ;;
	--lab) LAB=$2; shift ;;
	--store) STORE=$2; shift ;;
	--out) OUT=$2; shift ;;
	--summary-only) SUMMARY_ONLY=1 ;;
	-h|--help) sed -n '2,30p' "$0"; exit 0 ;;
	*) echo "detect.sh: unknown option $1" >&2; exit 254 ;;
	esac
	shift
done

# The table: bug, scenario, and whether the scenario is the bug's designed finder (goal: it
# must find it in >= 9 of 10 runs), a known gap (designed for it, not expected to find it on
# raftnode: see the scenario's header and bench/RESULTS.md), or extra (another scenario that
# also finds it; run with --extra).
TABLE="
stale-read        leader-isolated-reads  goal
ack-before-commit leader-isolated-reads  goal
no-noop           leader-change-read     goal
no-log-check      stale-node-campaigns   goal
forget-vote       vote-crash             goal
commit-old-term   figure8                goal
stale-read        dc-cut-leader-dc       extra
ack-before-commit dc-cut-leader-dc       extra
stale-read        leader-paused          extra
ack-before-commit restart-all            extra
stale-read        leader-change-read     extra
"

summary() {
	python3 - "$OUT" "$K" "$CK" <<'EOF'
import statistics, sys
out, k, ck = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
cells, correct, goal = {}, {}, {}
try:
    lines = open(out).read().splitlines()
except FileNotFoundError:
    lines = []
for line in lines:
    f = line.split("\t")
    if len(f) < 7:
        continue
    bug, scen, kind, seed, verdict, det, store = f[:7]
    if bug == "none":
        correct.setdefault(scen, []).append(verdict)
    else:
        cells.setdefault((bug, scen), []).append((verdict, det))
        goal[(bug, scen)] = kind
ok = True
print("%-18s %-24s %-6s %7s %9s %8s" % ("bug", "scenario", "role", "found", "median_s", "max_s"))
best = {}
for (bug, scen), runs in sorted(cells.items(), key=lambda x: (x[0][0], goal[x[0]] != "goal", x[0][1])):
    found = [float(d) for v, d in runs if v == "invalid" and d not in ("", "None")]
    nfound = sum(1 for v, d in runs if v == "invalid")
    med = statistics.median(found) if found else None
    print("%-18s %-24s %-6s %3d/%-3d %9s %8s" % (bug, scen, goal[(bug, scen)], nfound, len(runs),
          "%.1f" % med if found else "-", "%.1f" % max(found) if found else "-"))
    met = nfound * 10 >= 9 * len(runs) and med is not None and med <= 10
    # the designed cell (listed first) speaks for the bug unless only another one meets the goal
    if bug not in best or (met and not best[bug][0]):
        best[bug] = (met, scen, nfound, len(runs), med)
print()
print("%-26s %5s %6s %6s %7s" % ("correct node: scenario", "runs", "valid", "unknown", "invalid"))
tot = [0, 0, 0, 0]
for scen, vs in sorted(correct.items()):
    n, v, u, i = len(vs), vs.count("valid"), vs.count("unknown"), vs.count("invalid")
    tot = [tot[0] + n, tot[1] + v, tot[2] + u, tot[3] + i]
    print("%-26s %5d %6d %6d %7d" % (scen, n, v, u, i))
    if v != n:
        ok = False
print("%-26s %5d %6d %6d %7d" % ("total", *tot))
print()
for bug, (met, scen, n, t, med) in sorted(best.items()):
    print("%-18s %s (%s: %d/%d%s)" % (bug, "goal met" if met else "goal NOT met", scen, n, t,
          ", median %.1f s" % med if med is not None else ""))
    ok = ok and met
print("goals: %s" % ("met" if ok else "NOT met"))
sys.exit(0 if ok else 1)
EOF
}

if [ "$SUMMARY_ONLY" = 1 ]; then
	summary
	exit $?
fi

SB="$ROOT/$BUILD/splitbrain"
[ -x "$SB" ] || { echo "detect.sh: $SB is not built (make)" >&2; exit 255; }
mkdir -p "$(dirname "$OUT")" "$STORE"
OWN_LAB=0
if [ -z "$LAB" ]; then
	[ "$(id -u)" = 0 ] || { echo "detect.sh: bringing up a lab needs root (or give --lab DIR)" >&2; exit 77; }
	LAB="$ROOT/$BUILD/detect-lab"
	"$SB" lab down --dir "$LAB" >/dev/null 2>&1
	"$SB" lab up -n 5 --dir "$LAB" >"$BUILD/detect-lab.log" 2>&1 ||
		{ echo "detect.sh: lab up failed (see $BUILD/detect-lab.log)" >&2; exit 255; }
	OWN_LAB=1
	trap '"$SB" lab down --dir "$LAB" >/dev/null 2>&1' EXIT
	trap 'exit 130' INT TERM
fi
export SPLITBRAIN_LAB_DIR="$LAB"

# cell BUG SCENARIO ROLE COUNT: `splitbrain test-all` runs the scenario COUNT times (seeds
# FIRST, FIRST+1, ...) with the bug switch on (none: the correct node); each run's line is
# appended to $OUT from its results.json.
cell() {
	local bug=$1 scen=$2 role=$3 count=$4 args=() before
	[ "$bug" != none ] && args=(--bug "$bug")
	before=$(ls "$STORE/$scen" 2>/dev/null | grep -v latest)
	"$SB" test-all "workloads/$scen.yaml" "${args[@]}" --expect none --seed "$FIRST" \
		--test-count "$count" --nodes lab --store "$STORE" --no-progress \
		>"$BUILD/detect-cell.log" 2>&1
	local dir
	for dir in $(ls "$STORE/$scen" 2>/dev/null | grep -v latest); do
		grep -qxF "$dir" <<<"$before" && continue
		python3 - "$STORE/$scen/$dir" "$bug" "$scen" "$role" <<'PY' | tee -a "$OUT" >&2
import json, sys
run, bug, scen, role = sys.argv[1:5]
try:
    d = json.load(open(run + "/results.json"))
    v, det, seed = d.get("verdict"), d.get("detected_s"), d.get("seed")
except Exception:
    v, det, seed = "error", None, ""
print("\t".join(str(x) for x in (bug, scen, role, seed, v, det, run)))
PY
	done
}

echo "$TABLE" | while read -r bug scen role; do
	[ -z "$bug" ] && continue
	[ "$role" = extra ] && [ "$EXTRA" = 0 ] && [ -z "$ROLES" ] && continue
	[ -n "$ROLES" ] && ! [[ " $ROLES " == *" $role "* ]] && continue
	[ -n "$BUGS" ] && ! [[ " $BUGS " == *" $bug "* ]] && continue
	[ "$K" -gt 0 ] && cell "$bug" "$scen" "$role" "$K"
done
if [ "$CK" -gt 0 ]; then
	if [ -z "$SCENARIOS" ]; then
		SCENARIOS=$(grep -l '^expect: valid' workloads/*.yaml | xargs -n1 basename | sed 's/\.yaml$//')
	fi
	for scen in $SCENARIOS; do
		cell none "$scen" correct "$CK"
	done
fi
summary
