// GRE framing (NHRP-WIRE.md 1.1; RFC 2784, RFC 2890): key, checksum and
// sequence fields, refusals, and the header writer.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "nhrp/gre.h"
#include "tests/nhrp/nhrp_test_util.h"

namespace {

using namespace advpnd;
using namespace advpnd::nhrp;
using namespace advpnd::nhrp::testing;

Bytes frame(std::string_view gre_hex, std::string_view payload_hex) {
  Bytes out = bytes(gre_hex);
  const Bytes payload = bytes(payload_hex);
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

void check_payload(const GreFrame& f, const Bytes& data, std::size_t header_size) {
  CHECK(f.header_size == header_size);
  CHECK(f.payload.data() == data.data() + header_size);  // a view, not a copy
  CHECK(f.payload.size() == data.size() - header_size);
}

TEST_CASE("decode_gre: no key (00 00 20 01)") {
  const Bytes data = frame("00 00 20 01", k91);
  const auto r = decode_gre(data);
  REQUIRE(r.ok());
  CHECK(r->header.protocol == kGreProtocolNhrp);
  CHECK_FALSE(r->header.key.has_value());
  CHECK_FALSE(r->header.sequence.has_value());
  CHECK_FALSE(r->header.checksum_present);
  check_payload(*r, data, 4);
  CHECK(decode(r->payload).ok());
}

TEST_CASE("decode_gre: key 1000 (20 00 20 01 00 00 03 e8)") {
  const Bytes data = frame("20 00 20 01 00 00 03 e8", k97);
  const auto r = decode_gre(data);
  REQUIRE(r.ok());
  CHECK(r->header.protocol == 0x2001);
  REQUIRE(r->header.key.has_value());
  CHECK(*r->header.key == 1000);
  CHECK_FALSE(r->header.sequence.has_value());
  check_payload(*r, data, 8);
  CHECK(decode(r->payload).ok());
}

TEST_CASE("decode_gre: C adds 4 bytes before the key, S 4 bytes after it") {
  SUBCASE("C only") {
    const Bytes data = frame("80 00 20 01 ab cd 00 00", k95);
    const auto r = decode_gre(data);
    REQUIRE(r.ok());
    CHECK(r->header.checksum_present);
    CHECK_FALSE(r->header.key.has_value());
    check_payload(*r, data, 8);
    CHECK(decode(r->payload).ok());
  }
  SUBCASE("C and K: the key follows the checksum field") {
    const Bytes data = frame("a0 00 20 01 ab cd 00 00 00 00 00 02", k95);
    const auto r = decode_gre(data);
    REQUIRE(r.ok());
    CHECK(r->header.checksum_present);
    REQUIRE(r->header.key.has_value());
    CHECK(*r->header.key == 2);
    check_payload(*r, data, 12);
  }
  SUBCASE("K and S: the sequence number follows the key") {
    const Bytes data = frame("30 00 20 01 12 34 56 78 00 00 00 07", k95);
    const auto r = decode_gre(data);
    REQUIRE(r.ok());
    REQUIRE(r->header.key.has_value());
    CHECK(*r->header.key == 0x12345678);
    REQUIRE(r->header.sequence.has_value());
    CHECK(*r->header.sequence == 7);
    check_payload(*r, data, 12);
  }
  SUBCASE("C, K and S") {
    const Bytes data = frame("b0 00 20 01 ab cd 00 00 00 00 00 02 ff ff ff fe", k95);
    const auto r = decode_gre(data);
    REQUIRE(r.ok());
    CHECK(r->header.checksum_present);
    CHECK(*r->header.key == 2);
    CHECK(*r->header.sequence == 0xFFFFFFFE);
    check_payload(*r, data, 16);
    CHECK(decode(r->payload).ok());
  }
  SUBCASE("S only, IPv4 payload") {
    const Bytes data = frame("10 00 08 00 00 00 00 01", "45 00 00 14");
    const auto r = decode_gre(data);
    REQUIRE(r.ok());
    CHECK(r->header.protocol == kGreProtocolIpv4);
    CHECK_FALSE(r->header.key.has_value());
    CHECK(*r->header.sequence == 1);
    check_payload(*r, data, 8);
  }
}

TEST_CASE("decode_gre: a header with nothing after it has an empty payload") {
  const Bytes data = bytes("20 00 20 01 00 00 00 05");
  const auto r = decode_gre(data);
  REQUIRE(r.ok());
  CHECK(r->payload.empty());
  CHECK(r->header_size == 8);
}

TEST_CASE("decode_gre: version other than 0 is refused") {
  for (const auto& h : {"00 01 20 01", "00 07 20 01", "20 01 20 01 00 00 00 01", "30 81 88 0b 00 00 00 00"}) {
    INFO(h);
    const Bytes data = frame(h, "00 00 00 00");
    const auto r = decode_gre(data);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == GreErrc::UnsupportedVersion);
    CHECK_FALSE(r.error().message().empty());
  }
}

TEST_CASE("decode_gre: the routing bit is refused") {
  for (const auto& h : {"40 00 20 01", "60 00 20 01 00 00 00 01"}) {
    INFO(h);
    const Bytes data = frame(h, "00 00 00 00 00 00 00 00");
    const auto r = decode_gre(data);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == GreErrc::RoutingPresent);
    CHECK_FALSE(r.error().message().empty());
  }
}

