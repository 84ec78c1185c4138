"""End-to-end scenarios of issue #11 (forwarding by the kernel's routes), registered into e2e.py.

    data_centre            h1 (behind spoke1) <-> dc (behind the hub): the hub hands the data centre
                           to its kernel, the answer comes back through the overlay; advpnd installed
                           the overlay routes itself (proto 173 "advpnd"), none by hand
    spoke_restart_routes   spoke1's advpnd killed with SIGKILL and started again: its overlay routes
                           are back (installed by advpnd, not by hand) and h1 reaches h2 and dc again
    bgp                    FRR (zebra + bgpd) next to advpnd on the hub and every spoke: iBGP over the
                           overlay, hub as route reflector; spokes register only their /32 and announce
                           their LAN. h1 -> h2 goes through the hub, then a shortcut forms for the
                           BGP-learned LAN (the hub forwards the resolution along its route, s2 answers
                           with its route's prefix); the direct path is ESP on the WAN capture; h1 -> dc
    route_flap             the BGP lab with a flow h1 -> h2 running over the shortcut while s2 withdraws its
                           LAN from BGP and announces it again, twice: the flow goes on afterwards, no
                           registration, daemon or BGP session is lost, and the shortcut is back
    ospf                   FRR (zebra + ospfd) on the hub and every spoke: OSPF area 0 over the overlay
                           (broadcast, hub DR, spokes priority 0), carried by advpnd's link-local
                           multicast replication. Every spoke Full with the hub; spokes learn each
                           other's LAN and the data centre by OSPF; h1 -> h2 through the hub, then a
                           shortcut for the OSPF-learned LAN, ESP on the WAN capture
    ospf_multicast_flood   OSPF up as above; s1 floods link-local multicast (a bounded burst at full
                           speed): the hub's per-spoke bound drops most of it, counted, while s2 and
                           s3 stay Full with the hub and every spoke stays registered
"""
from __future__ import annotations

import signal
import subprocess
import time

ADVPND_PROTO = "173"  # routing/kernel_route.h kAdvpndProtocol


def advpnd_routes(e2e, lab, node: str) -> list[str]:
    out = lab.exec_in(node, ["ip", "-4", "route", "show", "proto", ADVPND_PROTO]).stdout
    return [line.split()[0] for line in out.splitlines() if line.strip()]


# A bounded flood of link-local multicast out of the overlay device, from inside a node's
# namespace: COUNT UDP datagrams to 224.0.0.100 (TTL 1) as fast as the socket takes them.
FLOOD = """
import socket, struct, sys
count, source = int(sys.argv[1]), sys.argv[2]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(source))
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
sent = 0
for i in range(count):
    try:
        s.sendto(struct.pack("!I", i) + bytes(60), ("224.0.0.100", 9))
        sent += 1
    except OSError:
        pass
print(sent)
"""


def ospf_route(lab, node: str, prefix: str) -> bool:
    out = lab.exec_in(node, ["ip", "-4", "route", "show", prefix, "proto", "ospf"]).stdout
    return prefix in out


def ospf_full_with_hub(e2e, lab) -> dict[str, str]:
    """The hub's neighbour states by spoke, and each spoke's state of the hub, empty when all Full."""
    wrong = {}
    hub = lab.ospf_neighbors("hub")
    for spoke in lab.spokes:
        state = hub.get(spoke.overlay, "absent")
        if not state.startswith("Full"):
            wrong[f"hub sees {spoke.node}"] = state
        mine = lab.ospf_neighbors(spoke.node).get(e2e.labmod.HUB_OVERLAY, "absent")
        if not mine.startswith("Full"):
            wrong[f"{spoke.node} sees the hub"] = mine
    return wrong


