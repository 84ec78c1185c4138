#include "dataplane/tun_device.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>

#include "base/log.h"
#include "platform/guarded_call.h"

namespace advpnd::dataplane {
namespace {

constexpr const char* kLog = "tun";

std::string errno_text(int error) { return std::strerror(error); }

ifreq request_for(const std::string& name) {
  ifreq request{};
  std::memcpy(request.ifr_name, name.data(), std::min<std::size_t>(name.size(), IFNAMSIZ - 1));
  return request;
}

// An IPv4 sockaddr written into the request's address union (no cast over
// the union: the bytes are copied in).
void put_address(ifreq& request, std::uint32_t host_order) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(host_order);
  static_assert(sizeof address <= sizeof request.ifr_addr);
  std::memcpy(&request.ifr_addr, &address, sizeof address);
}

// Runs one SIOCSIF* ioctl on the control socket; the error names the device and the step.
Status<std::string> set(int control, unsigned long op, ifreq& request, const std::string& name,
                        const std::string& what) {
  if (::ioctl(control, op, &request) != 0) {
    const int error = errno;
    std::string message = "TUN device " + name + ": " + what + " failed: " + errno_text(error);
    if (error == EPERM) message += " (needs CAP_NET_ADMIN: run as root)";
    return fail(std::move(message));
  }
  return {};
}

// Before the device comes up, so not even one IPv6 packet is sent into it.
Status<std::string> disable_ipv6(const std::string& name) {
  const std::string path = "/proc/sys/net/ipv6/conf/" + name + "/disable_ipv6";
  platform::UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd.valid()) {
    if (errno == ENOENT) return {};  // no IPv6 in this kernel
    return fail("TUN device " + name + ": open " + path + ": " + errno_text(errno));
  }
  if (::write(fd.get(), "1\n", 2) != 2)
    return fail("TUN device " + name + ": write " + path + ": " + errno_text(errno));
  return {};
}

Status<std::string> configure(const TunConfig& config, const std::string& name) {
  if (config.disable_ipv6) {
    if (auto done = disable_ipv6(name); !done) return done;
  }
  platform::UniqueFd control(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!control.valid()) return fail("TUN device " + name + ": control socket: " + errno_text(errno));
  if (!config.address.empty()) {
    if (config.address.family() != AddressFamily::Ipv4 || config.prefix_length > 32) {
      return fail("TUN device " + name + ": address " + config.address.to_string() + "/" +
                  std::to_string(config.prefix_length) + " is not an IPv4 prefix");
    }
    ifreq request = request_for(name);
    put_address(request, config.address.v4_value());
    if (auto done = set(control.get(), SIOCSIFADDR, request, name, "setting address " + config.address.to_string());
        !done) {
      return done;
    }
    const std::uint32_t mask = config.prefix_length == 0 ? 0 : ~std::uint32_t{0} << (32 - config.prefix_length);
    request = request_for(name);
    put_address(request, mask);
    if (auto done = set(control.get(), SIOCSIFNETMASK, request, name,
                        "setting prefix length " + std::to_string(config.prefix_length));
        !done) {
      return done;
    }
  }
  ifreq request = request_for(name);
  request.ifr_mtu = config.mtu;
  if (auto done = set(control.get(), SIOCSIFMTU, request, name, "setting MTU " + std::to_string(config.mtu)); !done) {
    return done;
  }
  if (config.tx_queue_length > 0) {
    request = request_for(name);
    request.ifr_qlen = static_cast<int>(config.tx_queue_length);
    if (auto done = set(control.get(), SIOCSIFTXQLEN, request, name,
                        "setting txqueuelen " + std::to_string(config.tx_queue_length));
        !done) {
      return done;
    }
  }
  request = request_for(name);
  if (auto done = set(control.get(), SIOCGIFFLAGS, request, name, "reading flags"); !done) return done;
  request.ifr_flags = static_cast<short>(request.ifr_flags | IFF_UP);
  return set(control.get(), SIOCSIFFLAGS, request, name, "bringing it up");
}

}  // namespace

