#!/usr/bin/env python3
"""gen_corpus.py - write the seed corpora in tests/fuzz/corpus/ (run by hand).

usage: gen_corpus.py FRAMES_DIR [CORPUS_DIR]
FRAMES_DIR holds the pcaps that tests/decode/dump_frames writes from the
decode test tables (good_lt*.pcap, bad_lt*.pcap).  They become pcapfile
seeds as they are, and every frame in them a decode seed.  Hand-built pcap
and pcapng variants (both byte orders, nanoseconds, old 2.2 records, every
pcapng block type, several interfaces and sections), TCP segment scripts
and HTTP conversations are added.  Only the standard library is used, so
the output is the same on every machine; the files are committed.
"""
import os
import shutil
import struct
import sys

# ---- frames ---------------------------------------------------------------

MAC_A = bytes.fromhex("020000000001")
MAC_B = bytes.fromhex("020000000002")
IP_C = bytes([198, 18, 0, 1])
IP_S = bytes([198, 18, 0, 2])


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ipv4(proto, payload, src=IP_C, dst=IP_S, ident=1):
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident,
                    0x4000, 64, proto, 0, src, dst)
    h = h[:10] + struct.pack("!H", csum(h)) + h[12:]
    return h + payload


def tcp(sport, dport, seq, ack, flags, payload=b"", opts=b""):
    doff = (20 + len(opts)) // 4
    return struct.pack("!HHIIBBHHH", sport, dport, seq, ack, doff << 4,
                       flags, 65535, 0, 0) + opts + payload


def eth(ethertype, payload, vlan=None):
    h = MAC_B + MAC_A
    if vlan is not None:
        h += struct.pack("!HH", 0x8100, vlan)
    return h + struct.pack("!H", ethertype) + payload


SYN, FIN, RST, PSH, ACK = 0x02, 0x01, 0x04, 0x08, 0x10
REQ = (b"GET /index.html?q=1 HTTP/1.1\r\nHost: 198.18.0.2\r\n"
       b"User-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n")
RESP = (b"HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Type: text/html\r\n"
        b"Content-Length: 5\r\n\r\nhello")


def http_conversation(cport=40000):
    """Ethernet frames of one whole HTTP/1.1 exchange (handshake to FIN)."""
    c, s = 1000, 5000
    mss = bytes([2, 4, 0x05, 0xb4, 1, 3, 3, 7, 4, 2, 0, 0])
    out = []

    def seg(to_srv, seq, ack, fl, pl=b"", opts=b""):
        if to_srv:
            t = tcp(cport, 80, seq, ack, fl, pl, opts)
            out.append(eth(0x0800, ipv4(6, t, IP_C, IP_S)))
        else:
            t = tcp(80, cport, seq, ack, fl, pl, opts)
            out.append(eth(0x0800, ipv4(6, t, IP_S, IP_C)))

    seg(1, c, 0, SYN, opts=mss)
    seg(0, s, c + 1, SYN | ACK, opts=mss)
    seg(1, c + 1, s + 1, ACK)
    seg(1, c + 1, s + 1, PSH | ACK, REQ)
    seg(0, s + 1, c + 1 + len(REQ), PSH | ACK, RESP)
    seg(1, c + 1 + len(REQ), s + 1 + len(RESP), FIN | ACK)
    seg(0, s + 1 + len(RESP), c + 2 + len(REQ), FIN | ACK)
    seg(1, c + 2 + len(REQ), s + 2 + len(RESP), ACK)
    return out

# ---- capture files ----------------------------------------------------------


def pcap(frames, linktype=1, be=False, ns=False, minor=4, snaplen=65535,
         cut=None):
    e = ">" if be else "<"
    magic = 0xA1B23C4D if ns else 0xA1B2C3D4
    b = struct.pack(e + "IHHiIII", magic, 2, minor, 0, 0, snaplen, linktype)
    for i, f in enumerate(frames):
        cap = f[:cut] if cut else f
        lens = (len(cap), len(f))
        if minor < 3:
            lens = lens[::-1]       # 2.2 and older stored them swapped
        b += struct.pack(e + "IIII", 1700000000 + i, 1000 * i, *lens) + cap
    return b


