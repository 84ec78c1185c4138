#include "platform/raw_gre_transport.h"

#include <arpa/inet.h>
#include <linux/filter.h>
#include <net/if.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <array>
#include <bit>
#include <chrono>
#include <cerrno>
#include <cstring>

#include "base/log.h"
#include "nhrp/gre.h"
#include "nhrp/types.h"
#include "platform/guarded_call.h"
#include "base/ipv4_header.h"

namespace advpnd::platform {
namespace {

constexpr const char* kLog = "raw-gre";

// IPv4 total length is 16 bits (RFC 791); the kernel adds a 20-byte header.
constexpr std::size_t kMaxIpv4Datagram = 65535;
constexpr std::size_t kMaxGreHeader = 8;  // flags + protocol + key: what we send (NHRP-WIRE.md 1.1)

std::string errno_text(int error) { return std::strerror(error); }

// Logging every dropped frame would let a peer flood stderr; powers of two
// keep the first few and then thin out (1, 2, 4, 8, ... 1024, 2048, ...).
bool should_log(std::uint64_t count) { return std::has_single_bit(count); }

enum class SocketRole { All, Data, Nhrp };

// Classic BPF (socket(7) SO_ATTACH_FILTER) over the raw socket's packet,
// which starts at the outer IPv4 header: X = its length (IHL * 4), the GRE
// protocol is the 16 bits at X + 2 (RFC 2784 section 2).
constexpr std::uint16_t kBpfNhrp = nhrp::kGreProtocolNhrp;
constexpr std::uint32_t kBpfAccept = 0xFFFFFFFF;

// NHRP only; a frame too short to hold a GRE protocol is not read (loads
// past the end return 0: drop); the data socket takes it, to be counted.
const std::array<sock_filter, 5> kNhrpOnlyFilter{{
    BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, 0),
    BPF_STMT(BPF_LD | BPF_H | BPF_IND, 2),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, kBpfNhrp, 0, 1),
    BPF_STMT(BPF_RET | BPF_K, kBpfAccept),
    BPF_STMT(BPF_RET | BPF_K, 0),
}};

// Everything but NHRP, frames too short for a GRE header included (so that
// they are counted as malformed).
const std::array<sock_filter, 12> kAllButNhrpFilter{{
    BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, 0),
    BPF_STMT(BPF_MISC | BPF_TXA, 0),
    BPF_STMT(BPF_ALU | BPF_ADD | BPF_K, 4),
    BPF_STMT(BPF_MISC | BPF_TAX, 0),                 // X = IHL * 4 + 4
    BPF_STMT(BPF_LD | BPF_W | BPF_LEN, 0),           // A = frame length
    BPF_JUMP(BPF_JMP | BPF_JGE | BPF_X, 0, 1, 0),    // long enough: look at the protocol
    BPF_STMT(BPF_RET | BPF_K, kBpfAccept),           // too short: malformed, counted here
    BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, 0),
    BPF_STMT(BPF_LD | BPF_H | BPF_IND, 2),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, kBpfNhrp, 0, 1),
    BPF_STMT(BPF_RET | BPF_K, 0),
    BPF_STMT(BPF_RET | BPF_K, kBpfAccept),
}};

Status<std::string> attach_filter(int fd, std::span<const sock_filter> filter, const std::string& where) {
  sock_fprog program{};
  program.len = static_cast<unsigned short>(filter.size());
  program.filter = const_cast<sock_filter*>(filter.data());  // the kernel copies it
  if (::setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &program, sizeof program) != 0) {
    return fail(where + ": setsockopt(SO_ATTACH_FILTER) failed: " + errno_text(errno));
  }
  // What arrived before the filter was attached may be of the other kind.
  std::byte discard[1];
  while (::recv(fd, discard, sizeof discard, MSG_DONTWAIT) >= 0) {
  }
  return {};
}

