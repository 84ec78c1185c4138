#include "app/service_notify.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "base/log.h"
#include "platform/unique_fd.h"

namespace advpnd::app {
namespace {
constexpr std::string_view kLog = "systemd";

const char* environment(const char* name) {
  return std::getenv(name);  // NOLINT(concurrency-mt-unsafe): read on the loop thread only
}
}  // namespace

Result<bool, std::string> notify_service_manager(std::string_view state) {
  const char* socket_name = environment("NOTIFY_SOCKET");
  if (socket_name == nullptr || *socket_name == '\0') return false;
  const std::string_view name(socket_name);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (name.size() >= sizeof address.sun_path || (name[0] != '/' && name[0] != '@')) {
    return fail("NOTIFY_SOCKET \"" + std::string(name) + "\" is not an absolute or abstract socket path");
  }
  std::memcpy(address.sun_path, name.data(), name.size());
  if (name[0] == '@') address.sun_path[0] = '\0';  // abstract namespace: a leading NUL, no terminator
  const auto length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size());

  platform::UniqueFd fd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return fail(std::string("NOTIFY_SOCKET: socket() failed: ") + std::strerror(errno));
  const ssize_t sent =
      ::sendto(fd.get(), state.data(), state.size(), MSG_NOSIGNAL, reinterpret_cast<const sockaddr*>(&address), length);
  if (sent < 0) return fail("NOTIFY_SOCKET " + std::string(name) + ": " + std::strerror(errno));
  return true;
}

std::optional<std::chrono::microseconds> watchdog_interval() {
  const char* usec = environment("WATCHDOG_USEC");
  if (usec == nullptr) return std::nullopt;
  if (const char* pid = environment("WATCHDOG_PID"); pid != nullptr && std::atol(pid) != ::getpid()) {
    return std::nullopt;  // meant for another process (e.g. our parent)
  }
  char* end = nullptr;
  const unsigned long long value = std::strtoull(usec, &end, 10);
  if (end == usec || *end != '\0' || value == 0) return std::nullopt;
  return std::chrono::microseconds(value);
}

ServiceNotifier::ServiceNotifier(TimerFactory& timers)
    : watchdog_(timers.make_timer([this] { ping(); })), interval_(watchdog_interval()) {}

ServiceNotifier::~ServiceNotifier() {
  watchdog_->cancel();
  (void)notify_service_manager("STOPPING=1");
}

void ServiceNotifier::ready(const std::string& status) {
  auto sent = notify_service_manager("READY=1\nSTATUS=" + status);
  if (!sent) {
    log::warning(kLog, sent.error());
    return;
  }
  if (!*sent) return;  // not under systemd
  log::info(kLog, interval_ ? "ready; watchdog every " + std::to_string(interval_->count() / 2000) + " ms"
                            : std::string("ready"));
  ping();
}

void ServiceNotifier::ping() {
  if (!interval_) return;
  if (auto sent = notify_service_manager("WATCHDOG=1"); !sent) log::warning(kLog, sent.error());
  // Half the interval, as sd_watchdog_enabled(3) recommends.
  watchdog_->arm(std::chrono::duration_cast<Duration>(*interval_ / 2));
}

}  // namespace advpnd::app
