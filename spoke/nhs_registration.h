// One registration with one Next Hop Server (RFC 2332 5.2.3, 5.2.4, 5.2.5;
// NHRP-WIRE.md 8.1, 8.4): an explicit state machine with one transition
// function that refuses illegal moves, logs "old -> new (reason)" and counts.
//
//            start()
//   Idle ---------------> Registering --+ timeout: resend, same ID,
//    ^                      |      ^    |          1, 2, 4 ... 64 s (FRR)
//    |                      |      +----+
//    |             reply ok |      NAK, Error Indication naming our ID,
//    |                      |      or kAttemptsBeforeFailed unanswered
//    |                      v             |
//    |    +----------> Registered         v
//    |    |                 |           Failed --+ timer: resend (same ID)
//    |    | reply ok        | refresh     |  ^    | at the 64 s cap, or
//    |    |                 | at          |  +----+ retry after a NAK
//    |    |                 | holdtime/3  |         (10 s doubling to 64 s)
//    |    |                 v (new ID)    | reply ok: -> Registered
//    |    +---------- Refreshing ---------+-> Failed: NAK, EI,
//    |                                       kAttemptsBeforeFailed unanswered,
//    |                                       or the binding expired at the NHS
//    |
//    +---------- Purging <--- stop() from any state but Idle, when a binding
//      Purge Reply, or        may still exist at the NHS: Purge Request, N
//      kPurgeWait over        clear, the ID of the last success (OpenNHRP:
//                             Cisco wants registration and purge IDs equal).
//                             Otherwise stop() goes straight to Idle.
//
// Request IDs: retransmissions and retries reuse the ID (Cisco needs it,
// NHRP-WIRE.md 8.1); a new ID is taken only for the first cycle and for
// each refresh after a success (FRR). With `fixed_request_id` one ID is
// used for every registration, as the Cisco capture and OpenNHRP's Cisco
// mode do.
//
// Up = Registered or Refreshing: the NHS holds our binding and may be used
// for resolutions. All the timing lives in nhs_registration_timers.cpp.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/backoff.h"
#include "base/clock.h"
#include "base/ip_address.h"
#include "base/nbma_transport.h"
#include "nhrp/builders.h"
#include "nhrp/packet.h"
#include "spoke/local_prefix.h"
#include "spoke/packet_sender.h"
#include "spoke/request_ids.h"

