// The setting-up half of StrongswanProvider (strongswan_provider.h): peers
// and their state machine, ensure (load-conn, list-sas, initiate) and
// terminate (terminate, unload-conn). Watching charon is in
// strongswan_monitor.cpp.
#include "vici/strongswan_provider.h"

#include <algorithm>
#include <utility>

#include "base/log.h"
#include "vici/duplicate_sa.h"

namespace advpnd::vici {
namespace {

using namespace std::chrono_literals;
using shortcut::TunnelState;

constexpr std::string_view kLog = "ipsec-strongswan";
// How long past charon's own initiate/terminate timeout we wait for its answer.
constexpr Duration kAnswerMargin = 2s;
// The name of our PSK in charon (load-shared id): loading it again replaces it.
constexpr std::string_view kSharedSecretId = "advpnd-psk";
// control-log lines worth quoting as the reason of a failed initiate.
constexpr std::string_view kReasonWords[] = {"fail", "error",      "giving up", "no proposal", "unable",
                                             "not ", "retransmit", "timeout",   "refused",     "unacceptable"};

long long to_ms(Duration d) { return std::chrono::duration_cast<std::chrono::milliseconds>(d).count(); }

bool allowed(PeerState from, PeerState to) {
  if (to == PeerState::Terminating) return from != PeerState::Terminating;
  switch (from) {
    case PeerState::Loading:
      return to == PeerState::Checking || to == PeerState::Up || to == PeerState::Failed;
    case PeerState::Checking:
      return to == PeerState::Initiating || to == PeerState::Up || to == PeerState::Failed;
    case PeerState::Initiating:
      return to == PeerState::Verifying || to == PeerState::Up || to == PeerState::Failed;
    case PeerState::Verifying:
      return to == PeerState::Up || to == PeerState::Failed;
    case PeerState::Failed:
      return to == PeerState::Loading;
    case PeerState::Up:
    case PeerState::Terminating:
      return false;
  }
  return false;
}

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; });
  return out;
}

}  // namespace

std::string_view to_string(PeerState state) {
  switch (state) {
    case PeerState::Loading:
      return "loading";
    case PeerState::Checking:
      return "checking";
    case PeerState::Initiating:
      return "initiating";
    case PeerState::Verifying:
      return "verifying";
    case PeerState::Up:
      return "up";
    case PeerState::Failed:
      return "failed";
    case PeerState::Terminating:
      return "terminating";
  }
  return "unknown";
}

StrongswanProvider::StrongswanProvider(platform::EventLoop& loop, StrongswanConfig config)
    : loop_(loop), config_(std::move(config)) {
  ClientOptions options;
  options.socket_path = config_.socket_path;
  options.command_timeout = config_.command_timeout;
  options.reconnect_initial = config_.reconnect_initial;
  options.reconnect_max = config_.reconnect_max;
  options.name = "control";
  control_ = std::make_unique<Client>(loop_, options);
  control_->set_state_handler([this](bool up, const std::string& reason) { on_control_state(up, reason); });
  child_updown_ = control_->subscribe("child-updown", [this](const Message& m) { on_updown(m, true); });
  ike_updown_ = control_->subscribe("ike-updown", [this](const Message& m) { on_updown(m, false); });
  for (unsigned i = 0; i < std::max(config_.initiators, 1U); ++i) {
    options.name = "initiator" + std::to_string(i);
    initiators_.push_back(std::make_unique<Client>(loop_, options));
  }
  poll_timer_ = loop_.make_timer([this] { poll(); });
  poll_timer_->arm(config_.poll_interval);
  control_->start();
  for (auto& client : initiators_) client->start();
  log::info(kLog, "provider 'strongswan' using charon at " + config_.socket_path);
}

StrongswanProvider::~StrongswanProvider() = default;

// --- Peers and their state ---------------------------------------------------

StrongswanProvider::Peer* StrongswanProvider::find(const IpAddress& peer) {
  const auto it = peers_.find(peer);
  return it == peers_.end() ? nullptr : it->second.get();
}

StrongswanProvider::Peer& StrongswanProvider::create(const IpAddress& address, PeerState initial,
                                                     const std::string& reason) {
  log::info(kLog,
            "peer " + address.to_string() + ": (none) -> " + std::string(to_string(initial)) + " (" + reason + ")");
  ++transitions_[static_cast<std::size_t>(initial)];
  auto peer = std::make_unique<Peer>(Peer{address,
                                          conn_name(config_.conn_prefix, address),
                                          initial,
                                          0,
                                          Backoff(config_.retry_initial, config_.retry_max),
                                          nullptr,
                                          {},
                                          {},
                                          true,
                                          false});
  peer->retry_timer = loop_.make_timer([this, address] {
    if (Peer* p = find(address); p != nullptr && p->state == PeerState::Failed) start_attempt(*p);
  });
  Peer& ref = *peer;
  peers_[address] = std::move(peer);
  return ref;
}

