#!/usr/bin/env python3
"""A voice-like UDP flow for the end-to-end tests.

    voice.py send DST PORT RATE SECONDS   RATE packets/s of 160-byte payloads (G.711, 20 ms), each with
                                          a sequence number; prints {"sent", "first_sent"} as JSON
    voice.py recv PORT SECONDS            prints {"received", "unique", "duplicates", "reordered"}

Packets are paced to absolute deadlines, so a late one does not shift the rest. DSCP EF (46), as
voice has: the spokes copy it to the outer header.
"""
import json
import socket
import struct
import sys
import time

PAYLOAD = 160
EF_TOS = 46 << 2


def send(dst: str, port: int, rate: float, seconds: float) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, EF_TOS)
    count = int(rate * seconds)
    interval = 1.0 / rate
    start = time.monotonic()
    first_sent = None
    for seq in range(count):
        deadline = start + seq * interval
        delay = deadline - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        if first_sent is None:
            first_sent = time.time()
        sock.sendto(struct.pack("!I", seq) + bytes(PAYLOAD - 4), (dst, port))
    print(json.dumps({"sent": count, "first_sent": first_sent}))


def recv(port: int, seconds: float) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("0.0.0.0", port))
    deadline = time.monotonic() + seconds
    seen = set()
    received = duplicates = reordered = 0
    highest = -1
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        sock.settimeout(left)
        try:
            data = sock.recv(2048)
        except socket.timeout:
            break
        seq = struct.unpack("!I", data[:4])[0]
        received += 1
        if seq in seen:
            duplicates += 1
            continue
        seen.add(seq)
        if seq < highest:
            reordered += 1
        highest = max(highest, seq)
    print(json.dumps({"received": received, "unique": len(seen), "duplicates": duplicates,
                      "reordered": reordered}))


if __name__ == "__main__":
    if sys.argv[1] == "send":
        send(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]))
    else:
        recv(int(sys.argv[2]), float(sys.argv[3]))
