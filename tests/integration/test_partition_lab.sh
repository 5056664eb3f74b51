#!/usr/bin/env bash
# Integration (root): a partition blocks exactly the links it names, and nothing else.
#
# A 5-host lab of its own ($BUILD/lab-partition-test; taken down by a trap), raftnode deployed
# (isolate-leader needs a leader), datacenter labels east/east/west/west/central in a copy of
# the nodes file, and a probe server (tests/tools/netprobe) on every host. For every shape and
# the datacenter cuts, driven through tests/tools/nemesis_tool (kind->start / heal): every
# ordered pair of hosts is tried over TCP (a connect needs both directions) and UDP (one
# direction: the receiver logs who it heard), and the result must match the "cut" list of the
# fault's history value exactly; the controller must still reach every host over SSH; the
# number of DROP rules must equal the number of cut links; after the heal every pair works
# again and no rule is left. Then: two overlapping partitions heal independently, and
# heal_all empties every chain whatever the tool remembers.
# slow: every partition shape on a 5-host lab (about 1 min)
set -u
cd "$(dirname "$0")/../.."
. tests/integration/lib_nemesis.sh
nem_require
trap nem_cleanup EXIT
trap 'exit 1' INT TERM

nem_setup partition-test 5 --election-timeout 150-300
PORT=7999
for h in "${NODES[@]}"; do
	ip netns exec "${NS[$h]}" "$PROBE" serve "$PORT" "$WORK/udp-$h.log" &
	NEM_PIDS+=($!)
done
for h in "${NODES[@]}"; do
	for _ in $(seq 1 100); do
		ip netns exec "${NS[$h]}" ss -Hltn "sport = :$PORT" 2>/dev/null | grep -q . && break
		sleep 0.05
	done
done
# Datacenters: east n1 n2, west n3 n4, central n5 (a 2/2/1 cluster).
declare -A DC=([n1]=east [n2]=east [n3]=west [n4]=west [n5]=central)
awk '
	$1 == "host" { dc = ($2 == "n1" || $2 == "n2") ? "east" : ($2 == "n5" ? "central" : "west");
	               print $0 " dc=" dc; next } { print }' "$LAB/nodes" >"$WORK/nodes-dc"
nem_tool --nodes "$WORK/nodes-dc" --run-id "lab-$TAG"

round=0
# Probe every ordered pair; fills TCP["x y"] (ok|cut) and UDP["x y"] (heard|lost).
declare -A TCP UDP
probe_all() {
	round=$((round + 1))
	local tag=r$round pids=()
	for x in "${NODES[@]}"; do
		local args=("+$x=${ADDR[$x]}")
		for y in "${NODES[@]}"; do [ "$x" != "$y" ] && args+=("$y=${ADDR[$y]}"); done
		ip netns exec "${NS[$x]}" "$PROBE" probe 1500 "$PORT" "$tag" "${args[@]}" >"$WORK/tcp-$x" &
		pids+=($!)
	done
	wait "${pids[@]}"
	sleep 0.5 # the last datagrams
	for x in "${NODES[@]}"; do
		while read -r y _ res; do TCP["$x $y"]=$res; done <"$WORK/tcp-$x"
		for y in "${NODES[@]}"; do
			[ "$x" = "$y" ] && continue
			if grep -qx "$tag $x" "$WORK/udp-$y.log" 2>/dev/null; then
				UDP["$x $y"]=heard
			else
				UDP["$x $y"]=lost
			fi
		done
	done
}

# The cut links of a history value, one "from to" a line.
cut_of() {
	python3 -c 'import json, sys
v = json.loads(sys.argv[1])
for a, b in v["cut"]:
    print(a, b)' "$1"
}

# Compare the probes with the cut list (lines "from to"; empty: nothing cut).
check_matrix() {
	local what=$1 cuts=$2 bad=0
	declare -A C=()
	while read -r a b; do [ -n "$a" ] && C["$a $b"]=1; done <<<"$cuts"
	for x in "${NODES[@]}"; do
		for y in "${NODES[@]}"; do
			[ "$x" = "$y" ] && continue
			local want_tcp=ok want_udp=heard
			[ -n "${C["$x $y"]:-}" ] && want_udp=lost
			{ [ -n "${C["$x $y"]:-}" ] || [ -n "${C["$y $x"]:-}" ]; } && want_tcp=cut
			if [ "${TCP["$x $y"]:-?}" != "$want_tcp" ]; then
				fail "$what: tcp $x -> $y is ${TCP["$x $y"]:-?}, want $want_tcp"
				bad=1
			fi
			if [ "${UDP["$x $y"]}" != "$want_udp" ]; then
				fail "$what: udp $x -> $y is ${UDP["$x $y"]}, want $want_udp"
				bad=1
			fi
		done
	done
	return $bad
}

controller_reaches_all() {
	"$SB" hosts run --nodes lab --timeout 10s -- true >"$WORK/hosts.log" 2>&1 ||
		{ cat "$WORK/hosts.log"; fail "$1: the controller cannot reach every host over SSH"; }
}

# One fault: start, probe, compare, heal, probe again. Sets ID, DESC, VALUE.
try_fault() {
	local line=$1
	step "$line"
	nem_send "start $line"
	if [ "${R[0]}" != ok ]; then
		fail "start $line: ${R[1]:-}"
		return 1
	fi
	ID=${R[1]} DESC=${R[2]} VALUE=${R[3]}
	local cuts
	cuts=$(cut_of "$VALUE") || { fail "$line: value is not JSON with a cut list: $VALUE"; return 1; }
	[ -n "$cuts" ] || fail "$line: nothing cut"
	local n_cut
	n_cut=$(grep -c . <<<"$cuts")
	[ "$(nem_rules)" = "$n_cut" ] || fail "$line: $(nem_rules) DROP rules for $n_cut cut links"
	probe_all
	check_matrix "$line" "$cuts" && echo "   $n_cut links cut, exactly as recorded: $DESC"
	controller_reaches_all "$line"
	nem_send "heal $ID"
	[ "${R[0]}" = ok ] || fail "heal $line: ${R[1]:-}"
	[ "$(nem_rules)" = 0 ] || fail "$line: $(nem_rules) rules left after the heal"
	probe_all
	check_matrix "$line healed" ""
}