bool StrongswanProvider::transition(Peer& peer, PeerState to, const std::string& reason) {
  if (!allowed(peer.state, to)) {
    log::error(kLog, "peer " + peer.address.to_string() + ": refused transition " + std::string(to_string(peer.state)) +
                         " -> " + std::string(to_string(to)) + " (" + reason + ")");
    return false;
  }
  log::info(kLog, "peer " + peer.address.to_string() + ": " + std::string(to_string(peer.state)) + " -> " +
                      std::string(to_string(to)) + " (" + reason + ")");
  peer.state = to;
  ++transitions_[static_cast<std::size_t>(to)];
  return true;
}

void StrongswanProvider::report(const IpAddress& peer, TunnelState state, const std::string& reason) {
  if (!listener_) return;
  auto listener = listener_;  // the listener may replace itself or destroy this
  listener(peer, state, reason);
}

bool StrongswanProvider::carries(const IkeSa& sa, const Peer& peer) const {
  // Issue #12: with certificates, an SA under another identity than the one
  // expected is not this tunnel: the peer initiated to our template (which
  // takes any identity the CA vouches for), or our connection was loaded
  // before the expectation.
  if (const auto it = expected_ids_.find(peer.address); it != expected_ids_.end() &&
                                                         config_.policy.auth.method == AuthMethod::Certificate &&
                                                         !sa.remote_id.empty() && sa.remote_id != it->second) {
    return false;
  }
  if (sa.name == peer.conn) return true;
  if (!config_.responder_template || sa.name != config_.conn_prefix + "responder") return false;
  const std::string address = peer.address.to_string();
  if (sa.remote_host == address) return true;
  // A peer behind NAT initiated: its IKE address is the NAT's, its
  // selector (where our GRE goes through this SA) is its own address.
  return std::any_of(sa.children.begin(), sa.children.end(),
                     [&](const ChildSa& child) { return child.remote_ts_is_host(address); });
}

std::optional<PeerState> StrongswanProvider::state(const IpAddress& peer) const {
  const auto it = peers_.find(peer);
  if (it == peers_.end()) return std::nullopt;
  return it->second->state;
}

std::optional<shortcut::TunnelCounters> StrongswanProvider::counters(const IpAddress& peer) const {
  const auto it = peers_.find(peer);
  if (it == peers_.end() || it->second->state != PeerState::Up) return std::nullopt;
  return it->second->counters;
}

// --- ensure: load-conn, list-sas, initiate -----------------------------------

void StrongswanProvider::ensure(const IpAddress& address) {
  if (Peer* peer = find(address)) {
    // Up, setting up or Failed (retrying on its timer): nothing changes.
    if (peer->state == PeerState::Terminating) peer->ensure_when_gone = true;
    return;
  }
  start_attempt(create(address, PeerState::Loading, "ensure"));
}

void StrongswanProvider::expect_identity(const IpAddress& peer, const std::string& identity) {
  // A PSK proves no identity: nothing to check, and no extra poll.
  if (config_.policy.auth.method != AuthMethod::Certificate) return;
  if (identity.empty()) {
    expected_ids_.erase(peer);
  } else {
    expected_ids_[peer] = identity;
  }
  // A tunnel already up (set up before, for another lease) is checked again
  // now: under another identity it is gone after the poll and its
  // confirmation (on_poll, confirm_vanished).
  if (const Peer* p = find(peer); p != nullptr && p->state == PeerState::Up) poll_timer_->arm(Duration::zero());
}

void StrongswanProvider::start_attempt(Peer& peer) {
  if (peer.state == PeerState::Failed && !transition(peer, PeerState::Loading, "retry")) return;
  const std::uint64_t attempt = ++peer.attempt;
  const IpAddress address = peer.address;
  // Credentials first (once per charon run), then the connection.
  with_credentials([this, address, attempt](const std::string& error) {
    Peer* p = find(address);
    if (p == nullptr || p->attempt != attempt) return;
    if (!error.empty()) return fail_attempt(*p, error);
    ConnSpec spec;
    spec.name = p->conn;
    if (!config_.local_nbma.empty()) spec.local_addrs.push_back(config_.local_nbma.to_string());
    spec.remote_addrs.push_back(address.to_string());
    spec.policy = config_.policy;
    // Issue #12: with certificates, charon refuses a peer whose certificate
    // does not name the identity the resolution promised.
    if (const auto id = expected_ids_.find(address);
        id != expected_ids_.end() && spec.policy.auth.method == AuthMethod::Certificate) {
      spec.policy.auth.remote_id = id->second;
    }
    control_->command("load-conn", build_load_conn(spec),
                      [this, address, attempt](const Response& r) { on_loaded(address, attempt, r); });
  });
}