Result<UniqueFd, std::string> open_socket(const RawGreConfig& config, const std::string& where, SocketRole role) {
  UniqueFd fd(::socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_GRE));
  if (!fd.valid()) {
    const int error = errno;
    std::string message = where + ": socket(AF_INET, SOCK_RAW, IPPROTO_GRE) failed: " + errno_text(error);
    if (error == EPERM || error == EACCES) message += " (raw sockets need CAP_NET_RAW: run as root)";
    return fail(std::move(message));
  }
  if (role != SocketRole::All) {
    auto attached = attach_filter(fd.get(), role == SocketRole::Nhrp ? std::span<const sock_filter>(kNhrpOnlyFilter)
                                                                      : std::span<const sock_filter>(kAllButNhrpFilter),
                                  where);
    if (!attached) return fail(attached.error());
  }
  const int ttl = config.ttl;
  if (::setsockopt(fd.get(), IPPROTO_IP, IP_TTL, &ttl, sizeof ttl) != 0) {
    return fail(where + ": setsockopt(IP_TTL " + std::to_string(ttl) + ") failed: " + errno_text(errno));
  }
  if (config.socket_buffer_bytes > 0) {
    // FORCE passes net.core.rmem_max (root only); otherwise take what the sysctl allows.
    const int bytes = config.socket_buffer_bytes;
    if (::setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof bytes) != 0) {
      (void)::setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes);
    }
  }
  if (!config.ipsec_interface.empty()) {
    const int on = 1;
    if (::setsockopt(fd.get(), IPPROTO_IP, IP_PKTINFO, &on, sizeof on) != 0) {
      return fail(where + ": setsockopt(IP_PKTINFO) failed: " + errno_text(errno));
    }
  }
  sockaddr_in local{};
  local.sin_family = AF_INET;
  local.sin_addr.s_addr = htonl(config.local.v4_value());
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&local), sizeof local) != 0) {
    const int error = errno;
    std::string message = where + ": bind failed: " + errno_text(error);
    if (error == EADDRNOTAVAIL) message += " (not an address of this host)";
    return fail(std::move(message));
  }
  return fd;
}

}  // namespace

Result<std::unique_ptr<RawGreTransport>, std::string> RawGreTransport::open(EventLoop& loop, RawGreConfig config) {
  const std::string where = "raw GRE socket on " + config.local.to_string();
  if (config.local.family() != AddressFamily::Ipv4) {
    return fail("RawGreTransport: local NBMA address '" + config.local.to_string() + "' is not IPv4");
  }
  config.receive_batch = std::clamp<std::size_t>(config.receive_batch, 1, kMaxBatch);
  config.max_rounds_per_event = std::max<std::size_t>(config.max_rounds_per_event, 1);
  config.max_frame_size = std::clamp<std::size_t>(config.max_frame_size, kIpv4MinHeaderSize + 4, kMaxIpv4Datagram);

  auto data_fd = open_socket(config, where, config.nhrp_socket_apart ? SocketRole::Data : SocketRole::All);
  if (!data_fd) return fail(data_fd.error());
  UniqueFd nhrp_fd;
  if (config.nhrp_socket_apart) {
    auto opened = open_socket(config, where, SocketRole::Nhrp);
    if (!opened) return fail(opened.error());
    nhrp_fd = std::move(opened).value();
  }

  std::unique_ptr<RawGreTransport> transport(
      new RawGreTransport(config, std::move(data_fd).value(), std::move(nhrp_fd)));
  RawGreTransport* self = transport.get();
  auto watch = loop.watch_readable(self->fd(), [self] { (void)self->read_batches(self->fd(), self->config_.max_rounds_per_event); });
  if (!watch) return fail(where + ": " + watch.error());
  transport->watch_ = std::move(watch).value();
  if (transport->nhrp_fd_.valid()) {
    auto nhrp_watch = loop.watch_readable(transport->nhrp_fd_.get(), [self] { self->on_nhrp_readable(); });
    if (!nhrp_watch) return fail(where + ": " + nhrp_watch.error());
    transport->nhrp_watch_ = std::move(nhrp_watch).value();
  }
  return transport;
}

