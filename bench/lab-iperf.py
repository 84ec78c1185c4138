#!/usr/bin/env python3
"""iperf3 spoke to spoke over a shortcut, in the namespace lab, with the real daemons.

    sudo bench/lab-iperf.py [--bin build/default/app] [--provider none|strongswan|both]
                            [--runs 5] [--seconds 10]

host1 (behind spoke1) runs iperf3 -c to host2 (behind spoke2) after a ping has
made the shortcut: the path is host1 -> spoke1's kernel -> advpnd (TUN, GRE)
-> [charon kernel-libipsec: ESP-in-UDP] -> WAN bridge -> spoke2 -> host2.
For each run: the receiver's TCP Gbit/s, and the CPU seconds the two spoke
daemons (and, with strongSwan, the two spokes' charons, which do ESP in user
space) used per Gbit of traffic, from utime + stime in /proc/PID/stat.
Prints every run and the medians.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "deploy" / "lab"))
import lab as labmod  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


def measure(provider: str, bin_dir: Path, runs: int, seconds: int) -> dict:
    lab = labmod.Lab(name=f"ipf{os.getpid() % 10000}", bin_dir=bin_dir, provider=provider, log_level="warning")
    try:
        lab.up()
        s1, s2 = lab.spoke(1), lab.spoke(2)
        lab.exec_in("h1", ["ping", "-c", "3", "-i", "0.2", s2.host_address])
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if any(s["state"] == "active" for s in lab.ctl("s1", "show", "shortcuts", as_json=True)["shortcuts"]):
                break
            time.sleep(0.1)
        else:
            raise labmod.LabError("no shortcut")
        server = labmod.subprocess.Popen(["ip", "netns", "exec", lab.ns("h2"), "iperf3", "-s"],
                                         stdout=labmod.subprocess.DEVNULL, stderr=labmod.subprocess.DEVNULL)
        time.sleep(0.5)
        watched = {"advpnd s1": lab.pids["s1"], "advpnd s2": lab.pids["s2"]}
        if provider == "strongswan":
            watched.update({"charon s1": lab.pids["charon-s1"], "charon s2": lab.pids["charon-s2"]})
        results = []
        hub_before = int(lab.ctl("hub", "show", "stats", as_json=True)["dataplane"]["hairpinned"])
        for run in range(runs):
            before = {k: cpu_seconds(p) for k, p in watched.items()}
            out = lab.exec_in("h1", ["iperf3", "-c", s2.host_address, "-t", str(seconds), "-J"],
                              timeout=seconds + 30).stdout
            after = {k: cpu_seconds(p) for k, p in watched.items()}
            gbps = json.loads(out)["end"]["sum_received"]["bits_per_second"] / 1e9
            gbits = gbps * seconds
            cpu = {k: (after[k] - before[k]) for k in watched}
            results.append({"gbps": gbps, "cpu_per_gbit": {k: v / gbits for k, v in cpu.items()},
                            "cpu_share": {k: v / seconds for k, v in cpu.items()}})
            print(f"  {provider} run {run + 1}: {gbps:.3f} Gbit/s; CPU s per Gbit: "
                  + ", ".join(f"{k} {v / gbits:.3f}" for k, v in cpu.items())
                  + "; of a core: " + ", ".join(f"{k} {v / seconds:.0%}" for k, v in cpu.items()), flush=True)
        hub_after = int(lab.ctl("hub", "show", "stats", as_json=True)["dataplane"]["hairpinned"])
        server.kill()
        labmod.reap(server.pid, 5)
        if hub_after - hub_before > 100:
            raise labmod.LabError(f"{hub_after - hub_before} packets hair-pinned: not the direct path")
        return {"gbps": statistics.median(r["gbps"] for r in results),
                "cpu_per_gbit": {k: statistics.median(r["cpu_per_gbit"][k] for r in results) for k in watched},
                "cpu_share": {k: statistics.median(r["cpu_share"][k] for r in results) for k in watched}}
    finally:
        lab.down(quiet=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", type=Path, default=labmod.default_bin_dir())
    parser.add_argument("--provider", choices=["none", "strongswan", "both"], default="both")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=10)
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("lab-iperf: needs root", file=sys.stderr)
        return 1
    providers = ["none", "strongswan"] if args.provider == "both" else [args.provider]
    for provider in providers:
        m = measure(provider, args.bin.resolve(), args.runs, args.seconds)
        print(f"{provider}: median {m['gbps']:.3f} Gbit/s over {args.runs} runs of {args.seconds} s; "
              "CPU s per Gbit: " + ", ".join(f"{k} {v:.3f}" for k, v in m["cpu_per_gbit"].items())
              + "; of a core: " + ", ".join(f"{k} {v:.0%}" for k, v in m["cpu_share"].items()), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
