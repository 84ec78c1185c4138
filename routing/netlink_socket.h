// NetlinkSocket: one rtnetlink socket (libmnl), owned. Requests are
// synchronous (send, then read until the dump ends or the ACK arrives);
// subscriptions are read by the owner when the fd is readable.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "base/result.h"

struct mnl_socket;
struct nlmsghdr;

namespace advpnd::routing {

class NetlinkSocket {
 public:
  // Called for each message of a reply or of a received datagram.
  using MessageHandler = std::function<void(const nlmsghdr&)>;

  // `groups`: RTMGRP_* multicast groups to join (0: requests only).
  // Non-blocking sockets are for subscriptions read from the event loop.
  static Result<NetlinkSocket, std::string> open(unsigned groups, bool nonblocking);

  [[nodiscard]] int fd() const;
  // SO_RCVBUF (SO_RCVBUFFORCE when privileged): how many events may queue
  // while the loop is busy before the kernel reports ENOBUFS.
  void set_receive_buffer(int bytes);

  // Sends `request` (its nlmsg_seq must be `sequence`) and reads the answer
  // to its end: every message of a dump, or the ACK. A negative ACK is an
  // error naming the errno.
  Status<std::string> transact(std::span<const std::byte> request, std::uint32_t sequence,
                               const MessageHandler& on_message);

  enum class ReceiveStatus : std::uint8_t { Received, Empty, Overrun, Failed };
  // One datagram of subscribed events, each message handed to `on_message`.
  // Overrun: the kernel dropped events (ENOBUFS): the owner must dump again.
  ReceiveStatus receive(const MessageHandler& on_message, std::string& error);

 private:
  struct Closer {
    void operator()(mnl_socket* socket) const;
  };
  explicit NetlinkSocket(mnl_socket* socket);

  std::unique_ptr<mnl_socket, Closer> socket_;
  std::vector<std::byte> buffer_;
};

}  // namespace advpnd::routing
