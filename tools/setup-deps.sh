#!/usr/bin/env bash
# setup-deps.sh - install everything ringsniff builds, tests and benchmarks
# with, from Debian 12 packages.  Run as root; idempotent.
set -euo pipefail
PKGS=(
	# build
	build-essential meson ninja-build pkg-config
	libbpf-dev liburcu-dev libcmocka-dev libpcap-dev libhtp-dev
	clang llvm bpftool libclang-rt-14-dev
	# real traffic, oracles and network tools for tests and the demo
	iproute2 ethtool nftables iputils-ping
	nginx-light curl wrk apache2-utils
	tcpdump tshark tcpreplay python3 python3-dpkt
)
missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "setup-deps: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	# tshark asks whether non-root users may capture; answer no, quietly.
	echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
	apt-get update -q
	apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
# The Debian nginx package starts a server on port 80 of the root namespace;
# tests run their own inside namespaces, so keep the system one stopped.
if command -v systemctl >/dev/null && systemctl is-active -q nginx 2>/dev/null; then
	systemctl stop nginx || true
fi
