#!/usr/bin/env bash
# The lab end to end, through the binary: up 3 hosts, a second up refused, status, a command
# on every host over SSH, a stray process left in a namespace, down, and then NOTHING left:
# no namespace, bridge, veth, sshd, process, iptables change; a second down is harmless.
# Not root: `lab up` must refuse with a message saying what is needed.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
SB=${SPLITBRAIN:-$PWD/$BUILD/splitbrain}
LAB="$PWD/$BUILD/lab-test-updown"
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok: $*"; }

if [ "$(id -u)" != 0 ]; then
	out=$("$SB" lab up --dir "$LAB" 2>&1); rc=$?
	[ $rc = 255 ] && echo "$out" | grep -q "needs root" || { echo "FAIL: non-root up: $rc $out"; exit 1; }
	echo "not root: checked the refusal only"; exit 0
fi

cleanup() { "$SB" lab down --dir "$LAB" >/dev/null 2>&1; }
trap cleanup EXIT
trap 'exit 130' INT TERM
cleanup # leftovers of an interrupted earlier run

# Not root: a clear refusal, exit 255 (run as nobody).
if command -v setpriv >/dev/null; then
	out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$SB" lab up --dir /tmp/sb-nobody-lab 2>&1); rc=$?
	if [ $rc = 255 ] && echo "$out" | grep -q "needs root"; then ok "non-root refused: $out"; else fail "non-root: exit $rc: $out"; fi
fi
out=$("$SB" lab up -n 2 --dir "$LAB" 2>&1); rc=$?
[ $rc = 254 ] && ok "-n 2 refused (254)" || fail "-n 2: exit $rc: $out"

ipt_before=$(iptables -S | md5sum)

# SIGTERM during `up`: it removes what it made (or, if it had already finished, the lab is
# complete and `down` removes it). Either way nothing of the lab may be left afterwards.
"$SB" lab up -n 9 --dir "$LAB" >/dev/null 2>&1 &
upid=$!
sleep 0.5
kill -TERM $upid
wait $upid; rc=$?
if [ $rc != 0 ]; then
	"$SB" lab status --dir "$LAB" 2>&1 | grep -q "not running" && ok "interrupted up cleaned up (exit $rc)" \
		|| fail "interrupted up left something: $("$SB" lab status --dir "$LAB" 2>&1)"
else
	ok "up finished before the signal"
	"$SB" lab down --dir "$LAB" >/dev/null || fail "down after a complete up"
fi

"$SB" lab up -n 3 --dir "$LAB" || { fail "lab up"; exit 1; }
tag=$(awk '$1 == "tag" { print $2 }' "$LAB/state")
[ -n "$tag" ] || fail "no tag in $LAB/state"
for i in 1 2 3; do
	[ -e "/run/netns/sb${tag}n$i" ] || fail "namespace sb${tag}n$i missing"
	ip netns exec "sb${tag}n$i" iptables -S SPLITBRAIN >/dev/null 2>&1 || fail "no SPLITBRAIN chain on n$i"
	ip netns exec "sb${tag}n$i" iptables -S INPUT | grep -q -- "-j SPLITBRAIN" || fail "INPUT does not jump to SPLITBRAIN on n$i"
done
[ -e "/sys/class/net/sbbr$tag" ] || fail "bridge sbbr$tag missing"

out=$("$SB" lab up -n 3 --dir "$LAB" 2>&1); rc=$?
if [ $rc = 255 ] && echo "$out" | grep -q "already running"; then ok "second up refused"; else fail "second up: exit $rc: $out"; fi

"$SB" lab status --dir "$LAB" || fail "status of a healthy lab"

# A command on every host over SSH, through the binary: each answers with its own address.
out=$("$SB" hosts run --nodes "$LAB/nodes" -- 'hostname -I') || fail "hosts run: $out"
for i in 1 2 3; do
	addr=$(awk -v h="n$i" '$1 == "host" && $2 == h { print $3 }' "$LAB/nodes")
	echo "$out" | grep -q "^$addr" || fail "n$i did not answer from $addr: $out"
