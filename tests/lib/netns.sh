# netns.sh - two network namespaces joined by a veth pair, for tests, the
# demo and benchmarks.  Source it, then call rs_net_up.  Rules it enforces:
# addresses only from 198.18.0.0/15, no default route, offloads off, nothing
# touched in the root namespace, everything removed at exit (trap).
#
#   rs_net_up PREFIX      creates ${PREFIX}s (server, 198.18.0.1, veth ${PREFIX}s0)
#                         and ${PREFIX}c (client, 198.18.0.2, veth ${PREFIX}c0)
#   rs_nginx_start DIR    nginx in the server namespace, docroot + logs in DIR
#   rs_need_tools PROG... skip (exit 77) unless all are installed
#   rs_in_srv CMD...      run in the server namespace; rs_in_cli likewise
# Exported after rs_net_up: RS_NS_SRV RS_NS_CLI RS_IF_SRV RS_IF_CLI RS_IP_SRV RS_IP_CLI

RS_IP_SRV=198.18.0.1
RS_IP_CLI=198.18.0.2
RS_CLEANUP=()

rs_cleanup() {
	local i
	for ((i = ${#RS_CLEANUP[@]} - 1; i >= 0; i--)); do
		eval "${RS_CLEANUP[i]}" >/dev/null 2>&1 || true
	done
	RS_CLEANUP=()
}

# Register a command to run at exit (in reverse order of registration).
rs_on_exit() {
	RS_CLEANUP+=("$1")
	trap rs_cleanup EXIT
	trap 'rs_cleanup; exit 130' INT TERM
}

rs_need_root() {
	if [ "$(id -u)" != 0 ]; then
		echo "SKIP: needs root (network namespaces)" >&2
		exit 77
	fi
	rs_need_tools ip ethtool
}

# Skip the test (exit 77) unless every named program is installed.
rs_need_tools() {
	local t
	for t in "$@"; do
		command -v "$t" >/dev/null || { echo "SKIP: $t missing" >&2; exit 77; }
	done
}

rs_net_up() {
	local p=${1:?prefix}
	rs_need_root
	# Names must stay within IFNAMSIZ (15): keep prefixes short.
	RS_NS_SRV=${p}s RS_NS_CLI=${p}c
	RS_IF_SRV=${p}s0 RS_IF_CLI=${p}c0
	ip netns add "$RS_NS_SRV"
	rs_on_exit "ip netns del $RS_NS_SRV"
	ip netns add "$RS_NS_CLI"
	rs_on_exit "ip netns del $RS_NS_CLI"
	ip link add "$RS_IF_SRV" netns "$RS_NS_SRV" type veth peer name "$RS_IF_CLI" netns "$RS_NS_CLI"
	ip -n "$RS_NS_SRV" addr add "$RS_IP_SRV/24" dev "$RS_IF_SRV"
	ip -n "$RS_NS_CLI" addr add "$RS_IP_CLI/24" dev "$RS_IF_CLI"
	for ns in "$RS_NS_SRV" "$RS_NS_CLI"; do
		ip -n "$ns" link set lo up
		# RS_NO_IPV6=1: a silent link (no DAD, MLD or router solicitations),
		# for tests that count every frame on it.
		if [ "${RS_NO_IPV6:-0}" = 1 ]; then
			ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
			ip netns exec "$ns" sysctl -qw net.ipv6.conf.default.disable_ipv6=1
		fi
	done
	ip -n "$RS_NS_SRV" link set "$RS_IF_SRV" up
	ip -n "$RS_NS_CLI" link set "$RS_IF_CLI" up
	# Segmentation offloads would hand the capture 64 KiB "frames" that never
	# crossed a wire; turn them off on both ends.
	ip netns exec "$RS_NS_SRV" ethtool -K "$RS_IF_SRV" tso off gso off gro off tx off rx off >/dev/null 2>&1 || true
	ip netns exec "$RS_NS_CLI" ethtool -K "$RS_IF_CLI" tso off gso off gro off tx off rx off >/dev/null 2>&1 || true
	# Wait for the link to come up (IPv6 DAD does not matter for IPv4).
	local i
	for ((i = 0; i < 50; i++)); do
		ip netns exec "$RS_NS_CLI" ping -c1 -W1 "$RS_IP_SRV" >/dev/null 2>&1 && break
		sleep 0.1
	done
	export RS_NS_SRV RS_NS_CLI RS_IF_SRV RS_IF_CLI RS_IP_SRV RS_IP_CLI
}

rs_in_srv() { ip netns exec "$RS_NS_SRV" "$@"; }
rs_in_cli() { ip netns exec "$RS_NS_CLI" "$@"; }

# DIR/nginx.conf: the global part and an http block with its temp paths in
# DIR, around HTTP_BODY (log formats, servers).  Shared by every test nginx.
rs_nginx_conf() {  # dir http-body
	local d=$1
	mkdir -p "$d/tmp"
	cat >"$d/nginx.conf" <<EOF
worker_processes 1;
daemon on;
user root;
pid $d/nginx.pid;
error_log $d/error.log warn;
events { worker_connections 1024; }
http {
	access_log off;
	client_body_temp_path $d/tmp/body;
	proxy_temp_path $d/tmp/proxy;
	fastcgi_temp_path $d/tmp/fcgi;
	uwsgi_temp_path $d/tmp/uwsgi;
	scgi_temp_path $d/tmp/scgi;
	keepalive_requests 100000;
$2
}
EOF
}

# Start nginx on DIR/nginx.conf in the server namespace; stopped at exit.
rs_nginx_run() {  # dir
	local d=$1
	command -v nginx >/dev/null || { echo "SKIP: nginx missing" >&2; exit 77; }
	rs_in_srv nginx -c "$d/nginx.conf" -p "$d" -e "$d/error.log"
	rs_on_exit "kill \$(cat $d/nginx.pid 2>/dev/null) 2>/dev/null; sleep 0.2"
}

# nginx serving DIR/www on RS_IP_SRV:80, access log DIR/access.log with
# "method uri status" per line (what the tests compare ringsniff against).
rs_nginx_start() {
	local d=${1:?dir}
	mkdir -p "$d/www"
	rs_nginx_conf "$d" "	log_format rs '\$request_method \$request_uri \$status';
	server {
		listen $RS_IP_SRV:80;
		root $d/www;
		access_log $d/access.log rs;
		# POST target: reads and discards the body, answers 200.
		location /echo { client_max_body_size 10m; return 200 \"ok\\n\"; }
		# Compressed on the fly, so sent chunked (with Accept-Encoding: gzip).
		location /chunked { gzip on; gzip_types *; gzip_min_length 0; }
	}"
	rs_nginx_run "$d"
	local i
	for ((i = 0; i < 50; i++)); do
		rs_in_cli curl -s -o /dev/null -m 1 "http://$RS_IP_SRV/" && break
		sleep 0.1
	done
	# nginx logs a request after sending its response: wait for the
	# probe's line, or it could land after the truncation (an extra line).
	for ((i = 0; i < 100; i++)); do [ -s "$d/access.log" ] && break; sleep 0.02; done
	: >"$d/access.log"
}

# Files of several sizes in the docroot: small, 1 KiB, 64 KiB, 1 MiB.
rs_www_fill() {
	local d=${1:?dir}/www
	mkdir -p "$d/chunked"
	echo "hello from ringsniff's test server" >"$d/index.html"
	head -c 1024 /dev/urandom | base64 >"$d/1k.txt"
	head -c 65536 /dev/urandom >"$d/64k.bin"
	head -c 1048576 /dev/urandom >"$d/1m.bin"
	echo "{}" >"$d/echo"
	cp "$d/1k.txt" "$d/chunked/page.txt"
}
