// Helpers shared by the tests: hex vectors and the reference captures.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace advpnd::test {

// "00 01 08 00 ..." (whitespace and newlines ignored) to bytes. Aborts the
// test binary on a malformed literal: that is a bug in the test itself.
std::vector<std::byte> hex(std::string_view text);
std::string to_hex(const std::vector<std::byte>& bytes);

// Path of a file in ../shared/captures, and whether that folder exists.
// Tests that read captures are decorated with
// doctest::skip(!advpnd::test::have_shared_captures()).
std::string shared_capture(std::string_view name);
bool have_shared_captures();

}  // namespace advpnd::test
