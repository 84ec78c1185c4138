// sd_notify(3) without libsystemd: the datagram reaches a socket named by
// $NOTIFY_SOCKET (a path or an abstract name), and $WATCHDOG_USEC is read as
// sd_watchdog_enabled(3) does. The daemon's READY/WATCHDOG pings over time
// are checked on the real hub in tests/hub_system/privileges_test.cpp.
#include "app/service_notify.h"

#include <doctest/doctest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <array>
#include <cstdlib>
#include <cstring>

#include "platform/unique_fd.h"
#include "tests/support/temp_file.h"

namespace advpnd::app {
namespace {

// A datagram socket bound to `name` ("/path" or "@abstract"), as systemd's.
class NotifyListener {
 public:
  explicit NotifyListener(const std::string& name) : fd_(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) {
    REQUIRE(fd_.valid());
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::memcpy(address.sun_path, name.data(), name.size());
    if (name[0] == '@') address.sun_path[0] = '\0';
    const auto length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size());
    REQUIRE(::bind(fd_.get(), reinterpret_cast<const sockaddr*>(&address), length) == 0);
    timeval timeout{1, 0};
    ::setsockopt(fd_.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    ::setenv("NOTIFY_SOCKET", name.c_str(), 1);
  }
  ~NotifyListener() { ::unsetenv("NOTIFY_SOCKET"); }
  NotifyListener(const NotifyListener&) = delete;
  NotifyListener& operator=(const NotifyListener&) = delete;

  std::string receive() {
    std::array<char, 512> buffer{};
    const ssize_t got = ::recv(fd_.get(), buffer.data(), buffer.size(), 0);
    return got > 0 ? std::string(buffer.data(), static_cast<std::size_t>(got)) : std::string();
  }

 private:
  platform::UniqueFd fd_;
};

TEST_CASE("sd_notify: no NOTIFY_SOCKET, nothing sent and no error") {
  ::unsetenv("NOTIFY_SOCKET");
  auto sent = notify_service_manager("READY=1");
  REQUIRE(sent.ok());
  CHECK_FALSE(*sent);
}

TEST_CASE("sd_notify: the state reaches a socket at a path") {
  test::TempFile path(".notify");
  NotifyListener listener(path.path());
  auto sent = notify_service_manager("READY=1\nSTATUS=hub up");
  REQUIRE_MESSAGE(sent.ok(), (sent.ok() ? "" : sent.error()));
  CHECK(*sent);
  CHECK(listener.receive() == "READY=1\nSTATUS=hub up");
}

TEST_CASE("sd_notify: the state reaches an abstract socket (@name)") {
  NotifyListener listener("@advpnd-test-notify-" + std::to_string(::getpid()));
  REQUIRE(notify_service_manager("WATCHDOG=1").ok());
  CHECK(listener.receive() == "WATCHDOG=1");
}

TEST_CASE("sd_notify: a relative or dead socket is an error naming it") {
  ::setenv("NOTIFY_SOCKET", "relative/socket", 1);
  auto relative = notify_service_manager("READY=1");
  REQUIRE_FALSE(relative.ok());
  CHECK(relative.error().find("relative/socket") != std::string::npos);
  test::TempFile nobody(".notify");
  ::setenv("NOTIFY_SOCKET", nobody.path().c_str(), 1);
  auto dead = notify_service_manager("READY=1");
  REQUIRE_FALSE(dead.ok());
  CHECK(dead.error() == "NOTIFY_SOCKET " + nobody.path() + ": No such file or directory");
  ::unsetenv("NOTIFY_SOCKET");
}

TEST_CASE("watchdog: WATCHDOG_USEC, for us or for nobody in particular") {
  ::unsetenv("WATCHDOG_PID");
  ::unsetenv("WATCHDOG_USEC");
  CHECK_FALSE(watchdog_interval().has_value());
  ::setenv("WATCHDOG_USEC", "30000000", 1);
  CHECK(watchdog_interval() == std::chrono::seconds(30));
  ::setenv("WATCHDOG_PID", std::to_string(::getpid()).c_str(), 1);
  CHECK(watchdog_interval() == std::chrono::seconds(30));
  ::setenv("WATCHDOG_PID", std::to_string(::getpid() + 1).c_str(), 1);  // meant for another process
  CHECK_FALSE(watchdog_interval().has_value());
  ::unsetenv("WATCHDOG_PID");
  for (const char* bad : {"", "0", "abc", "12x"}) {
    ::setenv("WATCHDOG_USEC", bad, 1);
    CHECK_FALSE(watchdog_interval().has_value());
  }
  ::unsetenv("WATCHDOG_USEC");
}

}  // namespace
}  // namespace advpnd::app
