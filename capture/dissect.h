// Unwrapping one captured frame down to its NHRP bytes: link layer, outer
// IPv4/IPv6, then GRE (RFC 2784/2890, protocol type 0x2001) or NHRP directly
// over IP protocol 54. Pure: no libpcap, no I/O, so tests can feed it frames
// built by hand for link types no shared capture has.
#pragma once

#include <cstddef>
#include <optional>
#include <span>

#include "capture/capture.h"

namespace advpnd::capture {

// Link-layer header types as pcap_datalink() reports them (pcap-linktype(7)).
// libpcap maps LINKTYPE_RAW (101) to the platform's DLT_RAW (12, or 14 on
// OpenBSD); files written elsewhere may still carry any of the three.
inline constexpr int kLinkNull = 0;           // BSD loopback: 4-byte host-order AF
inline constexpr int kLinkEthernet = 1;       // DLT_EN10MB
inline constexpr int kLinkRaw = 12;           // DLT_RAW (Linux and most others)
inline constexpr int kLinkRawOpenBsd = 14;    // DLT_RAW on OpenBSD
inline constexpr int kLinkRawLinktype = 101;  // LINKTYPE_RAW
inline constexpr int kLinkLoop = 108;         // OpenBSD loopback: 4-byte network-order AF
inline constexpr int kLinkLinuxSll = 113;     // Linux cooked capture v1 (16-byte header)
inline constexpr int kLinkIpv4 = 228;         // raw IPv4 only
inline constexpr int kLinkIpv6 = 229;         // raw IPv6 only
inline constexpr int kLinkLinuxSll2 = 276;    // Linux cooked capture v2 (20-byte header)

[[nodiscard]] bool link_type_supported(int link_type);

// The NHRP packet a frame carries, with `frame` left 0 for the caller to set;
// nullopt when the frame carries no NHRP (ARP, data traffic, GRE of another
// protocol type, non-first fragments). A frame that is GRE/NHRP but cannot be
// unwrapped comes back with `error` set and `nhrp` empty.
//
// `nhrp` runs to the end of the IP datagram (IPv4 total length, IPv6 payload
// length), so Ethernet padding and capture-appliance trailers are not taken
// for NHRP bytes; a frame cut short by the snapshot length keeps what was captured.
[[nodiscard]] std::optional<CapturedNhrp> dissect_frame(int link_type, std::span<const std::byte> frame);

}  // namespace advpnd::capture
