// Running a helper program (the benchmarks' reference implementations) and
// reading what it prints.
#pragma once

#include <optional>
#include <string>

namespace safelynx::app {

// `s` as one POSIX shell word.
std::string shell_quote(const std::string& s);

struct CommandOutput {
  int exit_code = 0;  // the program's exit status, or -1 if it did not exit normally
  std::string stdout_text;
};

// Runs `command` through /bin/sh; nothing when it could not be started.
std::optional<CommandOutput> run_and_capture(const std::string& command);

}  // namespace safelynx::app
