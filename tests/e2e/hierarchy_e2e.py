"""End-to-end NHS hierarchy of issue #11 (Cisco hierarchical phase 3), registered into e2e.py.

    hierarchy   a central hub C, two regional hubs R1 and R2 registered at it ([[upstream]]), spoke s1
                under R1 and s2 under R2, all real advpnd daemons in their own namespaces on one WAN
                bridge (clear GRE: provider "none"; the routes that BGP would carry are static here).
                s1 -> s2 first climbs R1 -> C -> R2 in the dataplane, R1 redirects s1, s1's resolution
                goes R1 -> C -> R2 and its reply comes back R2 -> C -> R1 -> s1 (checked on the WAN
                capture with advpnd decode: hop counts one less at each NHS, Forward Transit R1, C;
                Reverse Transit C, R1), and then s1 and s2 talk directly, GRE between their own NBMA
                addresses, no hub in between.
"""
from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

WAN_PREFIX = 24
NODES = {
    # node: (NBMA, overlay, overlay prefix length, upstream node or NHS node)
    "c": ("203.0.113.1", "10.0.0.1", 8, None),
    "r1": ("203.0.113.11", "10.1.0.1", 16, "c"),
    "r2": ("203.0.113.12", "10.2.0.1", 16, "c"),
    "s1": ("203.0.113.21", "10.1.0.2", 16, "r1"),
    "s2": ("203.0.113.22", "10.2.0.2", 16, "r2"),
}
HUBS = ("c", "r1", "r2")
SPOKES = ("s1", "s2")


