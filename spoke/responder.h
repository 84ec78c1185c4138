// Answers Resolution Requests forwarded to this spoke (RFC 2332 5.2.1,
// 5.2.2; NHRP-WIRE.md 8.3 step 4) for its own tunnel address and the local
// prefixes behind it, and Purge Requests addressed to it (5.2.5).
//
// A positive reply carries one CIE {code 0, prefix = the matching local
// prefix's length, or the address width for our own address, MTU, holding
// time, our NBMA and tunnel address}, flags per dialect (Cisco 0xF802, FRR
// Q|S copied + A|D), and goes straight to the requester's NBMA as Cisco
// does (9.7): the NAT extension's CIE for the requester when present (the
// forwarding hub fills it for a NATted requester), else the request's
// Source NBMA. The requester's binding is cached for the shortcut layer.
//
// A request for an address we do not serve gets a NAK with code 12: the
// request ended its path here (a spoke forwards nothing), and RFC 2332
// 5.2.2 has the last station on the path answer "no binding exists" with
// holding time 0, which lets the requester negative-cache at once instead
// of retrying for 30 s.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "base/clock.h"
#include "base/ip_address.h"
#include "base/nbma_transport.h"
#include "base/token_bucket.h"
#include "nhrp/builders.h"
#include "nhrp/packet.h"
#include "spoke/local_prefix.h"
#include "spoke/packet_sender.h"
#include "spoke/peer_cache.h"
#include "spoke/request_ids.h"

namespace advpnd::spoke {

struct ResponderConfig {
  nhrp::Sender self;
  std::uint16_t holding_time = nhrp::kDefaultHoldingTime;
  std::uint16_t mtu = 0;
  std::vector<LocalPrefix> local_prefixes;
  std::size_t max_peers = 4096;
  TokenRate reply_rate{50.0, 100.0};  // replies of any kind: we never become a reflector
};

// One binding a Purge Request told us to forget (RFC 2332 5.2.5).
struct PurgedBinding {
  IpAddress protocol;
  std::uint8_t prefix_length = 0;
  IpAddress nbma;       // as the CIE names it (may be empty)
  IpAddress purged_by;  // outer source of the Purge Request
};

class Responder {
 public:
  // `own_nat` gives our post-NAT NBMA (empty when not NATted), for the
  // reply's NAT extension.
  // SIGHUP: the Cisco password of the replies sent from now on.
  void set_auth_password(const std::optional<std::string>& password) { config_.self.auth_password = password; }
  Responder(ResponderConfig config, PacketSender& sender, const Clock& clock, std::function<IpAddress()> own_nat);
  Responder(const Responder&) = delete;
  Responder& operator=(const Responder&) = delete;

  void on_resolution_request(const NbmaFrame& frame, const nhrp::Packet& request);
  // Replies go straight to the requester's NBMA address. Before each one
  // the gate decides when and where it leaves: at once (no gate), or, as
  // on Cisco DMVPN phase 3, once the IPsec tunnel to the requester is up
  // (agent/tunnel_broker.h) so that it does not fail closed; or through an
  // NHS (send(nhs_nbma)) when the requester cannot be reached directly.
  // `requester_protocol`: the requester's tunnel address, the reply's
  // source protocol address (issue #12: the identity its IKE peer must prove).
  using ReplyGate = std::function<void(const IpAddress& requester_nbma, const IpAddress& requester_protocol,
                                       std::function<void(const IpAddress& send_to)> send)>;
  void set_reply_gate(ReplyGate gate) { gate_ = std::move(gate); }
  // Destinations our own kernel routes to a LAN (not the overlay, not the
  // WAN): the prefix length of that route, or nullopt. Consulted after the
  // configured local prefixes, so a LAN learned by routing is answered as
  // Cisco spokes do, without register_local_prefixes.
  using RoutedPrefix = std::function<std::optional<std::uint8_t>(const IpAddress& target)>;
  void set_routed_prefix(RoutedPrefix routed) { routed_ = std::move(routed); }
  // Removes what the request names from the peer cache, replies unless N
  // is set, and returns every CIE it named (for the shortcut layer).
  std::vector<PurgedBinding> on_purge_request(const NbmaFrame& frame, const nhrp::Packet& request);

  // Clean stop (RFC 2332 5.2.5): a Purge Request, N set, to every
  // requester whose binding of us from a reply we sent has not expired,
  // naming our address and every local prefix; returns how many were sent.
  // One shot: the stop does not wait (a lost one leaves the requester its
  // holding time, as before).
  std::size_t purge_answered(RequestIds& ids);

  // The prefix length we answer `target` with, or nullopt if not ours.
  [[nodiscard]] std::optional<std::uint8_t> serves(const IpAddress& target) const;
  [[nodiscard]] const PeerCache& peers() const { return peers_; }
  // A requester we answered (and cached) sent from `nbma`.
  [[nodiscard]] bool knows_peer(const IpAddress& nbma) const;
  [[nodiscard]] std::uint64_t answered() const { return answered_; }
  [[nodiscard]] std::uint64_t refused() const { return refused_; }

 private:
  [[nodiscard]] nhrp::Cie own_cie(std::uint8_t prefix_length) const;
  void answer(const nhrp::Packet& request, std::uint8_t prefix_length, const IpAddress& requester_nbma);
  void refuse(const nhrp::Packet& request, const IpAddress& requester_nbma);
  void cache_requester(const nhrp::Packet& request, const IpAddress& requester_nbma);
  void deliver(const IpAddress& requester_nbma, nhrp::Packet reply, std::uint64_t& counter);

  ResponderConfig config_;
  PacketSender& sender_;
  ReplyGate gate_;
  RoutedPrefix routed_;
  const Clock& clock_;
  std::function<IpAddress()> own_nat_;
  TokenBucket reply_rate_;
  PeerCache peers_;
  std::uint64_t answered_ = 0;
  std::uint64_t refused_ = 0;
};

}  // namespace advpnd::spoke
