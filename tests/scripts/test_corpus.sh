#!/usr/bin/env bash
# Every history of tests/fixtures/knossos gets the verdict its README gives, checked with as
# few invocations as possible (one per model and expected verdict). Each invocation's JSON
# output is inspected file by file, so one wrong verdict names its file.
set -u
cd "$(dirname "$0")/../.."
SB=${SPLITBRAIN:-build/splitbrain}
K=tests/fixtures/knossos
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0

# check NAME EXPECTED_EXIT EXPECTED_VERDICT ARGS... -- FILES...
check() {
	local name=$1 want_rc=$2 want=$3
	shift 3
	local args=()
	while [ "$1" != "--" ]; do args+=("$1"); shift; done
	shift
	local n=$#
	"$SB" check "${args[@]}" --json "$tmp/$name.json" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err"
	local rc=$?
	if [ "$rc" -ne "$want_rc" ]; then
		echo "FAIL $name: exit $rc, want $want_rc"; cat "$tmp/$name.err"; fail=1
	fi
	local got
	got=$(grep -c ": $want (" "$tmp/$name.out")
	if [ "$got" -ne "$n" ]; then
		echo "FAIL $name: $got of $n histories are $want:"
		grep -v ": $want (" "$tmp/$name.out" | grep -E '^[^ ]' | head -20
		fail=1
	else
		echo "ok   $name: $n histories $want"
	fi
	# The JSON names every file with the same verdict.
	local jn
	jn=$(grep -o "\"verdict\":\"$want\",\"events\"" "$tmp/$name.json" | wc -l)
	if [ "$jn" -ne "$n" ]; then
		echo "FAIL $name: the JSON output has $jn $want results, want $n"; fail=1
	fi
}

check cas-good 0 valid --model cas-register --initial 0 -- "$K"/cas-register/good/*.edn
check cas-bad 1 invalid --model cas-register --initial 0 -- "$K"/cas-register/bad/*.edn
check cas-bad-nil 1 invalid --model cas-register -- \
	"$K"/cas-register/bad/rethink-fail-minimal.edn "$K"/cas-register/bad/rethink-fail-smaller.edn
check mutex-bad 1 invalid --model mutex -- "$K"/mutex/bad/etcd.edn
check multi-good 0 valid --model multi-register --initial '{"x":0,"y":0}' -- \
	"$K"/multi-register/good/*.edn

# Every bad history's counterexample names an operation and explains itself.
if ! grep -q '"counterexample":{"op":{"line":' "$tmp/cas-bad.json"; then
	echo "FAIL cas-bad: no counterexample in the JSON output"; fail=1
fi
# The files covered are all the corpus has.
total=$(find "$K" -name '*.edn' | wc -l)
covered=$(( $(ls "$K"/cas-register/good/*.edn "$K"/cas-register/bad/*.edn "$K"/mutex/bad/*.edn "$K"/multi-register/good/*.edn | wc -l) ))
if [ "$total" -ne "$covered" ]; then
	echo "FAIL corpus has $total histories, the checks cover $covered"; fail=1
fi
# A mixed invocation exits with the worst verdict.
"$SB" check --initial 0 "$K"/cas-register/good/memstress3-0.edn "$K"/cas-register/bad/cas-failure.edn >/dev/null 2>&1
rc=$?
[ $rc -eq 1 ] || { echo "FAIL mixed good+bad: exit $rc, want 1"; fail=1; }
exit $fail
