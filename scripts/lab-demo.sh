#!/usr/bin/env bash
# The quick start: a 30 s campaign against 3 raftnode nodes on this machine's lab.
#
#   scripts/lab-demo.sh [SPEC]      (or: make demo; default SPEC workloads/quickstart.yaml)
#
# Brings up a 3-host lab (network namespaces, each with its own address, iptables and sshd),
# runs the campaign with `splitbrain run` (raftnode deployed over SSH, leader kills and pauses
# during the workload, every fault healed, the history checked), prints the verdict and the
# store path, and takes the lab down again, also on Ctrl-C or an error. Needs root. The exit
# code is the run's (0 valid, 1 invalid, 2 unknown).
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
SB=$PWD/$BUILD/splitbrain
SPEC=${1:-workloads/quickstart.yaml}
LAB=${SPLITBRAIN_LAB_DIR:-$PWD/lab}
export SPLITBRAIN_LAB_DIR=$LAB

if [ "$(id -u)" -ne 0 ]; then
	echo "lab-demo: needs root (it creates network namespaces and starts sshd in them)" >&2
	exit 255
fi
[ -x "$SB" ] && [ -x "$BUILD/raftnode" ] || { echo "lab-demo: build first (make)" >&2; exit 255; }

cleanup() {
	echo "== lab down"
	"$SB" db wipe >/dev/null 2>&1
	"$SB" lab down --dir "$LAB" >/dev/null 2>&1
}
# On Ctrl-C the run heals its own faults, checks what it recorded and returns; the lab comes
# down after it.
trap cleanup EXIT

echo "== lab up: 3 hosts in $LAB"
"$SB" lab down --dir "$LAB" >/dev/null 2>&1
"$SB" lab up -n 3 --dir "$LAB" || exit 255
echo "== splitbrain run $SPEC"
"$SB" run "$SPEC" --store store
rc=$?
echo "== verdict: exit $rc; the run's files: $(readlink -f store/latest)"
exit $rc
