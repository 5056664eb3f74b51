#!/usr/bin/env bash
# Runs the test suite and prints one line per test and a closing "N passed, N failed" line.
#
#   tests/run.sh                     everything
#   tests/run.sh --quick             skip tests/integration (needs root, namespaces, sshd)
#   tests/run.sh --only-integration  only tests/integration
#   tests/run.sh --skip-slow         skip the integration tests marked `# slow:` (long
#                                    campaigns; CI runs them once, in the normal build only)
#   tests/run.sh PATTERN             only tests whose path contains PATTERN
#
# Kinds of test:
#   $BUILD/tests/unit/<part>/test_*   cmocka binaries (unit and simulation tests)
#   tests/scripts/test_*.sh           script tests over the built programs (corpus, CLI)
#   tests/integration/test_*.sh       real processes: nodes, the lab, sshd (tagged: integration)
# Each test's output goes to $BUILD/test-logs/<name>.log; a failure prints its last lines.
# A test that exits 77 could not run here (e.g. it needs root): it is counted as skipped.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
export BUILD
export SPLITBRAIN="$PWD/$BUILD/splitbrain" RAFTNODE="$PWD/$BUILD/raftnode"
mode=all
pattern=
skip_slow=0
for a in "$@"; do
	case "$a" in
	--quick) mode=quick ;;
	--only-integration) mode=integration ;;
	--skip-slow) skip_slow=1 ;;
	*) pattern=$a ;;
	esac
done
logs=$BUILD/test-logs
mkdir -p "$logs"
TEST_TIMEOUT=${TEST_TIMEOUT:-900}

tests=()
if [ "$mode" != integration ]; then
	while IFS= read -r t; do tests+=("$t"); done < <(find "$BUILD/tests/unit" -type f -name 'test_*' -perm -u+x 2>/dev/null | sort)
	while IFS= read -r t; do tests+=("$t"); done < <(ls tests/scripts/test_*.sh 2>/dev/null | sort)
fi
if [ "$mode" != quick ]; then
	while IFS= read -r t; do tests+=("$t"); done < <(ls tests/integration/test_*.sh 2>/dev/null | sort)
fi

pass=0 fail=0 skip=0 failed=()
start_all=$(date +%s)
for t in "${tests[@]}"; do
	if [ -n "$pattern" ] && [[ "$t" != *"$pattern"* ]]; then continue; fi
	name=${t#"$BUILD/"}
	log="$logs/$(echo "$name" | tr '/' '_').log"
	start=$(date +%s)
	# A campaign marked slow (a header line "# slow: why") runs once per CI job: skipped here
	# when asked, and counted as skipped, not passed.
	if [ $skip_slow = 1 ] && [[ "$t" == *.sh ]] && grep -q '^# slow:' "$t"; then
		skip=$((skip + 1))
		printf 'SKIP %-60s %4ss (%s)\n' "$name" 0 "slow: $(sed -n 's/^# slow: //p' "$t" | head -n 1)"
		continue
	fi
	if [[ "$t" == *.sh ]]; then
		timeout --signal=TERM --kill-after=30 "$TEST_TIMEOUT" bash "$t" >"$log" 2>&1
	else
		timeout --signal=TERM --kill-after=30 "$TEST_TIMEOUT" "$t" >"$log" 2>&1
	fi
	rc=$?
	secs=$(( $(date +%s) - start ))
	if [ $rc -eq 0 ]; then
		pass=$((pass + 1))
		printf 'PASS %-60s %4ss\n' "$name" "$secs"
	elif [ $rc -eq 77 ]; then
		skip=$((skip + 1))
		printf 'SKIP %-60s %4ss (%s)\n' "$name" "$secs" "$(grep -m1 '^SKIP' "$log" | cut -c7-)"
	else
		fail=$((fail + 1))
		failed+=("$name")
		printf 'FAIL %-60s %4ss (exit %d)\n' "$name" "$secs" "$rc"
		tail -n 40 "$log" | sed 's/^/    | /'
	fi
done
echo
echo "total time: $(( $(date +%s) - start_all ))s; logs in $logs"
for f in "${failed[@]}"; do echo "failed: $f"; done
echo "tests: $pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ] && [ $pass -gt 0 ]
