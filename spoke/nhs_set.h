// Every configured NHS, each with its own registration machine. Like Cisco,
// the spoke registers with all of them at once (so any hub can reach it
// and forward resolutions to it); resolutions go through one: the primary,
// the most preferred NHS that is up (Registered or Refreshing). When the
// primary fails, the next one that is up takes over at once, and the
// preferred one takes its place back when it registers again.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/nbma_transport.h"
#include "nhrp/packet.h"
#include "spoke/nhs_registration.h"
#include "spoke/packet_sender.h"
#include "spoke/request_ids.h"

namespace advpnd::spoke {

class NhsSet {
 public:
  // Runs when the primary changes; nullptr when no NHS is up.
  using PrimaryChanged = std::function<void(const NhsRegistration* primary)>;

  NhsSet(RegistrationConfig config, std::vector<NhsEntry> servers, PacketSender& sender, RequestIds& ids,
         const Clock& clock, TimerFactory& timers);
  NhsSet(const NhsSet&) = delete;
  NhsSet& operator=(const NhsSet&) = delete;

  void start();
  // Every registration waits for its path before it sends
  // (NhsRegistration::wait_for_path); call before start().
  void wait_for_paths();
  // SIGHUP: one more NHS, in its place by priority; registered at once if
  // the set runs. (An NHS is not removed at run time: that needs a restart.)
  void add(const NhsEntry& entry);
  // SIGHUP: the Cisco password of the registrations sent from now on.
  void set_auth_password(const std::optional<std::string>& password) { config_.self.auth_password = password; }
  // The tunnel to the NHS at `nbma` came up or went: NhsRegistration::path_up / path_down.
  void path_up(const IpAddress& nbma);
  void path_down(const IpAddress& nbma);
  // Purges every registration (bounded by kPurgeWait) and runs `done` once
  // every NHS is Idle, on the event loop, never inside stop().
  void stop(std::function<void()> done);

  [[nodiscard]] const NhsRegistration* primary() const { return primary_; }
  [[nodiscard]] std::size_t up_count() const;
  [[nodiscard]] bool is_nhs(const IpAddress& nbma) const;
  // Our post-NAT NBMA as the primary (or else any NHS that is up) sees it.
  [[nodiscard]] IpAddress own_nat_address() const;
  [[nodiscard]] std::vector<NhsStatus> status() const;
  [[nodiscard]] const std::vector<std::unique_ptr<NhsRegistration>>& registrations() const { return servers_; }
  void set_on_primary_change(PrimaryChanged callback) { on_primary_change_ = std::move(callback); }
  // The NBMA of every NHS that is up, by preference (where link-local
  // multicast goes: dataplane/multicast.h).
  [[nodiscard]] std::vector<IpAddress> up_nbmas() const;
  // Runs after any registration changed state (up_nbmas() may have changed).
  void set_on_state_change(std::function<void()> callback) { on_any_change_ = std::move(callback); }

  // Received packets, routed by request ID; false when no NHS waits for it.
  bool on_registration_reply(const NbmaFrame& frame, const nhrp::Packet& reply);
  bool on_purge_reply(const nhrp::Packet& reply);
  bool on_error_indication(std::uint32_t quoted_request_id, const nhrp::Packet& indication);

 private:
  void on_state_change(NhsRegistration& nhs, RegistrationState from, RegistrationState to);
  void update_primary();
  void check_stopped();
  void finish_stop();

  RegistrationConfig config_;                              // outlives the registrations, which refer to it
  std::vector<std::unique_ptr<NhsRegistration>> servers_;  // by preference
  const NhsRegistration* primary_ = nullptr;
  PrimaryChanged on_primary_change_;
  std::function<void()> on_any_change_;
  std::function<void()> stopped_;
  std::unique_ptr<Timer> stopped_timer_;
  bool stopping_ = false;
  bool started_ = false;
  bool paths_required_ = false;  // wait_for_paths(): NHSs added later wait too
  PacketSender& sender_;
  RequestIds& ids_;
  const Clock& clock_;
  TimerFactory& timers_;
};

}  // namespace advpnd::spoke
