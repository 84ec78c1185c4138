// systemd's service notification protocol (sd_notify(3)), for Type=notify
// units: "READY=1" once start-up is done, "WATCHDOG=1" at half the unit's
// WatchdogSec=, "STOPPING=1" on the way out.
//
// Implemented here rather than linking libsystemd: the protocol is one
// AF_UNIX datagram of "KEY=VALUE" lines to the socket named in
// $NOTIFY_SOCKET (a path, or "@name" in the abstract namespace), documented
// as a stable interface in sd_notify(3) "NOTES". Without $NOTIFY_SOCKET
// (not started by systemd) every call is a no-op.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "base/clock.h"
#include "base/result.h"

namespace advpnd::app {

// Sends `state` ("READY=1"); true when sent, false when $NOTIFY_SOCKET is
// unset; an error (naming the socket) when sending failed.
[[nodiscard]] Result<bool, std::string> notify_service_manager(std::string_view state);

// $WATCHDOG_USEC when it is set for this process ($WATCHDOG_PID absent or
// ours), as sd_watchdog_enabled(3) reads it; nullopt otherwise.
[[nodiscard]] std::optional<std::chrono::microseconds> watchdog_interval();

// Tells the service manager the daemon is ready, then keeps its watchdog fed
// from the event loop: a loop that hangs stops the pings and systemd
// restarts the daemon, which is the point. Destruction sends STOPPING=1.
class ServiceNotifier {
 public:
  explicit ServiceNotifier(TimerFactory& timers);
  ServiceNotifier(const ServiceNotifier&) = delete;
  ServiceNotifier& operator=(const ServiceNotifier&) = delete;
  ~ServiceNotifier();

  // READY=1 and the first watchdog timer; STATUS= carries `status`.
  void ready(const std::string& status);

 private:
  void ping();

  std::unique_ptr<Timer> watchdog_;
  std::optional<std::chrono::microseconds> interval_;
};

}  // namespace advpnd::app
