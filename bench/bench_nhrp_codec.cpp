// Codec throughput on one core (issue: >= 5 M decodes/s and >= 5 M encodes/s).
// Two typical packets: a Cisco Registration Request (spoke -> hub, with the
// NAT extension) and a Cisco Resolution Reply with Responder, Forward Transit
// (one hop), Auth and NAT extensions.
//
//   build/default/bench/bench_nhrp_codec --benchmark_repetitions=5
//       --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <cstdlib>

#include "nhrp/builders.h"
#include "nhrp/codec.h"

namespace {

using advpnd::IpAddress;
using namespace advpnd::nhrp;

IpAddress ip(const char* text) { return *IpAddress::parse(text); }

Packet registration_request() {
  RegistrationRequestSpec spec;
  spec.sender = Sender{ip("198.51.100.2"), ip("10.0.0.2"), Dialect::Cisco, std::nullopt};
  spec.nhs_protocol = ip("10.0.0.1");
  spec.nhs_nbma = ip("203.0.113.1");
  spec.request_id = 42;
  spec.mtu = 1400;
  return build_registration_request(spec);
}

Packet resolution_reply() {
  ResolutionRequestSpec request_spec;
  request_spec.sender = Sender{ip("198.51.100.2"), ip("10.0.0.2"), Dialect::Cisco, std::string("secret")};
  request_spec.target = ip("10.0.0.3");
  request_spec.request_id = 7;
  Packet request = build_resolution_request(request_spec);
  // One transit NHS appended its record on the way (RFC 2332 5.3.2).
  Cie transit;
  transit.mtu = 1514;
  transit.holding_time = 7200;
  transit.nbma = ip("203.0.113.1");
  transit.protocol = ip("10.0.0.1");
  request.find_extension(ExtensionType::ForwardTransit)->cies.push_back(transit);

  Cie answer;
  answer.prefix_length = 32;
  answer.mtu = 1400;
  answer.holding_time = 7200;
  answer.nbma = ip("198.51.100.3");
  answer.protocol = ip("10.0.0.3");
  ReplySpec reply;
  reply.sender = Sender{ip("198.51.100.3"), ip("10.0.0.3"), Dialect::Cisco, std::string("secret")};
  reply.responder = answer;
  reply.nat_append = {answer};
  return build_resolution_reply(request, std::span<const Cie>(&answer, 1), reply);
}

std::vector<std::byte> encoded(const Packet& packet) {
  auto bytes = encode(packet);
  if (!bytes) std::abort();
  return std::move(bytes).value();
}

void decode_into_warm(benchmark::State& state, const Packet& packet) {
  const auto bytes = encoded(packet);
  Packet out;
  for (auto _ : state) {
    auto status = decode_into(bytes, out);
    benchmark::DoNotOptimize(status);
    benchmark::DoNotOptimize(out);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(bytes.size()));
}

void decode_fresh(benchmark::State& state, const Packet& packet) {
  const auto bytes = encoded(packet);
  for (auto _ : state) {
    auto result = decode(bytes);
    benchmark::DoNotOptimize(result);
  }
  state.SetItemsProcessed(state.iterations());
}

void encode_into(benchmark::State& state, const Packet& packet) {
  std::vector<std::byte> buffer(encoded_size(packet));
  for (auto _ : state) {
    auto written = encode(packet, buffer);
    benchmark::DoNotOptimize(written);
    benchmark::DoNotOptimize(buffer.data());
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_DecodeRegistrationRequest(benchmark::State& s) { decode_into_warm(s, registration_request()); }
void BM_DecodeResolutionReply(benchmark::State& s) { decode_into_warm(s, resolution_reply()); }
void BM_DecodeFreshRegistrationRequest(benchmark::State& s) { decode_fresh(s, registration_request()); }
void BM_DecodeFreshResolutionReply(benchmark::State& s) { decode_fresh(s, resolution_reply()); }
void BM_EncodeRegistrationRequest(benchmark::State& s) { encode_into(s, registration_request()); }
void BM_EncodeResolutionReply(benchmark::State& s) { encode_into(s, resolution_reply()); }

BENCHMARK(BM_DecodeRegistrationRequest);
BENCHMARK(BM_DecodeResolutionReply);
BENCHMARK(BM_DecodeFreshRegistrationRequest);
BENCHMARK(BM_DecodeFreshResolutionReply);
BENCHMARK(BM_EncodeRegistrationRequest);
BENCHMARK(BM_EncodeResolutionReply);

}  // namespace

BENCHMARK_MAIN();
