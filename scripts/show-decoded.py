#!/usr/bin/env python3
"""Prints `advpnd decode` JSON lines (stdin) as one readable line per packet."""
import json
import sys

for line in sys.stdin:
    p = json.loads(line)
    if "error" in p:
        print(f"frame {p['frame']:>2}  ERROR {p['error']}")
        continue
    extra = ""
    if p.get("cies"):
        c = p["cies"][0]
        extra = (f"cie code {c['code']} {c['proto'] or '-'}/{c['prefix_len']} "
                 f"nbma {c['nbma'] or '-'} hold {c['holding_time']}")
    if "inner_dst" in p:
        extra = f"about {p['inner_src']} -> {p['inner_dst']}"
    if p["type"] == "error-indication":
        extra = f"error code {p.get('error_code')} at offset {p.get('error_offset')}"
    print(f"frame {p['frame']:>2}  {p['type']:<21} {p['src_proto']:>9} -> {p['dst_proto']:<13} "
          f"hop {p['hop_count']:>3}  checksum {'ok' if p['checksum_ok'] else 'BAD'}  "
          f"round-trip {'ok' if p['roundtrip'] else 'DIFFERS'}  {extra}")
