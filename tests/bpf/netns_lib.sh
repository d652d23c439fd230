# netns_lib.sh - two namespaces, a veth pair and nginx, for tests/bpf scripts.
# Source it, then: need_root_and ip ...; netns_setup; nginx_start.  Sets NSA,
# NSB (namespaces), vA/vB (ends), 198.18.0.1 (A) and 198.18.0.2 (B), LLA (A's
# IPv6 link-local address), TMP (removed at exit), PIDS (killed at exit).

skip() { echo "SKIP: $*"; exit 77; }
die() { echo "FAIL: $*"; exit 1; }

# need_root_and PROG...: skip unless root and every PROG is installed.
need_root_and() {
	[ "$(id -u)" = 0 ] || skip "needs root (network namespaces)"
	for p in "$@"; do
		command -v "$p" >/dev/null 2>&1 || skip "$p not installed"
	done
}

NSA=rsbpfA$$
NSB=rsbpfB$$
TMP=$(mktemp -d /tmp/rsbpf.XXXXXX)
PIDS=()
netns_cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	ip netns del "$NSA" 2>/dev/null
	ip netns del "$NSB" 2>/dev/null
	rm -rf "$TMP"
}
trap netns_cleanup EXIT
inA() { ip netns exec "$NSA" "$@"; }
inB() { ip netns exec "$NSB" "$@"; }

# wait_for SECONDS CMD...: poll CMD every 0.1 s until it succeeds.
wait_for() {
	local end=$((SECONDS + $1)); shift
	until "$@" >/dev/null 2>&1; do
		[ $SECONDS -lt $end ] || return 1
		sleep 0.1
	done
}

lladdr() { # NS IF
	ip -n "$1" -6 -o addr show dev "$2" scope link |
		sed -n 's/.* inet6 \(fe80::[0-9a-f:]*\)\/.*/\1/p' | head -n1
}
has_lladdr() { [ -n "$(lladdr "$1" "$2")" ]; }
mac_of() { # NS IF
	ip -n "$1" link show "$2" | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p'
}

# A/vA 198.18.0.1/30 <-> B/vB 198.18.0.2/30, offloads off, no routes.
netns_setup() {
	ip netns add "$NSA" || skip "cannot create network namespaces"
	ip netns add "$NSB" || exit 1
	ip -n "$NSA" link add vA type veth peer name vB netns "$NSB" || exit 1
	ip -n "$NSA" link set lo up
	ip -n "$NSB" link set lo up
	# Link-local addresses at once (no duplicate detection), and no
	# router solicitations to blur frame counts.
	for c in "$NSA vA" "$NSB vB"; do
		set -- $c
		ip netns exec "$1" sysctl -qw net.ipv6.conf."$2".accept_dad=0
		ip netns exec "$1" sysctl -qw net.ipv6.conf."$2".router_solicitations=0
		ip netns exec "$1" ethtool -K "$2" tso off gso off gro off >/dev/null 2>&1
	done
	ip -n "$NSA" addr add 198.18.0.1/30 dev vA
	ip -n "$NSB" addr add 198.18.0.2/30 dev vB
	ip -n "$NSA" link set vA up
	ip -n "$NSB" link set vB up
	wait_for 5 has_lladdr "$NSA" vA || die "no link-local address on vA"
	wait_for 5 has_lladdr "$NSB" vB || die "no link-local address on vB"
	LLA=$(lladdr "$NSA" vA)
}

# nginx in A on 198.18.0.1:80 and [::]:80, everything in $TMP.
nginx_start() {
	mkdir -p "$TMP/www"
	head -c 3000 /dev/zero | tr '\0' x >"$TMP/www/index.html"
	cat >"$TMP/nginx.conf" <<EOF
user root;
worker_processes 1;
pid $TMP/nginx.pid;
error_log $TMP/error.log;
events { worker_connections 64; }
http {
	access_log $TMP/access.log;
	client_body_temp_path $TMP/body;
	proxy_temp_path $TMP/proxy;
	fastcgi_temp_path $TMP/fastcgi;
	uwsgi_temp_path $TMP/uwsgi;
	scgi_temp_path $TMP/scgi;
	server {
		listen 198.18.0.1:80;
		listen [::]:80 ipv6only=on;
		root $TMP/www;
	}
}
EOF
	# Not through inA: $! must be nginx itself.
	ip netns exec "$NSA" nginx -e "$TMP/error.log" -p "$TMP" \
		-c "$TMP/nginx.conf" -g 'daemon off;' &
	PIDS+=($!)
	wait_for 10 inB curl -s -m 2 -o /dev/null http://198.18.0.1/ ||
		die "nginx did not answer: $(cat "$TMP/error.log")"
}

# start_tcpdump IF FILE: record IF in A until stopped with SIGINT; frames
# reach the file at once (--immediate-mode), not when a ring block retires.
start_tcpdump() {
	ip netns exec "$NSA" "$TCPDUMP" -i "$1" -n -U --immediate-mode \
		-w "$2" 2>"$2.log" &
	PIDS+=($!)
	wait_for 10 grep -q "listening on" "$2.log" ||
		die "tcpdump -i $1 did not start"
}