namespace advpnd::spoke {

using namespace std::chrono_literals;

// Timing (RFC 2332 5.2.3 holding time; NHRP-WIRE.md 8.1 for FRR's values).
// Refresh at holdtime/3 (RFC recommendation, FRR: 7200 -> 2400 s).
inline constexpr int kRefreshDivisor = 3;
// Retransmission: 1 s, doubled on each timeout up to 64 s (FRR nhrp_nhs.c).
inline constexpr Duration kFirstRetransmit = 1s;
inline constexpr Duration kMaxRetransmit = 64s;
// Unanswered attempts after which the NHS counts as failed: the one with
// the 64 s timeout has gone unanswered too (1+2+...+64 = 127 s).
inline constexpr unsigned kAttemptsBeforeFailed = 7;
// After a NAK or an Error Indication: 10 s, doubling, at most 64 s (code 5
// "insufficient resources" asks us to back off; code 14 lasts until the
// other binding's holding time runs out).
inline constexpr Duration kFirstNakRetry = 10s;
// +/-10 % on every delay, so spokes started together spread out.
inline constexpr double kDefaultJitter = 0.1;
// Purge on shutdown (RFC 2332 5.2.5: retransmission "is a local matter"):
// resent every second, given up after 3 s so shutdown stays bounded.
inline constexpr Duration kPurgeRetransmit = 1s;
inline constexpr Duration kPurgeWait = 3s;

enum class RegistrationState : std::uint8_t { Idle, Registering, Registered, Refreshing, Failed, Purging };
inline constexpr std::size_t kRegistrationStates = 6;
[[nodiscard]] std::string_view to_string(RegistrationState state);
// The edges of the diagram above.
[[nodiscard]] bool is_legal_transition(RegistrationState from, RegistrationState to);

// One configured NHS.
struct NhsEntry {
  IpAddress nbma;      // where Registration Requests go
  IpAddress protocol;  // its tunnel address; empty: learned from the first reply
  // Lower is preferred (Cisco `ip nhrp nhs ... priority`, 0 = highest);
  // equal priorities keep the configured order.
  std::uint8_t priority = 0;
};

struct RegistrationConfig {
  nhrp::Sender self;  // own NBMA (pre-NAT), tunnel address, dialect, Cisco password
  std::uint16_t holding_time = nhrp::kDefaultHoldingTime;
  // Cisco `ip nhrp registration timeout`: refresh this often instead of at
  // holdtime/3 (a shorter one finds a dead NHS sooner). Never beyond holdtime/3.
  std::optional<std::chrono::seconds> registration_timeout;
  std::uint16_t mtu = 0;
  bool unique = true;  // the U flag; false = Cisco `registration no-unique`
  // Extra CIEs registering these prefixes (RFC 2332 5.2.3 allows several),
  // so that an NHS without routing forwards resolutions for them here.
  std::vector<LocalPrefix> registered_prefixes;
  bool fixed_request_id = false;
  double jitter = kDefaultJitter;
  std::uint64_t seed = 1;  // of the jitter
};

// What `advpnctl show nhs` prints for one NHS.
struct NhsStatus {
  RegistrationState state = RegistrationState::Idle;
  IpAddress nhs_nbma;
  IpAddress nhs_protocol;  // configured or learned; empty while unknown
  bool protocol_learned = false;
  std::uint8_t priority = 0;
  std::uint32_t request_id = 0;                 // of the current cycle
  unsigned attempts = 0;                        // sends in the current cycle
  std::optional<std::int64_t> last_reply_unix;  // wall clock of the last successful reply
  std::optional<Duration> next_event_in;        // refresh, retransmission or retry
  std::optional<Duration> expires_in;           // of the binding at the NHS
  std::uint16_t granted_holding_time = 0;
  std::uint64_t failures = 0;  // NAKs, Error Indications, attempts given up
  std::string last_error;
  std::optional<nhrp::CieCode> last_code;
  std::optional<nhrp::ErrorCode> last_error_indication;
  IpAddress own_nat_address;  // our post-NAT NBMA as this NHS sees it; empty if not NATted
};

class NhsRegistration {
 public:
  // Runs after every transition (the NHS set recomputes its primary).
  using StateChanged = std::function<void(NhsRegistration&, RegistrationState from, RegistrationState to)>;

  NhsRegistration(NhsEntry nhs, const RegistrationConfig& config, PacketSender& sender, RequestIds& ids,
                  const Clock& clock, TimerFactory& timers, StateChanged on_change);
  NhsRegistration(const NhsRegistration&) = delete;
  NhsRegistration& operator=(const NhsRegistration&) = delete;

  // Idle -> Registering: the first request goes out now.
  void start();
  // De-registers (Purging) when a binding may exist, else goes Idle.
  void stop();
  // The protected path to this NHS (agent/tunnel_broker.h). After
  // wait_for_path(), start() sends nothing until path_up(): a request
  // before the SA exists is dropped (GRE fails closed), and one sent at
  // start and again at path_up would be answered twice under the same ID
  // (issue #10 item 5). path_up(): while Registering, Refreshing or
  // Failed, a request whose last send went out while the path was not up
  // is sent now (same ID, fresh timeouts) instead of waiting out a
  // retransmission timer those lost sends have stretched; with
  // `resend` false (stopping) it is only noted.
  void wait_for_path() { path_gated_ = true; }
  void path_up(bool resend = true);
  void path_down() { path_up_ = false; }

