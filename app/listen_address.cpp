#include "app/listen_address.h"

#include <charconv>

namespace advpnd::app {

std::string ListenAddress::to_string() const {
  const std::string host =
      address.family() == AddressFamily::Ipv6 ? "[" + address.to_string() + "]" : address.to_string();
  return host + ":" + std::to_string(port);
}

Result<ListenAddress, std::string> parse_listen_address(std::string_view text) {
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos) return fail(std::string("has no :PORT (e.g. 127.0.0.1:9477)"));
  std::string_view host = text.substr(0, colon);
  const std::string_view port_text = text.substr(colon + 1);
  const bool bracketed = host.size() >= 2 && host.front() == '[' && host.back() == ']';
  if (bracketed) host = host.substr(1, host.size() - 2);
  const auto address = IpAddress::parse(host);
  if (!address || (address->family() == AddressFamily::Ipv6) != bracketed) {
    return fail("\"" + std::string(host) + "\" is not an IPv4 address or a [bracketed] IPv6 address");
  }
  unsigned port = 0;
  const char* end = port_text.data() + port_text.size();
  const auto [stop, problem] = std::from_chars(port_text.data(), end, port);
  if (port_text.empty() || problem != std::errc{} || stop != end || port == 0 || port > 65535) {
    return fail("\"" + std::string(port_text) + "\" is not a port (1..65535)");
  }
  return ListenAddress{*address, static_cast<std::uint16_t>(port)};
}

}  // namespace advpnd::app
