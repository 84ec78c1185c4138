// The `none` IPsec provider (ARCHITECTURE.md: "explicit opt-in, clear text,
// loud warning"): spoke-to-spoke GRE goes unencrypted and unauthenticated.
// ensure() reports Up and terminate() reports Down at once, but from the
// loop (a 0-delay timer), never inside the call (ipsec_provider.h contract).
// There is no SA, so there are no counters: counters() is nullopt and the
// shortcut layer must take its figures from the dataplane.
#pragma once

#include <deque>
#include <memory>
#include <set>
#include <string>
#include <utility>

#include "base/clock.h"
#include "shortcut/ipsec_provider.h"

namespace advpnd::vici {

class NoneProvider final : public shortcut::IpsecProvider {
 public:
  // Logs a warning that traffic is sent in clear text.
  explicit NoneProvider(TimerFactory& timers);
  ~NoneProvider() override;
  NoneProvider(const NoneProvider&) = delete;
  NoneProvider& operator=(const NoneProvider&) = delete;

  void set_listener(Listener listener) override { listener_ = std::move(listener); }
  void ensure(const IpAddress& peer) override;
  void terminate(const IpAddress& peer) override;
  [[nodiscard]] std::optional<shortcut::TunnelCounters> counters(const IpAddress& peer) const override;
  [[nodiscard]] std::string_view name() const override { return "none"; }

 private:
  struct Notice {
    IpAddress peer;
    shortcut::TunnelState state;
  };
  void post(const IpAddress& peer, shortcut::TunnelState state);
  void flush();

  Listener listener_;
  std::set<IpAddress> up_;  // peers reported (or about to be reported) Up
  std::deque<Notice> notices_;
  std::unique_ptr<Timer> timer_;
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

}  // namespace advpnd::vici
