#include "nhrp/gre.h"

#include "base/byte_io.h"

namespace advpnd::nhrp {

std::string_view GreError::message() const {
  switch (code) {
    case GreErrc::Truncated: return "GRE header truncated";
    case GreErrc::UnsupportedVersion: return "GRE version is not 0";
    case GreErrc::RoutingPresent: return "GRE routing field present (RFC 1701 source routing)";
  }
  return "GRE error";
}

// RFC 2784 section 2 (C bit, version 0) and RFC 2890 (K and S bits): the
// optional fields follow in the order checksum+reserved1, key, sequence.
Result<GreFrame, GreError> decode_gre(std::span<const std::byte> data) {
  ByteReader reader(data);
  std::uint16_t flags = 0;
  GreFrame frame;
  if (!reader.read_u16(flags) || !reader.read_u16(frame.header.protocol)) {
    return fail(GreError{GreErrc::Truncated, 0});
  }
  if ((flags & kGreVersionMask) != 0) {
    return fail(GreError{GreErrc::UnsupportedVersion, 1});
  }
  if ((flags & kGreFlagRouting) != 0) {
    return fail(GreError{GreErrc::RoutingPresent, 0});
  }
  if ((flags & kGreFlagChecksum) != 0) {
    frame.header.checksum_present = true;
    if (!reader.skip(4)) return fail(GreError{GreErrc::Truncated, reader.offset()});
  }
  if ((flags & kGreFlagKey) != 0) {
    std::uint32_t key = 0;
    if (!reader.read_u32(key)) return fail(GreError{GreErrc::Truncated, reader.offset()});
    frame.header.key = key;
  }
  if ((flags & kGreFlagSequence) != 0) {
    std::uint32_t sequence = 0;
    if (!reader.read_u32(sequence)) return fail(GreError{GreErrc::Truncated, reader.offset()});
    frame.header.sequence = sequence;
  }
  frame.header_size = reader.offset();
  frame.payload = data.subspan(frame.header_size);
  return frame;
}

std::size_t encode_gre_header(const GreHeader& header, std::span<std::byte> out) {
  const std::size_t size = gre_header_size(header);
  if (out.size() < size) return 0;
  ByteWriter w(out);
  std::uint16_t flags = 0;
  if (header.checksum_present) flags |= kGreFlagChecksum;
  if (header.key) flags |= kGreFlagKey;
  if (header.sequence) flags |= kGreFlagSequence;
  w.u16(flags);
  w.u16(header.protocol);
  if (header.checksum_present) w.u32(0);
  if (header.key) w.u32(*header.key);
  if (header.sequence) w.u32(*header.sequence);
  return w.offset();
}

}  // namespace advpnd::nhrp