void StrongswanProvider::with_credentials(Continuation next) {
  if (creds_ == CredsState::Loaded) return next({});
  creds_waiters_.push_back(std::move(next));
  if (creds_ == CredsState::NotLoaded) load_credentials();
}

void StrongswanProvider::load_credentials() {
  creds_ = CredsState::Loading;
  const AuthConfig& auth = config_.policy.auth;
  // Answers come in order on the control connection: the last one settles it.
  auto errors = std::make_shared<std::string>();
  auto collect = [errors](std::string what) {
    return [errors, what = std::move(what)](const Response& r) {
      const std::string failure = r.ok() ? command_failure(*r) : r.error().message;
      if (!failure.empty() && errors->empty()) *errors = what + ": " + failure;
    };
  };
  auto settle = [this, errors] {
    creds_ = errors->empty() ? CredsState::Loaded : CredsState::NotLoaded;
    if (!errors->empty()) log::error(kLog, "loading credentials into charon failed: " + *errors);
    auto waiters = std::move(creds_waiters_);
    creds_waiters_.clear();
    std::weak_ptr<int> alive = alive_;
    for (auto& waiter : waiters) {
      waiter(*errors);
      if (alive.expired()) return;
    }
  };
  // The commands in order; the answer to the last one settles it.
  std::vector<std::pair<std::string, Message>> commands;
  if (auth.method == AuthMethod::Psk) {
    commands.emplace_back("load-shared", build_load_shared(std::string(kSharedSecretId), auth));
  } else {
    if (!auth.ca_pem.empty()) commands.emplace_back("load-cert", build_load_ca(auth.ca_pem));
    commands.emplace_back("load-key", build_load_key(auth.key_pem));
  }
  if (config_.responder_template) {
    // The template any peer may initiate to (strongswan-netns.md: the
    // responder only needs one connection with remote_addrs = %any).
    ConnSpec responder;
    responder.name = config_.conn_prefix + "responder";
    if (!config_.local_nbma.empty()) responder.local_addrs.push_back(config_.local_nbma.to_string());
    responder.remote_addrs.push_back("%any");
    responder.remote_ts = "0.0.0.0/0[gre]";
    responder.policy = config_.policy;
    commands.emplace_back("load-conn", build_load_conn(responder));
  }
  for (std::size_t i = 0; i < commands.size(); ++i) {
    auto& [name, message] = commands[i];
    if (i + 1 < commands.size()) {
      control_->command(name, std::move(message), collect(name));
      continue;
    }
    control_->command(name, std::move(message), [collect, settle, what = name](const Response& r) {
      collect(what)(r);
      settle();
    });
  }
}

void StrongswanProvider::on_loaded(const IpAddress& address, std::uint64_t attempt, const Response& response) {
  Peer* peer = find(address);
  if (peer == nullptr || peer->attempt != attempt || peer->state != PeerState::Loading) return;
  const std::string failure = response.ok() ? command_failure(*response) : response.error().message;
  if (!failure.empty()) return fail_attempt(*peer, "load-conn " + peer->conn + ": " + failure);
  if (!transition(*peer, PeerState::Checking, "connection loaded")) return;
  // An SA may exist already (the peer initiated, or we did before a
  // restart): initiating again would fail with "existing duplicate".
  check_existing(*peer, PeerState::Checking, {});
}

// In `checking` (Checking or Verifying): list-sas for the peer's connection;
// an installed CHILD_SA means Up; otherwise initiate (Checking) or fail with
// `failure` (Verifying).
void StrongswanProvider::check_existing(Peer& peer, PeerState checking, const std::string& failure) {
  const IpAddress address = peer.address;
  const std::uint64_t attempt = peer.attempt;
  auto sas = std::make_shared<std::vector<IkeSa>>();
  control_->stream(
      "list-sas", build_list_sas(), "list-sa",  // all: the peer may have used our template
      [sas](const Message& event) {
        for (auto& sa : parse_ike_sas(event)) sas->push_back(std::move(sa));
      },
      [this, address, attempt, checking, failure, sas](const Response& r) {
        Peer* p = find(address);
        if (p == nullptr || p->attempt != attempt || p->state != checking) return;
        if (!r.ok())
          return fail_attempt(*p, (failure.empty() ? "" : failure + "; ") + "list-sas: " + r.error().message);
        for (const auto& sa : *sas) {
          if (carries(sa, *p) && sa.has_installed_child(config_.policy.child_name)) {
            return go_up(*p, checking == PeerState::Checking ? "CHILD_SA already installed" : "CHILD_SA installed");
          }
        }
        if (checking == PeerState::Checking) return initiate(*p);
        abort_then_fail(*p, failure);
      });
}

