#!/usr/bin/env python3
"""The registration storm of bench/hub_load.cpp in ONE 1-vCPU user-mode-Linux guest, against
`advpnd hub` and against a trivial NHRP echo (bench/nhrp_echo.cpp), alternating (issue #10,
Benchmark: "the same storm in a 1-vCPU user-mode-Linux guest against a trivial NHRP echo you
write for the purpose (goal: >= 60% of the echo's rate)").

    bench/uml-hub-load.py [--spokes 100000] [--runs 5] [--window 200] [--mem 1536M]
                          [--log-level info] [--build build/default]
    bench/uml-hub-load.py --check --spokes 2000 --runs 1     (the ctest: every one acked)

Where each part runs, and why: the server (hub or echo) AND the load generator run inside the
same guest and talk over the guest's loopback, with raw GRE sockets, exactly as
bench/run-hub-load.sh does on the host. UML has one vCPU by design, so the server and hub_load
share it: the wall-clock rate (acks/s) is that of the pair. Putting hub_load on the host
instead would need 100k distinct spoke NBMA addresses routed into the guest (the lab's
documentation ranges hold 762) and would add the TAP path's cost to both servers. To still
compare the servers alone, each run also reports the CPU time the server process used
(utime + stime from /proc/<pid>/stat, 10 ms ticks) per acknowledged registration, and the CPU
time hub_load used (the shell's `times`); the summary gives the ratio of both.

The hub's database is on the guest's /tmp, a tmpfs (the guest has no disk), so fsync costs
nothing there: the figure is an upper bound for a hub with a real disk. Its log (info level
by default, like bench/run-hub-load.sh: one line per new registration) goes to a file on the
same tmpfs.

Output: one JSON line per run (server, spokes, acknowledged, all_acknowledged_s, acks_per_s,
ack p50/p99, retransmits, server and hub_load CPU seconds, the guest's busy share, the host's
load average at the start), then one summary line (medians, min..max, hub/echo ratios, guest
kernel and mem=). The guest is booted by deploy/uml/lab.py (its rootfs, namespaces, reaper and
cleanup); the binaries reach it through the lab's hostfs folder and are copied to its tmpfs.

Python 3 standard library only. Needs root (namespaces, TAP, UML).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "deploy", "uml"))
import lab as umllab  # noqa: E402  (deploy/uml/lab.py: guest boot, cleanup)

GUEST = "bench"
WORK = "/tmp/bench"          # in the guest: tmpfs (guest-init.sh)
HUB_NBMA = "127.0.0.1"
HUB_PROTOCOL = "10.0.0.1"
CLOCK_TICKS = 100            # USER_HZ of /proc/<pid>/stat (getconf CLK_TCK, also on UML)
BINARIES = ("app/advpnd", "app/advpnctl", "bench/hub_load", "bench/nhrp_echo")


class BenchSetup:
    """What lab.Guest wants from a node: the guest's setup script. Copies the binaries from
    the lab folder (hostfs, slow to page in) to the guest's tmpfs and notes the kernel."""

    def setup_script(self) -> str:
        return "\n".join([
            "set -ex",
            f"mkdir -p {WORK}",
            # The hub opens its overlay TUN device; the Debian UML kernel builds tun as a module.
            "modprobe tun",
            f"cp /lab/bin/* {WORK}/",
            f"{WORK}/advpnd --version || true",
            # A missing runtime library shows here, not as a hub that never starts.
            f"if ldd {WORK}/advpnd | grep 'not found'; then exit 1; fi",
            f"uname -r > /lab/{GUEST}/kernel",
            "",
        ])


def hub_toml(work: str, log_level: str) -> str:
    # As bench/run-hub-load.sh: the defaults of everything else; hub_load's
    # spokes live in 10.64.0.0/10, inside the overlay subnet they must use.
    return (f'[hub]\nnbma_address = "{HUB_NBMA}"\nprotocol_address = "{HUB_PROTOCOL}"\n'
            f'overlay_prefix_length = 8\n'
            f'database = "{work}/hub.db"\ncontrol_socket = "{work}/hub.sock"\nlog_level = "{log_level}"\n'
            f'[ipsec]\nprovider = "none"\n')  # simulated spokes in clear GRE, no charon


