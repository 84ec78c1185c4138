#include "hub/next_hop_server.h"

#include <algorithm>
#include <set>

#include "base/log.h"
#include "nhrp/auth.h"

namespace advpnd::hub {
namespace {
// The Error Indication goes to the offending packet's source protocol
// address (RFC 2332 5.2.7); read it straight from the bytes when the packet
// as a whole did not decode but its header did (FRR drops an indication
// whose destination protocol address is empty, NHRP-WIRE.md 2).
IpAddress readable_source_protocol(std::span<const std::byte> bytes) {
  if (bytes.size() < nhrp::kFixedHeaderSize + nhrp::kCommonHeaderSize) return {};
  const auto at = [&](std::size_t i) { return std::to_integer<std::size_t>(bytes[i]); };
  const std::size_t start = nhrp::kFixedHeaderSize + nhrp::kCommonHeaderSize + (at(18) & 0x3F) + (at(19) & 0x3F);
  const std::size_t length = at(20);
  if (start + length > bytes.size()) return {};
  return IpAddress::from_bytes(bytes.subspan(start, length)).value_or(IpAddress{});
}

constexpr std::string_view kLog = "nhs";
constexpr std::uint8_t kNhrpTos = 0xC0;  // Cisco originates NHRP with TOS 0xC0 (NHRP-WIRE.md 1.1)
constexpr std::size_t kErrorIndicationSources = 65536;
const TokenRate kErrorIndicationRate{1.0, 5.0};  // per source: never a reflector
}  // namespace

NextHopServer::NextHopServer(NhsConfig config, NbmaTransport& transport, db::RegistrationStore& store,
                             const Clock& clock, TimerFactory& timers)
    : config_(std::move(config)),
      transport_(transport),
      store_(store),
      clock_(clock),
      redirect_(config_.redirect, sender(), clock,
                [this](const IpAddress& spoke, const nhrp::Packet& indication) { send(spoke, indication); }),
      registration_rate_(config_.registration_rate, config_.rate_limit_max_sources),
      error_indication_rate_(kErrorIndicationRate, kErrorIndicationSources),
      unix_anchor_(clock.unix_seconds()),
      monotonic_anchor_(clock.now()) {
  sweep_timer_ = timers.make_timer([this] {
    sweep();
    sweep_timer_->arm(config_.sweep_interval);
  });
  purge_timer_ = timers.make_timer([this] { retry_purges(); });
}

Status<std::string> NextHopServer::start() {
  auto loaded = store_.load_unexpired(steady_unix_seconds());
  if (!loaded) return fail("loading registrations: " + loaded.error().to_string());
  for (const db::Binding& binding : *loaded) cache_.upsert(binding);
  // Who resolved them before the restart still gets the purge (issue #10 item 6).
  auto resolvers = store_.load_resolvers(steady_unix_seconds());
  if (!resolvers) return fail("loading resolvers: " + resolvers.error().to_string());
  for (const db::ResolverRecord& r : *resolvers) {
    if (cache_.find(r.binding) == nullptr) continue;  // removed with its binding meanwhile
    (void)remember_resolver(r.binding, r.requester_nbma, r.requester_protocol, r.until, r.until);
  }
  log::info(kLog, "serving " + std::to_string(cache_.size()) + " registrations from the store");
  transport_.set_handlers({[this](const NbmaFrame& frame) { on_frame(frame); }, [this] { on_batch_end(); }});
  sweep_timer_->arm(config_.sweep_interval);
  return {};
}

void NextHopServer::reconfigure(const NhsConfig& config) {
  const IpAddress nbma = config_.nbma;
  const IpAddress protocol = config_.protocol;
  const std::uint8_t overlay_prefix_length = config_.overlay_prefix_length;
  config_ = config;
  config_.nbma = nbma;  // addresses are bound to the socket and the store: restart to change them
  config_.protocol = protocol;
  config_.overlay_prefix_length = overlay_prefix_length;  // and the overlay device's
  redirect_.reconfigure(config_.redirect, sender());
  registration_rate_.set_rate(config_.registration_rate);
  sweep_timer_->arm(config_.sweep_interval);
}

nhrp::Sender NextHopServer::sender() const {
  return nhrp::Sender{config_.nbma, config_.protocol, config_.dialect, config_.auth_password};
}

nhrp::Cie NextHopServer::own_cie(std::uint16_t holding_time) const {
  nhrp::Cie cie;
  // Responder CIE prefix: newer IOS 32, RFC and FRR 0 (NHRP-WIRE.md 7.2).
  cie.prefix_length =
      config_.dialect == nhrp::Dialect::Cisco ? static_cast<std::uint8_t>(config_.protocol.bit_width()) : 0;
  cie.mtu = config_.mtu;
  cie.holding_time = holding_time;
  cie.nbma = config_.nbma;
  cie.protocol = config_.protocol;
  return cie;
}

std::uint16_t NextHopServer::granted_holding_time(std::uint16_t requested) const {
  if (requested == 0) return std::min(config_.default_holding_time, config_.max_holding_time);
  return std::min(requested, config_.max_holding_time);
}

void NextHopServer::on_frame(const NbmaFrame& frame) {
  if (frame.gre_protocol != nhrp::kGreProtocolNhrp) {
    // Overlay packets (GRE 0x0800/0x86DD) belong to the user-space dataplane.
    if (on_data_) {
      on_data_(frame);
    } else {
      ++stats_.data_frames_ignored;
    }
    return;
  }
  // Issue #12 part 2: NHRP only through an established IKE_SA of the
  // sender, checked before anything is decoded (a clear-GRE flood costs one
  // hash lookup per packet). Not answered: an Error Indication would tell
  // an attacker what it reached.
  current_peer_ = nullptr;
  if (peers_ != nullptr) {
    current_peer_ = peers_->find(frame.outer_source);
    if (current_peer_ == nullptr) {
      ++stats_.refused_no_sa;
      log_throttle_.write(clock_.now(), log::Level::Warning, kLog, "no-sa " + frame.outer_source.to_string(),
                          "dropped NHRP from " + frame.outer_source.to_string() +
                              ": no established IKE_SA carries it (refused.no_sa " +
                              std::to_string(stats_.refused_no_sa) + ")");
      return;
    }
  }
  auto decoded = nhrp::decode_into(frame.payload, decoded_);
  if (!decoded) {
    handle_malformed(frame, decoded.error());
    return;
  }
  stats_.count_received(decoded_.type);
  handle(frame, decoded_);
  current_peer_ = nullptr;
}

// Table dispatch by packet type (STYLE.md); each handler owns its RFC section.
void NextHopServer::handle(const NbmaFrame& frame, nhrp::Packet& packet) {
  using nhrp::PacketType;
  switch (packet.type) {
    case PacketType::RegistrationRequest:
      return handle_registration(frame, packet);
    case PacketType::ResolutionRequest:
      return handle_resolution_request(frame, packet);
    case PacketType::ResolutionReply:
      return handle_resolution_reply(frame, packet);
    case PacketType::PurgeRequest:
      return handle_purge_request(frame, packet);
    case PacketType::PurgeReply:
      if (on_client_packet_ && on_client_packet_(frame, packet)) return;  // our purge at the tier above
      return handle_purge_reply(frame, packet);
    case PacketType::ErrorIndication:
      if (on_client_packet_ && on_client_packet_(frame, packet)) return;  // about our registration upstream
      // Never answered (RFC 2332 5.2.7); logged, it names a problem a peer saw with us.
      stats_.count_error("received error indication " + std::string(nhrp::to_string(packet.error_code)));
      log_throttle_.write(clock_.now(), log::Level::Warning, kLog, "ei " + frame.outer_source.to_string(),
                          "error indication from " + frame.outer_source.to_string() + ": " +
                              std::string(nhrp::to_string(packet.error_code)) + " at offset " +
                              std::to_string(packet.error_offset));
      return;
    case PacketType::RegistrationReply:
      if (on_client_packet_ && on_client_packet_(frame, packet)) return;  // from the tier above
      [[fallthrough]];
    case PacketType::TrafficIndication:
      stats_.count_error("unexpected " + std::string(nhrp::to_string(packet.type)));
      return;
  }
}

void NextHopServer::handle_malformed(const NbmaFrame& frame, const nhrp::DecodeError& error) {
  stats_.count_error("malformed: " + std::string(nhrp::to_string(error.code)));
  log::debug(kLog, "dropped packet from " + frame.outer_source.to_string() + ": " + error.message());
  const bool about_error_indication =
      frame.payload.size() > 17 &&
      frame.payload[17] == std::byte{static_cast<std::uint8_t>(nhrp::PacketType::ErrorIndication)};
  if (error.indication() == nhrp::ErrorCode::None || about_error_indication) return;
  send_error_indication(frame.outer_source, error.indication(), static_cast<std::uint16_t>(error.offset), frame.payload,
                        readable_source_protocol(frame.payload));
}

bool NextHopServer::authenticated(const NbmaFrame& frame, const nhrp::Packet& packet) {
  if (!config_.auth_password) return true;
  const nhrp::AuthCheck check = nhrp::check_cisco_auth(packet, *config_.auth_password);
  if (check == nhrp::AuthCheck::Ok) return true;
  // FRR and Cisco: Error Indication 11, packet dropped (NHRP-WIRE.md 7.5).
  stats_.count_error("authentication " + std::string(nhrp::to_string(check)));
  log_throttle_.write(clock_.now(), log::Level::Warning, kLog, "auth " + frame.outer_source.to_string(),
                      "authentication " + std::string(nhrp::to_string(check)) + " from " +
                          frame.outer_source.to_string() + " (" + packet.src_protocol.to_string() + ")");
  // The indication's destination protocol address: a request's source; for
  // a reply, whose source is the requester, its destination (FRR's rule:
  // "for a reply they are not swapped", NHRP-WIRE.md 6).
  send_error_indication(frame.outer_source, nhrp::ErrorCode::AuthenticationFailure, 0, frame.payload,
                        nhrp::is_reply(packet.type) ? packet.dst_protocol : packet.src_protocol);
  return false;
}

// RFC 2332 5.3: a compulsory extension we do not know refuses the request
// with Error Indication "Unrecognized Extension".
bool NextHopServer::extensions_understood(const NbmaFrame& frame, const nhrp::Packet& packet) {
  using nhrp::ExtensionType;
  const bool unknown_compulsory =
      std::any_of(packet.extensions.begin(), packet.extensions.end(), [](const nhrp::Extension& ext) {
        switch (ext.type()) {
          case ExtensionType::End:
          case ExtensionType::ResponderAddress:
          case ExtensionType::ForwardTransit:
          case ExtensionType::ReverseTransit:
          case ExtensionType::Authentication:
          case ExtensionType::VendorPrivate:
          case ExtensionType::CiscoNatAddress:
            return false;
        }
        return ext.compulsory();
      });
  if (!unknown_compulsory) return true;
  stats_.count_error("unrecognized compulsory extension");
  send_error_indication(frame.outer_source, nhrp::ErrorCode::UnrecognizedExtension, 0, frame.payload,
                        packet.src_protocol);
  return false;
}

void NextHopServer::send(const IpAddress& destination, const nhrp::Packet& packet) {
  send_buffer_.resize(nhrp::encoded_size(packet));
  auto written = nhrp::encode(packet, send_buffer_);
  if (!written) {
    stats_.count_error("encode: " + written.error().message());
    // Issue #10 item 7: one line per reason and interval, not per packet.
    log_throttle_.write(clock_.now(), log::Level::Error, kLog,
                        "encode " + std::string(nhrp::to_string(packet.type)) + written.error().message(),
                        "cannot encode " + std::string(nhrp::to_string(packet.type)) + " for " +
                            destination.to_string() + ": " + written.error().message());
    return;
  }
  auto sent = transport_.send(destination, nhrp::kGreProtocolNhrp, send_buffer_, kNhrpTos);
  if (!sent) {
    stats_.count_error("send failed");
    log::debug(kLog, "send to " + destination.to_string() + " failed: " + sent.error());
    return;
  }
  stats_.count_sent(packet.type);
}

void NextHopServer::send_error_indication(const IpAddress& destination, nhrp::ErrorCode code, std::uint16_t offset,
                                          std::span<const std::byte> offending, const IpAddress& offending_source) {
  if (!error_indication_rate_.try_take(destination, clock_.now())) {
    stats_.count_error("error indication rate limited");
    return;
  }
  nhrp::ErrorIndicationSpec spec;
  spec.sender = sender();
  spec.sender.auth_password.reset();  // RFC 2332 5.2.7: no extensions
  spec.code = code;
  spec.offset = offset;
  spec.offending = offending;
  spec.offending_source = offending_source;
  send(destination, nhrp::build_error_indication(spec));
}

void NextHopServer::note_store_result(bool ok, const std::string& cause) {
  // Logged on the change of state, not once per packet (issue: "log the cause").
  if (ok && !store_healthy_) log::info(kLog, "registration store writable again");
  if (!ok && store_healthy_) {
    log::error(kLog, "registration store failing (registrations get code 5 while it does): " + cause);
  }
  store_healthy_ = ok;
}

void NextHopServer::on_batch_end() { end_batch(false); }

void NextHopServer::flush() { end_batch(true); }

void NextHopServer::end_batch(bool force) {
  // A turn that only learnt who resolved what (resolver records) does not
  // make a commit of its own: those records wait for the next registration
  // batch, the sweep, or kResolverFlushBatch of them (measured: one commit
  // per turn of a 50k/s resolution load piled commits up on the store).
  const bool only_resolvers = open_.replies.empty() && open_.after.empty();
  if (only_resolvers && !force && store_.staged() < kResolverFlushBatch) return;
  if (store_.staged() == 0) {
    // Nothing to make durable (purge replies for nothing, refusals that
    // are not audited): the replies need no commit.
    for (const PendingReply& pending : open_.replies) send(pending.destination, pending.reply);
    open_ = Batch{};
    return;
  }
  in_flight_.push_back(std::exchange(open_, Batch{}));
  // May run finish_batch() at once (the fake store), so in_flight_ first.
  store_.commit_async([this, alive = std::weak_ptr<bool>(alive_)](const Status<db::StoreError>& status) {
    if (alive.lock()) on_commit_done(status);
  });
}

// The store reports batches in hand-over order (db/registration_store.h):
// this result is the oldest batch's still waiting for one. Batches are then
// finished oldest first, as far as their results are known.
void NextHopServer::on_commit_done(const Status<db::StoreError>& status) {
  for (Batch& batch : in_flight_) {
    if (!batch.result) {
      batch.result = status;
      break;
    }
  }
  finish_ready_batches();
}

void NextHopServer::finish_ready_batches() {
  while (!in_flight_.empty() && in_flight_.front().result) {
    Batch batch = std::move(in_flight_.front());
    in_flight_.pop_front();
    finish_batch(batch);
  }
}

void NextHopServer::finish_batch(Batch& batch) {
  const Status<db::StoreError>& status = *batch.result;
  const bool committed = status.ok();
  if (committed) {
    ++stats_.commits;
  } else {
    ++stats_.commit_failures;
    stats_.count_error("store: " + std::string(db::to_string(status.error().kind)));
  }
  note_store_result(committed, committed ? std::string() : status.error().to_string());
  if (committed) {
    for (auto& [key, after] : batch.after) {
      if (after) {
        cache_.upsert(*after);
      } else {
        cache_.remove(key);
      }
    }
    for (const db::Binding& gone : batch.gone) purge_resolvers(gone);
    for (const std::string& line : batch.log) log::info(kLog, line);
  }
  for (PendingReply& pending : batch.replies) {
    if (!committed) {
      if (!pending.registration) continue;  // a purge not applied is not acknowledged
      for (nhrp::Cie& cie : pending.reply.cies) {
        if (cie.code == nhrp::CieCode::Success) {
          cie.code = nhrp::CieCode::InsufficientResources;
          cie.holding_time = 0;
        }
      }
    }
    send(pending.destination, pending.reply);
  }
}

std::int64_t NextHopServer::steady_unix_seconds() const {
  return unix_anchor_ + std::chrono::duration_cast<std::chrono::seconds>(clock_.now() - monotonic_anchor_).count();
}

// The store deletes expired bindings and old audit rows on its own thread,
// in turn with the commits (db/registration_store.h sweep_async): a sweep
// that waited for them blocked the event loop behind a backlog of commits
// (measured: 50k resolutions/s answered after 60-200 ms, some dropped by the
// socket, issue #10 item 7). The cache follows when the result comes back.
void NextHopServer::sweep() {
  if (sweep_in_flight_) return;  // the previous one is still queued behind commits
  flush();                       // resolver records waiting for company (end_batch)
  const std::int64_t now = steady_unix_seconds();
  sweep_in_flight_ = true;
  store_.sweep_async(now, now - config_.audit_retention_s,
                     [this, alive = std::weak_ptr<bool>(alive_)](db::RegistrationStore::SweepResult result) {
                       if (alive.lock()) finish_sweep(result);
                     });
  sweep_resolver_slice(now);
}

void NextHopServer::finish_sweep(const db::RegistrationStore::SweepResult& result) {
  sweep_in_flight_ = false;
  ++stats_.sweeps;
  if (!result.audit_pruned) note_store_result(false, result.audit_pruned.error().to_string());
  if (!result.expired) {
    note_store_result(false, result.expired.error().to_string());
    return;
  }
  for (const db::Binding& binding : *result.expired) {
    cache_.remove(binding.key);
    log::info(kLog, "expired " + binding.key.protocol.to_string() + "/" + std::to_string(binding.key.prefix_len) +
                        " at " + binding.key.nbma.to_string());
    purge_resolvers(binding);
  }
}

// Resolvers whose copy has expired anyway need no purge: dropped a slice
// per sweep, so that a sweep stays short however many there are.
void NextHopServer::sweep_resolver_slice(std::int64_t now) {
  auto it = resolvers_.lower_bound(resolver_sweep_cursor_);
  for (std::size_t visited = 0; visited < kResolverSweepSlice && !resolvers_.empty(); ++visited) {
    if (it == resolvers_.end()) it = resolvers_.begin();
    auto& requesters = it->second;
    resolver_count_ -= std::erase_if(requesters, [now](const auto& entry) { return entry.second.until <= now; });
    it = requesters.empty() ? resolvers_.erase(it) : std::next(it);
  }
  resolver_sweep_cursor_ = it == resolvers_.end() ? db::BindingKey{} : it->first;
}

Result<std::size_t, std::string> NextHopServer::clear_registration(const IpAddress& protocol) {
  // Every binding of the address as it will be once the batches in flight
  // have committed: the committed ones and those still on their way.
  std::set<db::BindingKey> keys;
  for (const auto& [key, binding] : cache_.all()) {
    if (key.protocol == protocol) keys.insert(key);
  }
  const auto add_keys = [&](const Batch& batch) {
    for (const auto& [key, after] : batch.after) {
      if (key.protocol == protocol) keys.insert(key);
    }
  };
  add_keys(open_);
  for (const Batch& batch : in_flight_) add_keys(batch);
  std::vector<db::Binding> matching;
  for (const db::BindingKey& key : keys) {
    if (const auto* staged = staged_state(key)) {
      if (*staged) matching.push_back(**staged);
    } else if (const db::Binding* binding = cache_.find(key)) {
      matching.push_back(*binding);
    }
  }
  if (matching.empty()) return std::size_t{0};
  for (const db::Binding& binding : matching) {
    stage_removal(binding, db::AuditKind::Purged, "cleared by operator");
    open_.log.push_back("cleared " + binding.key.protocol.to_string() + "/" + std::to_string(binding.key.prefix_len) +
                        " at " + binding.key.nbma.to_string());
  }
  // The operator's command waits for its own commit (rare; ordered after
  // the batches in flight), so that it can report the outcome. The batch
  // then takes its turn behind them; its counters end with it (issue #10
  // item 7: the next batch's capacity check must not inherit them).
  Batch batch = std::exchange(open_, Batch{});
  batch.result = store_.commit();
  const Status<db::StoreError> result = *batch.result;
  in_flight_.push_back(std::move(batch));
  finish_ready_batches();
  if (!result) return fail(result.error().to_string());
  return matching.size();
}

}  // namespace advpnd::hub