def pad4(b):
    return b + b"\0" * (-len(b) % 4)


def ng_block(e, btype, body):
    body = pad4(body)
    total = 12 + len(body)
    return struct.pack(e + "II", btype, total) + body + struct.pack(e + "I", total)


def ng_opt(e, code, val):
    return struct.pack(e + "HH", code, len(val)) + pad4(val)


def ng_shb(e, opts=b""):
    return ng_block(e, 0x0A0D0D0A,
                    struct.pack(e + "IHHq", 0x1A2B3C4D, 1, 0, -1) + opts)


def ng_idb(e, linktype, snaplen=0, tsresol=None, tsoff=None):
    opts = b""
    if tsresol is not None:
        opts += ng_opt(e, 9, bytes([tsresol]))
    if tsoff is not None:
        opts += ng_opt(e, 14, struct.pack(e + "q", tsoff))
    if opts:
        opts += ng_opt(e, 0, b"")
    return ng_block(e, 1, struct.pack(e + "HHI", linktype, 0, snaplen) + opts)


def ng_epb(e, ifid, ts, frame, wirelen=None, opts=b""):
    return ng_block(e, 6, struct.pack(e + "IIIII", ifid, ts >> 32,
                                      ts & 0xFFFFFFFF, len(frame),
                                      wirelen or len(frame))
                    + pad4(frame) + opts)


def ng_opb(e, ifid, ts, frame):
    return ng_block(e, 2, struct.pack(e + "HHIIII", ifid, 0, ts >> 32,
                                      ts & 0xFFFFFFFF, len(frame),
                                      len(frame)) + pad4(frame))


def ng_spb(e, frame):
    return ng_block(e, 3, struct.pack(e + "I", len(frame)) + pad4(frame))


def pcapng_files():
    conv = http_conversation()
    files = {}
    for name, e in (("le", "<"), ("be", ">")):
        b = ng_shb(e, ng_opt(e, 4, b"ringsniff fuzz seed") + ng_opt(e, 0, b""))
        b += ng_idb(e, 1, 262144, tsresol=9)
        b += ng_block(e, 4, struct.pack(e + "HH", 1, 8) + IP_S + b"srv\0"
                      + struct.pack(e + "HH", 0, 0))       # NRB
        for i, f in enumerate(conv):
            b += ng_epb(e, 0, 1700000000 * 10**9 + i * 1000, f,
                        opts=ng_opt(e, 1, b"c") + ng_opt(e, 0, b"") if i == 3 else b"")
        b += ng_block(e, 5, struct.pack(e + "III", 0, 0, 0))   # ISB
        files["ng_http_%s.pcapng" % name] = b
    # Several interfaces with their own link types and clocks, every packet
    # block kind, an unknown block, then a second section in the other order.
    e = "<"
    b = ng_shb(e)
    b += ng_idb(e, 1, 96, tsresol=6, tsoff=-5)
    b += ng_idb(e, 276, 0, tsresol=0x80 | 20)
    b += ng_idb(e, 101, 65535, tsresol=3)
    sll2 = struct.pack("!HHIHBB8s", 0x0800, 0, 2, 1, 4, 6, MAC_A + b"\0\0")
    b += ng_epb(e, 0, 12345, conv[3][:96], wirelen=len(conv[3]))
    b += ng_epb(e, 1, 1 << 40, sll2 + conv[4][14:])
    b += ng_epb(e, 2, 7, conv[0][14:])
    b += ng_spb(e, conv[1][:96])
    b += ng_opb(e, 0, 99, conv[2])
    b += ng_block(e, 0x40000BAD, b"custom block body")
    e = ">"
    b += ng_shb(e) + ng_idb(e, 113, 0)
    sll = struct.pack("!HHH8sH", 4, 1, 6, MAC_A + b"\0\0", 0x0800)
    b += ng_epb(e, 0, 1, sll + conv[5][14:])
    files["ng_multi.pcapng"] = b
    return files


