#!/usr/bin/env python3
"""Hostile WAN input for the end-to-end tests: malformed NHRP and GRE from an unregistered address.

    hostile.py [--register PROTO] SRC TARGET...
        sends a bounded set of bad frames (a few hundred) to each TARGET over a raw GRE socket
        bound to SRC, and says what it sent; with --register also a well-formed Registration
        Request claiming the tunnel address PROTO for SRC (a hijack attempt)

Everything stays inside the lab's namespaces (documentation addresses).
"""
import random
import socket
import struct
import sys

GRE_NHRP = 0x2001
GRE_IPV4 = 0x0800
KEY = 42


def gre(protocol: int, payload: bytes, key=KEY) -> bytes:
    if key is None:
        return struct.pack("!HH", 0, protocol) + payload
    return struct.pack("!HHI", 0x2000, protocol, key) + payload


def nhrp_header(packet_type: int, length: int, checksum: int = 0) -> bytes:
    # RFC 2332 5.2.0.1 fixed header: afn, pro type, snap, hop, length, checksum, ext offset, version, type
    return struct.pack("!HH5sBHHHBBBB", 1, 0x0800, bytes(5), 255, length, checksum, 0, 1, packet_type, 4, 4)


def checksum(data: bytes) -> int:
    """RFC 1071 over the NHRP packet (RFC 2332 5.2.0.1 ar$chksum)."""
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def registration_request(nbma: str, protocol: str, nhs_protocol: str = "10.0.0.1") -> bytes:
    """RFC 2332 5.2.3: fixed header, mandatory part (U flag), one CIE for the host; no extensions."""
    mandatory = struct.pack("!BBHI", 4, 4, 0x8000, 4242) + socket.inet_aton(nbma) + socket.inet_aton(protocol) \
        + socket.inet_aton(nhs_protocol)
    cie = struct.pack("!BBHHHBBBB", 0, 32, 0, 1400, 7200, 0, 0, 0, 0)
    body = mandatory + cie
    length = 20 + len(body)
    header = struct.pack("!HH5sBHHHBBBB", 1, 0x0800, bytes(5), 255, length, 0, 0, 1, 3, 4, 0)
    packet = header + body
    return packet[:12] + struct.pack("!H", checksum(packet)) + packet[14:]  # ar$chksum at offset 12


def frames(rng: random.Random):
    out = []
    # NHRP: truncated, wrong version, absurd lengths, bad checksum, unknown type, random bytes.
    out.append(("nhrp truncated", gre(GRE_NHRP, nhrp_header(3, 20)[:10])))
    out.append(("nhrp length past the end", gre(GRE_NHRP, nhrp_header(3, 4000) + bytes(20))))
    out.append(("nhrp bad checksum", gre(GRE_NHRP, nhrp_header(3, 40, 0xBEEF) + bytes(20))))
    out.append(("nhrp unknown type", gre(GRE_NHRP, nhrp_header(99, 40) + bytes(20))))
    for i in range(100):
        out.append((f"nhrp random {i}", gre(GRE_NHRP, bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 120))))))
    # GRE: wrong key, no key, junk overlay frames, unknown protocol, bad flags.
    out.append(("gre wrong key", gre(GRE_NHRP, nhrp_header(3, 20), key=7)))
    out.append(("gre without key", gre(GRE_IPV4, bytes(20), key=None)))
    out.append(("gre unknown protocol", gre(0x86DD, bytes(40))))
    out.append(("gre version 1", struct.pack("!HH", 0x0001, GRE_NHRP) + bytes(20)))
    for i in range(100):
        out.append((f"overlay junk {i}", gre(GRE_IPV4, bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 80))))))
    # A well-formed overlay packet from nobody registered, to a spoke's LAN.
    inner = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 28, 1, 0, 64, 17, 0, socket.inet_aton("10.9.9.9"),
                        socket.inet_aton("10.1.2.10")) + bytes(8)
    out.append(("overlay from an unregistered address", gre(GRE_IPV4, inner)))
    return out


def main() -> int:
    args = sys.argv[1:]
    claim = None
    if args[:1] == ["--register"]:
        claim, args = args[1], args[2:]
    src, targets = args[0], args[1:]
    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_GRE)
    sock.bind((src, 0))
    rng = random.Random(2332)
    sent = 0
    for target in targets:
        for _, frame in frames(rng):
            sock.sendto(frame, (target, 0))
            sent += 1
        if claim is not None:
            sock.sendto(gre(GRE_NHRP, registration_request(src, claim)), (target, 0))
            sent += 1
    print(f"hostile: {sent} bad frames from {src} to {', '.join(targets)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
