#!/usr/bin/env bash
# The scenario library (workloads/*.yaml): every file loads (spectool resolve); every
# raftnode one says at its top the verdict a correct cluster must get ("Verdict a correct
# cluster must get: valid."), and if it says `expect:`, it expects that same verdict. Every bug switch of raftnode has a row
# in the detection matrix (bench/detect.sh), and the scenarios that rows name exist.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
failed=0
fail() {
	echo "FAIL: $*"
	failed=1
}
n=0
for f in workloads/*.yaml; do
	n=$((n + 1))
	"$BUILD/tools/spectool" resolve "$f" >/dev/null || fail "$f does not load"
	# The scenario library is raftnode's; the specs of other systems say what they like.
	kind=$("$BUILD/tools/spectool" resolve "$f" 2>/dev/null | awk '/^db:/ {d = 1} d && /^  kind:/ {print $2; exit}')
	[ "$kind" = raftnode ] || continue
	verdict=$(sed -n '/^[^#]/q; s/^# Verdict .* must get: \([a-z]*\).*/\1/p' "$f")
	[ -n "$verdict" ] || fail "$f: its header does not say 'Verdict a correct cluster must get: ...'"
	expect=$(sed -n 's/^expect: *\([a-z]*\).*/\1/p' "$f")
	[ -z "$expect" ] || [ "$expect" = "$verdict" ] || fail "$f: expect: $expect but the header says $verdict"
done
[ $n -ge 20 ] || fail "only $n scenarios in workloads/"
table=$(sed -n '/^TABLE="/,/^"/p' bench/detect.sh | sed '1d;$d')
bugs=$("$BUILD/raftnode" --help 2>&1 | sed -n '/^bugs (--bug):/,/^$/p' | sed -n 's/^  \([a-z-]*\) .*/\1/p')
[ "$(echo "$bugs" | wc -w)" -ge 6 ] || fail "raftnode --help lists $(echo "$bugs" | wc -w) bugs"
for bug in $bugs; do
	echo "$table" | grep -qE "^$bug +[a-z0-9-]+ +goal|^$bug +[a-z0-9-]+ +gap" ||
		fail "bug $bug has no scenario in bench/detect.sh"
done
while read -r bug scen role; do
	[ -z "$bug" ] && continue
	[ -f "workloads/$scen.yaml" ] || fail "bench/detect.sh names workloads/$scen.yaml, which does not exist"
done <<<"$table"
echo "$n scenarios checked"
exit $failed
