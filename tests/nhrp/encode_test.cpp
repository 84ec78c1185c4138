// encode(): sizes, buffers, derived fields and refusals (codec.h); and
// decode_into(), which reuses a Packet (the hot path) and must leave nothing
// of the previous packet behind.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "tests/nhrp/nhrp_test_util.h"

namespace {

using namespace advpnd;
using namespace advpnd::nhrp;
using namespace advpnd::nhrp::testing;

TEST_CASE("encode into a buffer: exact size works, one byte less is BufferTooSmall") {
  for (const auto& v : all_vectors()) {
    INFO("vector ", v.name);
    const Bytes wire = bytes(v.hex);
    const Packet p = decode_ok(wire);
    REQUIRE(encoded_size(p) == wire.size());
    Bytes big(wire.size() + 16, std::byte{0xEE});
    const auto n = encode(p, big);
    REQUIRE(n.ok());
    CHECK(*n == wire.size());
    CHECK(hex_of(prefix(big, wire.size())) == hex_of(wire));
    CHECK(std::to_integer<unsigned>(big[wire.size()]) == 0xEE);  // nothing written past the packet

    Bytes small(wire.size() - 1);
    const auto refused_small = encode(p, small);
    REQUIRE_FALSE(refused_small.ok());
    CHECK(refused_small.error().code == EncodeErrc::BufferTooSmall);
    CHECK_FALSE(refused_small.error().message().empty());
    Bytes none;
    CHECK_FALSE(encode(p, none).ok());
  }
}

TEST_CASE("encode derives ar$pktsz, ar$extoff and the checksum") {
  Packet p = decode_ok(k91);
  p.received_checksum = 0x1234;  // ignored
  p.cies.push_back(p.cies.front());
  p.cies.back().protocol = ip("10.0.0.9");
  p.cies.back().nbma = ip("198.51.100.9");
  const auto encoded = encode(p);
  REQUIRE(encoded.ok());
  CHECK(encoded->size() == 92 + 20);
  CHECK(get_u16(*encoded, 10) == 112);
  CHECK(get_u16(*encoded, 14) == 52 + 20);
  CHECK(checksum_valid(*encoded));
  CHECK(get_u8(*encoded, 52 + 8) == 4);   // second CIE (at 52): NBMA length
  CHECK(get_u8(*encoded, 52 + 10) == 4);  // protocol length
  CHECK(same_packet(decode_ok(*encoded), p));

  SUBCASE("no extensions: ar$extoff 0") {
    p.extensions.clear();
    const auto bare = encode(p);
    REQUIRE(bare.ok());
    CHECK(get_u16(*bare, 14) == 0);
    CHECK(bare->size() == 72);
    CHECK(decode_ok(*bare).extensions.empty());
  }
  SUBCASE("a packet built from scratch with defaults") {
    Packet q;
    q.type = PacketType::ResolutionRequest;
    q.src_nbma = ip("192.0.2.1");
    q.src_protocol = ip("10.1.1.1");
    q.dst_protocol = ip("10.1.1.2");
    const auto out = encode(q);
    REQUIRE(out.ok());
    CHECK(out->size() == 40);
    CHECK(hex_of(prefix(*out, 12)) == "00 01 08 00 00 00 00 00 00 ff 00 28");
    CHECK(hex_of(Bytes(out->begin() + 14, out->end())) ==
          "00 00 01 01 04 00 04 04 00 00 00 00 00 00 c0 00\n02 01 0a 01 01 01 0a 01 01 02");
    CHECK(checksum_valid(*out));
  }
}

TEST_CASE("encode refuses addresses that do not fit ar$afn / ar$pro.type") {
  const Packet base = decode_ok(k95);
  SUBCASE("IPv6 NBMA with afn 1") {
    Packet p = base;
    p.src_nbma = ip("2001:db8::1");
    const auto r = encode(p);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == EncodeErrc::BadAddressLength);
    CHECK_FALSE(r.error().field.empty());
  }
  SUBCASE("IPv6 protocol address with pro.type 0x0800") {
    Packet p = base;
    p.dst_protocol = ip("2001:db8::1");
    const auto r = encode(p);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == EncodeErrc::BadAddressLength);
  }
  SUBCASE("an IPv6 CIE NBMA with afn 1") {
    Packet p = base;
    p.cies.front().nbma = ip("2001:db8::1");
    const auto r = encode(p);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == EncodeErrc::BadAddressLength);
  }
  SUBCASE("an IPv4 CIE protocol address in an extension with pro.type 0x86DD") {
    Packet p = decode_ok(kIpv6Overlay);
    Cie c;
    c.protocol = ip("10.0.0.1");
    p.extensions.front().cies.push_back(c);
    const auto r = encode(p);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == EncodeErrc::BadAddressLength);
  }
}

