#include "routing/netlink_socket.h"

#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace advpnd::routing {
namespace {

// MNL_SOCKET_BUFFER_SIZE is 8 KiB at most; a dump datagram of the kernel
// fills up to one page (or 32 KiB with large pages): 32 KiB fits either.
constexpr std::size_t kReceiveBufferSize = 32 * 1024;

int call_handler(const nlmsghdr* message, void* data) {
  (*static_cast<const NetlinkSocket::MessageHandler*>(data))(*message);
  return MNL_CB_OK;
}

}  // namespace

void NetlinkSocket::Closer::operator()(mnl_socket* socket) const { mnl_socket_close(socket); }

NetlinkSocket::NetlinkSocket(mnl_socket* socket) : socket_(socket), buffer_(kReceiveBufferSize) {}

Result<NetlinkSocket, std::string> NetlinkSocket::open(unsigned groups, bool nonblocking) {
  const int flags = SOCK_CLOEXEC | (nonblocking ? SOCK_NONBLOCK : 0);
  mnl_socket* socket = mnl_socket_open2(NETLINK_ROUTE, flags);
  if (socket == nullptr) return fail(std::string("netlink socket: ") + std::strerror(errno));
  NetlinkSocket owned(socket);
  if (mnl_socket_bind(socket, groups, MNL_SOCKET_AUTOPID) < 0) {
    return fail(std::string("netlink bind: ") + std::strerror(errno));
  }
  return owned;
}

int NetlinkSocket::fd() const { return mnl_socket_get_fd(socket_.get()); }

void NetlinkSocket::set_receive_buffer(int bytes) {
  // SO_RCVBUFFORCE lifts net.core.rmem_max for CAP_NET_ADMIN; otherwise the
  // kernel caps SO_RCVBUF at rmem_max.
  if (::setsockopt(fd(), SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof bytes) != 0) {
    (void)::setsockopt(fd(), SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes);
  }
}

Status<std::string> NetlinkSocket::transact(std::span<const std::byte> request, std::uint32_t sequence,
                                            const MessageHandler& on_message) {
  if (mnl_socket_sendto(socket_.get(), request.data(), request.size()) < 0) {
    return fail(std::string("netlink send: ") + std::strerror(errno));
  }
  const unsigned portid = mnl_socket_get_portid(socket_.get());
  for (;;) {
    const ssize_t received = mnl_socket_recvfrom(socket_.get(), buffer_.data(), buffer_.size());
    if (received < 0) return fail(std::string("netlink receive: ") + std::strerror(errno));
    // mnl_cb_run checks sequence and port, stops at NLMSG_DONE (0), turns a
    // negative NLMSG_ERROR into -1 with errno set, and an ACK into 0.
    const int status = mnl_cb_run(buffer_.data(), static_cast<std::size_t>(received), sequence, portid, call_handler,
                                  const_cast<MessageHandler*>(&on_message));  // NOLINT: libmnl takes void*
    if (status < 0) return fail(std::string("netlink: ") + std::strerror(errno));
    if (status == MNL_CB_STOP) return {};
  }
}

NetlinkSocket::ReceiveStatus NetlinkSocket::receive(const MessageHandler& on_message, std::string& error) {
  const ssize_t received = mnl_socket_recvfrom(socket_.get(), buffer_.data(), buffer_.size());
  if (received < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return ReceiveStatus::Empty;
    if (errno == ENOBUFS) return ReceiveStatus::Overrun;
    error = std::string("netlink receive: ") + std::strerror(errno);
    return ReceiveStatus::Failed;
  }
  // Events carry sequence 0 and port 0: mnl_cb_run accepts them as such.
  if (mnl_cb_run(buffer_.data(), static_cast<std::size_t>(received), 0, 0, call_handler,
                 const_cast<MessageHandler*>(&on_message)) < 0) {  // NOLINT: libmnl takes void*
    error = std::string("netlink event: ") + std::strerror(errno);
    return ReceiveStatus::Failed;
  }
  return ReceiveStatus::Received;
}

}  // namespace advpnd::routing
