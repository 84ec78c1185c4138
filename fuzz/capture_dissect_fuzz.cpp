// libFuzzer target for the capture path of `advpnd decode`: any frame of any
// supported link type goes through capture::dissect_frame (link layer, IPv4
// options, IPv6 extension headers, GRE) and, when it holds NHRP, through
// app::decode_line (codec + JSON). Nothing may crash or read out of bounds,
// and every NHRP byte handed on must lie inside the frame.
//
// Input: one byte choosing the link type (index into kLinkTypes: 1 Ethernet,
// 2 raw IP, ...), then the frame. Seeds: fuzz/corpus/capture (the frames of
// deploy/samples/dmvpn-phase3.pcap).
#include <array>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "app/decode_command.h"
#include "capture/dissect.h"

namespace {

constexpr std::array<int, 10> kLinkTypes = {advpnd::capture::kLinkNull,        advpnd::capture::kLinkEthernet,
                                            advpnd::capture::kLinkRaw,         advpnd::capture::kLinkRawOpenBsd,
                                            advpnd::capture::kLinkRawLinktype, advpnd::capture::kLinkLoop,
                                            advpnd::capture::kLinkLinuxSll,    advpnd::capture::kLinkIpv4,
                                            advpnd::capture::kLinkIpv6,        advpnd::capture::kLinkLinuxSll2};

void check(bool condition) {
  if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const int link_type = kLinkTypes[data[0] % kLinkTypes.size()];
  const auto frame = std::as_bytes(std::span<const std::uint8_t>(data + 1, size - 1));
  auto captured = advpnd::capture::dissect_frame(link_type, frame);
  if (!captured) return 0;
  check(captured->nhrp.size() <= frame.size());
  check(captured->error.empty() || captured->nhrp.empty());
  const auto line = advpnd::app::decode_line(*captured);
  check(!line.json.empty() && line.json.front() == '{' && line.json.back() == '}');
  return 0;
}