TEST_CASE("decode_gre: every truncated header is refused, never read past") {
  for (const auto& h : {"00 00 20 01", "20 00 20 01 00 00 03 e8", "b0 00 20 01 ab cd 00 00 00 00 00 02 00 00 00 09",
                        "90 00 20 01 00 00 00 00 00 00 00 09"}) {
    const Bytes full = bytes(h);
    for (std::size_t n = 0; n < full.size(); ++n) {
      INFO(h, " cut at ", n);
      const auto r = decode_gre(prefix(full, n));
      REQUIRE_FALSE(r.ok());
      CHECK(r.error().code == GreErrc::Truncated);
      CHECK(r.error().offset <= n);
      CHECK_FALSE(r.error().message().empty());
    }
  }
}

TEST_CASE("encode_gre_header: 4 bytes, or 8 with a key") {
  static_assert(gre_header_size(GreHeader{}) == 4);
  GreHeader h;
  h.protocol = kGreProtocolNhrp;
  Bytes out(16, std::byte{0xEE});
  CHECK(gre_header_size(h) == 4);
  CHECK(encode_gre_header(h, out) == 4);
  CHECK(hex_of(prefix(out, 5)) == "00 00 20 01 ee");

  h.key = 1000;
  CHECK(gre_header_size(h) == 8);
  CHECK(encode_gre_header(h, out) == 8);
  CHECK(hex_of(prefix(out, 9)) == "20 00 20 01 00 00 03 e8 ee");

  h.protocol = kGreProtocolIpv6;
  h.key = 0xFFFFFFFF;
  CHECK(encode_gre_header(h, out) == 8);
  CHECK(hex_of(prefix(out, 8)) == "20 00 86 dd ff ff ff ff");
}

TEST_CASE("encode_gre_header: a buffer too small writes nothing and returns 0") {
  GreHeader h;
  h.protocol = kGreProtocolNhrp;
  h.key = 1;
  for (std::size_t n = 0; n < 8; ++n) {
    Bytes out(n, std::byte{0xEE});
    INFO("buffer ", n);
    CHECK(encode_gre_header(h, out) == 0);
  }
}

TEST_CASE("encode_gre_header then decode_gre round-trip, C and S included") {
  for (int mask = 0; mask < 8; ++mask) {
    GreHeader h;
    h.protocol = kGreProtocolNhrp;
    if ((mask & 1) != 0) h.key = 0xA1B2C3D4;
    if ((mask & 2) != 0) h.sequence = 42;
    h.checksum_present = (mask & 4) != 0;
    Bytes out(gre_header_size(h) + 4, std::byte{0});
    INFO("mask ", mask);
    const std::size_t n = encode_gre_header(h, out);
    REQUIRE(n == gre_header_size(h));
    const auto r = decode_gre(out);
    REQUIRE(r.ok());
    CHECK(r->header_size == n);
    CHECK(r->header.protocol == h.protocol);
    CHECK(r->header.key == h.key);
    CHECK(r->header.sequence == h.sequence);
    CHECK(r->header.checksum_present == h.checksum_present);
    CHECK(r->payload.size() == 4);
  }
}

}  // namespace