  // True while `id` is the request this machine waits a reply for.
  [[nodiscard]] bool awaits_reply(std::uint32_t id) const;
  [[nodiscard]] bool awaits_purge_reply(std::uint32_t id) const;
  void on_registration_reply(const NbmaFrame& frame, const nhrp::Packet& reply);
  void on_purge_reply(const nhrp::Packet& reply);
  // An Error Indication quoting our outstanding request (RFC 2332 5.2.7).
  void on_error_indication(const nhrp::Packet& indication);

  [[nodiscard]] RegistrationState state() const { return state_; }
  [[nodiscard]] bool up() const {
    return state_ == RegistrationState::Registered || state_ == RegistrationState::Refreshing;
  }
  [[nodiscard]] const IpAddress& nbma() const { return nhs_.nbma; }
  [[nodiscard]] const IpAddress& protocol() const { return nhs_.protocol; }
  [[nodiscard]] std::uint8_t priority() const { return nhs_.priority; }
  [[nodiscard]] const IpAddress& own_nat_address() const { return own_nat_; }
  [[nodiscard]] NhsStatus status() const;
  // transitions()[from][to]: how often each edge was taken; refused(): illegal moves asked for.
  using TransitionCounts = std::array<std::array<std::uint64_t, kRegistrationStates>, kRegistrationStates>;
  [[nodiscard]] const TransitionCounts& transitions() const { return transitions_; }
  [[nodiscard]] std::uint64_t refused_transitions() const { return refused_; }

  // The single place where the state changes; false (and nothing changes)
  // for a move the diagram does not have. Public for the tests of the table.
  bool transition(RegistrationState to, std::string_view reason);

 private:
  // Wire (nhs_registration.cpp).
  [[nodiscard]] nhrp::Packet build_request() const;
  void send_request();
  void send_purge();
  void accept_reply(const nhrp::Packet& reply);
  void learn_nhs_protocol(const nhrp::Packet& reply);
  void learn_nat(const nhrp::Packet& reply);
  void fail(std::string_view reason);
  [[nodiscard]] std::string peer() const;

  // Timers (nhs_registration_timers.cpp): the hooks and the one timer.
  void on_request_sent();
  void on_reply_ok(std::uint16_t granted);
  void on_refused();
  void on_timer();
  void on_retransmit_timeout();
  void on_purge_timeout();
  void begin_cycle();
  void arm(Duration delay);

  NhsEntry nhs_;
  bool protocol_learned_ = false;
  const RegistrationConfig& config_;
  PacketSender& sender_;
  RequestIds& ids_;
  const Clock& clock_;
  StateChanged on_change_;
  Jitter jitter_;
  std::unique_ptr<Timer> timer_;
  MonotonicTime timer_due_{};

  RegistrationState state_ = RegistrationState::Idle;
  TransitionCounts transitions_{};
  std::uint64_t refused_ = 0;

  std::uint32_t request_id_ = 0;                   // current cycle
  std::uint32_t registered_id_ = 0;                // of the last success (the purge uses it)
  bool outstanding_ = false;                       // a request waits for its reply
  bool path_gated_ = false;                        // wait_for_path() was called
  bool path_up_ = false;                           // the tunnel to the NHS is up
  bool last_send_on_path_ = false;                 // the last request went out over an up path
  unsigned attempts_ = 0;                          // sends in this cycle
  Duration retransmit_{};                          // current retransmission timeout
  Duration nak_backoff_{};                         // current retry delay after a NAK
  std::optional<MonotonicTime> registered_until_;  // binding at the NHS
  std::uint16_t granted_ = 0;
  std::optional<std::int64_t> last_reply_unix_;
  MonotonicTime purge_deadline_{};
  std::uint64_t failures_ = 0;
  std::string last_error_;
  std::optional<nhrp::CieCode> last_code_;
  std::optional<nhrp::ErrorCode> last_error_indication_;
  IpAddress own_nat_;
};

}  // namespace advpnd::spoke