def register(e2e) -> None:
    labmod, check, wait_for, ping, run_lab, hub_stats = (e2e.labmod, e2e.check, e2e.wait_for, e2e.ping, e2e.run_lab,
                                                         e2e.hub_stats)

    @e2e.test
    def test_data_centre(_=None):
        """A host behind a spoke reaches the data centre behind the hub and back (hub kernel routes)."""
        def body(lab, _wan):
            check(advpnd_routes(e2e, lab, "s1") == ["10.1.0.0/16", "10.9.0.0/24"],
                  f"s1's overlay routes installed by advpnd: {advpnd_routes(e2e, lab, 's1')}")
            check(advpnd_routes(e2e, lab, "hub") == ["10.1.0.0/16"],
                  f"the hub's overlay route installed by advpnd: {advpnd_routes(e2e, lab, 'hub')}")
            before = hub_stats(lab)["dataplane"]
            result = ping(lab, "h1", labmod.DC_HOST, count=5)
            check(result.returncode == 0, f"h1 -> dc: {result.stdout.strip()}")
            result = ping(lab, "dc", lab.spoke(2).host_address, count=5)
            check(result.returncode == 0, f"dc -> h2: {result.stdout.strip()}")
            after = hub_stats(lab)["dataplane"]
            check(after["by_kernel_route"] - before["by_kernel_route"] >= 5,
                  f"the hub forwarded by its kernel routes: {before} -> {after}")
            check(after["drops"]["no-route"] == before["drops"]["no-route"],
                  f"nothing dropped for want of a route: {after['drops']}")
        run_lab(body)

    @e2e.test
    def test_spoke_restart_routes(_=None):
        """SIGKILL spoke1's advpnd and start it again: its overlay routes come back by themselves."""
        def body(lab, _wan):
            check(ping(lab, "h1", lab.spoke(2).host_address).returncode == 0, "h1 -> h2 before the restart")
            lab.kill("s1", signal.SIGKILL)
            # The TUN went with the process, and every route through it.
            wait_for(lambda: advpnd_routes(e2e, lab, "s1") == [], 5, "s1's routes gone with its device")
            lab.restart_spoke("s1")
            wait_for(lambda: advpnd_routes(e2e, lab, "s1") == ["10.1.0.0/16", "10.9.0.0/24"], 10,
                     "s1's overlay routes back after the restart")
            lab.wait_registered()
            wait_for(lambda: ping(lab, "h1", lab.spoke(2).host_address, count=1).returncode == 0, 20,
                     "h1 -> h2 after the restart")
            check(ping(lab, "h1", labmod.DC_HOST).returncode == 0, "h1 -> dc after the restart")
        run_lab(body, provider="none")

    @e2e.test
    def test_bgp(_=None):
        """BGP over the overlay (FRR): a shortcut forms for a BGP-learned LAN; the data centre by BGP too."""
        def bgp_route(lab, node: str, prefix: str) -> bool:
            out = lab.exec_in(node, ["ip", "-4", "route", "show", prefix, "proto", "bgp"]).stdout
            return prefix in out

        def body(lab, wan):
            s1, s2 = lab.spoke(1), lab.spoke(2)
            registered = sorted(f"{b['protocol']}/{b['prefix_len']}" for b in lab.registrations())
            check(all(r.endswith("/32") for r in registered), f"spokes registered only their /32: {registered}")
            wait_for(lambda: bgp_route(lab, "s1", s2.lan_prefix), 40, "s1 learned s2's LAN by BGP")
            wait_for(lambda: bgp_route(lab, "s1", labmod.DC_PREFIX), 10, "s1 learned the data centre by BGP")
            wait_for(lambda: bgp_route(lab, "hub", s2.lan_prefix), 10, "the hub learned s2's LAN by BGP")
            before = e2e.hairpins(lab)
            check(ping(lab, "h1", s2.host_address, count=1).returncode == 0, "first ping h1 -> h2 failed")
            check(e2e.hairpins(lab) > before, "the first packet did not go through the hub")
            wait_for(lambda: e2e.active_shortcut(lab, "s1", s2.lan_prefix), 15,
                     f"no shortcut on s1 for the BGP-learned {s2.lan_prefix}")
            # s2 was redirected by the first reply and makes its own shortcut back a few ms
            # later (as in the OSPF scenario): without waiting for it a reply may still hair-pin.
            wait_for(lambda: e2e.active_shortcut(lab, "s2", s1.lan_prefix), 15,
                     f"no shortcut on s2 for the BGP-learned {s1.lan_prefix}")
            switched = time.time()
            before = e2e.hairpins(lab)
            result = ping(lab, "h1", s2.host_address, count=10, interval=0.1)
            check(result.returncode == 0, f"pings over the shortcut failed: {result.stdout}")
            check(e2e.hairpins(lab) == before, "traffic still hair-pins through the hub after the switch")
            result = ping(lab, "h1", labmod.DC_HOST, count=3)
            check(result.returncode == 0, f"h1 -> dc by the BGP route failed: {result.stdout}")
            frames = wan.stop()
            pair = {s1.nbma, s2.nbma}
            direct = [f for f in frames if {f["src"], f["dst"]} == pair and f["time"] > switched]
            esp = [f for f in direct if f.get("kind") == "esp"]
            check(len(esp) >= 20, f"only {len(esp)} ESP frames between s1 and s2 for 10 pings")
            check(not [f for f in frames if f["proto"] == 47], "clear GRE on the WAN")
            print(f"registered: {registered}; shortcut {s2.lan_prefix} on s1; ESP s1<->s2 after the switch: "
                  f"{len(esp)}")
        run_lab(body, capture=True, routing="bgp")

    def wait_ospf(lab) -> None:
        wait_for(lambda: not ospf_full_with_hub(e2e, lab), 30,
                 "OSPF Full between the hub and every spoke")
        for spoke in lab.spokes:
            others = [o.lan_prefix for o in lab.spokes if o is not spoke] + [labmod.DC_PREFIX]
            for prefix in others:
                wait_for(lambda: ospf_route(lab, spoke.node, prefix), 15,
                         f"{spoke.node} learned {prefix} by OSPF")

    @e2e.test
    def test_ospf(_=None):
        """OSPF over the overlay (FRR): adjacencies Full through link-local multicast, a shortcut forms
        for an OSPF-learned LAN, the direct path is ESP on the WAN."""
        def body(lab, wan):
            s1, s2 = lab.spoke(1), lab.spoke(2)
            registered = sorted(f"{b['protocol']}/{b['prefix_len']}" for b in lab.registrations())
            check(all(r.endswith("/32") for r in registered), f"spokes registered only their /32: {registered}")
            started = time.monotonic()
            wait_ospf(lab)
            converged = time.monotonic() - started
            mc = hub_stats(lab)["dataplane"]["multicast"]
            check(mc["frames_in"] > 0 and mc["copies_out"] > 0 and mc["to_device"] > 0,
                  f"the hub replicated the IGP's multicast: {mc}")
            before = e2e.hairpins(lab)
            check(ping(lab, "h1", s2.host_address, count=1).returncode == 0, "first ping h1 -> h2 failed")
            check(e2e.hairpins(lab) > before, "the first packet did not go through the hub")
            wait_for(lambda: e2e.active_shortcut(lab, "s1", s2.lan_prefix), 15,
                     f"no shortcut on s1 for the OSPF-learned {s2.lan_prefix}")
            # The first reply hair-pinned too: s2 was redirected and makes its own shortcut back
            # (a few ms after s1's; without waiting for it a reply may still go through the hub).
            wait_for(lambda: e2e.active_shortcut(lab, "s2", s1.lan_prefix), 15,
                     f"no shortcut on s2 for the OSPF-learned {s1.lan_prefix}")
            switched = time.time()
            before = e2e.hairpins(lab)
            result = ping(lab, "h1", s2.host_address, count=10, interval=0.1)
            check(result.returncode == 0, f"pings over the shortcut failed: {result.stdout}")
            check(e2e.hairpins(lab) == before, "traffic still hair-pins through the hub after the switch")
            result = ping(lab, "h1", labmod.DC_HOST, count=3)
            check(result.returncode == 0, f"h1 -> dc by the OSPF route failed: {result.stdout}")
            check(not ospf_full_with_hub(e2e, lab), f"adjacencies after the shortcut: {ospf_full_with_hub(e2e, lab)}")
            frames = wan.stop()
            pair = {s1.nbma, s2.nbma}
            direct = [f for f in frames if {f["src"], f["dst"]} == pair and f["time"] > switched]
            esp = [f for f in direct if f.get("kind") == "esp"]
            check(len(esp) >= 20, f"only {len(esp)} ESP frames between s1 and s2 for 10 pings")
            check(not [f for f in frames if f["proto"] == 47], "clear GRE on the WAN")
            print(f"registered: {registered}; OSPF Full hub<->every spoke and routes learned "
                  f"{converged:.1f} s after the lab was up; shortcut {s2.lan_prefix} on s1; "
                  f"ESP s1<->s2 after the switch: {len(esp)}; hub multicast {mc}")
        run_lab(body, capture=True, routing="ospf")

    @e2e.test
    def test_ospf_multicast_flood(_=None):
        """A link-local multicast flood from one spoke is bounded at the hub (dropped, counted) while the
        other spokes' OSPF adjacencies stay Full and every registration stays."""
        def body(lab, _wan):
            s1 = lab.spoke(1)
            wait_ospf(lab)
            registered = sorted(b["protocol"] for b in lab.registrations())
            s1_before = lab.ctl("s1", "show", "stats", as_json=True)["dataplane"]["multicast"]
            before = hub_stats(lab)["dataplane"]
            window = time.monotonic()
            flood = 5000
            result = lab.exec_in("s1", ["python3", "-c", FLOOD, str(flood), s1.overlay], timeout=30)
            took = time.monotonic() - window
            check(result.returncode == 0, f"the flood did not run: {result.stderr}")
            # Watch the others for longer than OSPF's dead interval (4 s) after the flood.
            deadline = time.monotonic() + 6
            while time.monotonic() < deadline:
                wrong = {k: v for k, v in ospf_full_with_hub(e2e, lab).items() if "s1" not in k}
                check(not wrong, f"adjacencies of the other spokes during the flood: {wrong}")
                time.sleep(0.5)
            after = hub_stats(lab)["dataplane"]
            window = time.monotonic() - window
            s1_after = lab.ctl("s1", "show", "stats", as_json=True)["dataplane"]["multicast"]
            m0, m1 = before["multicast"], after["multicast"]
            # What s1 sent to the hub (its own [multicast] bound, 500/s burst 1000, took its share).
            arrived = s1_after["copies_out"] - s1_before["copies_out"]
            limited = m1["rate_limited_source"] - m0["rate_limited_source"]
            accepted = m1["frames_in"] - m0["frames_in"]
            check(arrived > 500, f"the flood hardly left s1: {arrived} copies to the hub, s1 {s1_after}")
            # The lab hub's per-spoke bound (deploy/hub.toml defaults): 50/s, burst 100.
            allowed = 100 + 50 * window
            check(limited >= arrived - allowed,
                  f"the per-spoke bound let through {arrived - limited} of s1's {arrived} in {window:.1f} s: {m1}")
            check(after["drops"]["multicast-rate-limited"] - before["drops"]["multicast-rate-limited"] >= limited,
                  f"rate-limited multicast counted as drops: {after['drops']}")
            check(m1["rate_limited_total"] == m0["rate_limited_total"], f"the total bound was not reached: {m1}")
            check(sorted(b["protocol"] for b in lab.registrations()) == registered,
                  f"registrations changed: {lab.registrations()}")
            wait_for(lambda: not ospf_full_with_hub(e2e, lab), 15, "s1 Full with the hub again after the flood")
            print(f"flood of {flood} from s1 in {took:.2f} s: s1 sent {result.stdout.strip()}, its own bound dropped "
                  f"{s1_after['rate_limited_total'] - s1_before['rate_limited_total']}, {arrived} reached the hub; "
                  f"the hub's per-spoke bound dropped {limited}, it accepted {accepted} frames from all spokes in "
                  f"{window:.1f} s; s2/s3 stayed Full, {len(registered)} registrations kept")
        run_lab(body, provider="none", routing="ospf")

