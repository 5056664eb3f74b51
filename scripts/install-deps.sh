#!/usr/bin/env bash
# Installs the Debian 12 packages that building and testing splitbrain need. Needs root.
set -euo pipefail
pkgs=(
	build-essential clang libclang-rt-14-dev   # gcc, make; clang + libFuzzer for `make fuzz`
	libssh2-1-dev libyaml-dev libpcre2-dev libcmocka-dev
	openssh-server openssh-client              # the lab's per-host sshd
	iproute2 iptables iputils-ping procps psmisc # namespaces, veth, bridge, faults
	redis-tools                                 # redis-cli, used by tests against raftnode
	faketime                                    # libfaketime: the clock fault skews a node's clock
	libjansson-dev                              # bench/parse.c: the history reader vs jansson
	python3                                     # tests/scripts/test_check_cli.sh reads --json output
	libmicrohttpd-dev curl                      # splitbrain serve; its test's client
	chromium                                    # browser tests of report.html and serve
)
# Node.js drives Chromium in the browser tests (tests/browser): Debian's, unless the machine
# already has one.
command -v npm >/dev/null || pkgs+=(nodejs npm)
if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: needs root (apt-get install ${pkgs[*]})" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
# playwright-core, pinned by tests/browser/package-lock.json; it uses /usr/bin/chromium and
# downloads no browser of its own.
(cd "$(dirname "$0")/../tests/browser" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
echo "install-deps: ok"
