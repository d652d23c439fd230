#!/usr/bin/python3
"""seed_sniffer.py - the "tcpdump + Python/dpkt" baseline ringsniff replaces.

Written after the blog post in /work/shared/seed-python-sniffer.txt (2015):
frames are parsed with dpkt.ethernet.Ethernet, client payload to port 80 is
appended to a buffer keyed by "srcip:srcport", and when the client sends a
segment without payload (its ACK of the response, or its FIN) the buffer is
parsed with dpkt.http.Request and dropped.  Two sources:

  seed_sniffer.py -i IF        a plain AF_PACKET socket (SOCK_RAW, ETH_P_ALL)
                               bound to IF, with the kernel's default receive
                               buffer, until SIGINT/SIGTERM; kernel drops from
                               getsockopt(SOL_PACKET, PACKET_STATISTICS)
  seed_sniffer.py -r FILE      a pcap file, read the way the blog's Writer does
                               (whole file in memory, 24-byte file header,
                               16-byte record headers unpacked with struct)

At exit it prints one JSON object on stderr (or --stats-json PATH):
received, bytes, kernel_packets, kernel_drops, http_requests.

Differences from the blog, all in its favour: Python 3; every request in a
buffer is counted (the blog parses only the first, so keep-alive requests
whose ACKs ride on the next request would be lost), each request parsed
from its own slice, and buffers are bytearrays (the blog's `+=` on a string
and re-parsing the rest of the buffer per request are quadratic: a client
that never sends a bare ACK grows one buffer for the whole connection);
buffers still open at exit are parsed; the record length is the captured
length (the blog reads the original length, wrong for truncated frames);
--server IP restricts to one server address like the blog's local_address
check (default: any).
"""
import argparse
import json
import re
import signal
import socket
import struct
import sys

import dpkt

ETH_P_ALL = 0x0003
SOL_PACKET = 263
PACKET_STATISTICS = 6
CONTENT_LENGTH = re.compile(rb"\r\ncontent-length:[ \t]*([0-9]+)", re.I)
TRANSFER_ENCODING = re.compile(rb"\r\ntransfer-encoding:", re.I)


class Stop(BaseException):
    """Raised by the signal handler; not an Exception, so that no
    `except Exception` inside dpkt swallows it."""


class Seed:
    def __init__(self, port, server):
        self.port = port
        self.server = socket.inet_aton(server) if server else None
        self.memcache = {}
        self.requests = 0
        self.packets = 0
        self.bytes = 0
        self.errors = 0

    def parse(self, data):
        # The blog: dpkt.http.Request(memcache[key]["data"]); here every
        # request in the buffer, each given to dpkt as its own slice (the
        # header block, plus Content-Length bytes of body) so that the
        # buffer is copied once, not once per request.
        off, n = 0, len(data)
        while off < n:
            hend = data.find(b"\r\n\r\n", off)
            if hend < 0:
                return
            hend += 4
            head = data[off:hend]
            if TRANSFER_ENCODING.search(head):
                window = bytes(data[off:])      # chunked: dpkt finds the end
            else:
                m = CONTENT_LENGTH.search(head)
                end = hend + (int(m.group(1)) if m else 0)
                if end > n:
                    return
                window = bytes(data[off:end])
            try:
                req = dpkt.http.Request(window)
            except (dpkt.NeedData, dpkt.UnpackError, ValueError):
                return
            self.requests += 1
            off += len(window) - len(req.data)

    def worker(self, packet):
        self.packets += 1
        self.bytes += len(packet)
        try:
            p = dpkt.ethernet.Ethernet(packet)
            if p.data.__class__.__name__ != "IP":
                return
            ip = p.data
            if ip.data.__class__.__name__ != "TCP":
                return
            tcp = ip.data
            if tcp.dport != self.port:
                return
            if self.server is not None and ip.dst != self.server:
                return
            # As the blog: "%d.%d.%d.%d" % tuple(...) + ":" + str(port).
            key = "%d.%d.%d.%d" % tuple(ip.src) + ":" + str(tcp.sport)
            if tcp.data:
                if key not in self.memcache:
                    self.memcache[key] = {}
                entry = self.memcache[key]
                if "response" not in entry:
                    entry["response"] = None
                if "data" in entry:
                    entry["data"] += tcp.data
                else:
                    entry["data"] = bytearray(tcp.data)
            elif key in self.memcache:
                self.parse(self.memcache[key].get("data", b""))
                self.memcache.pop(key)
        except (dpkt.UnpackError, dpkt.NeedData, IndexError, ValueError,
                struct.error):
            self.errors += 1

    def flush(self):
        for entry in self.memcache.values():
            self.parse(entry.get("data", b""))
        self.memcache.clear()


def read_file(seed, path):
    # The blog's Writer.run(): f.read() the whole file, offset 24, records.
    with open(path, "rb") as f:
        readlines = f.read()
    magic = readlines[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        endian = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        endian = ">"
    else:
        sys.exit("seed_sniffer: %s: not a pcap file (pcapng is not read)" % path)
    rec = struct.Struct(endian + "I")
    offset = 24
    n = len(readlines)
    while n > offset + 16:
        length = rec.unpack_from(readlines, offset + 8)[0]
        seed.worker(readlines[offset + 16:offset + 16 + length])
        offset += length + 16


def live(seed, ifname):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.ntohs(ETH_P_ALL))
    s.bind((ifname, ETH_P_ALL))

    def stop(signum, frame):
        raise Stop()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    print("seed_sniffer: listening on %s (rcvbuf %d bytes)" %
          (ifname, s.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)),
          file=sys.stderr, flush=True)
    try:
        while True:
            seed.worker(s.recv(65535))
    except Stop:
        pass
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    # tp_packets counts every frame the socket was offered, drops included.
    tp_packets, tp_drops = struct.unpack(
        "II", s.getsockopt(SOL_PACKET, PACKET_STATISTICS, 8))
    s.close()
    return tp_packets, tp_drops


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("-i", dest="ifname")
    src.add_argument("-r", dest="path")
    ap.add_argument("--port", type=int, default=80)
    ap.add_argument("--server", default=None)
    ap.add_argument("--stats-json", default=None)
    a = ap.parse_args()
    seed = Seed(a.port, a.server)
    kp = kd = None
    if a.path:
        read_file(seed, a.path)
    else:
        kp, kd = live(seed, a.ifname)
    seed.flush()
    out = {"received": seed.packets, "bytes": seed.bytes,
           "kernel_packets": kp, "kernel_drops": kd,
           "http_requests": seed.requests, "parse_errors": seed.errors}
    line = json.dumps(out)
    if a.stats_json:
        with open(a.stats_json, "w") as f:
            f.write(line + "\n")
    print(line, file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
