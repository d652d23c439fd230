#!/usr/bin/env python3
"""bad_inputs_gen.py - write every bad input of tests/integration/bad_inputs.sh into DIR.

Capture files are built byte by byte with struct (classic pcap, pcapng), so
each damage sits at a known offset.  Traffic inside the files is Ethernet /
IPv4 / TCP between 198.18.0.2 (client) and 198.18.0.1:80 (test addresses).
"""
import struct
import sys

SRV, CLI = bytes([198, 18, 0, 1]), bytes([198, 18, 0, 2])


def pcap_header(snaplen=262144, linktype=1):
    return struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, snaplen, linktype)


def pcap_record(frame, ts=1700000000, caplen=None, wirelen=None):
    caplen = len(frame) if caplen is None else caplen
    wirelen = len(frame) if wirelen is None else wirelen
    return struct.pack("<IIII", ts, 0, caplen, wirelen) + frame


def tcp_frame(src, dst, sport, dport, seq, ack, flags, payload=b""):
    tcp = struct.pack(">HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags,
                      65535, 0, 0)
    ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp) + len(payload),
                     1, 0x4000, 64, 6, 0, src, dst)
    eth = b"\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02\x08\x00"
    return eth + ip + tcp + payload


SYN, ACK, PSHACK, FINACK = 0x02, 0x10, 0x18, 0x11


def conversation(request, response, cport=40000):
    """One TCP connection as frames: handshake, request, response, FINs."""
    c, s = 1000, 5000
    out = [tcp_frame(CLI, SRV, cport, 80, c, 0, SYN),
           tcp_frame(SRV, CLI, 80, cport, s, c + 1, SYN | ACK)]
    c, s = c + 1, s + 1
    out.append(tcp_frame(CLI, SRV, cport, 80, c, s, ACK))
    for i in range(0, len(request), 1400):
        part = request[i:i + 1400]
        out.append(tcp_frame(CLI, SRV, cport, 80, c, s, PSHACK, part))
        c += len(part)
    for i in range(0, len(response), 1400):
        part = response[i:i + 1400]
        out.append(tcp_frame(SRV, CLI, 80, cport, s, c, PSHACK, part))
        s += len(part)
    out += [tcp_frame(CLI, SRV, cport, 80, c, s, FINACK),
            tcp_frame(SRV, CLI, 80, cport, s, c + 1, FINACK),
            tcp_frame(CLI, SRV, cport, 80, c + 1, s + 1, ACK)]
    return out


def pcap_of(frames):
    return pcap_header() + b"".join(pcap_record(f, 1700000000 + i // 1000)
                                    for i, f in enumerate(frames))


OK_RESP = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


def ng_block(btype, body, trailer_len=None):
    body += b"\0" * (-len(body) % 4)
    total = 12 + len(body)
    return struct.pack("<II", btype, total) + body + \
        struct.pack("<I", total if trailer_len is None else trailer_len)


def ng_shb():
    return ng_block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))


def ng_idb(linktype=1, snaplen=262144):
    return ng_block(1, struct.pack("<HHI", linktype, 0, snaplen))


def ng_epb(frame, ts_us=1700000000 * 1000000):
    return ng_block(6, struct.pack("<IIIII", 0, ts_us >> 32, ts_us & 0xFFFFFFFF,
                                   len(frame), len(frame)) + frame)


def main():
    d = sys.argv[1]
    good = conversation(b"GET /good HTTP/1.1\r\nHost: t\r\n\r\n", OK_RESP)

    def w(name, data):
        with open(f"{d}/{name}", "wb") as f:
            f.write(data)

    w("not_capture.txt", b"this is a text file, not a capture\n" * 10)
    w("empty.pcap", b"")
    w("short_header.pcap", pcap_header()[:10])
    # A good file whose last record is cut in its data (5 whole frames first).
    full = pcap_of(good[:6])
    w("truncated_record.pcap", full[:-20])
    # Record header claims more than the snaplen, and more than 256 KiB.
    w("caplen_snaplen.pcap", pcap_header(snaplen=64) + pcap_record(good[0]) +
      pcap_record(good[3] + b"\0" * 100))
    w("caplen_huge.pcap", pcap_header() + pcap_record(good[0]) +
      struct.pack("<IIII", 1700000000, 0, 300000, 300000) + b"\0" * 300000)
    # pcapng: an EPB whose trailing length disagrees with its leading one.
    w("ng_len_mismatch.pcapng", ng_shb() + ng_idb() + ng_epb(good[0]) +
      ng_block(6, struct.pack("<IIIII", 0, 0, 0, len(good[1]), len(good[1])) +
               good[1], trailer_len=999))
    # pcapng: a block type nobody knows (0x0BADB10C) between packets: skipped.
    w("ng_unknown_block.pcapng", ng_shb() + ng_idb() + ng_epb(good[0]) +
      ng_block(0x0BADB10C, b"opaque vendor data") +
      b"".join(ng_epb(f) for f in good[1:]))
    # Damaged packets inside a good file: a 10-byte frame (ETH_TRUNC), an IPv4
    # header with IHL 3 (IPV4_HLEN), a TCP data offset of 2 (TCP_HLEN).
    bad_ihl = bytearray(good[0]); bad_ihl[14] = 0x43
    bad_doff = bytearray(good[0]); bad_doff[14 + 20 + 12] = 2 << 4
    w("damaged_packets.pcap", pcap_of(good[:3] + [good[0][:10], bytes(bad_ihl),
                                                  bytes(bad_doff)] + good[3:]))
    w("good.pcap", pcap_of(good))
    # A big good file for the full-disk case (-w into 64 KiB).
    w("big.pcap", pcap_of(conversation(b"GET /big HTTP/1.1\r\nHost: t\r\n\r\n",
                                       b"HTTP/1.1 200 OK\r\nContent-Length: 200000\r\n\r\n" +
                                       b"x" * 200000)))
    # Not HTTP on port 80: an SSH banner exchange.
    w("not_http_80.pcap", pcap_of(conversation(
        b"SSH-2.0-OpenSSH_9.2\r\n" + bytes(range(256)) * 40,
        b"SSH-2.0-OpenSSH_9.2\r\n" + bytes(range(256)) * 4)))
    # Smuggling: Content-Length and Transfer-Encoding together, then two
    # Content-Lengths that disagree.
    w("smuggling.pcap", pcap_of(
        conversation(b"POST /a HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n"
                     b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", OK_RESP, 40001) +
        conversation(b"POST /b HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n"
                     b"Content-Length: 7\r\n\r\nabcdefg", OK_RESP, 40002)))
    # Huge head: a 4 KiB URI and 256 KiB of header lines.
    hdrs = b"".join(b"X-Pad-%05d: %s\r\n" % (i, b"v" * 100) for i in range(2400))
    w("huge_headers.pcap", pcap_of(conversation(
        b"GET /" + b"u" * 4096 + b" HTTP/1.1\r\nHost: t\r\n" + hdrs + b"\r\n",
        OK_RESP)))
    # Broken UTF-8 in the URI and Host: lone continuation byte, truncated
    # sequence, overlong encoding, a surrogate, a NUL-free control byte.
    w("bad_utf8.pcap", pcap_of(conversation(
        b"GET /caf\xc3\xa9/\x80/\xe2\x82/\xc0\xaf/\xed\xa0\x80/\x01\x7f HTTP/1.1\r\n"
        b"Host: h\xff\xfe\r\nUser-Agent: \"q\\\r\n\r\n", OK_RESP)))


if __name__ == "__main__":
    main()
