// The registration state machine: states, the transition function, and
// what goes on the wire and comes back (RFC 2332 5.2.3-5.2.6, NHRP-WIRE.md
// 3.3, 7.2, 7.6, 8.1, 8.4). The timers are in nhs_registration_timers.cpp.
#include "spoke/nhs_registration.h"

#include <algorithm>

#include "base/log.h"

namespace advpnd::spoke {
namespace {
constexpr std::string_view kLog = "nhc";
using S = RegistrationState;

std::size_t index(RegistrationState state) { return static_cast<std::size_t>(state); }
}  // namespace

std::string_view to_string(RegistrationState state) {
  switch (state) {
    case S::Idle:
      return "idle";
    case S::Registering:
      return "registering";
    case S::Registered:
      return "registered";
    case S::Refreshing:
      return "refreshing";
    case S::Failed:
      return "failed";
    case S::Purging:
      return "purging";
  }
  return "unknown";
}

bool is_legal_transition(RegistrationState from, RegistrationState to) {
  switch (from) {
    case S::Idle:
      return to == S::Registering;
    case S::Registering:
      return to == S::Registered || to == S::Failed || to == S::Purging || to == S::Idle;
    case S::Registered:
      return to == S::Refreshing || to == S::Purging || to == S::Idle;
    case S::Refreshing:
      return to == S::Registered || to == S::Failed || to == S::Purging || to == S::Idle;
    case S::Failed:
      return to == S::Registered || to == S::Purging || to == S::Idle;
    case S::Purging:
      return to == S::Idle;
  }
  return false;
}

NhsRegistration::NhsRegistration(NhsEntry nhs, const RegistrationConfig& config, PacketSender& sender, RequestIds& ids,
                                 const Clock& clock, TimerFactory& timers, StateChanged on_change)
    : nhs_(nhs),
      config_(config),
      sender_(sender),
      ids_(ids),
      clock_(clock),
      on_change_(std::move(on_change)),
      jitter_(config.jitter, config.seed ^ std::hash<IpAddress>{}(nhs_.nbma)) {
  timer_ = timers.make_timer([this] { on_timer(); });
}

bool NhsRegistration::transition(RegistrationState to, std::string_view reason) {
  const RegistrationState from = state_;
  if (!is_legal_transition(from, to)) {
    ++refused_;
    log::error(kLog, "nhs " + peer() + ": refused " + std::string(to_string(from)) + " -> " +
                         std::string(to_string(to)) + " (" + std::string(reason) + ")");
    return false;
  }
  state_ = to;
  ++transitions_[index(from)][index(to)];
  log::info(kLog, "nhs " + peer() + ": " + std::string(to_string(from)) + " -> " + std::string(to_string(to)) + " (" +
                      std::string(reason) + ")");
  if (on_change_) on_change_(*this, from, to);
  return true;
}

std::string NhsRegistration::peer() const {
  return nhs_.nbma.to_string() + (nhs_.protocol.empty() ? "" : " (" + nhs_.protocol.to_string() + ")");
}

void NhsRegistration::start() {
  if (!transition(S::Registering, "start")) return;
  nak_backoff_ = Duration::zero();
  begin_cycle();
  if (path_gated_ && !path_up_) {
    log::debug(kLog, "nhs " + peer() + ": first request waits for the tunnel");
    return;
  }
  send_request();
}

void NhsRegistration::stop() {
  if (state_ == S::Idle || state_ == S::Purging) return;
  const bool bound = registered_until_ && *registered_until_ > clock_.now() && registered_id_ != 0;
  outstanding_ = false;
  if (!bound) {
    timer_->cancel();
    transition(S::Idle, "stopped, nothing registered");
    return;
  }
  if (!transition(S::Purging, "stopped")) return;
  purge_deadline_ = clock_.now() + kPurgeWait;
  send_purge();
}

void NhsRegistration::path_up(bool resend) {
  path_up_ = true;
  if (!resend || last_send_on_path_) return;
  if (state_ != S::Registering && state_ != S::Refreshing && state_ != S::Failed) return;
  retransmit_ = kFirstRetransmit;
  send_request();
}

bool NhsRegistration::awaits_reply(std::uint32_t id) const { return outstanding_ && id == request_id_; }

bool NhsRegistration::awaits_purge_reply(std::uint32_t id) const {
  return state_ == S::Purging && id == registered_id_;
}

nhrp::Packet NhsRegistration::build_request() const {
  nhrp::RegistrationRequestSpec spec;
  spec.sender = config_.self;
  // RFC 2332 5.2.3 / FRR `nhs dynamic`: our own address while the NHS's is unknown.
  spec.nhs_protocol = nhs_.protocol.empty() ? config_.self.protocol : nhs_.protocol;
  spec.nhs_nbma = nhs_.nbma;
  spec.request_id = request_id_;
  spec.holding_time = config_.holding_time;
  spec.mtu = config_.mtu;
  spec.unique = config_.unique;
  nhrp::Packet packet = nhrp::build_registration_request(spec);
  if (nhs_.protocol.empty()) {
    // The NAT CIE names the NHS as we see it; FRR's "cisco magic" 0.0.0.0
    // while its protocol address is unknown (NHRP-WIRE.md 7.6).
    if (nhrp::Extension* nat = packet.find_extension(nhrp::ExtensionType::CiscoNatAddress)) {
      for (nhrp::Cie& cie : nat->cies) cie.protocol = config_.self.protocol.masked(0);
    }
  }
  for (const LocalPrefix& prefix : config_.registered_prefixes) {
    nhrp::Cie cie = packet.cies.front();
    cie.prefix_length = prefix.length;
    cie.nbma = config_.self.nbma;
    cie.protocol = prefix.network();
    packet.cies.push_back(cie);
  }
  return packet;
}

void NhsRegistration::send_request() {
  outstanding_ = true;
  last_send_on_path_ = !path_gated_ || path_up_;
  sender_.send(nhs_.nbma, build_request());
  on_request_sent();
}

void NhsRegistration::send_purge() {
  // RFC 2332 5.2.5: CIEs name what to delete; N clear so that the Purge
  // Reply tells us the NHS has removed it (NHRP-WIRE.md 8.4).
  nhrp::PurgeRequestSpec spec;
  spec.sender = config_.self;
  spec.dst_protocol = nhs_.protocol.empty() ? config_.self.protocol : nhs_.protocol;
  spec.request_id = registered_id_;
  spec.no_reply = false;
  nhrp::Cie own;
  own.prefix_length = nhrp::kHostPrefix;
  own.nbma = config_.self.nbma;
  own.protocol = config_.self.protocol;
  spec.cies.push_back(own);
  for (const LocalPrefix& prefix : config_.registered_prefixes) {
    nhrp::Cie cie = own;
    cie.prefix_length = prefix.length;
    cie.protocol = prefix.network();
    spec.cies.push_back(cie);
  }
  sender_.send(nhs_.nbma, nhrp::build_purge_request(spec));
  arm(std::min<Duration>(kPurgeRetransmit, purge_deadline_ - clock_.now()));
}

void NhsRegistration::on_registration_reply(const NbmaFrame& frame, const nhrp::Packet& reply) {
  if (!awaits_reply(reply.request_id)) return;
  if (reply.src_protocol != config_.self.protocol) {
    sender_.stats().count_error("registration reply for another source");
    return;
  }
  if (frame.outer_source != nhs_.nbma) {
    log::debug(kLog, "nhs " + peer() + ": reply arrived from " + frame.outer_source.to_string());
  }
  // NHRP-WIRE.md 8.1: accepted only if every CIE code is 0.
  const auto refused = std::find_if(reply.cies.begin(), reply.cies.end(),
                                    [](const nhrp::Cie& cie) { return cie.code != nhrp::CieCode::Success; });
  if (reply.cies.empty()) {
    outstanding_ = false;
    fail("reply without a CIE");
    return;
  }
  if (refused != reply.cies.end()) {
    outstanding_ = false;
    last_code_ = refused->code;
    // Code 14 (RFC 2332 5.2.4): another NBMA holds the address uniquely; Cisco
    // refuses until that binding expires (`no-unique` would overwrite it).
    // Code 5: the NHS is short of resources. Both: retry after a backoff.
    fail("NAK code " + std::to_string(static_cast<unsigned>(refused->code)) + " (" +
         std::string(nhrp::to_string(refused->code)) + ")" +
         (refused->code == nhrp::CieCode::UniqueAddressRegistered ? ": registered from another NBMA" : ""));
    return;
  }
  accept_reply(reply);
}

void NhsRegistration::accept_reply(const nhrp::Packet& reply) {
  outstanding_ = false;
  learn_nhs_protocol(reply);
  learn_nat(reply);
  registered_id_ = request_id_;
  last_reply_unix_ = clock_.unix_seconds();
  last_code_ = nhrp::CieCode::Success;
  const std::uint16_t granted =
      reply.cies.front().holding_time != 0 ? reply.cies.front().holding_time : config_.holding_time;
  on_reply_ok(granted);
}

void NhsRegistration::learn_nhs_protocol(const nhrp::Packet& reply) {
  if (!nhs_.protocol.empty()) return;
  // An FRR (and our) NHS names itself in the reply's destination; others
  // fill the Responder Address extension (NHRP-WIRE.md 3.3, 7.2).
  IpAddress learned;
  if (!reply.dst_protocol.empty() && reply.dst_protocol != config_.self.protocol) {
    learned = reply.dst_protocol;
  } else if (const nhrp::Extension* responder = reply.find_extension(nhrp::ExtensionType::ResponderAddress);
             responder != nullptr && !responder->cies.empty()) {
    learned = responder->cies.front().protocol;
  }
  if (learned.empty() || learned.family() != config_.self.protocol.family()) return;
  nhs_.protocol = learned;
  protocol_learned_ = true;
  log::info(kLog, "nhs " + nhs_.nbma.to_string() + ": learned protocol address " + learned.to_string());
}

void NhsRegistration::learn_nat(const nhrp::Packet& reply) {
  // NHRP-WIRE.md 7.6: the NHS appends a second NAT CIE with the address it
  // sees us at when that differs from our Source NBMA.
  IpAddress nat;
  if (const nhrp::Extension* ext = reply.find_extension(nhrp::ExtensionType::CiscoNatAddress);
      ext != nullptr && ext->cies.size() >= 2 && ext->cies[1].nbma != config_.self.nbma) {
    nat = ext->cies[1].nbma;
  }
  if (nat != own_nat_) {
    log::info(kLog, "nhs " + peer() + ": " +
                        (nat.empty() ? std::string("no NAT") : "behind NAT, public NBMA " + nat.to_string()));
  }
  own_nat_ = nat;
}

void NhsRegistration::on_error_indication(const nhrp::Packet& indication) {
  outstanding_ = false;
  last_error_indication_ = indication.error_code;
  fail("error indication " + std::to_string(static_cast<unsigned>(indication.error_code)) + " (" +
       std::string(nhrp::to_string(indication.error_code)) + ")");
}

void NhsRegistration::on_purge_reply(const nhrp::Packet& reply) {
  if (!awaits_purge_reply(reply.request_id)) return;
  registered_until_.reset();
  timer_->cancel();
  transition(S::Idle, "purge acknowledged");
}

void NhsRegistration::fail(std::string_view reason) {
  ++failures_;
  last_error_ = std::string(reason);
  log::warning(kLog, "nhs " + peer() + ": registration failed: " + last_error_);
  if (state_ != S::Failed) transition(S::Failed, reason);
  on_refused();
}

NhsStatus NhsRegistration::status() const {
  NhsStatus s;
  s.state = state_;
  s.nhs_nbma = nhs_.nbma;
  s.nhs_protocol = nhs_.protocol;
  s.protocol_learned = protocol_learned_;
  s.priority = nhs_.priority;
  s.request_id = request_id_;
  s.attempts = attempts_;
  s.last_reply_unix = last_reply_unix_;
  const MonotonicTime now = clock_.now();
  if (timer_->armed()) s.next_event_in = timer_due_ - now;
  if (registered_until_ && *registered_until_ > now) s.expires_in = *registered_until_ - now;
  s.granted_holding_time = granted_;
  s.failures = failures_;
  s.last_error = last_error_;
  s.last_code = last_code_;
  s.last_error_indication = last_error_indication_;
  s.own_nat_address = own_nat_;
  return s;
}

}  // namespace advpnd::spoke
