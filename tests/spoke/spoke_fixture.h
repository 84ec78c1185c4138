// In-process tier for the spoke: real NHCs (spoke::Nhc) and real hubs
// (hub::NextHopServer with the FakeRegistrationStore) over the in-memory
// NBMA fabric, with the fake clock. Everything a test asserts on the wire
// was captured by the fabric's observer at send time and decoded with
// nhrp::decode (checksum verified).
#pragma once

#include <doctest/doctest.h>

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/log.h"
#include "db/fake_registration_store.h"
#include "fakes/fake_loop.h"
#include "fakes/in_memory_fabric.h"
#include "hub/next_hop_server.h"
#include "node/hub_node.h"
#include "nhrp/builders.h"
#include "nhrp/codec.h"
#include "spoke/nhc.h"

namespace advpnd::spoke::testing {

using namespace std::chrono_literals;
using Bytes = std::vector<std::byte>;

IpAddress ip(const char* text);

inline const IpAddress kHub1Nbma = ip("203.0.113.1");
inline const IpAddress kHub1Protocol = ip("10.0.0.1");
inline const IpAddress kHub2Nbma = ip("203.0.113.2");
inline const IpAddress kHub2Protocol = ip("10.0.0.254");
inline const IpAddress kSpokeANbma = ip("198.51.100.2");
inline const IpAddress kSpokeAProtocol = ip("10.0.0.2");
inline const IpAddress kSpokeBNbma = ip("198.51.100.3");
inline const IpAddress kSpokeBProtocol = ip("10.0.0.3");

// One packet as the fabric's observer saw it leave its sender.
struct WireRecord {
  MonotonicTime at{};
  IpAddress sender;
  IpAddress outer_source;
  IpAddress destination;
  Bytes bytes;
  nhrp::Packet packet;
};

struct TestHub {
  TestHub(fakes::InMemoryFabric& fabric, fakes::FakeLoop& loop, IpAddress nbma_address, IpAddress protocol_address,
          const std::function<void(hub::NhsConfig&)>& tweak);
  [[nodiscard]] bool has_binding(const IpAddress& protocol) const;
  [[nodiscard]] const db::Binding* binding(const IpAddress& protocol) const;

  IpAddress nbma;
  IpAddress protocol;
  std::unique_ptr<fakes::FabricTransport> transport;
  db::FakeRegistrationStore store;
  std::unique_ptr<node::HubNode> assembled;  // the daemon's assembly (node/hub_node.h), control plane only
  hub::NextHopServer* server = nullptr;
};

struct TestSpoke {
  TestSpoke(fakes::InMemoryFabric& fabric, fakes::FakeLoop& loop, NhcConfig config);
  [[nodiscard]] NhsStatus status(std::size_t index = 0) const { return nhc->servers().status().at(index); }
  [[nodiscard]] NhsRegistration& registration(std::size_t index = 0) const {
    return *nhc->servers().registrations().at(index);
  }

  IpAddress nbma;
  IpAddress protocol;
  std::unique_ptr<fakes::FabricTransport> transport;
  std::unique_ptr<Nhc> nhc;
};

// A bare fabric endpoint for a test to play a station by hand.
struct RawStation {
  RawStation(fakes::InMemoryFabric& fabric, IpAddress nbma_address);
  void send(const IpAddress& to, const nhrp::Packet& packet);
  void send_bytes(const IpAddress& to, std::span<const std::byte> bytes, std::uint16_t gre = nhrp::kGreProtocolNhrp);

  IpAddress nbma;
  std::unique_ptr<fakes::FabricTransport> transport;
  std::vector<nhrp::Packet> received;
};

// Spoke defaults for the tests: hold 600 s, no jitter (exact times), Cisco.
NhcConfig spoke_config(IpAddress nbma, IpAddress protocol, std::vector<NhsEntry> servers);

class Network {
 public:
  Network();
  ~Network();
  Network(const Network&) = delete;
  Network& operator=(const Network&) = delete;

  TestHub& add_hub(IpAddress nbma, IpAddress protocol, const std::function<void(hub::NhsConfig&)>& tweak = {});
  // Builds and starts a spoke.
  TestSpoke& add_spoke(NhcConfig config);
  RawStation& add_station(IpAddress nbma);

  void run() { loop.run_until_idle(); }
  void advance(Duration delta) { loop.advance(delta); }
  [[nodiscard]] Duration since_start() const { return loop.now() - start_; }
  [[nodiscard]] Duration since(MonotonicTime t) const { return loop.now() - t; }

  // What `sender` put on the wire, of `type`, in order.
  [[nodiscard]] std::vector<WireRecord> sent(const IpAddress& sender, nhrp::PacketType type) const;
  [[nodiscard]] std::size_t count(const IpAddress& sender, nhrp::PacketType type) const {
    return sent(sender, type).size();
  }
  // Log lines captured (component "nhc").
  [[nodiscard]] bool logged(const std::string& needle) const;

  fakes::FakeLoop loop;
  fakes::InMemoryFabric fabric;
  std::vector<WireRecord> wire;
  std::vector<IpAddress> undecodable_from;
  std::vector<std::string> log_lines;

 private:
  MonotonicTime start_;
  std::deque<std::unique_ptr<TestHub>> hubs_;
  std::deque<std::unique_ptr<RawStation>> stations_;
  std::deque<std::unique_ptr<TestSpoke>> spokes_;
};

}  // namespace advpnd::spoke::testing
