// An address and a TCP port to listen on, as a config names it:
// `metrics_listen = "127.0.0.1:9477"` (IPv6: "[::1]:9477").
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/ip_address.h"
#include "base/result.h"

namespace advpnd::app {

struct ListenAddress {
  IpAddress address;
  std::uint16_t port = 0;
  [[nodiscard]] std::string to_string() const;
  friend bool operator==(const ListenAddress&, const ListenAddress&) = default;
};

// "IPV4:PORT" or "[IPV6]:PORT", port 1..65535; the error says which part is wrong.
[[nodiscard]] Result<ListenAddress, std::string> parse_listen_address(std::string_view text);

}  // namespace advpnd::app
