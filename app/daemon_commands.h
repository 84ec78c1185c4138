// `advpnd hub --config FILE` and `advpnd check --config FILE`.
#pragma once

namespace CLI {
class App;
}

namespace advpnd::app {

void add_daemon_commands(CLI::App& app, int& exit_status);

}  // namespace advpnd::app
