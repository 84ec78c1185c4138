// The IPsec provider seam (ARCHITECTURE.md): bring up and tear down a
// protected path to a peer's NBMA address, report when it is up or down,
// and read its traffic counters. Implementations: strongSwan over VICI
// (per-peer load-conn + initiate; terminate + unload-conn: stock
// strongSwan, no patches), `none` (clear GRE, explicit opt-in, loud
// warning at start), and a fake for the state-machine tests.
//
// Contract:
//  * ensure(peer) is asynchronous and idempotent: the provider reports
//    TunnelState::Up through the listener once traffic to `peer` is
//    protected (CHILD_SA installed), or Failed with a reason. Calling it
//    again for a peer that is up or coming up changes nothing.
//  * terminate(peer) is asynchronous; Down is reported when it is gone.
//    A tunnel that goes down by itself (peer gone, DPD, charon restart) is
//    reported as Down too.
//  * counters(peer) answers from the last poll (providers poll on their
//    own timer; the idle timeout needs no exact figures).
//  * The listener runs on the event loop, never inside ensure/terminate.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "base/ip_address.h"

namespace advpnd::shortcut {

enum class TunnelState : std::uint8_t { Up, Down, Failed };

struct TunnelCounters {
  std::uint64_t bytes_in = 0;
  std::uint64_t bytes_out = 0;
  std::uint64_t packets_in = 0;
  std::uint64_t packets_out = 0;
  // Seconds since the last packet each way (VICI use-in/use-out); absent if none yet.
  std::optional<std::chrono::seconds> idle_in;
  std::optional<std::chrono::seconds> idle_out;
};

class IpsecProvider {
 public:
  using Listener = std::function<void(const IpAddress& peer, TunnelState state, const std::string& reason)>;

  virtual ~IpsecProvider() = default;
  virtual void set_listener(Listener listener) = 0;
  virtual void ensure(const IpAddress& peer) = 0;
  virtual void terminate(const IpAddress& peer) = 0;
  [[nodiscard]] virtual std::optional<TunnelCounters> counters(const IpAddress& peer) const = 0;
  // "strongswan", "none", "fake": for logs and advpnctl.
  [[nodiscard]] virtual std::string_view name() const = 0;
  // Issue #12: the IKE identity the peer must prove for the tunnel to
  // `peer` (a shortcut: the tunnel address its resolution returned), given
  // before ensure(); empty: any. A provider that authenticates with
  // certificates initiates with it as the remote identity, so charon refuses
  // a certificate that does not name it, and does not count a peer's SA to
  // our template under another identity as this tunnel. Others ignore it.
  virtual void expect_identity(const IpAddress& peer, const std::string& identity) {
    (void)peer;
    (void)identity;
  }
};

}  // namespace advpnd::shortcut
