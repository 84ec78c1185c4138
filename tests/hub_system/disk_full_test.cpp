// Disk full (NextHopServer::on_batch_end, note_store_result): the SQLite file
// lives on a small real tmpfs that a filler file fills up. New registrations
// must be refused with code 5 (insufficient resources, RFC 2332 5.2.4) since
// their commit fails; resolutions keep working from memory; `show stats`
// says the store is unhealthy; the cause is logged once, not per packet.
// When space returns, registrations succeed again without a restart.
#include <doctest/doctest.h>

#include <cstdio>

#include "tests/hub_system/hub_process.h"
#include "tests/hub_system/spoke_sim.h"

namespace advpnd::test {
namespace {

using nhrp::CieCode;
using nhrp::PacketType;

constexpr std::size_t kTmpfsSize = std::size_t{2} * 1024 * 1024;
constexpr const char* kFailingLine = "registration store failing";

SimSpoke spoke(std::uint8_t n) {
  return SimSpoke{IpAddress::v4(127, 0, 1, n), IpAddress::v4(127, 0, 1, n), IpAddress::v4(10, 0, 1, n)};
}

}  // namespace

TEST_CASE("hub system: disk full refuses new registrations with code 5, resolves from memory, heals") {
  enter_test_netns();
  db::test::TmpfsMount fs(kTmpfsSize);
  REQUIRE_MESSAGE(fs.mounted(), fs.error());
  HubSettings settings;
  settings.database = fs.file("hub.db");  // config, log and control socket stay off the tmpfs
  HubProcess hub(settings);
  hub.start();
  SpokeWire wire;

  REQUIRE(register_spoke(wire, spoke(1), 1) == CieCode::Success);
  REQUIRE(register_spoke(wire, spoke(2), 2) == CieCode::Success);

  REQUIRE(fs.fill("filler") > 0);
  // Several registrations, each its own batch and commit: every one refused.
  for (std::uint8_t n = 3; n <= 7; ++n) {
    CAPTURE(int{n});
    CHECK(register_spoke(wire, spoke(n), n) == CieCode::InsufficientResources);
  }
  // A refresh of an existing binding needs a commit too.
  CHECK(register_spoke(wire, spoke(1), 11) == CieCode::InsufficientResources);

  // Resolutions come from memory.
  auto resolved =
      exchange(wire, spoke(1), resolution_request(spoke(1), spoke(2).protocol, 20), PacketType::ResolutionReply);
  REQUIRE(resolved.has_value());
  REQUIRE(resolved->cies.size() == 1);
  CHECK(resolved->cies[0].code == CieCode::Success);
  CHECK(resolved->cies[0].nbma == spoke(2).nbma);

  {
    const JsonValue stats = hub.stats();
    CHECK_FALSE(stats["store_healthy"].as_bool());
    CHECK(stats["commit_failures"].as_int() >= 6);
    CHECK(stats["registrations"].as_int() == 2);
    const JsonValue json = hub.registrations();
    CHECK(json["count"].as_int() == 2);
    CHECK(find_registration(json, spoke(3).protocol) == nullptr);
  }
  const std::string log = hub.log();
  CHECK_MESSAGE(count_lines_with(log, kFailingLine) == 1, "hub log:\n" << log);
  CHECK_MESSAGE(count_lines_with(log, "full") >= 1, "the cause (disk full) is not in the log:\n" << log);

  // Space comes back: the next commit succeeds, no restart.
  REQUIRE(std::remove(fs.file("filler").c_str()) == 0);
  CHECK(register_spoke(wire, spoke(3), 30) == CieCode::Success);
  CHECK(register_spoke(wire, spoke(4), 31) == CieCode::Success);
  const JsonValue stats = hub.stats();
  CHECK_MESSAGE(stats["store_healthy"].as_bool(), "hub log:\n" << hub.log());
  CHECK(stats["registrations"].as_int() == 4);
  CHECK(hub.wait_for_log("registration store writable again", kReplyTimeout));
  CHECK(count_lines_with(hub.log(), kFailingLine) == 1);
  CHECK(hub.alive());
  hub.kill_hard();  // before the tmpfs is unmounted (members go in reverse order anyway)
}

}  // namespace advpnd::test
