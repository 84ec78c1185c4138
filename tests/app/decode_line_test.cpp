// app/decode_command.h decode_line() and app/packet_json.h in-process: the
// JSON shape of each packet kind, and what a bad packet or frame prints.
#include <doctest/doctest.h>

#include "app/decode_command.h"
#include "app/packet_json.h"
#include "nhrp/auth.h"
#include "nhrp/builders.h"
#include "nhrp/codec.h"
#include "tests/app/json_reader.h"

namespace advpnd::app {
namespace {

const IpAddress kHubNbma = IpAddress::v4(203, 0, 113, 1);
const IpAddress kSpokeNbma = IpAddress::v4(198, 51, 100, 2);
const IpAddress kSpoke = IpAddress::v4(10, 0, 0, 2);

nhrp::Sender spoke(nhrp::Dialect dialect = nhrp::Dialect::Cisco) {
  nhrp::Sender sender;
  sender.nbma = kSpokeNbma;
  sender.protocol = kSpoke;
  sender.dialect = dialect;
  sender.auth_password = "secret";
  return sender;
}

capture::CapturedNhrp captured(std::vector<std::byte> bytes, std::size_t frame = 7) {
  capture::CapturedNhrp c;
  c.frame = frame;
  c.outer_source = kSpokeNbma;
  c.outer_destination = kHubNbma;
  c.gre_key = 42;
  c.nhrp = std::move(bytes);
  return c;
}

std::vector<std::byte> encoded(const nhrp::Packet& packet) {
  auto bytes = nhrp::encode(packet);
  REQUIRE(bytes.ok());
  return *bytes;
}

nhrp::Packet resolution_request() {
  nhrp::ResolutionRequestSpec spec;
  spec.sender = spoke();
  spec.target = IpAddress::v4(192, 168, 2, 20);
  spec.request_id = 77;
  spec.mtu = 1400;
  return nhrp::build_resolution_request(spec);
}

test::JsonValue line_json(const DecodeLine& line) { return test::parse_json(line.json); }

TEST_CASE("a well-formed packet: outer fields, header, CIEs, extensions in wire order") {
  const DecodeLine line = decode_line(captured(encoded(resolution_request())));
  CHECK(line.decoded);
  CHECK(line.checksum_ok);
  CHECK(line.roundtrip);
  const auto json = line_json(line);
  CHECK(json["frame"].as_int() == 7);
  CHECK(json["nbma_src"].as_string() == "198.51.100.2");
  CHECK(json["nbma_dst"].as_string() == "203.0.113.1");
  CHECK(json["gre_key"].as_int() == 42);
  CHECK_FALSE(json.has("encap"));
  CHECK(json["op_type"].as_int() == 1);
  CHECK(json["type"].as_string() == nhrp::to_string(nhrp::PacketType::ResolutionRequest));
  CHECK(json["hop_count"].as_int() == 255);
  CHECK(json["request_id"].as_int() == 77);
  CHECK(json["flags"].as_int() == 0xC802);
  REQUIRE(json["flag_names"].size() == 4);
  CHECK(json["flag_names"][0].as_string() == "Q");
  CHECK(json["flag_names"][3].as_string() == "NAT");
  CHECK(json["src_nbma"].as_string() == "198.51.100.2");
  CHECK(json["src_proto"].as_string() == "10.0.0.2");
  CHECK(json["dst_proto"].as_string() == "192.168.2.20");
  CHECK(json["checksum_ok"].as_bool());
  CHECK(json["roundtrip"].as_bool());
  REQUIRE(json["cies"].size() == 1);
  CHECK(json["cies"][0]["mtu"].as_int() == 1400);
  CHECK(json["cies"][0]["holding_time"].as_int() == 7200);
  CHECK(json["cies"][0]["nbma"].as_string().empty());  // "same as the header's source"
  // Cisco order: Responder, Forward, Reverse, Auth, NAT, End (NHRP-WIRE.md 7.4).
  const auto& ext = json["extensions"];
  REQUIRE(ext.size() == 6);
  const int types[] = {3, 4, 5, 7, 9, 0};
  for (std::size_t i = 0; i < 6; ++i) CHECK(ext[i]["type"].as_int() == types[i]);
  CHECK(ext[0]["compulsory"].as_bool());
  CHECK(ext[0]["cies"].size() == 0);
  CHECK(ext[3]["password"].as_string() == "secret");
  CHECK(ext[3]["spi"].as_int() == 1);
  CHECK(ext[3]["length"].as_int() == 10);
  CHECK_FALSE(ext[4]["compulsory"].as_bool());
  CHECK(ext[5]["length"].as_int() == 0);
}

TEST_CASE("a bad checksum is reported, not refused; the re-encoding then differs") {
  auto bytes = encoded(resolution_request());
  bytes[13] ^= std::byte{0x01};
  const DecodeLine line = decode_line(captured(bytes));
  CHECK(line.decoded);
  CHECK_FALSE(line.checksum_ok);
  CHECK_FALSE(line.roundtrip);
  const auto json = line_json(line);
  CHECK_FALSE(json["checksum_ok"].as_bool());
  CHECK(json["checksum"].as_string().rfind("0x", 0) == 0);
}

TEST_CASE("bytes past ar$pktsz do not spoil the round trip") {
  auto bytes = encoded(resolution_request());
  bytes.resize(bytes.size() + 3);
  const DecodeLine line = decode_line(captured(bytes));
  CHECK(line.checksum_ok);
  CHECK(line.roundtrip);
  CHECK(line_json(line)["length"].as_int() == static_cast<std::int64_t>(bytes.size() - 3));
}

TEST_CASE("a packet that does not decode: error, field, offset") {
  auto bytes = encoded(resolution_request());
  bytes.resize(30);
  const DecodeLine line = decode_line(captured(bytes, 3));
  CHECK_FALSE(line.decoded);
  const auto json = line_json(line);
  CHECK(json["frame"].as_int() == 3);
  CHECK(json["field"].as_string() == "ar$pktsz");
  CHECK(json["offset"].as_int() == 10);
  CHECK_FALSE(json["error"].as_string().empty());
  CHECK(json["nbma_src"].as_string() == "198.51.100.2");
  CHECK_FALSE(json.has("type"));
}

TEST_CASE("a frame the capture reader could not unwrap") {
  capture::CapturedNhrp c = captured({});
  c.error = "GRE header: GRE header truncated at byte 0 of 2";
  c.gre_key.reset();
  c.in_gre = false;
  const DecodeLine line = decode_line(c);
  CHECK_FALSE(line.decoded);
  const auto json = line_json(line);
  CHECK(json["error"].as_string() == c.error);
  CHECK(json["field"].as_string() == "capture");
  CHECK(json["encap"].as_string() == "ip");
}

TEST_CASE("Traffic Indication: inner addresses, no request ID") {
  std::vector<std::byte> inner(28);
  inner[0] = std::byte{0x45};
  inner[9] = std::byte{1};
  const std::uint8_t addrs[] = {192, 168, 1, 10, 192, 168, 2, 20};
  for (std::size_t i = 0; i < 8; ++i) inner[12 + i] = std::byte{addrs[i]};
  nhrp::TrafficIndicationSpec spec;
  spec.sender = spoke(nhrp::Dialect::Frr);
  spec.inner_packet = inner;
  auto packet = nhrp::build_traffic_indication(spec);
  REQUIRE(packet.ok());
  const auto json = line_json(decode_line(captured(encoded(*packet))));
  CHECK(json["op_type"].as_int() == 8);
  CHECK(json["traffic_code"].as_int() == 0);
  CHECK(json["inner_src"].as_string() == "192.168.1.10");
  CHECK(json["inner_dst"].as_string() == "192.168.2.20");
  CHECK(json["payload_length"].as_int() == 28);
  CHECK_FALSE(json.has("request_id"));
  CHECK_FALSE(json.has("cies"));

  // A payload too short for an IP header: the addresses are null.
  nhrp::Packet odd = *packet;
  odd.payload.resize(8);
  const auto short_json = line_json(decode_line(captured(encoded(odd))));
  CHECK(short_json["inner_src"].is_null());
  CHECK(short_json["inner_dst"].is_null());
}

TEST_CASE("Error Indication: code, offset and the quoted packet's type and request ID") {
  const auto offending = encoded(resolution_request());
  nhrp::ErrorIndicationSpec spec;
  spec.sender = spoke();
  spec.code = nhrp::ErrorCode::ProtocolAddressUnreachable;
  spec.offset = 36;
  spec.offending = offending;
  spec.offending_source = kSpoke;
  const auto json = line_json(decode_line(captured(encoded(nhrp::build_error_indication(spec)))));
  CHECK(json["op_type"].as_int() == 7);
  CHECK(json["error_code"].as_int() == 6);
  CHECK(json["error_offset"].as_int() == 36);
  CHECK(json["offending"]["op_type"].as_int() == 1);
  CHECK(json["offending"]["request_id"].as_int() == 77);
  CHECK(json["payload_length"].as_int() == static_cast<std::int64_t>(offending.size()));
  CHECK(json["extensions"].size() == 0);
}

TEST_CASE("extensions with raw values, odd passwords, trailers") {
  nhrp::Packet packet = resolution_request();
  // Password bytes that are not UTF-8 still give valid JSON.
  nhrp::Extension* auth = packet.find_extension(nhrp::ExtensionType::Authentication);
  REQUIRE(auth != nullptr);
  auth->value = {std::byte{0}, std::byte{0}, std::byte{0}, std::byte{1}, std::byte{0xff}, std::byte{'"'}};
  nhrp::Extension vendor;
  vendor.raw_type = 8;  // Vendor-Private, C = 0
  vendor.value = {std::byte{0x00}, std::byte{0x00}, std::byte{0x0c}, std::byte{0xab}};
  packet.extensions.insert(packet.extensions.end() - 1, vendor);
  packet.trailer = {std::byte{0}, std::byte{0}};
  const DecodeLine line = decode_line(captured(encoded(packet)));
  CHECK(line.roundtrip);
  const auto json = line_json(line);
  const auto& ext = json["extensions"];
  CHECK(ext[3]["password"].as_string() == "\xef\xbf\xbd\"");
  CHECK(ext[5]["type"].as_int() == 8);
  CHECK(ext[5]["value"].as_string() == "00000cab");
  CHECK(ext[5]["length"].as_int() == 4);
  CHECK(json["trailer_length"].as_int() == 2);

  // An Authentication value that is not Cisco's (SPI 2): shown as hex.
  auth = packet.find_extension(nhrp::ExtensionType::Authentication);
  auth->value = {std::byte{0}, std::byte{0}, std::byte{0}, std::byte{2}, std::byte{0x61}};
  const auto other = line_json(decode_line(captured(encoded(packet))));
  CHECK_FALSE(other["extensions"][3].has("password"));
  CHECK(other["extensions"][3]["value"].as_string() == "0000000261");
}

TEST_CASE("flag names by packet type, unknown bits in hex") {
  using nhrp::PacketType;
  CHECK(flag_names(PacketType::ResolutionReply, 0xF802) == std::vector<std::string>{"Q", "A", "D", "U", "S", "NAT"});
  CHECK(flag_names(PacketType::RegistrationRequest, 0x8002) == std::vector<std::string>{"U", "NAT"});
  CHECK(flag_names(PacketType::PurgeRequest, 0x8000) == std::vector<std::string>{"N"});
  CHECK(flag_names(PacketType::RegistrationRequest, 0x0401) == std::vector<std::string>{"0x0400", "0x0001"});
  CHECK(flag_names(PacketType::ErrorIndication, 0x0000).empty());
}

}  // namespace
}  // namespace advpnd::app
