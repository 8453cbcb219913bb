#pragma once

namespace safelynx::app {

// Exit statuses of the command line (documented in docs/CLI.md).
inline constexpr int kExitOk = 0;
inline constexpr int kExitImageFailed = 1;   // at least one image could not be processed
inline constexpr int kExitUsage = 2;         // bad arguments or configuration
inline constexpr int kExitModels = 3;        // model files missing or corrupt
inline constexpr int kExitStartFailed = 4;   // serve: the data dir, database or address is unusable

int run_cli(int argc, char** argv);

}  // namespace safelynx::app