def pcap_files():
    conv = http_conversation()
    vlan = [eth(0x0800, f[14:], vlan=7) for f in conv[:3]]
    return {
        "pcap_http_le_us.pcap": pcap(conv),
        "pcap_http_be_ns.pcap": pcap(conv, be=True, ns=True),
        "pcap_v22_swapped.pcap": pcap(conv[:4], minor=2),
        "pcap_snaplen_cut.pcap": pcap(conv, snaplen=64, cut=64),
        "pcap_vlan_fcsbits.pcap": pcap(vlan, linktype=1 | 0x10000000),
        "pcap_raw_ip.pcap": pcap([f[14:] for f in conv[:4]], linktype=101),
    }

# ---- decode seeds -----------------------------------------------------------

# fuzz_decode.c's link type table (control byte bits 0-3).
LT_INDEX = {1: 0, 0: 1, 12: 2, 14: 3, 101: 4, 108: 5, 113: 6, 228: 7,
            229: 8, 276: 9}


def read_pcap(b):
    """Yield (linktype, frame, wirelen) from a host-order classic pcap."""
    magic = struct.unpack("<I", b[:4])[0]
    e = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    lt = struct.unpack(e + "I", b[20:24])[0] & 0x03FFFFFF
    off = 24
    while off + 16 <= len(b):
        _, _, cap, wire = struct.unpack(e + "IIII", b[off:off + 16])
        yield lt, b[off + 16:off + 16 + cap], wire
        off += 16 + cap


def decode_seed(lt, frame, wire=None, vlan=None, outgoing=False):
    ctl = LT_INDEX.get(lt, 10)
    if wire is not None and wire > len(frame):
        ctl |= 0x40                 # wirelen = caplen + 1000
    if outgoing:
        ctl |= 0x20
    pre = b""
    if vlan is not None:
        ctl |= 0x10
        pre = struct.pack("!H", vlan)
    return bytes([ctl]) + pre + frame

# ---- TCP segment scripts (fuzz_stream.c format) -----------------------------

S, A, F, R, P = 0x01, 0x02, 0x04, 0x08, 0x10   # fuzz_stream.c flag bits


def stream_seg(dir_, delta, flags, payload=b"", conn=0, extra=0,
               pattern_len=None):
    """One segment: dir/flags/conn byte, extra byte (snaplen cut, fragment,
    acks, clock jump), seq delta from the highest sent (int16 BE), length
    (u16 BE), payload (none in pattern mode: give pattern_len)."""
    n = len(payload) if pattern_len is None else pattern_len
    return struct.pack("!BBhH", (dir_ & 1) | (flags << 1) | (conn << 6),
                       extra, delta, n) + payload


