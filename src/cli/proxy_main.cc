// `warden-proxy`: the sidecar alone, for the process that runs beside every agent.
//   warden-proxy --config sidecar.yaml          run the sidecar (= `warden proxy`)
//   warden-proxy --check --config sidecar.yaml  check a config, its policy and credentials
// It links none of the control plane, and loads gRPC (the Workload API client) only when
// the config names a Workload API endpoint (workload/transport.h), so a sidecar that reads
// its SVID from files stays small.
#include <CLI/CLI.hpp>

#include <iostream>

#include "cli/proxy_command.h"

int main(int argc, char** argv) {
  CLI::App app{"Warden sidecar: SPIFFE mTLS, RBAC, tokens and governance for one workload"};
  std::string log_level = "info";
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));
  std::string config_path;
  app.add_option("-c,--config", config_path, "Sidecar configuration file (YAML)")->required();
  bool check = false;
  app.add_flag("--check", check, "Validate the configuration and exit");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    std::cerr << "warden-proxy: " << e.what() << " (see warden-proxy --help)\n";
    return 2;
  }
  if (check) return warden::cli::validateProxyConfig(config_path);
  return warden::cli::runProxy("warden-proxy", config_path, log_level);
}
