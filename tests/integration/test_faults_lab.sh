#!/usr/bin/env bash
# Integration (root): netem, clock and crash point faults on a 3-host lab of its own
# ($BUILD/lab-faults-test; taken down by a trap), raftnode deployed with --fault-injection,
# the faults driven through tests/tools/nemesis_tool (kind->start / heal / heal_all).
#
#   netem       `delay: 100ms` on n1: the round trip n2 -> n1 (ping, best of 10) grows by at
#               least 100 ms while the controller's own round trip to n1 does not; after the
#               heal it is back and no netem qdisc is left. A kernel without sch_netem
#               (or sch_prio) skips the measurement: the fault must then fail saying so.
#   clock       nodes restarted under libfaketime; `offset: 1h` on n2: its log timestamps
#               (a `DEBUG CRASHPOINT CLEAR` makes it log a line) read an hour ahead of the
#               controller's clock, then right again after the heal; `rate: 3`: no jump when
#               the fault starts, and the node's clock runs about 3 times as fast.
#   crashpoint  leader-after-partial-replicate on the leader under a write load: it dies at
#               the point (crashpoint-hit in its log), heal restarts it and records
#               {"fired":true,...}; snapshot-mid-write with a huge --snapshot-every cannot
#               fire: heal says "did not fire" and disarms it.
#   heal_all    partition, netem, clock, pause, kill and an armed crash point started, the
#               tool forgets them; a fresh tool's heal_all leaves no SPLITBRAIN rule, no netem
#               qdisc, every clock neutral, every node running and answering.
# The measured figures are printed. Only lower bounds guaranteed by netem itself, and clock
# differences far larger than any scheduling delay, are asserted.
set -u
cd "$(dirname "$0")/../.."
. tests/integration/lib_nemesis.sh
nem_require
command -v redis-cli >/dev/null || die "redis-cli missing (make deps)"
ls /usr/lib/*/faketime/libfaketimeMT.so.1 >/dev/null 2>&1 || die "libfaketime missing (make deps)"
trap nem_cleanup EXIT
trap 'exit 1' INT TERM

nem_setup faults-test 3 --election-timeout 150-300 --fault-injection --snapshot-every 1000000
LOAD=$PWD/$BUILD/tools/raftload
nem_tool --faketime
step "a clock fault on a node not started under libfaketime is refused"
nem_send "start clock target=n1 offset=1h"
[ "${R[0]}" = error ] && [[ "${R[1]:-}" == *"does not run under libfaketime"* ]] ||
	fail "a clock fault without libfaketime was not refused: $REPLY_LINE"
[ -e "$NODEDIR/n1/faketime.rc" ] && fail "a refused clock fault wrote faketime.rc"
step "restart the nodes under libfaketime"
nem_send "db restart"
[ "${R[0]}" = ok ] || die "restart under libfaketime: ${R[1]:-}"
for h in "${NODES[@]}"; do
	pid=$(cat "$NODEDIR/$h/pid")
	tr '\0' '\n' <"/proc/$pid/environ" | grep -qx "FAKETIME_TIMESTAMP_FILE=$NODEDIR/$h/faketime.rc" ||
		fail "$h (pid $pid) does not run under libfaketime"
	[ "$(cat "$NODEDIR/$h/faketime.rc")" = "+0 x1" ] || fail "$h: faketime.rc is not neutral"
done

# ---- netem ----------------------------------------------------------------------------------
# Best round trip in ms of 10 pings from namespace $1 (or the root namespace: -) to $2.
best_rtt() {
	local pre=()
	[ "$1" != - ] && pre=(ip netns exec "$1")
	"${pre[@]}" ping -n -q -c 10 -i 0.05 -W 2 "$2" 2>/dev/null |
		awk -F'[/ ]' '/^rtt|^round-trip/ { print $7 }'
}
ge() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a >= b) }'; }

step "netem delay 100ms on n1"
before=$(best_rtt "${NS[n2]}" "${ADDR[n1]}")
ctl_before=$(best_rtt - "${ADDR[n1]}")
nem_send "start netem target=n1 delay=100ms"
NETEM=1
if [ "${R[0]}" = error ] && [[ "${R[1]:-}" == *"needs sch_"* ]]; then
	# The fault says what is missing, and leaves nothing behind.
	NETEM=0
	echo "SKIP netem measurement: this kernel has no netem qdisc (${R[1]})"
	ip netns exec "${NS[n1]}" tc qdisc show | grep -q 'qdisc prio 5b5b' && fail "a failed netem left its prio qdisc"
fi
if [ $NETEM = 1 ]; then
	[ "${R[0]}" = ok ] || fail "netem start: ${R[1]:-}"
	NID=${R[1]:-}
	[[ "${R[3]:-}" == *'"delay_ms":100'* ]] || fail "netem value lacks the delay: ${R[3]:-}"
	with=$(best_rtt "${NS[n2]}" "${ADDR[n1]}")
	ctl_with=$(best_rtt - "${ADDR[n1]}")
	ip netns exec "${NS[n1]}" tc qdisc show | grep -q netem || fail "no netem qdisc on n1"
	"$SB" hosts run --nodes lab --timeout 10s -- true >/dev/null 2>&1 || fail "controller lost SSH under netem"
	nem_send "heal $NID"
	after=$(best_rtt "${NS[n2]}" "${ADDR[n1]}")
	echo "   round trip n2 -> n1: before ${before:-?} ms, with delay ${with:-?} ms, after ${after:-?} ms"
	echo "   round trip controller -> n1: before ${ctl_before:-?} ms, with delay ${ctl_with:-?} ms"
	[ -n "$with" ] && ge "$with" 100 || fail "round trip with delay 100ms is ${with:-?} ms, below 100"
	[ -n "$after" ] && ! ge "$after" 100 || fail "round trip after the heal is ${after:-?} ms"
	[ -n "$ctl_with" ] && ! ge "$ctl_with" 100 || fail "the controller's own path was delayed: ${ctl_with:-?} ms"
	ip netns exec "${NS[n1]}" tc qdisc show | grep -q netem && fail "netem qdisc left on n1 after the heal"
fi

# ---- clock ----------------------------------------------------------------------------------
# Seconds by which node $1's wall clock leads the controller's, from a fresh log line.
clock_lead() {
	local h=$1 before after ts node
	before=$(date +%s.%N)
	redis-cli -h "${ADDR[$h]}" -p 7001 DEBUG CRASHPOINT CLEAR >/dev/null 2>&1
	after=$(date +%s.%N)
	ts=$(grep 'event=crashpoint-cleared' "$NODEDIR/$h/raftnode.log" | tail -n 1 | cut -d' ' -f1)
	node=$(date -u -d "$ts" +%s.%N 2>/dev/null) || { echo "?"; return; }
	awk -v n="$node" -v a="$before" -v b="$after" 'BEGIN { printf "%.3f", n - (a + b) / 2 }'
}
within() { awk -v x="$1" -v lo="$2" -v hi="$3" 'BEGIN { exit !(x != "?" && x >= lo && x <= hi) }'; }

step "clock offset 1h on n2"
l0=$(clock_lead n2)
nem_send "start clock target=n2 offset=1h"
[ "${R[0]}" = ok ] || fail "clock start: ${R[1]:-}"
CID=${R[1]:-}
[[ "${R[3]:-}" == *'"offset_s":3600'* ]] || fail "clock value lacks the offset: ${R[3]:-}"
l1=$(clock_lead n2)
other=$(clock_lead n1)
nem_send "heal $CID"
l2=$(clock_lead n2)
echo "   n2 leads the controller by: before ${l0} s, with offset 1h ${l1} s, after the heal ${l2} s (n1: ${other} s)"
within "$l0" -5 5 || fail "n2's clock is off by $l0 s before any fault"
within "$l1" 3595 3605 || fail "n2's clock leads by $l1 s under offset 1h"
within "$other" -5 5 || fail "n1's clock moved ($other s): the fault hit another node"
within "$l2" -5 5 || fail "n2's clock leads by $l2 s after the heal"

step "clock rate 3 on n2"
nem_send "start clock target=n2 rate=3"
[ "${R[0]}" = ok ] || fail "clock rate start: ${R[1]:-}"
CID=${R[1]:-}
c1=$(date +%s.%N)
r1=$(clock_lead n2)
sleep 2
c2=$(date +%s.%N)
r2=$(clock_lead n2)
nem_send "heal $CID"
r3=$(clock_lead n2)
# The lead grows by (rate - 1) * elapsed: about 2 * 2 s.
gain=$(awk -v a="$r1" -v b="$r2" -v x="$c1" -v y="$c2" 'BEGIN { printf "%.2f", (b - a) / (y - x) }')
echo "   n2 leads by ${r1} s just after the rate changed, ${r2} s later; the lead grows ${gain} s per second (rate 3: 2); ${r3} s after the heal"
within "$r1" -1 1 || fail "the clock jumped by $r1 s when the rate changed"
within "$gain" 1.5 2.5 || fail "n2's clock gains $gain s per second at rate 3"
within "$r3" -5 5 || fail "n2's clock leads by $r3 s after the heal"
nem_send leader
[ "${R[1]:-}" != - ] || fail "no leader after the clock faults"

# ---- crashpoint -----------------------------------------------------------------------------
CL=$(for h in "${NODES[@]}"; do printf '%s=%s:7001,' "$h" "${ADDR[$h]}"; done)
CL=${CL%,}
step "crashpoint leader-after-partial-replicate on the leader under writes"
nem_send leader
L=${R[1]:-}
"$LOAD" write --nodes "$CL" --prefix cp --count 1000000 --out "$WORK/writes" >"$WORK/load.log" 2>&1 &
LOAD_PID=$!
NEM_PIDS+=("$LOAD_PID")
sleep 0.5
nem_send "start crashpoint point=leader-after-partial-replicate duration=5s restart_after=1s"
[ "${R[0]}" = ok ] || fail "crashpoint start: ${R[1]:-}"
PID_ID=${R[1]:-}
[[ "${R[2]:-}" == "crashpoint leader-after-partial-replicate on $L "* ]] ||
	fail "crashpoint not armed on the leader $L: ${R[2]:-}"
for _ in $(seq 1 100); do
	grep -q 'event=crashpoint-hit name=leader-after-partial-replicate' "$NODEDIR/$L/raftnode.log" && break
	sleep 0.1
done
grep -q 'event=crashpoint-hit name=leader-after-partial-replicate' "$NODEDIR/$L/raftnode.log" ||
	fail "the leader $L never logged the crash point"
dead=$(cat "$NODEDIR/$L/pid" 2>/dev/null)
[ -z "$dead" ] || [ ! -e "/proc/$dead/exe" ] || [ -z "$(readlink "/proc/$dead/exe" 2>/dev/null)" ] ||
	fail "$L still runs (pid $dead) after the crash point"
nem_send "heal $PID_ID"
[ "${R[0]}" = ok ] || fail "crashpoint heal: ${R[1]:-}"
python3 -c 'import json, sys
v = json.loads(sys.argv[1])
assert v["fired"] is True and v["point"] == "leader-after-partial-replicate", v
n = v["nodes"][0]
assert n["node"] == sys.argv[2] and n["fired"] and n["restarted"], v
assert v["at_s"] >= 0, v' "${R[3]:-}" "$L" || fail "crashpoint heal value: ${R[3]:-}"
[ -z "${R[4]:-}" ] || fail "a fired crash point reported an error: ${R[4]}"
st=$("$SB" db status --nodes lab --node "$L")
echo "$st"
awk -v n="$L" '$1 == n && $3 == "yes" { ok = 1 } END { exit !ok }' <<<"$st" || fail "$L does not answer after the restart"
kill "$LOAD_PID" 2>/dev/null
wait "$LOAD_PID" 2>/dev/null
echo "   writes acknowledged during the crash: $(grep -c '^ok' "$WORK/writes" 2>/dev/null)"

step "a crash point that cannot fire is reported and disarmed"
nem_send "start crashpoint point=snapshot-mid-write target=n1 duration=2s"
[ "${R[0]}" = ok ] || fail "crashpoint start: ${R[1]:-}"
QID=${R[1]:-}
sleep 2
nem_send "heal $QID"
[ "${R[0]}" = ok ] || fail "crashpoint heal: ${R[1]:-}"
python3 -c 'import json, sys
v = json.loads(sys.argv[1])
assert v["fired"] is False and v["result"] == "did not fire within 2s", v
assert v["nodes"][0]["disarmed"] is True, v' "${R[3]:-}" || fail "value of a crash point that did not fire: ${R[3]:-}"
[[ "${R[4]:-}" == *"did not fire on n1 within 2s"* ]] || fail "no error for a crash point that did not fire: ${R[4]:-}"
tail -n 3 "$NODEDIR/n1/raftnode.log" | grep -q 'event=crashpoint-cleared' || fail "n1 was not disarmed"
grep -q "did not fire" "$WORK/tool.log" || fail "no log line says the crash point did not fire"

# ---- heal_all after the controller forgot its faults ----------------------------------------
step "faults of every kind, forgotten; heal_all cleans every host"
NETEM_FAULT="netem target=all delay=50ms loss=5"
[ $NETEM = 1 ] || NETEM_FAULT="clock target=n2 rate=2"
for f in "clock target=n3 offset=-1h" "$NETEM_FAULT" \
	"partition shape=halves" "crashpoint point=snapshot-mid-write target=n3 duration=60s" \
	"kill target=n1" "pause target=n2"; do
	nem_send "start $f"
	[ "${R[0]}" = ok ] || fail "start $f: ${R[1]:-}"
done
[ "$(nem_rules)" -gt 0 ] || fail "no partition rules to heal"
nem_tool_stop
nem_tool --faketime
nem_send "heal-all"
[ "${R[0]}" = ok ] || fail "heal-all: ${R[1]:-}"
[ "$(nem_rules)" = 0 ] || fail "$(nem_rules) SPLITBRAIN rules left"
for h in "${NODES[@]}"; do
	ip netns exec "${NS[$h]}" tc qdisc show | grep -q netem && fail "netem left on $h"
	[ "$(cat "$NODEDIR/$h/faketime.rc")" = "+0 x1" ] || fail "$h's clock is still skewed: $(cat "$NODEDIR/$h/faketime.rc")"
done
awk '/event=crashpoint-armed name=snapshot-mid-write/ { a = NR } /event=crashpoint-cleared/ { c = NR }
	END { exit !(a && c > a) }' "$NODEDIR/n3/raftnode.log" || fail "n3's crash point was not disarmed"
st=$("$SB" db status --nodes lab)
echo "$st"
[ "$(awk '$3 == "yes"' <<<"$st" | wc -l)" = 3 ] || fail "not every node runs and answers after heal_all"
within "$(clock_lead n3)" -5 5 || fail "n3's clock was not reset"

if [ $failed = 0 ]; then
	echo "PASS: netem, clock and crash point faults; heal_all leaves every host clean"
	exit 0
fi
exit 1
