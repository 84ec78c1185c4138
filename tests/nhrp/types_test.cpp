// nhrp/types.h: enum names and the predicates on packet types and codes.
#include <set>
#include <string>

#include "tests/nhrp/nhrp_test_util.h"

namespace {

using namespace advpnd;
using namespace advpnd::nhrp;

template <class E, std::size_t N>
void check_distinct_names(const E (&values)[N]) {
  std::set<std::string> names;
  for (const E v : values) {
    const std::string name(to_string(v));
    INFO("value ", static_cast<unsigned>(v));
    CHECK_FALSE(name.empty());
    names.insert(name);
  }
  CHECK(names.size() == N);
}

TEST_CASE("to_string: every named enumerator has its own non-empty name") {
  const PacketType types[] = {PacketType::ResolutionRequest, PacketType::ResolutionReply,
                              PacketType::RegistrationRequest, PacketType::RegistrationReply,
                              PacketType::PurgeRequest,       PacketType::PurgeReply,
                              PacketType::ErrorIndication,    PacketType::TrafficIndication};
  check_distinct_names(types);
  const ExtensionType exts[] = {ExtensionType::End,           ExtensionType::ResponderAddress,
                                ExtensionType::ForwardTransit, ExtensionType::ReverseTransit,
                                ExtensionType::Authentication, ExtensionType::VendorPrivate,
                                ExtensionType::CiscoNatAddress};
  check_distinct_names(exts);
  const ErrorCode errors[] = {ErrorCode::UnrecognizedExtension, ErrorCode::LoopDetected,
                              ErrorCode::ProtocolAddressUnreachable, ErrorCode::ProtocolError,
                              ErrorCode::SduSizeExceeded,       ErrorCode::InvalidExtension,
                              ErrorCode::InvalidResolutionReply, ErrorCode::AuthenticationFailure,
                              ErrorCode::HopCountExceeded,      ErrorCode::VpnMismatch,
                              ErrorCode::VpnUnsupported};
  check_distinct_names(errors);
  const CieCode codes[] = {CieCode::Success, CieCode::AdministrativelyProhibited, CieCode::InsufficientResources,
                           CieCode::NoBindingExists, CieCode::BindingNotUnique, CieCode::UniqueAddressRegistered};
  check_distinct_names(codes);
}

TEST_CASE("to_string: raw values without a name still give text") {
  CHECK_FALSE(to_string(static_cast<PacketType>(0)).empty());
  CHECK_FALSE(to_string(static_cast<PacketType>(200)).empty());
  CHECK_FALSE(to_string(static_cast<ExtensionType>(0x33)).empty());
  CHECK_FALSE(to_string(static_cast<CieCode>(0x77)).empty());
  CHECK_FALSE(to_string(static_cast<ErrorCode>(2)).empty());
}

TEST_CASE("packet type and code predicates") {
  CHECK(is_request(PacketType::ResolutionRequest));
  CHECK(is_request(PacketType::RegistrationRequest));
  CHECK(is_request(PacketType::PurgeRequest));
  CHECK_FALSE(is_request(PacketType::TrafficIndication));
  CHECK(is_reply(PacketType::PurgeReply));
  CHECK_FALSE(is_reply(PacketType::ErrorIndication));
  CHECK(has_common_header(PacketType::PurgeReply));
  CHECK_FALSE(has_common_header(PacketType::ErrorIndication));
  CHECK_FALSE(has_common_header(PacketType::TrafficIndication));
  CHECK(is_no_binding(CieCode::NoBindingExists));
  CHECK(is_no_binding(CieCode::NoBindingFrrValue));
  CHECK_FALSE(is_no_binding(CieCode::BindingNotUnique));
  CHECK(carries_cies(ExtensionType::CiscoNatAddress));
  CHECK_FALSE(carries_cies(ExtensionType::Authentication));
}

}  // namespace
