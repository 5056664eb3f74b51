#!/usr/bin/env bash
# Checker benchmark: `splitbrain check` on histories from the generator (build/tools/histgen),
# one process per cell, timed end to end (reading and parsing included; generating not).
# Prints, per cell: verdict, wall time, CPU time (user + system, all threads), operations per
# second (of wall time), peak resident memory. GNU time measures to 10 ms.
# The last section sets the checker beside the plain reference search (build/tools/wglref,
# the classic Wing-Gong-Lowe algorithm without reductions) on registers with values 0-4,
# both with a 20 s limit (LIMIT=S changes it), and prints both verdicts, times (whole, and
# the search alone, reading excluded) and their ratios.
#   bench/bench_checker.sh            all cells (needs ~1.5 GB of scratch space in $BUILD)
#   CELLS=quick bench/bench_checker.sh  skip the 1M-operation cells
#   CELLS=lists / CELLS=registers       only the list cells / only the registers beside the
#                                       reference
#   NICE="nice -n -19" bench/bench_checker.sh  (root) measure ahead of other work on a busy box
#   BEFORE=path/to/splitbrain CELLS=registers bench/bench_checker.sh  also time another build
#                                       (say, of an earlier commit) on the register cells
#   PIN=0 / PIN=none                    the register cells run on this CPU (default: the last
#                                       one) / wherever the scheduler puts them
# Figures depend on the machine's load: the load average is printed before and after.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
SB=${SPLITBRAIN:-$BUILD/splitbrain}
HG=$BUILD/tools/histgen
REF=$BUILD/tools/wglref
CELLS=${CELLS:-all}
NICE=${NICE:-}
LIMIT=${LIMIT:-20}
for b in "$SB" "$HG" "$REF"; do
	[ -x "$b" ] || { echo "bench_checker: $b is not built (make BUILD=$BUILD)"; exit 1; }
done
[ -x /usr/bin/time ] || { echo "bench_checker: needs GNU time (/usr/bin/time)"; exit 1; }
data=$(mktemp -d "$BUILD/bench-checker.XXXXXX")
trap 'rm -rf "$data"' EXIT

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg); cores: $(nproc)"
printf '%-34s %-8s %9s %9s %12s %10s\n' cell verdict seconds cpu-s ops/s "peak MiB"

# run NAME OPS ARGS... : time one invocation and print its row.
run() {
	local name=$1 ops=$2
	shift 2
	local out rc secs kb
	$NICE /usr/bin/time -o "$data/time" -f '%e %M %U %S' "$SB" check "$@" >"$data/out" 2>/dev/null
	rc=$?
	out=$(cat "$data/time")
	secs=$(echo "$out" | tail -n1 | cut -d' ' -f1)
	kb=$(echo "$out" | tail -n1 | cut -d' ' -f2)
	local cpu
	cpu=$(echo "$out" | tail -n1 | awk '{ printf "%.2f", $3 + $4 }')
	local verdict
	case $rc in 0) verdict=valid ;; 1) verdict=invalid ;; 2) verdict=unknown ;; *) verdict="exit$rc" ;; esac
	awk -v n="$name" -v v="$verdict" -v s="$secs" -v c="$cpu" -v o="$ops" -v k="$kb" \
		'BEGIN { ops = (s > 0) ? o / s : 0; printf "%-34s %-8s %9.2f %9.2f %12.0f %10.1f\n", n, v, s, c, ops, k / 1024 }'
}

