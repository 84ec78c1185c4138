#include "tests/platform/private_netns.h"

#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "platform/unique_fd.h"

namespace advpnd::test {
namespace {

bool bring_loopback_up(std::string& error) {
  platform::UniqueFd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) {
    error = std::string("socket: ") + std::strerror(errno);
    return false;
  }
  ifreq request{};
  std::strncpy(request.ifr_name, "lo", IFNAMSIZ - 1);
  if (::ioctl(fd.get(), SIOCGIFFLAGS, &request) != 0) {
    error = std::string("SIOCGIFFLAGS lo: ") + std::strerror(errno);
    return false;
  }
  request.ifr_flags = static_cast<short>(request.ifr_flags | IFF_UP);
  if (::ioctl(fd.get(), SIOCSIFFLAGS, &request) != 0) {
    error = std::string("SIOCSIFFLAGS lo up: ") + std::strerror(errno);
    return false;
  }
  return true;  // the kernel adds 127.0.0.1/8 to lo when it comes up
}

NetnsResult enter() {
  if (::geteuid() != 0) {
    return {false, false,
            "raw GRE tests need root (CAP_NET_RAW for the raw socket, CAP_SYS_ADMIN for a private network "
            "namespace): run them as root, as CI does"};
  }
  if (::unshare(CLONE_NEWNET) != 0) {
    return {true, false,
            std::string("unshare(CLONE_NEWNET) refused (") + std::strerror(errno) +
                "): running on the host loopback, 127.0.0.0/8 only"};
  }
  std::string error;
  if (!bring_loopback_up(error)) return {false, true, "private network namespace: " + error};
  return {true, true, "running in a private network namespace"};
}

}  // namespace

NetnsResult enter_private_netns() {
  static const NetnsResult result = enter();
  return result;
}

NetnsResult enter_fresh_private_netns() { return enter(); }

}  // namespace advpnd::test
