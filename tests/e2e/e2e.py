#!/usr/bin/env python3
"""End-to-end tests of the mission in the namespace lab (deploy/lab/lab.py).

Each test brings its own lab up (about a second), acts on it through the
hosts' namespaces, and asserts on what the daemons say (advpnctl --json),
on the hub's SQLite file, on charon (swanctl --list-sas) and on a capture
of the WAN segment. The lab is torn down even when a test fails; its logs
are kept in /tmp/advpnd-lab-<name>-logs then.

    e2e.py --bin build/default/app TEST    one test (ctest runs them one by one)
    e2e.py --bin build/default/app all     every test
    e2e.py --list

Needs root: without it every test fails (it does not skip).
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import sqlite3
import statistics
import struct
import subprocess
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "deploy" / "lab"))
import lab as labmod  # noqa: E402  (the lab is the project's own script)

VOICE = HERE / "voice.py"
TESTS = {}
BIN: Path = Path()


def test(fn):
    TESTS[fn.__name__.removeprefix("test_")] = fn
    return fn


class Failure(AssertionError):
    pass


def check(condition, message: str) -> None:
    if not condition:
        raise Failure(message)


def wait_for(predicate, timeout: float, message: str, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = predicate()
        except (labmod.LabError, subprocess.TimeoutExpired, json.JSONDecodeError, KeyError):
            last = None
        if last:
            return last
        time.sleep(interval)
    raise Failure(f"{message} (within {timeout} s)")


def sweep_stale_labs() -> None:
    """Labs of e2e runs that were killed before they could clean up (named after their pid)."""
    names = {ns.split("-")[0] for ns in labmod.run(["ip", "netns", "list"], check=False).stdout.split()
             if ns.startswith("e2e") and "-" in ns}
    for name in names:
        pid = name.removeprefix("e2e")
        if pid.isdigit() and not labmod.pid_alive(int(pid)) and int(pid) != os.getpid():
            labmod.Lab(name=name, bin_dir=BIN).down(quiet=True)


def make_lab(**kwargs) -> labmod.Lab:
    sweep_stale_labs()
    # Short names: namespaces and interfaces carry them (pids fit: pid_max <= 4194304).
    return labmod.Lab(name=f"e2e{os.getpid()}", bin_dir=BIN, **kwargs)


def shortcuts(lab: labmod.Lab, node: str) -> list[dict]:
    return lab.ctl(node, "show", "shortcuts", as_json=True)["shortcuts"]


def active_shortcut(lab: labmod.Lab, node: str, prefix: str):
    for s in shortcuts(lab, node):
        if s.get("prefix") == prefix and s.get("state") == "active":
            return s
    return None


def hub_stats(lab: labmod.Lab) -> dict:
    return lab.ctl("hub", "show", "stats", as_json=True)


def packets(stats: dict, packet_type: str, direction: str) -> int:
    for entry in stats["packets"]:
        if entry["type"] == packet_type:
            return int(entry[direction])
    raise Failure(f"no packet type {packet_type} in the stats")


def hairpins(lab: labmod.Lab) -> int:
    return int(hub_stats(lab)["dataplane"]["hairpinned"])


def ping(lab: labmod.Lab, src_host: str, dst: str, count: int = 3, interval: float = 0.2) -> subprocess.CompletedProcess:
    return lab.exec_in(src_host, ["ping", "-n", "-q", "-c", str(count), "-i", str(interval), "-W", "2", dst],
                       check=False, timeout=count * interval + 10)


def sas_to(lab: labmod.Lab, node: str, remote_host: str) -> list[dict]:
    return [sa for sa in lab.sas(node) if sa["remote-host"] == remote_host and sa["state"] == "ESTABLISHED"
            and any(c.get("state") == "INSTALLED" for c in sa["children"])]


# --- the WAN capture -----------------------------------------------------------------

class WanCapture:
    """What every node sends onto the WAN segment, from before any daemon starts: one tcpdump per
    bridge port, inbound only, so that each frame is seen exactly once (a learning bridge forwards
    port to port, so the bridge device itself would see only floods)."""

    def __init__(self, lab: labmod.Lab):
        self.lab = lab
        self.ports = ["hub", "nat"] + [s.node for s in lab.spokes if not s.behind_nat]
        self.paths = [lab.node_dir("wan") / f"wan-{port}.pcap" for port in self.ports]
        self.processes: list[subprocess.Popen] = []

    def start(self, lab: labmod.Lab) -> None:
        for port, path in zip(self.ports, self.paths):
            self.processes.append(subprocess.Popen(
                ["ip", "netns", "exec", lab.ns("wan"), "tcpdump", "-i", port, "-Q", "in", "-U", "--immediate-mode", "-n", "-s", "128",
                 "-w", str(path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True))
        wait_for(lambda: all(p.exists() and p.stat().st_size >= 24 for p in self.paths), 5, "tcpdump did not start")

    def frames(self) -> list[dict]:
        out = []
        for path in self.paths:
            out.extend(read_pcap(path))
        return sorted(out, key=lambda f: f["time"])

    def stop(self) -> list[dict]:
        time.sleep(0.3)  # immediate mode and -U: what was seen is written at once
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
        for process in self.processes:
            labmod.reap(process.pid, 5)
        return self.frames()

    def kill(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.kill()


def read_pcap(path: Path) -> list[dict]:
    """Ethernet/IPv4 frames of a classic pcap: time, src, dst, proto and, for UDP, ports and the kind of
    payload on port 4500 (RFC 3948: four zero bytes = IKE, one 0xff = keepalive, else ESP)."""
    data = path.read_bytes()
    magic = struct.unpack("<I", data[:4])[0]
    endian = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    nano = magic in (0xA1B23C4D, 0x4D3CB2A1)
    offset = 24
    out = []
    while offset + 16 <= len(data):
        sec, frac, caplen, _ = struct.unpack(endian + "IIII", data[offset:offset + 16])
        frame = data[offset + 16:offset + 16 + caplen]
        offset += 16 + caplen
        if len(frame) < 34 or frame[12:14] != b"\x08\x00":
            continue
        ip = frame[14:]
        ihl = (ip[0] & 0x0F) * 4
        entry = {"time": sec + frac / (1e9 if nano else 1e6), "proto": ip[9], "tos": ip[1],
                 "len": struct.unpack("!H", ip[2:4])[0],
                 "src": ".".join(map(str, ip[12:16])), "dst": ".".join(map(str, ip[16:20]))}
        if ip[9] == 17 and len(ip) >= ihl + 8:
            sport, dport = struct.unpack("!HH", ip[ihl:ihl + 4])
            entry["sport"], entry["dport"] = sport, dport
            payload = ip[ihl + 8:]
            if 4500 in (sport, dport):
                if len(payload) == 1 and payload[0] == 0xFF:
                    entry["kind"] = "keepalive"
                elif payload[:4] == b"\x00\x00\x00\x00":
                    entry["kind"] = "ike"
                else:
                    entry["kind"] = "esp"
            elif 500 in (sport, dport):
                entry["kind"] = "ike"
        out.append(entry)
    return out


def run_lab(body, capture: bool = False, **lab_kwargs):
    """Brings a lab up, runs body(lab, capture), tears it down whatever happens."""
    if os.geteuid() != 0:
        raise Failure("the end-to-end tests need root (network namespaces, TUN, raw sockets, charon)")
    lab = make_lab(**lab_kwargs)
    wan = WanCapture(lab) if capture else None
    failed = True
    try:
        lab.up(after_network=wan.start if wan else None)
        body(lab, wan)
        failed = False
    finally:
        if wan is not None:
            wan.kill()
        lab.down(quiet=not failed, keep_logs=failed)


# --- the tests ------------------------------------------------------------------------

@test
def test_registration(_=None):
    """All spokes register over their IPsec tunnels; the hub's SQLite file and advpnctl agree; a spoke's
    SIGTERM purges its registration and it registers again when it is back."""

    def body(lab, _):
        regs = lab.registrations()
        by_protocol = {r["protocol"]: r for r in regs}
        for spoke in lab.spokes:
            check(spoke.overlay in by_protocol, f"{spoke.overlay} not registered: {regs}")
            check(by_protocol[spoke.overlay]["nbma"] == spoke.nbma, f"wrong NBMA for {spoke.node}: {regs}")
            lan = spoke.lan_prefix.split("/")[0]
            check(any(r["protocol"] == lan and r["prefix_len"] == 24 for r in regs), f"{spoke.lan_prefix} missing")
            shown = lab.ctl(spoke.node, "show", "nhs", as_json=True)
            nhs = shown["nhs"]
            check(nhs and nhs[0]["state"] == "registered" and nhs[0]["tunnel_up"] and not nhs[0]["tunnel_error"],
                  f"{spoke.node}: {shown}")
            check(shown["ipsec_provider"] == "strongswan", f"{spoke.node}: {shown}")
        # The SQLite file holds what advpnctl shows (read-only: the hub keeps writing it).
        db = sqlite3.connect(f"file:{lab.node_dir('hub') / 'hub.db'}?mode=ro", uri=True)
        rows = db.execute("SELECT * FROM binding").fetchall()
        db.close()
        check(len(rows) == len(regs) == 2 * len(lab.spokes), f"{len(rows)} rows in SQLite, {len(regs)} shown")
        # Every spoke's tunnel to the hub is an IPsec SA at the hub's charon.
        for spoke in lab.spokes:
            check(sas_to(lab, "hub", spoke.public_nbma), f"no SA at the hub for {spoke.node}")
        # SIGTERM: shortcuts back, registration purged (Purge Request acknowledged), exit 0.
        pid = lab.pids["s2"]
        os.kill(pid, signal.SIGTERM)
        labmod.reap(pid, 10)
        wait_for(lambda: not any(r["protocol"] == "10.0.0.12" for r in lab.registrations()), 5,
                 "s2's registration was not purged on SIGTERM")
        check("purging" in lab.logs("s2") and "stopped" in lab.logs("s2"), "s2's log does not show the purge")
        lab.restart_spoke("s2")
        lab.wait_registered(10)

    run_lab(body)


@test
def test_direct_path_encrypted(_=None):
    """Spoke-to-spoke traffic goes through the hub, then direct; on the WAN only ESP-in-UDP is ever seen
    between spokes and hub, never clear GRE; after the switch s1<->s2 traffic is ESP between them."""

    def body(lab, wan):
        s1, s2 = lab.spoke(1), lab.spoke(2)
        before = hairpins(lab)
        check(ping(lab, "h1", s2.host_address, count=1).returncode == 0, "first ping failed")
        check(hairpins(lab) > before, "the first packet did not go through the hub")
        wait_for(lambda: active_shortcut(lab, "s1", s2.lan_prefix), 10, "no shortcut on s1")
        # The replies hair-pinned too: s2 got its own redirect and shortcut.
        wait_for(lambda: active_shortcut(lab, "s2", s1.lan_prefix), 10, "no shortcut on s2")
        switched = time.time()
        before = hairpins(lab)
        result = ping(lab, "h1", s2.host_address, count=10, interval=0.1)
        check(result.returncode == 0, f"pings over the shortcut failed: {result.stdout}")
        check(hairpins(lab) == before, "traffic still hair-pins through the hub after the switch")
        frames = wan.stop()
        gre = [f for f in frames if f["proto"] == 47]
        check(not gre, f"{len(gre)} clear-text GRE frames on the WAN, first {gre[:1]}")
        pair = {s1.nbma, s2.nbma}
        direct = [f for f in frames if {f["src"], f["dst"]} == pair and f["time"] > switched]
        check(direct and all(f.get("kind") in ("esp", "ike", "keepalive") for f in direct),
              f"after the switch s1<->s2 frames are not all IPsec: {direct[:3]}")
        esp = [f for f in direct if f.get("kind") == "esp"]
        check(len(esp) >= 20, f"only {len(esp)} ESP frames between s1 and s2 for 10 pings")
        print(f"frames on the WAN: {len(frames)}, clear GRE: 0, ESP s1<->s2 after the switch: {len(esp)}")

    run_lab(body, capture=True)


@test
def test_one_sa_per_pair(_=None):
    """Both directions redirected at once (a ping's request and reply both hair-pin): both spokes
    initiate IKE, and the tie-break (vici/duplicate_sa.h: the lower NBMA's SA wins) leaves exactly one
    IKE_SA between s1 and s2 in each spoke's charon; traffic keeps flowing over it."""

    def body(lab, _):
        s1, s2 = lab.spoke(1), lab.spoke(2)
        # Any echo answered makes both directions hair-pin. Three tries: the hub's first sends to a
        # spoke can meet EHOSTUNREACH right after the lab comes up (seen once under ASan; see
        # the closing note), which is not what this test is about.
        check(ping(lab, "h1", s2.host_address, count=3).returncode == 0, "no ping answered")
        wait_for(lambda: active_shortcut(lab, "s1", s2.lan_prefix), 10, "no shortcut on s1")
        wait_for(lambda: active_shortcut(lab, "s2", s1.lan_prefix), 10, "no shortcut on s2")
        try:
            wait_for(lambda: len(sas_to(lab, "s1", s2.nbma)) == 1 and len(sas_to(lab, "s2", s1.nbma)) == 1, 12,
                     "not exactly one IKE_SA between s1 and s2")
        except Failure as error:
            raise Failure(f"{error}: s1 has {len(sas_to(lab, 's1', s2.nbma))}, "
                          f"s2 has {len(sas_to(lab, 's2', s1.nbma))}") from error
        result = ping(lab, "h1", s2.host_address, count=20, interval=0.05)
        check(result.returncode == 0 and " 0% packet loss" in result.stdout, f"pings after the tie-break: {result.stdout}")
        check(len(sas_to(lab, "s1", s2.nbma)) == 1 and len(sas_to(lab, "s2", s1.nbma)) == 1,
              "a second IKE_SA came back")
        check(active_shortcut(lab, "s1", s2.lan_prefix) and active_shortcut(lab, "s2", s1.lan_prefix),
              "a shortcut went down with the duplicate SA")
        # advpnctl show tunnels: who holds the tunnel (s2 set it up to answer s1, and has its own shortcut).
        tunnels = lab.ctl("s2", "show", "tunnels", as_json=True)["tunnels"]
        mine = [t for t in tunnels if t["peer_nbma"] == s1.nbma]
        check(mine and mine[0]["state"] == "up" and mine[0]["shortcut_leases"] >= 1, f"s2's show tunnels: {tunnels}")
        hub = [t for t in tunnels if t["nhs_leases"] == 1]
        check(len(hub) == 1 and hub[0]["state"] == "up", f"s2's NHS tunnel in show tunnels: {tunnels}")

    run_lab(body)


@test
def test_voice(_=None):
    """50 packets/s of small UDP for 20 s from h1 to h2, across the switch to the shortcut: no packet lost
    or duplicated; set-up time (first packet sent -> first ESP packet s1->s2 on the WAN) median <= 100 ms."""
    runs = int(os.environ.get("E2E_VOICE_RUNS", "5"))
    seconds = float(os.environ.get("E2E_VOICE_SECONDS", "20"))

    def body(lab, wan):
        s1, s2 = lab.spoke(1), lab.spoke(2)
        setups = []
        routed_setups = []
        for run_index in range(runs):
            # Start from the hub path: no shortcut, no SA between the spokes.
            wait_for(lambda: not shortcuts(lab, "s1") and not shortcuts(lab, "s2") and not sas_to(lab, "s1", s2.nbma),
                     30, "the previous shortcut did not expire", interval=0.2)
            port = 40000 + run_index
            receiver = subprocess.Popen(["ip", "netns", "exec", lab.ns("h2"), sys.executable, str(VOICE), "recv",
                                         str(port), str(seconds + 3)], stdout=subprocess.PIPE, text=True)
            time.sleep(0.3)
            sent = json.loads(lab.exec_in("h1", [sys.executable, str(VOICE), "send", s2.host_address, str(port),
                                                 "50", str(seconds)], timeout=seconds + 20).stdout)
            got = json.loads(receiver.communicate(timeout=seconds + 20)[0])
            check(got["received"] > 0, "nothing received")
            lost = sent["sent"] - got["unique"]
            setup_ms = None
            esp = [f for f in wan.frames() if f["src"] == s1.nbma and f["dst"] == s2.nbma
                   and f.get("kind") == "esp" and f["time"] >= sent["first_sent"]]
            if esp:
                setup_ms = (esp[0]["time"] - sent["first_sent"]) * 1000
                setups.append(setup_ms)
            # Finer than the 20 ms packet spacing: the first packet sent -> s1 routes the
            # prefix to the peer (its log; the same clock).
            routed = [labmod.log_time(line) for line in lab.logs("s1").splitlines()
                      if "connecting -> active" in line and labmod.log_time(line) >= sent["first_sent"] - 0.001]
            routed_ms = (routed[0] - sent["first_sent"]) * 1000 if routed else None
            if routed_ms is not None:
                routed_setups.append(routed_ms)
            print(f"run {run_index + 1}: sent {sent['sent']}, received {got['received']}, lost {lost}, "
                  f"duplicated {got['duplicates']}, reordered {got['reordered']}, "
                  f"set-up {setup_ms if setup_ms is None else round(setup_ms, 1)} ms (first ESP s1->s2 on the WAN; "
                  f"direct route in s1's log after {routed_ms if routed_ms is None else round(routed_ms, 1)} ms)",
                  flush=True)
            check(lost == 0, f"run {run_index + 1}: {lost} packets lost")
            check(got["duplicates"] == 0, f"run {run_index + 1}: {got['duplicates']} duplicated")
            check(setup_ms is not None, f"run {run_index + 1}: the flow never went direct")
        # The daemon's own view (issue #4's figure): Traffic Indication received -> direct path active.
        daemon = labmod.shortcut_setups_ms(lab.logs("s1"))
        if daemon:
            print(f"s1's log, Traffic Indication -> shortcut active: median {statistics.median(daemon):.1f} ms "
                  f"over {len(daemon)} shortcuts ({', '.join(f'{d:.0f}' for d in daemon)} ms)")
        if routed_setups:
            print(f"first packet -> direct route (s1's log): median {statistics.median(routed_setups):.1f} ms")
        median = statistics.median(setups)
        print(f"set-up time median {median:.1f} ms over {len(setups)} runs "
              f"(min {min(setups):.1f}, max {max(setups):.1f})")
        check(median <= 100, f"set-up median {median:.1f} ms > 100 ms")

    # A short idle timeout so that each run starts on the hub path again.
    run_lab(body, capture=True, idle_timeout=2)


@test
def test_dscp(_=None):
    """Voice marked EF keeps its DSCP on the WAN: the spokes copy it into the outer GRE header, through
    the hub and on the direct path (clear GRE, `none` provider: kernel-libipsec's ESP does not copy it,
    kernel ESP in tunnel mode does)."""

    def body(lab, wan):
        s1, s2 = lab.spoke(1), lab.spoke(2)
        lab.exec_in("h1", [sys.executable, str(VOICE), "send", s2.host_address, "4000", "50", "2"], timeout=30)
        frames = wan.stop()
        voice = [f for f in frames if f["proto"] == 47 and f["src"] == s1.nbma and f["len"] >= 180]
        check(len(voice) >= 90, f"only {len(voice)} voice frames from s1 on the WAN")
        via_hub = [f for f in voice if f["dst"] == labmod.HUB_NBMA]
        direct = [f for f in voice if f["dst"] == s2.nbma]
        check(via_hub and direct, f"{len(via_hub)} via the hub, {len(direct)} direct: expected both")
        wrong = [f for f in voice if f["tos"] >> 2 != 46]
        check(not wrong, f"{len(wrong)} of {len(voice)} voice frames lost their DSCP: {wrong[:2]}")
        # The hub forwards with the DSCP too.
        forwarded = [f for f in frames if f["proto"] == 47 and f["src"] == labmod.HUB_NBMA and f["dst"] == s2.nbma
                     and f["len"] >= 180]
        check(forwarded and all(f["tos"] >> 2 == 46 for f in forwarded), "the hub dropped the DSCP")
        print(f"{len(voice)} voice frames from s1 ({len(via_hub)} via the hub, {len(direct)} direct), "
              f"{len(forwarded)} forwarded by the hub: all DSCP EF")

    run_lab(body, capture=True, provider="none")


@test
def test_idle_expiry(_=None):
    """Traffic stops -> after the idle timeout the SA is gone (list-sas), traffic flows through the hub
    again, and new traffic makes a new shortcut."""

    def body(lab, _):
        s2 = lab.spoke(2)
        check(ping(lab, "h1", s2.host_address).returncode == 0, "ping failed")
        wait_for(lambda: active_shortcut(lab, "s1", s2.lan_prefix), 10, "no shortcut")
        check(sas_to(lab, "s1", s2.nbma), "no SA from s1 to s2 while the shortcut is active")
        started = time.monotonic()
        wait_for(lambda: not shortcuts(lab, "s1"), 20, "the shortcut did not expire")
        # The responder's reply lease goes after the idle timeout without a
        # packet, seen in charon's counters (polled every 5 s, checked every 5 s).
        wait_for(lambda: not sas_to(lab, "s1", s2.nbma) and not sas_to(lab, "s2", lab.spoke(1).nbma), 15,
                 "the SA between s1 and s2 is still there")
        print(f"shortcut and SA gone {time.monotonic() - started:.1f} s after the traffic stopped (idle timeout 3 s)")
        check(sas_to(lab, "s1", labmod.HUB_NBMA), "the tunnel to the hub went down too")
        before = hairpins(lab)
        check(ping(lab, "h1", s2.host_address, count=1).returncode == 0, "ping through the hub failed")
        check(hairpins(lab) > before, "traffic did not go through the hub after the expiry")
        wait_for(lambda: active_shortcut(lab, "s1", s2.lan_prefix), 10, "new traffic made no new shortcut")
        check(sas_to(lab, "s1", s2.nbma), "no new SA")

    run_lab(body, idle_timeout=3)


@test
def test_hub_restart(_=None):
    """SIGKILL the hub while spokes are registered: restarted, it serves the registrations and answers
    resolutions from SQLite before any spoke registers again."""

    def body(lab, _):
        before = {r["protocol"] for r in lab.registrations()}
        lab.kill("hub", signal.SIGKILL)
        lab.start_hub()
        after = {r["protocol"] for r in lab.registrations()}
        check(after == before, f"after kill -9: {sorted(after)}, before: {sorted(before)}")
        s3 = lab.spoke(3)
        check(ping(lab, "h1", s3.host_address, count=2).returncode == 0, "ping h1 -> h3 after the restart failed")
        wait_for(lambda: active_shortcut(lab, "s1", s3.lan_prefix), 15, "no shortcut s1 -> s3 after the restart")
        stats = hub_stats(lab)
        check(packets(stats, "resolution-request", "received") >= 1, "the hub got no resolution request")
        check(packets(stats, "registration-request", "received") == 0,
              "a spoke registered again: the test proves nothing")
        print(f"after kill -9: {len(after)} registrations served from SQLite, "
              f"{packets(stats, 'resolution-request', 'received')} resolution request(s) handled, "
              "0 registrations received")

    run_lab(body)


@test
def test_spoke_charon_restart(_=None):
    """charon on a spoke is killed (-9) and started again: the spoke notices, brings its tunnel to the
    hub up again, reloads its credentials and template, and shortcuts work again; the daemon keeps
    running throughout."""

    def body(lab, _):
        s1, s2 = lab.spoke(1), lab.spoke(2)
        lab.kill("charon-s1", signal.SIGKILL)
        wait_for(lambda: "charon connection lost" in lab.logs("s1"), 5, "s1 did not notice charon going away")
        lab.restart_charon("s1")
        wait_for(lambda: sas_to(lab, "s1", labmod.HUB_NBMA), 15, "s1's tunnel to the hub did not come back")
        check(labmod.pid_alive(lab.pids["s1"]), "advpnd on s1 died")
        check(ping(lab, "h1", s2.host_address, count=3).returncode == 0, "h1 -> h2 failed after the restart")
        wait_for(lambda: active_shortcut(lab, "s1", s2.lan_prefix), 15, "no shortcut after charon's restart")
        wait_for(lambda: sas_to(lab, "s1", s2.nbma), 5, "no SA s1 <-> s2 after charon's restart")
        # And the other way: s2 initiating to s1 needs s1's template, loaded again after the restart.
        check(ping(lab, "h2", lab.spoke(1).host_address, count=3).returncode == 0, "h2 -> h1 failed")
        wait_for(lambda: active_shortcut(lab, "s2", s1.lan_prefix), 15, "no shortcut s2 -> s1")

    run_lab(body)


@test
def test_wrong_psk(_=None):
    """A spoke with the wrong IPsec key never gets a tunnel, so it never registers (nothing leaves in
    clear text); it says why and keeps retrying with backoff; the other spokes are unaffected."""

    def body(lab, wan):
        time.sleep(3)
        nhs = lab.ctl("s2", "show", "nhs", as_json=True)["nhs"][0]
        check(nhs["state"] != "registered", f"s2 registered without IPsec: {nhs}")
        check(not nhs["tunnel_up"] and "AUTHENTICATION_FAILED" in nhs["tunnel_error"],
              f"advpnctl show nhs does not say why: {nhs}")
        text = lab.ctl("s2", "show", "nhs")
        check("down" in text and "tunnel failed" in text, f"the table does not say why:\n{text}")
        check(not any(r["protocol"] == "10.0.0.12" for r in lab.registrations()), "the hub has s2's registration")
        log = lab.logs("s2")
        check("tunnel failed" in log and "203.0.113.1" in log, "s2's log does not say its NHS tunnel failed")
        reasons = [line for line in log.splitlines() if "tunnel failed" in line]
        print(f"s2: {reasons[-1].split('spoke: ', 1)[-1][:160]}")
        retries = sum("-> loading (retry)" in line for line in log.splitlines())
        check(retries >= 1, f"s2 did not retry its tunnel (backoff from 1 s)")
        frames = wan.stop()
        check(not [f for f in frames if f["proto"] == 47], "clear GRE on the WAN")
        check(ping(lab, "h1", lab.spoke(3).host_address, count=3).returncode == 0, "h1 -> h3 failed")

    run_lab(body, capture=True, spoke_psk={"s2": "not-the-lab-psk-0123456789"})


@test
def test_nat(_=None):
    """s3 sits behind an nftables masquerade: it registers (its IKE comes from the NAT's address), and
    shortcuts to and from it work."""

    def body(lab, _):
        s1, s3 = lab.spoke(1), lab.spoke(3)
        hub_sas = sas_to(lab, "hub", labmod.NAT_OUTSIDE)
        check(hub_sas, "the hub has no SA with the NAT's address")
        check(any(r["protocol"] == s3.overlay for r in lab.registrations()), "s3 not registered")
        # To the NATted spoke ...
        check(ping(lab, "h1", s3.host_address, count=3).returncode == 0, "h1 -> h3 failed")
        wait_for(lambda: active_shortcut(lab, "s1", s3.lan_prefix), 15, "no shortcut s1 -> s3")
        wait_for(lambda: sas_to(lab, "s1", labmod.NAT_OUTSIDE), 5, "no SA s1 <-> s3 (through the NAT)")
        # ... and from it.
        check(ping(lab, "h3", lab.spoke(2).host_address, count=3).returncode == 0, "h3 -> h2 failed")
        wait_for(lambda: active_shortcut(lab, "s3", lab.spoke(2).lan_prefix), 15, "no shortcut s3 -> s2")
        # The replies hair-pinned too, so the other ends made theirs; the NATted spoke's peers
        # reach it over the SA it set up (their own IKE to its private address cannot).
        wait_for(lambda: active_shortcut(lab, "s3", s1.lan_prefix), 15, "no shortcut s3 -> s1")
        wait_for(lambda: active_shortcut(lab, "s2", s3.lan_prefix), 15, "no shortcut s2 -> s3")
        before = hairpins(lab)
        check(ping(lab, "h1", s3.host_address, count=5, interval=0.1).returncode == 0, "h1 -> h3 direct failed")
        check(ping(lab, "h3", lab.spoke(2).host_address, count=5, interval=0.1).returncode == 0,
              "h3 -> h2 direct failed")
        check(hairpins(lab) == before, "traffic with the NATted spoke still goes through the hub")

    run_lab(body)


def one_way(lab: labmod.Lab, src_host: str, dst_host: str, dst_address: str, seconds: int = 2) -> None:
    """A one-way UDP flow (50 packets/s): only the sender's spoke is redirected."""
    receiver = subprocess.Popen(["ip", "netns", "exec", lab.ns(dst_host), sys.executable, str(VOICE), "recv",
                                 "4000", str(seconds + 8)], stdout=subprocess.PIPE, text=True)
    time.sleep(0.3)
    lab.exec_in(src_host, [sys.executable, str(VOICE), "send", dst_address, "4000", "50", str(seconds)], timeout=30)
    receiver.communicate(timeout=30)


@test
def test_nat_one_way_from_natted(_=None):
    """One-way traffic FROM the spoke behind NAT (s3 -> s1) with IPsec: s1 cannot reach s3's private
    address, so after 3 s it sends its Resolution Reply through the hub; s3 then initiates IKE to s1
    itself and its shortcut carries the flow (no hair-pin), and s1 stops trying IKE to s3."""

    def body(lab, _):
        s1, s3 = lab.spoke(1), lab.spoke(3)
        one_way(lab, "h3", "h1", s1.host_address, seconds=6)
        shortcut = wait_for(lambda: active_shortcut(lab, "s3", s1.lan_prefix), 10, "no shortcut s3 -> s1")
        check(shortcut["peer_nbma"] == s1.nbma, f"s3's shortcut goes to {shortcut['peer_nbma']}")
        before = hairpins(lab)
        one_way(lab, "h3", "h1", s1.host_address, seconds=2)
        check(hairpins(lab) == before, "one-way traffic from the NATted spoke still goes through the hub")
        check(active_shortcut(lab, "s3", s1.lan_prefix)["bytes_out"] > 0, "the shortcut carried nothing")
        check(sas_to(lab, "s1", labmod.NAT_OUTSIDE), "no SA s1 <-> s3 through the NAT")
        tunnels = lab.ctl("s1", "show", "tunnels", as_json=True)
        check(tunnels["replies_dropped"] == 0, f"s1 dropped replies: {tunnels}")
        check(not any(t["peer_nbma"] == s3.nbma and t["state"] != "given-up" for t in tunnels["tunnels"]),
              f"s1 still tries IKE to s3's private address: {tunnels}")

    run_lab(body)


@test
def test_nat_one_way_to_natted(_=None):
    """One-way traffic TO the spoke behind NAT (h1 -> h3's LAN) with IPsec: the hub forwards s1's
    resolution to s3, which owns the prefix; s3 (behind the NAT) initiates IKE to s1 and answers over
    it, and s1's shortcut uses that SA (its peer is s3's own NBMA, the SA's traffic selector)."""

    def body(lab, _):
        s1, s3 = lab.spoke(1), lab.spoke(3)
        one_way(lab, "h1", "h3", s3.host_address, seconds=6)
        wait_for(lambda: active_shortcut(lab, "s1", s3.lan_prefix), 10, "no shortcut s1 -> s3")
        before = hairpins(lab)
        one_way(lab, "h1", "h3", s3.host_address, seconds=2)
        check(hairpins(lab) == before, "one-way traffic to the NATted spoke still goes through the hub")
        check(active_shortcut(lab, "s1", s3.lan_prefix)["bytes_out"] > 0, "the shortcut carried nothing")
        check(sas_to(lab, "s1", labmod.NAT_OUTSIDE), "no SA s1 <-> s3 through the NAT")
        tunnels = lab.ctl("s1", "show", "tunnels", as_json=True)
        check(tunnels["given_up_shortcut"] == 0 and tunnels["replies_dropped"] == 0, f"s1: {tunnels}")

    run_lab(body)


@test
def test_nat_clear_gre(_=None):
    """Without IPsec the NAT rewrites the GRE itself: the hub sees it (NHRP NAT extension), records
    the spoke's post-NAT address, tells the spoke, and a shortcut to it uses that address.

    Only one way is tested, and on purpose: clear GRE has no ports, so a masquerade can hold only
    a mapping the NATted spoke opened itself. Here s3 opens it with its Resolution Reply to s1.
    When both ends resolve at once, s1's reply to s3 reaches the NAT first, and conntrack then
    refuses s3's outbound GRE to s1 (the same address pair, nothing to remap) for its timeout.
    IPsec NAT-T (UDP) has no such limit: test_nat covers both directions with it."""

    def body(lab, _):
        s1, s3 = lab.spoke(1), lab.spoke(3)
        reg = [r for r in lab.registrations() if r["protocol"] == s3.overlay]
        check(reg and reg[0]["nbma"] == s3.nbma and reg[0]["post_nat_nbma"] == labmod.NAT_OUTSIDE,
              f"s3's registration: {reg}")
        nhs = lab.ctl("s3", "show", "nhs", as_json=True)["nhs"][0]
        check(labmod.NAT_OUTSIDE in json.dumps(nhs), f"s3 did not learn its post-NAT address: {nhs}")
        # One-way traffic h1 -> h3 (UDP: no replies hair-pin, so only s1 is redirected).
        receiver = subprocess.Popen(["ip", "netns", "exec", lab.ns("h3"), sys.executable, str(VOICE), "recv",
                                     "4000", "10"], stdout=subprocess.PIPE, text=True)
        time.sleep(0.3)
        lab.exec_in("h1", [sys.executable, str(VOICE), "send", s3.host_address, "4000", "50", "2"], timeout=30)
        shortcut = wait_for(lambda: active_shortcut(lab, "s1", s3.lan_prefix), 10, "no shortcut s1 -> s3")
        check(shortcut["peer_nbma"] == labmod.NAT_OUTSIDE, f"s1's shortcut to s3 goes to {shortcut['peer_nbma']}")
        before = hairpins(lab)
        lab.exec_in("h1", [sys.executable, str(VOICE), "send", s3.host_address, "4000", "50", "2"], timeout=30)
        got = json.loads(receiver.communicate(timeout=30)[0])
        # Two sends of sequence numbers 0-99 each: every one of the 200 arrives.
        check(got["received"] == 200, f"h3 received {got['received']} of 200 packets")
        check(hairpins(lab) == before, "traffic to the NATted spoke still goes through the hub")
        check(active_shortcut(lab, "s1", s3.lan_prefix)["bytes_out"] > 0, "the shortcut carried nothing")

    run_lab(body, provider="none")


def add_attacker(lab: labmod.Lab) -> None:
    """A namespace of its own on the WAN segment, 203.0.113.66 (deleted with the lab)."""
    labmod.run(["ip", "netns", "add", lab.ns("evil")])
    lab.exec_in("wan", ["ip", "link", "add", "evil", "type", "veth", "peer", "eth0", "netns", lab.ns("evil")])
    lab.exec_in("wan", ["ip", "link", "set", "evil", "master", "br0", "up"])
    lab.exec_in("evil", ["ip", "addr", "add", "203.0.113.66/24", "dev", "eth0"])
    lab.exec_in("evil", ["ip", "link", "set", "eth0", "up"])


@test
def test_clear_gre_refused(_=None):
    """With IPsec, GRE is accepted only from the SAs: clear GRE from the WAN (hostile frames and a
    well-formed Registration Request claiming a spoke's address) never reaches the daemons and
    changes nothing; it is dropped and counted at the door."""

    def body(lab, _):
        add_attacker(lab)
        before = lab.registrations()
        hub_received = hub_stats(lab)["transport"]["frames_received"]
        sent = lab.exec_in("evil", [sys.executable, str(HERE / "hostile.py"), "--register", "10.0.0.12",
                                    "203.0.113.66", labmod.HUB_NBMA, lab.spoke(2).nbma], timeout=60).stdout
        print(sent.strip())
        time.sleep(0.5)
        check(lab.registrations() == before, "clear GRE changed the hub's registrations")
        check(hub_stats(lab)["transport"]["frames_received"] == hub_received,
              "clear GRE from the WAN reached the hub daemon")
        dropped = lab.clear_gre_dropped("hub")
        check(dropped >= 200, f"the hub's nftables rule dropped only {dropped} clear GRE packets")
        check(lab.clear_gre_dropped("s2") >= 200, "s2's nftables rule did not drop the clear GRE")
        check(ping(lab, "h1", lab.spoke(2).host_address, count=3).returncode == 0, "legitimate traffic broke")
        print(f"clear GRE dropped at the hub: {dropped} packets; registrations unchanged")

    run_lab(body)


@test
def test_hostile_wan(_=None):
    """Malformed NHRP and GRE from an unregistered address reach the daemons (clear GRE, `none`
    provider) and are dropped and counted; nothing crashes and legitimate traffic continues."""

    def body(lab, _):
        add_attacker(lab)
        before = hub_stats(lab)
        s2_before = lab.ctl("s2", "show", "stats", as_json=True)
        registrations_before = packets(before, "registration-request", "received")
        sent = lab.exec_in("evil", [sys.executable, str(HERE / "hostile.py"), "--register", "10.0.0.12",
                                    "203.0.113.66", labmod.HUB_NBMA, lab.spoke(2).nbma], timeout=60).stdout
        print(sent.strip())
        for key in ("hub", "s1", "s2", "s3"):
            check(labmod.pid_alive(lab.pids[key]), f"{key} died")
        after = hub_stats(lab)
        dropped_before = errors_total(before)
        dropped_after = errors_total(after)
        check(dropped_after > dropped_before, f"the hub counted no errors: {after['errors']} {after['transport']}")
        check(after["registrations"] == before["registrations"], "the hostile input changed the registrations")
        # The well-formed hijack attempt reached the hub, which refused it (s2 registered 10.0.0.12 unique).
        check(packets(after, "registration-request", "received") > registrations_before,
              "the hijack attempt was not even parsed as a Registration Request")
        owner = [r for r in lab.registrations() if r["protocol"] == "10.0.0.12"]
        check(owner and owner[0]["nbma"] == lab.spoke(2).nbma, f"10.0.0.12 was taken over: {owner}")
        s2_after = lab.ctl("s2", "show", "stats", as_json=True)
        check(errors_total(s2_after) > errors_total(s2_before), f"s2 counted nothing: {s2_after}")
        check(ping(lab, "h1", lab.spoke(2).host_address, count=3).returncode == 0, "legitimate traffic broke")
        print(f"hub: errors {dropped_before} -> {dropped_after}; s2: {errors_total(s2_before)} -> "
              f"{errors_total(s2_after)}; all daemons alive; h1 -> h2 works")

    run_lab(body, provider="none")


def errors_total(stats: dict) -> int:
    total = sum(int(v) for v in stats.get("errors", {}).values())
    transport = stats.get("transport", {})
    total += sum(int(v) for k, v in transport.items() if k.startswith("dropped"))
    dataplane = stats.get("dataplane", {})
    total += int(dataplane.get("dropped", 0))
    return total


# Scenarios of other files, registered with the same helpers.
import routing_e2e  # noqa: E402

routing_e2e.register(sys.modules[__name__])
routing_e2e.register_route_flap(sys.modules[__name__])
import hierarchy_e2e  # noqa: E402

hierarchy_e2e.register(sys.modules[__name__])
import trust_e2e  # noqa: E402

trust_e2e.register(sys.modules[__name__])


def main() -> int:
    global BIN
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", type=Path, default=labmod.default_bin_dir())
    parser.add_argument("--list", action="store_true")
    parser.add_argument("tests", nargs="*")
    args = parser.parse_args()
    if args.list:
        print("\n".join(TESTS))
        return 0
    BIN = args.bin.resolve()
    names = list(TESTS) if not args.tests or args.tests == ["all"] else args.tests
    failed = []
    for name in names:
        if name not in TESTS:
            print(f"no test {name}; --list shows them", file=sys.stderr)
            return 2
        started = time.monotonic()
        print(f"=== {name}: {TESTS[name].__doc__.split(chr(10))[0]}", flush=True)
        try:
            TESTS[name]()
            print(f"--- {name}: passed in {time.monotonic() - started:.1f} s", flush=True)
        except Exception as error:  # a failed check, a lab error, a timeout: all fail the test
            traceback.print_exc()
            print(f"--- {name}: FAILED: {error}", flush=True)
            failed.append(name)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