done
"$SB" hosts check --nodes "$LAB/nodes" || fail "hosts check"
SPLITBRAIN_LAB_DIR=/nonexistent/sb-lab "$SB" hosts run --nodes lab -- true >/dev/null 2>&1 && fail "--nodes lab resolved to a lab that does not exist"
SPLITBRAIN_LAB_DIR="$LAB" "$SB" hosts run --nodes lab -- true >/dev/null || fail "--nodes lab with SPLITBRAIN_LAB_DIR"

# A partition that drops everything on n1 must not cut the controller's SSH to n1, while
# n2 can no longer reach n1; `status` counts the rule; flushing the chain heals.
a1=$(awk '$1 == "host" && $2 == "n1" { print $3 }' "$LAB/nodes")
printf 'host n1 %s key=%s/id_ed25519 known_hosts=%s/known_hosts\n' "$a1" "$LAB" "$LAB" > "$LAB/n1.nodes"
"$SB" hosts run --nodes "$LAB/n1.nodes" -- 'iptables -w -A SPLITBRAIN -j DROP' >/dev/null || fail "add partition rule"
"$SB" hosts run --nodes "$LAB/n1.nodes" -- true >/dev/null && ok "SSH to a fully partitioned host still works" || fail "partition cut the controller's SSH"
ip netns exec "sb${tag}n2" timeout 3 bash -c "echo > /dev/tcp/$a1/22" 2>/dev/null && fail "n2 reached n1 through the partition" || ok "n2 cannot reach n1"
"$SB" lab status --dir "$LAB" | grep -q "^n1 .* 1$" && ok "status counts the rule" || fail "status does not show n1's rule"
"$SB" hosts run --nodes "$LAB/n1.nodes" -- 'iptables -w -F SPLITBRAIN' >/dev/null || fail "heal"
ip netns exec "sb${tag}n2" timeout 3 bash -c "echo > /dev/tcp/$a1/22" 2>/dev/null && ok "healed" || fail "n2 cannot reach n1 after healing"

# Processes started inside the hosts (as the node lifecycle does: detached, pid file) must
# be gone after down; so must a process started in a namespace by other means.
"$SB" hosts run --nodes "$LAB/nodes" -- "setsid sleep 600 </dev/null >/dev/null 2>&1 & echo \$! > $LAB/stray-\$(hostname -I | tr -d ' ').pid" >/dev/null || fail "start strays"
ip netns exec "sb${tag}n2" sleep 601 </dev/null >/dev/null 2>&1 &
sleep 0.3
strays=$(cat "$LAB"/stray-*.pid 2>/dev/null)
[ "$(echo "$strays" | wc -w)" = 3 ] || fail "expected 3 stray pids, got: $strays"
sshds=$(cat "$LAB"/h*/sshd.pid)

st=$("$SB" lab status --dir "$LAB"); echo "$st"
echo "$st" | grep -q "^n2 .* 3 " || fail "status does not count n2's 3 processes"

"$SB" lab down --dir "$LAB" || fail "lab down"

# Nothing left.
ip netns list | grep -q "sb${tag}" && fail "namespaces left: $(ip netns list | grep "sb$tag")"
ip -o link show | grep -q "$tag" && fail "links left: $(ip -o link show | grep "$tag")"
for p in $strays $sshds; do
	[ -e "/proc/$p" ] && fail "process $p left: $(tr '\0' ' ' < /proc/$p/cmdline)"
done
pgrep -f "sleep 60[01]" >/dev/null && fail "a stray sleep survived"
pgrep -f "$LAB/h[0-9]/sshd_config" >/dev/null && fail "an sshd of the lab survived"
[ "$(iptables -S | md5sum)" = "$ipt_before" ] || fail "root iptables rules changed"
[ -e "$LAB/state" ] && fail "state file left"
[ -e "$LAB/nodes" ] && fail "nodes file left"

out=$("$SB" lab down --dir "$LAB" 2>&1) && echo "$out" | grep -q "no lab running" && ok "second down harmless" || fail "second down: $out"
"$SB" lab status --dir "$LAB" >/dev/null 2>&1 && fail "status after down says healthy"

if [ $fails = 0 ]; then echo "PASS"; exit 0; fi
echo "$fails failure(s)"; exit 1