RawGreTransport::RawGreTransport(const RawGreConfig& config, UniqueFd fd, UniqueFd nhrp_fd)
    : config_(config),
      fd_(std::move(fd)),
      nhrp_fd_(std::move(nhrp_fd)),
      handlers_(std::make_shared<const Handlers>()),
      rx_arena_(config_.receive_batch * config_.max_frame_size),
      rx_iov_(config_.receive_batch),
      rx_msgs_(config_.receive_batch),
      tx_slots_(kMaxBatch),
      tx_msgs_(kMaxBatch),
      queue_(kMaxBatch),
      rx_control_(config_.ipsec_interface.empty() ? 0 : config_.receive_batch) {
  for (std::size_t i = 0; i < config_.receive_batch; ++i) {
    rx_iov_[i].iov_base = rx_arena_.data() + i * config_.max_frame_size;
    rx_iov_[i].iov_len = config_.max_frame_size;
    rx_msgs_[i].msg_hdr.msg_iov = &rx_iov_[i];
    rx_msgs_[i].msg_hdr.msg_iovlen = 1;
  }
  if (!config_.ipsec_interface.empty()) {
    ipsec_ifindex_ = static_cast<int>(::if_nametoindex(config_.ipsec_interface.c_str()));
    ipsec_lookup_ns_ = std::chrono::steady_clock::now().time_since_epoch().count();
    log::info(kLog, "on " + config_.local.to_string() + ": GRE accepted only from " + config_.ipsec_interface +
                        (ipsec_ifindex_ == 0 ? " (not there yet)" : ""));
  }
}

RawGreTransport::~RawGreTransport() { *alive_ = false; }

void RawGreTransport::set_handlers(Handlers handlers) {
  // A new shared object: a batch in progress keeps the handlers it started with.
  handlers_ = std::make_shared<const Handlers>(std::move(handlers));
}

// --- send ------------------------------------------------------------------

Status<std::string> RawGreTransport::check_frame(const IpAddress& destination, std::size_t payload_size) const {
  if (destination.family() != AddressFamily::Ipv4) {
    return fail("raw GRE send from " + config_.local.to_string() + ": destination '" + destination.to_string() +
                "' is not IPv4");
  }
  if (payload_size > kMaxIpv4Datagram - kIpv4MinHeaderSize - kMaxGreHeader) {
    return fail("raw GRE send from " + config_.local.to_string() + " to " + destination.to_string() + ": " +
                std::to_string(payload_size) + " bytes exceed an IPv4 datagram");
  }
  return {};
}

void RawGreTransport::prepare(std::size_t index, const IpAddress& destination, std::uint16_t gre_protocol,
                              std::span<const std::byte> payload, std::uint8_t tos) {
  SendSlot& slot = tx_slots_[index];
  slot.to = sockaddr_in{};
  slot.to.sin_family = AF_INET;
  slot.to.sin_addr.s_addr = htonl(destination.v4_value());
  nhrp::GreHeader gre;
  gre.protocol = gre_protocol;
  gre.key = config_.gre_key;
  const std::size_t gre_size = nhrp::encode_gre_header(gre, slot.gre);
  slot.iov[0] = iovec{slot.gre.data(), gre_size};
  slot.iov[1] = iovec{const_cast<std::byte*>(payload.data()), payload.size()};  // sendmsg only reads it

  msghdr& msg = tx_msgs_[index].msg_hdr;
  msg = msghdr{};
  msg.msg_name = &slot.to;
  msg.msg_namelen = sizeof slot.to;
  msg.msg_iov = slot.iov.data();
  msg.msg_iovlen = payload.empty() ? 1 : 2;
  // Per-packet TOS (ip(7) IP_TOS ancillary data, Linux >= 3.15): NHRP and
  // data frames share the socket but not the TOS.
  msg.msg_control = slot.control.data();
  msg.msg_controllen = slot.control.size();
  cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
  cmsg->cmsg_level = IPPROTO_IP;
  cmsg->cmsg_type = IP_TOS;
  cmsg->cmsg_len = CMSG_LEN(sizeof(int));
  const int tos_value = tos;
  std::memcpy(CMSG_DATA(cmsg), &tos_value, sizeof tos_value);
}

