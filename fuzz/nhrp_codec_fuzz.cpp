// libFuzzer target for the NHRP codec: decoding never crashes or reads out
// of bounds, and decode -> encode -> decode is stable (the second decode
// gives the same Packet, and re-encoding gives the same bytes).
#include <cstdint>
#include <cstdlib>
#include <span>

#include "nhrp/builders.h"
#include "nhrp/codec.h"
#include "nhrp/gre.h"

using advpnd::nhrp::DecodeOptions;

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

void round_trip(std::span<const std::byte> bytes) {
  auto first = advpnd::nhrp::decode(bytes, DecodeOptions{.verify_checksum = false});
  if (!first) {
    // Every refusal names a field inside the buffer.
    check(!first.error().field.empty());
    check(first.error().offset <= bytes.size());
    (void)first.error().message();
    return;
  }
  auto encoded = advpnd::nhrp::encode(*first);
  check(encoded.ok());
  check(encoded->size() == advpnd::nhrp::encoded_size(*first));
  // A fresh checksum was written: the strict decoder must accept it.
  auto second = advpnd::nhrp::decode(*encoded);
  check(second.ok());
  check(*second == *first);
  auto again = advpnd::nhrp::encode(*second);
  check(again.ok() && *again == *encoded);
  if (first->type == advpnd::nhrp::PacketType::TrafficIndication) {
    (void)advpnd::nhrp::inner_addresses(first->payload);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto bytes = std::as_bytes(std::span<const std::uint8_t>(data, size));
  round_trip(bytes);
  // The same bytes as a GRE frame: the NHRP inside it goes through the codec too.
  if (auto gre = advpnd::nhrp::decode_gre(bytes); gre.ok()) {
    check(gre->header_size <= size);
    round_trip(gre->payload);
  }
  return 0;
}
