#!/usr/bin/env bash
# Runs every benchmark: the C programs built from bench/*.c and the scripts bench/bench_*.sh.
# Each prints its own figures; nothing here passes or fails on a time. The latest figures and
# the command that produced them are kept in bench/RESULTS.md.
#   bench/run.sh [NAME...]   only the benchmarks whose name contains one of NAME
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
export BUILD SPLITBRAIN="$PWD/$BUILD/splitbrain" RAFTNODE="$PWD/$BUILD/raftnode"
want() {
	[ $# -eq 1 ] && return 0
	local n=$1; shift
	for p in "$@"; do [[ "$n" == *"$p"* ]] && return 0; done
	return 1
}
rc=0
for b in $(ls "$BUILD"/bench/* bench/bench_*.sh 2>/dev/null | sort); do
	name=$(basename "$b")
	# $BUILD/bench also holds the compiler's dependency files (*.d): only programs run.
	[[ "$b" == *.sh || ( -f "$b" && -x "$b" ) ]] || continue
	want "$name" "$@" || continue
	echo "=== $name"
	if [[ "$b" == *.sh ]]; then bash "$b" || rc=1; else "$b" || rc=1; fi
	echo
done
exit $rc