TEST_CASE("encode refuses what decode would refuse: family, ambiguous extension") {
  SUBCASE("ar$afn 3") {
    Packet p = decode_ok(k95);
    p.afn = 3;
    const auto r = encode(p);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == EncodeErrc::UnsupportedFamily);
  }
  SUBCASE("ar$pro.type 0x0801") {
    Packet p = decode_ok(k95);
    p.protocol_type = 0x0801;
    const auto r = encode(p);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == EncodeErrc::UnsupportedFamily);
  }
  SUBCASE("an extension with both CIEs and a raw value") {
    Packet p = decode_ok(k91);
    Extension& nat = *p.find_extension(ExtensionType::CiscoNatAddress);
    REQUIRE_FALSE(nat.cies.empty());
    nat.value = bytes("00 01 02 03");
    const auto r = encode(p);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == EncodeErrc::AmbiguousExtension);
    CHECK_FALSE(r.error().message().empty());
  }
  SUBCASE("raw value bytes in a CIE-carrying type are written as they are") {
    Packet p = decode_ok(k91);
    Extension& nat = *p.find_extension(ExtensionType::CiscoNatAddress);
    nat.cies.clear();
    nat.value = bytes("00 01 02 03 04 05 06 07");  // RFC 2735 Device Capabilities, length 8
    const auto r = encode(p);
    REQUIRE(r.ok());
    CHECK(get_u16(*r, 66) == 8);
    const Packet back = decode_ok(*r);
    const Extension* again = back.find_extension(ExtensionType::CiscoNatAddress);
    REQUIRE(again != nullptr);
    CHECK(again->cies.empty());
    CHECK(hex_of(again->value) == "00 01 02 03 04 05 06 07");
  }
}

TEST_CASE("encode refuses a packet longer than 65535 bytes") {
  Packet p = decode_ok(k94);
  p.payload.assign(70000, std::byte{0});
  CHECK(encoded_size(p) > 0xFFFF);
  const auto r = encode(p);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == EncodeErrc::PacketTooLarge);
  p.payload.assign(0xFFFF - 40, std::byte{0});  // exactly 65535: fine
  const auto ok = encode(p);
  REQUIRE(ok.ok());
  CHECK(ok->size() == 0xFFFF);
  CHECK(get_u16(*ok, 10) == 0xFFFF);
  CHECK(checksum_valid(*ok));
}

TEST_CASE("decode_into reuses a Packet and leaves nothing of the previous one") {
  const std::vector<Vector> order = all_vectors();
  Packet reused;
  for (std::size_t round = 0; round < 3; ++round) {
    for (std::size_t i = 0; i < order.size(); ++i) {
      // Walk the vectors in a different order each round (each follows a different one).
      const auto& v = order[(i * (round + 1) + round) % order.size()];
      INFO("vector ", v.name, " round ", round);
      const Bytes wire = bytes(v.hex);
      const auto st = decode_into(wire, reused);
      REQUIRE(st.ok());
      CHECK(reused == decode_ok(wire));
    }
  }
}

TEST_CASE("decode_into reports the same errors as decode") {
  Packet reused = decode_ok(k96);
  Bytes m = bytes(k91);
  put_u8(m, 16, 2);
  const auto st = decode_into(m, reused, no_checksum());
  REQUIRE_FALSE(st.ok());
  CHECK(st.error().code == DecodeErrc::UnsupportedVersion);
  CHECK(st.error().offset == 16);
  const auto st2 = decode_into(prefix(bytes(k91), 30), reused);
  REQUIRE_FALSE(st2.ok());
  CHECK(st2.error().code == DecodeErrc::PacketSizeExceedsData);
  // And it still decodes after a failure.
  REQUIRE(decode_into(bytes(k94), reused).ok());
  CHECK(reused == decode_ok(k94));
}

TEST_CASE("find_extension finds the first of a type, mutable and const") {
  Packet p = decode_ok(k96);
  Extension* auth = p.find_extension(ExtensionType::Authentication);
  REQUIRE(auth != nullptr);
  CHECK(auth == &p.extensions[3]);
  auth->value.back() = std::byte{'X'};
  const Packet& cp = p;
  const Extension* again = cp.find_extension(ExtensionType::Authentication);
  REQUIRE(again != nullptr);
  CHECK(std::to_integer<char>(again->value.back()) == 'X');
  CHECK(cp.find_extension(ExtensionType::VendorPrivate) == nullptr);
  CHECK(cp.find_extension(ExtensionType::End) == &p.extensions.back());
  CHECK(decode_ok(k94).find_extension(ExtensionType::End) == nullptr);
}

TEST_CASE("Packet equality sees every field") {
  const Packet a = decode_ok(k93);
  CHECK(a == decode_ok(k93));
  Packet b = a;
  b.extensions[2].cies[0].holding_time = 1;
  CHECK_FALSE(a == b);
  b = a;
  b.trailer.push_back(std::byte{0});
  CHECK_FALSE(a == b);
  b = a;
  b.protocol_snap[4] = 1;
  CHECK_FALSE(a == b);
  b = a;
  b.extensions[0].raw_type = 0x0004;
  CHECK_FALSE(a == b);
  b = a;
  b.hop_count = 63;
  CHECK_FALSE(a == b);
}

}  // namespace
