#!/usr/bin/env python3
"""pipeline_client.py HOST PORT N - send N pipelined GETs in one write (the
last with Connection: close) and read the responses until the server closes.
Prints the number of status lines received."""
import socket
import sys

host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
reqs = b""
for i in range(n):
    last = i == n - 1
    reqs += (f"GET /index.html?pipe={i} HTTP/1.1\r\nHost: {host}\r\n"
             f"User-Agent: pipeline-test\r\n"
             f"{'Connection: close' + chr(13) + chr(10) if last else ''}\r\n").encode()
s = socket.create_connection((host, port), timeout=5)
s.sendall(reqs)
data = b""
while True:
    chunk = s.recv(65536)
    if not chunk:
        break
    data += chunk
s.close()
print(data.count(b"HTTP/1.1 200"))
