#!/usr/bin/env python3
"""Interop scenario 3: Cisco cleartext authentication (RFC 2332 5.3.4, SPI 1 + password, as
Cisco `ip nhrp authentication` and FRR send it) between FRR and advpnd, both directions.

Two NHRP domains share the bridge:
  domain 10.0.0.0/24: advpnd hub H 192.0.2.1 (password "labpass")
      FRR spoke s1  192.0.2.11  10.0.0.11  password "labpass"  -> registers
      FRR spoke s2  192.0.2.12  10.0.0.12  password "wrongpw"  -> refused by advpnd
      advpnd spoke c 192.0.2.23 10.0.0.23  password "labpass"  -> registers; s1 <-> c resolve
  domain 10.0.1.0/24: FRR hub F 192.0.2.2 10.0.1.1 (password "labpass")
      advpnd spoke a 192.0.2.21  10.0.1.21  password "labpass"  -> registers
      advpnd spoke b 192.0.2.22  10.0.1.22  password "wrongpw"  -> refused by FRR

Every refusal is asserted on both sides: the refusing side's log and counters, the refused
side's state (no registration) and its log/counters of the Error Indication (code 11,
RFC 2332 5.3.4/5.2.7) where the refusing side sends one.
"""
import time

import interop_common as C
from interop_common import L, check, eventually

GOOD, BAD = "labpass", "wrongpw"


