// Which control socket advpnctl talks to, so that an operator on a router
// with one daemon never has to type -s:
//
//   1. -s SOCKET, when given;
//   2. else $ADVPNCTL_SOCKET, when set and not empty;
//   3. else the default sockets (hub, spoke) that exist: exactly one is
//      used; none or both is an error that says what to do.
#pragma once

#include <string>
#include <vector>

#include "base/result.h"

namespace advpnd::app {

inline constexpr const char* kSocketVariable = "ADVPNCTL_SOCKET";

// `flag`: the -s value (empty when absent); `variable`: getenv(kSocketVariable)
// (may be null); `defaults`: the paths to look for, in the order named in messages.
[[nodiscard]] Result<std::string, std::string> choose_control_socket(const std::string& flag, const char* variable,
                                                                     const std::vector<std::string>& defaults);

}  // namespace advpnd::app
