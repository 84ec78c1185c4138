// The Prometheus endpoint of the real hub daemon (app/metrics.h): scraped
// over HTTP, checked by Prometheus' own linter (`promtool check metrics`,
// Debian package `prometheus`), and a counter that moves with traffic.
// Without promtool the promtool case reports itself skipped (ctest test
// hub_metrics_promtool, SKIP_RETURN_CODE 77); it never passes silently.
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <fstream>

#include "platform/unique_fd.h"
#include "tests/hub_system/hub_process.h"
#include "tests/hub_system/spoke_sim.h"
#include "tests/support/temp_file.h"
#include "tests/support/test_data.h"

namespace advpnd::test {
namespace {

using nhrp::CieCode;

constexpr std::uint16_t kMetricsPort = 9477;  // the test's own network namespace: always free

SimSpoke spoke(std::uint8_t n) {
  return SimSpoke{IpAddress::v4(127, 0, 7, n), IpAddress::v4(127, 0, 7, n), IpAddress::v4(10, 0, 7, n)};
}

struct HttpAnswer {
  std::string status_line;
  std::string headers;
  std::string body;
};

// GET `path` from 127.0.0.1:kMetricsPort (HTTP/1.0: the server closes after the answer).
HttpAnswer http_get(const std::string& path) {
  platform::UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  REQUIRE(fd.valid());
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(kMetricsPort);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0);  // NOLINT
  const timeval timeout{5, 0};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  const std::string request = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
  REQUIRE(::send(fd.get(), request.data(), request.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(request.size()));
  std::string answer;
  char chunk[4096];
  for (ssize_t n = 0; (n = ::recv(fd.get(), chunk, sizeof chunk, 0)) > 0;) {
    answer.append(chunk, static_cast<std::size_t>(n));
  }
  const auto line_end = answer.find("\r\n");
  const auto head_end = answer.find("\r\n\r\n");
  REQUIRE(line_end != std::string::npos);
  REQUIRE(head_end != std::string::npos);
  return {answer.substr(0, line_end), answer.substr(line_end + 2, head_end - line_end - 2),
          answer.substr(head_end + 4)};
}

// The value of one sample line "NAME{LABELS} VALUE" (REQUIREs it).
double sample(const std::string& metrics, const std::string& series) {
  const auto at = metrics.find("\n" + series + " ");
  REQUIRE_MESSAGE(at != std::string::npos, "no sample " << series << " in:\n" << metrics);
  return std::stod(metrics.substr(at + series.size() + 2));
}

HubSettings with_metrics() {
  HubSettings settings;
  settings.metrics_listen = "127.0.0.1:" + std::to_string(kMetricsPort);
  return settings;
}

// promtool's verdict on a scrape (CHECKs a clean one).
void check_with_promtool(const std::string& body) {
  TempFile file(".prom");
  std::ofstream(file.path()) << body;
  const CommandResult lint = run_command({"sh", "-c", "promtool check metrics < '" + file.path() + "'"});
  CHECK_MESSAGE(lint.exit_code == 0, "promtool: " << lint.out << lint.err << "\non:\n" << body);
  CHECK_MESSAGE(lint.err.empty(), body);  // promtool prints lint problems (e.g. a counter without _total) there
}

}  // namespace

TEST_CASE("hub metrics: /metrics answers the text format, counters move with traffic, other paths are 404") {
  enter_test_netns();
  HubProcess hub(with_metrics());
  hub.start();
  const HttpAnswer first = http_get("/metrics");
  CHECK(first.status_line == "HTTP/1.0 200 OK");
  CHECK(first.headers.find("Content-Type: text/plain; version=0.0.4; charset=utf-8") != std::string::npos);
  CHECK(first.body.rfind("# HELP ", 0) == 0);
  CHECK(sample(first.body, "advpnd_registrations") == 0);
  CHECK(sample(first.body, "advpnd_store_healthy") == 1);
  const std::string requests = "advpnd_nhrp_packets_received_total{type=\"registration-request\"}";
  const double before = sample(first.body, requests);

  SpokeWire wire;
  REQUIRE(register_spoke(wire, spoke(1), 1) == CieCode::Success);
  REQUIRE(register_spoke(wire, spoke(2), 2) == CieCode::Success);
  const std::string after = http_get("/metrics").body;
  CHECK(sample(after, requests) == before + 2);
  CHECK(sample(after, "advpnd_nhrp_packets_sent_total{type=\"registration-reply\"}") == 2);
  CHECK(sample(after, "advpnd_registrations") == 2);
  CHECK(sample(after, "advpnd_store_commits_total{result=\"ok\"}") >= 1);
  CHECK(sample(after, "advpnd_transport_frames_total{direction=\"received\"}") >= 2);
  CHECK(sample(after, "advpnd_dataplane_drops_total{reason=\"no-route\"}") == 0);
  // Link-local multicast replication (dataplane/multicast.h): exposed, nothing sent yet.
  CHECK(sample(after, "advpnd_multicast_frames_total") == 0);
  CHECK(sample(after, "advpnd_multicast_copies_total{to=\"nbma\"}") == 0);
  CHECK(sample(after, "advpnd_multicast_dropped_total{reason=\"rate-limited-source\"}") == 0);
  CHECK(sample(after, "advpnd_dataplane_drops_total{reason=\"multicast-rate-limited\"}") == 0);

  CHECK(http_get("/").status_line == "HTTP/1.0 404 Not Found");
  CHECK(hub.alive());
}

TEST_CASE("hub metrics: promtool check metrics accepts what the hub and a spoke serve") {
  if (::system("command -v promtool >/dev/null 2>&1") != 0) {  // NOLINT(cert-env33-c)
    report_skipped("promtool is not installed (Debian package prometheus; scripts/install-deps.sh)");
    return;
  }
  enter_test_netns();
  HubProcess hub(with_metrics());
  hub.start();
  SpokeWire wire;
  REQUIRE(register_spoke(wire, spoke(1), 1) == CieCode::Success);
  check_with_promtool(http_get("/metrics").body);
  hub.kill_hard();

  // A spoke daemon (clear-text provider) registering with that NHS address.
  HubSettings spoke_role;
  spoke_role.role = "spoke";
  HubProcess spoke(spoke_role);
  spoke.write_config("[spoke]\nnbma_address = \"127.0.0.5\"\nprotocol_address = \"10.0.7.5\"\ncontrol_socket = \"" +
                     spoke.socket_path() + "\"\nmetrics_listen = \"127.0.0.1:" + std::to_string(kMetricsPort) +
                     "\"\n[[nhs]]\nnbma_address = \"127.0.0.1\"\n[ipsec]\nprovider = \"none\"\n");
  spoke.start();
  const std::string body = http_get("/metrics").body;
  CHECK(body.find("advpnd_nhs_up{nbma=\"127.0.0.1\"}") != std::string::npos);
  CHECK(body.find("advpnd_shortcut_setup_seconds_bucket{le=\"+Inf\"} 0") != std::string::npos);
  CHECK(body.find("advpnd_dataplane_drops_total{reason=\"no-route\"}") != std::string::npos);
  CHECK(body.find("advpnd_multicast_dropped_total{reason=\"rate-limited-total\"}") != std::string::npos);
  check_with_promtool(body);
}

}  // namespace advpnd::test
