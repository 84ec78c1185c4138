#include "spoke/responder.h"

#include <algorithm>

#include "base/log.h"
#include "spoke/nat_extension.h"

namespace advpnd::spoke {
namespace {
constexpr std::string_view kLog = "nhc";
}

Responder::Responder(ResponderConfig config, PacketSender& sender, const Clock& clock,
                     std::function<IpAddress()> own_nat)
    : config_(std::move(config)),
      sender_(sender),
      clock_(clock),
      own_nat_(std::move(own_nat)),
      reply_rate_(config_.reply_rate),
      peers_(config_.max_peers) {}

std::optional<std::uint8_t> Responder::serves(const IpAddress& target) const {
  if (target == config_.self.protocol) return static_cast<std::uint8_t>(target.bit_width());
  std::optional<std::uint8_t> best;
  for (const LocalPrefix& prefix : config_.local_prefixes) {
    if (prefix.contains(target) && (!best || prefix.length > *best)) best = prefix.length;
  }
  if (!best && routed_) best = routed_(target);
  return best;
}

void Responder::on_resolution_request(const NbmaFrame& /*frame*/, const nhrp::Packet& request) {
  if (request.src_protocol == config_.self.protocol) {
    sender_.stats().count_error("resolution request from ourselves");
    return;
  }
  if (!reply_rate_.try_take(clock_.now())) {
    sender_.stats().count_error("responder: rate limited");
    return;
  }
  // The requester as the forwarding NHS saw it (7.6), else as it claims.
  const nhrp::Cie* nat = nat_cie_for(request, request.src_protocol);
  const IpAddress requester_nbma = nat != nullptr ? nat->nbma : request.src_nbma;
  if (requester_nbma.empty()) {
    sender_.stats().count_error("resolution request without a source NBMA");
    return;
  }
  if (auto prefix_length = serves(request.dst_protocol)) {
    cache_requester(request, requester_nbma);
    answer(request, *prefix_length, requester_nbma);
  } else {
    refuse(request, requester_nbma);
  }
}

nhrp::Cie Responder::own_cie(std::uint8_t prefix_length) const {
  nhrp::Cie cie;
  cie.prefix_length = prefix_length;
  cie.mtu = config_.mtu;
  cie.holding_time = config_.holding_time;
  cie.nbma = config_.self.nbma;
  cie.protocol = config_.self.protocol;
  return cie;
}

void Responder::answer(const nhrp::Packet& request, std::uint8_t prefix_length, const IpAddress& requester_nbma) {
  const nhrp::Cie answer_cie = own_cie(prefix_length);
  nhrp::ReplySpec spec;
  spec.sender = config_.self;
  // Responder Address CIE: newer IOS puts the host length there, FRR 0 (7.2).
  spec.responder = own_cie(
      config_.self.dialect == nhrp::Dialect::Cisco ? static_cast<std::uint8_t>(config_.self.protocol.bit_width()) : 0);
  if (IpAddress nat = own_nat_ ? own_nat_() : IpAddress{}; !nat.empty()) {
    nhrp::Cie cie = answer_cie;
    cie.prefix_length = static_cast<std::uint8_t>(config_.self.protocol.bit_width());
    cie.holding_time = 0;
    cie.nbma = nat;
    spec.nat_append.push_back(cie);
  }
  deliver(requester_nbma, nhrp::build_resolution_reply(request, std::span(&answer_cie, 1), spec), answered_);
  log::debug(kLog, "answered resolution of " + request.dst_protocol.to_string() + "/" + std::to_string(prefix_length) +
                       " for " + request.src_protocol.to_string() + " at " + requester_nbma.to_string());
}

void Responder::refuse(const nhrp::Packet& request, const IpAddress& requester_nbma) {
  // RFC 2332 5.2.2: code 12, holding time 0 on a NAK, no client addresses.
  nhrp::Cie cie = request.cies.empty() ? nhrp::Cie{} : request.cies.front();
  cie.code = nhrp::CieCode::NoBindingExists;
  cie.reserved = 0;
  cie.holding_time = 0;
  cie.nbma = IpAddress{};
  cie.nbma_subaddress = IpAddress{};
  cie.protocol = IpAddress{};
  nhrp::ReplySpec spec;
  spec.sender = config_.self;
  spec.responder = own_cie(0);
  sender_.stats().count_error("resolution request for an address not served here");
  deliver(requester_nbma, nhrp::build_resolution_reply(request, std::span(&cie, 1), spec), refused_);
}

void Responder::deliver(const IpAddress& requester_nbma, nhrp::Packet reply, std::uint64_t& counter) {
  // RFC 2332 5.2.2: a reply keeps the request's source (the requester) and
  // destination (the target) protocol addresses.
  const IpAddress requester_protocol = reply.src_protocol;
  auto send = [this, reply = std::make_shared<nhrp::Packet>(std::move(reply)), &counter](const IpAddress& to) {
    if (sender_.send(to, *reply)) ++counter;
  };
  if (gate_) {
    gate_(requester_nbma, requester_protocol, std::move(send));
  } else {
    send(requester_nbma);
  }
}

void Responder::cache_requester(const nhrp::Packet& request, const IpAddress& requester_nbma) {
  const nhrp::Cie* cie = request.cies.empty() ? nullptr : &request.cies.front();
  PeerBinding binding;
  binding.protocol = request.src_protocol;
  binding.nbma = requester_nbma;
  binding.claimed_nbma = request.src_nbma;
  binding.holding_time = cie != nullptr && cie->holding_time != 0 ? cie->holding_time : config_.holding_time;
  binding.mtu = cie != nullptr ? cie->mtu : 0;
  binding.expires = clock_.now() + std::chrono::seconds(binding.holding_time);
  peers_.upsert(binding, clock_.now());
}

bool Responder::knows_peer(const IpAddress& nbma) const {
  const auto bindings = peers_.all(clock_.now());
  return std::any_of(bindings.begin(), bindings.end(), [&](const PeerBinding& b) { return b.nbma == nbma; });
}

std::vector<PurgedBinding> Responder::on_purge_request(const NbmaFrame& frame, const nhrp::Packet& request) {
  std::vector<PurgedBinding> purged;
  if (request.dst_protocol != config_.self.protocol) {
    sender_.stats().count_error("purge request for another station");
    return purged;
  }
  for (const nhrp::Cie& cie : request.cies) {
    const IpAddress protocol = cie.protocol.empty() ? request.src_protocol : cie.protocol;
    peers_.erase(protocol, cie.prefix_length);
    purged.push_back({protocol, cie.prefix_length, cie.nbma, frame.outer_source});
    log::info(kLog, "purge of " + protocol.to_string() + "/" + std::to_string(cie.prefix_length) + " from " +
                        frame.outer_source.to_string());
  }
  // RFC 2332 5.2.5: a Purge Reply unless N is set, even if nothing matched.
  if ((request.flags & nhrp::flags::kPurgeN) == 0 && reply_rate_.try_take(clock_.now())) {
    sender_.send(frame.outer_source, nhrp::build_purge_reply(request, config_.self));
  }
  return purged;
}

std::size_t Responder::purge_answered(RequestIds& ids) {
  nhrp::Cie own;
  own.prefix_length = nhrp::kHostPrefix;
  own.nbma = config_.self.nbma;
  own.protocol = config_.self.protocol;
  std::vector<nhrp::Cie> cies{own};
  for (const LocalPrefix& prefix : config_.local_prefixes) {
    nhrp::Cie cie = own;
    cie.prefix_length = prefix.length;
    cie.protocol = prefix.network();
    cies.push_back(cie);
  }
  std::size_t sent = 0;
  for (const PeerBinding& peer : peers_.all(clock_.now())) {
    nhrp::PurgeRequestSpec spec;
    spec.sender = config_.self;
    spec.dst_protocol = peer.protocol;
    spec.request_id = ids.next();
    spec.no_reply = true;  // we are going; nobody would read the reply
    spec.cies = cies;
    if (sender_.send(peer.nbma, nhrp::build_purge_request(spec))) ++sent;
  }
  if (sent != 0) log::info(kLog, "purged our binding at " + std::to_string(sent) + " peer(s) we answered");
  return sent;
}

}  // namespace advpnd::spoke