step "before any fault every link works"
probe_all
check_matrix "no fault" "" || die "the lab's network does not work before any fault"

nem_send leader
LEADER=${R[1]:-}
[ -n "$LEADER" ] && [ "$LEADER" != - ] || die "no raftnode leader"

try_fault "partition shape=halves"
[ "$DESC" = "partition {n1, n2} / {n3, n4, n5}" ] || fail "halves: desc '$DESC'"
want=$(printf '%s\n' "n1 n3" "n1 n4" "n1 n5" "n2 n3" "n2 n4" "n2 n5" "n3 n1" "n3 n2" "n4 n1" "n4 n2" "n5 n1" "n5 n2")
[ "$(cut_of "$VALUE")" = "$want" ] || fail "halves: cut list $(cut_of "$VALUE" | tr '\n' ' ')"
python3 -c 'import json, sys
v = json.loads(sys.argv[1])
assert v["shape"] == "halves", v
assert v["groups"] == [["n1", "n2"], ["n3", "n4", "n5"]], v' "$VALUE" || fail "halves: value $VALUE"

nem_send leader
L1=${R[1]:-}
try_fault "partition shape=isolate-leader"
nem_send leader
L2=${R[1]:-}
[[ "$DESC" == "partition {$L1} / "* ]] || [[ "$DESC" == "partition {$L2} / "* ]] ||
	fail "isolate-leader: '$DESC' does not isolate the leader ($L1 or $L2)"
try_fault "partition shape=isolate-node target=n2"
[ "$DESC" = "partition {n2} / {n1, n3, n4, n5}" ] || fail "isolate-node: desc '$DESC'"
try_fault "partition shape=random-halves"
try_fault "partition shape=majority"
try_fault "partition shape=minority-third"
try_fault "partition shape=majorities-ring"
try_fault "partition shape=bridge"
try_fault "partition shape=one-way target=n1"
[ "$DESC" = "partition {n1} stops hearing {n2, n3, n4, n5}" ] || fail "one-way: desc '$DESC'"
try_fault "partition groups=n1,n3/n2,n4,n5"
[ "$DESC" = "partition {n1, n3} / {n2, n4, n5}" ] || fail "groups: desc '$DESC'"
try_fault "partition shape=one-way groups=n1,n2/n4"
try_fault "cut-dc dc=east"
[ "$DESC" = "cut-dc east: {n1, n2} / {n3, n4, n5}" ] || fail "cut-dc: desc '$DESC'"
# The leader moves with the partitions above: accept the one of just before or just after.
nem_send leader
L1=${R[1]:-}
try_fault "cut-dc dc=\$leader"
nem_send leader
L2=${R[1]:-}
[[ "$DESC" == "cut-dc ${DC[$L1]:-?}:"* ]] || [[ "$DESC" == "cut-dc ${DC[$L2]:-?}:"* ]] ||
	fail "cut-dc \$leader: '$DESC' is not the leader's (${DC[$L1]:-?} or ${DC[$L2]:-?})"
try_fault "cut-link link=east,west"
[ "$DESC" = "cut-link east <-> west: {n1, n2} / {n3, n4}, {n5} sees both" ] || fail "cut-link: desc '$DESC'"
try_fault "cut-link link=west,central"

step "overlapping partitions heal independently"
nem_send "start partition shape=halves"
A=${R[1]:-}
nem_send "start partition shape=isolate-node target=n1"
B=${R[1]:-}
isolate=$(cut_of "${R[3]}")
nem_send "heal $A"
probe_all
check_matrix "after healing halves, n1 still isolated" "$isolate"
nem_send "heal $B"
nem_send "heal $B" # twice is fine
[ "${R[0]}" = ok ] || fail "a second heal failed: ${R[1]:-}"
probe_all
check_matrix "both healed" ""

step "heal_all empties every chain whatever was recorded"
nem_send "start partition shape=majorities-ring"
nem_send "start cut-link link=east,west"
[ "$(nem_rules)" -gt 0 ] || fail "no rules to heal"
nem_tool_stop # the tool forgets its faults
nem_tool --nodes "$WORK/nodes-dc" --run-id "lab-$TAG"
nem_send "heal-all"
[ "${R[0]}" = ok ] || fail "heal-all: ${R[1]:-}"
[ "$(nem_rules)" = 0 ] || fail "$(nem_rules) rules left after heal_all"
probe_all
check_matrix "after heal_all" ""
controller_reaches_all "after heal_all"

step "a partition of nodes sharing one address is refused"
printf 'host a 127.0.0.1 backend=local\nhost b 127.0.0.1 backend=local\n' >"$WORK/nodes-local"
nem_tool --nodes "$WORK/nodes-local" --base-dir "$WORK/base"
nem_send "start partition shape=halves"
[ "${R[0]}" = error ] && [[ "${R[1]:-}" == *"share the address 127.0.0.1"* ]] ||
	fail "a partition of nodes sharing 127.0.0.1 was not refused: $REPLY_LINE"

if [ $failed = 0 ]; then
	echo "PASS: every shape and datacenter cut blocks exactly its links; heals restore them"
	exit 0
fi
exit 1
