#!/usr/bin/env python3
"""Interop scenario 2: advpnd as hub (NHS), FRR nhrpd spokes in UML guests, one advpnd spoke.

  192.0.2.1   advpnd hub      10.0.0.1   (namespace, user-space GRE + TUN, dialect frr)
  192.0.2.11  FRR spoke s1    10.0.0.11  (guest, kernel mGRE key 42)
  192.0.2.12  FRR spoke s2    10.0.0.12  (guest)
  192.0.2.21  advpnd spoke    10.0.0.21  (namespace, provider none: clear GRE)

Checks, both sides each time:
  - registrations (RFC 2332 5.2.3): rows in the hub's SQLite and advpnctl; FRR's NHS entry up
  - FRR <-> FRR shortcut through advpnd's Traffic Indication (draft-detienne-dmvpn) and
    resolution (RFC 2332 5.2.1): FRR's cache holds the other spoke as a dynamic entry, and
    traffic stops hair-pinning through the hub
  - FRR <-> advpnd spoke shortcut, both directions: advpnctl shows an active shortcut to the
    FRR spoke's NBMA; FRR's cache shows the advpnd spoke
"""
import interop_common as C
from interop_common import L, check, eventually


def scenario(lab: L.Lab) -> None:
    hub_ns = lab.add_host("hub", "192.0.2.1")
    sp_ns = lab.add_host("sp", "192.0.2.21")
    s1 = lab.add_guest("s1", L.FrrNode(nbma="192.0.2.11", overlay="10.0.0.11", nhs_nbma="192.0.2.1"))
    s2 = lab.add_guest("s2", L.FrrNode(nbma="192.0.2.12", overlay="10.0.0.12", nhs_nbma="192.0.2.1"))
    hub = lab.hub("hub", hub_ns, "192.0.2.1", dialect=C.ARGS.dialect)
    boot = lab.boot()
    L.log(f"boot times: {boot}")
    sp = lab.spoke("sp", sp_ns, "192.0.2.21", "10.0.0.21", hub_nbma="192.0.2.1", dialect=C.ARGS.dialect)

    # --- registrations ---------------------------------------------------------------------
    for proto, nbma in (("10.0.0.11", "192.0.2.11"), ("10.0.0.12", "192.0.2.12"), ("10.0.0.21", "192.0.2.21")):
        reg = eventually(f"advpnctl show registrations lists {proto} at {nbma}",
                         lambda p=proto: C.registration(hub, p), timeout=30)
        check(reg["nbma"] == nbma, f"{proto} registered with NBMA {nbma}", reg)
    rows = {r["protocol"]: r for r in L.hub_db_rows(f"{lab.dir}/hub.db")}
    for proto, nbma in (("10.0.0.11", "192.0.2.11"), ("10.0.0.12", "192.0.2.12"), ("10.0.0.21", "192.0.2.21")):
        check(proto in rows and rows[proto]["nbma"] == nbma and rows[proto]["prefix_len"] == 32,
              f"SQLite binding row {proto}/32 -> {nbma}", rows)
    audit = L.hub_audit(f"{lab.dir}/hub.db")
    for proto in ("10.0.0.11", "10.0.0.12", "10.0.0.21"):
        check(any(a["kind"] == "registered" and a["protocol"] == proto for a in audit),
              f"SQLite audit log records the registration of {proto}", audit)
    # FRR spokes run `registration no-unique` (flags 0x0002): stored as not unique.
    check(rows["10.0.0.11"]["unique"] == 0, "FRR no-unique registration stored with is_unique 0", rows["10.0.0.11"])
    for g in (s1, s2):
        nhs = g.nhrp_nhs()
        check(any(n.get("protocol") == "10.0.0.1" and n.get("nbma") == "192.0.2.1" for n in nhs),
              f"FRR {g.name} learned the NHS protocol address 10.0.0.1 (nhs dynamic)", nhs)
        cache = g.nhrp_cache()
        check(C.frr_entry(cache, "10.0.0.1", {"nhs"}), f"FRR {g.name} cache has the hub as type nhs", cache)
    nhs = sp.ctl("show", "nhs")
    check(nhs.get("up") == 1, "advpnd spoke: its NHS is up", nhs)

    # --- FRR s1 <-> FRR s2 through advpnd's redirect ------------------------------------------
    before = C.hub_stats(hub)
    out = L.ping(s1, "10.0.0.12", count=3)
    check(L.received(out) >= 2, "ping s1 -> s2 (10.0.0.12) over the hub", out)
    stats = eventually("hub sent Traffic Indications for the hair-pin",
                       lambda: (lambda s: s if s["redirect"]["indications_sent"] > before["redirect"]["indications_sent"] else None)(C.hub_stats(hub)),
                       timeout=10)
    check(stats["dataplane"]["hairpinned"] > before["dataplane"]["hairpinned"], "hub hair-pinned s1 -> s2", stats)

    def s1_has_shortcut():
        L.ping(s1, "10.0.0.12", count=1)
        return C.frr_entry(s1.nhrp_cache(), "10.0.0.12", {"dynamic", "cached"})
    entry = eventually("FRR s1's cache holds s2 (10.0.0.12) as a resolved shortcut entry", s1_has_shortcut, timeout=40, interval=1)
    check(entry["nbma"] == "192.0.2.12", "s1's shortcut entry points at s2's NBMA", entry)
    s1.save("cache-after-shortcut.json", s1.run("vtysh -c 'show ip nhrp cache json'"))
    route = s1.run("ip route get 10.0.0.12")
    check("via" not in route.split("dev")[0], "s1 routes 10.0.0.12 directly on gre1 (no longer via the hub)", route)

    def stopped_hairpinning():
        # Both directions resolve (s2 gets its own indication for the replies); then pings
        # between the two FRR spokes no longer cross the advpnd hub.
        h0 = C.hairpins(hub)
        ok = L.received(L.ping(s1, "10.0.0.12", count=3)) >= 2
        return ok and C.hairpins(hub) == h0
    eventually("s1 <-> s2 traffic bypasses the hub (hair-pin counter stops)", stopped_hairpinning, timeout=40, interval=1)

    # --- FRR s1 -> advpnd spoke, and the advpnd spoke's own shortcut back --------------------
    out = L.ping(s1, "10.0.0.21", count=3)
    check(L.received(out) >= 2, "ping FRR s1 -> advpnd spoke 10.0.0.21", out)

    def s1_cache_has_sp():
        L.ping(s1, "10.0.0.21", count=1)
        return C.frr_entry(s1.nhrp_cache(), "10.0.0.21", {"dynamic", "cached"})
    entry = eventually("FRR s1's cache holds the advpnd spoke 10.0.0.21", s1_cache_has_sp, timeout=40, interval=1)
    check(entry["nbma"] == "192.0.2.21", "s1's entry for the advpnd spoke has its NBMA 192.0.2.21", entry)

    def sp_shortcut_to_s1():
        L.ping(s1, "10.0.0.21", count=1)   # the replies hair-pin until sp resolves 10.0.0.11
        return C.shortcut_to(sp, "192.0.2.11")
    sc = eventually("advpnd spoke: active shortcut to FRR s1 (192.0.2.11)", sp_shortcut_to_s1, timeout=40, interval=1)
    check(sc["peer_protocol"] == "10.0.0.11", "the shortcut's peer protocol address is 10.0.0.11", sc)

    # --- advpnd spoke -> FRR s2: the advpnd spoke initiates ------------------------------------
    out = L.ping(sp, "10.0.0.12", count=3)
    check(L.received(out) >= 2, "ping advpnd spoke -> FRR s2 10.0.0.12", out)

    def sp_shortcut_to_s2():
        L.ping(sp, "10.0.0.12", count=1)
        return C.shortcut_to(sp, "192.0.2.12")
    eventually("advpnd spoke: active shortcut to FRR s2 (192.0.2.12)", sp_shortcut_to_s2, timeout=40, interval=1)

    def s2_cache_has_sp():
        L.ping(sp, "10.0.0.12", count=1)
        return C.frr_entry(s2.nhrp_cache(), "10.0.0.21", {"dynamic", "cached"})
    entry = eventually("FRR s2's cache holds the advpnd spoke 10.0.0.21", s2_cache_has_sp, timeout=40, interval=1)
    check(entry["nbma"] == "192.0.2.21", "s2's entry for the advpnd spoke has NBMA 192.0.2.21", entry)
    for g in (s1, s2):
        g.save("nhrpd.log", g.run("cat /var/log/frr/nhrpd.log"))
    out = L.ping(sp, "10.0.0.12", count=5)
    check(L.received(out) >= 4, "advpnd spoke <-> FRR s2 over the shortcut", out)
    shortcuts = sp.ctl("show", "shortcuts")
    s = C.shortcut_to(sp, "192.0.2.12")
    check(s and s["bytes_out"] > 0, "the advpnd spoke's shortcut to s2 carried traffic", shortcuts)


if __name__ == "__main__":
    C.run("interop_advpnd_hub_frr_spokes", scenario)
