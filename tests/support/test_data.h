// Helpers shared by the tests: hex vectors and the reference captures.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

// A test case decorator (doctest.h must be included where it is used).
#define ADVPND_NEEDS_SHARED_CAPTURES                                     \
  doctest::test_suite(advpnd::test::kSharedCapturesSuite) * /* NOLINT */ \
      doctest::skip(!advpnd::test::have_shared_captures())

namespace advpnd::test {

// "00 01 08 00 ..." (whitespace and newlines ignored) to bytes. Aborts the
// test binary on a malformed literal: that is a bug in the test itself.
std::vector<std::byte> hex(std::string_view text);
std::string to_hex(const std::vector<std::byte>& bytes);

// Path of a file in ../shared/captures, and whether that folder exists.
// Tests that read captures are decorated with ADVPND_NEEDS_SHARED_CAPTURES:
// they form the doctest suite kSharedCapturesSuite, which ctest runs as a
// test of its own (advpnd_add_test SHARED_CAPTURES) that reports SKIPPED
// (exit kSkipExitCode, SKIP_RETURN_CODE) when the folder is absent, instead
// of passing without having run them.
std::string shared_capture(std::string_view name);
bool have_shared_captures();

inline constexpr const char* kSharedCapturesSuite = "shared-captures";
inline constexpr int kSkipExitCode = 77;  // the automake convention ctest is told about

// A test case that cannot run here (a tool is missing) says so: the binary
// then exits kSkipExitCode if nothing failed, and ctest, told SKIP_RETURN_CODE
// 77, reports the test skipped. Register such a case as a ctest test of its
// own (--test-case=...), so that it never hides other cases' results.
void report_skipped(const std::string& why);
[[nodiscard]] bool skipped();

}  // namespace advpnd::test
