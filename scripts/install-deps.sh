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
	libcurl4-openssl-dev                        # the etcd client adapter (v3 HTTP/JSON gateway)
	etcd-server etcd-client                     # third-party target: etcd (db kind etcd)
	redis-server redis-sentinel                 # third-party target: Redis + Sentinel
)
# Node.js drives Chromium in the browser tests (tests/browser): Debian's, unless the machine
# already has one.
command -v npm >/dev/null || pkgs+=(nodejs npm)
if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: needs root (apt-get install ${pkgs[*]})" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# etcd and Redis are only targets: splitbrain starts its own members on the lab's hosts, each
# in its own directory. Debian starts their system services on install; keep them off. A
# policy-rc.d that refuses every start is in force while apt runs (removed after, unless the
# machine already had one), and where systemd runs the units are disabled and stopped too.
own_policy=
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
	chmod 755 /usr/sbin/policy-rc.d
	own_policy=1
fi
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
[ -n "$own_policy" ] && rm -f /usr/sbin/policy-rc.d
if [ -d /run/systemd/system ]; then
	systemctl disable --now etcd.service redis-server.service redis-sentinel.service \
		>/dev/null 2>&1 || true
fi
# Without systemd, an init script may still have started them (an older policy, a manual
# start): stop them through their own scripts, never by name.
for s in etcd redis-server redis-sentinel; do
	[ -x "/etc/init.d/$s" ] && "/etc/init.d/$s" stop >/dev/null 2>&1 || true
done
# Nothing may listen on their default ports: a member started by the package would answer
# the lab's clients in place of the cluster under test.
busy=$(ss -Hltn 2>/dev/null | awk '{print $4}' | grep -E ':(2379|2380|6379|26379)$' || true)
if [ -n "$busy" ]; then
	echo "install-deps: something still listens on an etcd/Redis default port: $busy" >&2
	exit 1
fi
# playwright-core, pinned by tests/browser/package-lock.json; it uses /usr/bin/chromium and
# downloads no browser of its own.
(cd "$(dirname "$0")/../tests/browser" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
echo "install-deps: ok"