def run_script(server: str, n: int, args: argparse.Namespace) -> str:
    """One storm inside the guest; prints `key value` lines the host parses (parse_run)."""
    work = f"{WORK}/run"
    if server == "hub":
        start = (f"cat > {work}/hub.toml <<'EOF'\n{hub_toml(work, args.log_level)}EOF\n"
                 f"{WORK}/advpnd hub --config {work}/hub.toml 2> {work}/server.log &\n")
        ready = f"[ -S {work}/hub.sock ]"
    else:
        start = (f"{WORK}/nhrp_echo --address {HUB_NBMA} --protocol {HUB_PROTOCOL}"
                 f" > {work}/echo.json 2> {work}/server.log &\n")
        ready = f"grep -q answering {work}/server.log"
    keep_db = ""
    if server == "hub" and args.check:
        # After the clean stop (WAL folded back): the host counts the bindings.
        keep_db = f"cp {work}/hub.db /lab/{GUEST}/hub-{n}.db\n"
    return (
        f"rm -rf {work}; mkdir -p {work}\n{start}pid=$!\n"
        f"i=0; until {ready} || [ $i -ge 300 ]; do sleep 0.05; i=$((i+1)); done\n"
        f"{ready} || {{ echo 'server_not_ready'; cat {work}/server.log; kill -9 $pid; exit 1; }}\n"
        + (f"strace -c -f -p $pid -o {work}/strace.txt 2>/dev/null & tracer=$!; sleep 1\n" if args.strace else "")
        + 'echo "stat_before $(head -n1 /proc/stat)"\n'
        'echo "server_before $(cat /proc/$pid/stat)"\n'
        f"( {WORK}/hub_load --hub-nbma {HUB_NBMA} --hub-protocol {HUB_PROTOCOL} --spokes {n}"
        f" --window {args.window} --hub-pid $pid --timeout {args.storm_timeout} > {work}/load.json;"
        # `times` in the subshell itself, not in a pipe (a forked shell has no children's
        # times): its second line is hub_load's user and system time.
        f' echo "load_rc $?"; times > {work}/times )\n'
        'echo "server_after $(cat /proc/$pid/stat)"\n'
        'echo "stat_after $(head -n1 /proc/stat)"\n'
        f'sed -n "2s/^/load_times /p" {work}/times\n'
        + (f"kill -INT $tracer; wait $tracer; cp {work}/strace.txt /lab/{GUEST}/strace-{server}-{n}.txt\n"
           if args.strace else "")
        + (f"{WORK}/advpnctl -s {work}/hub.sock show stats --json > {work}/stats.json 2>&1 || true\n"
           f'echo "hub_stats $(tr -d "\\n" < {work}/stats.json)"\n'
           f'echo "db_bytes $(cat {work}/hub.db {work}/hub.db-wal 2>/dev/null | wc -c)"\n'
           if server == "hub" else "")
        + "kill -TERM $pid; wait $pid; echo \"server_rc $?\"\n"
        + keep_db
        + f'echo "load_json $(cat {work}/load.json)"\n'
        + (f'echo "echo_json $(cat {work}/echo.json)"\n' if server == "echo" else "")
        + f"grep -ci 'error\\|warn' {work}/server.log | sed 's/^/server_log_problems /'\n"
    )


def _cpu_ticks(stat_line: str) -> int:
    # /proc/<pid>/stat after the "(comm)" field: state is field 3, utime 14, stime 15.
    fields = stat_line[stat_line.rindex(")") + 2:].split()
    return int(fields[11]) + int(fields[12])


def _busy_share(before: str, after: str) -> float:
    # /proc/stat "cpu user nice system idle iowait irq softirq steal ...".
    a = [int(x) for x in before.split()[1:]]
    b = [int(x) for x in after.split()[1:]]
    delta = [y - x for x, y in zip(a, b)]
    total = sum(delta[:8]) or 1
    return 1.0 - (delta[3] + delta[4]) / total


