#include "cli/demo_commands.h"

#include <CLI/CLI.hpp>
#include <csignal>
#include <iostream>

#include "cli/api_client.h"
#include "cli/matrix.h"
#include "cli/signals.h"
#include "demo/mesh_up.h"

namespace warden::cli {

struct DemoCommands::Impl {
  CLI::App* up = nullptr;
  CLI::App* matrix = nullptr;
  demo::UpOptions up_options;
  int base_port = 0;
  MatrixOptions matrix_options;
};

DemoCommands::DemoCommands(CLI::App& app) : impl_(std::make_unique<Impl>()) {
  auto& i = *impl_;
  i.up = app.add_subcommand("up", "Start a demo mesh on 127.0.0.1 from its mesh file and supervise it until Ctrl-C");
  i.up_options.mesh_file = "examples/budget/mesh.yaml";
  i.up->add_option("mesh", i.up_options.mesh_file, "The mesh file (default examples/budget/mesh.yaml)");
  i.up->add_option("--run-dir", i.up_options.run_dir,
                   "Generated configs, state, sockets and logs (default $XDG_RUNTIME_DIR or /tmp: warden-<name>-<uid>)");
  i.up->add_option("--base-port", i.base_port, "Override the mesh file's base_port")->check(CLI::Range(1024, 65000));
#ifdef WARDEN_PORTAL_DIR
  i.up_options.portal_dir = WARDEN_PORTAL_DIR;
#endif
  i.up->add_option("--portal-dir", i.up_options.portal_dir, "The portal's built files (default: this source tree's portal/dist)");
  i.up->add_flag("--keep-state", i.up_options.keep_state,
                 "Keep the store, issuers and logs of the last run (default: start fresh)");

  i.matrix = app.add_subcommand("matrix", "Run the enforcement matrix against a running demo mesh");
  i.matrix->add_option("mesh", i.matrix_options.mesh_file, "The mesh file `warden up` ran (default examples/budget/mesh.yaml)");
  i.matrix->add_option("--run-dir", i.matrix_options.run_dir, "The run directory `warden up` used");
  i.matrix->add_flag("--json", i.matrix_options.json, "One JSON object per case instead of the table");
}

DemoCommands::~DemoCommands() = default;

std::optional<int> DemoCommands::run() {
  auto& i = *impl_;
  if (*i.up) {
    if (i.base_port != 0) i.up_options.base_port = static_cast<std::uint16_t>(i.base_port);
    // Ctrl-C must reach `warden up` alone, as a request to stop the mesh in order. A
    // shell starts background jobs with SIGINT ignored; an ignored signal would be
    // discarded instead of queued for sigtimedwait, so restore the default first.
    std::signal(SIGINT, SIG_DFL);
    std::signal(SIGTERM, SIG_DFL);
    std::signal(SIGHUP, SIG_DFL);
    blockTerminationSignals();
    return demo::runMeshUp(i.up_options);
  }
  if (*i.matrix) {
    try {
      return runMatrix(i.matrix_options);
    } catch (const CliFailure& e) {
      std::cerr << "warden matrix: " << e.what() << "\n";
      return e.exitCode();
    }
  }
  return std::nullopt;
}

}  // namespace warden::cli
