#!/usr/bin/env bash
# `splitbrain check` as a command: exit codes (docs/exit-codes.md), messages that name the line,
# several files per invocation (worst verdict wins, bad input wins over all), --json output,
# limits that turn into `unknown`.
set -u
cd "$(dirname "$0")/../.."
SB=${SPLITBRAIN:-build/splitbrain}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
expect() { # expect WANT_RC DESCRIPTION CMD...
	local want=$1 what=$2
	shift 2
	"$@" >"$tmp/out" 2>"$tmp/err"
	local rc=$?
	if [ $rc -ne "$want" ]; then
		echo "FAIL $what: exit $rc, want $want"; sed 's/^/  | /' "$tmp/out" "$tmp/err" | head -20; fail=1
	else
		echo "ok   $what"
	fi
}
has() { # has FILE TEXT DESCRIPTION
	if ! grep -qF -- "$2" "$1"; then echo "FAIL $3: '$2' not in output"; sed 's/^/  | /' "$1" | head; fail=1; fi
}

cat >"$tmp/valid.jsonl" <<'H'
{"index":0,"time":1000,"process":0,"type":"invoke","f":"write","key":"a","value":1}
{"index":1,"time":2000,"process":0,"type":"ok","f":"write","key":"a","value":1}
{"index":2,"time":3000,"process":1,"type":"invoke","f":"read","key":"a","value":null}
{"index":3,"time":4000,"process":1,"type":"ok","f":"read","key":"a","value":1}
{"index":4,"time":4500,"process":"nemesis","type":"info","f":"kill","value":null}
H
cat >"$tmp/invalid.jsonl" <<'H'
{"index":0,"time":1000000000,"process":0,"type":"invoke","f":"write","key":3,"value":5}
{"index":1,"time":1100000000,"process":0,"type":"ok","f":"write","key":3,"value":5}
{"index":2,"time":2000000000,"process":1,"type":"invoke","f":"write","key":3,"value":7}
{"index":3,"time":2100000000,"process":1,"type":"ok","f":"write","key":3,"value":7}
{"index":4,"time":2300000000,"process":2,"type":"invoke","f":"read","key":3,"value":null}
{"index":5,"time":2310000000,"process":2,"type":"ok","f":"read","key":3,"value":5}
H
cat >"$tmp/rule.jsonl" <<'H'
{"process":0,"type":"invoke","f":"write","value":1}
{"process":0,"type":"info","f":"write","value":1}
{"process":0,"type":"invoke","f":"read","value":null}
H
printf '{"process":0,"type":"invoke","f":"write","value":1}\n{"process":0,"type":"ok","f":"wri' >"$tmp/truncated.jsonl"
head -c 3000 /dev/urandom >"$tmp/garbage.jsonl"

expect 0 "valid history" "$SB" check --model kv "$tmp/valid.jsonl"
has "$tmp/out" "valid.jsonl: valid (kv; 2 ops, 1 key" "valid summary"
expect 1 "invalid history" "$SB" check --model kv "$tmp/invalid.jsonl"
has "$tmp/out" "read of key 3 returned 5 at 2.310 s, but write 7 completed at 2.100 s and no later write of 5 exists" "counterexample sentence"
expect 254 "invoke after info is rejected" "$SB" check "$tmp/rule.jsonl"
has "$tmp/err" "line 3: process 0 invokes again after its operation completed info" "rule message"
expect 254 "truncated line" "$SB" check "$tmp/truncated.jsonl"
has "$tmp/err" ":2:" "truncated names line 2"
expect 254 "binary garbage" "$SB" check "$tmp/garbage.jsonl"
expect 254 "missing file" "$SB" check "$tmp/nope.jsonl"
expect 254 "unknown model" "$SB" check --model nosuch "$tmp/valid.jsonl"
expect 254 "bad --initial" "$SB" check --initial '{' "$tmp/valid.jsonl"
expect 254 "no history" "$SB" check --model kv
expect 0 "--help" "$SB" check --help
# Several files: the worst verdict; bad input wins over all; a verdict line each.
expect 1 "valid + invalid = invalid" "$SB" check --model kv "$tmp/valid.jsonl" "$tmp/invalid.jsonl"
[ "$(grep -cE '^[^ ].*: (valid|invalid|unknown|error)' "$tmp/out")" -eq 2 ] || { echo "FAIL one line per file"; fail=1; }
expect 254 "invalid + bad input = 254" "$SB" check --model kv --json "$tmp/e.json" "$tmp/invalid.jsonl" "$tmp/rule.jsonl" "$tmp/valid.jsonl"
has "$tmp/out" "valid.jsonl: valid" "files after a bad one are still checked"
has "$tmp/e.json" '"verdict":"error","exit":254,"error":"' "--json names the bad file"
has "$tmp/e.json" '"exit":254}' "--json exit code"
# --json
expect 1 "--json" "$SB" check --model kv --json "$tmp/r.json" "$tmp/valid.jsonl" "$tmp/invalid.jsonl"
if command -v python3 >/dev/null; then
	python3 - "$tmp/r.json" <<'PY' || { echo "FAIL --json content"; fail=1; }
import json, sys
d = json.load(open(sys.argv[1]))
assert d["verdict"] == "invalid" and d["exit"] == 1, d
r = d["results"]
assert [x["verdict"] for x in r] == ["valid", "invalid"], r
k = r[1]["keys"][0]
assert k["key"] == 3 and k["verdict"] == "invalid"
ce = k["counterexample"]
assert ce["op"]["line"] == 5 and ce["op"]["f"] == "read" and ce["op"]["value"] == 5, ce
assert ce["states"] == [7], ce
print("ok   --json content")
PY
else
	has "$tmp/r.json" '"counterexample":{"op":{"line":5' "--json counterexample"
fi
# A limit turns into unknown, listing the key.
{
	for i in $(seq 1 26); do echo "{\"process\":$i,\"type\":\"invoke\",\"f\":\"write\",\"key\":\"k\",\"value\":$i}"; done
	for i in $(seq 1 26); do echo "{\"process\":$i,\"type\":\"ok\",\"f\":\"write\",\"key\":\"k\",\"value\":$i}"; done
	for v in 1 2; do
		echo '{"process":0,"type":"invoke","f":"read","key":"k","value":null}'
		echo "{\"process\":0,\"type\":\"ok\",\"f\":\"read\",\"key\":\"k\",\"value\":$v}"
	done
} >"$tmp/hard.jsonl"
expect 2 "--timeout gives unknown" "$SB" check --model kv --timeout 0.05 "$tmp/hard.jsonl"
has "$tmp/out" 'undecided key: "k"' "unknown names the key"
expect 2 "--memory gives unknown" "$SB" check --model kv --memory 1 "$tmp/hard.jsonl"
has "$tmp/out" "memory cap" "memory cap named"
# EDN input with independent [k v] tuples for kv.
cat >"$tmp/kv.edn" <<'H'
[{:process 0, :type :invoke, :f :write, :value [:a 1]}
 {:process 0, :type :ok, :f :write, :value [:a 1]}
 {:process 1, :type :invoke, :f :read, :value [:b nil]}
 {:process 1, :type :ok, :f :read, :value [:b 2]}]
H
expect 1 "EDN independent tuples" "$SB" check --model kv --initial 0 "$tmp/kv.edn"
has "$tmp/out" 'key "b"' "EDN key named"
exit $fail
