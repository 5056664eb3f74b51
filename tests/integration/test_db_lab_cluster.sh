#!/usr/bin/env bash
# Integration (root): raftnode on a 3-host lab over SSH, driven by `splitbrain db`.
#
# Brings up a lab in its own directory ($BUILD/lab-db-test), deploys raftnode to every host,
# starts the cluster, finds the leader, SIGKILLs it, sees a new leader elected, restarts the
# old one with its data kept, collects the logs into a store directory, stops the nodes,
# wipes one, brings the lab down without wiping the others (lab down removes the nodes'
# directories of every run on the lab), brings a new lab up in the same directory whose
# cluster must not see the old data, and checks that nothing is left: no namespace, bridge,
# veth, sshd, root-namespace iptables rule, live node process or node directory. Also: a
# killed install's temporary files are removed by the next install, and --node lists with
# an empty name are refused.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
SB=${SPLITBRAIN:-$PWD/$BUILD/splitbrain}
RN=${RAFTNODE:-$PWD/$BUILD/raftnode}

if [ "$(id -u)" != 0 ]; then
	echo "SKIP: needs root (network namespaces, sshd)"
	exit 77
fi

LAB=$PWD/$BUILD/lab-db-test
STORE=$PWD/$BUILD/db-test-store
export SPLITBRAIN_LAB_DIR=$LAB
BASE=/var/lib/splitbrain
ARGS=(-- --election-timeout 150-300)
XBASE=$(mktemp -d /tmp/sb-db-test-base-XXXXXX) # a second run on the lab, in a base of ours
SENTINEL=$BASE/not-a-lab-run-$$                 # under the base dir, never the lab's
failed=0
cleaned=0

step() { echo "== $*"; }
fail() {
	echo "FAIL: $*"
	failed=1
}
die() {
	echo "FAIL: $*"
	exit 1
}

cleanup() {
	rm -rf "$XBASE" "$STORE-big.bin"
	rmdir "$SENTINEL" 2>/dev/null
	[ $cleaned = 1 ] && return
	echo "== cleanup"
	timeout 120 "$SB" db wipe --nodes lab >/dev/null 2>&1
	timeout 120 "$SB" lab down --dir "$LAB" >/dev/null 2>&1
}
trap cleanup EXIT
trap 'exit 1' INT TERM

[ -x "$SB" ] || die "no splitbrain at $SB"
[ -x "$RN" ] || die "no raftnode at $RN"
if "$RN" --help 2>&1 | grep -q "not built yet"; then
	die "raftnode at $RN is the placeholder"
fi

rules_before=$(iptables -S 2>/dev/null | grep -c -i splitbrain)
rm -rf "$STORE"

step "lab up (3 hosts) in $LAB"
"$SB" lab down --dir "$LAB" >/dev/null 2>&1
"$SB" lab up -n 3 --dir "$LAB" || die "lab up failed"
tag=$(sed -n 's/^tag //p' "$LAB/state")
[ -n "$tag" ] || die "no tag in $LAB/state"
NODEDIR=$BASE/lab-$tag
declare -A ADDR
while read -r kw name addr _; do
	[ "$kw" = host ] && ADDR[$name]=$addr
