#include "tests/app/subprocess.h"

#include <sys/wait.h>

#include <cstdio>
#include <sstream>

#include "tests/support/temp_file.h"

namespace advpnd::test {

namespace {

std::string shell_quote(const std::string& arg) {
  std::string quoted = "'";
  for (const char c : arg) {
    if (c == '\'') {
      quoted += "'\\''";
    } else {
      quoted += c;
    }
  }
  return quoted + "'";
}

}  // namespace

CommandResult run_command(const std::vector<std::string>& argv) {
  CommandResult result;
  const TempFile err_file(".stderr");
  std::string command;
  for (const auto& arg : argv) command += shell_quote(arg) + " ";
  command += "2>" + shell_quote(err_file.path());

  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return result;
  char buffer[4096];
  std::size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) result.out.append(buffer, n);
  const int status = ::pclose(pipe);
  if (status != -1 && WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);

  result.err = read_text_file(err_file.path());
  return result;
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

}  // namespace advpnd::test
