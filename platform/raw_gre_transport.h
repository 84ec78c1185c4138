// RawGreTransport: the Linux NBMA transport of the user-space dataplane. GRE
// (RFC 2784, key per RFC 2890) over a raw IPv4 socket of protocol 47, which
// works on kernels without ip_gre (notes/strongswan-netns.md, "The kernel").
//
// Receive: the socket is bound to our NBMA address, so the kernel hands it
// only GRE packets addressed to us (raw(7) matches the bound address); each
// packet arrives with its IPv4 header, which gives the outer source (post-NAT,
// NHRP-WIRE.md 1.2), destination and TOS. Frames are read with recvmmsg, up
// to `receive_batch` per call and `max_rounds_per_event` calls per readable
// event, so one busy peer cannot starve the loop (the rest waits for the next
// turn: the watch is level-triggered). After each call that delivered at
// least one frame, on_batch_end runs once (the hub commits its group
// transaction there).
//
// The control plane never delays the data plane (issue #10: a registration
// storm held hair-pinned voice frames behind thousands of queued requests):
// with `nhrp_socket_apart`, NHRP (GRE protocol 0x2001) has a socket of its
// own, split from the data socket by a classic BPF filter on each, and every
// NHRP batch waits until the data socket has been drained. A data frame then
// waits for at most one NHRP batch, as a router's fast path does not wait for
// its process-switched control plane. Frames of the two kinds are not kept in
// order relative to each other (nothing depends on it).
//
// NHRP only through IPsec (issue #12 part 2): with `ipsec_interface` set,
// the socket asks for IP_PKTINFO and every frame that did not arrive on that
// interface is dropped (dropped_not_ipsec) before it is parsed. With
// kernel-libipsec, charon hands decrypted packets to the kernel through its
// TUN device (ipsec0), while clear GRE arrives on the WAN interface: the
// ingress interface tells them apart, whatever the firewall says. The index
// is looked up by name, and again (at most once a second) when a frame
// comes from another one: charon restarted and made a new ipsec0.
// Kernel XFRM (transport mode, ESP in the kernel) is different: decrypted
// packets keep the WAN interface's index, so this check must be off there
// (ipsec_interface ""). The kernel's inbound policy check then drops clear
// GRE from a peer that has an SA, but not from a source without one; the
// future answer is a per-socket policy (setsockopt IP_XFRM_POLICY, an
// inbound policy with a "required" ESP template) so the kernel hands this
// socket only packets that were decrypted.
//
// Send: GRE header + payload with sendmsg, TTL 255 and the TOS of each frame
// as an IP_TOS control message (Cisco originates NHRP with TOS 0xC0, TTL 255:
// NHRP-WIRE.md 1.1). Frames sent from inside on_frame/on_batch_end are queued
// (copied) and leave in one sendmmsg right after on_batch_end, unless
// `batch_sends` is off; kernel errors on those are counted in send_errors and
// logged, since send() has already returned.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/nbma_transport.h"
#include "platform/event_loop.h"
#include "platform/unique_fd.h"

namespace advpnd::platform {

inline constexpr std::uint8_t kNhrpTos = 0xC0;  // Cisco: precedence 6, internetwork control (NHRP-WIRE.md 1.1)
inline constexpr std::uint8_t kNhrpTtl = 255;   // every Cisco capture (NHRP-WIRE.md 1.1)

struct RawGreConfig {
  IpAddress local{};                       // our NBMA address (IPv4); the socket binds to it
  std::optional<std::uint32_t> gre_key{};  // absent: only unkeyed frames are accepted and sent
  std::uint8_t ttl = kNhrpTtl;
  std::size_t receive_batch = 64;        // frames per recvmmsg (1..kMaxBatch)
  std::size_t max_rounds_per_event = 4;  // recvmmsg calls per readable event
  std::size_t max_frame_size = 9216;     // receive buffer per frame, outer IPv4 header included
  int socket_buffer_bytes = 4 << 20;     // SO_RCVBUF(FORCE); 0 keeps the system default
  bool batch_sends = true;               // queue sends made from callbacks; one sendmmsg per batch
  bool nhrp_socket_apart = true;         // NHRP on its own socket, read after the data (see above)
  std::string ipsec_interface{};         // "": frames from any interface (see the top comment)
};

// One frame of send_batch(); the payload is only read during the call.
struct OutgoingFrame {
  IpAddress destination;
  std::uint16_t gre_protocol = 0;
  std::span<const std::byte> payload;
  std::uint8_t tos = 0;
};

class RawGreTransport final : public NbmaTransport {
 public:
  static constexpr std::size_t kMaxBatch = 64;

