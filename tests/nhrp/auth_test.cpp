// Cisco cleartext Authentication extension (NHRP-WIRE.md 7.5): value
// 00 00 00 01 then the password, no NUL, no padding; FRR's check rule.
#include <cstddef>
#include <string>
#include <string_view>

#include "nhrp/auth.h"
#include "tests/nhrp/nhrp_test_util.h"

namespace {

using namespace advpnd;
using namespace advpnd::nhrp;
using namespace advpnd::nhrp::testing;

Extension auth_with_value(std::string_view value_hex) {
  Extension e;
  e.raw_type = kExtensionCompulsory | static_cast<std::uint16_t>(ExtensionType::Authentication);
  e.value = bytes(value_hex);
  return e;
}

Packet with_auth(const Extension& auth) {
  Packet p = decode_ok(k95);
  p.extensions.insert(p.extensions.end() - 1, auth);  // before End
  return p;
}

TEST_CASE("make_cisco_auth: type 0x8007, value 00 00 00 01 + password") {
  const Extension e = make_cisco_auth("secret");
  CHECK(e.raw_type == 0x8007);
  CHECK(e.compulsory());
  CHECK(e.type() == ExtensionType::Authentication);
  CHECK(e.cies.empty());
  CHECK(hex_of(e.value) == "00 00 00 01 73 65 63 72 65 74");
  CHECK(hex_of(make_cisco_auth("CISCO").value) == "00 00 00 01 43 49 53 43 4f");  // odd, unpadded
  CHECK(hex_of(make_cisco_auth("NHRPAUTH").value) == "00 00 00 01 4e 48 52 50 41 55 54 48");
  CHECK(hex_of(make_cisco_auth("").value) == "00 00 00 01");
}

TEST_CASE("make_cisco_auth reproduces the Auth extensions of the vectors") {
  CHECK(make_cisco_auth("secret") == decode_ok(k91Auth).extensions.at(4));
  CHECK(make_cisco_auth("NHRPAUTH") == decode_ok(k96).extensions.at(3));
  CHECK(make_cisco_auth("CISCO") == decode_ok(kIos).extensions.at(3));
  CHECK(make_cisco_auth("secret") == decode_ok(k97).extensions.at(2));
}

TEST_CASE("cisco_auth_password") {
  SUBCASE("the password bytes, exactly") {
    const Extension e = make_cisco_auth("NHRPAUTH");
    const auto pw = cisco_auth_password(e);
    REQUIRE(pw.has_value());
    CHECK(text_of(*pw) == "NHRPAUTH");
    CHECK(pw->data() == e.value.data() + 4);  // a view into the extension
  }
  SUBCASE("an empty password is present and empty") {
    const auto pw = cisco_auth_password(auth_with_value("00 00 00 01"));
    REQUIRE(pw.has_value());
    CHECK(pw->empty());
  }
  SUBCASE("shorter than 4 bytes: not the Cisco form") {
    CHECK_FALSE(cisco_auth_password(auth_with_value("")).has_value());
    CHECK_FALSE(cisco_auth_password(auth_with_value("00")).has_value());
    CHECK_FALSE(cisco_auth_password(auth_with_value("00 00 00")).has_value());
  }
  SUBCASE("SPI other than 1: not the Cisco form") {
    CHECK_FALSE(cisco_auth_password(auth_with_value("00 00 00 02 73 65 63")).has_value());
    CHECK_FALSE(cisco_auth_password(auth_with_value("00 00 00 00 73 65 63")).has_value());
    CHECK_FALSE(cisco_auth_password(auth_with_value("00 00 01 01 73 65 63")).has_value());
  }
}

TEST_CASE("check_cisco_auth: Ok, Missing, Malformed, Mismatch") {
  CHECK(check_cisco_auth(decode_ok(k91Auth), "secret") == AuthCheck::Ok);
  CHECK(check_cisco_auth(decode_ok(k96), "NHRPAUTH") == AuthCheck::Ok);
  CHECK(check_cisco_auth(decode_ok(kIos), "CISCO") == AuthCheck::Ok);
  CHECK(check_cisco_auth(decode_ok(k97), "secret") == AuthCheck::Ok);

  // No Authentication extension at all.
  CHECK(check_cisco_auth(decode_ok(k91), "secret") == AuthCheck::Missing);
  CHECK(check_cisco_auth(decode_ok(k94), "secret") == AuthCheck::Missing);

  // Present but not of the Cisco form.
  CHECK(check_cisco_auth(with_auth(auth_with_value("00 01")), "secret") == AuthCheck::Malformed);
  CHECK(check_cisco_auth(with_auth(auth_with_value("00 00 00 02 73 65 63 72 65 74")), "secret") ==
        AuthCheck::Malformed);

  // Byte for byte, length included, case-sensitive.
  CHECK(check_cisco_auth(decode_ok(kIos), "cisco") == AuthCheck::Mismatch);
  CHECK(check_cisco_auth(decode_ok(k91Auth), "secreT") == AuthCheck::Mismatch);
  CHECK(check_cisco_auth(decode_ok(k91Auth), "secre") == AuthCheck::Mismatch);    // prefix of the sent one
  CHECK(check_cisco_auth(decode_ok(k91Auth), "secret1") == AuthCheck::Mismatch);  // sent one is a prefix
  CHECK(check_cisco_auth(decode_ok(k96), std::string_view("NHRPAUTH\0", 9)) == AuthCheck::Mismatch);
  CHECK(check_cisco_auth(with_auth(make_cisco_auth("")), "x") == AuthCheck::Mismatch);
  CHECK(check_cisco_auth(with_auth(make_cisco_auth("x")), "x") == AuthCheck::Ok);
}

TEST_CASE("to_string(AuthCheck) names each outcome") {
  CHECK_FALSE(to_string(AuthCheck::Ok).empty());
  CHECK(to_string(AuthCheck::Ok) != to_string(AuthCheck::Missing));
  CHECK(to_string(AuthCheck::Missing) != to_string(AuthCheck::Malformed));
  CHECK(to_string(AuthCheck::Malformed) != to_string(AuthCheck::Mismatch));
  CHECK(to_string(AuthCheck::Mismatch) != to_string(AuthCheck::Ok));
}

}  // namespace
