// Reading NHRP packets out of pcap/pcapng files (through libpcap), and
// writing NHRP-in-GRE packets to pcap, for the decode tool and for tests
// that hand our packets to Wireshark.
//
// Link types read: Ethernet (with 802.1Q/802.1ad tags), Linux cooked (SLL,
// SLL2), raw IP, null/loopback. Inside IPv4 (options skipped) or IPv6:
// GRE (protocol 47) with protocol type 0x2001, and NHRP directly over IP
// (protocol 54, as Wireshark decodes it). A cooked capture on the GRE device
// itself (protocol 0x2001, GRE already removed by the kernel) is read too.
// Non-first IP fragments are skipped. See capture/dissect.h.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/ip_address.h"
#include "base/result.h"

namespace advpnd::capture {

struct CapturedNhrp {
  std::size_t frame = 0;  // 1-based frame number in the file
  IpAddress outer_source;
  IpAddress outer_destination;
  bool in_gre = true;  // false: NHRP directly over IP (protocol 54)
  std::optional<std::uint32_t> gre_key;
  // From the first NHRP byte to the end of the IP datagram (Ethernet padding
  // and trailers excluded), or of the captured data when the snapshot length cut it.
  std::vector<std::byte> nhrp;
  // Non-empty when the frame is GRE/NHRP but could not be unwrapped
  // (truncated IP or GRE header, first fragment of a fragmented datagram);
  // `nhrp` is then empty.
  std::string error;
};

// Every NHRP packet in the file, in frame order. Frames that carry no NHRP
// are skipped. Fails only when the file cannot be opened or read (including
// a truncated last record), with a message that names the file.
[[nodiscard]] Result<std::vector<CapturedNhrp>, std::string> read_nhrp_capture(const std::string& path);

// One NHRP packet to write: wrapped in IPv4 + GRE (+ key) + Ethernet, the
// way Cisco sends it (TOS 0xC0, TTL 255). IPv6 outer addresses give an
// IPv6 header (traffic class 0xC0, hop limit 255) instead.
struct OutgoingNhrp {
  IpAddress outer_source;  // IPv4 (or IPv6), same family as the destination
  IpAddress outer_destination;
  std::optional<std::uint32_t> gre_key;
  std::vector<std::byte> nhrp;
};

// Writes an Ethernet pcap file with one frame per packet. The output is a
// pure function of `packets` (fixed timestamps 10 ms apart, IP IDs 1, 2, ...).
[[nodiscard]] Status<std::string> write_nhrp_pcap(const std::string& path, std::span<const OutgoingNhrp> packets);

}  // namespace advpnd::capture
