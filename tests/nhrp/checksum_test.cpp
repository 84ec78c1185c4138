// ar$chksum (NHRP-WIRE.md 2): RFC 1071 over exactly ar$pktsz bytes, an odd
// final byte being the high byte of a zero-padded word.
#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

#include "tests/nhrp/nhrp_test_util.h"

namespace {

using namespace advpnd;
using namespace advpnd::nhrp;
using namespace advpnd::nhrp::testing;

TEST_CASE("internet_checksum: RFC 1071 known values") {
  // RFC 1071 section 3 example: the sum is 0xDDF2, so the checksum is 0x220D.
  CHECK(internet_checksum(bytes("00 01 f2 03 f4 f5 f6 f7")) == 0x220D);
  // The classic IPv4 header example (checksum field zero) gives 0xB861.
  CHECK(internet_checksum(bytes("45 00 00 73 00 00 40 00 40 11 00 00 c0 a8 00 01 c0 a8 00 c7")) == 0xB861);
  CHECK(internet_checksum(bytes("45 00 00 73 00 00 40 00 40 11 b8 61 c0 a8 00 01 c0 a8 00 c7")) == 0x0000);
  CHECK(internet_checksum({}) == 0xFFFF);
  CHECK(internet_checksum(bytes("00 00")) == 0xFFFF);
  CHECK(internet_checksum(bytes("ff ff")) == 0x0000);
  // End-around carry: 0xFFFF + 0x0001 = 0x10000 -> 0x0001.
  CHECK(internet_checksum(bytes("ff ff 00 01")) == 0xFFFE);
  CHECK(internet_checksum(bytes("80 00 80 00")) == 0xFFFE);
}

TEST_CASE("internet_checksum: an odd final byte is the high byte of a zero-padded word") {
  CHECK(internet_checksum(bytes("01")) == 0xFEFF);        // not 0xFFFE (low-byte padding)
  CHECK(internet_checksum(bytes("12 34 56")) == 0x97CB);  // ~(0x1234 + 0x5600)
  CHECK(internet_checksum(bytes("ff")) == 0x00FF);
  // The odd vectors of the spec: checksum field zeroed, the documented value comes back.
  Bytes ios = bytes(kIos);
  put_u16(ios, 12, 0);
  CHECK(internet_checksum(ios) == 0xE8E4);
  Bytes odd = bytes(kTrafficOdd);
  put_u16(odd, 12, 0);
  CHECK(internet_checksum(odd) == 0x32F4);  // 0xDD49 with low-byte padding
}

TEST_CASE("internet_checksum matches the reference on random buffers of every length to 600") {
  std::mt19937 rng(1071);
  for (std::size_t n = 0; n <= 600; ++n) {
    Bytes data(n);
    for (auto& b : data) b = std::byte{static_cast<std::uint8_t>(rng())};
    INFO("length ", n);
    CHECK(internet_checksum(data) == reference_checksum(data));
  }
  // Long runs of 0xFF overflow a 32-bit accumulator that does not fold carries.
  const Bytes ff(200001, std::byte{0xFF});
  CHECK(internet_checksum(ff) == reference_checksum(ff));
  const Bytes ones(131074, std::byte{0xFF});
  CHECK(internet_checksum(ones) == reference_checksum(ones));
}

TEST_CASE("the documented checksum of every vector: computed with the field zeroed") {
  for (const auto& v : all_vectors()) {
    INFO("vector ", v.name);
    Bytes wire = bytes(v.hex);
    const std::uint16_t documented = get_u16(wire, 12);
    put_u16(wire, 12, 0);
    CHECK(internet_checksum(wire) == documented);
    CHECK(reference_checksum(wire) == documented);  // the vectors themselves are right
  }
}

TEST_CASE("checksum_valid on every vector, with or without bytes past ar$pktsz") {
  for (const auto& v : all_vectors()) {
    INFO("vector ", v.name);
    const Bytes wire = bytes(v.hex);
    CHECK(checksum_valid(wire));
    // Bytes after ar$pktsz are not covered (a reader past the end, or one that
    // sums the whole datagram as FRR does, gets them wrong).
    Bytes longer = wire;
    longer.push_back(std::byte{0xFF});
    CHECK(checksum_valid(longer));
    longer.push_back(std::byte{0x37});
    longer.push_back(std::byte{0x00});
    CHECK(checksum_valid(longer));
  }
}

TEST_CASE("checksum_valid: flipping any single byte inside ar$pktsz breaks it") {
  for (const auto& v : all_vectors()) {
    const Bytes wire = bytes(v.hex);
    int failures = 0;
    for (std::size_t i = 0; i < wire.size(); ++i) {
      if (i == 10 || i == 11) continue;  // ar$pktsz: covered below
      for (const std::uint8_t mask : {0x01, 0x10, 0x80, 0xFF}) {
        Bytes m = wire;
        m[i] ^= std::byte{mask};
        if (checksum_valid(m) && ++failures <= 3) {
          INFO("vector ", v.name, " byte ", i, " ^ ", unsigned{mask});
          CHECK_FALSE(checksum_valid(m));
        }
      }
    }
    INFO("vector ", v.name);
    CHECK(failures == 0);
  }
}

TEST_CASE("checksum_valid: ar$pktsz past the data or too short to read is invalid") {
  const Bytes wire = bytes(k91);
  Bytes m = wire;
  put_u16(m, 10, static_cast<std::uint16_t>(wire.size() + 1));
  CHECK_FALSE(checksum_valid(m));
  put_u16(m, 10, 0xFFFF);
  CHECK_FALSE(checksum_valid(m));
  for (std::size_t n = 0; n < 12; ++n) {
    INFO("prefix ", n);
    CHECK_FALSE(checksum_valid(prefix(wire, n)));
  }
  // A shorter ar$pktsz covers fewer bytes: resealed for 60 bytes, it verifies
  // whatever follows.
  m = wire;
  put_u16(m, 10, 60);
  reseal(m);
  CHECK(checksum_valid(m));
  m[70] ^= std::byte{0x55};
  CHECK(checksum_valid(m));
}

TEST_CASE("decode verifies the checksum unless told not to") {
  Bytes m = bytes(k91);
  put_u8(m, 9, 2);  // hop count; checksum now stale
  const auto refusal = refused(m, DecodeOptions{});
  REQUIRE(refusal.has_value());
  CHECK(refusal->code == DecodeErrc::ChecksumMismatch);
  CHECK(refusal->offset == 12);
  CHECK(refusal->field.find("chksum") != std::string_view::npos);
  CHECK(refusal->indication() == ErrorCode::None);  // dropped silently
  // The numbers: what was received and what the field needed (the checksum
  // of these bytes: 9.1's 0xDE84 less the 1 added to the hop count).
  CHECK(refusal->available == 0xDE84);
  CHECK(refusal->needed == 0xDE83);
  CHECK(mentions_number(refusal->message(), 0xDE84));
  CHECK(mentions_number(refusal->message(), 0xDE83));
  const Packet p = decode_ok(m, no_checksum());
  CHECK(unsigned{p.hop_count} == 2);
  CHECK(p.received_checksum == 0xDE84);
  // The odd-length packets verify with the default options.
  CHECK(decode(bytes(kIos)).ok());
  CHECK(decode(bytes(kTrafficOdd)).ok());
  // encode() computes a fresh checksum, whatever was received.
  const auto encoded = encode(p);
  REQUIRE(encoded.ok());
  CHECK(checksum_valid(*encoded));
  CHECK(get_u16(*encoded, 12) != 0xDE84);
}

}  // namespace
