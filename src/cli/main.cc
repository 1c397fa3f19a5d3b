// `warden`: one binary, subcommands per role.
//   warden proxy --config sidecar.yaml     run the sidecar (also `warden-proxy`, proxy_main.cc)
//   warden config validate FILE            check a sidecar config (and its policy/credentials)
//   warden server --config server.yaml     run the control plane (SPIFFE issuer, token service)
//   warden up [mesh.yaml] / warden matrix   the demo mesh and its enforcement matrix
//                                          (demo_commands.h, docs/demo.md)
//   warden login | agents | risk | state | policy | governance | audit
//                                          the control plane's API (admin_commands.h,
//                                          docs/cli.md); `policy validate` works offline
// CLI errors: one line on stderr and a non-zero exit code (usage errors: 2).
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <iostream>

#include "cli/admin_commands.h"
#include "cli/demo_commands.h"
#include "cli/sample_agent_command.h"
#include "cli/oidc_standin_command.h"
#include "cli/proxy_command.h"
#include "cli/server_command.h"

namespace {

constexpr int kExitConfigError = 2;

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Warden: identity-based governance for agent-to-agent traffic"};
  app.require_subcommand(1);
  std::string log_level = "info";
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));

  auto* proxy = app.add_subcommand("proxy", "Run the sidecar (ingress and/or egress)");
  std::string proxy_config;
  proxy->add_option("-c,--config", proxy_config, "Sidecar configuration file (YAML)")->required();

  auto* config = app.add_subcommand("config", "Work with sidecar configuration");
  config->require_subcommand(1);
  auto* config_validate = config->add_subcommand("validate", "Check a sidecar config, its policy and credentials");
  std::string config_file;
  config_validate->add_option("file", config_file, "Sidecar configuration file")->required();

  auto* server = app.add_subcommand("server", "Run the control plane (SPIFFE issuer, Workload API, OAuth2 token service)");
  std::string server_config;
  server->add_option("-c,--config", server_config, "Server configuration file (YAML)")->required();
  bool server_check = false;
  server->add_flag("--check", server_check, "Validate the configuration and exit");

  warden::cli::AdminCommands admin(app);
  warden::cli::DemoCommands demo(app);
  const warden::cli::SampleAgentCommand sample_agent(app);
  warden::cli::OidcStandinCommand oidc_standin(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    std::cerr << "warden: " << e.what() << " (see warden --help)\n";
    return kExitConfigError;
  }
  if (*proxy) return warden::cli::runProxy("warden proxy", proxy_config, log_level);
  if (auto code = admin.run()) return *code;
  if (auto code = demo.run()) return *code;
  if (auto code = sample_agent.run()) return *code;
  if (auto code = oidc_standin.run()) return *code;
  if (*config_validate) return warden::cli::validateProxyConfig(config_file);
  if (*server) {
    spdlog::set_level(spdlog::level::from_str(log_level));
    return server_check ? warden::cli::validateServerConfig(server_config)
                        : warden::cli::runServer(server_config);
  }
  return 1;
}
