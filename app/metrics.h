// The Prometheus endpoint of both daemons (off by default; `metrics_listen`
// in [hub] or [spoke] turns it on): GET /metrics answers the text format
// (app/prometheus.h), rendered from the same counters `advpnctl show stats`
// reads, on the daemon's own event loop (platform/http_server.h).
//
// Families (every one prefixed advpnd_):
//   both   nhrp_packets_received_total{type}, nhrp_packets_sent_total{type},
//          nhrp_errors_total{reason}, transport_frames_total{direction},
//          transport_dropped_total{reason}, dataplane_packets_total{path},
//          dataplane_drops_total{reason}
//   hub    registrations, store_healthy, store_commits_total{result},
//          redirect_indications_total, redirect_rate_limited_total
//   spoke  nhs_up{nbma}, nhs_tunnel_up{nbma}, nhs_state{nbma,state}, shortcuts{state},
//          shortcuts_established_total, shortcut_failures_total{reason},
//          shortcut_setup_seconds (histogram)
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "app/hub_control.h"
#include "app/listen_address.h"
#include "app/spoke_control.h"
#include "base/result.h"
#include "platform/http_server.h"

namespace advpnd::app {

[[nodiscard]] std::string hub_metrics(const HubParts& parts);
[[nodiscard]] std::string spoke_metrics(const SpokeParts& parts);

// The endpoint: /metrics answers `render()`, anything else 404.
[[nodiscard]] Result<std::unique_ptr<platform::HttpServer>, std::string> open_metrics(
    platform::EventLoop& loop, const ListenAddress& listen, std::function<std::string()> render);

}  // namespace advpnd::app