def stream_scripts():
    req, resp = REQ, RESP
    pipelined = REQ + b"GET /b HTTP/1.1\r\nHost: x\r\n\r\n"
    chunked = (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
               b"5\r\nhello\r\n0\r\n\r\n")
    post = (b"POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nabcd")
    hs = (stream_seg(0, 0, S) + stream_seg(1, 0, S | A) + stream_seg(0, 0, A))
    out = {}
    out["stream_http.bin"] = b"\x00" + (
        hs + stream_seg(0, 0, A | P, req) + stream_seg(1, 0, A | P, resp)
        + stream_seg(0, 0, F | A) + stream_seg(1, 0, F | A)
        + stream_seg(0, 0, A))
    # Out of order, a retransmission with other bytes, a hole the ACK gives
    # up on, then RST; client ISN about to wrap.
    out["stream_ooo.bin"] = b"\x01" + (
        hs + stream_seg(0, 20, A, req[20:])
        + stream_seg(0, -len(req), A, req[:20])
        + stream_seg(0, -len(req), A, b"XXXX")
        + stream_seg(1, 0, A, resp[:30])
        + stream_seg(1, 10, A, resp[40:])
        + stream_seg(0, 0, A, extra=0x04)
        + stream_seg(1, 100, R))
    out["stream_midstream.bin"] = b"\x00" + (
        stream_seg(0, 0, A | P, pipelined) + stream_seg(1, 0, A | P, chunked)
        + stream_seg(1, 0, A, resp, extra=0x01)
        + stream_seg(0, 0, A, extra=0xE0))
    out["stream_post_v6.bin"] = b"\x80" + (
        hs + stream_seg(0, 0, A, post[:10]) + stream_seg(0, 0, A, post[10:])
        + stream_seg(1, 0, A, resp) + stream_seg(0, 0, A, extra=0x02))
    # Two connections, max_flows 1, tiny buffers; then a timeout and reuse.
    out["stream_two_conns.bin"] = b"\x60" + (
        hs + stream_seg(0, 0, S, conn=1) + stream_seg(0, 0, A, req[:10])
        + stream_seg(0, 600, A, b"y" * 600, conn=1)
        + stream_seg(0, 0, A, req[10:], extra=0xF0)
        + stream_seg(0, 0, S, conn=1))
    # Pattern mode: payload bytes are the sequence numbers' low bytes.
    out["stream_pattern.bin"] = b"\x15" + (
        hs + stream_seg(0, 0, A, pattern_len=100)
        + stream_seg(0, 50, A, pattern_len=80)
        + stream_seg(0, -300, A, pattern_len=200)
        + stream_seg(1, 0, A, pattern_len=1000, extra=0x01)
        + stream_seg(1, 30, A | F, pattern_len=10)
        + stream_seg(0, 0, A | F, pattern_len=0))
    return out

# ---- HTTP conversations (fuzz_http.c format) --------------------------------


def http_msg(ops, midstream=False, keep=0):
    """ops: (kind, bytes) with kind 0/1 data to dir 0/1, 2/3 a gap of
    len(bytes) in dir 0/1, 4/5 eof of dir 0/1, 6 a new connection.  After a
    config byte (bit 0: midstream), each op is a byte (kind in bits 0-2,
    bits 3-7 how data is cut) and a 16-bit big-endian length."""
    b = bytes([(1 if midstream else 0) | keep << 1])
    for kind, data in ops:
        if kind & 7 in (2, 3):
            b += struct.pack("!BH", kind, len(data))
        elif kind & 7 in (4, 5, 6):
            b += struct.pack("!BH", kind, 0)
        else:
            b += struct.pack("!BH", kind, len(data)) + data
    return b