def scenario(lab: L.Lab) -> None:
    h_ns = lab.add_host("h", "192.0.2.1")
    a_ns = lab.add_host("a", "192.0.2.21")
    b_ns = lab.add_host("b", "192.0.2.22")
    c_ns = lab.add_host("c", "192.0.2.23")
    s1 = lab.add_guest("s1", L.FrrNode(nbma="192.0.2.11", overlay="10.0.0.11", nhs_nbma="192.0.2.1", password=GOOD))
    s2 = lab.add_guest("s2", L.FrrNode(nbma="192.0.2.12", overlay="10.0.0.12", nhs_nbma="192.0.2.1", password=BAD))
    f = lab.add_guest("f", L.FrrNode(nbma="192.0.2.2", overlay="10.0.1.1", hub=True, password=GOOD))
    hub = lab.hub("h", h_ns, "192.0.2.1", dialect="frr", password=GOOD)
    L.log(f"boot times: {lab.boot()}")
    a = lab.spoke("a", a_ns, "192.0.2.21", "10.0.1.21", hub_nbma="192.0.2.2", hub_overlay="10.0.1.1", password=GOOD)
    b = lab.spoke("b", b_ns, "192.0.2.22", "10.0.1.22", hub_nbma="192.0.2.2", hub_overlay="10.0.1.1", password=BAD)
    c = lab.spoke("c", c_ns, "192.0.2.23", "10.0.0.23", hub_nbma="192.0.2.1", password=GOOD)

    # --- right password: works both ways --------------------------------------------------------
    reg = eventually("advpnd hub accepted FRR s1 (right password)", lambda: C.registration(hub, "10.0.0.11"), timeout=30)
    check(reg["nbma"] == "192.0.2.11", "s1's binding has its NBMA", reg)
    eventually("FRR s1: the hub is an NHS entry in its cache",
               lambda: C.frr_entry(s1.nhrp_cache(), "10.0.0.1", {"nhs"}), timeout=20)
    eventually("advpnd spoke a registered with the FRR hub (right password)",
               lambda: a.ctl("show", "nhs").get("up") == 1, timeout=30)
    entry = eventually("FRR hub cache lists advpnd spoke a", lambda: C.frr_entry(f.nhrp_cache(), "10.0.1.21", {"dynamic"}), timeout=20)
    check(entry["nbma"] == "192.0.2.21", "FRR hub: a at 192.0.2.21", entry)
    eventually("advpnd spoke c registered with the advpnd hub", lambda: C.registration(hub, "10.0.0.23"), timeout=20)

    # Resolution through the advpnd hub with authentication on every hop (the NHS regenerates
    # the extension, RFC 2332 5.3.4): FRR s1 and advpnd spoke c build a shortcut.
    def c_shortcut():
        L.ping(s1, "10.0.0.23", count=1)
        return C.shortcut_to(c, "192.0.2.11")
    eventually("authenticated resolution: advpnd spoke c has a shortcut to FRR s1", c_shortcut, timeout=40, interval=1)
    eventually("authenticated resolution: FRR s1's cache holds c (10.0.0.23)",
               lambda: (L.ping(s1, "10.0.0.23", count=1), C.frr_entry(s1.nhrp_cache(), "10.0.0.23", {"dynamic", "cached"}))[1],
               timeout=40, interval=1)

    # --- wrong password, FRR spoke -> advpnd hub: refused ------------------------------------------
    time.sleep(6)   # FRR retries at 1, 2, 4 s (RFC 2332 5.2.3 leaves retransmission local)
    check(C.registration(hub, "10.0.0.12") is None, "advpnd hub: no binding for s2 (wrong password)",
          hub.ctl("show", "registrations"))
    check(not any(r["protocol"] == "10.0.0.12" for r in L.hub_db_rows(f"{lab.dir}/h.db")),
          "advpnd hub SQLite: no row for s2", L.hub_db_rows(f"{lab.dir}/h.db"))
    errors = C.hub_stats(hub).get("errors", {})
    auth_errors = {k: v for k, v in errors.items() if k.startswith("authentication")}
    check(sum(auth_errors.values()) >= 1, "advpnd hub counts authentication failures (show stats)", errors)
    hub_log = hub.log_text()
    check("authentication" in hub_log and "192.0.2.12" in hub_log,
          "advpnd hub log names the authentication failure from 192.0.2.12",
          [l for l in hub_log.splitlines() if "authentication" in l][:3])
    s2_log = s2.run("cat /var/log/frr/nhrpd.log")
    s2.save("nhrpd.log", s2_log)
    check(not C.frr_entry(s2.nhrp_cache(), "10.0.0.1", {"nhs"}), "FRR s2 never got a registration reply", s2.nhrp_cache())
    # advpnd answers with Error Indication 11 (authentication failure, RFC 2332 5.2.7). It
    # carries no authentication extension, so FRR (which wants one on every packet when a
    # password is set) logs it as "error: authentication failure" from the hub: either way the
    # refusal reaches FRR and shows in its log.
    refused_lines = [l for l in s2_log.splitlines()
                     if "Recv Error-Indication" in l or ("192.0.2.1" in l and "authentication failure" in l)]
    check(any("Recv Error-Indication" in l for l in refused_lines),
          "FRR s2 log shows advpnd's refusal (Recv Error-Indication from the hub)", s2_log[-1500:])
    L.log("FRR s2 log: " + " | ".join(refused_lines[:4]))

    # --- wrong password, advpnd spoke -> FRR hub: refused -----------------------------------------
    time.sleep(1)
    nhs = b.ctl("show", "nhs")
    check(nhs.get("up") == 0, "advpnd spoke b: NHS not up (wrong password)", nhs)
    check(not C.frr_entry(f.nhrp_cache(), "10.0.1.22"), "FRR hub: no cache entry for b", f.nhrp_cache())
    f_log = f.run("cat /var/log/frr/nhrpd.log")
    f.save("nhrpd.log", f_log)
    f_refusals = [l for l in f_log.splitlines() if "auth" in l.lower() and ("192.0.2.22" in l or "10.0.1.22" in l or "fail" in l.lower())]
    check(f_refusals, "FRR hub log shows the authentication failure of b", None)
    L.log("FRR hub log: " + " | ".join(f_refusals[:4]))
    b_stats = b.ctl("show", "stats")
    b_nhs = nhs["nhs"][0]
    L.log(f"advpnd spoke b: nhs {b_nhs}, errors {b_stats.get('errors')}")
    check("authentication" in (b_nhs.get("last_error") or ""),
          "advpnd spoke b: the NHS state names FRR's Error Indication 11 (authentication failure)", b_nhs)
    check(b_nhs["state"] != "registered" and b_nhs["failures"] >= 1, "advpnd spoke b counts the failed registrations", b_nhs)

    # FRR (10.3) answers advpnd's Error Indication with an Error Indication of its own (RFC
    # 2332 5.2.7 forbids that); advpnd must not answer it again, or the two would ping-pong.
    packets = {p["type"]: p for p in C.hub_stats(hub)["packets"]}
    ei_sent = packets["error-indication"]["sent"]
    reg_in = packets["registration-request"]["received"]
    check(ei_sent <= reg_in, "advpnd hub sends no Error Indication about an Error Indication (no ping-pong)",
          {"error-indication sent": ei_sent, "registration-request received": reg_in,
           "error-indication received": packets["error-indication"]["received"]})

if __name__ == "__main__":
    # FRR 8.4 (bookworm) has no `ip nhrp authentication`: this scenario runs FRR 10 (trixie).
    C.run("interop_auth", scenario, suite="trixie")
