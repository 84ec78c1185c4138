// Resolution Requests through the primary NHS (RFC 2332 5.2.1, 5.2.2;
// NHRP-WIRE.md 8.3): a request-ID table that matches Resolution Replies
// and Error Indications (by the quoted request ID), retransmission with the
// same ID (1, 2, 4, 7 s: FRR caps at 30/4 s) until kGiveUp, per-target
// coalescing (one request per target, every caller answered), a cap on
// outstanding requests, a token bucket on new requests, and a negative
// cache for targets without a binding.
//
// Contract: the callback of resolve() runs exactly once, on the event loop
// and never inside resolve(). Destroying the client drops pending
// callbacks without running them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/backoff.h"
#include "base/clock.h"
#include "base/ip_address.h"
#include "base/nbma_transport.h"
#include "base/token_bucket.h"
#include "nhrp/builders.h"
#include "nhrp/packet.h"
#include "spoke/negative_cache.h"
#include "spoke/nhs_set.h"
#include "spoke/packet_sender.h"
#include "spoke/request_ids.h"

namespace advpnd::spoke {

// Retransmission (NHRP-WIRE.md 8.3 step 2): 1, 2, 4 ... s, capped at FRR's
// 30/4 s; given up after FRR's 30 s purge time of an incomplete entry.
inline constexpr Duration kResolutionFirstRetransmit = 1s;
inline constexpr Duration kResolutionMaxRetransmit = 7s;
inline constexpr Duration kResolutionGiveUp = 30s;

enum class ResolutionStatus : std::uint8_t {
  Resolved,            // CIE code 0
  Refused,             // a NAK: `code` says why (12/11: no binding)
  NegativeCached,      // a recent negative answer; nothing sent
  ErrorIndication,     // `error_code` says why
  Timeout,             // no answer within kGiveUp
  RateLimited,         // the token bucket of new resolutions is empty
  TooManyOutstanding,  // max_outstanding requests already wait
  NoNhs,               // no NHS is up
  SendFailed,
};
[[nodiscard]] std::string_view to_string(ResolutionStatus status);

struct ResolutionResult {
  ResolutionStatus status = ResolutionStatus::Timeout;
  IpAddress target;
  nhrp::CieCode code = nhrp::CieCode::Success;
  nhrp::ErrorCode error_code = nhrp::ErrorCode::None;
  // What the answer covers: the target masked to the CIE prefix length
  // (0 and >= the address width mean a host route, RFC 2332 5.2.1).
  IpAddress prefix;
  std::uint8_t prefix_length = 0;
  std::uint16_t holding_time = 0;  // seconds; our own holding time when the CIE says 0
  std::uint16_t mtu = 0;
  IpAddress nbma;          // where to send: NAT-corrected (NHRP-WIRE.md 7.6)
  IpAddress claimed_nbma;  // as the CIE says
  IpAddress protocol;      // the next hop's tunnel address
  IpAddress answered_by;   // outer source of the reply (the NHS, or the responder directly)
  std::string error;       // human text when not resolved

  [[nodiscard]] bool ok() const { return status == ResolutionStatus::Resolved; }
};
using ResolveCallback = std::function<void(const ResolutionResult&)>;

struct ResolutionConfig {
  nhrp::Sender self;
  std::uint16_t holding_time = nhrp::kDefaultHoldingTime;
  std::uint16_t mtu = 0;
  std::size_t max_outstanding = 256;
  TokenRate rate{10.0, 20.0};  // new requests (not retransmissions, not coalesced callers)
  std::size_t max_negative_entries = 4096;
  double jitter = kDefaultJitter;
  std::uint64_t seed = 2;
};

class ResolutionClient {
 public:
  // SIGHUP: the Cisco password of the requests sent from now on.
  void set_auth_password(const std::optional<std::string>& password) { config_.self.auth_password = password; }
  ResolutionClient(ResolutionConfig config, const NhsSet& servers, PacketSender& sender, RequestIds& ids,
                   const Clock& clock, TimerFactory& timers);
  ResolutionClient(const ResolutionClient&) = delete;
  ResolutionClient& operator=(const ResolutionClient&) = delete;

  void resolve(const IpAddress& target, ResolveCallback done);

  [[nodiscard]] bool awaits(std::uint32_t request_id) const { return pending_.contains(request_id); }
  void on_reply(const NbmaFrame& frame, const nhrp::Packet& reply);
  void on_error_indication(std::uint32_t quoted_request_id, const nhrp::Packet& indication);

  [[nodiscard]] std::size_t outstanding() const { return pending_.size(); }
  [[nodiscard]] const NegativeCache& negative_cache() const { return negative_; }
  [[nodiscard]] std::uint64_t requests_sent() const { return requests_sent_; }

 private:
  struct Pending {
    IpAddress target;
    std::vector<ResolveCallback> callbacks;
    MonotonicTime give_up_at{};
    MonotonicTime next_send{};
    Duration retransmit{};
    unsigned attempts = 0;
  };

  [[nodiscard]] nhrp::Packet build_request(std::uint32_t id, const IpAddress& target) const;
  bool send(std::uint32_t id, Pending& pending);
  [[nodiscard]] ResolutionResult result_from_reply(const Pending& pending, const NbmaFrame& frame,
                                                   const nhrp::Packet& reply) const;
  void finish(std::uint32_t id, const ResolutionResult& result);
  void defer(ResolveCallback done, ResolutionResult result);
  void flush_deferred();
  void on_timer();
  void schedule();

  ResolutionConfig config_;
  const NhsSet& servers_;
  PacketSender& sender_;
  RequestIds& ids_;
  const Clock& clock_;
  Jitter jitter_;
  TokenBucket rate_;
  NegativeCache negative_;
  std::map<std::uint32_t, Pending> pending_;                // by request ID
  std::unordered_map<IpAddress, std::uint32_t> by_target_;  // coalescing
  std::vector<std::pair<ResolveCallback, ResolutionResult>> deferred_;
  std::unique_ptr<Timer> retransmit_timer_;
  std::unique_ptr<Timer> deferred_timer_;
  std::uint64_t requests_sent_ = 0;
};

}  // namespace advpnd::spoke
