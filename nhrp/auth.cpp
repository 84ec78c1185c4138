#include "nhrp/auth.h"

#include <algorithm>
#include <cstring>

namespace advpnd::nhrp {
namespace {
constexpr std::size_t kSpiFieldSize = 4;  // reserved (2) + SPI (2), RFC 2332 5.3.4.1
}

Extension make_cisco_auth(std::string_view password) {
  Extension ext;
  ext.raw_type = kExtensionCompulsory | static_cast<std::uint16_t>(ExtensionType::Authentication);
  ext.value.resize(kSpiFieldSize + password.size());
  ext.value[3] = std::byte{kCiscoAuthSpi};
  std::memcpy(ext.value.data() + kSpiFieldSize, password.data(), password.size());
  return ext;
}

std::optional<std::span<const std::byte>> cisco_auth_password(const Extension& ext) {
  if (ext.type() != ExtensionType::Authentication || ext.value.size() < kSpiFieldSize) {
    return std::nullopt;
  }
  const bool cisco_spi = ext.value[0] == std::byte{0} && ext.value[1] == std::byte{0} &&
                         ext.value[2] == std::byte{0} && ext.value[3] == std::byte{kCiscoAuthSpi};
  if (!cisco_spi) {
    return std::nullopt;
  }
  return std::span<const std::byte>(ext.value).subspan(kSpiFieldSize);
}

std::string_view to_string(AuthCheck check) {
  switch (check) {
    case AuthCheck::Ok: return "ok";
    case AuthCheck::Missing: return "missing";
    case AuthCheck::Malformed: return "malformed";
    case AuthCheck::Mismatch: return "mismatch";
  }
  return "unknown";
}

AuthCheck check_cisco_auth(const Packet& packet, std::string_view password) {
  const Extension* ext = packet.find_extension(ExtensionType::Authentication);
  if (ext == nullptr) {
    return AuthCheck::Missing;
  }
  const auto received = cisco_auth_password(*ext);
  if (!received) {
    return AuthCheck::Malformed;
  }
  const auto expected = std::as_bytes(std::span<const char>(password.data(), password.size()));
  return std::equal(received->begin(), received->end(), expected.begin(), expected.end()) ? AuthCheck::Ok
                                                                                          : AuthCheck::Mismatch;
}

}  // namespace advpnd::nhrp
