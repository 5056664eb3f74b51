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
for x in r:  # the time spent reading is a part of the whole
    assert 0 <= x["read_seconds"] <= x["seconds"], x
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
# A limit turns into unknown, listing the key. The history must be one the checker cannot
# decide in a blink: 28 concurrent writes of distinct values, each value also read by a
# concurrent read, then two sequential reads of two of them (invalid: no order explains
# both, and proving it takes about 2^28 configurations). An earlier history here (200
# indeterminate writes of three values, sequential reads) is now decided at once.
{
	for t in invoke ok; do
		for i in $(seq 0 27); do
			echo "{\"process\":$i,\"type\":\"$t\",\"f\":\"write\",\"key\":\"k\",\"value\":$((i + 1))}"
			v=null
			[ "$t" = ok ] && v=$((i + 1))
			echo "{\"process\":$((100 + i)),\"type\":\"$t\",\"f\":\"read\",\"key\":\"k\",\"value\":$v}"
		done
	done
	for v in 1 2; do
		echo "{\"process\":1000,\"type\":\"invoke\",\"f\":\"read\",\"key\":\"k\",\"value\":null}"
		echo "{\"process\":1000,\"type\":\"ok\",\"f\":\"read\",\"key\":\"k\",\"value\":$v}"
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

# ---- hardening: the checker never loses or hides a write itself ----
py() { command -v python3 >/dev/null || { echo "skip (no python3): $1"; return 1; }; }
# Integers beyond 64 bits are compared exactly (they were doubles: 2^64 == 2^64+1).
cat >"$tmp/big.jsonl" <<'H'
{"process":0,"type":"invoke","f":"write","value":18446744073709551616}
{"process":0,"type":"ok","f":"write","value":18446744073709551616}
{"process":1,"type":"invoke","f":"read","value":null}
{"process":1,"type":"ok","f":"read","value":18446744073709551617}
H
expect 1 "bigint read of a value never written" "$SB" check --model register "$tmp/big.jsonl"
has "$tmp/out" "returned 18446744073709551617" "bigint shown exactly"
sed 's/"value":18446744073709551617/"value":18446744073709551616/' "$tmp/big.jsonl" >"$tmp/big-ok.jsonl"
expect 0 "bigint read of the value written" "$SB" check --model register "$tmp/big-ok.jsonl"
# --json naming an input is refused and the input is left alone (it was emptied first).
cp "$tmp/valid.jsonl" "$tmp/self.jsonl"
before=$(cksum <"$tmp/self.jsonl")
expect 254 "--json F F refused" "$SB" check --model kv --json "$tmp/self.jsonl" "$tmp/self.jsonl"
has "$tmp/err" "is also a history to read" "--json F F says why"
[ "$(cksum <"$tmp/self.jsonl")" = "$before" ] || { echo "FAIL --json F F changed the history"; fail=1; }
ln "$tmp/self.jsonl" "$tmp/self-link.jsonl"
expect 254 "--json over a hard link of an input" "$SB" check --model kv --json "$tmp/self-link.jsonl" "$tmp/valid.jsonl" "$tmp/self.jsonl"
ln -s "$tmp/self.jsonl" "$tmp/self-sym.json"
expect 254 "--json over a symlink to an input" "$SB" check --model kv --json "$tmp/self-sym.json" "$tmp/self.jsonl"
cp "$tmp/valid.jsonl" "$tmp/page.jsonl"
expect 254 "--html F F refused" "$SB" check --model kv --html "$tmp/page.jsonl" "$tmp/page.jsonl"
cmp -s "$tmp/valid.jsonl" "$tmp/page.jsonl" || { echo "FAIL --html F F changed the history"; fail=1; }
expect 254 "--json F with F as standard input" sh -c '"$1" check --model kv --json "$2" - <"$2"' sh "$SB" "$tmp/self.jsonl"
[ "$(cksum <"$tmp/self.jsonl")" = "$before" ] || { echo "FAIL --json F - <F changed the history"; fail=1; }
# The JSON replaces the old file only when it is complete: no temporary file is left.
echo old >"$tmp/res.json"
expect 0 "--json replaces the old file" "$SB" check --model kv --json "$tmp/res.json" "$tmp/valid.jsonl"
has "$tmp/res.json" '"results":[' "--json written"
[ -z "$(ls "$tmp" | grep 'res.json.tmp')" ] || { echo "FAIL temporary --json file left"; fail=1; }
expect 0 "--json to a device" "$SB" check --model kv --json /dev/null "$tmp/valid.jsonl"
mkdir "$tmp/adir"
expect 254 "--json naming a directory" "$SB" check --model kv --json "$tmp/adir" "$tmp/valid.jsonl"
# Limits the command line refuses (they turned a valid history into unknown, or NaN into none).
for bad in "--timeout inf" "--timeout nan" "--timeout 1e10" "--timeout 9.3e9" "--timeout -1" \
	"--key-timeout inf" "--key-timeout nan" "--memory inf" "--memory 1e20" "--memory nan" \
	"--memory -5" "--threads 1e9"; do
	# shellcheck disable=SC2086
	expect 254 "refused: $bad" "$SB" check --model kv $bad "$tmp/valid.jsonl"
done
expect 0 "the largest --timeout still checks" "$SB" check --model kv --timeout 720h --key-timeout 720h --memory 1T "$tmp/valid.jsonl"
has "$tmp/out" "valid.jsonl: valid" "valid under the largest limits"
# --json -: stdout holds the JSON alone, the verdict lines go to stderr.
expect 254 "--json - with a bad history" "$SB" check --model kv --json - "$tmp/valid.jsonl" "$tmp/invalid.jsonl" "$tmp/rule.jsonl"
has "$tmp/err" "valid.jsonl: valid" "verdict lines on stderr with --json -"
if py "--json - parses"; then
	python3 - "$tmp/out" <<'PY' || { echo "FAIL --json - stdout is not JSON alone"; fail=1; }
import json, sys
d = json.load(open(sys.argv[1]))
assert [x["verdict"] for x in d["results"]] == ["valid", "invalid", "error"], d
# the top-level verdict reflects the error, consistent with the exit code
assert d["verdict"] == "error" and d["exit"] == 254, d
print("ok   --json - parses; top-level verdict error")
PY
fi
# Invalid UTF-8 in the history still gives valid JSON.
printf '{"process":0,"type":"invoke","f":"write","value":"\xff\xfe"}\n{"process":0,"type":"ok","f":"write","value":"\xff\xfe"}\n{"process":1,"type":"invoke","f":"read","value":null}\n{"process":1,"type":"ok","f":"read","value":"\xc3"}\n' >"$tmp/utf8.jsonl"
printf '[{:process 0 :type :invoke :f :write :value "\xed\xa0\x80"}\n{:process 0 :type :ok :f :write :value "\xed\xa0\x80"}\n{:process 1 :type :invoke :f :read :value nil}\n{:process 1 :type :ok :f :read :value "\xc0\x80"}]\n' >"$tmp/utf8.edn"
expect 1 "invalid UTF-8 history" "$SB" check --json "$tmp/u.json" "$tmp/utf8.jsonl" "$tmp/utf8.edn"
if py "invalid UTF-8 gives valid JSON"; then
	python3 - "$tmp/u.json" <<'PY' || { echo "FAIL invalid UTF-8 made invalid JSON"; fail=1; }
import json, sys
d = json.loads(open(sys.argv[1], "rb").read().decode("utf-8"))
ce = d["results"][0]["keys"][0]["counterexample"]
# the bad bytes come back as Python's surrogateescape does
assert ce["op"]["value"].encode("utf-8", "surrogateescape") == b"\xc3", ce
assert d["results"][1]["verdict"] == "invalid", d
print("ok   invalid UTF-8 gives valid JSON")
PY
fi
# The top-level verdict of --json says error when a history could not be read.
expect 254 "--json top-level verdict" "$SB" check --model kv --json "$tmp/e2.json" "$tmp/valid.jsonl" "$tmp/rule.jsonl"
has "$tmp/e2.json" '],"verdict":"error","exit":254}' "top-level verdict error"
# An empty history: valid, but said loudly; --min-ops makes it fail.
expect 0 "empty history" "$SB" check /dev/null
has "$tmp/err" "no operations: nothing was checked" "empty history warns on stderr"
has "$tmp/out" "no operations: nothing was checked" "empty history warns in the summary"
expect 2 "--min-ops 1 on an empty history" "$SB" check --min-ops 1 /dev/null
has "$tmp/out" "fewer than the required minimum of 1" "--min-ops named"
expect 2 "--min-ops 3 on 2 ops" "$SB" check --model kv --min-ops 3 "$tmp/valid.jsonl"
expect 0 "--min-ops 2 on 2 ops" "$SB" check --model kv --min-ops 2 "$tmp/valid.jsonl"
expect 1 "--min-ops never hides invalid" "$SB" check --model kv --min-ops 1000 "$tmp/invalid.jsonl"
expect 254 "--min-ops -1 refused" "$SB" check --min-ops -1 "$tmp/valid.jsonl"
# Options after the histories are options; '-' twice is refused.
expect 1 "options after a history" "$SB" check "$tmp/invalid.jsonl" --model kv --json "$tmp/after.json"
has "$tmp/after.json" '"model":"kv"' "option after a history applied"
expect 254 "'-' given twice" sh -c '"$1" check - - <"$2"' sh "$SB" "$tmp/valid.jsonl"
has "$tmp/err" "given 2 times" "'-' twice named"
# A 3-element EDN tuple under kv is rejected with its line.
cat >"$tmp/tuple3.edn" <<'H'
[{:process 0, :type :invoke, :f :write, :value [:a 1 2]}
 {:process 0, :type :ok, :f :write, :value [:a 1 2]}]
H
expect 254 "3-element tuple under kv" "$SB" check --model kv "$tmp/tuple3.edn"
has "$tmp/err" "line 1" "3-element tuple names the line"
# The counterexample gives the true number of concurrent operations.
{
	for i in $(seq 1 40); do echo "{\"process\":$i,\"type\":\"invoke\",\"f\":\"write\",\"value\":$((1000 + i))}"; done
	echo '{"process":0,"type":"invoke","f":"read","value":null}'
	echo '{"process":0,"type":"ok","f":"read","value":7}'
} >"$tmp/conc.jsonl"
expect 1 "many concurrent operations" "$SB" check --model register "$tmp/conc.jsonl"
has "$tmp/out" "concurrent with it: 40 operations (showing 8 of 40)" "true concurrent count"
# Integers beyond 64 bits in index/time/process: the message says what is wrong.
echo '{"process":18446744073709551616,"type":"invoke","f":"read","value":null}' >"$tmp/bigproc.jsonl"
expect 254 "process beyond 64 bits" "$SB" check "$tmp/bigproc.jsonl"
has "$tmp/err" '"process" 18446744073709551616 is out of range' "process out of range named"
# --initial: a deep value gets a short message with the reason; duplicate keys are refused.
deep=$(head -c 120000 /dev/zero | tr '\0' '[')
expect 254 "deep --initial" "$SB" check --initial "$deep" "$tmp/valid.jsonl"
has "$tmp/err" "nested deeper than" "deep --initial reason"
[ "$(wc -c <"$tmp/err")" -lt 1000 ] || { echo "FAIL deep --initial echoes $(wc -c <"$tmp/err") bytes"; fail=1; }
expect 254 "--initial with a duplicate key" "$SB" check --model multi-register --initial '{"x":0,"x":1}' "$tmp/valid.jsonl"
has "$tmp/err" '"x"' "duplicate key named"
exit $fail
