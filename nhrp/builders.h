// Builders for every packet type. They produce what Cisco IOS accepts by
// default (hop count 255 and never 0, prefix 32 in registrations, Cisco
// extension order; NHRP-WIRE.md 3, 4, 7.4, 8.5); the FRR dialect reproduces
// what FRR nhrpd emits, for tests and for networks of FRR peers.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/ip_address.h"
#include "base/result.h"
#include "nhrp/packet.h"

namespace advpnd::nhrp {

enum class Dialect : std::uint8_t { Cisco, Frr };

// Hop counts by originator and packet kind (NHRP-WIRE.md 8.5).
inline constexpr std::uint8_t kCiscoHopCount = 255;
inline constexpr std::uint8_t kFrrHopCount = 64;
inline constexpr std::uint8_t kFrrRegistrationHopCount = 1;  // FRR: "Cisco rejects 0"
inline constexpr std::uint8_t kHostPrefix = 0xFF;            // RFC 2332 5.2.1: unique => 0xFF
inline constexpr std::uint8_t kCiscoRegistrationPrefix = 32;  // what IOS sends even with U set
inline constexpr std::uint16_t kDefaultHoldingTime = 7200;   // Cisco and FRR default (8.1)
// Cisco copies 28 bytes of the triggering packet into a Traffic Indication (5).
inline constexpr std::size_t kTrafficIndicationPayload = 28;

// What every builder needs to know about the station sending the packet.
struct Sender {
  IpAddress nbma;
  IpAddress protocol;
  Dialect dialect = Dialect::Cisco;
  std::optional<std::string> auth_password;  // Cisco cleartext, <= 8 bytes
};

struct RegistrationRequestSpec {
  Sender sender;
  IpAddress nhs_protocol;  // ar dst proto: the NHS, or own address when unknown (8.1)
  IpAddress nhs_nbma;      // for the NAT extension's CIE
  std::uint32_t request_id = 0;
  std::uint16_t holding_time = kDefaultHoldingTime;
  std::uint16_t mtu = 0;
  bool unique = true;
  // Default: Cisco 32; FRR 0xFF when unique, else 32.
  std::optional<std::uint8_t> prefix_length;
};
[[nodiscard]] Packet build_registration_request(const RegistrationRequestSpec& spec);

struct ResolutionRequestSpec {
  Sender sender;
  IpAddress target;  // the protocol address to resolve
  std::uint32_t request_id = 0;
  std::uint16_t holding_time = kDefaultHoldingTime;
  std::uint16_t mtu = 0;
  // Own post-NAT NBMA when known: FRR puts {nat nbma, own protocol} in the NAT extension.
  std::optional<IpAddress> own_nat_nbma;
  // Default: Cisco 0, FRR 0xFF.
  std::optional<std::uint8_t> prefix_length;
};
[[nodiscard]] Packet build_resolution_request(const ResolutionRequestSpec& spec);

// Replies keep the request's ID, source and destination fields and its
// extensions in order (RFC 2332 5.3: "NHSs must not reorder"); the Responder
// Address extension gets `responder`, the Authentication extension is
// regenerated with the sender's password (a sender without one keeps the
// request's, as FRR copies it into its Registration Reply: NHRP-WIRE.md 7.4).
struct ReplySpec {
  Sender sender;
  Cie responder;  // code, MTU, holding time of the replying station
  // CIEs appended to the NAT extension (a NATted spoke's public NBMA, 7.6).
  std::vector<Cie> nat_append;
};

// Registration Reply: the request's CIEs with the given codes (one per CIE,
// or one code for all) and holding times as the caller sets them in `cies`.
[[nodiscard]] Packet build_registration_reply(const Packet& request, std::span<const Cie> cies,
                                              const ReplySpec& spec);
// Resolution Reply with the answer CIEs. Flags: Cisco Q|A|D|U|S|NAT (0xF802);
// FRR copies Q and S from the request and adds A and D.
[[nodiscard]] Packet build_resolution_reply(const Packet& request, std::span<const Cie> answer,
                                            const ReplySpec& spec);

struct PurgeRequestSpec {
  Sender sender;
  IpAddress dst_protocol;
  std::uint32_t request_id = 0;
  bool no_reply = false;  // the N bit
  std::vector<Cie> cies;  // the bindings to purge (protocol address + prefix)
};
[[nodiscard]] Packet build_purge_request(const PurgeRequestSpec& spec);
// RFC 2332 5.2.6: the request with its type changed, sent back.
[[nodiscard]] Packet build_purge_reply(const Packet& request, const Sender& sender);

struct ErrorIndicationSpec {
  Sender sender;
  ErrorCode code = ErrorCode::ProtocolError;
  std::uint16_t offset = 0;  // where in the offending packet the error was found
  // The offending packet's bytes (RFC 2332 5.2.7: its contents) and, when it
  // could be read, its source protocol address (the indication's destination).
  std::span<const std::byte> offending;
  IpAddress offending_source;
};
// The RFC 2332 5.2.7 form in both dialects: the reporting station as source,
// the offending packet quoted (up to 1 KiB), no extensions; only the hop
// count follows the dialect. (FRR itself quotes just the headers and swaps
// the offending addresses, NHRP-WIRE.md 6; receivers read only the code and
// the quoted request ID.) Never about another Error Indication: the caller checks.
[[nodiscard]] Packet build_error_indication(const ErrorIndicationSpec& spec);

struct TrafficIndicationSpec {
  Sender sender;  // the hub
  // The triggering data packet from its IP header; at most `payload_limit` bytes are quoted.
  std::span<const std::byte> inner_packet;
  std::size_t payload_limit = kTrafficIndicationPayload;
};
// Destination protocol = the inner packet's *source*, as Cisco, FRR and
// OpenNHRP do (NHRP-WIRE.md 5). Extensions: Cisco Forward, Reverse, [Auth],
// NAT, End; FRR [Auth, End] only.
[[nodiscard]] Result<Packet, std::string> build_traffic_indication(const TrafficIndicationSpec& spec);

// Source and destination of an IPv4 or IPv6 packet (Traffic Indication payloads).
struct InnerAddresses {
  IpAddress source;
  IpAddress destination;
};
[[nodiscard]] std::optional<InnerAddresses> inner_addresses(std::span<const std::byte> ip_packet);

}  // namespace advpnd::nhrp
