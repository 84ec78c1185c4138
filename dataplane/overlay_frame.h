// What both dataplanes do first with a GRE frame from the NBMA side: it must
// carry IPv4 (GRE protocol 0x0800) and a datagram whose header parses; only
// the header's total length counts (bytes after it are not the datagram's).
#pragma once

#include <span>

#include "base/nbma_transport.h"
#include "base/result.h"
#include "dataplane/dataplane_stats.h"
#include "dataplane/ipv4_packet.h"
#include "nhrp/types.h"

namespace advpnd::dataplane {

struct OverlayDatagram {
  InnerIpv4 header;
  std::span<const std::byte> bytes;  // exactly header.total_length bytes
};

// Why a packet whose IPv4 header does not parse is dropped.
[[nodiscard]] inline DropReason drop_reason(InnerIpv4Error error) {
  return error == InnerIpv4Error::NotIpv4 ? DropReason::NotIpv4 : DropReason::Malformed;
}

// The datagram in `frame`, or why it is dropped.
[[nodiscard]] inline Result<OverlayDatagram, DropReason> overlay_datagram(const NbmaFrame& frame) {
  if (frame.gre_protocol != nhrp::kGreProtocolIpv4) return fail(DropReason::NotIpv4);
  auto parsed = parse_inner_ipv4(frame.payload);
  if (!parsed) return fail(drop_reason(parsed.error()));
  return OverlayDatagram{*parsed, frame.payload.first(parsed->total_length)};
}

}  // namespace advpnd::dataplane
