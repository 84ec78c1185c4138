#!/usr/bin/env python3
"""Interop scenario 4: an FRR spoke behind NAT registers with the advpnd hub and resolves an
advpnd spoke (Cisco NAT extension, NHRP-WIRE.md 7.6).

  192.0.2.1    advpnd hub      10.0.0.1
  192.0.2.100  NAT router      (namespace: nftables masquerade out of eth0)
    198.51.100.1  its inside bridge
    198.51.100.11 FRR spoke n1  10.0.0.11  (guest, default route via the NAT router)
  192.0.2.21   advpnd spoke    10.0.0.21

Checks: the hub's binding for 10.0.0.11 carries NBMA 198.51.100.11 (claimed in NHRP) and
post-NAT NBMA 192.0.2.100 (the outer source), in advpnctl and in SQLite; FRR learns it is
NATted (the hub's Registration Reply NAT extension); n1 -> advpnd spoke traffic leads to a
shortcut on both sides, the advpnd spoke's towards the post-NAT address.
"""
import interop_common as C
from interop_common import L, check, eventually


def scenario(lab: L.Lab) -> None:
    hub_ns = lab.add_host("hub", "192.0.2.1")
    sp_ns = lab.add_host("sp", "192.0.2.21")
    nat_ns = lab.add_nat("nat", outside="192.0.2.100", inside="198.51.100.1")
    n1 = lab.add_guest("n1", L.FrrNode(nbma="198.51.100.11", overlay="10.0.0.11", nhs_nbma="192.0.2.1",
                                       gateway="198.51.100.1"), ns=nat_ns, bridge="brn")
    hub = lab.hub("hub", hub_ns, "192.0.2.1", dialect="frr")
    L.log(f"boot times: {lab.boot()}")
    sp = lab.spoke("sp", sp_ns, "192.0.2.21", "10.0.0.21", hub_nbma="192.0.2.1", dialect="frr")

    reg = eventually("advpnd hub: FRR n1 registered", lambda: C.registration(hub, "10.0.0.11"), timeout=30)
    check(reg["nbma"] == "198.51.100.11", "binding keeps the NBMA n1 claims (pre-NAT 198.51.100.11)", reg)
    check(reg["post_nat_nbma"] == "192.0.2.100", "binding's post-NAT NBMA is the NAT router's 192.0.2.100", reg)
    rows = {r["protocol"]: r for r in L.hub_db_rows(f"{lab.dir}/hub.db")}
    check(rows.get("10.0.0.11", {}).get("post_nat_nbma") == "192.0.2.100"
          and rows["10.0.0.11"]["nbma"] == "198.51.100.11",
          "SQLite row: nbma 198.51.100.11, post_nat_nbma 192.0.2.100", rows)
    eventually("FRR n1: the hub is an NHS entry", lambda: C.frr_entry(n1.nhrp_cache(), "10.0.0.1", {"nhs"}), timeout=20)
    eventually("advpnd spoke registered", lambda: sp.ctl("show", "nhs").get("up") == 1, timeout=20)

    # FRR takes its own NAT address from the second CIE of the reply's NAT extension: its
    # local cache entry then shows the post-NAT NBMA.
    local = C.frr_entry(n1.nhrp_cache(), "10.0.0.11", {"local"})
    n1.save("cache-registered.json", n1.run("vtysh -c 'show ip nhrp cache json'"))
    check(local and local.get("nbma") == "192.0.2.100",
          "FRR n1 learned its post-NAT address 192.0.2.100 from the advpnd hub's reply", local)

    # n1 -> advpnd spoke: hair-pin, indication to n1 (through the NAT), resolution, shortcut.
    out = L.ping(n1, "10.0.0.21", count=3)
    check(L.received(out) >= 2, "ping n1 -> advpnd spoke through the hub (and the NAT)", out)

    def n1_resolved():
        L.ping(n1, "10.0.0.21", count=1)
        return C.frr_entry(n1.nhrp_cache(), "10.0.0.21", {"dynamic", "cached"})
    entry = eventually("FRR n1 resolved the advpnd spoke 10.0.0.21", n1_resolved, timeout=40, interval=1)
    check(entry["nbma"] == "192.0.2.21", "n1's entry for the advpnd spoke: NBMA 192.0.2.21", entry)

    def sp_shortcut():
        L.ping(n1, "10.0.0.21", count=1)
        for s in sp.ctl("show", "shortcuts").get("shortcuts", []):
            if s.get("peer_protocol") == "10.0.0.11" and s.get("state") == "active":
                return s
        return None
    sc = eventually("advpnd spoke: active shortcut to n1", sp_shortcut, timeout=40, interval=1)
    check(sc["peer_nbma"] == "192.0.2.100", "the advpnd spoke's shortcut goes to n1's post-NAT address", sc)
    out = L.ping(n1, "10.0.0.21", count=5)
    check(L.received(out) >= 4, "n1 <-> advpnd spoke over the shortcut through the NAT", out)
    sc = C.shortcut_to(sp, "192.0.2.100")
    check(sc and sc["bytes_in"] > 0 and sc["bytes_out"] > 0, "the shortcut carried traffic both ways", sc)


if __name__ == "__main__":
    C.run("interop_nat", scenario)
