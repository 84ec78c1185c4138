#include "app/control_socket_choice.h"

#include <sys/stat.h>

namespace advpnd::app {
namespace {

bool is_socket(const std::string& path) {
  struct stat info {};
  return ::stat(path.c_str(), &info) == 0 && S_ISSOCK(info.st_mode);
}

// "a, b or c" (last = " or ") or "a, b and c".
std::string joined(const std::vector<std::string>& paths, const char* last) {
  std::string text;
  for (std::size_t i = 0; i < paths.size(); ++i) {
    if (i != 0) text += i + 1 == paths.size() ? last : ", ";
    text += paths[i];
  }
  return text;
}

}  // namespace

Result<std::string, std::string> choose_control_socket(const std::string& flag, const char* variable,
                                                       const std::vector<std::string>& defaults) {
  if (!flag.empty()) return flag;
  if (variable != nullptr && *variable != '\0') return std::string(variable);
  std::vector<std::string> found;
  for (const std::string& path : defaults) {
    if (is_socket(path)) found.push_back(path);
  }
  if (found.size() == 1) return found.front();
  if (found.empty()) {
    return fail("no advpnd control socket at " + joined(defaults, " or ") + ": is the daemon running? (-s SOCKET or " +
                kSocketVariable + " for another path)");
  }
  return fail("several daemons run here (" + joined(found, " and ") + "): choose one with -s SOCKET or " +
              kSocketVariable);
}

}  // namespace advpnd::app