if [ "$CELLS" = all ] || [ "$CELLS" = quick ]; then
# 1. 100 histories shaped like Jepsen's etcd register test, one invocation.
mkdir -p "$data/etcd"
for s in $(seq 1 100); do "$HG" -q --shape etcd --seed "$s" -o "$data/etcd/h$s.jsonl"; done
ops=$(( $(cat "$data"/etcd/*.jsonl | grep -c '"invoke"') ))
run "etcd-like x100 (one invocation)" "$ops" --model cas-register "$data"/etcd/*.jsonl

# 2. One key, unique values: concurrency x length, valid and with one stale read.
for c in 5 10 20; do
	for n in 1000 10000 100000; do
		"$HG" -q --shape unique --concurrency "$c" --ops "$n" --seed 7 -o "$data/u.jsonl"
		run "unique c=$c n=$n valid" "$n" --model cas-register "$data/u.jsonl"
		"$HG" -q --shape unique --concurrency "$c" --ops "$n" --seed 7 --inject stale-read -o "$data/u.jsonl"
		run "unique c=$c n=$n stale read" "$n" --model cas-register "$data/u.jsonl"
	done
done

# 3. 1000 keys x 1M operations x concurrency 20.
if [ "$CELLS" = all ]; then
	"$HG" -q --shape multi -o "$data/m.jsonl"
	run "1000 keys x 1M ops c=20 valid" 1000000 --model kv "$data/m.jsonl"
	"$HG" -q --shape multi --inject stale-read -o "$data/m.jsonl"
	run "1000 keys x 1M ops c=20 stale read" 1000000 --model kv "$data/m.jsonl"
fi
fi

# 4. List-append (unique elements: decided by inference), valid and with each anomaly.
if [ "$CELLS" != registers ]; then
for inj in none stale-read lost-append duplicate order future-read never-appended; do
	"$HG" -q --workload list --keys 10 --ops 2000 --concurrency 50 --crash 0 --fail 0 \
		$([ $inj = none ] || echo --inject $inj) -o "$data/l.jsonl"
	run "list 10 keys x 200 c=50 $inj" 2000 --model list "$data/l.jsonl"
done
"$HG" -q --workload list --keys 10 --ops 2000 --concurrency 50 --crash 0.1 -o "$data/l.jsonl"
run "list 10 keys x 200 c=50 10% info" 2000 --model list "$data/l.jsonl"
"$HG" -q --workload list --ops 11000 --mix 0.1,0.9 --concurrency 50 -o "$data/l.jsonl"
run "list 1 key x ~10k appends c=50" 11000 --model list "$data/l.jsonl"
if [ "$CELLS" = all ] || [ "$CELLS" = lists ]; then
	"$HG" -q --workload list --keys 1000 --ops 1000000 --mix 0.1,0.9 --concurrency 20 \
		-o "$data/lm.jsonl"
	run "list 1000 keys x 1M c=20 valid" 1000000 --model list "$data/lm.jsonl"
	"$HG" -q --workload list --keys 1000 --ops 1000000 --mix 0.1,0.9 --concurrency 20 \
		--inject lost-append -o "$data/lm.jsonl"
	run "list 1000 keys x 1M c=20 lost" 1000000 --model list "$data/lm.jsonl"
	rm -f "$data/lm.jsonl"
fi
fi

# 5. Registers with values 0-4 (as Jepsen's etcd tests use), beside the reference search.
if [ "$CELLS" = lists ]; then
	echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
	exit 0
fi
# once HOW CMD...: run it once; prints "EXIT SECONDS READ [CONFIGURATIONS]": the time the
# program itself reports (reading and checking; not starting the process) and the part of it
# spent reading the file and pairing its events. HOW says where the times are: a --json file
# the command writes (the checker), "ref" (the reference's line), or "line" (another build's
# verdict line: no reading time, READ is then -).
once() {
	local how=$1 rc out s r
	shift
	case $how in ref | line) ;; *) rm -f "$how" ;; esac # no times from an earlier run
	$NICE $PINCMD "$@" >"$data/out" 2>/dev/null
	rc=$?
	out=$(head -n1 "$data/out")
	case $how in
	ref)
		s=$(echo "$out" | sed -n 's/.*; \([0-9.]*\) s;.*/\1/p')
		r=$(echo "$out" | sed -n 's/.*; read \([0-9.]*\) s).*/\1/p') ;;
	line)
		s=$(echo "$out" | sed -n 's/.*; \([0-9.]*\) s[;)].*/\1/p')
		r=- ;;
	*)
		s=$(sed -n 's/.*"seconds":\([0-9.]*\),"read_seconds":[0-9.]*.*/\1/p' "$how")
		r=$(sed -n 's/.*"seconds":[0-9.]*,"read_seconds":\([0-9.]*\).*/\1/p' "$how") ;;
	esac
	echo "$rc ${s:-0} ${r:-0} $(echo "$out" | sed -n 's/.*; \([0-9]*\) configurations.*/\1/p')"
}
# best OLD NEW: of two "EXIT SECONDS READ ..." results, the faster (OLD may be empty)
best() {
	if [ -z "$1" ] || awk -v a="$(echo "$2" | cut -d' ' -f2)" -v b="$(echo "$1" | cut -d' ' -f2)" \
		'BEGIN { exit !(a < b) }'; then echo "$2"; else echo "$1"; fi
}
# slow RESULT: true when the run took 2 s or more (it is not repeated)
slow() { awk -v a="$(echo "$1" | cut -d' ' -f2)" 'BEGIN { exit !(a >= 2) }'; }
# The programs run in turns (checker, reference, BEFORE; three rounds, the best of each kept;
# one that took 2 s or more is not run again), all on one CPU: on a machine whose CPUs run
# at different speeds from moment to moment, both sides of a ratio then meet the same CPU at
# about the same time. PIN=none runs them wherever the scheduler puts them.
PIN=${PIN:-$(($(nproc) - 1))}
PINCMD=
if [ "$PIN" != none ] && command -v taskset >/dev/null; then PINCMD="taskset -c $PIN"; fi
vname() { case $1 in 0) echo valid ;; 1) echo invalid ;; 2) echo unknown ;; *) echo "exit$1" ;; esac; }
echo
echo "registers, values 0-4, 1 key, limit ${LIMIT} s each: the checker beside the reference"
[ -n "${BEFORE:-}" ] && echo "(and beside BEFORE=$BEFORE, another build of splitbrain, in the last two columns)"
printf '%-30s %-8s %9s %9s   %-8s %9s %9s %12s %8s %8s' cell checker seconds search reference \
	seconds search configs ratio "search"