def _times_seconds(line: str) -> float:
    # dash's `times`: "0m1.230000s 0m0.450000s" (user, system of the children).
    return sum(int(m) * 60 + float(s) for m, s in re.findall(r"(\d+)m([\d.]+)s", line))


def parse_run(out: str) -> dict:
    values = {}
    for line in out.splitlines():
        key, _, rest = line.partition(" ")
        values[key] = rest
    if "load_json" not in values or not values["load_json"].strip():
        raise umllab.LabError(f"storm produced no result:\n{out[-2000:]}")
    result = json.loads(values["load_json"])
    server_ticks = _cpu_ticks(values["server_after"]) - _cpu_ticks(values["server_before"])
    result["server_cpu_s"] = server_ticks / CLOCK_TICKS
    result["load_cpu_s"] = round(_times_seconds(values.get("load_times", "")), 3)
    result["guest_busy"] = round(_busy_share(values["stat_before"], values["stat_after"]), 3)
    if result["acknowledged"]:
        result["server_cpu_us_per_ack"] = round(1e6 * result["server_cpu_s"] / result["acknowledged"], 1)
    result["load_rc"] = int(values.get("load_rc", "255"))
    result["server_rc"] = int(values.get("server_rc", "255"))
    result["server_log_problems"] = int(values.get("server_log_problems", "0") or 0)
    if "echo_json" in values:
        result["echo"] = json.loads(values["echo_json"])
    if "hub_stats" in values:
        try:
            result["hub_stats"] = json.loads(values["hub_stats"])
        except ValueError:
            result["hub_stats"] = values["hub_stats"][:500]
        result["db_and_wal_bytes"] = int(values.get("db_bytes", "0") or 0)
    return result


def spread(values: list) -> dict:
    return {"median": round(statistics.median(values), 3), "min": round(min(values), 3),
            "max": round(max(values), 3), "n": len(values)}


def summarize(results: list, kernel: str, args: argparse.Namespace) -> dict:
    summary = {"summary": True, "spokes": args.spokes, "window": args.window, "guest_kernel": kernel,
               "guest_mem": args.mem, "guest_vcpus": 1, "db": "tmpfs (guest /tmp)",
               "hub_log_level": args.log_level, "placement": "server and hub_load in the same guest"}
    medians = {}
    for server in ("hub", "echo"):
        ok = [r for r in results if r["server"] == server and r["acknowledged"] == r["spokes"]]
        if not ok:
            summary[server] = {"complete_runs": 0}
            continue
        summary[server] = {
            "complete_runs": len(ok),
            "all_acknowledged_s": spread([r["all_acknowledged_s"] for r in ok]),
            "acks_per_s": spread([r["acks_per_s"] for r in ok]),
            "server_cpu_us_per_ack": spread([r["server_cpu_us_per_ack"] for r in ok]),
            "load_cpu_s": spread([r["load_cpu_s"] for r in ok]),
            "retransmits": spread([r["retransmits"] for r in ok]),
            "host_loadavg_1m": spread([r["host_loadavg_1m"] for r in ok]),
        }
        medians[server] = summary[server]
    if "acks_per_s" in medians.get("hub", {}) and "acks_per_s" in medians.get("echo", {}):
        hub, echo = medians["hub"], medians["echo"]
        summary["hub_over_echo_rate"] = round(hub["acks_per_s"]["median"] / echo["acks_per_s"]["median"], 3)
        # The servers alone: the echo's CPU per registration over the hub's.
        summary["hub_over_echo_server_cpu"] = round(
            echo["server_cpu_us_per_ack"]["median"] / hub["server_cpu_us_per_ack"]["median"], 3)
    return summary


