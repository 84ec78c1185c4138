#include "tools/sample_exchange.h"

#include <array>
#include <cstdint>

#include "base/byte_io.h"
#include "nhrp/builders.h"
#include "nhrp/codec.h"

namespace advpnd::tools {

namespace {

// Documentation addresses (RFC 5737) for the NBMA network; the overlay is
// 10.0.0.0/24 with the hub at .1; spoke1 serves 192.168.1.0/24, spoke2
// 192.168.2.0/24.
constexpr IpAddress kHubNbma = IpAddress::v4(203, 0, 113, 1);
constexpr IpAddress kSpoke1Nbma = IpAddress::v4(198, 51, 100, 2);
constexpr IpAddress kSpoke2Nbma = IpAddress::v4(198, 51, 100, 3);
constexpr IpAddress kHubTunnel = IpAddress::v4(10, 0, 0, 1);
constexpr IpAddress kSpoke1Tunnel = IpAddress::v4(10, 0, 0, 2);
constexpr IpAddress kSpoke2Tunnel = IpAddress::v4(10, 0, 0, 3);
constexpr IpAddress kHost1 = IpAddress::v4(192, 168, 1, 10);
constexpr IpAddress kHost2 = IpAddress::v4(192, 168, 2, 20);
constexpr IpAddress kSpoke2Lan = IpAddress::v4(192, 168, 2, 0);
constexpr std::uint8_t kSpoke2LanPrefix = 24;
constexpr IpAddress kUnregistered = IpAddress::v4(192, 168, 99, 1);

// What every router has configured: `tunnel key 100`, `ip mtu 1400`,
// `ip nhrp holdtime 7200`, `ip nhrp authentication dmvpn` (5 bytes, so
// several packets have an odd length: NHRP-WIRE.md 7.5).
constexpr std::uint32_t kGreKey = 100;
constexpr std::uint16_t kTunnelMtu = 1400;
constexpr std::uint16_t kHoldingTime = nhrp::kDefaultHoldingTime;
constexpr const char* kPassword = "dmvpn";
constexpr std::uint8_t kIcmpProtocol = 1;
constexpr std::uint8_t kIcmpEchoRequest = 8;
constexpr std::size_t kPingDataSize = 56;  // Linux ping's default

nhrp::Sender router(const IpAddress& nbma, const IpAddress& tunnel) {
  return nhrp::Sender{.nbma = nbma, .protocol = tunnel, .dialect = nhrp::Dialect::Cisco, .auth_password = kPassword};
}

// A CIE describing a router or a binding: code Success.
nhrp::Cie binding(const IpAddress& nbma, const IpAddress& protocol, std::uint8_t prefix) {
  nhrp::Cie cie;
  cie.prefix_length = prefix;
  cie.mtu = kTunnelMtu;
  cie.holding_time = kHoldingTime;
  cie.nbma = nbma;
  cie.protocol = protocol;
  return cie;
}

// The data packet that hair-pins through the hub: an ICMP echo request from
// host1 to host2 as the hub receives it (TTL 63 after spoke1's hop).
std::vector<std::byte> icmp_echo(const IpAddress& source, const IpAddress& destination) {
  constexpr std::size_t kIpHeader = 20, kIcmpHeader = 8;
  std::vector<std::byte> packet(kIpHeader + kIcmpHeader + kPingDataSize);
  ByteWriter w(packet);
  w.u8(0x45);
  w.u8(0);
  w.u16(static_cast<std::uint16_t>(packet.size()));
  w.u16(0x1c46);  // identification
  w.u16(0x4000);  // DF, as Linux ping sends
  w.u8(63);
  w.u8(kIcmpProtocol);
  w.u16(0);  // header checksum, below
  w.bytes(source.bytes());
  w.bytes(destination.bytes());
  w.u8(kIcmpEchoRequest);
  w.u8(0);
  w.u16(0);       // ICMP checksum, below
  w.u16(0x0001);  // identifier
  w.u16(0x0001);  // sequence
  for (std::size_t i = 0; i < kPingDataSize; ++i) w.u8(static_cast<std::uint8_t>(0x10 + i));
  w.patch_u16(10, nhrp::internet_checksum(std::span(packet).first(kIpHeader)));
  w.patch_u16(kIpHeader + 2, nhrp::internet_checksum(std::span(packet).subspan(kIpHeader)));
  return packet;
}

nhrp::Packet resolution_request(const nhrp::Sender& spoke, const IpAddress& target, std::uint32_t request_id) {
  nhrp::ResolutionRequestSpec spec;
  spec.sender = spoke;
  spec.target = target;
  spec.request_id = request_id;
  spec.holding_time = kHoldingTime;
  spec.mtu = kTunnelMtu;
  return nhrp::build_resolution_request(spec);
}

class Exchange {
 public:
  // Encodes `packet` into a frame from one NBMA address to another; returns
  // the NHRP bytes (an Error Indication quotes them).
  Result<std::vector<std::byte>, std::string> send(const nhrp::Packet& packet, const IpAddress& from,
                                                   const IpAddress& to) {
    auto bytes = nhrp::encode(packet);
    if (!bytes) {
      return fail("frame " + std::to_string(frames_.size() + 1) + ": " + bytes.error().message());
    }
    frames_.push_back(capture::OutgoingNhrp{from, to, kGreKey, *bytes});
    return std::move(bytes).value();
  }
  std::vector<capture::OutgoingNhrp> take() { return std::move(frames_); }

