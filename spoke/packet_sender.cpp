#include "spoke/packet_sender.h"

#include "base/log.h"
#include "nhrp/codec.h"

namespace advpnd::spoke {
namespace {
constexpr std::string_view kLog = "nhc";
}

bool PacketSender::send(const IpAddress& destination, const nhrp::Packet& packet) {
  buffer_.resize(nhrp::encoded_size(packet));
  auto written = nhrp::encode(packet, buffer_);
  if (!written) {
    stats_.count_error("encode: " + written.error().message());
    log::error(kLog, "cannot encode " + std::string(nhrp::to_string(packet.type)) + " for " + destination.to_string() +
                         ": " + written.error().message());
    return false;
  }
  auto sent = transport_.send(destination, nhrp::kGreProtocolNhrp, std::span<const std::byte>(buffer_.data(), *written),
                              kNhrpTos);
  if (!sent) {
    stats_.count_error("send failed");
    log::debug(kLog, "send of " + std::string(nhrp::to_string(packet.type)) + " to " + destination.to_string() +
                         " failed: " + sent.error());
    return false;
  }
  stats_.count_sent(packet.type);
  return true;
}

}  // namespace advpnd::spoke
