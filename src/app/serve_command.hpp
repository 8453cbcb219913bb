// `safelynx serve`: the server process. Opens the data dir, rebuilds the
// embedding index from the database, creates the first admin user, and
// serves the API until SIGINT or SIGTERM.
#pragma once

#include <optional>
#include <string>

namespace CLI {
class App;
}

namespace safelynx::app {

struct ServeOptions {
  std::optional<std::string> data_dir;
  std::optional<std::string> host;
  std::optional<int> port;
};

void add_serve_flags(CLI::App& command, ServeOptions& options);
int run_serve(const std::optional<std::string>& config_file, const std::optional<std::string>& models_dir,
              const ServeOptions& options);

}  // namespace safelynx::app