def check(result: dict, n: int, lab_dir: str) -> list:
    """--check: what must hold for a run to count (the ctest's assertions)."""
    problems = []
    if result["acknowledged"] != n or result["load_rc"] != 0:
        problems.append(f"{result['server']}: {result['acknowledged']} of {n} acknowledged")
    if result["server_rc"] != 0:
        problems.append(f"{result['server']}: exit code {result['server_rc']} after SIGTERM")
    if result["server"] == "echo":
        echo = result["echo"]
        if echo["answered"] < n or echo["malformed"] or echo["bad_checksum"] or echo["not_request"]:
            problems.append(f"echo counters wrong: {echo}")
    else:
        rows = umllab.hub_db_rows(os.path.join(lab_dir, f"hub-{n}.db"))
        registered = {r["protocol"] for r in rows}
        if len(registered) != n:
            problems.append(f"hub: {len(registered)} bindings in its database after {n} acknowledged")
    return problems


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--spokes", type=int, default=100000)
    ap.add_argument("--runs", type=int, default=5, help="runs per server, alternating")
    # 200: in the guest the hub's acknowledgements stay below hub_load's fixed 1 s
    # retransmission timeout; with 1000 they did not (22,951 retransmissions for 20,000).
    ap.add_argument("--window", type=int, default=200, help="hub_load's outstanding requests")
    ap.add_argument("--mem", default="1536M", help="the guest's mem=")
    ap.add_argument("--log-level", default="info", help="the hub's log_level")
    ap.add_argument("--storm-timeout", type=int, default=300, help="hub_load --timeout, seconds")
    ap.add_argument("--servers", default="hub,echo", help="which servers, comma separated")
    ap.add_argument("--build", default=os.path.join(ROOT, "build", "default"))
    ap.add_argument("--deadline", type=int, default=0,
                    help="stop (and clean up) after this many seconds; default from the runs")
    ap.add_argument("--strace", action="store_true",
                    help="profile: the server's system calls (strace -c, printed after each run; "
                         "slows the server, so its figures are not the benchmark's)")
    ap.add_argument("--check", action="store_true",
                    help="fail unless every registration is acknowledged (and stored, for the hub)")
    args = ap.parse_args()
    umllab.require_root()
    servers = [s for s in args.servers.split(",") if s]
    if not servers or any(s not in ("hub", "echo") for s in servers):
        ap.error("--servers: hub and/or echo")
    paths = [os.path.join(args.build, b) for b in BINARIES]
    missing = [p for p in paths if not os.access(p, os.X_OK)]
    if missing:
        print(f"build first (cmake --build --preset default): missing {missing}", file=sys.stderr)
        return 1
    per_run = args.storm_timeout + 60
    umllab.arm_deadline(args.deadline or 300 + per_run * args.runs * len(servers))

    results, problems = [], []
    with umllab.Lab(paths[0], paths[1], capture=False) as lab:
        os.makedirs(os.path.join(lab.labdir, "bin"))
        for p in paths:
            shutil.copy(p, os.path.join(lab.labdir, "bin"))
        guest = lab.add_guest(GUEST, BenchSetup(), mem=args.mem)
        lab.boot()
        kernel = open(os.path.join(guest.dir, "kernel")).read().strip()
        for k in range(args.runs):
            # ABBA order: neither server always runs first in a pair.
            order = servers if k % 2 == 0 else list(reversed(servers))
            for server in order:
                loadavg = os.getloadavg()[0]
                out = guest.run(run_script(server, args.spokes, args), timeout=per_run, check=False)
                try:
                    result = parse_run(out)
                except (umllab.LabError, ValueError, KeyError) as e:
                    result = {"server": server, "spokes": args.spokes, "acknowledged": 0, "failed": str(e)[:800]}
                    problems.append(f"run {k + 1} {server}: {e}")
                result.update(run=k + 1, server=server, host_loadavg_1m=round(loadavg, 2),
                              guest_kernel=kernel, guest_mem=args.mem)
                print(json.dumps(result), flush=True)
                if args.strace:
                    print(umllab.Guest.tail(os.path.join(guest.dir, f"strace-{server}-{args.spokes}.txt"), 30))
                results.append(result)
                if args.check and "failed" not in result:
                    problems += check(result, args.spokes, guest.dir)
        print(json.dumps(summarize(results, kernel, args)), flush=True)
        if problems:
            lab.failed = True
    for p in problems:
        print(f"FAIL: {p}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
