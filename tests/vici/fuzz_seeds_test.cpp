// Writes the seed corpus of fuzz/vici_message_fuzz.cpp from messages the
// tests build, when asked: ADVPND_VICI_SEED_DIR=fuzz/corpus/vici vici_tests.
// Otherwise it only checks that every seed encodes (the seeds in the
// repository were written this way).
#include <doctest/doctest.h>

#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "base/ip_address.h"
#include "tests/support/temp_file.h"
#include "vici/conn_builder.h"
#include "vici/message.h"

namespace {

using namespace advpnd::vici;

std::vector<std::pair<std::string, Packet>> seeds() {
  Message readme;
  readme.add("key1", "value1");
  readme.add_section("section1", Section()
                                     .add_section("sub-section", Section().add("key2", "value2"))
                                     .add_list("list1", {"item1", "item2"}));
  ConnSpec spec;
  spec.name = conn_name("advpnd-", advpnd::IpAddress::v4(198, 51, 100, 3));
  spec.local_addrs = {"192.0.2.1"};
  spec.remote_addrs = {"198.51.100.3"};
  AuthConfig auth;
  auth.psk = "secret";
  auth.local_id = "192.0.2.1";

  Section child;
  child.add("name", "gre").add("uniqueid", "1").add("state", "INSTALLED").add("mode", "TUNNEL");
  child.add("bytes-in", "1200").add("packets-in", "10").add("use-in", "3");
  child.add_list("local-ts", {"192.0.2.1/32[gre]"}).add_list("remote-ts", {"192.0.2.2/32[gre]"});
  Section ike;
  ike.add("uniqueid", "1").add("version", "2").add("state", "ESTABLISHED").add("remote-host", "192.0.2.2");
  ike.add_section("child-sas", Section().add_section("gre-1", child));
  Message list_sa;
  list_sa.add_section("advpnd-192.0.2.2", ike);
  Message updown = Message().add("up", "yes");
  updown.add_section("advpnd-192.0.2.2", ike);

  return {
      {"readme-example", {PacketType::CmdRequest, "example", readme}},
      {"version", {PacketType::CmdRequest, "version", {}}},
      {"response-success", {PacketType::CmdResponse, "", Message().add("success", "yes")}},
      {"response-failure",
       {PacketType::CmdResponse, "",
        Message().add("success", "no").add("errmsg", "establishing CHILD_SA 'gre' failed")}},
      {"cmd-unknown", {PacketType::CmdUnknown, "", {}}},
      {"event-register", {PacketType::EventRegister, "list-sa", {}}},
      {"event-unregister", {PacketType::EventUnregister, "child-updown", {}}},
      {"event-confirm", {PacketType::EventConfirm, "", {}}},
      {"event-unknown", {PacketType::EventUnknown, "", {}}},
      {"load-conn", {PacketType::CmdRequest, "load-conn", build_load_conn(spec)}},
      {"load-shared", {PacketType::CmdRequest, "load-shared", build_load_shared("advpnd-psk", auth)}},
      {"initiate", {PacketType::CmdRequest, "initiate", build_initiate("gre", spec.name, std::chrono::seconds(10))}},
      {"list-sa", {PacketType::Event, "list-sa", list_sa}},
      {"child-updown", {PacketType::Event, "child-updown", updown}},
      {"control-log",
       {PacketType::Event, "control-log",
        Message().add("group", "IKE").add("level", "1").add("msg", "received AUTHENTICATION_FAILED notify error")}},
  };
}

TEST_CASE("vici fuzz seeds: every seed encodes; written out when ADVPND_VICI_SEED_DIR is set") {
  const char* dir = std::getenv("ADVPND_VICI_SEED_DIR");
  for (const auto& seed : seeds()) {
    const std::string& name = seed.first;  // not a structured binding: clang-14 cannot capture those
    CAPTURE(name);
    auto frame = encode_frame(seed.second);
    REQUIRE(frame.ok());
    // The fuzzer's input is a packet: the frame without its length prefix.
    const std::vector<std::byte> body(frame->begin() + kLengthPrefixSize, frame->end());
    CHECK(decode_packet(body).ok());
    if (dir != nullptr) advpnd::test::write_file(std::string(dir) + "/" + name, body);
  }
}

}  // namespace
