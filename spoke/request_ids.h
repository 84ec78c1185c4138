// Request IDs (RFC 2332 5.2.0.1, NHRP-WIRE.md 3.2): one counter for the whole
// NHC, as FRR keeps, starting at 1 and skipping 0 when it wraps, so a reply
// or an Error Indication names exactly one outstanding request of one part
// (registration, resolution or purge) and the facade can route it by ID.
#pragma once

#include <cstdint>
#include <optional>

#include "nhrp/packet.h"

namespace advpnd::spoke {

class RequestIds {
 public:
  explicit RequestIds(std::uint32_t first = 1) : next_(first == 0 ? 1 : first) {}
  [[nodiscard]] std::uint32_t next() {
    const std::uint32_t id = next_++;
    if (next_ == 0) next_ = 1;
    return id;
  }

 private:
  std::uint32_t next_;
};

// What an Error Indication says about the packet it quotes (RFC 2332 5.2.7:
// the offending packet follows the indication's addresses). Read straight
// from the quoted bytes, which FRR cuts after the addresses, so the quote
// need not decode as a whole packet.
struct QuotedRequest {
  nhrp::PacketType type = nhrp::PacketType::ResolutionRequest;
  std::uint32_t request_id = 0;
};
// The quoted packet's type and request ID, or nullopt when the quote is
// shorter than the fixed and common headers or is not of types 1-6.
[[nodiscard]] std::optional<QuotedRequest> quoted_request(const nhrp::Packet& error_indication);

}  // namespace advpnd::spoke
