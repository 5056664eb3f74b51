#!/usr/bin/env bash
# `splitbrain serve` over loopback: the index (filters, newest first), content types, the
# traversal attempts it must refuse (and that nothing outside the store is ever served),
# a client that disconnects mid-response, and a clean stop on SIGINT and SIGTERM.
set -u
cd "$(dirname "$0")/../.."
SB=${SPLITBRAIN:-$PWD/build/splitbrain}
command -v curl >/dev/null || { echo "SKIP curl is missing"; exit 77; }
command -v python3 >/dev/null || { echo "SKIP python3 is missing"; exit 77; }
tmp=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
fails=0 passes=0
check() { if eval "$2"; then echo "ok: $1"; passes=$((passes + 1)); else echo "FAIL: $1"; fails=$((fails + 1)); fi; }

# A store of two runs, a secret beside it, and links that try to lead out of it.
st=$tmp/store
mkdir -p "$st/register-invalid" "$st/register-valid"
cp -r tests/fixtures/stores/invalid "$st/register-invalid/20261130T071500"
cp -r tests/fixtures/stores/valid "$st/register-valid/20261130T081500"
ln -s 20261130T081500 "$st/register-valid/latest"
"$SB" report "$st/register-invalid/20261130T071500" >/dev/null
echo "SECRET-OUTSIDE-THE-STORE" > "$tmp/secret.txt"
run=$st/register-valid/20261130T081500
ln -s ../../../secret.txt "$run/rel-escape.txt"
ln -s "$tmp/secret.txt" "$run/abs-escape.txt"
ln -s / "$st/rootdir"
ln -s "$tmp" "$run/updir"
head -c 40000000 /dev/zero > "$run/big.log"

start() {
	"$SB" serve --store "$st" --bind 127.0.0.1:0 >"$tmp/out" 2>"$tmp/err" &
	pid=$!
	for _ in $(seq 50); do
		port=$(sed -n 's|.*http://127.0.0.1:\([0-9]*\)/.*|\1|p' "$tmp/out")
		[ -n "$port" ] && return 0
		sleep 0.1
	done
	echo "serve did not start: $(cat "$tmp/err")"
	exit 1
}
start
base="http://127.0.0.1:$port"
C=(curl -s --noproxy 127.0.0.1 --path-as-is --max-time 10)
code() { "${C[@]}" -o "$tmp/body" -w '%{http_code}' "$@"; }

check "index: 200" '[ "$(code "$base/")" = 200 ]'
check "index lists both runs, newest first" \
	'grep -o "data-verdict=\"[a-z]*\"" "$tmp/body" | tr "\n" " " | grep -q "valid.*invalid"'
check "index links the report" 'grep -q "href=\"/register-invalid/20261130T071500/report.html\"" "$tmp/body"'
code "$base/?verdict=invalid" >/dev/null
check "filter by verdict" 'grep -q "1 of 2 runs shown" "$tmp/body" && grep -q "data-verdict=\"invalid\"" "$tmp/body"'
code "$base/?test=valid&verdict=" >/dev/null
check "filter by test name" 'grep -q "2 of 2 runs shown" "$tmp/body"'
code "$base/?test=register-valid" >/dev/null
check "filter by test name (one)" 'grep -q "1 of 2 runs shown" "$tmp/body"'

ct() { "${C[@]}" -o /dev/null -w '%{http_code} %{content_type}' "$base$1"; }
check "report.html is text/html" '[ "$(ct /register-invalid/20261130T071500/report.html)" = "200 text/html; charset=utf-8" ]'
check "results.json is application/json" '[ "$(ct /register-valid/latest/results.json)" = "200 application/json" ]'
check "history.jsonl is shown as text" '[ "$(ct /register-valid/20261130T081500/history.jsonl)" = "200 text/plain; charset=utf-8" ]'
check "junit.xml is application/xml" '[ "$(ct /register-valid/20261130T081500/junit.xml)" = "200 application/xml" ]'
check "a node's log is text" '[ "$(ct /register-valid/20261130T081500/n1/raftnode.log)" = "200 text/plain; charset=utf-8" ]'
check "a run directory without its slash is redirected" '[ "$(ct /register-valid/20261130T081500 | cut -d" " -f1)" = 301 ]'
check "a run directory lists its files" '[ "$(code "$base/register-valid/20261130T081500/")" = 200 ] && grep -q "href=\"history.jsonl\"" "$tmp/body"'
check "a file that is not there: 404" '[ "$(code "$base/register-valid/nothing")" = 404 ]'
check "POST is refused: 405" '[ "$("${C[@]}" -o /dev/null -w "%{http_code}" -X POST "$base/")" = 405 ]'
check "nosniff and a content security policy" \
	'"${C[@]}" -D - -o /dev/null "$base/" | grep -qi "x-content-type-options: nosniff" && "${C[@]}" -D - -o /dev/null "$base/" | grep -qi "content-security-policy: default-src .none."'

