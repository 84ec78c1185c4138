#include "tests/hub/hub_fixture.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

namespace advpnd::hub::testing {

IpAddress ip(std::string_view text) {
  const auto parsed = IpAddress::parse(text);
  if (!parsed) {
    std::fprintf(stderr, "bad address literal %.*s\n", static_cast<int>(text.size()), text.data());
    std::abort();
  }
  return *parsed;
}

// ---- FakeLoop --------------------------------------------------------------

class FakeLoop::FakeTimer final : public Timer {
 public:
  FakeTimer(FakeLoop& loop, std::function<void()> on_fire) : loop_(&loop), on_fire_(std::move(on_fire)) {
    loop_->timers_.push_back(this);
  }
  FakeTimer(const FakeTimer&) = delete;
  FakeTimer& operator=(const FakeTimer&) = delete;
  ~FakeTimer() override {
    if (loop_ != nullptr) std::erase(loop_->timers_, this);
  }

  void arm(Duration delay) override {
    armed_ = true;
    deadline_ = loop_->now_ + delay;
    sequence_ = loop_->next_sequence_++;
  }
  void cancel() override { armed_ = false; }
  [[nodiscard]] bool armed() const override { return armed_; }

  void detach() { loop_ = nullptr; }

 private:
  friend class FakeLoop;
  FakeLoop* loop_;
  std::function<void()> on_fire_;
  bool armed_ = false;
  MonotonicTime deadline_{};
  std::uint64_t sequence_ = 0;
};

FakeLoop::~FakeLoop() {
  for (FakeTimer* timer : timers_) timer->detach();
}

std::int64_t FakeLoop::unix_seconds() const {
  return kStartUnixSeconds + wall_step_ + std::chrono::duration_cast<std::chrono::seconds>(now_ - start_).count();
}

std::unique_ptr<Timer> FakeLoop::make_timer(std::function<void()> on_fire) {
  return std::make_unique<FakeTimer>(*this, std::move(on_fire));
}

void FakeLoop::advance(Duration delay) {
  const MonotonicTime target = now_ + delay;
  for (;;) {
    FakeTimer* due = nullptr;
    for (FakeTimer* timer : timers_) {
      if (!timer->armed_ || timer->deadline_ > target) continue;
      if (due == nullptr || timer->deadline_ < due->deadline_ ||
          (timer->deadline_ == due->deadline_ && timer->sequence_ < due->sequence_)) {
        due = timer;
      }
    }
    if (due == nullptr) break;
    now_ = std::max(now_, due->deadline_);
    due->armed_ = false;
    ++fired_;
    // The callback may re-arm or destroy timers; nothing is held across it.
    auto callback = due->on_fire_;
    callback();
  }
  now_ = target;
}

std::size_t FakeLoop::armed_timers() const {
  return static_cast<std::size_t>(
      std::count_if(timers_.begin(), timers_.end(), [](const FakeTimer* t) { return t->armed_; }));
}

// ---- RecordingTransport ----------------------------------------------------

Status<std::string> RecordingTransport::send(const IpAddress& destination, std::uint16_t gre_protocol,
                                             std::span<const std::byte> payload, std::uint8_t tos) {
  if (fail_sends) {
    ++stats_.send_errors;
    return fail(std::string("injected send failure"));
  }
  ++stats_.frames_sent;
  sent.push_back({destination, gre_protocol, tos, Bytes(payload.begin(), payload.end())});
  return {};
}

void RecordingTransport::deliver(const IpAddress& outer_source, std::span<const std::byte> payload,
                                 std::uint16_t gre_protocol) {
  REQUIRE(has_handlers());
  ++stats_.frames_received;
  // An exactly sized heap copy, so that AddressSanitizer sees any over-read.
  const Bytes copy(payload.begin(), payload.end());
  NbmaFrame frame;
  frame.outer_source = outer_source;
  frame.outer_destination = local_;
  frame.gre_protocol = gre_protocol;
  frame.tos = 0xC0;
  frame.payload = copy;
  handlers_.on_frame(frame);
}

void RecordingTransport::end_batch() {
  REQUIRE(has_handlers());
  handlers_.on_batch_end();
}

// ---- LogCapture ------------------------------------------------------------

LogCapture::LogCapture() {
  log::set_sink([this](log::Level level, std::string_view component, std::string_view text) {
    lines.push_back({level, std::string(component), std::string(text)});
  });
}

LogCapture::~LogCapture() { log::set_sink({}); }

std::size_t LogCapture::count(log::Level level, std::string_view containing) const {
  return static_cast<std::size_t>(std::count_if(lines.begin(), lines.end(), [&](const LogLine& line) {
    return line.level == level && line.text.find(containing) != std::string::npos;
  }));
}

// ---- Builders --------------------------------------------------------------

NhsConfig hub_config(nhrp::Dialect dialect) {
  NhsConfig config;
  config.nbma = kHubNbma;
  config.protocol = kHubProtocol;
  config.mtu = 1400;
  config.dialect = dialect;
  return config;
}

nhrp::RegistrationRequestSpec registration(const Spoke& spoke, std::uint32_t request_id, std::uint16_t holding_time,
                                           bool unique) {
  nhrp::RegistrationRequestSpec spec;
  spec.sender = spoke.sender();
  spec.nhs_protocol = kHubProtocol;
  spec.nhs_nbma = kHubNbma;
  spec.request_id = request_id;
  spec.holding_time = holding_time;
  spec.mtu = 1400;
  spec.unique = unique;
  return spec;
}

nhrp::ResolutionRequestSpec resolution(const Spoke& spoke, const IpAddress& target, std::uint32_t request_id) {
  nhrp::ResolutionRequestSpec spec;
  spec.sender = spoke.sender();
  spec.target = target;
  spec.request_id = request_id;
  spec.holding_time = 600;
  spec.mtu = 1400;
  return spec;
}

Bytes encode_ok(const nhrp::Packet& packet) {
  auto encoded = nhrp::encode(packet);
  if (!encoded) FAIL("encode: ", encoded.error().message());
  return std::move(encoded).value();
}

nhrp::Packet decode_ok(std::span<const std::byte> bytes) {
  auto decoded = nhrp::decode(bytes);  // checksum verified
  if (!decoded) FAIL("the hub sent a packet that does not decode: ", decoded.error().message());
  return std::move(decoded).value();
}

std::vector<std::uint16_t> extension_types(const nhrp::Packet& packet) {
  std::vector<std::uint16_t> out;
  for (const nhrp::Extension& ext : packet.extensions) out.push_back(ext.raw_type);
  return out;
}

// ---- HubFixture ------------------------------------------------------------

HubFixture::HubFixture(NhsConfig cfg, bool start_now) : config(std::move(cfg)) {
  if (start_now) start();
}

HubFixture::~HubFixture() { hub.reset(); }

void HubFixture::start() {
  hub = std::make_unique<NextHopServer>(config, transport, store, loop, loop);
  auto started = hub->start();
  REQUIRE_MESSAGE(started.ok(), (started.ok() ? std::string() : started.error()));
}

void HubFixture::restart() {
  hub.reset();
  start();
}

void HubFixture::receive(const Spoke& from, const nhrp::Packet& packet) {
  const Bytes bytes = encode_ok(packet);
  transport.deliver(from.outer, bytes);
}

void HubFixture::receive_bytes(const IpAddress& outer_source, std::span<const std::byte> bytes) {
  transport.deliver(outer_source, bytes);
}

nhrp::Packet HubFixture::register_spoke(const Spoke& spoke, std::uint16_t holding_time, bool unique) {
  receive(spoke, nhrp::build_registration_request(registration(spoke, next_id++, holding_time, unique)));
  end_batch();
  return take_one();
}

std::vector<nhrp::Packet> HubFixture::take_sent() {
  std::vector<nhrp::Packet> out;
  for (const SentFrame& frame : transport.sent) {
    CHECK(frame.gre_protocol == nhrp::kGreProtocolNhrp);
    CHECK(frame.tos == 0xC0);
    out.push_back(decode_ok(frame.bytes));
  }
  transport.sent.clear();
  return out;
}

nhrp::Packet HubFixture::take_one() {
  REQUIRE(transport.sent.size() == 1);
  return take_sent().front();
}

std::vector<db::AuditEvent> HubFixture::audit() {
  auto events = store.audit_events({});
  REQUIRE(events.ok());
  return std::move(events).value();
}

std::size_t HubFixture::audit_count(db::AuditKind kind) {
  const auto events = audit();
  return static_cast<std::size_t>(
      std::count_if(events.begin(), events.end(), [kind](const db::AuditEvent& e) { return e.kind == kind; }));
}

const db::Binding* HubFixture::cached(const Spoke& spoke, std::uint8_t prefix) const {
  return hub->cache().find({spoke.protocol, prefix, spoke.nbma});
}

}  // namespace advpnd::hub::testing
