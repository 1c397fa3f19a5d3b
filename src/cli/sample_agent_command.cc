#include "cli/sample_agent_command.h"

#include <CLI/CLI.hpp>

#include <iostream>

#include "demo/sample_agent.h"
#include "proxy/sidecar_config.h"

namespace warden::cli {

namespace {
constexpr int kExitUsage = 2;
}

SampleAgentCommand::SampleAgentCommand(CLI::App& app)
    : command_(app.add_subcommand("sample-agent",
                                  "Run a sample agent app of the demo mesh (behind a sidecar)")) {
  command_->add_option("--name", name_, "Agent name, reported in every response")->required();
  command_->add_option("--role", role_, "backend (the budget target) or agent (a caller)")
      ->required()
      ->check(CLI::IsMember({"backend", "agent"}));
  command_->add_option("--listen", listen_, "Plain HTTP listener, IP:PORT (e.g. 127.0.0.1:8000)")
      ->required();
  command_->add_option("--egress", egress_,
                       "The sidecar's egress listener, 127.0.0.1:PORT (needed for /call)");
}

std::optional<int> SampleAgentCommand::run() const {
  if (!*command_)
    return std::nullopt;
  demo::SampleAgentOptions options;
  options.name = name_;
  options.role = role_;
  auto listen = proxy::parseEndpoint(listen_);
  if (!listen) {
    std::cerr << "warden sample-agent: --listen: " << listen.error().message << "\n";
    return kExitUsage;
  }
  options.listen_host = listen->host;
  options.listen_port = listen->port;
  if (!egress_.empty()) {
    // The app only ever dials its own sidecar, on loopback; anything else is a mistake in
    // the mesh file rather than a route.
    auto egress = proxy::parseEndpoint(egress_);
    if (!egress || egress->host != "127.0.0.1" || egress->port == 0) {
      std::cerr << "warden sample-agent: --egress: expected 127.0.0.1:PORT, got \"" << egress_
                << "\"\n";
      return kExitUsage;
    }
    options.egress_port = egress->port;
  }
  return demo::runSampleAgent(options);
}

}  // namespace warden::cli