def register_route_flap(e2e) -> None:
    labmod, check, wait_for, ping, run_lab = e2e.labmod, e2e.check, e2e.wait_for, e2e.ping, e2e.run_lab

    def bgp_route(lab, node: str, prefix: str) -> bool:
        return prefix in lab.exec_in(node, ["ip", "-4", "route", "show", prefix, "proto", "bgp"]).stdout

    def announce(lab, node: str, prefix: str, on: bool) -> None:
        d = lab.node_dir(node) / "frr"
        lab.exec_in(node, ["vtysh", "--vty_socket", str(d), "-c", "configure terminal", "-c",
                           f"router bgp {labmod.BGP_AS}", "-c", "address-family ipv4 unicast", "-c",
                           ("" if on else "no ") + f"network {prefix}"])

    @e2e.test
    def test_route_flap(_=None):
        """A BGP route flaps (withdrawn, announced again, twice) under a running flow: no state is lost."""
        def body(lab, _wan):
            s2 = lab.spoke(2)
            wait_for(lambda: bgp_route(lab, "s1", s2.lan_prefix), 40, "s1 learned s2's LAN by BGP")
            check(ping(lab, "h1", s2.host_address, count=1).returncode == 0, "first ping h1 -> h2 failed")
            wait_for(lambda: e2e.active_shortcut(lab, "s1", s2.lan_prefix), 15,
                     f"no shortcut on s1 for the BGP-learned {s2.lan_prefix}")
            registrations = sorted((b["protocol"], b["nbma"]) for b in lab.registrations())
            daemons = dict(lab.pids)  # advpnd (hub, s1, s2), charon, zebra and bgpd of every node
            check(len(daemons) >= 12, f"the lab's daemons: {sorted(daemons)}")
            # 20 packets a second for 12 s, bounded; the flaps happen in its first 8 s.
            flow = subprocess.Popen(["ip", "netns", "exec", lab.ns("h1"), "ping", "-n", "-i", "0.05", "-c", "240",
                                     "-W", "1", s2.host_address], stdout=subprocess.PIPE, text=True)
            try:
                for _flap in range(2):
                    time.sleep(1)
                    announce(lab, "s2", s2.lan_prefix, on=False)
                    wait_for(lambda: not bgp_route(lab, "s1", s2.lan_prefix), 10, "the withdrawal reached s1")
                    time.sleep(0.5)
                    announce(lab, "s2", s2.lan_prefix, on=True)
                    wait_for(lambda: bgp_route(lab, "s1", s2.lan_prefix), 10, "the announcement reached s1 again")
                out, _ = flow.communicate(timeout=30)
            finally:
                if flow.poll() is None:
                    flow.kill()
                    flow.wait()
            # Replies of the flow in order of sequence number: the last 3 s must all be answered.
            answered = sorted(int(word.split("=")[1]) for line in out.splitlines() for word in line.split()
                              if word.startswith("icmp_seq="))
            check(len(answered) > 0, f"the flow got no reply at all: {out[-400:]}")
            late = [seq for seq in range(181, 241) if seq not in answered]
            check(not late, f"after the flaps, {len(late)} of the flow's last 60 packets went unanswered: {late[:10]}")
            lost = 240 - len(set(answered))
            check(sorted((b["protocol"], b["nbma"]) for b in lab.registrations()) == registrations,
                  "a registration changed during the flaps")
            for key, pid in daemons.items():
                check(labmod.pid_alive(pid), f"{key} (pid {pid}) died during the flaps")
            wait_for(lambda: e2e.active_shortcut(lab, "s1", s2.lan_prefix), 15,
                     f"the shortcut on s1 for {s2.lan_prefix} is not back after the flaps")
            wait_for(lambda: "Established" in lab.vtysh("s2", f"show bgp neighbor {labmod.HUB_OVERLAY}"), 10,
                     "s2's BGP session to the hub is down after the flaps")
            # While the route is withdrawn h2's LAN has no route at s1: that loss is the network's.
            print(f"flow h1 -> h2: 240 sent, {lost} lost across two withdraw/announce flaps; "
                  f"registrations unchanged ({len(registrations)}); shortcut back on s1")
        run_lab(body, routing="bgp")
