// `advpnctl debug ...`, the same on both daemons: debug logging switched
// per category at run time (base/log.h "Categories"), without a restart and
// without touching the configured log level.
//
//   debug                     the categories, and which are at debug
//   debug CATEGORY on|off     one category to debug / back to the log level
//   debug all on|off          every category / all back to the log level
//
// A category is the component a log line names ("nhs", "shortcut", ...).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "app/control_server.h"

namespace advpnd::app {

// Every component that logs in a daemon (each file's kLog).
inline constexpr std::string_view kLogCategories[] = {
    "control",  "dataplane", "event-loop", "hub", "ipsec-none", "ipsec-strongswan", "nhc", "nhs", "raw-gre",
    "redirect", "shortcut",  "spoke",      "tun", "vici",
};

// `args`: the words after "debug".
[[nodiscard]] ControlReply debug_control(const std::vector<std::string>& args, bool json);

}  // namespace advpnd::app
