// Running a program from a test and collecting what it printed.
#pragma once

#include <string>
#include <vector>

namespace advpnd::test {

struct CommandResult {
  int exit_code = -1;  // -1: did not exit normally (signal, or could not start)
  std::string out;
  std::string err;
};

// Runs argv[0] with the other elements as arguments. Each is passed through
// /bin/sh single-quoted, so nothing in them is interpreted by the shell.
[[nodiscard]] CommandResult run_command(const std::vector<std::string>& argv);

// Splits text into lines (without the newlines); no empty last line.
[[nodiscard]] std::vector<std::string> split_lines(const std::string& text);

}  // namespace advpnd::test