void StrongswanProvider::initiate(Peer& peer) {
  if (!transition(peer, PeerState::Initiating, "no SA yet")) return;
  const IpAddress address = peer.address;
  const std::uint64_t attempt = peer.attempt;
  // control-log lines of this initiate: the reason when it fails.
  auto last_reason = std::make_shared<std::string>();
  initiator().stream(
      "initiate", build_initiate(config_.policy.child_name, peer.conn, config_.initiate_timeout), "control-log",
      [last_reason](const Message& event) {
        const std::string text = event.value_or("msg");
        const std::string folded = lower(text);
        for (const auto word : kReasonWords) {
          if (folded.find(word) != std::string::npos) {
            *last_reason = text;
            return;
          }
        }
      },
      [this, address, attempt, last_reason](const Response& r) {
        Peer* p = find(address);
        if (p == nullptr || p->attempt != attempt || p->state != PeerState::Initiating) return;
        std::string failure = r.ok() ? command_failure(*r) : r.error().message;
        if (failure.empty()) return go_up(*p, "initiate succeeded");
        failure = "initiate " + p->conn + ": " + failure;
        if (!last_reason->empty()) failure += " (" + *last_reason + ")";
        // Both ends may have raced: look once more before calling it a failure.
        if (transition(*p, PeerState::Verifying, failure)) check_existing(*p, PeerState::Verifying, failure);
      },
      config_.initiate_timeout + kAnswerMargin);
}

void StrongswanProvider::go_up(Peer& peer, const std::string& reason) {
  if (!transition(peer, PeerState::Up, reason)) return;
  peer.up_since = loop_.now();
  peer.counters = {};
  peer.backoff.reset();
  peer.retry_timer->cancel();
  report(peer.address, TunnelState::Up, reason);
}

void StrongswanProvider::fail_attempt(Peer& peer, const std::string& reason) {
  if (!transition(peer, PeerState::Failed, reason)) return;
  const Duration delay = peer.backoff.next();
  log::warning(kLog, "peer " + peer.address.to_string() + ": " + reason + "; retry " +
                         std::to_string(peer.backoff.attempts()) + " in " + std::to_string(to_ms(delay)) + " ms");
  peer.retry_timer->arm(delay);
  report(peer.address, TunnelState::Failed, reason);
}

// An IKE_SA still trying after a failed initiate (charon's timeout leaves it
// retransmitting) is stopped before the attempt counts as failed, so that
// this terminate cannot hit the next attempt's SA. Harmless when there is none.
void StrongswanProvider::abort_then_fail(Peer& peer, const std::string& reason) {
  const IpAddress address = peer.address;
  const std::uint64_t attempt = peer.attempt;
  initiator().command(
      "terminate", build_terminate(peer.conn, config_.terminate_timeout),
      [this, address, attempt, reason](const Response&) {
        Peer* p = find(address);
        if (p != nullptr && p->attempt == attempt && p->state == PeerState::Verifying) fail_attempt(*p, reason);
      },
      config_.terminate_timeout + kAnswerMargin);
}

// --- terminate ---------------------------------------------------------------

void StrongswanProvider::terminate(const IpAddress& address) {
  expected_ids_.erase(address);  // the next lease says again what it expects
  Peer* peer = find(address);
  if (peer == nullptr) {
    // Not ours (or forgotten after charon went away): clean charon all the same.
    begin_terminate(create(address, PeerState::Terminating, "terminate"), false, "terminate");
    return;
  }
  if (peer->state == PeerState::Terminating) {
    peer->ensure_when_gone = false;
    return;
  }
  if (!transition(*peer, PeerState::Terminating, "terminate")) return;
  begin_terminate(*peer, false, "terminate");
}