class TierLab:
    def __init__(self, e2e):
        self.e2e = e2e
        self.labmod = e2e.labmod
        self.name = f"e2h{os.getpid()}"
        self.dir = Path(f"/tmp/advpnd-{self.name}")
        self.pids: dict[str, int] = {}
        self.captures: list[subprocess.Popen] = []

    def ns(self, node: str) -> str:
        return f"{self.name}-{node}"

    def exec_in(self, node: str, args: list[str], **kwargs) -> subprocess.CompletedProcess:
        return self.labmod.run(["ip", "netns", "exec", self.ns(node)] + args, **kwargs)

    def socket(self, node: str) -> Path:
        return self.dir / node / "advpnd.sock"

    def ctl(self, node: str, *args: str) -> dict:
        out = self.labmod.run([str(self.e2e.BIN / "advpnctl"), "-s", str(self.socket(node)), *args, "--json"]).stdout
        return json.loads(out)

    # --- up ---------------------------------------------------------------------------------

    def up(self) -> None:
        self.labmod.run(["rm", "-rf", str(self.dir)])
        for node in ("wan", *NODES):
            self.labmod.run(["ip", "netns", "add", self.ns(node)])
            self.exec_in(node, ["ip", "link", "set", "lo", "up"])
            (self.dir / node).mkdir(parents=True, exist_ok=True)
        self.exec_in("wan", ["ip", "link", "add", "br0", "type", "bridge"])
        self.exec_in("wan", ["ip", "link", "set", "br0", "up"])
        for node, (nbma, _, _, _) in NODES.items():
            self.labmod.run(["ip", "link", "add", "eth0", "netns", self.ns(node), "type", "veth", "peer", node,
                             "netns", self.ns("wan")])
            self.exec_in("wan", ["ip", "link", "set", node, "master", "br0", "up"])
            self.exec_in(node, ["ip", "addr", "add", f"{nbma}/{WAN_PREFIX}", "dev", "eth0"])
            self.exec_in(node, ["ip", "link", "set", "eth0", "up"])
        # Every frame on the WAN once: each bridge port, inbound only (from the node).
        for node in NODES:
            self.captures.append(subprocess.Popen(
                ["ip", "netns", "exec", self.ns("wan"), "tcpdump", "-i", node, "-Q", "in", "-U", "--immediate-mode", "-n", "-w",
                 str(self.dir / f"wan-{node}.pcap"), "ip proto 47"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        time.sleep(0.5)
        for node in HUBS:
            self.start(node, "hub", self.hub_config(node))
        for node in SPOKES:
            self.start(node, "spoke", self.spoke_config(node))
        # The routes BGP would carry (next-hop-self on the hubs): the central hub reaches each
        # region through its hub, a regional hub everything else through the central hub.
        self.exec_in("c", ["ip", "route", "add", "10.1.0.0/16", "via", "10.1.0.1", "dev", "advpnd0"])
        self.exec_in("c", ["ip", "route", "add", "10.2.0.0/16", "via", "10.2.0.1", "dev", "advpnd0"])
        for regional in ("r1", "r2"):
            self.exec_in(regional, ["ip", "route", "add", "10.0.0.0/8", "via", "10.0.0.1", "dev", "advpnd0",
                                    "onlink"])

    def hub_config(self, node: str) -> Path:
        nbma, overlay, length, upstream = NODES[node]
        text = f"""[hub]
nbma_address = "{nbma}"
protocol_address = "{overlay}"
overlay_prefix_length = {length}
database = "{self.dir / node / 'hub.db'}"
control_socket = "{self.socket(node)}"
log_level = "debug"

[redirect]
rate_per_minute = 60
burst = 5

[ipsec]
provider = "none"   # clear GRE lab: no charon, NHRP from anyone
"""
        if upstream:
            up_nbma, up_overlay, _, _ = NODES[upstream]
            text += f'\n[[upstream]]\nnbma_address = "{up_nbma}"\nprotocol_address = "{up_overlay}"\n'
        path = self.dir / node / "advpnd.toml"
        path.write_text(text)
        return path

    def spoke_config(self, node: str) -> Path:
        nbma, overlay, length, nhs = NODES[node]
        nhs_nbma, nhs_overlay, _, _ = NODES[nhs]
        path = self.dir / node / "advpnd.toml"
        path.write_text(f"""[spoke]
nbma_address = "{nbma}"
protocol_address = "{overlay}"
overlay_prefix_length = {length}
control_socket = "{self.socket(node)}"
log_level = "debug"

[[nhs]]
nbma_address = "{nhs_nbma}"
protocol_address = "{nhs_overlay}"

[ipsec]
provider = "none"

[routing]
overlay_routes = ["10.0.0.0/8"]   # the rest of the overlay, through the NHS until a shortcut
""")
        return path

    def start(self, node: str, role: str, config: Path) -> None:
        log = open(self.dir / node / "advpnd.log", "a")
        process = subprocess.Popen(["ip", "netns", "exec", self.ns(node), str(self.e2e.BIN / "advpnd"), role,
                                    "--config", str(config)], stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        self.pids[node] = process.pid
        self.e2e.wait_for(lambda: self.socket(node).exists() and self.ctl(node, "show", "stats"), 15,
                          f"advpnd {role} on {node} did not answer")

    # --- down -------------------------------------------------------------------------------

    def down(self, keep_logs: bool) -> None:
        for pid in self.pids.values():
            try:
                os.kill(pid, 15)
            except ProcessLookupError:
                pass
        for pid in self.pids.values():
            self.labmod.reap(pid, 10)
        for capture in self.captures:
            capture.terminate()
            try:
                capture.wait(5)
            except subprocess.TimeoutExpired:
                capture.kill()
                capture.wait()
        for node in ("wan", *NODES):
            self.labmod.run(["ip", "netns", "del", self.ns(node)], check=False)
        if keep_logs:
            print(f"logs kept in {self.dir}")
        else:
            self.labmod.run(["rm", "-rf", str(self.dir)], check=False)

    # --- the capture ------------------------------------------------------------------------

    def nhrp_packets(self) -> list[dict]:
        """Every NHRP packet on the WAN so far (advpnd decode), each with the frame's time."""
        time.sleep(0.5)  # tcpdump --immediate-mode -U writes each packet as it comes
        packets = []
        for node in NODES:
            path = self.dir / f"wan-{node}.pcap"
            out = subprocess.run([str(self.e2e.BIN / "advpnd"), "decode", str(path)], capture_output=True,
                                 text=True).stdout
            packets += [json.loads(line) for line in out.splitlines() if line.strip()]
        return packets

    def gre_frames(self) -> list[dict]:
        frames = []
        for node in NODES:
            frames += self.e2e.read_pcap(self.dir / f"wan-{node}.pcap")
        return sorted(frames, key=lambda f: f["time"])


def transit(packet: dict, kind: str) -> list[str]:
    for extension in packet.get("extensions", []):
        if extension.get("name") == kind:
            return [cie.get("nbma") for cie in extension.get("cies", [])]
    return []


def register(e2e) -> None:
    check, wait_for = e2e.check, e2e.wait_for

    @e2e.test
    def test_hierarchy(_=None):
        """Two tiers of hubs: s1 under R1 reaches s2 under R2 through C, then by a direct shortcut."""
        if os.geteuid() != 0:
            raise e2e.Failure("the end-to-end tests need root (network namespaces, TUN, raw sockets)")
        lab = TierLab(e2e)
        failed = True
        try:
            lab.up()
            nbma = {node: NODES[node][0] for node in NODES}

            def holds(node: str, address: str) -> bool:
                return any(r["protocol"] == address for r in lab.ctl(node, "show", "registrations")["registrations"])

            wait_for(lambda: holds("c", "10.1.0.1") and holds("c", "10.2.0.1"), 15,
                     "the regional hubs registered at the central hub")
            wait_for(lambda: holds("r1", "10.1.0.2") and holds("r2", "10.2.0.2"), 15,
                     "the spokes registered at their regional hubs")
            check(not holds("c", "10.1.0.2"), "a spoke registered at the central hub")
            upstream = lab.ctl("r1", "show", "upstream")
            check(upstream["up"] == 1 and upstream["upstream"][0]["state"] == "registered",
                  f"R1's upstream registration: {upstream}")

            ping = lab.exec_in("s1", ["ping", "-n", "-q", "-c", "5", "-i", "0.2", "-W", "2", "10.2.0.2"],
                               check=False, timeout=20)
            check(ping.returncode == 0, f"s1 -> s2 through the hubs failed: {ping.stdout}")

            def shortcut() -> dict | None:
                for s in lab.ctl("s1", "show", "shortcuts")["shortcuts"]:
                    if s.get("state") == "active" and s.get("peer_nbma") == nbma["s2"]:
                        return s
                return None

            found = wait_for(shortcut, 15, "no active shortcut on s1 to s2's NBMA")
            switched = time.time()
            ping = lab.exec_in("s1", ["ping", "-n", "-q", "-c", "10", "-i", "0.1", "-W", "2", "10.2.0.2"],
                               check=False, timeout=20)
            check(ping.returncode == 0, f"s1 -> s2 over the shortcut failed: {ping.stdout}")

            # The resolution's path on the wire.
            packets = lab.nhrp_packets()
            requests = [p for p in packets if p.get("type") == "resolution-request" and p.get("dst_proto") == "10.2.0.2"
                        and p.get("src_proto") == "10.1.0.2"]
            request_id = requests[0]["request_id"] if requests else None
            check(request_id is not None, f"no resolution request from s1 for s2 on the WAN: "
                                          f"{sorted({p.get('type') for p in packets})}")
            legs = {(p["nbma_src"], p["nbma_dst"]): p for p in requests if p["request_id"] == request_id}
            up1, up2, down = (nbma["s1"], nbma["r1"]), (nbma["r1"], nbma["c"]), (nbma["c"], nbma["r2"])
            check(all(leg in legs for leg in (up1, up2, down)),
                  f"the request did not go s1 -> R1 -> C -> R2: {sorted(legs)}")
            hops = [legs[leg]["hop_count"] for leg in (up1, up2, down)]
            check(hops[1] == hops[0] - 1 and hops[2] == hops[0] - 2, f"hop counts along the way: {hops}")
            check(transit(legs[down], "forward-transit-nhs-record") == [nbma["r1"], nbma["c"]],
                  f"Forward Transit arriving at R2: {transit(legs[down], 'forward-transit-nhs-record')}")
            replies = {(p["nbma_src"], p["nbma_dst"]): p for p in packets
                       if p.get("type") == "resolution-reply" and p.get("request_id") == request_id}
            back = [(nbma["r2"], nbma["c"]), (nbma["c"], nbma["r1"]), (nbma["r1"], nbma["s1"])]
            check(all(leg in replies for leg in back), f"the reply did not come back R2 -> C -> R1 -> s1: "
                                                       f"{sorted(replies)}")
            last = replies[(nbma["r1"], nbma["s1"])]
            check(transit(last, "reverse-transit-nhs-record") == [nbma["c"], nbma["r1"]],
                  f"Reverse Transit arriving at s1: {transit(last, 'reverse-transit-nhs-record')}")
            cie = last["cies"][0]
            check(cie.get("nbma") == nbma["s2"], f"the answer's NBMA is not s2's: {cie}")

            # And the data: GRE straight between s1 and s2 once the shortcut is up.
            frames = [f for f in lab.gre_frames() if f["time"] > switched]
            direct = [f for f in frames if {f["src"], f["dst"]} == {nbma["s1"], nbma["s2"]}]
            via_hubs = [f for f in frames if f["src"] == nbma["s1"] and f["dst"] == nbma["r1"] and f["len"] > 100]
            check(len(direct) >= 10, f"only {len(direct)} GRE frames directly between s1 and s2 for 10 pings")
            check(not via_hubs, f"{len(via_hubs)} data frames from s1 still went to R1 after the switch")
            print(f"request {request_id}: s1 -> R1 -> C -> R2 with hop counts {hops}, reply back with Reverse "
                  f"Transit C, R1; shortcut {found.get('prefix')} on s1; {len(direct)} direct GRE frames s1<->s2")
            failed = False
        finally:
            lab.down(keep_logs=failed)
