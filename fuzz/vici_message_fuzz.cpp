// libFuzzer target for the VICI codec (vici/message.h): decoding never
// crashes or reads out of bounds, every refusal names a field inside the
// input, and decode -> encode -> decode is stable. The encoding is
// canonical, so a packet that decodes re-encodes to exactly the input.
// The input is one packet (the bytes after a frame's length prefix); the
// same bytes are also fed as a message and as a stream of frames.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "vici/message.h"

namespace {

using namespace advpnd::vici;

void check(bool condition) {
  if (!condition) std::abort();
}

void check_error(const DecodeError& error, std::size_t size) {
  check(!error.field.empty());
  check(error.offset <= size);
  check(!error.message().empty());
}

void packet_round_trip(std::span<const std::byte> bytes) {
  auto first = decode_packet(bytes);
  if (!first) return check_error(first.error(), bytes.size());
  auto frame = encode_frame(*first);
  if (!frame) {
    check(bytes.size() > kMaxPacketSize);  // the only way a decoded packet cannot be sent
    return;
  }
  check(frame->size() == bytes.size() + kLengthPrefixSize);
  check(std::equal(bytes.begin(), bytes.end(), frame->begin() + kLengthPrefixSize));
  auto second = decode_frame(*frame);
  check(second.ok() && second->has_value());
  check((*second)->size == frame->size());
  check((*second)->packet == *first);
  (void)to_text(first->message);
}

void message_round_trip(std::span<const std::byte> bytes) {
  auto message = decode_message(bytes);
  if (!message) return check_error(message.error(), bytes.size());
  auto encoded = encode_message(*message);
  check(encoded.ok() || bytes.size() > kMaxPacketSize);
  if (encoded.ok()) check(std::equal(bytes.begin(), bytes.end(), encoded->begin(), encoded->end()));
}

void stream(std::span<const std::byte> bytes) {
  while (!bytes.empty()) {
    auto frame = decode_frame(bytes);
    if (!frame) return check_error(frame.error(), bytes.size());
    if (!frame->has_value()) return;
    check((*frame)->size <= bytes.size() && (*frame)->size > kLengthPrefixSize);
    bytes = bytes.subspan((*frame)->size);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto bytes = std::as_bytes(std::span<const std::uint8_t>(data, size));
  packet_round_trip(bytes);
  message_round_trip(bytes);
  stream(bytes);
  return 0;
}
