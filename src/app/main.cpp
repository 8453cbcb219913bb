#include "app/cli_commands.hpp"

int main(int argc, char** argv) { return safelynx::app::run_cli(argc, argv); }