def http_seeds():
    chunked = (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
               b"4;ext=1\r\nwiki\r\n5\r\npedia\r\n0\r\nTrailer: x\r\n\r\n")
    smuggle = (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n"
               b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
    upgrade = (b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
               b"Connection: Upgrade\r\n\r\n")
    h10 = b"GET / HTTP/1.0\r\n\r\n"
    resp10 = b"HTTP/1.0 200 OK\r\nServer: x\r\n\r\nbody until close"
    head = b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\n"
    resp304 = b"HTTP/1.1 304 Not Modified\r\nETag: \"1\"\r\n\r\n"
    cont = (b"HTTP/1.1 100 Continue\r\n\r\n" + RESP)
    folded = (b"GET /f HTTP/1.1\r\nHost: a\r\nX-Long: one\r\n two\r\n"
              b"Host: b\r\n\r\n")
    return {
        "http_simple.bin": http_msg([(0, REQ), (1, RESP), (4, b""), (5, b"")]),
        "http_split.bin": http_msg([(0, REQ[:7]), (0, REQ[7:30]), (0, REQ[30:]),
                                    (1, RESP[:17]), (1, RESP[17:])]),
        "http_chunked.bin": http_msg([(0, REQ), (1, chunked)]),
        "http_pipelined.bin": http_msg([(0, REQ + head + REQ),
                                        (1, RESP + resp304 + RESP)]),
        "http_gap.bin": http_msg([(0, REQ[:10]), (2, b"x" * 20), (0, REQ),
                                  (1, RESP[:20]), (3, b"y" * 5),
                                  (1, RESP)]),
        "http_smuggle.bin": http_msg([(0, smuggle), (1, RESP)]),
        "http_upgrade.bin": http_msg([(0, upgrade),
                                      (1, b"HTTP/1.1 101 Switching Protocols\r\n"
                                          b"Upgrade: websocket\r\n\r\n\x81\x00")]),
        "http_10_close.bin": http_msg([(0, h10), (1, resp10), (5, b"")]),
        "http_continue.bin": http_msg([(0, b"POST /p HTTP/1.1\r\nExpect: "
                                          b"100-continue\r\nContent-Length: 2"
                                          b"\r\n\r\n"), (1, cont[:25]),
                                       (0, b"ok"), (1, cont[25:])]),
        "http_folded.bin": http_msg([(0, folded), (1, RESP)]),
        "http_midstream.bin": http_msg([(1, RESP), (0, REQ), (1, RESP)],
                                       midstream=True),
        "http_cut.bin": http_msg([(0 | 5 << 3, REQ + head), (7, RESP),
                                  (1 | 17 << 3, resp304 * 3)]),
        "http_bodies.bin": http_msg([(0, b"POST /a HTTP/1.1\r\nContent-Length: 20"
                                         b"\r\n\r\n" + b"b" * 20 + smuggle),
                                     (0, b"POST /c HTTP/1.1\r\nTransfer-Encoding:"
                                         b" chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"),
                                     (1, RESP * 3)], keep=1),
        "http_two_conns.bin": http_msg([(0, REQ), (6, b""), (0, REQ),
                                        (1, RESP)]),
        "http_not_http.bin": http_msg([(0, b"\x16\x03\x01\x02\x00\x01\x00"),
                                       (1, b"\x16\x03\x03")]),
    }

# ---- main -------------------------------------------------------------------


def write(d, name, data):
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    frames_dir = sys.argv[1]
    out = sys.argv[2] if len(sys.argv) > 2 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "corpus")
    for sub in ("pcapfile", "decode", "stream", "http"):
        shutil.rmtree(os.path.join(out, sub), ignore_errors=True)
    pc, dc = os.path.join(out, "pcapfile"), os.path.join(out, "decode")
    n = 0
    for fn in sorted(os.listdir(frames_dir)):
        if not fn.endswith(".pcap"):
            continue
        with open(os.path.join(frames_dir, fn), "rb") as f:
            b = f.read()
        write(pc, "tables_" + fn, b)
        for i, (lt, frame, wire) in enumerate(read_pcap(b)):
            write(dc, "%s_%03d" % (fn[:-5], i), decode_seed(lt, frame, wire))
            n += 1
    for name, b in {**pcap_files(), **pcapng_files()}.items():
        write(pc, name, b)
    conv = http_conversation()
    extra = [decode_seed(1, conv[3], vlan=0x3007),
             decode_seed(1, eth(0x0800, conv[3][14:], vlan=9), vlan=300,
                         outgoing=True),
             decode_seed(1, conv[4], outgoing=True),
             decode_seed(105, conv[0])]
    for i, b in enumerate(extra):
        write(dc, "meta_%d" % i, b)
    for name, b in stream_scripts().items():
        write(os.path.join(out, "stream"), name, b)
    for name, b in http_seeds().items():
        write(os.path.join(out, "http"), name, b)
    print("decode seeds from tables: %d" % n)


if __name__ == "__main__":
    main()
