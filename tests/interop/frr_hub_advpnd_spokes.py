#!/usr/bin/env python3
"""Interop scenario 1: FRR nhrpd as hub (NHS) in a UML guest, two advpnd spokes.

  192.0.2.1   FRR hub         10.0.0.1   (guest: kernel mGRE key 42, `ip nhrp redirect`,
                                          nftables NFLOG group 1 for hair-pinned traffic)
  192.0.2.21  advpnd spoke a  10.0.0.21  (dialect cisco)
  192.0.2.22  advpnd spoke b  10.0.0.22  (dialect frr)

Checks: both spokes register (RFC 2332 5.2.3) and FRR's cache lists them as dynamic entries
with their NBMA; advpnctl shows the NHS registered. Traffic a -> b hair-pins through the FRR
hub's kernel, FRR sends a Traffic Indication (draft-detienne-dmvpn), the advpnd spokes
resolve (RFC 2332 5.2.1, the FRR hub forwards the request) and build a direct shortcut.
"""
import interop_common as C
from interop_common import L, check, eventually


def scenario(lab: L.Lab) -> None:
    hub = lab.add_guest("hub", L.FrrNode(nbma="192.0.2.1", overlay="10.0.0.1", hub=True))
    a_ns = lab.add_host("a", "192.0.2.21")
    b_ns = lab.add_host("b", "192.0.2.22")
    L.log(f"boot times: {lab.boot()}")
    a = lab.spoke("a", a_ns, "192.0.2.21", "10.0.0.21", hub_nbma="192.0.2.1", dialect="cisco")
    b = lab.spoke("b", b_ns, "192.0.2.22", "10.0.0.22", hub_nbma="192.0.2.1", dialect="frr")

    # --- registrations ---------------------------------------------------------------------
    for spoke in (a, b):
        eventually(f"advpnd spoke {spoke.name}: NHS 192.0.2.1 registered",
                   lambda s=spoke: s.ctl("show", "nhs").get("up") == 1, timeout=30)
    for proto, nbma in (("10.0.0.21", "192.0.2.21"), ("10.0.0.22", "192.0.2.22")):
        entry = eventually(f"FRR hub cache lists {proto} as dynamic",
                           lambda p=proto: C.frr_entry(hub.nhrp_cache(), p, {"dynamic"}), timeout=20)
        check(entry["nbma"] == nbma, f"FRR hub: {proto} at NBMA {nbma}", entry)
    hub.save("cache-registered.json", hub.run("vtysh -c 'show ip nhrp cache json'"))
    nhs = a.ctl("show", "nhs")["nhs"][0]
    check(nhs["protocol"] == "10.0.0.1" and nhs["failures"] == 0, "spoke a: NHS 10.0.0.1 without failures", nhs)
    routes = hub.run("ip route show")
    check("10.0.0.21" in routes and "10.0.0.22" in routes, "FRR hub installed routes to both spokes", routes)

    # --- a -> b hair-pins through the FRR hub, redirect, shortcut ------------------------------
    out = L.ping(a, "10.0.0.22", count=3)
    check(L.received(out) >= 2, "ping a -> b (10.0.0.22) through the FRR hub", out)

    def a_shortcut():
        L.ping(a, "10.0.0.22", count=1)
        return C.shortcut_to(a, "192.0.2.22")
    sc = eventually("advpnd spoke a: active shortcut to b (192.0.2.22)", a_shortcut, timeout=40, interval=1)
    check(sc["peer_protocol"] == "10.0.0.22", "a's shortcut peer protocol is 10.0.0.22", sc)
    stats = a.ctl("show", "stats")
    check(stats["shortcuts"]["indications"] >= 1, "spoke a received FRR's Traffic Indication", stats["shortcuts"])
    log = hub.run("cat /var/log/frr/nhrpd.log")
    hub.save("nhrpd.log", log)
    check("Traffic-Indication" in log, "FRR hub log shows the Traffic Indication it sent", None)

    def b_shortcut():
        L.ping(a, "10.0.0.22", count=1)   # b's replies hair-pin until b resolves a too
        return C.shortcut_to(b, "192.0.2.21")
    eventually("advpnd spoke b: active shortcut to a (192.0.2.21)", b_shortcut, timeout=40, interval=1)

    out = L.ping(a, "10.0.0.22", count=5)
    check(L.received(out) >= 4, "a <-> b over the shortcut", out)
    sa = C.shortcut_to(a, "192.0.2.22")
    check(sa["bytes_out"] > 0 and sa["bytes_in"] > 0, "a's shortcut carried traffic both ways", sa)
    # The FRR hub no longer forwards it: its gre1 forward counter stays put.
    def hub_quiet():
        fwd0 = hub.run("cat /sys/class/net/gre1/statistics/tx_packets")
        ok = L.received(L.ping(a, "10.0.0.22", count=3)) >= 2
        fwd1 = hub.run("cat /sys/class/net/gre1/statistics/tx_packets")
        return ok and int(fwd1) - int(fwd0) <= 1   # at most a registration/refresh
    eventually("a <-> b traffic no longer crosses the FRR hub", hub_quiet, timeout=30, interval=1)


if __name__ == "__main__":
    C.run("interop_frr_hub_advpnd_spokes", scenario)
