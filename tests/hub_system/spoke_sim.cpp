#include "tests/hub_system/spoke_sim.h"

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

#include "base/ipv4_header.h"
#include "nhrp/gre.h"
#include "tests/hub_system/hub_process.h"

namespace advpnd::test {
namespace {

using SteadyClock = std::chrono::steady_clock;
constexpr std::size_t kIpHeaderSize = 20;
constexpr std::uint32_t kIpv4SourceOffset = 12;
constexpr std::size_t kMaxDatagram = 65535;
constexpr int kSocketBuffer = 8 << 20;

sockaddr_in hub_sockaddr() {
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_addr.s_addr = htonl(kHubNbma.v4_value());
  return to;
}

}  // namespace

SimSpoke numbered_spoke(std::uint32_t index) {
  const IpAddress nbma = IpAddress::v4(IpAddress::v4(127, 16, 0, 0).v4_value() + index + 1);
  return SimSpoke{nbma, nbma, IpAddress::v4(IpAddress::v4(10, 64, 0, 0).v4_value() + index + 1)};
}

SpokeWire::SpokeWire()
    : fd_(::socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_GRE)), buffer_(kMaxDatagram) {
  REQUIRE_MESSAGE(fd_.valid(), "raw GRE socket: " << std::strerror(errno) << " (needs root)");
  const int on = 1;
  REQUIRE(::setsockopt(fd_.get(), IPPROTO_IP, IP_HDRINCL, &on, sizeof on) == 0);
  ::setsockopt(fd_.get(), SOL_SOCKET, SO_RCVBUFFORCE, &kSocketBuffer, sizeof kSocketBuffer);
  ::setsockopt(fd_.get(), SOL_SOCKET, SO_SNDBUFFORCE, &kSocketBuffer, sizeof kSocketBuffer);
  // Only packets whose IPv4 source is the hub pass (classic BPF on the IP
  // header): not the loopback copies of our own requests. connect() would
  // filter by source too, but it also binds the socket to 127.0.0.1 as the
  // destination, and the hub's answers go to the spokes' addresses.
  std::array<sock_filter, 4> code{{
      {BPF_LD | BPF_W | BPF_ABS, 0, 0, kIpv4SourceOffset},
      {BPF_JMP | BPF_JEQ | BPF_K, 0, 1, kHubNbma.v4_value()},
      {BPF_RET | BPF_K, 0, 0, 0xFFFFFFFFU},
      {BPF_RET | BPF_K, 0, 0, 0},
  }};
  const sock_fprog program{static_cast<unsigned short>(code.size()), code.data()};
  REQUIRE(::setsockopt(fd_.get(), SOL_SOCKET, SO_ATTACH_FILTER, &program, sizeof program) == 0);
}

void SpokeWire::send_ip_payload(const IpAddress& source, std::span<const std::byte> payload) {
  REQUIRE(payload.size() + kIpHeaderSize <= kMaxDatagram);
  std::vector<std::byte> datagram(kIpHeaderSize + payload.size());
  const std::size_t total = datagram.size();
  const std::array<std::uint8_t, kIpHeaderSize> header{
      0x45,
      0xC0,
      static_cast<std::uint8_t>(total >> 8),
      static_cast<std::uint8_t>(total),
      0,
      0,
      0,
      0,
      255,
      47,
      0,
      0,  // TTL, protocol GRE, checksum (the kernel fills it in with IP_HDRINCL)
      source.byte(0),
      source.byte(1),
      source.byte(2),
      source.byte(3),
      kHubNbma.byte(0),
      kHubNbma.byte(1),
      kHubNbma.byte(2),
      kHubNbma.byte(3)};
  std::memcpy(datagram.data(), header.data(), header.size());
  std::copy(payload.begin(), payload.end(), datagram.begin() + static_cast<std::ptrdiff_t>(kIpHeaderSize));
  for (;;) {
    const sockaddr_in to = hub_sockaddr();
    const ssize_t n = ::sendto(fd_.get(), datagram.data(), datagram.size(), 0, reinterpret_cast<const sockaddr*>(&to),
                               sizeof to);  // NOLINT
    if (n == static_cast<ssize_t>(datagram.size())) return;
    if (n < 0 && (errno == ENOBUFS || errno == EAGAIN || errno == EINTR)) {
      poll(1);  // the hub's answers queue up meanwhile: keep reading them
      continue;
    }
    FAIL("send from " << source.to_string() << ": " << std::strerror(errno));
  }
}

void SpokeWire::send_gre(const IpAddress& source, std::uint16_t gre_protocol, std::span<const std::byte> payload) {
  nhrp::GreHeader gre;
  gre.protocol = gre_protocol;
  std::vector<std::byte> frame(nhrp::gre_header_size(gre) + payload.size());
  REQUIRE(nhrp::encode_gre_header(gre, frame) == nhrp::gre_header_size(gre));
  std::copy(payload.begin(), payload.end(), frame.begin() + static_cast<std::ptrdiff_t>(nhrp::gre_header_size(gre)));
  send_ip_payload(source, frame);
}

