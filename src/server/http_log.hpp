// The HTTP server core's diagnostics: one line on stderr per event.
#pragma once

#include <iostream>
#include <string>

namespace safelynx::server::detail {

// One write per line so concurrent threads do not interleave their output.
inline void log_line(const std::string& line) {
  std::cerr << ("[safelynx http] " + line + "\n") << std::flush;
}

}  // namespace safelynx::server::detail
