#!/usr/bin/env bash
# Runs each libFuzzer target given for FUZZ_SECONDS, starting from its seed corpus
# tests/fuzz/seeds/<target>/ when there is one (new inputs go to a scratch copy).
# A crash leaves its input in build/fuzz/ and fails the run; add it to the seeds as a fixture.
set -u
FUZZ_SECONDS=${FUZZ_SECONDS:-20}
# Leaks inside system libraries that the targets cannot avoid (each explained in the file).
export LSAN_OPTIONS="suppressions=$PWD/tests/fuzz/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
rc=0
for bin in "$@"; do
	name=$(basename "$bin")
	work=$(mktemp -d)
	[ -d "tests/fuzz/seeds/$name" ] && cp -r "tests/fuzz/seeds/$name/." "$work/"
	echo "=== $name (${FUZZ_SECONDS}s)"
	if ! "$bin" -max_total_time="$FUZZ_SECONDS" -max_len=65536 -rss_limit_mb=2048 \
		-artifact_prefix=build/fuzz/"$name"- -print_final_stats=1 "$work" 2>build/fuzz/"$name".log; then
		rc=1
		tail -n 40 build/fuzz/"$name".log
	else
		grep -E 'stat::number_of_executed_units|Done' build/fuzz/"$name".log | tail -n 2
	fi
	rm -rf "$work"
done
exit $rc
