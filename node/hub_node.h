// One hub, assembled once (issue #10 "shared production assembly"): the
// Next Hop Server and, when there is an overlay device, its user-space
// dataplane, wired the way the daemon runs them. `advpnd hub` builds it
// over the real seams (raw GRE, SQLite, libevent, TUN); the in-process
// tests and benchmarks build the same object over the fakes (in-memory
// fabric, fake store, fake loop, in-memory device), so what the tests run
// is the production wiring, not a copy of it.
#pragma once

#include <memory>
#include <string>

#include "base/clock.h"
#include "base/nbma_transport.h"
#include "base/result.h"
#include "dataplane/hub_dataplane.h"
#include "dataplane/packet_device.h"
#include "db/registration_store.h"
#include "hub/next_hop_server.h"
#include "spoke/nhs_set.h"
#include "spoke/packet_sender.h"
#include "spoke/request_ids.h"

namespace advpnd::node {

struct HubNodeConfig {
  hub::NhsConfig nhs;
  // The hub's own overlay address is always delivered to its device; these
  // are added (LANs behind the hub, or 0.0.0.0/0).
  dataplane::HubDataplaneConfig dataplane;
};

// What the hub runs on. Everything must outlive the node.
struct HubSeams {
  NbmaTransport& transport;
  db::RegistrationStore& store;
  const Clock& clock;
  TimerFactory& timers;
  // The overlay device; null: control plane only (overlay frames are
  // counted and dropped by the NHS).
  dataplane::PacketDevice* overlay = nullptr;
};

class HubNode {
 public:
  HubNode(const HubNodeConfig& config, const HubSeams& seams);
  HubNode(const HubNode&) = delete;
  HubNode& operator=(const HubNode&) = delete;

  // Serves the stored registrations at once and starts taking frames; a
  // regional hub (config.nhs.upstream) registers its own address at the
  // NHSs of the tier above, as a spoke registers (spoke::NhsSet), so that
  // they can forward resolutions and data to it.
  [[nodiscard]] Status<std::string> start();
  // SIGTERM: the open batch (resolver records included) is handed to the
  // store; the daemon waits for the store before the loop stops. A
  // regional hub also purges its registrations upstream (best effort: the
  // Purge Requests leave now; their replies may come after the loop stops).
  void stop();
  // SIGHUP: what may change at run time (hub::NextHopServer::reconfigure).
  void reload(const HubNodeConfig& config);

  [[nodiscard]] hub::NextHopServer& nhs() { return nhs_; }
  [[nodiscard]] const hub::NextHopServer& nhs() const { return nhs_; }
  [[nodiscard]] dataplane::HubDataplane* dataplane() { return dataplane_.get(); }
  [[nodiscard]] const dataplane::HubDataplane* dataplane() const { return dataplane_.get(); }
  // The registrations at the tier above; null on a hub without upstream NHSs.
  [[nodiscard]] const spoke::NhsSet* upstream() const { return upstream_.get(); }
  [[nodiscard]] const spoke::NhcStats& upstream_stats() const { return upstream_stats_; }

 private:
  bool on_client_packet(const NbmaFrame& frame, const nhrp::Packet& packet);

  hub::NextHopServer nhs_;
  spoke::NhcStats upstream_stats_;
  std::unique_ptr<spoke::PacketSender> upstream_sender_;
  // Request IDs of our own registrations upstream: from the top half of the
  // space, apart from the IDs the NHS gives its Purge Requests.
  spoke::RequestIds upstream_ids_{0x80000000u};
  std::unique_ptr<spoke::NhsSet> upstream_;
  std::unique_ptr<dataplane::HubDataplane> dataplane_;  // after nhs_: gives its handler back first
};

}  // namespace advpnd::node
