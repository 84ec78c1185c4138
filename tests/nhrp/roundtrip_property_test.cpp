// Round-trip property over mutated vectors: for deterministic single and
// double byte mutations of every vector, decode (checksum not verified)
// either refuses cleanly (a named field at an offset inside the buffer), or
// the packet re-encodes and decode(encode(p)) == p. packet.h promises more:
// encode(decode(bytes)) == bytes (the checksum aside) for every packet it
// accepts, which is checked and counted separately.
#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>

#include "tests/nhrp/nhrp_test_util.h"

namespace {

using namespace advpnd;
using namespace advpnd::nhrp;
using namespace advpnd::nhrp::testing;

constexpr int kReportLimit = 5;  // failures printed in full per kind

struct Tally {
  int decoded = 0;
  int refused = 0;
  int unclean_refusals = 0;   // no field, offset outside the buffer
  int round_trip_failures = 0;  // encode fails, or decode(encode(p)) != p
  int not_byte_exact = 0;     // encode(decode(m)) != m (checksum aside)
  // ... of which: ar$extoff == ar$pktsz accepted (no extension bytes), then
  // encoded with ar$extoff 0. Counted apart so that other causes stand out.
  int extoff_at_pktsz = 0;
  int verify_disagrees = 0;   // resealed + verified decode differs from unverified
};

void report(int count, const std::string& what, const Bytes& input) {
  if (count <= kReportLimit) FAIL_CHECK(what << "\n  input:   " << hex_of(input));
}

void check_one(const Bytes& m, const std::string& origin, Tally& t) {
  auto r = decode(m, no_checksum());

  // The same bytes with a correct checksum decode the same way with verification on.
  Bytes sealed = m;
  reseal(sealed);
  auto verified = decode(sealed);
  if (verified.ok() != r.ok() || (r.ok() && !same_packet(r.value(), verified.value()))) {
    report(++t.verify_disagrees, origin + ": verified decode disagrees with unverified", m);
  }

  if (!r.ok()) {
    ++t.refused;
    const DecodeError& e = r.error();
    if (e.field.empty() || e.offset > m.size() || e.message().empty()) {
      report(++t.unclean_refusals,
             origin + ": unclean refusal: field '" + std::string(e.field) + "' offset " + std::to_string(e.offset), m);
    }
    return;
  }
  ++t.decoded;
  const Packet& p = r.value();
  const auto encoded = encode(p);
  if (!encoded.ok()) {
    report(++t.round_trip_failures, origin + ": decoded but encode failed: " + encoded.error().message(), m);
    return;
  }
  const auto back = decode(*encoded);
  if (!back.ok()) {
    report(++t.round_trip_failures,
           origin + ": encode output does not decode: " + back.error().message() + "\n  encoded: " + hex_of(*encoded),
           m);
    return;
  }
  if (!same_packet(p, back.value())) {
    report(++t.round_trip_failures, origin + ": decode(encode(p)) != p\n  encoded: " + hex_of(*encoded), m);
    return;
  }
  // Byte exactness: the first ar$pktsz bytes, with the fresh checksum.
  const std::size_t pktsz = get_u16(m, 10);
  Bytes want = prefix(m, pktsz);
  put_u16(want, 12, get_u16(*encoded, 12));
  if (hex_of(*encoded) != hex_of(want)) {
    const std::size_t extoff = get_u16(m, 14);
    if (extoff != 0 && extoff == pktsz && p.extensions.empty()) {
      report(++t.extoff_at_pktsz,
             origin + ": ar$extoff == ar$pktsz accepted but not kept\n  encoded: " + hex_of(*encoded), m);
    } else {
      report(++t.not_byte_exact, origin + ": encode(decode(m)) != m\n  encoded: " + hex_of(*encoded), m);
    }
  }
}

void check_tally(const Tally& t, std::string_view name) {
  INFO("vector ", name, ": ", t.decoded, " decoded, ", t.refused, " refused");
  CHECK(t.decoded > 0);
  CHECK(t.refused > 0);
  CHECK(t.unclean_refusals == 0);
  CHECK(t.round_trip_failures == 0);
  CHECK(t.not_byte_exact == 0);
  CHECK(t.extoff_at_pktsz == 0);
  CHECK(t.verify_disagrees == 0);
}

TEST_CASE("property: every single-byte mutation of every vector decodes cleanly or round-trips") {
  for (const auto& v : all_vectors()) {
    const Bytes wire = bytes(v.hex);
    Tally t;
    for (std::size_t i = 0; i < wire.size(); ++i) {
      const auto b = get_u8(wire, i);
      for (const unsigned value : {0x00u, 0xFFu, b ^ 0x01u, b ^ 0x80u, b ^ 0x40u, b + 1u, b - 1u, 0x04u, 0x10u}) {
        Bytes m = wire;
        put_u8(m, i, static_cast<std::uint8_t>(value));
        check_one(m, std::string(v.name) + " byte " + std::to_string(i) + " = " + std::to_string(value & 0xFF), t);
      }
    }
    check_tally(t, v.name);
  }
}

TEST_CASE("property: seeded random single and double byte mutations") {
  std::size_t index = 0;
  for (const auto& v : all_vectors()) {
    const Bytes wire = bytes(v.hex);
    std::mt19937 rng(static_cast<std::mt19937::result_type>(2332 + index++));  // deterministic
    Tally t;
    for (int round = 0; round < 4000; ++round) {
      Bytes m = wire;
      const int edits = round % 2 == 0 ? 1 : 2;
      std::string origin = std::string(v.name) + " round " + std::to_string(round) + ":";
      for (int k = 0; k < edits; ++k) {
        const std::size_t at = rng() % m.size();
        const auto value = static_cast<std::uint8_t>(rng());
        put_u8(m, at, value);
        origin += " [" + std::to_string(at) + "]=" + std::to_string(value);
      }
      check_one(m, origin, t);
    }
    check_tally(t, v.name);
  }
}

TEST_CASE("property: mutations of the length and offset fields only") {
  // ar$pktsz, ar$extoff, proto lengths, CIE and extension lengths of 9.3
  // (the vector with the most nested lengths), over many values each.
  const Bytes wire = bytes(k93);
  Tally t;
  for (const std::size_t at : {10, 11, 14, 15, 18, 19, 20, 21, 48, 49, 50, 62, 63, 72, 73, 74, 86, 87, 96, 97, 98, 110, 111}) {
    for (unsigned value = 0; value < 256; ++value) {
      Bytes m = wire;
      put_u8(m, at, static_cast<std::uint8_t>(value));
      check_one(m, "9.3 byte " + std::to_string(at) + " = " + std::to_string(value), t);
    }
  }
  check_tally(t, "9.3 lengths");
}

}  // namespace
