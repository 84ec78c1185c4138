#include "spoke/nhs_set.h"

#include <algorithm>

#include "base/log.h"

namespace advpnd::spoke {
namespace {
constexpr std::string_view kLog = "nhc";
}

NhsSet::NhsSet(RegistrationConfig config, std::vector<NhsEntry> servers, PacketSender& sender, RequestIds& ids,
               const Clock& clock, TimerFactory& timers)
    : config_(std::move(config)), sender_(sender), ids_(ids), clock_(clock), timers_(timers) {
  for (const NhsEntry& entry : servers) add(entry);
  stopped_timer_ = timers.make_timer([this] { finish_stop(); });
}

void NhsSet::add(const NhsEntry& entry) {
  // Preference order: priority, then the configured order.
  const auto place =
      std::find_if(servers_.begin(), servers_.end(), [&](const auto& nhs) { return nhs->priority() > entry.priority; });
  auto added = servers_.insert(
      place, std::make_unique<NhsRegistration>(entry, config_, sender_, ids_, clock_, timers_,
                                               [this](NhsRegistration& nhs, RegistrationState from,
                                                      RegistrationState to) { on_state_change(nhs, from, to); }));
  // An NHS added at run time (SIGHUP) waits for its tunnel like the others.
  if (paths_required_) (*added)->wait_for_path();
  if (started_ && !stopping_) (*added)->start();
}

void NhsSet::start() {
  started_ = true;
  stopping_ = false;
  for (auto& nhs : servers_) {
    if (nhs->state() == RegistrationState::Idle) nhs->start();
  }
}

void NhsSet::wait_for_paths() {
  paths_required_ = true;
  for (auto& nhs : servers_) nhs->wait_for_path();
}

void NhsSet::path_up(const IpAddress& nbma) {
  for (auto& nhs : servers_) {
    if (nhs->nbma() == nbma) nhs->path_up(!stopping_);
  }
}

void NhsSet::path_down(const IpAddress& nbma) {
  for (auto& nhs : servers_) {
    if (nhs->nbma() == nbma) nhs->path_down();
  }
}

void NhsSet::stop(std::function<void()> done) {
  stopping_ = true;
  stopped_ = std::move(done);
  for (auto& nhs : servers_) nhs->stop();
  check_stopped();
}

// Once every NHS is Idle, `done` runs from the loop (never inside stop()).
void NhsSet::check_stopped() {
  if (!stopping_ || !stopped_) return;
  const bool all_idle = std::all_of(servers_.begin(), servers_.end(),
                                    [](const auto& nhs) { return nhs->state() == RegistrationState::Idle; });
  if (all_idle) stopped_timer_->arm(Duration::zero());
}

void NhsSet::finish_stop() {
  if (!stopping_ || !stopped_) return;
  auto done = std::move(stopped_);
  stopped_ = nullptr;
  done();
}

void NhsSet::on_state_change(NhsRegistration& /*nhs*/, RegistrationState /*from*/, RegistrationState to) {
  update_primary();
  if (on_any_change_) on_any_change_();
  if (to == RegistrationState::Idle) check_stopped();
}

void NhsSet::update_primary() {
  const NhsRegistration* best = nullptr;
  for (const auto& nhs : servers_) {
    if (nhs->up()) {
      best = nhs.get();
      break;
    }
  }
  if (best == primary_) return;
  primary_ = best;
  if (best != nullptr) {
    log::info(kLog,
              "primary NHS now " + best->nbma().to_string() + " (priority " + std::to_string(best->priority()) + ")");
  } else {
    log::warning(kLog, "no NHS is up: resolutions wait");
  }
  if (on_primary_change_) on_primary_change_(primary_);
}

std::size_t NhsSet::up_count() const {
  return static_cast<std::size_t>(
      std::count_if(servers_.begin(), servers_.end(), [](const auto& nhs) { return nhs->up(); }));
}

std::vector<IpAddress> NhsSet::up_nbmas() const {
  std::vector<IpAddress> out;
  for (const auto& nhs : servers_) {
    if (nhs->up()) out.push_back(nhs->nbma());
  }
  return out;
}

bool NhsSet::is_nhs(const IpAddress& nbma) const {
  return std::any_of(servers_.begin(), servers_.end(), [&](const auto& nhs) { return nhs->nbma() == nbma; });
}

IpAddress NhsSet::own_nat_address() const {
  if (primary_ != nullptr) return primary_->own_nat_address();
  for (const auto& nhs : servers_) {
    if (!nhs->own_nat_address().empty()) return nhs->own_nat_address();
  }
  return {};
}

std::vector<NhsStatus> NhsSet::status() const {
  std::vector<NhsStatus> out;
  out.reserve(servers_.size());
  for (const auto& nhs : servers_) out.push_back(nhs->status());
  return out;
}

bool NhsSet::on_registration_reply(const NbmaFrame& frame, const nhrp::Packet& reply) {
  for (auto& nhs : servers_) {
    if (nhs->awaits_reply(reply.request_id)) {
      nhs->on_registration_reply(frame, reply);
      return true;
    }
  }
  return false;
}

bool NhsSet::on_purge_reply(const nhrp::Packet& reply) {
  for (auto& nhs : servers_) {
    if (nhs->awaits_purge_reply(reply.request_id)) {
      nhs->on_purge_reply(reply);
      return true;
    }
  }
  return false;
}

bool NhsSet::on_error_indication(std::uint32_t quoted_request_id, const nhrp::Packet& indication) {
  for (auto& nhs : servers_) {
    if (nhs->awaits_reply(quoted_request_id)) {
      nhs->on_error_indication(indication);
      return true;
    }
  }
  return false;
}

}  // namespace advpnd::spoke