Result<std::unique_ptr<TunDevice>, std::string> TunDevice::open(platform::EventLoop& loop, TunConfig config) {
  if (config.name.size() >= IFNAMSIZ) {
    return fail("TUN device " + config.name + ": name longer than " + std::to_string(IFNAMSIZ - 1) + " bytes");
  }
  config.burst = std::clamp<std::size_t>(config.burst, 1, kMaxBurst);
  platform::UniqueFd fd(::open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC));
  if (!fd.valid()) {
    return fail("TUN device " + config.name + ": open /dev/net/tun: " + errno_text(errno));
  }
  ifreq request = request_for(config.name);
  request.ifr_flags = static_cast<short>(IFF_TUN | IFF_NO_PI);
  if (::ioctl(fd.get(), TUNSETIFF, &request) != 0) {
    const int error = errno;
    std::string message = "TUN device " + config.name + ": TUNSETIFF failed: " + errno_text(error);
    if (error == EPERM) message += " (needs CAP_NET_ADMIN: run as root)";
    if (error == EBUSY) message += " (an interface of that name exists)";
    return fail(std::move(message));
  }
  std::string name(request.ifr_name, ::strnlen(request.ifr_name, IFNAMSIZ));  // the kernel's choice if "" was asked
  if (auto configured = configure(config, name); !configured) return fail(configured.error());

  std::unique_ptr<TunDevice> device(new TunDevice(std::move(config), std::move(name), std::move(fd)));
  TunDevice* self = device.get();
  self->ifindex_ = ::if_nametoindex(self->name_.c_str());
  auto watch = loop.watch_readable(self->fd(), [self] { self->read_burst(); });
  if (!watch) return fail("TUN device " + self->name_ + ": " + watch.error());
  device->watch_ = std::move(watch).value();
  log::info(kLog, "TUN device " + device->name_ + " up" +
                      (device->config_.address.empty() ? std::string()
                                                       : ", " + device->config_.address.to_string() + "/" +
                                                             std::to_string(device->config_.prefix_length)) +
                      ", MTU " + std::to_string(device->config_.mtu));
  return device;
}

TunDevice::TunDevice(TunConfig config, std::string name, platform::UniqueFd fd)
    : config_(std::move(config)),
      name_(std::move(name)),
      fd_(std::move(fd)),
      arena_(config_.burst * kBufferSize),
      packets_(config_.burst) {}

TunDevice::~TunDevice() = default;

std::size_t TunDevice::read_burst() {
  std::size_t count = 0;
  while (count < config_.burst) {
    std::byte* buffer = arena_.data() + count * kBufferSize;
    const ssize_t got = ::read(fd_.get(), buffer, kBufferSize);
    if (got < 0) {
      const int error = errno;
      if (error == EINTR) continue;
      if (error != EAGAIN && error != EWOULDBLOCK) {
        ++read_errors_;
        if (std::has_single_bit(read_errors_)) log::error(kLog, "read from " + name_ + ": " + errno_text(error));
      }
      break;
    }
    if (got == 0) break;
    packets_[count++] = std::span<const std::byte>(buffer, static_cast<std::size_t>(got));
  }
  packets_read_ += count;
  if (count > 0 && handler_) {
    platform::guarded_call("tun burst handler", handler_, PacketBurst(packets_.data(), count));
  }
  return count;
}

Status<std::string> TunDevice::write(std::span<const std::byte> packet) {
  while (true) {
    const ssize_t done = ::write(fd_.get(), packet.data(), packet.size());
    if (done >= 0) return {};
    const int error = errno;
    if (error == EINTR) continue;
    ++write_errors_;
    return fail("write to " + name_ + ": " + errno_text(error));
  }
}

}  // namespace advpnd::dataplane
