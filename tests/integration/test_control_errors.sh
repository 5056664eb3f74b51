#!/usr/bin/env bash
# The control plane's error paths against a lab's sshd. First the cmocka binary with the lab
# (refused, wrong key, changed/unknown host key under each policy, unreachable, reconnect,
# hostile names through exec and upload), then the same classes through the binary: each
# gives exit 255 and a message naming the host and the reason.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
SB=${SPLITBRAIN:-$PWD/$BUILD/splitbrain}
TEST_CONTROL="$PWD/$BUILD/tests/unit/harness/test_control"
LAB="$PWD/$BUILD/lab-test-control"
TMP=$(mktemp -d /tmp/sb-ctlerr-XXXXXX)
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok: $*"; }

if [ "$(id -u)" != 0 ]; then echo "SKIP: needs root (a lab)"; exit 77; fi
[ -x "$TEST_CONTROL" ] || { echo "FAIL: $TEST_CONTROL not built"; exit 1; }

cleanup() { "$SB" lab down --dir "$LAB" >/dev/null 2>&1; rm -rf "$TMP"; }
trap cleanup EXIT
trap 'exit 130' INT TERM
"$SB" lab down --dir "$LAB" >/dev/null 2>&1
"$SB" lab up -n 3 --dir "$LAB" >/dev/null || { echo "FAIL: lab up"; exit 1; }

SB_TEST_LAB_DIR="$LAB" "$TEST_CONTROL" && ok "test_control against the lab" || fail "test_control against the lab"

# A controller killed with SIGKILL cannot close its channels: the remote commands used to run
# on until their remote time limit (600 s here). Now each host's command ends when sshd
# closes its channel. The commands are found by a unique argument, by pid, in the lab's
# namespaces; only those pids are ever signalled.
tag=$(awk '$1 == "tag" { print $2 }' "$LAB/state")
marker="300.$$$(date +%N)"
marked() {
	for i in 1 2 3; do
		for p in $(ip netns pids "sb${tag}n$i" 2>/dev/null); do
			[ "$(tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null)" = "sleep $marker " ] && echo "$p"
		done
	done
}
"$SB" hosts run --nodes "$LAB/nodes" --timeout 600 -- "sleep $marker" >/dev/null 2>&1 &
ctl=$!
n=0
for _ in $(seq 1 100); do n=$(marked | wc -l); [ "$n" = 3 ] && break; sleep 0.1; done
[ "$n" = 3 ] || fail "hosts run did not start 'sleep $marker' on the 3 hosts (found $n)"
kill -KILL "$ctl"
wait "$ctl" 2>/dev/null
left=$(marked)
for _ in $(seq 1 100); do [ -z "$left" ] && break; sleep 0.1; left=$(marked); done
if [ -z "$left" ]; then
	ok "remote commands ended after the controller was killed"
else
	fail "remote commands outlived the killed controller: pids $left"
	for p in $left; do kill -KILL "$p" 2>/dev/null; done
fi

# One-host nodes files with one thing wrong each; `hosts check` must exit 255 and name
# the host and the reason.
read -r _ name addr _ < <(grep '^host n1 ' "$LAB/nodes")
base="port=22 user=root key=$LAB/id_ed25519 known_hosts=$LAB/known_hosts host_key=strict connect_timeout=2000"
expect() { # label, nodes line, regexp the message must match
	printf '%s\n' "$2" > "$TMP/nodes"
	out=$("$SB" hosts check --nodes "$TMP/nodes" 2>&1); rc=$?
	if [ $rc = 255 ] && echo "$out" | grep -q "host n1 (" && echo "$out" | grep -Eq "$3"; then
		ok "$1: exit 255: $(echo "$out" | tail -n 1 | cut -c1-160)"
	else
		fail "$1: exit $rc, want 255 and /$3/: $out"
	fi
}
expect "refused" "host n1 $addr $base port=2" "connection refused"
expect "wrong key" "host n1 $addr $base key=$LAB/h2/ssh_host_ed25519_key" "auth failed"
awk -v a="$addr" '{ print a, $1, $2 }' "$LAB/h3/ssh_host_ed25519_key.pub" > "$TMP/kh-changed"
expect "changed host key, strict" "host n1 $addr $base known_hosts=$TMP/kh-changed" "host key mismatch.*changed"
expect "changed host key, accept-new" "host n1 $addr $base known_hosts=$TMP/kh-changed host_key=accept-new" "host key mismatch.*changed"
: > "$TMP/kh-empty"
expect "unknown host, strict" "host n1 $addr $base known_hosts=$TMP/kh-empty" "host key mismatch.*unknown"
unreach="${addr%.*}.99"
expect "unreachable" "host n1 $unreach $base" "timeout|unreachable"

