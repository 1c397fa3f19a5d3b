#include "cli/server_command.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <iostream>
#include <map>
#include <optional>

#include "cli/signals.h"
#include "controlplane/api_config.h"
#include "controlplane/api_server.h"
#include "controlplane/maintenance.h"
#include "controlplane/seed.h"
#include "controlplane/ssf_service.h"
#include "controlplane/store.h"
#include "controlplane/token_policy_sync.h"
#include "issuer/identity_server.h"
#include "issuer/server_config.h"
#include "tokenservice/config.h"
#include "tokenservice/token_service.h"

namespace warden::cli {
namespace {
constexpr int kExitConfigError = 2;

// The token service's section, checked against the identity settings it refers to.
Result<std::optional<tokenservice::TokenServiceConfig>> loadTokenService(
    const std::string& config_path, const issuer::IdentityServerConfig& identity) {
  auto config = tokenservice::loadTokenServiceConfig(config_path);
  if (!config) return config.error();
  if (*config && !(*config)->tls_svid_entry.empty()) {
    const auto& name = (*config)->tls_svid_entry;
    const bool known = std::any_of(identity.entries.begin(), identity.entries.end(),
                                   [&](const auto& e) { return e.name == name; });
    if (!known) {
      return Error{config_path + ": token_service.tls.svid: no registration entry named " + name};
    }
  }
  if (*config) {
    const auto st = tokenservice::validateAgainstJwtIssuer((*config)->policy, identity.jwt_issuer);
    if (!st) return Error{config_path + ": " + st.message()};
  }
  return config;
}
}  // namespace

int runServer(const std::string& config_path) {
  auto config = issuer::loadIdentityServerConfig(config_path);
  if (!config) {
    std::cerr << "warden server: " << config.error().message << "\n";
    return kExitConfigError;
  }
  auto token_config = loadTokenService(config_path, *config);
  if (!token_config) {
    std::cerr << "warden server: " << token_config.error().message << "\n";
    return kExitConfigError;
  }
  const sigset_t signals = blockTerminationSignals();
  auto server = issuer::IdentityServer::start(*config);
  if (!server) {
    std::cerr << "warden server: " << server.error().message << "\n";
    return kExitConfigError;
  }
  std::unique_ptr<tokenservice::TokenService> token_service;
  if (*token_config) {
    auto started = tokenservice::TokenService::start(**token_config, (*server)->issuer(),
                                                     config->entries, config->state_dir);
    if (!started) {
      std::cerr << "warden server: " << started.error().message << "\n";
      return kExitConfigError;
    }
    token_service = std::move(*started);
  }
  auto cp_config = controlplane::loadControlPlaneConfig(config_path, config->state_dir);
  if (!cp_config) {
    std::cerr << "warden server: " << cp_config.error().message << "\n";
    return kExitConfigError;
  }
  std::unique_ptr<controlplane::Store> store;
  std::unique_ptr<controlplane::ApiServer> api;
  std::unique_ptr<controlplane::Maintenance> maintenance;
  if (*cp_config) {
    const auto& cp = **cp_config;
    auto opened = controlplane::Store::open(cp.database);
    if (!opened) {
      std::cerr << "warden server: control_plane.database: " << opened.error().message << "\n";
      return kExitConfigError;
    }
    store = std::move(*opened);
    if (!cp.seed_path.empty()) {
      auto seeded = controlplane::seedStore(*store, cp.seed_path);
      if (!seeded) {
        std::cerr << "warden server: control_plane.seed: " << seeded.error().message << "\n";
        return kExitConfigError;
      }
      if (*seeded > 0) spdlog::info("control plane: store seeded with {} objects", *seeded);
    }
    controlplane::ApiServerHooks hooks;
    hooks.components = [&token_service] {
      std::vector<std::pair<std::string, bool>> out{{"issuer", true}};
      if (token_service) out.emplace_back("token_service", true);
      return out;
    };
    if (token_service) {
      hooks.token_service = [&token_service]() -> std::optional<controlplane::TokenServiceHealth> {
        return controlplane::TokenServiceHealth{token_service->issuerIdentifier(),
                                                token_service->signingKeys().keyStates()};
      };
    }
    if (auto* federation = (*server)->federation(); federation != nullptr && !config->federation.empty()) {
      std::map<std::string, std::string> urls;
      for (const auto& rel : config->federation) urls[rel.trust_domain] = rel.url;
      hooks.federated_bundles = [federation, urls] {
        std::vector<controlplane::BundleHealth> out;
        for (const auto& st : federation->status()) {
          const auto at = st.last_success == std::chrono::system_clock::time_point{}
                              ? std::int64_t{0}
                              : static_cast<std::int64_t>(std::chrono::system_clock::to_time_t(st.last_success));
          const auto url = urls.find(st.trust_domain);
          out.push_back({st.trust_domain, url == urls.end() ? std::string() : url->second, at,
                         !st.has_bundle || !st.last_error.empty()});
        }
        return out;
      };
    }
    std::shared_ptr<controlplane::SsfEndpoint> ssf;  // Shared Signals push receiver
    if (cp.ssf) {
      auto created = controlplane::SsfEndpoint::create(*cp.ssf, *store);
      if (!created) {
        std::cerr << "warden server: " << created.error().message << "\n";
        return kExitConfigError;
      }
      ssf = std::move(*created);
      hooks.ssf_push = controlplane::SsfEndpoint::pushHook(ssf);
    }
    auto started = controlplane::ApiServer::start(cp, *store, (*server)->issuer(), config->entries,
                                                  config->state_dir, std::move(hooks));
    if (!started) {
      std::cerr << "warden server: " << started.error().message << "\n";
      return kExitConfigError;
    }
    api = std::move(*started);
    maintenance = std::make_unique<controlplane::Maintenance>(*store, cp.audit_retention);
    if (ssf) {
      if (auto listening = ssf->open(api->baseUrl()); !listening) {
        std::cerr << "warden server: " << listening.message() << "\n";
        return kExitConfigError;
      }
    }
    if (!api->generatedAdminPassword().empty()) {
      // Shown once: only its scrypt hash is stored (rotate with POST /api/v1/credentials/rotate).
      std::cout << "warden server: bootstrap admin: user admin password "
                << api->generatedAdminPassword() << " (shown once)" << std::endl;
    }
    if (token_service) {
      // Token-time governance: the registry's agents replace the config's.
      const tokenservice::TokenPolicyConfig base = (*token_config)->policy;
      auto sync = [&token_service, &store, base](std::uint64_t) {
        auto agents = store->listAgents();
        if (!agents) return;
        if (auto st = token_service->replacePolicy(controlplane::tokenPolicyFromRegistry(base, *agents));
            !st) {
          spdlog::error("control plane: token policy not updated from the registry: {}", st.message());
        }
      };
      sync(0);
      store->subscribe(sync);
    }
  }
  spdlog::info("warden server ready: trust domain {}, {} registration entries{}",
               config->trust_domain, config->entries.size(),
               token_service ? ", token service " + token_service->issuerIdentifier() : "");
  if (api) spdlog::info("control plane API {}", api->baseUrl());
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
        // The token policy (agents, roles, governance, audiences, external issuers)
        // changes at run time; the listener, TLS and keys are read at start.
        auto tokens = loadTokenService(config_path, *reloaded);
        if (!tokens) {
          spdlog::error("SIGHUP: token policy not reloaded: {}", tokens.error().message);
        } else if (token_service && *tokens && store) {
          spdlog::info("SIGHUP: agents come from the control plane's registry; token policy kept");
        } else if (token_service && *tokens) {
          if (auto st = token_service->replacePolicy((*tokens)->policy); !st) {
            spdlog::error("SIGHUP: token policy not reloaded: {}", st.message());
          } else {
            spdlog::info("SIGHUP: token policy loaded: {} agents", (*tokens)->policy.agents.size());
          }
        } else if (static_cast<bool>(token_service) != tokens->has_value()) {
          spdlog::error("SIGHUP: the token service cannot be added or removed at run time");
        }
      }
      continue;
    }
    spdlog::info("signal {}: stopping", sig);
    api.reset();
    maintenance.reset();
    store.reset();
    token_service.reset();
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
  if (auto tokens = loadTokenService(config_path, *config); !tokens) {
    std::cerr << tokens.error().message << "\n";
    return 1;
  }
  auto cp = controlplane::loadControlPlaneConfig(config_path, config->state_dir);
  if (!cp) {
    std::cerr << cp.error().message << "\n";
    return 1;
  }
  if (*cp) {
    const auto& entries = config->entries;
    const auto& name = (*cp)->tls_svid_entry;
    if (std::none_of(entries.begin(), entries.end(), [&](const auto& e) { return e.name == name; })) {
      std::cerr << config_path << ": control_plane.tls.svid: no registration entry named " << name << "\n";
      return 1;
    }
  }
  std::cout << config_path << ": ok\n";
  return 0;
}

}  // namespace warden::cli
