// An overlay prefix this spoke serves (its LAN behind the tunnel, e.g.
// 192.168.2.0/24): answered by the responder and, when configured,
// registered at the NHS so that it forwards resolutions for it here.
#pragma once

#include <cstdint>
#include <string>

#include "base/ip_address.h"

namespace advpnd::spoke {

struct LocalPrefix {
  IpAddress address;  // any address inside; compared masked
  std::uint8_t length = 0;

  [[nodiscard]] bool contains(const IpAddress& other) const {
    return length <= address.bit_width() && address.shares_prefix(other, length);
  }
  [[nodiscard]] IpAddress network() const { return address.masked(length); }
  [[nodiscard]] std::string to_string() const { return network().to_string() + "/" + std::to_string(length); }
};

}  // namespace advpnd::spoke
