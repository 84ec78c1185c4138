// The one-SA-per-pair tie-break (vici/duplicate_sa.h) on hand-made
// list-sas answers: both ends reach opposite verdicts from the same facts.
#include <doctest/doctest.h>

#include "vici/duplicate_sa.h"

namespace advpnd::vici {
namespace {

IpAddress ip(const char* text) { return *IpAddress::parse(text); }

IkeSa sa(const char* name, std::uint64_t id, const char* local, const char* remote, const char* child_state,
         bool initiator) {
  IkeSa s;
  s.name = name;
  s.initiator = initiator;
  s.unique_id = id;
  s.state = "ESTABLISHED";
  s.local_host = local;
  s.remote_host = remote;
  ChildSa child;
  child.name = "gre";
  child.state = child_state;
  child.install_time = 5;
  s.children.push_back(child);
  return s;
}

// What each end's provider counts as the peer's: its own connection or the template, from that peer.
auto peer_template(const IpAddress& peer) {
  return [peer](const IkeSa& s) {
    return (s.name == "advpnd-responder" || s.name == "advpnd-" + peer.to_string()) &&
           s.remote_host == peer.to_string();
  };
}

const IpAddress kLow = ip("198.51.100.2");
const IpAddress kHigh = ip("198.51.100.3");

TEST_CASE("duplicate SA: both installed: the higher end drops its own, the lower end keeps both") {
  // At the higher end (.3): its own SA to .2 and the one .2 initiated.
  const std::vector<IkeSa> at_high = {sa("advpnd-198.51.100.2", 7, "198.51.100.3", "198.51.100.2", "INSTALLED", true),
                                      sa("advpnd-responder", 8, "198.51.100.3", "198.51.100.2", "INSTALLED", false)};
  CHECK(duplicates_to_drop(at_high, "gre", kHigh, kLow, peer_template(kLow)) ==
        std::vector<std::uint64_t>{7});
  // Without a configured local address, the SA's own local host decides the same.
  CHECK(duplicates_to_drop(at_high, "gre", IpAddress{}, kLow, peer_template(kLow)) ==
        std::vector<std::uint64_t>{7});
  // At the lower end (.2): the mirror image; it keeps its own (the winner).
  const std::vector<IkeSa> at_low = {sa("advpnd-198.51.100.3", 3, "198.51.100.2", "198.51.100.3", "INSTALLED", true),
                                     sa("advpnd-responder", 4, "198.51.100.2", "198.51.100.3", "INSTALLED", false)};
  CHECK(duplicates_to_drop(at_low, "gre", kLow, kHigh, peer_template(kHigh)).empty());
}

TEST_CASE("duplicate SA: the peer's incoming SA landed on our own connection (charon's best match): still told apart") {
  const std::vector<IkeSa> at_high = {sa("advpnd-198.51.100.2", 7, "198.51.100.3", "198.51.100.2", "INSTALLED", true),
                                      sa("advpnd-198.51.100.2", 8, "198.51.100.3", "198.51.100.2", "INSTALLED", false)};
  CHECK(duplicates_to_drop(at_high, "gre", kHigh, kLow, peer_template(kLow)) == std::vector<std::uint64_t>{7});
}

TEST_CASE("duplicate SA: the winner just installed here (the peer may not have its half yet): nothing dropped") {
  std::vector<IkeSa> at_high = {sa("advpnd-198.51.100.2", 7, "198.51.100.3", "198.51.100.2", "INSTALLED", true),
                                sa("advpnd-responder", 8, "198.51.100.3", "198.51.100.2", "INSTALLED", false)};
  at_high[1].children[0].install_time = 0;
  CHECK(duplicates_to_drop(at_high, "gre", kHigh, kLow, peer_template(kLow)).empty());
  at_high[1].children[0].install_time = kDuplicateGraceSeconds;
  CHECK(duplicates_to_drop(at_high, "gre", kHigh, kLow, peer_template(kLow)) == std::vector<std::uint64_t>{7});
}

TEST_CASE("duplicate SA: make before break: nothing is dropped until the winner is installed") {
  const std::vector<IkeSa> at_high = {sa("advpnd-198.51.100.2", 7, "198.51.100.3", "198.51.100.2", "INSTALLED", true),
                                      sa("advpnd-responder", 8, "198.51.100.3", "198.51.100.2", "CREATED", false)};
  CHECK(duplicates_to_drop(at_high, "gre", kHigh, kLow, peer_template(kLow)).empty());
}

TEST_CASE("duplicate SA: one SA only (one-way traffic, one initiator): nothing to drop") {
  const std::vector<IkeSa> own_only = {sa("advpnd-198.51.100.2", 7, "198.51.100.3", "198.51.100.2", "INSTALLED", true)};
  CHECK(duplicates_to_drop(own_only, "gre", kHigh, kLow, peer_template(kLow)).empty());
  const std::vector<IkeSa> theirs_only = {sa("advpnd-responder", 8, "198.51.100.3", "198.51.100.2", "INSTALLED", false)};
  CHECK(duplicates_to_drop(theirs_only, "gre", kHigh, kLow, peer_template(kLow)).empty());
  // Another peer's template SA is not this peer's.
  const std::vector<IkeSa> other_peer = {sa("advpnd-198.51.100.2", 7, "198.51.100.3", "198.51.100.2", "INSTALLED", true),
                                         sa("advpnd-responder", 9, "198.51.100.3", "198.51.100.4", "INSTALLED", false)};
  CHECK(duplicates_to_drop(other_peer, "gre", kHigh, kLow, peer_template(kLow)).empty());
}

}  // namespace
}  // namespace advpnd::vici