Status<std::string> RawGreTransport::send(const IpAddress& destination, std::uint16_t gre_protocol,
                                          std::span<const std::byte> payload, std::uint8_t tos) {
  if (auto checked = check_frame(destination, payload.size()); !checked) return checked;
  if (dispatching_ && config_.batch_sends) {
    if (queued_ == queue_.size()) flush();
    Queued& q = queue_[queued_++];
    q.destination = destination;
    q.gre_protocol = gre_protocol;
    q.tos = tos;
    q.payload.assign(payload.begin(), payload.end());
    return {};
  }
  prepare(0, destination, gre_protocol, payload, tos);
  ssize_t sent = 0;
  do {
    sent = ::sendmsg(fd_.get(), &tx_msgs_[0].msg_hdr, 0);
  } while (sent < 0 && errno == EINTR);
  if (sent < 0) {
    ++stats_.send_errors;
    return fail("raw GRE send from " + config_.local.to_string() + " to " + destination.to_string() + ": " +
                errno_text(errno));
  }
  ++stats_.frames_sent;
  return {};
}

std::size_t RawGreTransport::send_prepared(std::size_t count) {
  std::size_t sent = 0;
  std::size_t next = 0;
  while (next < count) {
    const int done = ::sendmmsg(fd_.get(), tx_msgs_.data() + next, static_cast<unsigned>(count - next), 0);
    if (done < 0) {
      const int error = errno;
      if (error == EINTR) continue;
      // sendmmsg stops at the first message that fails: count it, go on with the rest.
      ++stats_.send_errors;
      if (should_log(stats_.send_errors)) {
        const auto* to = static_cast<const sockaddr_in*>(tx_msgs_[next].msg_hdr.msg_name);
        log::warning(kLog, "send from " + config_.local.to_string() + " to " +
                               IpAddress::v4(ntohl(to->sin_addr.s_addr)).to_string() + ": " + errno_text(error) +
                               " (send errors: " + std::to_string(stats_.send_errors) + ")");
      }
      ++next;
      continue;
    }
    if (done == 0) break;
    sent += static_cast<std::size_t>(done);
    next += static_cast<std::size_t>(done);
  }
  stats_.frames_sent += sent;
  return sent;
}

std::size_t RawGreTransport::send_batch(std::span<const OutgoingFrame> frames) {
  std::size_t sent = 0;
  std::size_t prepared = 0;
  for (const OutgoingFrame& frame : frames) {
    if (!check_frame(frame.destination, frame.payload.size())) {
      ++stats_.send_errors;
      continue;
    }
    prepare(prepared++, frame.destination, frame.gre_protocol, frame.payload, frame.tos);
    if (prepared == kMaxBatch) {
      sent += send_prepared(prepared);
      prepared = 0;
    }
  }
  if (prepared > 0) sent += send_prepared(prepared);
  return sent;
}

void RawGreTransport::flush() {
  for (std::size_t i = 0; i < queued_; ++i) {
    const Queued& q = queue_[i];
    prepare(i, q.destination, q.gre_protocol, q.payload, q.tos);
  }
  const std::size_t count = std::exchange(queued_, 0);
  if (count > 0) send_prepared(count);
}

// --- receive ---------------------------------------------------------------

