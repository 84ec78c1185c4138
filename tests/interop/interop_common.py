"""Shared parts of the interop scenarios (tests/interop/*.py): arguments, checks, waits.

Each scenario is one script: it builds a lab (deploy/uml/lab.py), asserts on both sides'
state (FRR's `show ip nhrp ... json` from the guests, `advpnctl ... --json`, the advpnd hub's
SQLite file) and exits 0 only if every check held. Without root it fails (exit 1), never
passes.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "deploy", "uml"))

import lab as L  # noqa: E402  (deploy/uml/lab.py)


class CheckFailed(Exception):
    pass


ARGS: argparse.Namespace = argparse.Namespace(dialect="frr", suite=None)  # set by run()


def parse_args(description: str) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--advpnd", required=True)
    p.add_argument("--advpnctl", required=True)
    p.add_argument("--no-capture", action="store_true", help="do not tcpdump the lab bridge")
    p.add_argument("--suite", choices=["bookworm", "trixie"],
                   help="guest rootfs: bookworm (FRR 8.4) or trixie (FRR 10.3); default per scenario")
    p.add_argument("--dialect", choices=["frr", "cisco"], default="frr",
                   help="advpnd's dialect where the scenario lets it vary")
    args = p.parse_args()
    L.require_root()
    for path in (args.advpnd, args.advpnctl):
        if not os.access(path, os.X_OK):
            print(f"FAIL: {path} is not an executable", file=sys.stderr)
            sys.exit(1)
    return args


def check(condition, message: str, detail=None) -> None:
    if not condition:
        raise CheckFailed(message + (f"\n  detail: {detail}" if detail is not None else ""))
    L.log(f"ok: {message}")


def eventually(message: str, fn, timeout: float = 30, interval: float = 0.5):
    """Like check(), for state that converges: fn() must become truthy within timeout."""
    try:
        value = L.wait_until(message, fn, timeout, interval)
    except L.LabError as e:
        raise CheckFailed(str(e))
    L.log(f"ok: {message}")
    return value


def frr_entry(cache: list, protocol: str, types=None):
    """An entry of FRR's `show ip nhrp cache json` table for this protocol address."""
    for e in cache:
        if e.get("protocol") == protocol and (types is None or e.get("type") in types):
            return e
    return None


def registration(hub: L.Daemon, protocol: str):
    for r in hub.ctl("show", "registrations").get("registrations", []):
        if r.get("protocol") == protocol:
            return r
    return None


def shortcut_to(spoke: L.Daemon, peer_nbma: str, state: str = "active"):
    for s in spoke.ctl("show", "shortcuts").get("shortcuts", []):
        if s.get("peer_nbma") == peer_nbma and s.get("state") == state:
            return s
    return None


def hub_stats(hub: L.Daemon) -> dict:
    return hub.ctl("show", "stats")


def hairpins(hub: L.Daemon) -> int:
    return int(hub_stats(hub).get("dataplane", {}).get("hairpinned", 0))


def run(name: str, body, suite: str = "bookworm") -> None:
    """Run one scenario: prints timings, exits 0 on success, 1 on any failure."""
    global ARGS
    args = ARGS = parse_args(name)
    suite = args.suite or suite
    name = f"{name} (FRR from {suite}, advpnd dialect {args.dialect})"
    t0 = time.monotonic()
    # Below ctest's TIMEOUT (tests/interop/CMakeLists.txt), so the lab is always torn down.
    L.arm_deadline(int(os.environ.get("ADVPND_INTEROP_DEADLINE", "200")))
    try:
        with L.Lab(args.advpnd, args.advpnctl, capture=not args.no_capture, suite=suite) as lab:
            body(lab)
    except (CheckFailed, L.LabError, L.Deadline) as e:
        print(f"FAIL: {name}: {e}", file=sys.stderr)
        sys.exit(1)
    L.log(f"PASS: {name} in {time.monotonic() - t0:.1f}s wall")
