#!/usr/bin/env python3
"""inflight_at_crash.py RUN_DIR: the client operations in flight on a crashed leader.

For every crash point that fired in the run (an `event=crashpoint-hit` line in a node's
collected log, placed in run time through the controller's splitbrain.log, whose lines carry
both the wall clock and the run time; the lab's hosts share the controller's clock), list the operations sent to the node that died and still open at the moment
it died (invoked before, completed after), with their outcome. Prints one line per operation:
    <point> <node> at <t> s: process <p> <f> <value> -> <type> (<error>)
and exits 0 when every such write ended `info`, 1 when one ended `fail` or `ok` before the
node could have replied (a write in flight on a dead node may have taken effect: only `info`
is honest), 2 when no crash point fired or no operation was in flight (nothing shown).
"""
import datetime
import glob
import json
import os
import re
import sys


def wall(stamp):
    """Seconds since the epoch of "2026-11-30T08:30:34.121268Z"."""
    d = datetime.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ")
    return d.replace(tzinfo=datetime.timezone.utc).timestamp()


def main():
    run = sys.argv[1]
    crashes = []
    t0 = None
    for line in open(os.path.join(run, "splitbrain.log")):
        m = re.match(r"(\S+Z) \+([0-9.]+)s ", line)
        if m:
            t0 = wall(m.group(1)) - float(m.group(2))
            break
    for log in glob.glob(os.path.join(run, "*", "raftnode.log")):
        for line in open(log, errors="replace"):
            m = re.search(r"node=(\S+) .*event=crashpoint-hit name=(\S+)", line)
            if m and t0 is not None:
                crashes.append((m.group(2), m.group(1), wall(line.split()[0]) - t0))
    if not crashes:
        print("no crash point fired")
        return 2
    invokes = {}
    ops = []
    for line in open(os.path.join(run, "history.jsonl")):
        e = json.loads(line)
        if e["process"] == "nemesis":
            continue
        if e["type"] == "invoke":
            invokes[e["process"]] = e
        else:
            inv = invokes.pop(e["process"], None)
            if inv:
                ops.append((inv, e))
    for inv in invokes.values():  # still open at the end: counts as info
        ops.append((inv, {"type": "info", "time": None, "error": "open at the end"}))
    shown = 0
    bad = 0
    for point, node, at in crashes:
        t = at * 1e9
        for inv, c in ops:
            # The completion names the node that answered (a redirect moves an operation
            # from the worker's own node to the leader).
            if (c.get("node") or inv.get("node")) != node or inv["f"] == "read" or inv["time"] > t:
                continue
            if c["time"] is not None and c["time"] < t:
                continue
            shown += 1
            ok = c["type"] == "info"
            bad += not ok
            print("%s %s at %.3f s: process %s %s %s -> %s (%s)%s" % (
                point, node, at, inv["process"], inv["f"], json.dumps(inv.get("value")),
                c["type"], c.get("error"), "" if ok else "  <-- not info"))
    if not shown:
        print("no write was in flight on a crashed leader")
        return 2
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
