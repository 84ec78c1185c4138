// Reading the Cisco NAT Address extension (type 9, NHRP-WIRE.md 7.6): a
// list of CIEs, each giving the NBMA address that really reaches a
// protocol address (the post-NAT one, as an NHS saw it).
#pragma once

#include <algorithm>

#include "base/ip_address.h"
#include "nhrp/packet.h"

namespace advpnd::spoke {

// The NAT CIE that names `protocol`, or nullptr.
[[nodiscard]] inline const nhrp::Cie* nat_cie_for(const nhrp::Packet& packet, const IpAddress& protocol) {
  const nhrp::Extension* nat = packet.find_extension(nhrp::ExtensionType::CiscoNatAddress);
  if (nat == nullptr) return nullptr;
  auto it = std::find_if(nat->cies.begin(), nat->cies.end(),
                         [&](const nhrp::Cie& cie) { return cie.protocol == protocol && !cie.nbma.empty(); });
  return it == nat->cies.end() ? nullptr : &*it;
}

}  // namespace advpnd::spoke