done <"$LAB/nodes"
[ ${#ADDR[@]} = 3 ] || die "nodes file lists ${#ADDR[@]} hosts, not 3"

step "deploy raftnode to every host"
"$SB" db deploy --nodes lab --binary "$RN" "${ARGS[@]}" || die "deploy failed"
for n in n1 n2 n3; do
	[ -x "$NODEDIR/$n/raftnode" ] || fail "$NODEDIR/$n/raftnode missing"
	[ -s "$NODEDIR/$n/pid" ] || fail "$NODEDIR/$n/pid missing"
done
"$SB" db status --nodes lab

step "--node with an empty name is refused"
for v in '' ',' 'n1,,n2' 'n1,' ',n1'; do
	out=$("$SB" db kill --nodes lab --node "$v" 2>&1); rc=$?
	[ $rc = 254 ] || fail "db kill --node '$v': exit $rc, want 254: $out"
done
[ "$("$SB" db status --nodes lab | grep -c ' yes ')" = 3 ] || fail "a refused kill killed a node"

step "a killed install leaves a partial upload; the next install removes it"
# A binary big enough for the upload to take a while; the install is killed as soon as its
# temporary file (.sbup.*) appears in n2's directory.
head -c 100000000 /dev/urandom >"$STORE-big.bin"
"$SB" db install --nodes lab --node n2 --binary "$STORE-big.bin" >/dev/null 2>&1 &
inst=$!
for _ in $(seq 1 1000); do
	ls -a "$NODEDIR/n2" | grep -q '^\.sbup\.' && break
	sleep 0.01
done
kill -KILL $inst
wait $inst 2>/dev/null
partial=$(ls -a "$NODEDIR/n2" | grep '^\.sbup\.')
echo "left by the killed install: ${partial:-nothing (it finished first)}"
echo stale >"$NODEDIR/n1/.sbup.999999.1" # as a killed install of n1 would leave it
"$SB" db install --nodes lab --binary "$RN" || fail "install after a killed one"
left=$(ls -a "$NODEDIR"/n1 "$NODEDIR"/n2 "$NODEDIR"/n3 | grep '^\.sbup\.')
[ -z "$left" ] || fail "temporary upload files left after install: $left"
cmp -s "$RN" "$NODEDIR/n2/raftnode" || fail "n2's binary is not the one installed last"
rm -f "$STORE-big.bin"

step "find the leader"
out=$("$SB" db leader --nodes lab --timeout 20s) || die "no leader: $out"
echo "$out"
L1=${out%% *}
[[ "$out" == *source=info* ]] || fail "leader not confirmed through INFO: $out"
[ -n "${ADDR[$L1]:-}" ] || die "leader '$L1' is not a lab host"

step "write a key through the leader"
r=$(redis-cli -h "${ADDR[$L1]}" -p 7001 SET db-test-key before-kill 2>&1)
[ "$r" = OK ] || fail "SET on leader $L1 answered '$r'"
before=$(ls "$NODEDIR/$L1/data" | sort)
[ -n "$before" ] || fail "leader's data directory is empty"

step "kill the leader $L1 (SIGKILL)"
oldpid=$(cat "$NODEDIR/$L1/pid")
"$SB" db kill --nodes lab --node "$L1" || fail "kill failed"
if [ -e "/proc/$oldpid/exe" ] && [ -n "$(readlink "/proc/$oldpid/exe" 2>/dev/null)" ]; then
	fail "pid $oldpid still runs after kill"
fi

step "a new leader is elected"
L2=
for _ in $(seq 1 20); do
	out=$("$SB" db leader --nodes lab --timeout 3s 2>&1)
	n=${out%% *}
	if [[ "$out" == *source=info* ]] && [ "$n" != "$L1" ]; then
		L2=$n
		break
	fi
	sleep 0.5
done
echo "$out"
[ -n "$L2" ] || die "no new leader after killing $L1"
r=$(redis-cli -h "${ADDR[$L2]}" -p 7001 GET db-test-key 2>&1)
[ "$r" = before-kill ] || fail "GET on new leader $L2 answered '$r'"

step "restart $L1, data kept"
"$SB" db restart --nodes lab --node "$L1" "${ARGS[@]}" || fail "restart failed"
after=$(ls "$NODEDIR/$L1/data" | sort)
for f in $before; do
	grep -qx -- "$f" <<<"$after" || fail "data file $f of $L1 gone after restart"
done
ok=0
for _ in $(seq 1 40); do
	line=$("$SB" db status --nodes lab --node "$L1" | awk -v n="$L1" '$1 == n')
	# node pid up role term leader commit
	set -- $line
	if [ "${3:-}" = yes ] && [ "${6:-}" = "$L2" ]; then
		ok=1
		break
	fi
	sleep 0.5
done
echo "$line"
[ $ok = 1 ] || fail "$L1 did not rejoin under leader $L2"

step "pause and resume a follower"
F=
for n in n1 n2 n3; do [ "$n" != "$L2" ] && F=$n && break; done
"$SB" db pause --nodes lab --node "$F" || fail "pause $F failed"
line=$("$SB" db status --nodes lab --node "$F" | awk -v n="$F" '$1 == n')
echo "$line"
[[ "$line" == *"paused (SIGSTOP)"* ]] || fail "$F not reported paused"
"$SB" db resume --nodes lab --node "$F" || fail "resume $F failed"
ok=0
for _ in $(seq 1 20); do
	line=$("$SB" db status --nodes lab --node "$F" | awk -v n="$F" '$1 == n')
	set -- $line
	[ "${3:-}" = yes ] && ok=1 && break
	sleep 0.5
done
[ $ok = 1 ] || fail "$F does not answer after resume"

step "collect logs into $STORE"
logs=$("$SB" db logs --nodes lab --store "$STORE") || fail "logs failed"
echo "$logs"
# Panics, assertion failures, FATAL lines and sanitizer reports in any node's log fail the test.
grep -q '^0 line(s) matched patterns other than leader$' <<<"$logs" || fail "failure patterns found in the node logs"
run=$STORE/latest
leaders=0
for n in n1 n2 n3; do
	for f in raftnode.log stdout.log data-listing.txt raftnode.args; do
		[ -e "$run/$n/$f" ] || fail "$run/$n/$f missing"
	done
	grep -q 'event=became-leader' "$run/$n/raftnode.log" 2>/dev/null && leaders=$((leaders + 1))
done
[ $leaders -ge 2 ] || fail "became-leader found in $leaders node logs, expected at least 2"
grep -q 'event=became-leader' "$run/$L1/raftnode.log" || fail "$L1's log lacks became-leader"
grep -q 'event=became-leader' "$run/$L2/raftnode.log" || fail "$L2's log lacks became-leader"

step "stop all, wipe n3, a second run on the lab, lab down"
pids=$(cat "$NODEDIR"/n*/pid 2>/dev/null)
"$SB" db stop --nodes lab || fail "stop failed"
st=$("$SB" db status --nodes lab)
echo "$st"
[ "$(grep -c 'not running' <<<"$st")" = 3 ] || fail "nodes still running after stop"
"$SB" db wipe --nodes lab --node n3 || fail "wipe failed"
[ -e "$NODEDIR/n3" ] && fail "wipe left $NODEDIR/n3"
[ -d "$NODEDIR/n1/data" ] || fail "wiping n3 removed n1's data"
"$SB" db install --nodes lab --binary "$RN" --run-id extra --base-dir "$XBASE" || fail "install of a second run"
[ -x "$XBASE/extra/n1/raftnode" ] || fail "second run not installed"
mkdir -p "$SENTINEL"
# No wipe: lab down removes the node directories of the lab's runs, and nothing else.
"$SB" lab down --dir "$LAB" || fail "lab down failed"
[ -e "$NODEDIR" ] && fail "$NODEDIR still exists after lab down: $(ls -R "$NODEDIR" | head)"
[ -e "$XBASE/extra" ] && fail "$XBASE/extra (a recorded run) still exists after lab down"
[ -d "$XBASE" ] || fail "lab down removed the base directory $XBASE"
[ -d "$SENTINEL" ] || fail "lab down removed $SENTINEL"

step "a new lab in the same directory starts from empty nodes"
cleaned=0
"$SB" lab up -n 3 --dir "$LAB" || die "second lab up failed"
[ "$(sed -n 's/^tag //p' "$LAB/state")" = "$tag" ] || fail "the same directory gave another tag"
while read -r kw name addr _; do
	[ "$kw" = host ] && ADDR[$name]=$addr
done <"$LAB/nodes"
"$SB" db deploy --nodes lab --binary "$RN" "${ARGS[@]}" || die "deploy on the new lab failed"
out=$("$SB" db leader --nodes lab --timeout 20s) || die "no leader on the new lab: $out"
L3=${out%% *}
r=$(redis-cli -h "${ADDR[$L3]}" -p 7001 GET db-test-key 2>&1)
[ -z "$r" ] || fail "the new lab's cluster read '$r' for db-test-key, written by the old one"
pids="$pids $(cat "$NODEDIR"/n*/pid 2>/dev/null)"
"$SB" lab down --dir "$LAB" || fail "lab down (second lab) failed"
cleaned=1

step "nothing left behind"
[ -e "$NODEDIR" ] && fail "$NODEDIR still exists"
[ -e "$LAB/runs" ] && fail "$LAB/runs still exists"
ip netns list 2>/dev/null | grep -q "^sb${tag}n" && fail "namespace sb${tag}n* left"
ip link show "sbbr$tag" >/dev/null 2>&1 && fail "bridge sbbr$tag left"
ip -o link show 2>/dev/null | grep -q "sbv$tag" && fail "veth sbv$tag* left"
pgrep -f -- "$LAB/h[0-9]/sshd_config" >/dev/null && fail "a lab sshd still runs"
for p in $pids $oldpid; do
	e=$(readlink "/proc/$p/exe" 2>/dev/null)
	[ -n "$e" ] && fail "node process $p ($e) still alive"
done
for e in /proc/[0-9]*/exe; do
	t=$(readlink "$e" 2>/dev/null) || continue
	case $t in "$NODEDIR"/*) fail "live process $e runs $t" ;; esac
done
rules_after=$(iptables -S 2>/dev/null | grep -c -i splitbrain)
[ "$rules_after" = "$rules_before" ] || fail "root-namespace splitbrain rules: $rules_before before, $rules_after after"

if [ $failed = 0 ]; then
	echo "PASS: deploy, leader, kill, re-election, restart, logs, teardown"
	exit 0
fi
exit 1
