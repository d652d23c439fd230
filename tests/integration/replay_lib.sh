# replay_lib.sh - helpers for the --replay tests.  Source after
# tests/lib/netns.sh and rs_net_up.
#
#   rp_nginx_start DIR   nginx in the server namespace: RS_IP_SRV:80 (the
#                        origin, log DIR/orig.log) and RS_IP_SRV:8080 (the
#                        replay target, log DIR/replay.log), same content;
#                        /echo is proxied to a sink on :8081 so that nginx
#                        reads request bodies whole and can log them.
#   rp_traffic DIR       real clients in the client namespace: curl, ab,
#                        python's http.client on keep-alive connections.
#   rp_compare DIR       the two logs hold the same requests (method, URI,
#                        status, body), as multisets, minus /echo?toobig.
#   rp_order DIR         per client connection of the ordered part, the
#                        replayed requests came in order on one connection.

rp_nginx_start() {
	local d=${1:?dir}
	mkdir -p "$d/www/chunked"
	echo "hello from the replay test" >"$d/www/index.html"
	head -c 1024 /dev/urandom | base64 >"$d/www/1k.txt"
	head -c 65536 /dev/urandom >"$d/www/64k.bin"
	cp "$d/www/1k.txt" "$d/www/chunked/page.txt"
	echo seq >"$d/www/seq"
	# One line per request; the body last (nginx escapes it: \xHH).
	local site="
		root $d/www;
		location /echo {
			client_max_body_size 10m;
			client_body_buffer_size 1m;
			client_body_in_single_buffer on;
			proxy_pass http://$RS_IP_SRV:8081;
		}
		location /chunked { gzip on; gzip_types *; gzip_min_length 0; }"
	rs_nginx_conf "$d" "	log_format rp '\$connection|\$connection_requests|\$host|\$request_method|\$request_uri|\$status|\$request_body';
	keepalive_timeout 300s;
	server { listen $RS_IP_SRV:80; access_log $d/orig.log rp; $site }
	server { listen $RS_IP_SRV:8080; access_log $d/replay.log rp; $site }
	server { listen $RS_IP_SRV:8081; access_log off; location / { return 200 \"ok\\n\"; } }"
	rs_nginx_run "$d"
	local i
	for ((i = 0; i < 50; i++)); do
		rs_in_cli curl -s -o /dev/null -m 1 "http://$RS_IP_SRV/" &&
			rs_in_cli curl -s -o /dev/null -m 1 "http://$RS_IP_SRV:8080/" && break
		sleep 0.1
	done
	# nginx logs a request after sending its response: wait for the
	# probes' lines, or one could land after the truncation.
	for ((i = 0; i < 100; i++)); do
		[ -s "$d/orig.log" ] && [ -s "$d/replay.log" ] && break
		sleep 0.02
	done
	: >"$d/orig.log"
	: >"$d/replay.log"
}

# Keep-alive connections with ordered requests: C connections at once, N
# requests each, GETs and POSTs with bodies of growing length (python's
# http.client: one request at a time per connection, like a browser).
rp_write_ordered_client() {  # path
	cat >"$1" <<'PY'
import http.client, sys, threading
host, port, conns, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
def run(c):
    h = http.client.HTTPConnection(host, port, timeout=10)
    for i in range(n):
        if i % 3 == 2:
            h.request("POST", "/echo?c=%d&i=%d" % (c, i), body=("b%d-" % c) * (i * 40 + 1),
                      headers={"Content-Type": "text/plain"})
        else:
            h.request("GET", "/seq?c=%d&i=%d" % (c, i))
        h.getresponse().read()
    h.close()
ts = [threading.Thread(target=run, args=(c,)) for c in range(conns)]
for t in ts: t.start()
for t in ts: t.join()
PY
}

rp_traffic() {
	local d=${1:?dir} u="http://$RS_IP_SRV"
	head -c 15000 /dev/urandom | base64 >"$d/body.txt"
	head -c 200000 /dev/urandom | base64 >"$d/toobig.txt"
	rs_in_cli curl -s -o /dev/null -o /dev/null -o /dev/null \
		"$u/index.html" "$u/1k.txt?a=1&b=%20x" "$u/64k.bin"
	rs_in_cli curl -s -o /dev/null -I "$u/1k.txt?head=1"
	rs_in_cli curl -s -o /dev/null -d "field=value&other=1" "$u/echo?form=1"
	rs_in_cli curl -s -o /dev/null --data-binary "@$d/body.txt" "$u/echo?big=1"
	rs_in_cli curl -s -o /dev/null -H "Transfer-Encoding: chunked" \
		--data-binary "@$d/body.txt" "$u/echo?chunked-request=1"
	rs_in_cli curl -s -o /dev/null -H "Expect: 100-continue" \
		--data-binary "@$d/body.txt" "$u/echo?expect=1"
	rs_in_cli curl -s -o /dev/null --data-binary "@$d/toobig.txt" "$u/echo?toobig=1"
	rs_in_cli curl -s -o /dev/null --compressed "$u/chunked/page.txt"
	rs_in_cli curl -s -o /dev/null "$u/missing-page"
	rs_in_cli curl -s -o /dev/null -H "Host: other.example" "$u/index.html?vhost=1"
	rs_in_cli ab -q -k -n 60 -c 3 "$u/1k.txt?ab=keepalive" >/dev/null
	rs_in_cli ab -q -n 20 -c 2 -p "$d/body.txt" -T text/plain "$u/echo?ab=post" >/dev/null
	rp_write_ordered_client "$d/ordered.py"
	rs_in_cli timeout 60 python3 "$d/ordered.py" "$RS_IP_SRV" 80 4 12
}

# Same requests in both logs (minus the body too big to replay).  Extra
# arguments: python assertions on the replay log's rows (list r).
rp_compare() {  # dir [expected host]
	python3 - "$1/orig.log" "$1/replay.log" "${2:-}" <<'PY'
import collections, sys
def rows(p):
    out = []
    for line in open(p, encoding="latin-1"):
        f = line.rstrip("\n").split("|", 6)
        out.append(dict(conn=f[0], host=f[2], method=f[3], uri=f[4], status=f[5], body=f[6]))
    return out
o, r = rows(sys.argv[1]), rows(sys.argv[2])
want_host = sys.argv[3]
key = lambda x: (x["method"], x["uri"], x["status"], x["body"])
exp = collections.Counter(key(x) for x in o if "toobig" not in x["uri"])
got = collections.Counter(key(x) for x in r)
print("origin %d requests (%d replayable), replay target %d" % (len(o), sum(exp.values()), len(r)))
bad = False
for k in (exp - got):
    print("missing in the replay: %s %s %s body %d bytes" % (k[0], k[1], k[2], len(k[3]))); bad = True
for k in (got - exp):
    print("extra in the replay: %s %s %s body %d bytes" % (k[0], k[1], k[2], len(k[3]))); bad = True
assert any("toobig" in x["uri"] for x in o), "no toobig request in the origin log"
assert sum(1 for x in o if x["body"] not in ("-", "")) >= 20, "too few bodies"
if want_host:
    wrong = [x["host"] for x in r if x["host"] != want_host]
    if wrong: print("hosts not rewritten:", wrong[:5]); bad = True
else:
    oh = collections.Counter((x["uri"], x["host"]) for x in o if "toobig" not in x["uri"])
    rh = collections.Counter((x["uri"], x["host"]) for x in r)
    if oh != rh: print("hosts differ:", list((oh - rh).items())[:5]); bad = True
sys.exit(1 if bad else 0)
PY
}

# The ordered client's requests: per client connection, in order, and all on
# one connection of the target.
rp_order() {  # dir
	python3 - "$1/replay.log" <<'PY'
import re, sys
seen = {}
for line in open(sys.argv[1], encoding="latin-1"):
    f = line.split("|", 6)
    m = re.search(r"[?&]c=(\d+)&i=(\d+)$", f[4])
    if not m: continue
    c, i = int(m.group(1)), int(m.group(2))
    s = seen.setdefault(c, {"next": 0, "conns": set()})
    assert i == s["next"], "client connection %d: request %d came before %d" % (c, i, s["next"])
    s["next"] += 1
    s["conns"].add(f[0])
assert len(seen) == 4, seen.keys()
for c, s in seen.items():
    assert s["next"] == 12, (c, s["next"])
    assert len(s["conns"]) == 1, "client connection %d spread over %s" % (c, s["conns"])
print("order: 4 client connections, 12 requests each, in order, one target connection each")
PY
}

# Summary checks: every transaction accounted for once.
rp_summary() {  # json [python assertions on dict s]
	python3 - "$@" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
ans = sum(s["replay_%dxx" % c] for c in range(1, 6))
assert s["replay_requests"] == s["http_transactions"], (s["replay_requests"], s["http_transactions"])
assert s["replay_requests"] == s["replay_sampled_out"] + s["replay_skipped"] + \
    s["replay_dropped"] + ans + s["replay_failed"], s
assert s["replay_failed"] == s["replay_failed_connect"] + s["replay_failed_reset"] + \
    s["replay_failed_timeout"] + s["replay_failed_protocol"], s
for k in ("replay_latency_ms_mean", "replay_latency_ms_p50", "replay_latency_ms_p99", "replay_latency_ms_max"):
    assert k in s, k
for expr in sys.argv[2:]:
    assert eval(expr, {}, {"s": s, "ans": ans}), "failed: %s  (%s)" % (expr, {k: v for k, v in s.items() if k.startswith("replay")})
print("summary: %d requests, %d answered, %d failed, %d dropped, %d skipped; latency p50 %.2f ms p99 %.2f ms" % (
    s["replay_requests"], ans, s["replay_failed"], s["replay_dropped"], s["replay_skipped"],
    s["replay_latency_ms_p50"], s["replay_latency_ms_p99"]))
PY
}
