#include "spoke/nhc.h"

#include <array>

#include "base/log.h"
#include "nhrp/auth.h"
#include "nhrp/codec.h"
#include "spoke/request_ids.h"

namespace advpnd::spoke {
namespace {
constexpr std::string_view kLog = "nhc";

nhrp::Sender self_of(const NhcConfig& config, const NbmaTransport& transport) {
  return nhrp::Sender{config.nbma.empty() ? transport.local_address() : config.nbma, config.protocol, config.dialect,
                      config.auth_password};
}

RegistrationConfig registration_config(const NhcConfig& config, const NbmaTransport& transport) {
  RegistrationConfig out;
  out.self = self_of(config, transport);
  out.holding_time = config.holding_time;
  out.registration_timeout = config.registration_timeout;
  out.mtu = config.mtu;
  out.unique = config.unique;
  if (config.register_local_prefixes) out.registered_prefixes = config.local_prefixes;
  out.fixed_request_id = config.fixed_request_id;
  out.jitter = config.jitter;
  out.seed = config.seed;
  return out;
}

ResolutionConfig resolution_config(const NhcConfig& config, const NbmaTransport& transport) {
  ResolutionConfig out;
  out.self = self_of(config, transport);
  out.holding_time = config.holding_time;
  out.mtu = config.mtu;
  out.max_outstanding = config.max_outstanding_resolutions;
  out.rate = config.resolution_rate;
  out.jitter = config.jitter;
  out.seed = config.seed + 1;
  return out;
}

ResponderConfig responder_config(const NhcConfig& config, const NbmaTransport& transport) {
  ResponderConfig out;
  out.self = self_of(config, transport);
  out.holding_time = config.holding_time;
  out.mtu = config.mtu;
  out.local_prefixes = config.local_prefixes;
  return out;
}
}  // namespace

Nhc::Nhc(NhcConfig config, NbmaTransport& transport, const Clock& clock, TimerFactory& timers)
    : config_(std::move(config)),
      transport_(transport),
      sender_(transport, stats_),
      servers_(registration_config(config_, transport), config_.servers, sender_, ids_, clock, timers),
      resolution_(resolution_config(config_, transport), servers_, sender_, ids_, clock, timers),
      responder_(responder_config(config_, transport), sender_, clock, [this] { return servers_.own_nat_address(); }) {}

Nhc::~Nhc() {
  if (started_) transport_.set_handlers({});
}

Status<std::string> Nhc::start() {
  const IpAddress nbma = config_.nbma.empty() ? transport_.local_address() : config_.nbma;
  if (config_.protocol.empty()) return fail(std::string("no tunnel (protocol) address configured"));
  if (config_.servers.empty()) return fail(std::string("no NHS configured"));
  if (config_.auth_password && config_.auth_password->size() > nhrp::kCiscoAuthMaxPassword) {
    return fail(std::string("authentication password longer than 8 bytes (Cisco's limit)"));
  }
  for (const NhsEntry& nhs : config_.servers) {
    if (nhs.nbma.family() != nbma.family()) {
      return fail("NHS " + nhs.nbma.to_string() + " is not of the NBMA family of " + nbma.to_string());
    }
    if (!nhs.protocol.empty() && nhs.protocol.family() != config_.protocol.family()) {
      return fail("NHS protocol address " + nhs.protocol.to_string() + " is of another family");
    }
  }
  for (const LocalPrefix& prefix : config_.local_prefixes) {
    if (prefix.address.family() != config_.protocol.family() || prefix.length > prefix.address.bit_width()) {
      return fail("local prefix " + prefix.address.to_string() + "/" + std::to_string(prefix.length) +
                  " does not fit the tunnel address family");
    }
  }
  transport_.set_handlers({[this](const NbmaFrame& frame) { on_frame(frame); }, [] {}});
  started_ = true;
  servers_.start();
  return {};
}

Status<std::string> Nhc::add_server(const NhsEntry& entry) {
  const IpAddress nbma = config_.nbma.empty() ? transport_.local_address() : config_.nbma;
  if (entry.nbma.family() != nbma.family()) {
    return fail("NHS " + entry.nbma.to_string() + " is not of the NBMA family of " + nbma.to_string());
  }
  if (servers_.is_nhs(entry.nbma)) return fail("NHS " + entry.nbma.to_string() + " is configured already");
  config_.servers.push_back(entry);
  servers_.add(entry);
  return {};
}

void Nhc::set_auth_password(const std::optional<std::string>& password) {
  config_.auth_password = password;
  servers_.set_auth_password(password);
  resolution_.set_auth_password(password);
  responder_.set_auth_password(password);
}

void Nhc::shutdown(std::function<void()> done) {
  if (started_) responder_.purge_answered(ids_);  // the peers first: their tunnels may go with the NHSs'
  servers_.stop(std::move(done));
}

// Table dispatch by packet type (STYLE.md; FRR nhrp_peer.c packet_types[]).
Nhc::Handler Nhc::handler_for(nhrp::PacketType type) {
  static constexpr std::array<Handler, nhrp::kMaxPacketType + 1> kTable = {
      nullptr,
      &Nhc::handle_resolution_request,  // 1
      &Nhc::handle_resolution_reply,    // 2
      &Nhc::handle_unexpected,          // 3 Registration Request: we are no NHS
      &Nhc::handle_registration_reply,  // 4
      &Nhc::handle_purge_request,       // 5
      &Nhc::handle_purge_reply,         // 6
      &Nhc::handle_error_indication,    // 7
      &Nhc::handle_traffic_indication,  // 8
  };
  const auto index = static_cast<std::size_t>(type);
  return index < kTable.size() ? kTable[index] : nullptr;
}

void Nhc::on_frame(const NbmaFrame& frame) {
  if (frame.gre_protocol != nhrp::kGreProtocolNhrp) {
    if (on_data_) on_data_(frame);
    return;
  }
  auto decoded = nhrp::decode_into(frame.payload, decoded_, nhrp::DecodeOptions{true});
  if (!decoded) {
    stats_.count_error("malformed: " + std::string(nhrp::to_string(decoded.error().code)));
    log::debug(kLog, "dropped packet from " + frame.outer_source.to_string() + ": " + decoded.error().message());
    return;
  }
  stats_.count_received(decoded_.type);
  const Handler handler = handler_for(decoded_.type);
  if (handler == nullptr) {
    stats_.count_error("unknown packet type");
    return;
  }
  if (!authenticated(frame, decoded_)) return;
  (this->*handler)(frame, decoded_);
}

// NHRP-WIRE.md 7.5: with a password, every packet must carry the matching
// extension. One exception, unlike FRR: an Error Indication without any
// Authentication extension is accepted (RFC 2332 5.2.7 gives it none, and
// NHSs strip it), so that "authentication failure" from the hub is seen.
bool Nhc::authenticated(const NbmaFrame& frame, const nhrp::Packet& packet) {
  if (!config_.auth_password) return true;
  if (packet.type == nhrp::PacketType::ErrorIndication &&
      packet.find_extension(nhrp::ExtensionType::Authentication) == nullptr) {
    return true;
  }
  const nhrp::AuthCheck check = nhrp::check_cisco_auth(packet, *config_.auth_password);
  if (check == nhrp::AuthCheck::Ok) return true;
  stats_.count_error("authentication " + std::string(nhrp::to_string(check)));
  log::debug(kLog, "authentication " + std::string(nhrp::to_string(check)) + " on " +
                       std::string(nhrp::to_string(packet.type)) + " from " + frame.outer_source.to_string());
  return false;
}

void Nhc::handle_registration_reply(const NbmaFrame& frame, const nhrp::Packet& packet) {
  if (!servers_.on_registration_reply(frame, packet)) stats_.count_error("registration reply for no request");
}

void Nhc::handle_purge_reply(const NbmaFrame& /*frame*/, const nhrp::Packet& packet) {
  if (!servers_.on_purge_reply(packet)) stats_.count_error("purge reply for no request");
}

void Nhc::handle_resolution_reply(const NbmaFrame& frame, const nhrp::Packet& packet) {
  resolution_.on_reply(frame, packet);
}

// RFC 2332 5.2.7: matched to the pending request through the quoted packet's ID.
void Nhc::handle_error_indication(const NbmaFrame& frame, const nhrp::Packet& packet) {
  const auto quoted = quoted_request(packet);
  log::debug(kLog, "error indication " + std::string(nhrp::to_string(packet.error_code)) + " from " +
                       frame.outer_source.to_string());
  if (!quoted) {
    stats_.count_error("error indication without a readable request");
    return;
  }
  if (quoted->type == nhrp::PacketType::RegistrationRequest &&
      servers_.on_error_indication(quoted->request_id, packet)) {
    return;
  }
  if (quoted->type == nhrp::PacketType::ResolutionRequest && resolution_.awaits(quoted->request_id)) {
    resolution_.on_error_indication(quoted->request_id, packet);
    return;
  }
  stats_.count_error("error indication for no request");
}

void Nhc::handle_resolution_request(const NbmaFrame& frame, const nhrp::Packet& packet) {
  responder_.on_resolution_request(frame, packet);
}

void Nhc::handle_purge_request(const NbmaFrame& frame, const nhrp::Packet& packet) {
  if (!servers_.is_nhs(frame.outer_source) && !responder_.knows_peer(frame.outer_source) &&
      !(purge_authorizer_ && purge_authorizer_(frame.outer_source))) {
    stats_.count_error("purge request from a station that is neither NHS nor peer");
    log::info(kLog, "ignored a purge request from " + frame.outer_source.to_string() + ": neither NHS nor peer");
    return;
  }
  for (const PurgedBinding& purged : responder_.on_purge_request(frame, packet)) {
    if (on_purge_) on_purge_(purged);
  }
}

void Nhc::handle_traffic_indication(const NbmaFrame& frame, const nhrp::Packet& packet) {
  // Only our NHSs redirect us (NHRP-WIRE.md 8.3 step 1); anyone else could
  // make us resolve at will.
  if (!servers_.is_nhs(frame.outer_source)) {
    stats_.count_error("traffic indication from a non-NHS");
    return;
  }
  // Receivers read the inner packet's destination (NHRP-WIRE.md 5).
  const auto inner = nhrp::inner_addresses(packet.payload);
  if (!inner || inner->destination.family() != config_.protocol.family()) {
    stats_.count_error("traffic indication without a usable inner packet");
    return;
  }
  if (!on_indication_) return;
  on_indication_(TrafficIndication{frame.outer_source, packet.src_protocol, packet.traffic_code, inner->source,
                                   inner->destination, packet.payload});
}

void Nhc::handle_unexpected(const NbmaFrame& /*frame*/, const nhrp::Packet& packet) {
  stats_.count_error("unexpected " + std::string(nhrp::to_string(packet.type)));
}

}  // namespace advpnd::spoke
