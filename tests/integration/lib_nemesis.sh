# Shared by the fault tests (sourced, not run): a lab of its own with raftnode deployed, and
# build/tools/nemesis_tool driven as a coprocess (start / heal / heal-all, one line each).
#
#   nem_setup NAME N [NODE ARGS...]   lab up -n N in $BUILD/lab-NAME, deploy raftnode with the
#                                     args; sets LAB TAG NODEDIR WORK, NS[nX] ADDR[nX] NODES
#   nem_tool [OPTIONS...]             (re)start the tool (options after the defaults)
#   nem_send LINE                     send one command, the answer in $REPLY_LINE and the
#                                     tab-separated fields in R[0..]
#   nem_cleanup                       stop what was started, wipe the nodes, lab down
# Callers set `trap nem_cleanup EXIT` and use step/fail/die (lab_lib.sh).
BUILD=${BUILD:-build}
SB=${SPLITBRAIN:-$PWD/$BUILD/splitbrain}
RN=${RAFTNODE:-$PWD/$BUILD/raftnode}
TOOL=$PWD/$BUILD/tools/nemesis_tool
PROBE=$PWD/$BUILD/tools/netprobe
# step / fail / die and $failed come from lab_lib.sh.
. tests/integration/lab_lib.sh
nem_cleaned=0
NEM_PIDS=()
declare -A NS ADDR

nem_require() {
	if [ "$(id -u)" != 0 ]; then
		echo "SKIP: needs root (network namespaces, sshd, iptables)"
		exit 77
	fi
	for f in "$SB" "$RN" "$TOOL" "$PROBE"; do
		[ -x "$f" ] || die "missing $f (make all)"
	done
}

nem_setup() {
	local name=$1 n=$2
	shift 2
	LAB=$PWD/$BUILD/lab-$name
	export SPLITBRAIN_LAB_DIR=$LAB
	WORK=$(mktemp -d "/tmp/sb-$name.XXXXXX")
	"$SB" lab down --dir "$LAB" >/dev/null 2>&1
	step "lab up ($n hosts) in $LAB"
	"$SB" lab up -n "$n" --dir "$LAB" >"$WORK/lab.log" 2>&1 || { cat "$WORK/lab.log"; die "lab up failed"; }
	TAG=$(awk '$1 == "tag" { print $2 }' "$LAB/state")
	[ -n "$TAG" ] || die "no tag in $LAB/state"
	NODEDIR=/var/lib/splitbrain/lab-$TAG
	NODES=()
	while read -r kw host ns _ addr; do
		[ "$kw" = host ] || continue
		NS[$host]=$ns
		ADDR[$host]=$addr
		NODES+=("$host")
	done <"$LAB/state"
	[ ${#NODES[@]} = "$n" ] || die "lab state lists ${#NODES[@]} hosts, not $n"
	step "deploy raftnode"
	"$SB" db deploy --nodes lab --binary "$RN" -- "$@" >"$WORK/deploy.log" 2>&1 ||
		{ cat "$WORK/deploy.log"; die "deploy failed"; }
}

# The tool as a coprocess; stderr (its log lines) goes to $WORK/tool.log.
nem_tool() {
	nem_tool_stop
	coproc NT { "$TOOL" --nodes lab --seed 7 "$@" 2>>"$WORK/tool.log"; }
	NT_PID=$NT_PID
}

# Ask the tool to quit; it must exit 0 (a sanitizer report or a leak would not).
nem_tool_stop() {
	if [ -n "${NT_PID:-}" ]; then
		echo quit >&"${NT[1]}" 2>/dev/null
		wait "$NT_PID" 2>/dev/null
		local rc=$?
		[ $rc = 0 ] || { tail -n 20 "$WORK/tool.log"; fail "nemesis_tool exited $rc"; }
	fi
	NT_PID=
}

nem_send() {
	REPLY_LINE=
	echo "$*" >&"${NT[1]}" || { REPLY_LINE="error	the tool is gone"; R=(error "the tool is gone"); return; }
	IFS= read -r -t 300 REPLY_LINE <&"${NT[0]}" || REPLY_LINE="error	no answer"
	IFS=$'\t' read -r -a R <<<"$REPLY_LINE"
	echo "   $* -> $REPLY_LINE"
}

# Count DROP rules in SPLITBRAIN on every host.
nem_rules() {
	local total=0 c
	for h in "${NODES[@]}"; do
		c=$(ip netns exec "${NS[$h]}" iptables -w -S SPLITBRAIN 2>/dev/null | grep -c -- '-j DROP')
		total=$((total + c))
	done
	echo "$total"
}

nem_cleanup() {
	[ "$nem_cleaned" = 1 ] && return
	nem_cleaned=1
	echo "== cleanup"
	nem_tool_stop
	for p in "${NEM_PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${NEM_PIDS[@]}"; do wait "$p" 2>/dev/null; done
	if [ -n "${LAB:-}" ]; then
		timeout 120 "$SB" db wipe --nodes lab >/dev/null 2>&1
		timeout 120 "$SB" lab down --dir "$LAB" >/dev/null 2>&1
	fi
	[ -n "${WORK:-}" ] && rm -rf "$WORK"
}
