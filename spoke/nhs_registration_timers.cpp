// Every timer of a registration in one place (STYLE.md; wireguard-go
// device/timers.go). One Timer, whose meaning follows the state:
//   Registering, Refreshing  retransmission timeout: 1, 2, 4 ... 64 s, same ID
//   Registered               refresh at holdtime/3 (RFC 2332 5.2.3, FRR), or
//                            Cisco's `registration timeout` when shorter
//   Failed                   retransmission at the cap, or retry after a NAK
//   Purging                  purge retransmission, bounded by kPurgeWait
// Driven by named hooks: on_request_sent, on_reply_ok, on_refused, on_timer.
// Every delay gets +/-jitter.
#include <algorithm>

#include "base/log.h"
#include "spoke/nhs_registration.h"

namespace advpnd::spoke {
namespace {
using S = RegistrationState;
constexpr Duration kMinRefresh = 1s;
}  // namespace

void NhsRegistration::arm(Duration delay) {
  delay = std::max(delay, Duration::zero());
  timer_due_ = clock_.now() + delay;
  timer_->arm(delay);
}

// A new cycle: the first registration, or a refresh after a success. Only
// here does the request ID change (Cisco needs retransmissions to reuse it).
void NhsRegistration::begin_cycle() {
  if (!config_.fixed_request_id || request_id_ == 0) request_id_ = ids_.next();
  attempts_ = 0;
  retransmit_ = kFirstRetransmit;
}

void NhsRegistration::on_request_sent() {
  ++attempts_;
  Duration timeout = jitter_.apply(retransmit_);
  // A refresh stops counting as "up" when the binding it renews runs out.
  if (state_ == S::Refreshing && registered_until_) {
    timeout = std::min<Duration>(timeout, *registered_until_ - clock_.now());
  }
  arm(timeout);
}

void NhsRegistration::on_reply_ok(std::uint16_t granted) {
  granted_ = granted;
  registered_until_ = clock_.now() + std::chrono::seconds(granted);
  nak_backoff_ = Duration::zero();
  transition(S::Registered,
             "reply ok, request " + std::to_string(request_id_) + ", holding time " + std::to_string(granted) + " s");
  Duration refresh = std::chrono::seconds(granted) / kRefreshDivisor;
  if (config_.registration_timeout) refresh = std::min<Duration>(refresh, *config_.registration_timeout);
  refresh = std::max<Duration>(refresh, kMinRefresh);
  arm(jitter_.apply(refresh));
}

// A NAK or an Error Indication ended the attempt: retry after a doubling backoff.
void NhsRegistration::on_refused() {
  nak_backoff_ = next_backoff(nak_backoff_, kFirstNakRetry, kMaxRetransmit);
  arm(jitter_.apply(nak_backoff_));
}

void NhsRegistration::on_timer() {
  switch (state_) {
    case S::Idle:
      return;
    case S::Registered:
      if (!transition(S::Refreshing, "refresh at holdtime/3")) return;
      begin_cycle();
      send_request();
      return;
    case S::Registering:
    case S::Refreshing:
    case S::Failed:
      if (outstanding_) {
        on_retransmit_timeout();
      } else {
        retransmit_ = kFirstRetransmit;  // retry after a NAK: same ID, fresh timeouts
        send_request();
      }
      return;
    case S::Purging:
      on_purge_timeout();
      return;
  }
}

void NhsRegistration::on_retransmit_timeout() {
  const MonotonicTime now = clock_.now();
  if (state_ == S::Refreshing && registered_until_ && *registered_until_ <= now) {
    registered_until_.reset();
    ++failures_;
    last_error_ = "binding expired at the NHS without a refresh reply";
    transition(S::Failed, last_error_);
  } else if ((state_ == S::Registering || state_ == S::Refreshing) && attempts_ >= kAttemptsBeforeFailed) {
    ++failures_;
    last_error_ = "no reply after " + std::to_string(attempts_) + " attempts";
    transition(S::Failed, last_error_);
  }
  retransmit_ = next_backoff(retransmit_, kFirstRetransmit, kMaxRetransmit);
  send_request();
}

void NhsRegistration::on_purge_timeout() {
  if (clock_.now() >= purge_deadline_) {
    registered_until_.reset();
    transition(S::Idle, "no purge reply within " +
                            std::to_string(std::chrono::duration_cast<std::chrono::seconds>(kPurgeWait).count()) +
                            " s");
    return;
  }
  send_purge();
}

}  // namespace advpnd::spoke
