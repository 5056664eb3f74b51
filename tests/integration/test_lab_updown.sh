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

LINK="$PWD/$BUILD/lab-test-updown-link" # a symlink to $LAB: the same lab
COPY="$LAB-copy"                         # a copy of $LAB: not the same lab
MOVED="$LAB-moved"
DATA=$(mktemp -d /tmp/sb-updown-data-XXXXXX) # a base dir of our own for recorded runs
cleanup() {
	for d in "$LAB" "$LAB/." "$(dirname "$LAB")//$(basename "$LAB")" "$LAB/../$(basename "$LAB")" \
		"$LINK" "$COPY" "$MOVED"; do
		"$SB" lab down --dir "$d" >/dev/null 2>&1
	done
	[ -d "$MOVED" ] && [ ! -e "$LAB" ] && mv "$MOVED" "$LAB"
	rm -rf "$COPY" "$MOVED" "$DATA"
	rm -f "$LINK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
cleanup # leftovers of an interrupted earlier run
DATA=$(mktemp -d /tmp/sb-updown-data-XXXXXX)
ln -s "$(basename "$LAB")" "$LINK"

# An empty --dir is refused (it used to mean ./lab), for every action.
empty=$(mktemp -d /tmp/sb-updown-empty-XXXXXX)
for a in up down status; do
	out=$(cd "$empty" && "$SB" lab $a --dir '' 2>&1); rc=$?
	[ $rc = 254 ] && echo "$out" | grep -q "may not be empty" && ok "lab $a --dir '': 254" || fail "lab $a --dir '': exit $rc: $out"
	out=$(cd "$empty" && "$SB" lab $a --dir= 2>&1); rc=$?
	[ $rc = 254 ] || fail "lab $a --dir=: exit $rc: $out"
done
[ -e "$empty/lab" ] && fail "--dir '' made $empty/lab"
rm -rf "$empty"

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

# Other spellings of the same directory are the same lab: up is refused, status and the
# names are the running lab's. (They used to hash differently and make a second lab.)
for d in "$LAB/." "$(dirname "$LAB")//$(basename "$LAB")" "$LAB/../$(basename "$LAB")/" "$LINK"; do
	out=$("$SB" lab up -n 3 --dir "$d" 2>&1); rc=$?
	if [ $rc = 255 ] && echo "$out" | grep -q "already running"; then ok "up --dir $d refused"; else fail "up --dir $d: exit $rc: $out"; fi
	out=$("$SB" lab status --dir "$d" 2>&1) && echo "$out" | grep -q "bridge sbbr$tag" \
		&& ok "status --dir $d is the running lab" || fail "status --dir $d: $out"
done

# A copy of the lab's directory names the original's lab in its state: up there is refused
# while that lab runs, and so are down and status (only the original may take it down).
cp -a "$LAB" "$COPY"
out=$("$SB" lab up -n 3 --dir "$COPY" 2>&1); rc=$?
if [ $rc = 255 ] && echo "$out" | grep -q "copy"; then ok "up in a copy refused: $out"; else fail "up in a copy: exit $rc: $out"; fi
out=$("$SB" lab down --dir "$COPY" 2>&1); rc=$?
if [ $rc = 255 ] && echo "$out" | grep -q "copy"; then ok "down in a copy refused"; else fail "down in a copy: exit $rc: $out"; fi
out=$("$SB" lab status --dir "$COPY" 2>&1); rc=$?
[ $rc = 255 ] && echo "$out" | grep -q "copy" && ok "status in a copy points to the original" || fail "status in a copy: exit $rc: $out"
"$SB" lab status --dir "$LAB" >/dev/null || fail "the lab was harmed by the copy's down"
rm -rf "$COPY"

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

# (The sshd session processes of the last command may take a moment to go.)
for _ in $(seq 1 50); do
	st=$("$SB" lab status --dir "$LAB")
	echo "$st" | grep -q "^n2 .* 3 " && break
	sleep 0.1
done
echo "$st"
echo "$st" | grep -q "^n2 .* 3 " || { fail "status does not count n2's 3 processes"; for p in $(ip netns pids "sb${tag}n2"); do echo "  $p: $(tr "\\0" " " < /proc/$p/cmdline)"; done; }

# Node data on the hosts (this machine's file system): `lab down` removes the node
# directories of the lab's runs (the default lab-<tag>, and those recorded in runs), and
# nothing else: not other files in a run directory, not other runs, not what a symlink in
# a run directory points to.
NODEDIR=/var/lib/splitbrain/lab-$tag
mkdir -p "$NODEDIR/n1/data" "$NODEDIR/n3" "$DATA/rec/n2/data" "$DATA/other/n1" "$DATA/outside"
echo old > "$NODEDIR/n1/data/0001.seg"
echo keep > "$NODEDIR/keep-me"
echo old > "$DATA/rec/n2/data/0001.seg"
echo keep > "$DATA/outside/file"
ln -s "$DATA/outside" "$DATA/rec/n3"
printf '%s/rec\n../escape\n%s/rec/../other\n' "$DATA" "$DATA" >> "$LAB/runs"

"$SB" lab down --dir "$LAB" || fail "lab down"
[ -e "$NODEDIR/n1" ] || [ -e "$NODEDIR/n3" ] && fail "node directories of $NODEDIR left: $(ls "$NODEDIR")"
[ -e "$NODEDIR/keep-me" ] && ok "lab down removed the node data, and only that" || fail "lab down removed $NODEDIR/keep-me"
rm -rf "$NODEDIR"
[ -e "$DATA/rec" ] && fail "recorded run $DATA/rec left: $(ls -R "$DATA/rec")"
[ -e "$DATA/other/n1" ] || fail "$DATA/other/n1 (not recorded) was removed"
[ "$(cat "$DATA/outside/file" 2>/dev/null)" = keep ] || fail "a symlink in a run directory was followed"
[ -e "$LAB/runs" ] && fail "runs file left"

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

# A moved lab directory is still its lab (its sshds, configured with the old paths, no
# longer accept connections): status shows it, down from the new path removes it.
"$SB" lab up -n 3 --dir "$LAB" >/dev/null || fail "lab up again"
tag=$(awk '$1 == "tag" { print $2 }' "$LAB/state")
mv "$LAB" "$MOVED"
"$SB" lab status --dir "$MOVED" 2>&1 | grep -q "bridge sbbr$tag" && ok "status of the moved lab" || fail "status of the moved lab"
"$SB" lab down --dir "$MOVED" || fail "down of the moved lab"
ip netns list | grep -q "sb${tag}" && fail "namespaces of the moved lab left"
ip -o link show | grep -q "$tag" && fail "links of the moved lab left"
mv "$MOVED" "$LAB"

if [ $fails = 0 ]; then echo "PASS"; exit 0; fi
echo "$fails failure(s)"; exit 1