void SpokeWire::send(const IpAddress& source, const nhrp::Packet& packet) {
  auto bytes = nhrp::encode(packet);
  REQUIRE_MESSAGE(bytes.ok(), bytes.error().message());
  send_gre(source, nhrp::kGreProtocolNhrp, *bytes);
}

void SpokeWire::poll(int timeout_ms) {
  pollfd p{fd_.get(), POLLIN, 0};
  if (::poll(&p, 1, timeout_ms) <= 0) return;
  for (;;) {
    const ssize_t n = ::recv(fd_.get(), buffer_.data(), buffer_.size(), 0);
    if (n <= 0) return;
    auto ip = parse_ipv4_packet(std::span<const std::byte>(buffer_.data(), static_cast<std::size_t>(n)));
    if (!ip || ip->header.source != kHubNbma) continue;
    auto gre = nhrp::decode_gre(ip->payload);
    HubPacket received{ip->header.destination, {}};
    if (!gre || gre->header.protocol != nhrp::kGreProtocolNhrp ||
        !nhrp::decode_into(gre->payload, received.packet).ok()) {
      ++undecodable_;
      continue;
    }
    queue_.push_back(std::move(received));
  }
}

std::optional<HubPacket> SpokeWire::wait_for(const std::function<bool(const HubPacket&)>& match,
                                             std::chrono::milliseconds timeout) {
  const auto deadline = SteadyClock::now() + timeout;
  std::size_t checked = 0;  // queued packets already known not to match
  for (;;) {
    for (auto it = queue_.begin() + static_cast<std::ptrdiff_t>(checked); it != queue_.end(); ++it, ++checked) {
      if (match(*it)) {
        HubPacket found = std::move(*it);
        queue_.erase(it);
        return found;
      }
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now());
    if (left.count() <= 0) return std::nullopt;
    poll(static_cast<int>(std::min<std::int64_t>(left.count(), 50)));
  }
}

void SpokeWire::poll_for(std::chrono::milliseconds window) {
  const auto deadline = SteadyClock::now() + window;
  for (auto left = window; left.count() > 0;
       left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now())) {
    poll(static_cast<int>(std::min<std::int64_t>(left.count(), 50)));
  }
}

std::vector<HubPacket> SpokeWire::collect(std::chrono::milliseconds window) {
  poll_for(window);
  std::vector<HubPacket> out(std::make_move_iterator(queue_.begin()), std::make_move_iterator(queue_.end()));
  queue_.clear();
  return out;
}

nhrp::Packet registration_request(const SimSpoke& spoke, std::uint32_t request_id, std::uint16_t holding_time) {
  nhrp::RegistrationRequestSpec spec;
  spec.sender = spoke.sender();
  spec.nhs_protocol = kHubProtocol;
  spec.nhs_nbma = kHubNbma;
  spec.request_id = request_id;
  spec.holding_time = holding_time;
  spec.mtu = spoke.dialect == nhrp::Dialect::Cisco ? 1400 : 0;
  return nhrp::build_registration_request(spec);
}

nhrp::Packet resolution_request(const SimSpoke& spoke, const IpAddress& target, std::uint32_t request_id) {
  nhrp::ResolutionRequestSpec spec;
  spec.sender = spoke.sender();
  spec.target = target;
  spec.request_id = request_id;
  return nhrp::build_resolution_request(spec);
}

nhrp::Packet purge_request(const SimSpoke& spoke, std::uint32_t request_id) {
  nhrp::PurgeRequestSpec spec;
  spec.sender = spoke.sender();
  spec.dst_protocol = kHubProtocol;
  spec.request_id = request_id;
  nhrp::Cie own;
  own.prefix_length = nhrp::kHostPrefix;
  own.nbma = spoke.nbma;
  own.protocol = spoke.protocol;
  spec.cies.push_back(own);
  return nhrp::build_purge_request(spec);
}

std::function<bool(const HubPacket&)> reply_to(const SimSpoke& spoke, nhrp::PacketType type, std::uint32_t request_id) {
  return [destination = spoke.source, type, request_id](const HubPacket& p) {
    return p.destination == destination && p.packet.type == type && p.packet.request_id == request_id;
  };
}

std::optional<nhrp::Packet> exchange(SpokeWire& wire, const SimSpoke& spoke, const nhrp::Packet& request,
                                     nhrp::PacketType reply_type) {
  wire.send(spoke.source, request);
  auto reply = wire.wait_for(reply_to(spoke, reply_type, request.request_id), kReplyTimeout);
  if (!reply) return std::nullopt;
  return std::move(reply->packet);
}

std::optional<nhrp::CieCode> register_spoke(SpokeWire& wire, const SimSpoke& spoke, std::uint32_t request_id) {
  auto reply = exchange(wire, spoke, registration_request(spoke, request_id), nhrp::PacketType::RegistrationReply);
  if (!reply || reply->cies.empty()) return std::nullopt;
  return reply->cies.front().code;
}

}  // namespace advpnd::test
