#include "cli/server_command.h"

#include <spdlog/spdlog.h>

#include <iostream>

#include "cli/signals.h"
#include "issuer/identity_server.h"
#include "issuer/server_config.h"

namespace warden::cli {
namespace {
constexpr int kExitConfigError = 2;
}

int runServer(const std::string& config_path) {
  auto config = issuer::loadIdentityServerConfig(config_path);
  if (!config) {
    std::cerr << "warden server: " << config.error().message << "\n";
    return kExitConfigError;
  }
  const sigset_t signals = blockTerminationSignals();
  auto server = issuer::IdentityServer::start(*config);
  if (!server) {
    std::cerr << "warden server: " << server.error().message << "\n";
    return kExitConfigError;
  }
  spdlog::info("warden server ready: trust domain {}, {} registration entries",
               config->trust_domain, config->entries.size());
  for (;;) {
    const int sig = waitForSignal(signals);
    if (sig == SIGHUP) {
      auto reloaded = issuer::loadIdentityServerConfig(config_path);
      if (!reloaded) {
        spdlog::error("SIGHUP: config not reloaded: {}", reloaded.error().message);
      } else if (reloaded->trust_domain != config->trust_domain) {
        spdlog::error("SIGHUP: the trust domain cannot change at run time");
      } else {
        // Entries change at run time; sockets and federation are read at start.
        (*server)->issuer().replaceEntries(reloaded->entries);
        spdlog::info("SIGHUP: {} registration entries loaded", reloaded->entries.size());
      }
      continue;
    }
    spdlog::info("signal {}: stopping", sig);
    server->reset();
    return 0;
  }
}

int validateServerConfig(const std::string& config_path) {
  auto config = issuer::loadIdentityServerConfig(config_path);
  if (!config) {
    std::cerr << config.error().message << "\n";
    return 1;
  }
  std::cout << config_path << ": ok\n";
  return 0;
}

}  // namespace warden::cli
