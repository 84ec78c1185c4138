// Stations on the in-memory fabric for the in-process hub tests
// (route_resolution_test, hierarchy_test): a spoke or a hub's endpoint
// that decodes what reaches it, and the NHRP requests they send.
#pragma once

#include <doctest/doctest.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "base/log.h"
#include "fakes/in_memory_fabric.h"
#include "nhrp/builders.h"
#include "nhrp/codec.h"

namespace advpnd::hub::test {

inline IpAddress ip(const char* text) { return *IpAddress::parse(text); }

// Errors only, for the life of a test (the hubs log every forward).
struct QuietLogs {
  QuietLogs() { log::set_level(log::Level::Error); }
  ~QuietLogs() { log::set_level(log::Level::Info); }
};

inline void send_nhrp(NbmaTransport& from, const IpAddress& to, const nhrp::Packet& packet) {
  auto bytes = nhrp::encode(packet);
  REQUIRE(bytes.ok());
  REQUIRE(from.send(to, nhrp::kGreProtocolNhrp, *bytes, 0xC0).ok());
}

// `who` registers its /32 (holding time 600) at the NHS (nhs_nbma, nhs_protocol), sent from `from`.
inline void register_host(NbmaTransport& from, const nhrp::Sender& who, const IpAddress& nhs_nbma,
                          const IpAddress& nhs_protocol, std::uint32_t request_id) {
  nhrp::RegistrationRequestSpec spec;
  spec.sender = who;
  spec.nhs_protocol = nhs_protocol;
  spec.nhs_nbma = nhs_nbma;
  spec.request_id = request_id;
  spec.holding_time = 600;
  spec.prefix_length = 32;
  send_nhrp(from, nhs_nbma, nhrp::build_registration_request(spec));
}

struct FabricStation {
  struct Received {
    IpAddress from;  // outer source
    nhrp::Packet packet;
  };

  FabricStation(fakes::InMemoryFabric& fabric, IpAddress nbma_address, IpAddress protocol_address)
      : nbma(nbma_address), protocol(protocol_address) {
    auto made = fabric.create_endpoint(nbma);
    REQUIRE(made.ok());
    endpoint = std::move(made).value();
    endpoint->set_handlers({[this](const NbmaFrame& frame) {
                              auto packet = nhrp::decode(frame.payload);
                              REQUIRE(packet.ok());
                              received.push_back({frame.outer_source, *packet});
                            },
                            [] {}});
  }
  [[nodiscard]] nhrp::Sender sender() const { return {nbma, protocol, nhrp::Dialect::Cisco, std::nullopt}; }
  void register_at(const IpAddress& nhs_nbma, const IpAddress& nhs_protocol, std::uint32_t request_id) {
    register_host(*endpoint, sender(), nhs_nbma, nhs_protocol, request_id);
  }
  void resolve_at(const IpAddress& nhs_nbma, const IpAddress& target, std::uint32_t request_id) {
    nhrp::ResolutionRequestSpec spec;
    spec.sender = sender();
    spec.target = target;
    spec.request_id = request_id;
    send_nhrp(*endpoint, nhs_nbma, nhrp::build_resolution_request(spec));
  }
  // The newest packet of `type` received, or nullptr.
  [[nodiscard]] const Received* last_of(nhrp::PacketType type) const {
    for (auto it = received.rbegin(); it != received.rend(); ++it) {
      if (it->packet.type == type) return &*it;
    }
    return nullptr;
  }

  IpAddress nbma;
  IpAddress protocol;
  std::unique_ptr<fakes::FabricTransport> endpoint;
  std::vector<Received> received;
};

}  // namespace advpnd::hub::test