 private:
  std::vector<capture::OutgoingNhrp> frames_;
};

// Frames 1-4: registration of one spoke with the hub (RFC 2332 5.2.3, 5.2.4).
Status<std::string> register_spoke(Exchange& exchange, const nhrp::Sender& spoke, const nhrp::Sender& hub) {
  nhrp::RegistrationRequestSpec spec;
  spec.sender = spoke;
  spec.nhs_protocol = hub.protocol;
  spec.nhs_nbma = hub.nbma;
  spec.request_id = 1;
  spec.holding_time = kHoldingTime;
  spec.mtu = kTunnelMtu;
  const nhrp::Packet request = nhrp::build_registration_request(spec);
  if (auto sent = exchange.send(request, spoke.nbma, hub.nbma); !sent) return fail(sent.error());
  const nhrp::Packet reply = nhrp::build_registration_reply(
      request, request.cies, {.sender = hub, .responder = binding(hub.nbma, hub.protocol, 32), .nat_append = {}});
  if (auto sent = exchange.send(reply, hub.nbma, spoke.nbma); !sent) return fail(sent.error());
  return {};
}

// Frames 6-8: resolution through the hub, answered directly (NHRP-WIRE.md 8.3).
Status<std::string> resolve_shortcut(Exchange& exchange, const nhrp::Sender& spoke1, const nhrp::Sender& hub,
                                     const nhrp::Sender& spoke2) {
  const nhrp::Packet request = resolution_request(spoke1, kHost2, 2);
  if (auto sent = exchange.send(request, spoke1.nbma, hub.nbma); !sent) return fail(sent.error());

  // The hub forwards it (RFC 2332 5.3.2): hop count - 1, itself appended to
  // the Forward Transit NHS Record, Authentication regenerated.
  nhrp::Packet forwarded = request;
  forwarded.hop_count = static_cast<std::uint8_t>(request.hop_count - 1);
  if (nhrp::Extension* transit = forwarded.find_extension(nhrp::ExtensionType::ForwardTransit)) {
    transit->cies.push_back(binding(hub.nbma, hub.protocol, 0));
  }
  if (auto sent = exchange.send(forwarded, hub.nbma, spoke2.nbma); !sent) return fail(sent.error());

  // spoke2 owns 192.168.2.0/24 and answers spoke1 directly, as IOS does.
  const nhrp::Cie answer = binding(spoke2.nbma, spoke2.protocol, kSpoke2LanPrefix);
  const nhrp::Packet reply = nhrp::build_resolution_reply(
      forwarded, std::span(&answer, 1),
      {.sender = spoke2, .responder = binding(spoke2.nbma, spoke2.protocol, 32), .nat_append = {}});
  if (auto sent = exchange.send(reply, spoke2.nbma, spoke1.nbma); !sent) return fail(sent.error());
  return {};
}

// Frames 9-10: purge of the shortcut binding (RFC 2332 5.2.5, 5.2.6).
Status<std::string> purge_shortcut(Exchange& exchange, const nhrp::Sender& spoke1, const nhrp::Sender& spoke2) {
  nhrp::Cie purged = binding(spoke2.nbma, kSpoke2Lan, kSpoke2LanPrefix);
  purged.mtu = 0;
  purged.holding_time = 0;
  const nhrp::Packet request = nhrp::build_purge_request(
      {.sender = spoke2, .dst_protocol = spoke1.protocol, .request_id = 2, .no_reply = false, .cies = {purged}});
  if (auto sent = exchange.send(request, spoke2.nbma, spoke1.nbma); !sent) return fail(sent.error());
  const nhrp::Packet reply = nhrp::build_purge_reply(request, spoke1);
  if (auto sent = exchange.send(reply, spoke1.nbma, spoke2.nbma); !sent) return fail(sent.error());
  return {};
}

// Frames 11-12: a resolution nobody can answer (RFC 2332 5.2.7, code 6).
Status<std::string> unreachable(Exchange& exchange, const nhrp::Sender& spoke1, const nhrp::Sender& hub) {
  const nhrp::Packet request = resolution_request(spoke1, kUnregistered, 3);
  auto offending = exchange.send(request, spoke1.nbma, hub.nbma);
  if (!offending) return fail(offending.error());
  // The error is in the Destination Protocol Address field.
  const auto offset = static_cast<std::uint16_t>(nhrp::kFixedHeaderSize + nhrp::kCommonHeaderSize +
                                                 request.src_nbma.size() + request.src_protocol.size());
  const nhrp::Packet error = nhrp::build_error_indication({.sender = hub,
                                                           .code = nhrp::ErrorCode::ProtocolAddressUnreachable,
                                                           .offset = offset,
                                                           .offending = *offending,
                                                           .offending_source = request.src_protocol});
  if (auto sent = exchange.send(error, hub.nbma, spoke1.nbma); !sent) return fail(sent.error());
  return {};
}

}  // namespace

Result<std::vector<capture::OutgoingNhrp>, std::string> build_sample_exchange() {
  const nhrp::Sender hub = router(kHubNbma, kHubTunnel);
  const nhrp::Sender spoke1 = router(kSpoke1Nbma, kSpoke1Tunnel);
  const nhrp::Sender spoke2 = router(kSpoke2Nbma, kSpoke2Tunnel);
  Exchange exchange;

  if (auto s = register_spoke(exchange, spoke1, hub); !s) return fail(s.error());
  if (auto s = register_spoke(exchange, spoke2, hub); !s) return fail(s.error());

  // Frame 5: host1 -> host2 hair-pins through the hub, which tells spoke1
  // (draft-detienne-dmvpn Traffic Indication; NHRP-WIRE.md 5).
  const std::vector<std::byte> ping = icmp_echo(kHost1, kHost2);
  nhrp::TrafficIndicationSpec spec;
  spec.sender = hub;
  spec.inner_packet = ping;
  auto indication = nhrp::build_traffic_indication(spec);
  if (!indication) return fail(indication.error());
  if (auto sent = exchange.send(*indication, hub.nbma, spoke1.nbma); !sent) return fail(sent.error());

  if (auto s = resolve_shortcut(exchange, spoke1, hub, spoke2); !s) return fail(s.error());
  if (auto s = purge_shortcut(exchange, spoke1, spoke2); !s) return fail(s.error());
  if (auto s = unreachable(exchange, spoke1, hub); !s) return fail(s.error());
  return exchange.take();
}

}  // namespace advpnd::tools
