// capture::write_nhrp_pcap: what it writes (Ethernet, IPv4 as Cisco sends
// NHRP, GRE with the optional key), and that the reader gets it back.
#include <doctest/doctest.h>

#include "capture/capture.h"
#include "nhrp/codec.h"
#include "tests/capture/frame_builder.h"
#include "tests/support/temp_file.h"

namespace advpnd::capture {
namespace {

using test::Bytes;

constexpr std::size_t kPcapHeader = 24;
constexpr std::size_t kRecordHeader = 16;
constexpr std::size_t kEthernet = 14;

std::vector<OutgoingNhrp> sample_packets() {
  return {
      {IpAddress::v4(198, 51, 100, 2), IpAddress::v4(203, 0, 113, 1), 1000, test::fake_nhrp(41)},
      {IpAddress::v4(203, 0, 113, 1), IpAddress::v4(198, 51, 100, 2), std::nullopt, test::fake_nhrp(92)},
      {*IpAddress::parse("2001:db8::2"), *IpAddress::parse("2001:db8::1"), 7, test::fake_nhrp(20)},
  };
}

unsigned u8_at(const Bytes& b, std::size_t i) { return std::to_integer<unsigned>(b.at(i)); }
unsigned u16_at(const Bytes& b, std::size_t i) { return (u8_at(b, i) << 8) | u8_at(b, i + 1); }
std::uint32_t u32le_at(const Bytes& b, std::size_t i) {
  return u8_at(b, i) | (u8_at(b, i + 1) << 8) | (u8_at(b, i + 2) << 16) | (std::uint32_t{u8_at(b, i + 3)} << 24);
}

TEST_CASE("write then read gives the same packets back") {
  const auto packets = sample_packets();
  const test::TempFile file;
  REQUIRE(write_nhrp_pcap(file.path(), packets).ok());
  auto read = read_nhrp_capture(file.path());
  REQUIRE_MESSAGE(read.ok(), (read.ok() ? std::string() : read.error()));
  REQUIRE(read->size() == packets.size());
  for (std::size_t i = 0; i < packets.size(); ++i) {
    CAPTURE(i);
    const CapturedNhrp& got = (*read)[i];
    CHECK(got.frame == i + 1);
    CHECK(got.outer_source == packets[i].outer_source);
    CHECK(got.outer_destination == packets[i].outer_destination);
    CHECK(got.gre_key == packets[i].gre_key);
    CHECK(got.in_gre);
    CHECK(got.nhrp == packets[i].nhrp);
  }
}

TEST_CASE("the IPv4 header is what Cisco sends: TOS 0xC0, TTL 255, GRE, valid checksum") {
  const auto packets = sample_packets();
  const test::TempFile file;
  REQUIRE(write_nhrp_pcap(file.path(), std::span(packets).first(2)).ok());
  const Bytes image = test::read_file(file.path());
  REQUIRE(image.size() > kPcapHeader);
  CHECK(u32le_at(image, 0) == 0xA1B2C3D4);  // microsecond pcap, written in host order (x86)
  CHECK(u32le_at(image, 20) == 1);          // LINKTYPE_ETHERNET

  std::size_t record = kPcapHeader;
  for (std::size_t i = 0; i < 2; ++i) {
    CAPTURE(i);
    const std::size_t caplen = u32le_at(image, record + 8);
    const std::size_t eth = record + kRecordHeader;
    const std::size_t ip = eth + kEthernet;
    CHECK(u16_at(image, eth + 12) == 0x0800);
    CHECK(u8_at(image, ip) == 0x45);
    CHECK(u8_at(image, ip + 1) == 0xC0);
    CHECK(u16_at(image, ip + 2) == caplen - kEthernet);
    CHECK(u16_at(image, ip + 4) == i + 1);  // identification counts up
    CHECK(u16_at(image, ip + 6) == 0);      // no DF, no fragments
    CHECK(u8_at(image, ip + 8) == 255);
    CHECK(u8_at(image, ip + 9) == 47);
    const Bytes header(image.begin() + static_cast<std::ptrdiff_t>(ip),
                       image.begin() + static_cast<std::ptrdiff_t>(ip + 20));
    CHECK(nhrp::internet_checksum(header) == 0);  // RFC 791: sums to 0xFFFF
    const std::size_t gre = ip + 20;
    if (packets[i].gre_key) {
      CHECK(u16_at(image, gre) == 0x2000);
      CHECK(u16_at(image, gre + 2) == 0x2001);
      CHECK(u16_at(image, gre + 6) == *packets[i].gre_key);
    } else {
      CHECK(u16_at(image, gre) == 0x0000);
      CHECK(u16_at(image, gre + 2) == 0x2001);
    }
    record = eth + caplen;
  }
  CHECK(record == image.size());
}

TEST_CASE("the output depends only on the packets") {
  const auto packets = sample_packets();
  const test::TempFile first, second;
  REQUIRE(write_nhrp_pcap(first.path(), packets).ok());
  REQUIRE(write_nhrp_pcap(second.path(), packets).ok());
  CHECK(test::read_file(first.path()) == test::read_file(second.path()));
}

TEST_CASE("refusals: mixed families, no address, an unwritable path") {
  const test::TempFile file;
  std::vector<OutgoingNhrp> mixed = sample_packets();
  mixed[1].outer_destination = *IpAddress::parse("2001:db8::9");
  auto status = write_nhrp_pcap(file.path(), mixed);
  REQUIRE_FALSE(status.ok());
  CHECK(status.error().find("packet 2") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(file.path()));  // nothing half-written

  std::vector<OutgoingNhrp> empty_address{OutgoingNhrp{}};
  CHECK_FALSE(write_nhrp_pcap(file.path(), empty_address).ok());

  const std::string unwritable = "/nonexistent/advpnd/out.pcap";
  auto denied = write_nhrp_pcap(unwritable, sample_packets());
  REQUIRE_FALSE(denied.ok());
  CHECK(denied.error().find(unwritable) != std::string::npos);
}

TEST_CASE("an NHRP packet too large for one IP datagram is refused") {
  const test::TempFile file;
  std::vector<OutgoingNhrp> big = sample_packets();
  big[0].nhrp.resize(65535);
  CHECK_FALSE(write_nhrp_pcap(file.path(), big).ok());
}

}  // namespace
}  // namespace advpnd::capture
