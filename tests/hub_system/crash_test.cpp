// Crash safety (ARCHITECTURE.md "State that must survive"): a registration is
// acknowledged only after the transaction that holds it commits, and after a
// crash the hub serves every unexpired binding at once, before any spoke
// re-registers. An in-test generator registers many spokes (each its own
// 127.16.x.y source) and records exactly which request IDs were answered
// with code 0; the hub gets SIGKILL in the middle of the storm, restarts on
// the same file, and every acknowledged registration must be there.
#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <unordered_map>
#include <vector>

#include "tests/hub_system/db_rows.h"
#include "tests/hub_system/hub_process.h"
#include "tests/hub_system/spoke_sim.h"

namespace advpnd::test {
namespace {

using namespace std::chrono_literals;
using nhrp::CieCode;
using nhrp::PacketType;
using SteadyClock = std::chrono::steady_clock;

constexpr std::uint32_t kSpokes = 20000;
constexpr std::size_t kWindow = 512;          // requests outstanding at once
constexpr std::size_t kKillAfterAcks = 2500;  // well before all of them: kWindow bounds the rest
constexpr auto kRetransmit = 2s;              // a real spoke resends with the same ID
constexpr auto kStormTimeout = 40s;
constexpr std::uint32_t kResolutionIdBase = 0x80000000U;

// Registers spokes 0..kSpokes-1 (request ID = index + 1) with a bounded
// window and records which ones were acknowledged with code 0.
class RegistrationStorm {
 public:
  explicit RegistrationStorm(SpokeWire& wire) : wire_(wire), acked_(kSpokes, 0), last_sent_(kSpokes) {}

  // Sends and reads until at least `acks` are acknowledged; false on timeout.
  bool run_until(std::size_t acks) {
    const auto deadline = SteadyClock::now() + kStormTimeout;
    while (acked_count_ < acks) {
      if (SteadyClock::now() > deadline) return false;
      while (next_ < kSpokes && next_ - acked_count_ < kWindow) send(next_++);
      wire_.poll(1);
      take_replies();
      retransmit_overdue();
    }
    return true;
  }
  // Reads what the hub sent before it died (answers still in our socket).
  void drain() {
    wire_.poll_for(300ms);
    take_replies();
  }

  [[nodiscard]] std::size_t acked_count() const { return acked_count_; }
  [[nodiscard]] std::size_t refused() const { return refused_; }
  [[nodiscard]] std::vector<std::uint32_t> acked() const {
    std::vector<std::uint32_t> out;
    for (std::uint32_t i = 0; i < kSpokes; ++i) {
      if (acked_[i] != 0) out.push_back(i);
    }
    return out;
  }

 private:
  void send(std::uint32_t index) {
    last_sent_[index] = SteadyClock::now();
    const SimSpoke spoke = numbered_spoke(index);
    wire_.send(spoke.source, registration_request(spoke, index + 1));
  }
  void take_replies() {
    auto& queue = wire_.queue();
    for (const HubPacket& p : queue) {
      if (p.packet.type != PacketType::RegistrationReply || p.packet.request_id == 0 || p.packet.request_id > kSpokes) {
        continue;
      }
      const std::uint32_t index = p.packet.request_id - 1;
      if (p.destination != numbered_spoke(index).source || p.packet.cies.empty()) continue;
      if (p.packet.cies.front().code != CieCode::Success) {
        ++refused_;
        continue;
      }
      if (acked_[index] == 0) ++acked_count_;
      acked_[index] = 1;
    }
    queue.clear();
  }
  void retransmit_overdue() {
    const auto now = SteadyClock::now();
    for (std::size_t k = 0; k < 64 && next_ > 0; ++k, scan_ = (scan_ + 1) % next_) {
      if (acked_[scan_] == 0 && now - last_sent_[scan_] > kRetransmit) send(scan_);
    }
  }

  SpokeWire& wire_;
  std::vector<char> acked_;
  std::vector<SteadyClock::time_point> last_sent_;
  std::uint32_t next_ = 0;
  std::uint32_t scan_ = 0;
  std::size_t acked_count_ = 0;
  std::size_t refused_ = 0;
};

// Resolves every spoke in `targets` (from the first of them) with a bounded
// window; returns how many were answered with code 0 and the right NBMA.
std::size_t resolve_all(SpokeWire& wire, const std::vector<std::uint32_t>& targets) {
  const SimSpoke requester = numbered_spoke(targets.front());
  std::vector<char> answered(targets.size(), 0);
  std::size_t next = 0, good = 0, done = 0;
  const auto deadline = SteadyClock::now() + kStormTimeout;
  while (done < targets.size() && SteadyClock::now() < deadline) {
    while (next < targets.size() && next - done < 256) {
      wire.send(requester.source, resolution_request(requester, numbered_spoke(targets[next]).protocol,
                                                     kResolutionIdBase + static_cast<std::uint32_t>(next)));
      ++next;
    }
    wire.poll(5);
    for (const HubPacket& p : wire.queue()) {
      if (p.packet.type != PacketType::ResolutionReply || p.packet.request_id < kResolutionIdBase) continue;
      const std::size_t k = p.packet.request_id - kResolutionIdBase;
      if (k >= next || answered[k] != 0) continue;
      answered[k] = 1;
      ++done;
      const SimSpoke target = numbered_spoke(targets[k]);
      if (!p.packet.cies.empty() && p.packet.cies[0].code == CieCode::Success && p.packet.cies[0].nbma == target.nbma &&
          p.packet.cies[0].protocol == target.protocol) {
        ++good;
      }
    }
    wire.queue().clear();
  }
  return good;
}

}  // namespace

TEST_CASE("hub system: after SIGKILL mid-storm every acknowledged registration is served at once") {
  enter_test_netns();
  HubProcess hub;
  hub.start();
  SpokeWire wire;
  RegistrationStorm storm(wire);

  REQUIRE_MESSAGE(storm.run_until(kKillAfterAcks), "only " << storm.acked_count() << " acknowledgements in "
                                                           << std::chrono::seconds(kStormTimeout).count() << " s");
  hub.kill_hard();
  storm.drain();
  const std::vector<std::uint32_t> acked = storm.acked();
  MESSAGE(acked.size() << " of " << kSpokes << " registrations acknowledged before SIGKILL");
  CHECK(storm.refused() == 0);
  REQUIRE(acked.size() >= kKillAfterAcks);
  REQUIRE_MESSAGE(acked.size() < kSpokes, "the hub answered everything before the kill: the crash proved nothing");

  // Restart on the same file; no spoke sends anything before the checks.
  hub.start();
  const JsonValue json = hub.registrations();
  std::unordered_map<std::string, std::string> served;  // protocol -> NBMA
  for (const JsonValue& entry : json["registrations"].items()) {
    served.emplace(entry["protocol"].as_string(), entry["nbma"].as_string());
  }
  std::size_t missing = 0;
  std::string first_missing;
  for (const std::uint32_t index : acked) {
    const SimSpoke spoke = numbered_spoke(index);
    auto it = served.find(spoke.protocol.to_string());
    if (it == served.end() || it->second != spoke.nbma.to_string()) {
      if (missing++ == 0) first_missing = spoke.protocol.to_string();
    }
  }
  CHECK_MESSAGE(missing == 0, missing << " acknowledged registrations lost, e.g. " << first_missing);
  CHECK(read_db_bindings(hub.database_path()).size() >= acked.size());

  // Served from the restarted hub's memory, before anyone re-registers.
  CHECK(resolve_all(wire, acked) == acked.size());
  CHECK(hub.alive());
}

}  // namespace advpnd::test
