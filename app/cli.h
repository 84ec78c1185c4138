// The advpnd command line: one CLI11 app with a subcommand per job. main()
// only calls run_cli(); each command lives in its own file and registers
// itself here (decode, hub, check; spoke later).
#pragma once

namespace advpnd::app {

// Parses argv, runs the chosen subcommand and returns the process exit status.
[[nodiscard]] int run_cli(int argc, const char* const* argv);

}  // namespace advpnd::app
