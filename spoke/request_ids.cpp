#include "spoke/request_ids.h"

#include "base/byte_io.h"
#include "nhrp/types.h"

namespace advpnd::spoke {
namespace {
// Offsets in the quoted packet (NHRP-WIRE.md 2, 3): ar$op.type, request ID.
constexpr std::size_t kTypeOffset = 17;
constexpr std::size_t kRequestIdOffset = 24;
}  // namespace

std::optional<QuotedRequest> quoted_request(const nhrp::Packet& error_indication) {
  if (error_indication.type != nhrp::PacketType::ErrorIndication) return std::nullopt;
  const std::span<const std::byte> quote(error_indication.payload);
  if (quote.size() < nhrp::kFixedHeaderSize + nhrp::kCommonHeaderSize) return std::nullopt;
  ByteReader type_reader(quote.subspan(kTypeOffset));
  std::uint8_t type = 0;
  if (!type_reader.read_u8(type)) return std::nullopt;
  const auto packet_type = static_cast<nhrp::PacketType>(type);
  if (!nhrp::has_common_header(packet_type)) return std::nullopt;
  ByteReader id_reader(quote.subspan(kRequestIdOffset));
  std::uint32_t id = 0;
  if (!id_reader.read_u32(id)) return std::nullopt;
  return QuotedRequest{packet_type, id};
}

}  // namespace advpnd::spoke
