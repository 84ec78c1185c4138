// Error text for a file operation: "<path>: <what went wrong>".
#pragma once

#include <string>

namespace advpnd::capture {

// libpcap's open errors often start with the path already ("x.pcap: No such
// file or directory"); the path is prefixed only when they do not.
[[nodiscard]] inline std::string path_error(const std::string& path, const std::string& message) {
  if (message.rfind(path, 0) == 0) return message;
  return path + ": " + message;
}

}  // namespace advpnd::capture
