#include "platform/http_server.h"

#include <event2/buffer.h>
#include <event2/http.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "platform/guarded_call.h"

namespace advpnd::platform {
namespace {
constexpr const char* kLog = "http";

std::uint16_t bound_port(evhttp_bound_socket* bound) {
  sockaddr_storage addr{};
  socklen_t length = sizeof addr;
  if (::getsockname(evhttp_bound_socket_get_fd(bound), reinterpret_cast<sockaddr*>(&addr), &length) != 0) {  // NOLINT
    return 0;
  }
  if (addr.ss_family == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(&addr)->sin_port);  // NOLINT
  return ntohs(reinterpret_cast<const sockaddr_in6*>(&addr)->sin6_port);                               // NOLINT
}
}  // namespace

Result<std::unique_ptr<HttpServer>, std::string> HttpServer::open(EventLoop& loop, const IpAddress& address,
                                                                  std::uint16_t port, Handler handler) {
  std::unique_ptr<HttpServer> server(new HttpServer(std::move(handler)));
  server->http_ = evhttp_new(loop.base_.get());
  if (server->http_ == nullptr) return fail(std::string("HTTP server: evhttp_new failed"));
  evhttp_set_timeout(server->http_, static_cast<int>(kTimeout.count()));
  evhttp_set_max_headers_size(server->http_, kMaxHeaders);
  evhttp_set_max_body_size(server->http_, 0);
  evhttp_set_allowed_methods(server->http_, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
  evhttp_set_gencb(server->http_, &HttpServer::on_request, server.get());
  evhttp_bound_socket* bound = evhttp_bind_socket_with_handle(server->http_, address.to_string().c_str(), port);
  if (bound == nullptr) {
    return fail("HTTP server: cannot listen on " + address.to_string() + ":" + std::to_string(port) + ": " +
                std::strerror(errno));
  }
  server->port_ = bound_port(bound);
  return server;
}

HttpServer::~HttpServer() {
  if (http_ != nullptr) evhttp_free(http_);
}

void HttpServer::on_request(evhttp_request* request, void* self) {
  auto* server = static_cast<HttpServer*>(self);
  const char* uri = evhttp_request_get_uri(request);
  const evhttp_uri* parsed = evhttp_request_get_evhttp_uri(request);
  const char* path = parsed != nullptr ? evhttp_uri_get_path(parsed) : nullptr;
  HttpResponse response{500, "text/plain; charset=utf-8", "internal error\n"};
  auto answer = [&] { response = server->handler_(path != nullptr ? path : (uri != nullptr ? uri : "/")); };
  guarded_call(kLog, answer);
  evkeyvalq* headers = evhttp_request_get_output_headers(request);
  evhttp_add_header(headers, "Content-Type", response.content_type.c_str());
  evbuffer* body = evbuffer_new();
  if (body == nullptr) {
    evhttp_send_error(request, 500, nullptr);
    return;
  }
  evbuffer_add(body, response.body.data(), response.body.size());
  const char* reason = response.status == 200 ? "OK" : response.status == 404 ? "Not Found" : "Error";
  evhttp_send_reply(request, response.status, reason, body);
  evbuffer_free(body);
}

}  // namespace advpnd::platform
