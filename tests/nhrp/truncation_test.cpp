// Truncation and overflow at every length and offset field (NHRP-WIRE.md 2,
// 4, 7.1; STYLE.md "validate before interpreting"). Every buffer handed to
// decode() is an exactly sized heap copy, so that AddressSanitizer reports
// any read past its end.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string_view>
#include <vector>

#include "tests/nhrp/nhrp_test_util.h"

namespace {

using namespace advpnd;
using namespace advpnd::nhrp;
using namespace advpnd::nhrp::testing;

bool one_of(DecodeErrc code, std::initializer_list<DecodeErrc> allowed) {
  return std::find(allowed.begin(), allowed.end(), code) != allowed.end();
}

// End of the mandatory header's addresses (offset of the first CIE / payload byte).
std::size_t addresses_end(const Bytes& b) {
  return kFixedHeaderSize + kCommonHeaderSize + (get_u8(b, 18) & 0x3F) + (get_u8(b, 19) & 0x3F) + get_u8(b, 20) +
         get_u8(b, 21);
}

// Offsets at which the CIE list of the mandatory part may legally end.
std::vector<std::size_t> cie_boundaries(const Bytes& b) {
  std::vector<std::size_t> out;
  std::size_t at = addresses_end(b);
  const std::size_t end = get_u16(b, 14) != 0 ? get_u16(b, 14) : get_u16(b, 10);
  out.push_back(at);
  while (at + kCieHeaderSize <= end) {
    at += kCieHeaderSize + (get_u8(b, at + 8) & 0x3F) + (get_u8(b, at + 9) & 0x3F) + get_u8(b, at + 10);
    out.push_back(at);
  }
  return out;
}

bool contains(const std::vector<std::size_t>& v, std::size_t x) { return std::find(v.begin(), v.end(), x) != v.end(); }

TEST_CASE("every strict prefix of every vector is refused: ar$pktsz exceeds the data") {
  for (const auto& v : all_vectors()) {
    const Bytes wire = bytes(v.hex);
    for (std::size_t n = 0; n < wire.size(); ++n) {
      INFO("vector ", v.name, ", first ", n, " of ", wire.size(), " bytes");
      const Bytes cut = prefix(wire, n);
      CHECK_FALSE(decode(cut).ok());
      const auto e = refused(cut);
      if (!e) continue;
      if (n >= kFixedHeaderSize) {
        CHECK(e->code == DecodeErrc::PacketSizeExceedsData);
        CHECK(e->offset == 10);
        CHECK(e->field.find("pktsz") != std::string_view::npos);
        CHECK(e->needed == wire.size());
        CHECK(e->available == n);
      } else {
        CHECK(one_of(e->code, {DecodeErrc::Truncated, DecodeErrc::PacketSizeExceedsData}));
        if (e->code == DecodeErrc::Truncated) CHECK(e->indication() == ErrorCode::None);
      }
    }
  }
}

// The same cuts with ar$pktsz set to the cut length (and the checksum fixed):
// the packet now claims to end there. Only a cut on an extension boundary
// (or anywhere in a Traffic/Error Indication payload, or between CIEs when
// there are no extensions) is a well-formed packet, and must then re-encode
// to the same bytes.
TEST_CASE("every truncation with a matching ar$pktsz: refused unless it ends on a boundary") {
  for (const auto& v : all_vectors()) {
    const Bytes wire = bytes(v.hex);
    const std::size_t extoff = get_u16(wire, 14);
    const std::size_t addr_end = addresses_end(wire);
    const auto type = get_u8(wire, 17);
    const bool indication = type == 7 || type == 8;
    const auto ext_bounds = extension_boundaries(wire);
    const auto cie_bounds = cie_boundaries(wire);
    // Bytes after End are a trailer: any cut past End is well-formed.
    std::size_t after_end = wire.size();
    if (ext_bounds.size() >= 2 && (get_u16(wire, ext_bounds[ext_bounds.size() - 2]) & kExtensionTypeMask) == 0) {
      after_end = ext_bounds.back();
    }
    for (std::size_t n = 0; n < wire.size(); ++n) {
      INFO("vector ", v.name, ", cut at ", n, " with ar$pktsz ", n);
      Bytes cut = prefix(wire, n);
      resize_and_reseal(cut);
      bool well_formed = false;
      if (extoff != 0) {
        well_formed = n >= extoff && (contains(ext_bounds, n) || n >= after_end);
      } else {
        well_formed = indication ? n >= addr_end : contains(cie_bounds, n);
      }
      auto r = decode(cut);
      if (well_formed) {
        if (!r.ok()) {
          INFO("refused: ", r.error().message());
          // ar$extoff == ar$pktsz (no extension bytes) may be refused (FRR does).
          CHECK((n == extoff && r.error().code == DecodeErrc::BadExtensionOffset));
          continue;
        }
        const auto encoded = encode(r.value());
        REQUIRE(encoded.ok());
        CHECK(hex_of(*encoded) == hex_of(cut));
        continue;
      }
      if (r.ok()) {
        INFO("decoded, should be refused: ", hex_of(cut));
        CHECK_FALSE(r.ok());
        continue;
      }
      const DecodeError& e = r.error();
      check_error_sane(e, n);
      if (n < 12) {
        CHECK(e.code == DecodeErrc::Truncated);
      } else if (n < kFixedHeaderSize) {
        CHECK(one_of(e.code, {DecodeErrc::PacketSizeTooSmall, DecodeErrc::Truncated}));
      } else if (n < addr_end) {
        CHECK(one_of(e.code, {DecodeErrc::Truncated, DecodeErrc::BadExtensionOffset}));
      } else if (extoff != 0 && n < extoff) {
        CHECK(e.code == DecodeErrc::BadExtensionOffset);
        CHECK(e.offset == 14);
      } else if (extoff == 0) {
        CHECK(one_of(e.code, {DecodeErrc::BadCie, DecodeErrc::Truncated}));
      } else {
        CHECK(one_of(e.code, {DecodeErrc::BadExtension, DecodeErrc::Truncated}));
        CHECK(e.offset >= extoff);
      }
    }
  }
}

TEST_CASE("ar$pktsz larger than the data: PacketSizeExceedsData with both numbers") {
  for (const auto& v : all_vectors()) {
    const Bytes wire = bytes(v.hex);
    for (const std::size_t claimed : {wire.size() + 1, wire.size() + 100, std::size_t{0xFFFF}}) {
      INFO("vector ", v.name, ", ar$pktsz ", claimed);
      Bytes m = wire;
      put_u16(m, 10, static_cast<std::uint16_t>(claimed));
      const auto e = refused(m);
      REQUIRE(e.has_value());
      CHECK(e->code == DecodeErrc::PacketSizeExceedsData);
      CHECK(e->field.find("pktsz") != std::string_view::npos);
      CHECK(e->offset == 10);
      CHECK(e->needed == claimed);
      CHECK(e->available == wire.size());
      CHECK_FALSE(decode(m).ok());
    }
  }
}

TEST_CASE("ar$pktsz smaller than the fixed header: PacketSizeTooSmall") {
  for (const std::uint16_t claimed : {0, 1, 12, 19}) {
    INFO("ar$pktsz ", claimed);
    Bytes m = bytes(k91);
    put_u16(m, 10, claimed);
    const auto e = refused(m);
    REQUIRE(e.has_value());
    CHECK(e->code == DecodeErrc::PacketSizeTooSmall);
    CHECK(e->field.find("pktsz") != std::string_view::npos);
    CHECK(e->offset == 10);
    if (claimed != 0) CHECK(e->message().find(std::to_string(claimed)) != std::string::npos);
    CHECK(e->indication() == ErrorCode::None);
  }
}

TEST_CASE("ar$pktsz smaller than the data: the rest is ignored") {
  for (const auto& v : all_vectors()) {
    INFO("vector ", v.name);
    const Bytes wire = bytes(v.hex);
    Bytes longer = wire;
    for (const std::uint8_t b : {0xFF, 0x80, 0x00, 0x01, 0x00, 0x04, 0x77}) longer.push_back(std::byte{b});
    const Packet a = decode_ok(wire);
    const Packet b = decode_ok(longer);
    CHECK(a == b);
    const auto encoded = encode(b);
    REQUIRE(encoded.ok());
    CHECK(hex_of(*encoded) == hex_of(wire));
  }
}

TEST_CASE("ar$extoff inside the mandatory part: BadExtensionOffset at offset 14") {
  struct Case {
    std::string_view vector;
    std::uint16_t extoff;
  };
  for (const Case c : {Case{k91, 1}, Case{k91, 12}, Case{k91, 19}, Case{k91, 20}, Case{k91, 28}, Case{k91, 39},
                       Case{k97, 20}, Case{k97, 39}, Case{kIpv6Overlay, 40}, Case{kIpv6Overlay, 63}}) {
    INFO("ar$extoff ", c.extoff, " in ", hex_of(prefix(bytes(c.vector), 20)));
    Bytes m = bytes(c.vector);
    put_u16(m, 14, c.extoff);
    reseal(m);
    const auto e = refused(m);
    REQUIRE(e.has_value());
    CHECK(e->code == DecodeErrc::BadExtensionOffset);
    CHECK(e->field.find("extoff") != std::string_view::npos);
    CHECK(e->offset == 14);
    CHECK(e->message().find(std::to_string(c.extoff)) != std::string::npos);
  }
}

TEST_CASE("ar$extoff past ar$pktsz: BadExtensionOffset") {
  for (const auto& v : all_vectors()) {
    const Bytes wire = bytes(v.hex);
    for (const std::size_t extoff : {wire.size() + 1, wire.size() + 40, std::size_t{0xFFFF}}) {
      INFO("vector ", v.name, ", ar$extoff ", extoff);
      Bytes m = wire;
      put_u16(m, 14, static_cast<std::uint16_t>(extoff));
      reseal(m);
      const auto e = refused(m);
      REQUIRE(e.has_value());
      CHECK(e->code == DecodeErrc::BadExtensionOffset);
      CHECK(e->offset == 14);
      CHECK(e->message().find(std::to_string(extoff)) != std::string::npos);
    }
  }
}

TEST_CASE("ar$extoff equal to ar$pktsz: refused, or kept byte for byte") {
  Bytes m = bytes(k91);
  m.resize(52);  // CIE, then no extension bytes
  put_u16(m, 14, 52);
  resize_and_reseal(m);
  auto r = decode(m);
  if (r.ok()) {
    const auto encoded = encode(r.value());
    REQUIRE(encoded.ok());
    CHECK(hex_of(*encoded) == hex_of(m));  // an accepted packet must round-trip
  } else {
    check_error_sane(r.error(), m.size());
    CHECK(r.error().code == DecodeErrc::BadExtensionOffset);
  }
}

TEST_CASE("ar$extoff at the end of the addresses: no CIEs, legal") {
  // 9.1 without its CIE (bytes 40-51). Copied byte by byte: g++-12 reports a
  // false -Warray-bounds on vector::insert here.
  const Bytes wire = bytes(k91);
  Bytes m;
  for (std::size_t i = 0; i < wire.size(); ++i) {
    if (i < 40 || i >= 52) m.push_back(wire[i]);
  }
  put_u16(m, 14, 40);
  resize_and_reseal(m);
  const Packet p = decode_ok(m);
  CHECK(p.cies.empty());
  CHECK(p.extensions.size() == 5);
  const auto encoded = encode(p);
  REQUIRE(encoded.ok());
  CHECK(hex_of(*encoded) == hex_of(m));
}

TEST_CASE("ar$extoff between CIE boundaries: the CIE does not fit") {
  for (const std::uint16_t extoff : {44, 50, 56, 60}) {
    INFO("ar$extoff ", extoff);
    Bytes m = bytes(k91);
    put_u16(m, 14, extoff);
    reseal(m);
    const auto e = refused(m);
    REQUIRE(e.has_value());
    CHECK(one_of(e->code, {DecodeErrc::BadCie, DecodeErrc::BadExtensionOffset}));
    CHECK(e->offset >= 14);
    CHECK(e->offset < extoff);
  }
}

// CIE address lengths that are valid for the family but run past the end
// of the part of the packet the CIE sits in.
TEST_CASE("CIE address lengths running past the mandatory part: BadCie") {
  struct Case {
    std::string_view vector;
    std::size_t at;
    std::uint8_t value;
    std::size_t cie;  // offset of the CIE
    std::size_t end;  // end of the CIE list
  };
  // 9.1/9.5/9.6: CIE at 40, ar$extoff 52; NBMA (48) or protocol (50) length 4.
  // IPv6: CIE at 76 filling the packet; a 16-byte NBMA subaddress (85).
  for (const Case c : {Case{k91, 48, 4, 40, 52}, Case{k91, 50, 4, 40, 52}, Case{k95, 48, 4, 40, 52},
                       Case{k95, 50, 4, 40, 52}, Case{k96, 50, 4, 40, 52}, Case{kIpv6Full, 85, 0x10, 76, 120}}) {
    Bytes m = bytes(c.vector);
    put_u8(m, c.at, c.value);
    reseal(m);
    INFO("byte ", c.at, " = ", unsigned{c.value}, " in ", hex_of(m));
    const auto e = refused(m);
    REQUIRE(e.has_value());
    if (c.at == 85) {
      CHECK(one_of(e->code, {DecodeErrc::BadCie, DecodeErrc::BadAddressLength}));
    } else {
      CHECK(e->code == DecodeErrc::BadCie);
    }
    CHECK(e->offset >= c.cie);
    CHECK(e->offset <= c.end);  // the field that starts at the end and runs past it
  }
}

TEST_CASE("CIEs that do not fit their Responder extension are refused") {
  // 9.3: Responder extension at 60, length 20, CIE at 64.
  struct Case {
    std::size_t at;
    std::uint8_t value;
  };
  for (const Case c : {Case{73, 4},     // CIE subaddress length 4: needs 24 bytes
                       Case{74, 0},     // protocol length 0: 4 bytes left over
                       Case{63, 16},    // extension length 16: the CIE needs 20
                       Case{63, 11}}) {  // less than a CIE header
    Bytes m = bytes(k93);
    put_u8(m, c.at, c.value);
    reseal(m);
    INFO("byte ", c.at, " = ", unsigned{c.value});
    const auto e = refused(m);
    REQUIRE(e.has_value());
    CHECK(one_of(e->code, {DecodeErrc::BadCie, DecodeErrc::BadExtension}));
    CHECK(e->offset >= 60);
    CHECK(e->offset <= 84);
  }
}

TEST_CASE("a NAT extension whose value is not a CIE list: refused or kept as raw bytes") {
  // 9.1: NAT extension at 64, value 68..88.
  for (const std::size_t at : {std::size_t{77}, std::size_t{78}}) {
    Bytes m = bytes(k91);
    put_u8(m, at, at == 77 ? 4 : 0);
    reseal(m);
    INFO("byte ", at);
    auto r = decode(m);
    if (r.ok()) {
      const Extension* nat = r->find_extension(ExtensionType::CiscoNatAddress);
      REQUIRE(nat != nullptr);
      CHECK(nat->cies.empty());
      CHECK(hex_of(nat->value) == hex_of(Bytes(m.begin() + 68, m.begin() + 88)));
      const auto encoded = encode(r.value());
      REQUIRE(encoded.ok());
      CHECK(hex_of(*encoded) == hex_of(m));
    } else {
      check_error_sane(r.error(), m.size());
      CHECK(one_of(r.error().code, {DecodeErrc::BadCie, DecodeErrc::BadExtension}));
      CHECK(r.error().offset >= 64);
      CHECK(r.error().offset <= 88);
    }
  }
}

TEST_CASE("extension lengths running past ar$pktsz: BadExtension at the extension") {
  struct Case {
    std::string_view vector;
    std::size_t ext;  // offset of the extension header
    std::uint16_t length;
  };
  for (const Case c : {Case{k91, 52, 0xFFFF}, Case{k91, 52, 37}, Case{k91, 64, 0x0100}, Case{k91, 64, 25},
                       Case{k91, 88, 1}, Case{k97, 76, 0x0100}, Case{k97, 76, 21}, Case{kIos, 64, 14},
                       Case{kIos, 77, 1}}) {
    Bytes m = bytes(c.vector);
    put_u16(m, c.ext + 2, c.length);
    reseal(m);
    INFO("extension at ", c.ext, " length ", c.length, " in ", hex_of(m));
    const auto e = refused(m);
    REQUIRE(e.has_value());
    CHECK(e->code == DecodeErrc::BadExtension);
    CHECK(e->offset >= c.ext);
    CHECK(e->offset < c.ext + kExtensionHeaderSize);
    const ErrorCode ind = e->indication();
    CHECK((ind == ErrorCode::InvalidExtension || ind == ErrorCode::ProtocolError));
  }
}

TEST_CASE("End extension with a nonzero length is refused even when it fits") {
  for (const std::uint16_t end_type : {0x8000, 0x0000}) {
    Bytes m = bytes(k95);  // End at 68
    put_u16(m, 68, end_type);
    put_u16(m, 70, 4);
    for (int i = 0; i < 4; ++i) m.push_back(std::byte{0});
    resize_and_reseal(m);
    INFO("End type ", end_type);
    const auto e = refused(m);
    REQUIRE(e.has_value());
    CHECK(e->code == DecodeErrc::BadExtension);
    CHECK(e->offset >= 68);
    CHECK(e->offset < 72);
  }
}

}  // namespace
