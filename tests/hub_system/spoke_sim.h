// Simulated spokes for the hub system tests: crafted NHRP packets (the
// nhrp/builders.h dialects, or hostile bytes) sent to the real hub over a
// raw IPv4 socket with IP_HDRINCL, so each spoke has its own 127.x.y.z
// source address, the way bench/hub_load.cpp does it.
//
// A socket filter lets only packets *from* the hub's NBMA address through,
// not the loopback copies of our own requests. Whatever arrives is decoded and queued; wait_for() takes the
// first queued packet that matches and leaves the others for later waits.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "base/ip_address.h"
#include "nhrp/builders.h"
#include "nhrp/codec.h"
#include "platform/unique_fd.h"

namespace advpnd::test {

// One spoke as the hub sees it.
struct SimSpoke {
  SimSpoke(IpAddress source_address, IpAddress nbma_address, IpAddress protocol_address,
           nhrp::Dialect spoke_dialect = nhrp::Dialect::Cisco, std::optional<std::string> auth = std::nullopt)
      : source(source_address),
        nbma(nbma_address),
        protocol(protocol_address),
        dialect(spoke_dialect),
        password(std::move(auth)) {}

  IpAddress source;    // outer IPv4 source (post-NAT NBMA)
  IpAddress nbma;      // NBMA it claims in its packets (differs from source: NATted)
  IpAddress protocol;  // tunnel (overlay) address
  nhrp::Dialect dialect;
  std::optional<std::string> password;

  [[nodiscard]] nhrp::Sender sender() const { return {nbma, protocol, dialect, password}; }
};

// Spoke `index` (0-based) of a numbered population: NBMA = source =
// 127.16.0.0 + index + 1, protocol 10.64.0.0 + index + 1 (bench/hub_load.cpp).
[[nodiscard]] SimSpoke numbered_spoke(std::uint32_t index);

// A packet the hub sent, with the address it was sent to.
struct HubPacket {
  IpAddress destination;
  nhrp::Packet packet;
};

class SpokeWire {
 public:
  SpokeWire();  // REQUIREs the raw socket (root)

  // The packet encoded, in GRE (protocol 0x2001), in IPv4 from `source` to the hub.
  void send(const IpAddress& source, const nhrp::Packet& packet);
  // Any GRE payload (hostile input) with the given GRE protocol type.
  void send_gre(const IpAddress& source, std::uint16_t gre_protocol, std::span<const std::byte> payload);
  // Any bytes after the IPv4 header (garbage that is not even GRE).
  void send_ip_payload(const IpAddress& source, std::span<const std::byte> payload);

  // The first packet (queued or arriving within `timeout`) that matches;
  // it is taken out of the queue.
  [[nodiscard]] std::optional<HubPacket> wait_for(const std::function<bool(const HubPacket&)>& match,
                                                  std::chrono::milliseconds timeout = std::chrono::milliseconds(3000));
  // Reads what is readable now (waiting at most `timeout_ms` for the first) into the queue.
  void poll(int timeout_ms);
  // Reads into the queue for `window`.
  void poll_for(std::chrono::milliseconds window);
  // Everything that arrives within `window`, the queue included; the queue is emptied.
  [[nodiscard]] std::vector<HubPacket> collect(std::chrono::milliseconds window);
  [[nodiscard]] std::deque<HubPacket>& queue() { return queue_; }
  // Frames from the hub that did not decode as NHRP (the hub must not send any).
  [[nodiscard]] std::size_t undecodable() const { return undecodable_; }

 private:
  platform::UniqueFd fd_;
  std::vector<std::byte> buffer_;  // one received datagram
  std::deque<HubPacket> queue_;
  std::size_t undecodable_ = 0;
};

// Requests as the spoke's dialect builds them, to the test hub (hub_process.h).
[[nodiscard]] nhrp::Packet registration_request(const SimSpoke& spoke, std::uint32_t request_id,
                                                std::uint16_t holding_time = 7200);
[[nodiscard]] nhrp::Packet resolution_request(const SimSpoke& spoke, const IpAddress& target, std::uint32_t request_id);
// The spoke purges its own registration (CIE {host prefix, own protocol}).
[[nodiscard]] nhrp::Packet purge_request(const SimSpoke& spoke, std::uint32_t request_id);

// Matches a reply of `type` with `request_id` sent to `spoke`.
[[nodiscard]] std::function<bool(const HubPacket&)> reply_to(const SimSpoke& spoke, nhrp::PacketType type,
                                                             std::uint32_t request_id);
// Sends `request` and waits for its reply of `reply_type`; nullopt on timeout.
[[nodiscard]] std::optional<nhrp::Packet> exchange(SpokeWire& wire, const SimSpoke& spoke, const nhrp::Packet& request,
                                                   nhrp::PacketType reply_type);
// Registers and returns the code of the reply's first CIE (nullopt: no reply).
[[nodiscard]] std::optional<nhrp::CieCode> register_spoke(SpokeWire& wire, const SimSpoke& spoke,
                                                          std::uint32_t request_id);

}  // namespace advpnd::test