  // Opens, configures and binds the socket and starts watching it on `loop`
  // (which must outlive the transport). Fails with a message naming the
  // address, e.g. when not root (EPERM) or when the address is not local.
  static Result<std::unique_ptr<RawGreTransport>, std::string> open(EventLoop& loop, RawGreConfig config);
  ~RawGreTransport() override;
  RawGreTransport(const RawGreTransport&) = delete;
  RawGreTransport& operator=(const RawGreTransport&) = delete;

  void set_handlers(Handlers handlers) override;
  // Fails for a destination that is not IPv4 or a frame larger than an IPv4 datagram.
  Status<std::string> send(const IpAddress& destination, std::uint16_t gre_protocol, std::span<const std::byte> payload,
                           std::uint8_t tos) override;
  // Sends every frame now, kMaxBatch per sendmmsg, without copying payloads.
  // Returns the number sent; failures are counted in send_errors.
  std::size_t send_batch(std::span<const OutgoingFrame> frames);
  // Sends the frames queued by callbacks; runs by itself after on_batch_end.
  void flush();

  [[nodiscard]] const IpAddress& local_address() const override { return config_.local; }
  [[nodiscard]] TransportStats stats() const override { return stats_; }
  [[nodiscard]] int fd() const { return fd_.get(); }

 private:
  // Everything one sendmsg needs, kept in place while sendmmsg runs.
  struct SendSlot {
    sockaddr_in to{};
    std::array<std::byte, 8> gre{};                                                 // flags + protocol + key
    std::array<iovec, 2> iov{};                                                     // GRE header, payload
    alignas(cmsghdr) std::array<unsigned char, CMSG_SPACE(sizeof(int))> control{};  // IP_TOS
  };

  RawGreTransport(const RawGreConfig& config, UniqueFd fd, UniqueFd nhrp_fd);
  [[nodiscard]] Status<std::string> check_frame(const IpAddress& destination, std::size_t payload_size) const;
  // Fills tx_slots_[index] and tx_msgs_[index] (no system call).
  void prepare(std::size_t index, const IpAddress& destination, std::uint16_t gre_protocol,
               std::span<const std::byte> payload, std::uint8_t tos);
  // sendmmsg of the first `count` prepared messages; returns how many left.
  std::size_t send_prepared(std::size_t count);
  // Reads and delivers up to `rounds` batches from `fd`.
  enum class ReadOutcome { Drained, MoreWaiting, Destroyed };  // Destroyed: by a callback
  ReadOutcome read_batches(int fd, std::size_t rounds);
  // The NHRP socket: each of its batches after the data socket is drained.
  void on_nhrp_readable();
  // One recvmmsg; returns the frames read (0: nothing left or an error).
  std::size_t receive_round(int fd);
  void dispatch(std::span<const std::byte> packet, const Handlers& handlers, bool& delivered);
  // IP_PKTINFO of rx_msgs_[i]: the interface it arrived on (0 when unknown).
  [[nodiscard]] int arrival_ifindex(std::size_t i) const;
  // True when the frame came in through the IPsec interface (or the check is off).
  [[nodiscard]] bool through_ipsec(int ifindex);


  RawGreConfig config_;
  UniqueFd fd_;       // sends; receives data frames (all frames without nhrp_socket_apart)
  UniqueFd nhrp_fd_;  // receives NHRP frames with nhrp_socket_apart
  std::unique_ptr<FdWatch> watch_;
  std::unique_ptr<FdWatch> nhrp_watch_;
  std::shared_ptr<const Handlers> handlers_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // a callback may destroy us
  TransportStats stats_;

  // Receive: one buffer per frame of a batch.
  std::vector<std::byte> rx_arena_;
  std::vector<iovec> rx_iov_;
  std::vector<mmsghdr> rx_msgs_;

  // Send: the slots of one sendmmsg, and the frames callbacks queued.
  std::vector<SendSlot> tx_slots_;
  std::vector<mmsghdr> tx_msgs_;
  struct Queued {
    IpAddress destination;
    std::uint16_t gre_protocol = 0;
    std::uint8_t tos = 0;
    std::vector<std::byte> payload;  // capacity kept across batches
  };
  std::vector<Queued> queue_;
  std::size_t queued_ = 0;
  bool dispatching_ = false;

  // NHRP only through IPsec: one IP_PKTINFO buffer per frame of a batch.
  using PktinfoBuffer = std::array<unsigned char, CMSG_SPACE(sizeof(in_pktinfo))>;
  std::vector<PktinfoBuffer> rx_control_;
  int ipsec_ifindex_ = 0;
  std::int64_t ipsec_lookup_ns_ = 0;  // steady clock of the last by-name lookup
};

}  // namespace advpnd::platform