[ -n "${BEFORE:-}" ] && printf '   %-8s %9s' before seconds
echo
pair() {
	local name=$1 f=$2
	local a="" b="" c="" i
	for i in 1 2 3; do
		if [ -z "$a" ] || ! slow "$a"; then
			a=$(best "$a" "$(once "$data/j.json" "$SB" check --model cas-register --initial 0 \
				--timeout "$LIMIT" --json "$data/j.json" "$f")")
		fi
		if [ -z "$b" ] || ! slow "$b"; then
			b=$(best "$b" "$(once ref "$REF" --model cas-register --initial 0 --timeout "$LIMIT" \
				"$f")")
		fi
		if [ -n "${BEFORE:-}" ] && { [ -z "$c" ] || ! slow "$c"; }; then
			c=$(best "$c" "$(once line "$BEFORE" check --model cas-register --initial 0 \
				--timeout "$LIMIT" "$f")")
		fi
	done
	set -- $a $b
	awk -v n="$name" -v va="$(vname "$1")" -v sa="$2" -v ra="$3" -v vb="$(vname "$4")" \
		-v sb="$5" -v rb="$6" -v cb="${7:-0}" '
	function ratio(x, y) { return y <= 0 ? "-" : sprintf(x / y < 100 ? "%.1fx" : "%.0fx", x / y) }
	BEGIN {
		dec = va != "unknown" && vb != "unknown"
		printf "%-30s %-8s %9.3f %9.4f   %-8s %9.3f %9.4f %12s %8s %8s", n, va, sa, sa - ra,
			vb, sb, sb - rb, cb, dec ? ratio(sb, sa) : "-", dec ? ratio(sb - rb, sa - ra) : "-" }'
	if [ -n "$c" ]; then
		set -- $c
		printf '   %-8s %9.3f' "$(vname "$1")" "$2"
	fi
	echo
}
for c in 20 50 100; do
	for n in 1000 10000; do
		"$HG" -q --values 5 --initial 0 --concurrency "$c" --ops "$n" --seed 7 -o "$data/r.jsonl"
		pair "c=$c n=$n" "$data/r.jsonl"
	done
done
# 5%, 15%, 30% of all operations indeterminate (half the operations are writes or cas);
# then the same at 10 and 20 clients
for c in 5 10 20; do
	for pct in 5 15 30; do
		"$HG" -q --values 5 --initial 0 --concurrency "$c" --ops 10000 --seed 7 \
			--crash "$(awk -v p="$pct" 'BEGIN { print 2 * p / 100 }')" -o "$data/r.jsonl"
		pair "c=$c n=10000 info=$pct%" "$data/r.jsonl"
	done
done
# Ten values, 10% of writes and cas indeterminate, 2,000 operations (seed 11).
for c in 20 30 50; do
	"$HG" -q --values 10 --initial 0 --concurrency "$c" --ops 2000 --seed 11 --crash 0.1 \
		-o "$data/r.jsonl"
	pair "c=$c n=2000 values=10 crash=10%" "$data/r.jsonl"
done
# Ten values, fifty clients, 5% of writes and cas indeterminate (seeds 4, 11, 14).
for seed in 4 11 14; do
	"$HG" -q --values 10 --initial 0 --concurrency 50 --ops 2000 --seed "$seed" --crash 0.05 \
		-o "$data/r.jsonl"
	pair "c=50 n=2000 v=10 crash=5% s=$seed" "$data/r.jsonl"
done
# Invalid at high concurrency: a linearizable prefix (values 0-3, c clients, 500 ops), then,
# after all of it, a read of 3, a write of 1, a read of 3 again and a write of 3: no order
# explains the second read (as in tests/unit/checker/test_reference.c).
for c in 30 40 50 100; do
	{ "$HG" -q --values 4 --initial 0 --concurrency "$c" --ops 500 --seed 5 --crash 0 --fail 0
	  for v in 3:1 3:3; do
		printf '{"process":9999,"type":"invoke","f":"read","value":null}\n'
		printf '{"process":9999,"type":"ok","f":"read","value":%s}\n' "${v%:*}"
		printf '{"process":9998,"type":"invoke","f":"write","value":%s}\n' "${v#*:}"
		printf '{"process":9998,"type":"ok","f":"write","value":%s}\n' "${v#*:}"
	  done; } >"$data/r.jsonl"
	pair "c=$c n=500 invalid" "$data/r.jsonl"
done
echo "(seconds: as each program reports it, reading included, best of 3 under 2 s, the"
echo " programs in turns${PINCMD:+ on CPU $PIN}; search:"
echo " the part of it after reading the file and pairing its events (both programs use the"
echo " same reader); configs: the reference's memoised configurations; ratio: reference over"
echo " checker, of the seconds and of the search; '-' where either is unknown)"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
