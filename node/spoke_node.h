// One spoke, assembled once (issue #10 "shared production assembly"): the
// spoke agent (NHC + shortcut layer) and its dataplane, wired the way the
// daemon runs them — overlay frames from the NBMA side to the dataplane,
// traffic without a shortcut to the primary NHS (fail-over). `advpnd spoke`
// builds it over the real seams (raw GRE, TUN, strongSwan, libevent); the
// in-process tests and benchmarks build the same object over the fakes.
//
// The dataplane is the user-space SpokeDataplane over `overlay` when a
// device is given; tests of the control plane alone may hand in another
// shortcut::ShortcutDataplane (a fake that records routes) instead.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "agent/spoke_agent.h"
#include "base/clock.h"
#include "base/nbma_transport.h"
#include "base/result.h"
#include "dataplane/packet_device.h"
#include "dataplane/spoke_dataplane.h"
#include "shortcut/dataplane.h"
#include "shortcut/ipsec_provider.h"

namespace advpnd::node {

struct SpokeNodeConfig {
  agent::SpokeAgentConfig agent;
  dataplane::SpokeDataplaneConfig dataplane;
};

// What the spoke runs on. Everything must outlive the node. Exactly one of
// `overlay` (the production dataplane over it) and `external_dataplane`.
struct SpokeSeams {
  NbmaTransport& transport;
  shortcut::IpsecProvider& provider;
  const Clock& clock;
  TimerFactory& timers;
  dataplane::PacketDevice* overlay = nullptr;
  shortcut::ShortcutDataplane* external_dataplane = nullptr;
};

class SpokeNode {
 public:
  // Called with the primary NHS's NBMA (empty: none is up) after the
  // dataplane was told; the daemon logs it.
  using PrimaryChanged = std::function<void(const IpAddress& nbma)>;

  SpokeNode(const SpokeNodeConfig& config, const SpokeSeams& seams, PrimaryChanged on_primary = {});
  SpokeNode(const SpokeNode&) = delete;
  SpokeNode& operator=(const SpokeNode&) = delete;

  // Tunnels to the NHSs, then registrations over them.
  [[nodiscard]] Status<std::string> start();
  // SIGTERM: shortcuts back to the hub, tunnels down, registrations purged;
  // `done` runs when finished.
  void stop(std::function<void()> done);

  [[nodiscard]] agent::SpokeAgent& agent() { return *agent_; }
  [[nodiscard]] const agent::SpokeAgent& agent() const { return *agent_; }
  // The user-space dataplane; null when an external one was handed in.
  [[nodiscard]] dataplane::SpokeDataplane* dataplane() { return own_dataplane_.get(); }
  [[nodiscard]] const dataplane::SpokeDataplane* dataplane() const { return own_dataplane_.get(); }

 private:
  static shortcut::ShortcutDataplane& pick(const SpokeSeams& seams, std::unique_ptr<dataplane::SpokeDataplane>& own,
                                           const dataplane::SpokeDataplaneConfig& config);

  std::unique_ptr<dataplane::SpokeDataplane> own_dataplane_;  // before agent_: outlives it
  std::unique_ptr<agent::SpokeAgent> agent_;
  PrimaryChanged on_primary_;
};

}  // namespace advpnd::node