# Traversal attempts: each must be refused with the code given, and no body may hold the secret.
long=$(printf 'a%.0s' $(seq 3000))
while read -r want path; do
	got=$(code "$base$path")
	check "refused: $path -> $got" '[ "$got" = "$want" ] && ! grep -q SECRET-OUTSIDE "$tmp/body"'
done <<EOF2
400 /../secret.txt
400 /register-valid/../../secret.txt
400 /register-valid/%2e%2e/%2e%2e/secret.txt
400 /%2e%2e/secret.txt
400 /..%2fsecret.txt
400 /..%2Fsecret.txt
400 /register-valid%2f20261130T081500%2fresults.json
400 /..%5csecret.txt
400 /results.json%00.html
400 /register-valid/20261130T081500/results.json%00
400 //etc/passwd
400 /register-valid//20261130T081500/
400 /%c0%ae%c0%ae/secret.txt
400 /.%2e/secret.txt
400 /%
400 /.
400 /register-valid/./latest/
403 /register-valid/20261130T081500/rel-escape.txt
403 /register-valid/20261130T081500/abs-escape.txt
403 /rootdir/etc/passwd
403 /register-valid/20261130T081500/updir/secret.txt
414 /$long
EOF2
# the same over a raw socket, with bytes curl would clean up
raw() {
	python3 - "$port" "$1" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(b"GET " + sys.argv[2].encode("latin-1") + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
data = b""
while True:
    chunk = s.recv(65536)
    if not chunk:
        break
    data += chunk
print(data.split(b"\r\n", 1)[0].decode("latin-1"))
sys.exit(1 if b"SECRET-OUTSIDE" in data else 0)
PY
}
for p in '/..\\secret.txt' '/register-valid/latest/../../secret.txt' "/$(printf 'x%.0s' $(seq 1100))"; do
	line=$(raw "$p"); rc=$?
	check "raw request refused: ${p:0:40} -> $line" '[ $rc -eq 0 ] && ! echo "$line" | grep -q " 200 "'
done

# A client that stops reading and disconnects in the middle of a large file; then another.
for i in 1 2 3 4 5; do
	python3 - "$port" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(b"GET /register-valid/20261130T081500/big.log HTTP/1.1\r\nHost: x\r\n\r\n")
got = 0
while got < 200000:
    got += len(s.recv(65536))
s.close()
PY
done
python3 - "$port" <<'PY' &
import socket, sys, time
# one that sends half a request and waits: it must not hold the server up
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(b"GET /register-valid/20261130T081500/big.log HTTP/1.1\r\n")
time.sleep(4)
PY
slow=$!
sleep 0.3
check "still serving after clients went away mid-response" '[ "$(code "$base/register-valid/latest/results.json")" = 200 ] && grep -q "\"verdict\"" "$tmp/body"'
size=$("${C[@]}" -o /dev/null -w '%{size_download}' "$base/register-valid/20261130T081500/big.log")
check "a whole large file still comes through ($size bytes)" '[ "$size" = 40000000 ]'
check "the server process is alive" 'kill -0 $pid'
wait $slow

kill -INT "$pid"; wait "$pid"; rc=$?; pid=
check "SIGINT stops it with exit 0" '[ $rc -eq 0 ] && grep -q "stopped (SIGINT)" "$tmp/out"'
start
kill -TERM "$pid"; wait "$pid"; rc=$?; pid=
check "SIGTERM stops it with exit 0" '[ $rc -eq 0 ] && grep -q "stopped (SIGTERM)" "$tmp/out"'

"$SB" serve --store "$st" --bind nonsense 2>/dev/null; rc=$?
check "a bad --bind exits 254" '[ $rc -eq 254 ]'
"$SB" serve --store "$tmp/no-such-store" --bind 127.0.0.1:0 2>/dev/null; rc=$?
check "a missing store exits 255" '[ $rc -eq 255 ]'

# libmicrohttpd is opened only by serve (harness/lazylib.c): other commands do not load it,
# and without it serve says which package to install and exits 255. The library is hidden
# by mounting /dev/null over it in a mount namespace of the one command.
check "check does not load libmicrohttpd or libcurl" \
	'! LD_DEBUG=files "$SB" check --model register tests/fixtures/stores/valid/history.jsonl \
		2>&1 >/dev/null | grep -q "libmicrohttpd\|libcurl"'
lib=$(ldconfig -p | sed -n 's|.*libmicrohttpd\.so\.12 .*=> \(.*\)|\1|p' | head -n1)
if [ -n "$lib" ] && unshare -m true 2>/dev/null; then
	unshare -m sh -c 'mount --bind /dev/null "$(readlink -f "$1")" && shift && exec "$@"' \
		sh "$lib" "$SB" serve --store "$st" --bind 127.0.0.1:0 >/dev/null 2>"$tmp/err"
	rc=$?
	check "without libmicrohttpd serve exits 255 naming the package" \
		'[ $rc -eq 255 ] && grep -q "libmicrohttpd.so.12: .*install the Debian package libmicrohttpd12" "$tmp/err"'
else
	echo "note: no mount namespace here; the missing-library case is not run"
fi

echo "$passes passed, $fails failed"
[ $fails -eq 0 ]
