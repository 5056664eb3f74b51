# lab_lib.sh — shell helpers (sourced) for integration tests that run on a lab of their own.
#
#   lab_init NAME N      needs root (else exits 77); brings up an N-host lab in $BUILD/lab-NAME,
#                        sets LAB, TAG, NODEDIR, ADDR[name]; a trap takes it down on exit
#   lab_nothing_left     after lab_down: fails (sets failed=1) for each namespace, bridge, veth,
#                        sshd, node directory or node process of this lab that is left
#   lab_down             wipe the nodes and take the lab down (the trap does it too)
#   step / fail / die    report a step, a failure (the test goes on), a fatal failure
# Needs BUILD and SB (splitbrain); the test's own cleanup can be chained with LAB_ON_EXIT.
failed=0
LAB_CLEANED=0
LAB_ON_EXIT=${LAB_ON_EXIT:-}

step() { echo "== $*"; }
fail() {
	echo "FAIL: $*"
	failed=1
}
die() {
	echo "FAIL: $*"
	exit 1
}

lab_down() {
	[ "$LAB_CLEANED" = 1 ] && return 0
	LAB_CLEANED=1
	timeout 120 "$SB" db wipe --nodes lab >/dev/null 2>&1
	timeout 120 "$SB" lab down --dir "$LAB" >/dev/null 2>&1
}

lab_exit() {
	local rc=$?
	[ -n "$LAB_ON_EXIT" ] && eval "$LAB_ON_EXIT"
	lab_down
	exit $rc
}

lab_init() {
	local name=$1 n=$2
	if [ "$(id -u)" != 0 ]; then
		echo "SKIP: needs root (network namespaces, sshd)"
		exit 77
	fi
	LAB=$PWD/$BUILD/lab-$name
	export SPLITBRAIN_LAB_DIR=$LAB
	trap lab_exit EXIT
	trap 'exit 1' INT TERM
	"$SB" lab down --dir "$LAB" >/dev/null 2>&1
	step "lab up ($n hosts) in $LAB"
	"$SB" lab up -n "$n" --dir "$LAB" >/dev/null || die "lab up failed"
	TAG=$(sed -n 's/^tag //p' "$LAB/state")
	[ -n "$TAG" ] || die "no tag in $LAB/state"
	NODEDIR=/var/lib/splitbrain/lab-$TAG
	declare -gA ADDR
	while read -r kw host addr _; do
		[ "$kw" = host ] && ADDR[$host]=$addr
	done <"$LAB/nodes"
}

lab_nothing_left() {
	[ -e "$NODEDIR" ] && fail "$NODEDIR still exists"
	ip netns list 2>/dev/null | grep -q "^sb${TAG}n" && fail "namespace sb${TAG}n* left"
	ip link show "sbbr$TAG" >/dev/null 2>&1 && fail "bridge sbbr$TAG left"
	ip -o link show 2>/dev/null | grep -q "sbv$TAG" && fail "veth sbv$TAG* left"
	local e t
	for e in /proc/[0-9]*/exe; do
		t=$(readlink "$e" 2>/dev/null) || continue
		case $t in "$NODEDIR"/*) fail "live process $e runs $t" ;; esac
	done
	for e in /proc/[0-9]*/cmdline; do
		{ tr '\0' ' ' <"$e"; } 2>/dev/null | grep -q -- "$LAB/h[0-9]*/sshd_config" && fail "a lab sshd still runs ($e)"
	done
	return 0
}
