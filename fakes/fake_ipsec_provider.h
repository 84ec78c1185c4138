// FakeIpsecProvider: the IPsec provider for state-machine tests. It records
// every ensure/terminate, and the test decides when (and whether) a tunnel
// comes up, fails or goes down; events reach the listener through the
// FakeLoop, never inside ensure/terminate (the provider contract).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "fakes/fake_loop.h"
#include "shortcut/dataplane.h"
#include "shortcut/ipsec_provider.h"

namespace advpnd::fakes {

class FakeIpsecProvider final : public shortcut::IpsecProvider {
 public:
  explicit FakeIpsecProvider(FakeLoop& loop) : loop_(loop) {}

  void set_listener(Listener listener) override { listener_ = std::move(listener); }
  void ensure(const IpAddress& peer) override;
  void terminate(const IpAddress& peer) override;
  [[nodiscard]] std::optional<shortcut::TunnelCounters> counters(const IpAddress& peer) const override;
  [[nodiscard]] std::string_view name() const override { return "fake"; }
  void expect_identity(const IpAddress& peer, const std::string& identity) override { expected[peer] = identity; }

  // Test controls: report a state for `peer` (posted to the loop).
  void report(const IpAddress& peer, shortcut::TunnelState state, std::string reason = {});
  // When set, ensure() reports Up by itself (posted), like the `none` provider.
  bool auto_up = false;

  std::vector<IpAddress> ensured;
  std::vector<IpAddress> terminated;
  std::map<IpAddress, bool> up;  // what the fake believes is up
  std::map<IpAddress, std::string> expected;  // expect_identity, the last per peer
  // What counters() reports for a tunnel that is up (charon's list-sas sum).
  std::map<IpAddress, shortcut::TunnelCounters> tunnel_counters;
  std::vector<std::string>* journal = nullptr;  // shared with FakeDataplane: the order of calls

 private:
  FakeLoop& loop_;
  Listener listener_;
};

// FakeDataplane: records the route changes in order and serves counters the test sets.
class FakeDataplane final : public shortcut::ShortcutDataplane {
 public:
  struct Change {
    shortcut::Prefix prefix;
    IpAddress peer;  // empty: back via the hub
  };
  void route_via_peer(const shortcut::Prefix& prefix, const IpAddress& peer_nbma, std::uint16_t mtu) override;
  void route_via_hub(const shortcut::Prefix& prefix) override;
  [[nodiscard]] std::optional<shortcut::PeerCounters> counters(const IpAddress& peer_nbma) const override;

  // The test's traffic: adds packets to the peer's counters.
  void traffic(const IpAddress& peer, std::uint64_t packets = 1, std::uint64_t bytes = 100);
  [[nodiscard]] std::optional<IpAddress> route(const shortcut::Prefix& prefix) const;

  std::vector<Change> changes;
  std::map<shortcut::Prefix, IpAddress> routes;
  std::map<IpAddress, shortcut::PeerCounters> peer_counters;
  // Shared with FakeIpsecProvider users to check the order of route and tunnel calls.
  std::vector<std::string>* journal = nullptr;
};

}  // namespace advpnd::fakes
