// doctest's main, plus two rules so that ctest reports skipped tests as
// skipped, not passed (tests/support/test_data.h): a run of the
// shared-captures suite (ctest's NAME_shared_captures test) exits
// kSkipExitCode when ../shared/captures is absent, and so does a run in
// which a test case called report_skipped() and nothing failed.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>
#include <string>

#include "tests/support/test_data.h"

int main(int argc, char** argv) {
  const std::string suite_filter = std::string("--test-suite=") + advpnd::test::kSharedCapturesSuite;
  for (int i = 1; i < argc; ++i) {
    if (argv[i] == suite_filter && !advpnd::test::have_shared_captures()) {
      std::printf("SKIPPED: %s is absent\n", ADVPND_SHARED_CAPTURES);
      return advpnd::test::kSkipExitCode;
    }
  }
  doctest::Context context(argc, argv);
  const int status = context.run();
  return status == 0 && advpnd::test::skipped() ? advpnd::test::kSkipExitCode : status;
}
