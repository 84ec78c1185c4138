// capture::read_nhrp_capture on the reference captures, on hand-built pcap
// and pcapng files of every link type, and on files it must refuse.
#include <doctest/doctest.h>

#include <filesystem>

#include "capture/capture.h"
#include "capture/dissect.h"
#include "tests/capture/frame_builder.h"
#include "tests/support/temp_file.h"
#include "tests/support/test_data.h"

namespace advpnd::capture {
namespace {

using test::Bytes;

struct Expected {
  std::size_t frame;
  const char* source;
  const char* destination;
  std::optional<std::uint32_t> key;
  std::size_t nhrp_size;  // ar$pktsz: the IP datagram ends where the NHRP packet does
};

void check_capture(const std::string& name, const std::vector<Expected>& expected) {
  auto packets = read_nhrp_capture(test::shared_capture(name));
  REQUIRE_MESSAGE(packets.ok(), (packets.ok() ? std::string() : packets.error()));
  REQUIRE(packets->size() == expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const CapturedNhrp& got = (*packets)[i];
    CAPTURE(name);
    CAPTURE(expected[i].frame);
    CHECK(got.frame == expected[i].frame);
    CHECK(got.outer_source.to_string() == expected[i].source);
    CHECK(got.outer_destination.to_string() == expected[i].destination);
    CHECK(got.gre_key == expected[i].key);
    CHECK(got.in_gre);
    CHECK(got.error.empty());
    REQUIRE(got.nhrp.size() == expected[i].nhrp_size);
    CHECK(got.nhrp[0] == std::byte{0x00});  // ar$afn 0x0001
    CHECK(got.nhrp[1] == std::byte{0x01});
  }
}

TEST_CASE("nhrp-trace.pcap: four frames, GRE key 1000" * ADVPND_NEEDS_SHARED_CAPTURES) {
  check_capture("nhrp-trace.pcap", {{1, "192.168.200.1", "192.168.200.3", 1000, 98},
                                    {2, "192.168.200.3", "192.168.200.1", 1000, 86},
                                    {3, "192.168.200.1", "192.168.200.2", 1000, 106},
                                    {4, "192.168.200.2", "192.168.200.3", 1000, 134}});
}

TEST_CASE("NHRP-responder-address.pcap: 802.1Q tagged, GRE key 2" * ADVPND_NEEDS_SHARED_CAPTURES) {
  // tshark: "802.1Q Virtual LAN, ID: 79", "Key: 0x00000002".
  check_capture("NHRP-responder-address.pcap",
                {{1, "155.1.79.2", "6.6.6.6", 2, 108}, {2, "6.6.6.6", "155.1.79.2", 2, 128}});
}

TEST_CASE("ios_nhrp.pcap: no GRE key, odd length" * ADVPND_NEEDS_SHARED_CAPTURES) {
  check_capture("ios_nhrp.pcap", {{1, "10.0.12.2", "10.0.12.1", std::nullopt, 81}});
}

TEST_CASE("pb_nhrp_1.pcap: NHRP over IP protocol 54 with IPv4 options" * ADVPND_NEEDS_SHARED_CAPTURES) {
  auto packets = read_nhrp_capture(test::shared_capture("pb_nhrp_1.pcap"));
  REQUIRE(packets.ok());
  REQUIRE(packets->size() == 1);
  const CapturedNhrp& got = packets->front();
  CHECK(got.frame == 1);
  CHECK_FALSE(got.in_gre);
  CHECK_FALSE(got.gre_key.has_value());
  CHECK(got.outer_source.to_string() == "62.41.66.144");
  CHECK(got.outer_destination.to_string() == "191.215.63.14");
  CHECK(got.error.empty());
  // IHL 6 (24-byte header), total length 64; the 6-byte trailer after the
  // datagram (Wireshark: "vssmonitoring") is not NHRP.
  CHECK(got.nhrp.size() == 40);
  CHECK(got.nhrp[0] == std::byte{0x5d});
}

Bytes gre_frame_v4(const IpAddress& src, const IpAddress& dst, std::uint32_t key) {
  return test::ipv4(src, dst, test::gre(test::fake_nhrp(), 0x2001, key));
}

TEST_CASE("hand-built pcap files of each link type, frame numbers counting skipped frames") {
  const IpAddress a = IpAddress::v4(198, 51, 100, 2), b = IpAddress::v4(203, 0, 113, 1);
  const Bytes ip = gre_frame_v4(a, b, 5);
  const Bytes arp = test::fake_nhrp(28);
  struct Case {
    int link;
    Bytes nhrp_frame;
    Bytes other_frame;
  };
  const std::vector<Case> cases = {
      {kLinkEthernet, test::ethernet(0x0800, ip, {0x8100}), test::ethernet(0x0806, arp)},
      {kLinkLinuxSll, test::sll(0x0800, ip), test::sll(0x0806, arp)},
      {kLinkLinuxSll2, test::sll2(0x0800, ip), test::sll2(0x0806, arp)},
      {kLinkRawLinktype, ip, test::ipv4(a, b, arp, {.protocol = 17})},
  };
  for (const auto& c : cases) {
    CAPTURE(c.link);
    for (const bool ng : {false, true}) {
      CAPTURE(ng);
      const test::TempFile file(ng ? ".pcapng" : ".pcap");
      const std::vector<Bytes> frames{c.other_frame, c.nhrp_frame, c.other_frame, c.nhrp_frame};
      test::write_file(file.path(), ng ? test::pcapng_file(static_cast<std::uint16_t>(c.link), frames)
                                       : test::pcap_file(static_cast<std::uint32_t>(c.link), frames));
      auto packets = read_nhrp_capture(file.path());
      REQUIRE_MESSAGE(packets.ok(), (packets.ok() ? std::string() : packets.error()));
      REQUIRE(packets->size() == 2);
      CHECK((*packets)[0].frame == 2);
      CHECK((*packets)[1].frame == 4);
      CHECK((*packets)[0].gre_key == 5u);
      CHECK((*packets)[0].outer_source == a);
      CHECK((*packets)[1].nhrp == test::fake_nhrp());
    }
  }
}

TEST_CASE("an empty capture has no packets") {
  const test::TempFile file;
  test::write_file(file.path(), test::pcap_file(1, {}));
  auto packets = read_nhrp_capture(file.path());
  REQUIRE(packets.ok());
  CHECK(packets->empty());
}

TEST_CASE("files that cannot be read: the error names the file") {
  SUBCASE("missing") {
    const std::string path = "/nonexistent/advpnd/capture.pcap";
    auto packets = read_nhrp_capture(path);
    REQUIRE_FALSE(packets.ok());
    CHECK(packets.error().find(path) != std::string::npos);
  }
  SUBCASE("a directory") {
    const test::TempFile dir("");
    std::filesystem::create_directory(dir.path());
    auto packets = read_nhrp_capture(dir.path());
    REQUIRE_FALSE(packets.ok());
    CHECK(packets.error().find(dir.path()) != std::string::npos);
  }
  SUBCASE("empty file") {
    const test::TempFile file;
    test::write_file(file.path(), {});
    auto packets = read_nhrp_capture(file.path());
    REQUIRE_FALSE(packets.ok());
    CHECK(packets.error().find(file.path()) != std::string::npos);
  }
  SUBCASE("garbage") {
    const test::TempFile file;
    Bytes garbage;
    for (int i = 0; i < 200; ++i) test::put8(garbage, static_cast<unsigned>(i * 37 + 11));
    test::write_file(file.path(), garbage);
    auto packets = read_nhrp_capture(file.path());
    REQUIRE_FALSE(packets.ok());
    CHECK(packets.error().find(file.path()) != std::string::npos);
  }
  SUBCASE("a record cut short") {
    const test::TempFile file;
    const IpAddress a = IpAddress::v4(198, 51, 100, 2), b = IpAddress::v4(203, 0, 113, 1);
    Bytes image = test::pcap_file(
        1, {test::ethernet(0x0800, gre_frame_v4(a, b, 1)), test::ethernet(0x0800, gre_frame_v4(a, b, 2))});
    image.resize(image.size() - 10);
    test::write_file(file.path(), image);
    auto packets = read_nhrp_capture(file.path());
    REQUIRE_FALSE(packets.ok());
    CHECK(packets.error().find(file.path()) != std::string::npos);
    CHECK(packets.error().find("frame 2") != std::string::npos);
  }
  SUBCASE("an unsupported link type") {
    const test::TempFile file;
    test::write_file(file.path(), test::pcap_file(9, {test::fake_nhrp()}));  // PPP
    auto packets = read_nhrp_capture(file.path());
    REQUIRE_FALSE(packets.ok());
    CHECK(packets.error().find(file.path()) != std::string::npos);
    CHECK(packets.error().find("link type") != std::string::npos);
  }
}

}  // namespace
}  // namespace advpnd::capture