// In Terminating: terminate every IKE_SA that carries the peer's traffic
// (its own connection's, and one the peer set up to our responder
// template, which terminating by connection name would leave behind), on
// an initiator connection since a DELETE may wait for the peer; then
// unload the connection. Down is reported at the end unless
// `report_down_now` reported it already.
void StrongswanProvider::begin_terminate(Peer& peer, bool report_down_now, const std::string& reason) {
  const IpAddress address = peer.address;
  const std::uint64_t attempt = ++peer.attempt;  // in-flight answers of the setup are now stale
  peer.retry_timer->cancel();
  peer.report_down_when_gone = !report_down_now;
  auto sas = std::make_shared<std::vector<IkeSa>>();
  control_->stream(
      "list-sas", build_list_sas(), "list-sa",
      [sas](const Message& event) {
        for (auto& sa : parse_ike_sas(event)) sas->push_back(std::move(sa));
      },
      [this, address, attempt, sas](const Response&) {
        Peer* p = find(address);
        if (p == nullptr || p->attempt != attempt || p->state != PeerState::Terminating) return;
        std::vector<std::uint64_t> ids;
        for (const auto& sa : *sas) {
          if (carries(sa, *p) && sa.unique_id != 0) ids.push_back(sa.unique_id);
        }
        terminate_next(address, attempt, std::move(ids), true);
      });
  if (report_down_now) report(address, TunnelState::Down, reason);
}

// One IKE_SA at a time, then unload-conn. When list-sas found none, the
// connection is terminated by name all the same: an SA still being set up
// may not have been listed.
void StrongswanProvider::terminate_next(const IpAddress& address, std::uint64_t attempt,
                                        std::vector<std::uint64_t> ike_ids, bool first) {
  Peer* peer = find(address);
  if (peer == nullptr || peer->attempt != attempt || peer->state != PeerState::Terminating) return;
  const std::string conn = peer->conn;
  if (ike_ids.empty() && !first) {
    control_->command("unload-conn", build_unload_conn(conn), [this, address, attempt, conn](const Response& u) {
      const std::string failure = u.ok() ? command_failure(*u) : u.error().message;
      if (!failure.empty()) log::debug(kLog, "unload-conn " + conn + ": " + failure);
      finish_terminate(address, attempt);
    });
    return;
  }
  Message request = build_terminate(conn, config_.terminate_timeout);
  if (!ike_ids.empty()) {
    request = build_terminate_id(ike_ids.back(), config_.terminate_timeout);
    ike_ids.pop_back();
  }
  initiator().command(
      "terminate", std::move(request),
      [this, address, attempt, conn, ids = std::move(ike_ids)](const Response& r) mutable {
        if (!r.ok()) log::warning(kLog, "terminate " + conn + ": " + r.error().message);
        terminate_next(address, attempt, std::move(ids), false);
      },
      config_.terminate_timeout + kAnswerMargin);
}

void StrongswanProvider::finish_terminate(const IpAddress& address, std::uint64_t attempt) {
  Peer* peer = find(address);
  if (peer == nullptr || peer->attempt != attempt || peer->state != PeerState::Terminating) return;
  const bool report_down = peer->report_down_when_gone;
  const bool ensure_again = peer->ensure_when_gone;
  log::info(kLog, "peer " + address.to_string() + ": terminating -> (none)");
  peers_.erase(address);
  std::weak_ptr<int> alive = alive_;
  if (report_down) report(address, TunnelState::Down, "terminated");
  if (ensure_again && !alive.expired()) ensure(address);
}

// The connected initiator with the fewest requests queued (any, if none is
// connected: its command then fails at once with NotConnected).
Client& StrongswanProvider::initiator() {
  Client* best = initiators_.front().get();
  for (const auto& client : initiators_) {
    const bool better_link = client->connected() && !best->connected();
    const bool same_link = client->connected() == best->connected();
    if (better_link || (same_link && client->pending() < best->pending())) best = client.get();
  }
  return *best;
}

void StrongswanProvider::drop_duplicates(const Peer& peer, const std::vector<IkeSa>& sas) {
  const auto drop = duplicates_to_drop(sas, config_.policy.child_name, config_.local_nbma, peer.address,
                                       [&](const IkeSa& sa) { return carries(sa, peer); });
  for (const std::uint64_t id : drop) {
    if (!dropping_.insert(id).second) continue;
    ++duplicates_dropped_;
    log::info(kLog, "peer " + peer.address.to_string() + ": both ends initiated; the SA the peer initiated wins "
                    "(lower address), terminating ours (IKE_SA " + std::to_string(id) + ")");
    initiator().command(
        "terminate", build_terminate_id(id, config_.terminate_timeout),
        [this, id](const Response& r) {
          dropping_.erase(id);
          if (!r.ok()) log::warning(kLog, "terminate duplicate IKE_SA " + std::to_string(id) + ": " + r.error().message);
        },
        config_.terminate_timeout + kAnswerMargin);
  }
}

}  // namespace advpnd::vici
