#include "nhrp/builders.h"

#include <algorithm>

#include "nhrp/auth.h"

namespace advpnd::nhrp {
namespace {

// RFC 2332 5.2.7 quotes the offending packet; keep an Error Indication
// well inside one GRE MTU whatever the offending packet's size.
constexpr std::size_t kErrorIndicationMaxQuote = 1024;
constexpr std::size_t kIpv4HeaderSize = 20;
constexpr std::size_t kIpv6HeaderSize = 40;

Extension empty_extension(ExtensionType type, bool compulsory) {
  Extension ext;
  ext.raw_type = static_cast<std::uint16_t>(type) | (compulsory ? kExtensionCompulsory : 0);
  return ext;
}

Extension end_extension() { return empty_extension(ExtensionType::End, true); }

// Cisco NAT extension (type 9) is sent without the compulsory bit (7.6).
Extension nat_extension(std::vector<Cie> cies) {
  Extension ext = empty_extension(ExtensionType::CiscoNatAddress, false);
  ext.cies = std::move(cies);
  return ext;
}

// A CIE of the NAT extension: code 0, prefix 32 (host), MTU, holding time 0.
Cie nat_cie(const IpAddress& nbma, const IpAddress& protocol, std::uint16_t mtu) {
  Cie cie;
  cie.prefix_length = static_cast<std::uint8_t>(protocol.bit_width());
  cie.mtu = mtu;
  cie.nbma = nbma;
  cie.protocol = protocol;
  return cie;
}

std::uint16_t afn_for(const IpAddress& nbma) {
  return nbma.family() == AddressFamily::Ipv6 ? kAfnIpv6 : kAfnIpv4;
}
std::uint16_t protocol_type_for(const IpAddress& protocol) {
  return protocol.family() == AddressFamily::Ipv6 ? kProtocolIpv6 : kProtocolIpv4;
}

Packet base_packet(PacketType type, const Sender& sender, std::uint8_t hop_count) {
  Packet p;
  p.type = type;
  p.afn = afn_for(sender.nbma);
  p.protocol_type = protocol_type_for(sender.protocol);
  p.hop_count = hop_count;
  p.src_nbma = sender.nbma;
  p.src_protocol = sender.protocol;
  return p;
}

std::uint8_t request_hop_count(Dialect dialect) {
  return dialect == Dialect::Cisco ? kCiscoHopCount : kFrrHopCount;
}

// Request extensions in each dialect's order (NHRP-WIRE.md 7.4):
//   Cisco: Responder, Forward, Reverse, [Auth], NAT, End
//   FRR:   Forward, Reverse, Responder, NAT, [Auth], End
void add_request_extensions(Packet& p, const Sender& sender, Extension nat) {
  const bool cisco = sender.dialect == Dialect::Cisco;
  if (cisco) p.extensions.push_back(empty_extension(ExtensionType::ResponderAddress, true));
  p.extensions.push_back(empty_extension(ExtensionType::ForwardTransit, true));
  p.extensions.push_back(empty_extension(ExtensionType::ReverseTransit, true));
  if (!cisco) p.extensions.push_back(empty_extension(ExtensionType::ResponderAddress, true));
  if (cisco && sender.auth_password) p.extensions.push_back(make_cisco_auth(*sender.auth_password));
  p.extensions.push_back(std::move(nat));
  if (!cisco && sender.auth_password) p.extensions.push_back(make_cisco_auth(*sender.auth_password));
  p.extensions.push_back(end_extension());
}

// Authentication is regenerated hop by hop (RFC 2332 5.3.4): the sender's
// own replaces the received one in place; a sender without a password
// keeps what it received (FRR copies the request's into its reply).
void apply_sender_auth(Packet& p, const Sender& sender) {
  if (!sender.auth_password) return;
  Extension own = make_cisco_auth(*sender.auth_password);
  if (Extension* ext = p.find_extension(ExtensionType::Authentication)) {
    *ext = std::move(own);
    return;
  }
  auto end = std::find_if(p.extensions.begin(), p.extensions.end(),
                          [](const Extension& e) { return e.type() == ExtensionType::End; });
  p.extensions.insert(end, std::move(own));
}

// The common part of every reply (RFC 2332 5.2.2, 5.2.4): the request's ID,
// source and destination fields, extensions in their order, Responder
// Address filled.
Packet reply_from(const Packet& request, PacketType type, const ReplySpec& spec) {
  Packet p;
  p.type = type;
  p.afn = request.afn;
  p.protocol_type = request.protocol_type;
  p.protocol_snap = request.protocol_snap;
  p.hop_count = request_hop_count(spec.sender.dialect);
  p.flags = request.flags;
  p.request_id = request.request_id;
  p.src_nbma = request.src_nbma;
  p.src_nbma_subaddress = request.src_nbma_subaddress;
  p.src_protocol = request.src_protocol;
  p.dst_protocol = request.dst_protocol;
  p.extensions = request.extensions;
  p.trailer.clear();
  if (Extension* responder = p.find_extension(ExtensionType::ResponderAddress)) {
    responder->value.clear();
    responder->cies = {spec.responder};
  }
  apply_sender_auth(p, spec.sender);
  return p;
}

}  // namespace

Packet build_registration_request(const RegistrationRequestSpec& spec) {
  const bool cisco = spec.sender.dialect == Dialect::Cisco;
  Packet p = base_packet(PacketType::RegistrationRequest, spec.sender,
                         cisco ? kCiscoHopCount : kFrrRegistrationHopCount);
  p.dst_protocol = spec.nhs_protocol;
  p.request_id = spec.request_id;
  p.flags = static_cast<std::uint16_t>((spec.unique ? flags::kRegistrationU : 0) | flags::kCiscoNat);
  Cie cie;
  cie.prefix_length =
      spec.prefix_length.value_or(cisco || !spec.unique ? kCiscoRegistrationPrefix : kHostPrefix);
  cie.mtu = spec.mtu;
  cie.holding_time = spec.holding_time;
  p.cies.push_back(cie);
  // NAT extension: the NHS as this spoke sees it (7.6).
  add_request_extensions(p, spec.sender, nat_extension({nat_cie(spec.nhs_nbma, spec.nhs_protocol, spec.mtu)}));
  return p;
}

Packet build_resolution_request(const ResolutionRequestSpec& spec) {
  const bool cisco = spec.sender.dialect == Dialect::Cisco;
  Packet p = base_packet(PacketType::ResolutionRequest, spec.sender, request_hop_count(spec.sender.dialect));
  p.dst_protocol = spec.target;
  p.request_id = spec.request_id;
  p.flags = flags::kResolutionQ | flags::kResolutionA | flags::kResolutionS | flags::kCiscoNat;
  Cie cie;
  cie.prefix_length = spec.prefix_length.value_or(cisco ? 0 : kHostPrefix);
  cie.mtu = spec.mtu;
  cie.holding_time = spec.holding_time;
  p.cies.push_back(cie);
  std::vector<Cie> nat;
  if (spec.own_nat_nbma) nat.push_back(nat_cie(*spec.own_nat_nbma, spec.sender.protocol, spec.mtu));
  add_request_extensions(p, spec.sender, nat_extension(std::move(nat)));
  return p;
}

Packet build_registration_reply(const Packet& request, std::span<const Cie> cies, const ReplySpec& spec) {
  Packet p = reply_from(request, PacketType::RegistrationReply, spec);
  p.cies.assign(cies.begin(), cies.end());
  // The NAT extension is copied, and a NATted spoke's public address is
  // appended as a second CIE (FRR, 7.6).
  if (Extension* nat = p.find_extension(ExtensionType::CiscoNatAddress); nat && nat->value.empty()) {
    nat->cies.insert(nat->cies.end(), spec.nat_append.begin(), spec.nat_append.end());
  }
  return p;
}

Packet build_resolution_reply(const Packet& request, std::span<const Cie> answer, const ReplySpec& spec) {
  Packet p = reply_from(request, PacketType::ResolutionReply, spec);
  p.cies.assign(answer.begin(), answer.end());
  if (spec.sender.dialect == Dialect::Cisco) {
    // Observed from IOS: 0xF802 = Q|A|D|U|S|NAT (NHRP-WIRE.md 3.1).
    p.flags = flags::kResolutionQ | flags::kResolutionA | flags::kResolutionD | flags::kResolutionU |
              flags::kResolutionS | flags::kCiscoNat;
  } else {
    p.flags = static_cast<std::uint16_t>((request.flags & (flags::kResolutionQ | flags::kResolutionS)) |
                                         flags::kResolutionA | flags::kResolutionD);
  }
  // The request's NAT CIEs describe the requester; the reply's describe the
  // answer (the target's post-NAT NBMA), which the requester looks up by
  // protocol address (7.6).
  if (Extension* nat = p.find_extension(ExtensionType::CiscoNatAddress); nat && nat->value.empty()) {
    nat->cies = spec.nat_append;
  }
  return p;
}

Packet build_purge_request(const PurgeRequestSpec& spec) {
  Packet p = base_packet(PacketType::PurgeRequest, spec.sender, request_hop_count(spec.sender.dialect));
  p.dst_protocol = spec.dst_protocol;
  p.request_id = spec.request_id;
  p.flags = spec.no_reply ? flags::kPurgeN : 0;
  p.cies = spec.cies;
  // Cisco purge contents were never captured [UNVERIFIED]: send only what
  // every implementation accepts, [Auth] and End.
  if (spec.sender.auth_password) p.extensions.push_back(make_cisco_auth(*spec.sender.auth_password));
  p.extensions.push_back(end_extension());
  return p;
}

Packet build_purge_reply(const Packet& request, const Sender& sender) {
  // RFC 2332 5.2.6: the Purge Request with its type changed.
  Packet p = request;
  p.type = PacketType::PurgeReply;
  p.hop_count = request_hop_count(sender.dialect);
  p.trailer.clear();
  apply_sender_auth(p, sender);
  return p;
}

Packet build_error_indication(const ErrorIndicationSpec& spec) {
  // Cisco sends 255 (FRR's comment); FRR sends 0, which Cisco may reject (8.5).
  Packet p = base_packet(PacketType::ErrorIndication, spec.sender,
                         spec.sender.dialect == Dialect::Cisco ? kCiscoHopCount : 0);
  p.error_code = spec.code;
  p.error_offset = spec.offset;
  p.dst_protocol = spec.offending_source;
  const std::size_t quoted = std::min(spec.offending.size(), kErrorIndicationMaxQuote);
  p.payload.assign(spec.offending.begin(), spec.offending.begin() + static_cast<std::ptrdiff_t>(quoted));
  return p;  // RFC 2332 5.2.7: no extensions
}

Result<Packet, std::string> build_traffic_indication(const TrafficIndicationSpec& spec) {
  const auto inner = inner_addresses(spec.inner_packet);
  if (!inner) {
    return fail(std::string("traffic indication: the inner packet has no complete IPv4/IPv6 header"));
  }
  if (inner->source.family() != spec.sender.protocol.family()) {
    return fail(std::string("traffic indication: inner packet family differs from the hub's protocol address"));
  }
  const bool cisco = spec.sender.dialect == Dialect::Cisco;
  Packet p = base_packet(PacketType::TrafficIndication, spec.sender,
                         cisco ? kCiscoHopCount : kFrrRegistrationHopCount);
  // Implementations put the triggering packet's *source* here, not the
  // draft's destination (NHRP-WIRE.md 5).
  p.dst_protocol = inner->source;
  p.traffic_code = kTrafficCodeRedirect;
  const std::size_t header = inner->source.family() == AddressFamily::Ipv6 ? kIpv6HeaderSize : kIpv4HeaderSize;
  const std::size_t quoted = std::min(spec.inner_packet.size(), std::max(spec.payload_limit, header));
  p.payload.assign(spec.inner_packet.begin(), spec.inner_packet.begin() + static_cast<std::ptrdiff_t>(quoted));
  if (cisco) {
    // Cisco: Forward, Reverse, [Auth], NAT (empty), End.
    p.extensions.push_back(empty_extension(ExtensionType::ForwardTransit, true));
    p.extensions.push_back(empty_extension(ExtensionType::ReverseTransit, true));
    if (spec.sender.auth_password) p.extensions.push_back(make_cisco_auth(*spec.sender.auth_password));
    p.extensions.push_back(nat_extension({}));
    p.extensions.push_back(end_extension());
  } else if (spec.sender.auth_password) {
    // FRR: [Auth, End] only, and no extensions at all without a password.
    p.extensions.push_back(make_cisco_auth(*spec.sender.auth_password));
    p.extensions.push_back(end_extension());
  }
  return p;
}

std::optional<InnerAddresses> inner_addresses(std::span<const std::byte> ip_packet) {
  if (ip_packet.empty()) return std::nullopt;
  const unsigned version = std::to_integer<unsigned>(ip_packet[0]) >> 4;
  if (version == 4 && ip_packet.size() >= kIpv4HeaderSize) {
    const unsigned ihl = std::to_integer<unsigned>(ip_packet[0]) & 0x0F;
    if (ihl < 5) return std::nullopt;
    return InnerAddresses{*IpAddress::from_bytes(ip_packet.subspan(12, 4)),
                          *IpAddress::from_bytes(ip_packet.subspan(16, 4))};
  }
  if (version == 6 && ip_packet.size() >= kIpv6HeaderSize) {
    return InnerAddresses{*IpAddress::from_bytes(ip_packet.subspan(8, 16)),
                          *IpAddress::from_bytes(ip_packet.subspan(24, 16))};
  }
  return std::nullopt;
}

}  // namespace advpnd::nhrp
