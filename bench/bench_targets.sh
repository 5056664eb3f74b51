#!/usr/bin/env bash
# The three systems side by side, on one lab of 3 hosts and under the same fault:
# raftnode, etcd and Redis + Sentinel each run bench/specs/targets.yaml (a kv workload, 6
# workers as fast as they go, the leader / master SIGKILLed every 3 s and restarted 1.5 s
# later, 60 s), one after the other. From each run's history.jsonl and results.json:
#   - throughput: ok operations per second of the main phase (and writes among them);
#   - kill -> next ok write: for each kill (a kill fault of results.json without an error;
#     its moment is the history's nemesis event that records the kill done, i.e. the SIGKILL
#     delivered and the process gone), the time until the first write or cas invoked after
#     it completes ok (a worker that was talking to the killed node has to find the
#     new leader first; etcd's members forward to the leader themselves); median, min and
#     max over the kills; "no leader": kill faults that found no leader / master to kill
#     (the fault fails; Redis: the Sentinels disagreed about the master).
# Needs root (the lab) and Debian's etcd-server, redis-server and redis-sentinel; prints
# "skipped" otherwise. Nothing passes or fails on a figure.
#   bench/bench_targets.sh [KINDS...]   (default: raftnode etcd redis-sentinel)
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
SB=$PWD/$BUILD/splitbrain
KINDS=("$@")
[ ${#KINDS[@]} = 0 ] && KINDS=(raftnode etcd redis-sentinel)
if [ "$(id -u)" != 0 ]; then
	echo "bench_targets: skipped (needs root for the lab)"
	exit 0
fi
if [ ! -x /usr/bin/etcd ] || [ ! -x /usr/bin/redis-server ]; then
	echo "bench_targets: skipped (needs etcd-server, redis-server, redis-sentinel: make deps)"
	exit 0
fi
LAB=$PWD/$BUILD/lab-bench-targets
STORE=$PWD/$BUILD/bench-targets-store
export SPLITBRAIN_LAB_DIR=$LAB
trap '"$SB" lab down --dir "$LAB" >/dev/null 2>&1' EXIT
"$SB" lab down --dir "$LAB" >/dev/null 2>&1
"$SB" lab up -n 3 --dir "$LAB" >/dev/null || { echo "bench_targets: lab up failed"; exit 1; }
rm -rf "$STORE"
echo "bench/specs/targets.yaml on a 3-host lab: kv, 8 keys, 6 workers, rate unlimited, 60 s;"
echo "SIGKILL of the leader / master every 3 s (jitter 0.2), restarted 1.5 s later"
echo "load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)"
runs=()
for k in "${KINDS[@]}"; do
	mkdir -p "$STORE"
	sed -e "s/^name: targets-raftnode/name: targets-$k/" -e "s/{kind: raftnode}/{kind: $k}/" \
		bench/specs/targets.yaml >"$STORE/targets-$k.yaml"
	"$SB" run "$STORE/targets-$k.yaml" --store "$STORE/$k" --no-progress \
		>/dev/null 2>"$STORE/$k.err" || true
	r=$(readlink -f "$STORE/$k/latest" 2>/dev/null)
	if [ -z "$r" ] || [ ! -f "$r/results.json" ]; then
		echo "$k: the run failed: $(tail -n 3 "$STORE/$k.err")"
		continue
	fi
	runs+=("$k=$r")
done
python3 - "${runs[@]}" <<'PY'
import json, statistics, sys

def figures(run):
    d = json.load(open(run + "/results.json"))
    m0, m1 = d["phases"]["main"]
    ok = wok = 0
    invoked = {}          # process -> (f, invoke time) of its open operation
    writes = []           # (invoke time, completion time) of ok writes and cases
    killed = []           # when each kill was done: its nemesis completion event
    for line in open(run + "/history.jsonl"):
        e = json.loads(line)
        p = e["process"]
        if p == "nemesis":
            if e["f"] == "kill" and e["type"] == "info" and not e.get("error"):
                killed.append(e["time"] / 1e9)
            continue
        t = e["time"] / 1e9
        if e["type"] == "invoke":
            invoked[p] = (e["f"], t)
            continue
        f, t0 = invoked.pop(p, (e["f"], None))
        if e["type"] != "ok" or t0 is None:
            continue
        if m0 <= t <= m1:
            ok += 1
            if f in ("write", "cas", "add"):
                wok += 1
        if f in ("write", "cas", "add"):
            writes.append((t0, t))
    writes.sort()
    gaps = []
    # results.json lists the faults in the order they started, as the history records their
    # completions: the i-th kill there is the i-th kill event. start_s is when the fault was
    # begun; the event is when the SIGKILL had been delivered and the node was gone.
    kills = [fl for fl in d["faults"] if fl["kind"] == "kill"]
    refused = sum(1 for fl in kills if fl.get("error"))
    for fl, k in zip([fl for fl in kills if not fl.get("error")], killed):
        after = [done for (inv, done) in writes if inv >= k]
        if after:
            gaps.append((min(after) - k) * 1000)
    dur = m1 - m0
    return d, ok / dur, wok / dur, gaps, refused

print()
print(f'{"system":<16}{"verdict":<9}{"ok ops/s":>9}{"writes/s":>9}{"kills":>6}'
      f'{"kill->ok write median":>23}{"min":>8}{"max":>8}{"no leader":>11}')
for arg in sys.argv[1:]:
    kind, run = arg.split("=", 1)
    d, tput, wput, gaps, refused = figures(run)
    if gaps:
        med = f'{statistics.median(gaps):.0f} ms'
        lo, hi = f'{min(gaps):.0f}', f'{max(gaps):.0f}'
    else:
        med, lo, hi = "-", "-", "-"
    print(f'{kind:<16}{d["verdict"]:<9}{tput:>9.0f}{wput:>9.0f}{len(gaps):>6}{med:>23}{lo:>8}'
          f'{hi:>8}{refused:>11}')
print()
for arg in sys.argv[1:]:
    print("store:", arg.split("=", 1)[1])
PY