# accept-new accepts an unknown host and records it; off connects with a warning.
printf 'host n1 %s %s known_hosts=%s host_key=accept-new\n' "$addr" "$base" "$TMP/kh-empty" > "$TMP/nodes"
"$SB" hosts check --nodes "$TMP/nodes" >/dev/null 2>&1 && grep -q "^$addr ssh-ed25519 " "$TMP/kh-empty" \
	&& ok "accept-new recorded the key" || fail "accept-new: $(cat "$TMP/kh-empty")"
printf 'host n1 %s %s known_hosts=%s host_key=off\n' "$addr" "$base" "$TMP/kh-changed" > "$TMP/nodes"
out=$("$SB" hosts check --nodes "$TMP/nodes" 2>&1) && echo "$out" | grep -q "warning: host n1: host key not verified" \
	&& ok "off connects and warns" || fail "off: $out"

# Authentication through ssh-agent (one we start and stop ourselves).
if command -v ssh-agent >/dev/null && command -v ssh-add >/dev/null; then
	eval "$(ssh-agent -s)" >/dev/null
	agent_pid=$SSH_AGENT_PID
	trap 'kill $agent_pid 2>/dev/null; cleanup' EXIT
	ssh-add -q "$LAB/id_ed25519" 2>/dev/null
	printf 'host n1 %s %s key=agent\n' "$addr" "$base" > "$TMP/nodes"
	"$SB" hosts check --nodes "$TMP/nodes" >/dev/null 2>&1 && ok "auth by ssh-agent" || fail "auth by ssh-agent"
	ssh-add -q -D 2>/dev/null
	expect "agent without the key" "host n1 $addr $base key=agent" "auth failed.*ssh-agent"
	kill "$agent_pid"
	SSH_AUTH_SOCK= expect "no agent" "host n1 $addr $base key=agent" "auth failed.*no ssh-agent"
	unset SSH_AUTH_SOCK SSH_AGENT_PID
fi

# The local backend through the binary: this machine as a host.
printf 'host me - backend=local\n' > "$TMP/nodes"
out=$("$SB" hosts check --nodes "$TMP/nodes" 2>&1) && echo "$out" | grep -q "^me .*(local).* ok$" \
	&& ok "local backend host passes the preflight" || fail "local hosts check: $out"

# key=/dev/zero used to spin at 100% CPU forever and known_hosts=/dev/zero to grow memory
# without bound (8 GB in 8 s), in `hosts` and `db` alike: now bad input (254) naming the
# nodes file's line, before any connection. (Memory is capped here so that a regression
# fails instead of exhausting the machine; sanitizer builds reserve too much address space
# for a cap.)
special() { # label, nodes line, regexp the message must match; then the command
	local label=$1 line=$2 want=$3
	shift 3
	printf '%s\n' "$line" > "$TMP/nodes"
	out=$( (case "$BUILD" in *san*) ;; *) ulimit -v 2000000 ;; esac
		timeout 30 "$@" 2>&1)); rc=$?
	if [ $rc = 254 ] && echo "$out" | grep -q "$TMP/nodes:1:" && echo "$out" | grep -Eq "$want"; then
		ok "$label: exit 254: $(echo "$out" | tail -n 1 | cut -c1-160)"
	else
		fail "$label: exit $rc, want 254 and /$want/: $(echo "$out" | tail -n 3)"
	fi
}
for cmd in "hosts check" "hosts run -- true" "db status"; do
	# shellcheck disable=SC2086
	special "$cmd, known_hosts=/dev/zero" "host n1 $addr $base known_hosts=/dev/zero" \
		"known_hosts: /dev/zero: not a regular file" "$SB" ${cmd%% *} --nodes "$TMP/nodes" ${cmd#* }
	# shellcheck disable=SC2086
	special "$cmd, key=/dev/zero" "host n1 $addr $base key=/dev/zero" \
		"key: /dev/zero: not a regular file" "$SB" ${cmd%% *} --nodes "$TMP/nodes" ${cmd#* }
done

# A nodes file that starts with a UTF-8 byte order mark is read like one without.
printf '\xEF\xBB\xBFhost n1 %s %s\n' "$addr" "$base" > "$TMP/nodes"
out=$("$SB" hosts run --nodes "$TMP/nodes" -- true 2>&1) && ok "nodes file with a BOM" || fail "nodes file with a BOM: $out"

# A bad nodes file is bad input (254) with FILE:LINE:COL.
printf 'host n1 %s\nhost n2 %s colour=blue\n' "$addr" "$addr" > "$TMP/nodes"
out=$("$SB" hosts check --nodes "$TMP/nodes" 2>&1); rc=$?
[ $rc = 254 ] && echo "$out" | grep -q "$TMP/nodes:2:" && ok "bad nodes file: $out" || fail "bad nodes file: exit $rc: $out"

if [ $fails = 0 ]; then echo "PASS"; exit 0; fi
echo "$fails failure(s)"; exit 1
