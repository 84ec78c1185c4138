// The exception boundary of every event-loop callback: errors are values in
// advpnd (STYLE.md), and an exception that escaped into libevent's C frames
// would terminate the daemon. A callback that throws anyway is logged (to
// stderr by default, base/log.h) with the name of the hook, and the loop
// carries on.
#pragma once

#include <exception>
#include <string>
#include <utility>

#include "base/log.h"

namespace advpnd::platform {

// Calls fn(args...); returns false (after logging) if it threw.
template <class Fn, class... Args>
bool guarded_call(const char* where, Fn& fn, Args&&... args) noexcept {
  try {
    fn(std::forward<Args>(args)...);
    return true;
  } catch (const std::exception& e) {
    log::error(where, std::string("callback threw: ") + e.what());
  } catch (...) {
    log::error(where, "callback threw a non-std exception");
  }
  return false;
}

}  // namespace advpnd::platform
