// The control socket's output path (app/control_server.h) over a real unix
// socket and a real libevent loop: a client that does not read its answer
// never stalls the loop (issue #10 item 7: a synchronous poll(1000) per
// write stalled the hub a second per slow reader and cut the answer off),
// it still gets every byte once it reads, and a client that never reads is
// dropped after the stall timeout.
#include "app/control_server.h"

#include <doctest/doctest.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>

#include "platform/event_loop.h"
#include "platform/unique_fd.h"
#include "tests/support/temp_file.h"

namespace advpnd::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

platform::UniqueFd connect_to(const std::string& path) {
  platform::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  REQUIRE(fd.valid());
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.data(), path.size());
  REQUIRE(::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0);  // NOLINT
  const timeval timeout{10, 0};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  return fd;
}

std::string read_to_end(int fd) {
  std::string answer;
  char chunk[65536];
  for (ssize_t n = 0; (n = ::recv(fd, chunk, sizeof chunk, 0)) > 0;) answer.append(chunk, static_cast<std::size_t>(n));
  return answer;
}

// A loop with a 5 ms heartbeat: the longest gap between two beats is how
// long the loop was kept from running.
struct Heartbeat {
  explicit Heartbeat(platform::EventLoop& loop) {
    timer = loop.make_timer([this] {
      const auto now = Clock::now();
      if (last != Clock::time_point{}) longest_gap = std::max(longest_gap, now - last);
      last = now;
      timer->arm(5ms);
    });
    timer->arm(5ms);
  }
  std::unique_ptr<Timer> timer;
  Clock::time_point last{};
  Clock::duration longest_gap{};
};

}  // namespace

TEST_CASE("control server: a client that does not read its answer never stalls the loop, and still gets all of it") {
  auto loop = platform::EventLoop::create();
  REQUIRE(loop);
  TempFile socket(".sock");
  // Far more than the socket buffers hold (~200 KB): the answer must wait for the reader.
  const std::string body(8U << 20U, 'x');
  auto server = app::ControlServer::open(**loop, socket.path(), [&](std::string_view command) {
    return app::ControlReply{true, command == "big" ? body : std::string("small\n")};
  });
  REQUIRE(server);

  std::atomic<bool> done{false};
  std::string slow_answer;
  std::string quick_answer;
  std::thread clients([&] {
    // The slow client asks, then reads nothing for 1.5 s.
    platform::UniqueFd slow = connect_to(socket.path());
    REQUIRE(::send(slow.get(), "big\n", 4, MSG_NOSIGNAL) == 4);
    std::this_thread::sleep_for(300ms);
    // Meanwhile another client is answered.
    auto quick = app::control_request(socket.path(), "other", 2000ms);
    if (quick) quick_answer = quick->body;
    std::this_thread::sleep_for(1200ms);
    slow_answer = read_to_end(slow.get());
    done = true;
  });
  Heartbeat beat(**loop);
  std::unique_ptr<Timer> poll;
  poll = (*loop)->make_timer([&] {
    if (done) {
      (*loop)->stop();
      return;
    }
    poll->arm(10ms);
  });
  poll->arm(10ms);
  REQUIRE((*loop)->run());
  clients.join();

  CHECK(quick_answer == "small\n");
  // Every byte, in order, after the "ok" line.
  REQUIRE(slow_answer.size() == body.size() + 3);
  CHECK(slow_answer.compare(0, 3, "ok\n") == 0);
  CHECK(slow_answer.find_first_not_of('x', 3) == std::string::npos);
  // The loop kept turning while the answer waited (the old write stalled ~1 s per slow client).
  CHECK(beat.longest_gap < 250ms);
  CHECK((*server)->stats().commands == 2);
  CHECK((*server)->stats().stalled == 0);
  CHECK((*server)->queued_bytes() == 0);  // everything taken, nothing left queued
}

TEST_CASE("control server: a client that never reads is dropped after the stall timeout, the loop unharmed") {
  auto loop = platform::EventLoop::create();
  REQUIRE(loop);
  TempFile socket(".sock");
  const std::string body(8U << 20U, 'y');
  auto server = app::ControlServer::open(**loop, socket.path(), [&](std::string_view) {
    return app::ControlReply{true, body};
  });
  REQUIRE(server);
  platform::UniqueFd silent = connect_to(socket.path());
  REQUIRE(::send(silent.get(), "big\n", 4, MSG_NOSIGNAL) == 4);

  Heartbeat beat(**loop);
  const auto started = Clock::now();
  std::unique_ptr<Timer> poll;
  poll = (*loop)->make_timer([&] {
    if ((*server)->stats().stalled == 1 || Clock::now() - started > app::ControlServer::kStallTimeout + 5s) {
      (*loop)->stop();
      return;
    }
    poll->arm(50ms);
  });
  poll->arm(50ms);
  REQUIRE((*loop)->run());

  CHECK((*server)->stats().stalled == 1);
  CHECK((*server)->queued_bytes() == 0);  // its queued answer was freed with it
  CHECK(Clock::now() - started >= app::ControlServer::kStallTimeout);
  CHECK(beat.longest_gap < 250ms);
  // The socket was closed on it: what it reads now ends (part of the answer, then EOF).
  const std::string partial = read_to_end(silent.get());
  CHECK(partial.size() < body.size());
}

}  // namespace advpnd::test