RawGreTransport::ReadOutcome RawGreTransport::read_batches(int fd, std::size_t rounds) {
  const std::shared_ptr<bool> alive = alive_;
  for (std::size_t round = 0; round < rounds; ++round) {
    const std::size_t count = receive_round(fd);
    if (count == 0) return ReadOutcome::Drained;
    const std::shared_ptr<const Handlers> handlers = handlers_;
    dispatching_ = true;
    bool delivered = false;
    for (std::size_t i = 0; i < count; ++i) {
      const msghdr& hdr = rx_msgs_[i].msg_hdr;
      std::span<const std::byte> packet(static_cast<const std::byte*>(rx_iov_[i].iov_base), rx_msgs_[i].msg_len);
      if ((hdr.msg_flags & MSG_TRUNC) != 0) {
        // Larger than max_frame_size: the tail is gone, so the frame cannot be trusted.
        ++stats_.dropped_malformed;
        if (should_log(stats_.dropped_malformed)) {
          log::warning(kLog, "on " + config_.local.to_string() + ": frame larger than " +
                                 std::to_string(config_.max_frame_size) +
                                 " bytes dropped (malformed: " + std::to_string(stats_.dropped_malformed) + ")");
        }
        continue;
      }
      if (!rx_control_.empty() && !through_ipsec(arrival_ifindex(i))) continue;
      dispatch(packet, *handlers, delivered);
      if (!*alive) return ReadOutcome::Destroyed;
    }
    if (delivered && handlers->on_batch_end) guarded_call("raw-gre on_batch_end", handlers->on_batch_end);
    if (!*alive) return ReadOutcome::Destroyed;
    dispatching_ = false;
    flush();
    if (count < config_.receive_batch) return ReadOutcome::Drained;
  }
  return ReadOutcome::MoreWaiting;
}

void RawGreTransport::on_nhrp_readable() {
  for (std::size_t round = 0; round < config_.max_rounds_per_event; ++round) {
    // Data first: what waits on the data socket goes before the next NHRP batch.
    if (read_batches(fd_.get(), config_.max_rounds_per_event) == ReadOutcome::Destroyed) return;
    // Drained: the watch brings the next ones.
    if (read_batches(nhrp_fd_.get(), 1) != ReadOutcome::MoreWaiting) return;
  }
}

std::size_t RawGreTransport::receive_round(int fd) {
  // recvmmsg shortens msg_controllen to what it wrote: room again for each call.
  for (std::size_t i = 0; i < rx_control_.size(); ++i) {
    rx_msgs_[i].msg_hdr.msg_control = rx_control_[i].data();
    rx_msgs_[i].msg_hdr.msg_controllen = rx_control_[i].size();
  }
  while (true) {
    const int count =
        ::recvmmsg(fd, rx_msgs_.data(), static_cast<unsigned>(config_.receive_batch), MSG_DONTWAIT, nullptr);
    if (count >= 0) return static_cast<std::size_t>(count);
    const int error = errno;
    if (error == EINTR) continue;
    if (error != EAGAIN && error != EWOULDBLOCK) {
      log::error(kLog, "on " + config_.local.to_string() + ": recvmmsg: " + errno_text(error));
    }
    return 0;
  }
}

int RawGreTransport::arrival_ifindex(std::size_t i) const {
  // CMSG_NXTHDR takes a non-const msghdr (glibc); the header is only read.
  auto& hdr = const_cast<msghdr&>(rx_msgs_[i].msg_hdr);
  for (cmsghdr* cmsg = CMSG_FIRSTHDR(&hdr); cmsg != nullptr; cmsg = CMSG_NXTHDR(&hdr, cmsg)) {
    if (cmsg->cmsg_level == IPPROTO_IP && cmsg->cmsg_type == IP_PKTINFO) {
      in_pktinfo info{};
      std::memcpy(&info, CMSG_DATA(cmsg), sizeof info);
      return info.ipi_ifindex;
    }
  }
  return 0;
}

