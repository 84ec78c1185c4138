// A small HTTP/1.1 server on the daemon's event loop (libevent's evhttp),
// for the Prometheus endpoint: GET only, answers rendered by a callback at
// each request, no request body accepted. Bounded: a connection that says
// nothing for kTimeout is closed, headers are capped, bodies refused.
// (libevent 2.1, Debian bookworm, has no connection limit: bind it to a
// management address.)
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "base/ip_address.h"
#include "base/result.h"
#include "platform/event_loop.h"

struct evhttp;
struct evhttp_request;

namespace advpnd::platform {

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

class HttpServer {
 public:
  static constexpr std::chrono::seconds kTimeout{10};
  static constexpr std::size_t kMaxHeaders = 8192;

  // The path of a GET request ("/metrics") -> the answer.
  using Handler = std::function<HttpResponse(const std::string& path)>;

  // Listens on address:port (port 0: a free one, see port()).
  static Result<std::unique_ptr<HttpServer>, std::string> open(EventLoop& loop, const IpAddress& address,
                                                               std::uint16_t port, Handler handler);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  [[nodiscard]] std::uint16_t port() const { return port_; }

 private:
  explicit HttpServer(Handler handler) : handler_(std::move(handler)) {}
  static void on_request(evhttp_request* request, void* self);

  Handler handler_;
  evhttp* http_ = nullptr;
  std::uint16_t port_ = 0;
};

}  // namespace advpnd::platform
