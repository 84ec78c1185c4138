#!/usr/bin/env python3
"""Shortcut set-up time with real charon, in the namespace lab (issue #4's figure).

    sudo bench/lab-setup-time.py [--bin build/default/app] [--runs 10] [--provider strongswan|none]

Each run starts on the hub path (no shortcut, no SA between the spokes),
sends one UDP packet from host1 to host2 (it hair-pins; the hub redirects),
and waits for spoke1's shortcut. The figure is spoke1's own: the time from
"resolving ... after a traffic indication" (the Traffic Indication received)
to "connecting -> active" (the direct path routed) in its log, which covers
the resolution through the hub, the responder's IKE exchange with spoke1's
charon and spoke1's own check of the SA. The idle timeout is 1 s so that
the shortcut expires between runs. Prints every run and the median.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "deploy" / "lab"))
import lab as labmod  # noqa: E402


def wait(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise labmod.LabError(what)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", type=Path, default=labmod.default_bin_dir())
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--provider", choices=["strongswan", "none"], default="strongswan")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("lab-setup-time: needs root", file=sys.stderr)
        return 1
    lab = labmod.Lab(name=f"set{os.getpid()}", bin_dir=args.bin.resolve(), provider=args.provider, idle_timeout=1)
    try:
        lab.up()
        s2 = lab.spoke(2)
        for run in range(args.runs):
            wait(lambda: not lab.ctl("s1", "show", "shortcuts", as_json=True)["shortcuts"]
                 and not lab.ctl("s2", "show", "shortcuts", as_json=True)["shortcuts"], 30, "no expiry")
            if args.provider == "strongswan":
                wait(lambda: not [sa for sa in lab.sas("s1") if sa["remote-host"] == s2.nbma], 30, "SA left")
            time.sleep(1.2)  # past the redirect rate limit of the pair
            lab.exec_in("h1", [sys.executable, "-c",
                               "import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM)"
                               f".sendto(b'x' * 100, ('{s2.host_address}', 9))"])
            wait(lambda: any(s["state"] == "active" for s in
                             lab.ctl("s1", "show", "shortcuts", as_json=True)["shortcuts"]), 15, "no shortcut")
            done = labmod.shortcut_setups_ms(lab.logs("s1"))
            print(f"run {run + 1}: Traffic Indication -> direct path active {done[-1]:.1f} ms", flush=True)
        figures = labmod.shortcut_setups_ms(lab.logs("s1"))
        print(f"{args.provider}: median {statistics.median(figures):.1f} ms over {len(figures)} runs "
              f"(min {min(figures):.1f}, max {max(figures):.1f})")
        return 0
    except labmod.LabError as error:
        print(f"lab-setup-time: {error}", file=sys.stderr)
        return 1
    finally:
        lab.down(quiet=True, keep_logs=bool(os.environ.get("KEEP_LOGS")))


if __name__ == "__main__":
    sys.exit(main())