bool RawGreTransport::through_ipsec(int ifindex) {
  if (ifindex != 0 && ifindex == ipsec_ifindex_) return true;
  // ipsec0 may have come (charon started after us) or been made anew
  // (charon restarted): look its index up again, at most once a second.
  constexpr std::int64_t kLookupIntervalNs = 1'000'000'000;
  const std::int64_t now = std::chrono::steady_clock::now().time_since_epoch().count();
  if (now - ipsec_lookup_ns_ >= kLookupIntervalNs) {
    ipsec_lookup_ns_ = now;
    ipsec_ifindex_ = static_cast<int>(::if_nametoindex(config_.ipsec_interface.c_str()));
    if (ifindex != 0 && ifindex == ipsec_ifindex_) return true;
  }
  ++stats_.dropped_not_ipsec;
  if (should_log(stats_.dropped_not_ipsec)) {
    char name[IF_NAMESIZE] = {};
    const char* arrived = ifindex != 0 ? ::if_indextoname(static_cast<unsigned>(ifindex), name) : nullptr;
    log::warning(kLog, "on " + config_.local.to_string() + ": GRE from interface " +
                           (arrived != nullptr ? std::string(arrived) : "#" + std::to_string(ifindex)) + ", not " +
                           config_.ipsec_interface + ": not through IPsec, dropped (not-ipsec: " +
                           std::to_string(stats_.dropped_not_ipsec) + ")");
  }
  return false;
}

void RawGreTransport::dispatch(std::span<const std::byte> packet, const Handlers& handlers, bool& delivered) {
  auto ip = parse_ipv4_packet(packet);
  if (!ip || ip->header.protocol != kIpProtocolGre) {
    ++stats_.dropped_malformed;
    if (should_log(stats_.dropped_malformed)) {
      log::warning(kLog, "on " + config_.local.to_string() + ": " +
                             (ip ? std::string("not a GRE packet") : ip.error().message()) +
                             " (malformed: " + std::to_string(stats_.dropped_malformed) + ")");
    }
    return;
  }
  const Ipv4Header& outer = ip->header;
  // The kernel already matches a bound raw socket's address (raw(7)); this
  // guards against a future change of binding (e.g. to INADDR_ANY).
  if (outer.destination != config_.local) return;
  auto gre = nhrp::decode_gre(ip->payload);
  if (!gre) {
    ++stats_.dropped_malformed;
    if (should_log(stats_.dropped_malformed)) {
      log::warning(kLog, "on " + config_.local.to_string() + " from " + outer.source.to_string() + ": " +
                             std::string(gre.error().message()) + " at offset " + std::to_string(gre.error().offset) +
                             " of " + std::to_string(ip->payload.size()) +
                             " (malformed: " + std::to_string(stats_.dropped_malformed) + ")");
    }
    return;
  }
  // RFC 2890 section 2.1: a tunnel endpoint with a key accepts only frames
  // with that key; one without a key accepts only frames without one.
  if (gre->header.key != config_.gre_key) {
    ++stats_.dropped_wrong_key;
    if (should_log(stats_.dropped_wrong_key)) {
      const char* what = !gre->header.key ? "missing" : config_.gre_key ? "different" : "unexpected";
      log::warning(kLog, "on " + config_.local.to_string() + " from " + outer.source.to_string() + ": " + what +
                             " GRE key (wrong key: " + std::to_string(stats_.dropped_wrong_key) + ")");
    }
    return;
  }
  ++stats_.frames_received;
  if (!handlers.on_frame) return;
  NbmaFrame frame;
  frame.outer_source = outer.source;
  frame.outer_destination = outer.destination;
  frame.gre_protocol = gre->header.protocol;
  frame.tos = outer.tos;
  frame.payload = gre->payload;
  delivered = true;
  guarded_call("raw-gre on_frame", handlers.on_frame, frame);
}

}  // namespace advpnd::platform
